/* fuzz_npy: libFuzzer target for the .npy reader (tasks/lib/npy.h).
 *
 * Each input is parsed twice: with npy_parse() (1-D and 2-D, what most
 * kernels read) and with npy_parse_nd() up to NPY_MAX_DIMS.  An array
 * that parses is written back with npy_write() to a scratch file and read
 * again with npy_read_nd(): the round trip must give the same dtype,
 * shape and bytes (a differential check of writer against reader).
 *
 * What is checked besides the sanitizers: a parsed array's count is the
 * product of its shape, its shape entries past ndim are 1, and its data
 * fits in the input (count x itemsize <= size). */
#include "npy.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512], npy_path[600];

static void cleanup(void)
{
	unlink(npy_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/dagrun-fuzz-npy-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(npy_path, sizeof(npy_path), "%s/a.npy", dir);
	atexit(cleanup);
	return 0;
}

static void check_shape(const struct npy_array *a, int max_dims, size_t size)
{
	size_t count = 1;
	int i;

	assert(a->ndim >= 1 && a->ndim <= max_dims);
	for (i = 0; i < a->ndim; i++)
		count *= a->shape[i];
	for (i = a->ndim; i < NPY_MAX_DIMS; i++)
		assert(a->shape[i] == 1);
	assert(count == a->count);
	assert(a->count * npy_dtype_size(a->dtype) <= size);
	assert(a->data || a->count == 0);
}

/* Write 'a' and read it back: the same array must come out. */
static void round_trip(const struct npy_array *a)
{
	struct npy_array b;
	struct err err;
	size_t bytes = a->count * npy_dtype_size(a->dtype);

	err_init(&err);
	if (npy_write(npy_path, a->dtype, a->ndim, a->shape, a->data, &err) < 0) {
		assert(err.kind == ERR_IO);
		return;
	}
	err_init(&err);
	if (npy_read_nd(npy_path, NPY_MAX_DIMS, &b, &err) < 0) {
		fprintf(stderr, "npy: cannot read back what npy_write wrote: %s\n",
			err.msg);
		abort();
	}
	assert(b.dtype == a->dtype && b.ndim == a->ndim && b.count == a->count);
	assert(memcmp(b.shape, a->shape, sizeof(a->shape)) == 0);
	assert(bytes == 0 || memcmp(a->data, b.data, bytes) == 0);
	npy_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npy_array a;
	struct err err;

	err_init(&err);
	if (npy_parse(data, size, "fuzz.npy", &a, &err) == 0) {
		check_shape(&a, 2, size);
		npy_release(&a);
	} else {
		assert(err.kind == ERR_USER && err.msg[0]);
	}
	err_init(&err);
	if (npy_parse_nd(data, size, "fuzz.npy", NPY_MAX_DIMS, &a, &err) == 0) {
		check_shape(&a, NPY_MAX_DIMS, size);
		round_trip(&a);
		npy_release(&a);
	} else {
		assert(err.kind == ERR_USER && err.msg[0]);
	}
	return 0;
}
