/* modelfile: what the model files of tcn.c and seq2seq.c share on top of
 * safetensors.h: numbers written as "__metadata__" strings and read back
 * within bounds, the 'format' check, the check that a file holds exactly
 * a model's declared tensors, and the copy of those tensors in.
 *
 * Every reading function trusts nothing in the file and fails with
 * ERR_USER and a message that starts with 'path' (the file, as the user
 * named it), quotes the key or tensor and says what was expected.  None
 * keeps a pointer to its arguments; none has state; all are thread-safe
 * for distinct arguments. */
#ifndef DAGRUN_MODELFILE_H
#define DAGRUN_MODELFILE_H

#include <jansson.h>

#include "err.h"
#include "safetensors.h"
#include "tensor.h"

/* Set metadata 'key' to 'v' in decimal ("%ld"). */
void modelfile_set_meta_long(struct safetensors_writer *sw, const char *key, long v);
/* Set metadata 'key' to 'v' with 9 significant digits ("%.9g"): enough
 * that modelfile_meta_fraction() reads back the same float. */
void modelfile_set_meta_float(struct safetensors_writer *sw, const char *key, float v);

/* Metadata 'format' is exactly 'want'.  Returns 0, or -1 with 'err' set. */
int modelfile_meta_format(const struct safetensors *st, const char *path,
			  const char *want, struct err *err);
/* Metadata 'key', a decimal integer from 'lo' to 'hi', into 'out'.
 * Returns 0, or -1 with 'err' set ('out' untouched). */
int modelfile_meta_long(const struct safetensors *st, const char *path, const char *key,
			long lo, long hi, long *out, struct err *err);

/* What modelfile_meta_fraction() accepts at the top: 1 itself or not. */
enum modelfile_fraction {
	MODELFILE_BELOW_ONE,    /* [0, 1): a dropout */
	MODELFILE_UP_TO_ONE,    /* [0, 1]: a probability */
};
/* Metadata 'key', a number from 0 to 1 as 'upper' says, into 'out'.
 * Returns 0, or -1 with 'err' set ('out' then holds garbage). */
int modelfile_meta_fraction(const struct safetensors *st, const char *path,
			    const char *key, enum modelfile_fraction upper, float *out,
			    struct err *err);

/* Check that the file holds exactly the tensors declared in 'p' (not yet
 * allocated), each F32 of its declared shape, and nothing else; then
 * allocate 'p' (tensor_set_alloc) and copy the file's tensors in, and,
 * when 'meta' is not NULL, set '*meta' to metadata 'meta' parsed as JSON
 * (json_null() when absent or not JSON; a new reference the caller
 * releases with json_decref()).  'arch' names the architecture for the
 * message about an extra tensor, after "not one of a": "2-block TCN".
 * Returns 0, or -1 with 'err' set and 'p' and '*meta' untouched. */
int modelfile_load_tensors(struct tensor_set *p, const struct safetensors *st,
			   const char *path, const char *arch, json_t **meta,
			   struct err *err);

#endif
