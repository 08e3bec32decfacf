/* npy: NumPy .npy files, format version 1.0, little-endian, C order.
 *
 * Holds arrays of 1 to NPY_MAX_DIMS dimensions of float64 ('<f8'), float32
 * ('<f4') and int64 ('<i8'): what dagrun's kernels exchange (columns,
 * matrices, and windows [n, seq_len, features]), and what numpy.load()
 * opens.  npy_read() and npy_parse() accept 1-D and 2-D arrays only, as
 * they always have; npy_read_nd() and npy_parse_nd() take a caller's
 * limit, up to NPY_MAX_DIMS.
 * The writer emits exactly what numpy.save() writes (the header dict in
 * numpy's key order, space-padded to a multiple of 64 bytes, ending in
 * '\n'), so our files and numpy's are byte-identical for the same array.
 *
 * The reader trusts nothing: it checks the magic, the version, the header
 * length against the file, the header dict (exactly the keys descr,
 * fortran_order and shape, in any order, each once; Python literal
 * syntax), and that the data is exactly shape x itemsize bytes.  It never
 * reads outside the buffer it is given (a fuzz target calls npy_parse).
 * Errors are ERR_USER and name the file.
 *
 * Assumes a little-endian host (checked at compile time). */
#ifndef DAGRUN_NPY_H
#define DAGRUN_NPY_H

#include <stddef.h>

#include "err.h"

enum npy_dtype {
	NPY_F8,  /* '<f8': double */
	NPY_F4,  /* '<f4': float */
	NPY_I8   /* '<i8': int64_t */
};

/* 8: the most dimensions dagrun stores; windows of sequences need 3 */
#define NPY_MAX_DIMS 8

struct npy_array {
	enum npy_dtype dtype;
	int ndim;                     /* 1 .. NPY_MAX_DIMS */
	size_t shape[NPY_MAX_DIMS];   /* entries past ndim are 1, so shape[1]
				       * is 1 when ndim == 1 */
	size_t count;                 /* the product of the shape: elements */
	void *data;                   /* owned; release with npy_release() */
};

/* Bytes per element (8, 4, 8) and the descr string ("<f8", ...). */
size_t npy_dtype_size(enum npy_dtype dt);
const char *npy_dtype_descr(enum npy_dtype dt);

/* Write an array of 'ndim' (1 .. NPY_MAX_DIMS) dimensions 'shape' from
 * 'data' (the product of the shape, elements of 'dt', C order) to 'path',
 * replacing it.
 * Not atomic and not fsynced: a kernel's outputs are made durable by the
 * engine's store; on failure the partial file is removed.
 * Returns 0, or -1 with 'err' set (ERR_IO). */
int npy_write(const char *path, enum npy_dtype dt, int ndim,
	      const size_t *shape, const void *data, struct err *err);

/* Read 'path' into 'a' (which the caller releases with npy_release() on
 * success; on failure nothing is left to release).
 * Returns 0, or -1 with 'err' set: ERR_IO if the file cannot be read,
 * ERR_USER "path: ..." if it is not a valid .npy file of the kind above. */
int npy_read(const char *path, struct npy_array *a, struct err *err);

/* The same from 'len' bytes at 'buf'; 'name' is used in messages.
 * Copies the data out: 'buf' is not kept. */
int npy_parse(const void *buf, size_t len, const char *name,
	      struct npy_array *a, struct err *err);

/* npy_read() and npy_parse() for arrays of 1 to 'max_dims' dimensions
 * ('max_dims' at most NPY_MAX_DIMS; more dimensions are refused with
 * ERR_USER "at most 'max_dims' dimensions are supported"). */
int npy_read_nd(const char *path, int max_dims, struct npy_array *a,
		struct err *err);
int npy_parse_nd(const void *buf, size_t len, const char *name, int max_dims,
		 struct npy_array *a, struct err *err);

void npy_release(struct npy_array *a);

#endif
