/* safetensors: the tensor file format of Hugging Face's safetensors
 * library, which PyTorch, NumPy and JAX users open directly.
 *
 * Layout: an 8-byte little-endian length N; N bytes of a JSON object
 * mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
 * end]} (offsets relative to the data section), plus an optional
 * "__metadata__" object whose values are all strings; then the data
 * section: the tensors' bytes, C order, little-endian, back to back.
 *
 * The writer emits a canonical file: keys sorted, compact JSON, the
 * header padded with spaces to a multiple of 8 bytes (so the data of F32
 * tensors is aligned), tensors in the order they were added.  The same
 * tensors and metadata give byte-identical files.
 *
 * The reader trusts nothing: the length against the file, the header as
 * UTF-8 JSON without duplicate keys, each entry's fields (exactly those
 * three, a known dtype, at most TENSOR_MAX_DIMS dimensions, integers that
 * do not overflow), each entry's byte count against its shape, and that
 * the entries tile the data section exactly, without gaps or overlaps.  It
 * never reads outside the buffer it was given (a fuzz target can call
 * safetensors_parse).  Errors are ERR_USER and name the file. */
#ifndef DAGRUN_SAFETENSORS_H
#define DAGRUN_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "tensor.h"

/* 100,000,000: the header limit of the reference implementation */
#define SAFETENSORS_MAX_HEADER 100000000

struct safetensors_tensor {
	const char *name;                 /* borrowed from the reader */
	const char *dtype;                /* "F32", "F64", "I64", ... (static) */
	size_t itemsize;
	int ndim;
	size_t shape[TENSOR_MAX_DIMS];
	size_t count;                     /* elements */
	const unsigned char *data;        /* 'nbytes', maybe unaligned */
	size_t nbytes;
};

struct safetensors;

/* Read and check the file at 'path'.  Returns a reader the caller frees
 * with safetensors_free(), or NULL with 'err' set (ERR_IO when the file
 * cannot be read, ERR_USER when it is not a valid safetensors file). */
struct safetensors *safetensors_read(const char *path, struct err *err);
/* The same from 'len' bytes at 'buf' (copied); 'name' is used in
 * messages. */
struct safetensors *safetensors_parse(const void *buf, size_t len,
				      const char *name, struct err *err);
void safetensors_free(struct safetensors *st);

/* The tensors, in the order of their data; borrowed until free. */
int safetensors_count(const struct safetensors *st);
const struct safetensors_tensor *safetensors_at(const struct safetensors *st,
						int i);
const struct safetensors_tensor *safetensors_find(const struct safetensors *st,
						  const char *name);
/* A "__metadata__" value, or NULL; borrowed until free. */
const char *safetensors_meta(const struct safetensors *st, const char *key);

/* Copy the F32 tensor 'name' of exactly 'ndim' dimensions 'shape' into
 * 'out'.  Returns 0, or -1 with 'err' set (ERR_USER: absent, another
 * dtype, another shape; the message names the file and the tensor). */
int safetensors_get_f32(const struct safetensors *st, const char *name,
			int ndim, const size_t *shape, float *out,
			struct err *err);

/* --- writing: gather tensors and metadata, then write once */
struct safetensors_writer {
	json_t *header;      /* the header being built */
	struct st_part {
		const void *data;
		size_t nbytes;
	} *parts;
	size_t n, cap, offset;
};

void safetensors_writer_init(struct safetensors_writer *w);
void safetensors_writer_release(struct safetensors_writer *w);
/* Add a tensor; 'dtype' is one of the names above ("F32", ...), 'data'
 * is borrowed until safetensors_write() returns.  Adding a name twice or
 * "__metadata__" is a bug (assert). */
void safetensors_add(struct safetensors_writer *w, const char *name,
		     const char *dtype, int ndim, const size_t *shape,
		     const void *data);
/* Set a metadata string (copied); a later call for 'key' replaces it. */
void safetensors_set_meta(struct safetensors_writer *w, const char *key,
			  const char *value);
/* Write the file at 'path' (replacing it; a partial file is removed on
 * failure).  Returns 0, or -1 with 'err' set (ERR_IO). */
int safetensors_write(struct safetensors_writer *w, const char *path,
		      struct err *err);

#endif
