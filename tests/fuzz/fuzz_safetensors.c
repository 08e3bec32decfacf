/* fuzz_safetensors: libFuzzer target for the .safetensors reader
 * (tasks/lib/safetensors.h).
 *
 * Each input goes to safetensors_parse().  A file that parses is walked
 * (every tensor found by name, its bytes read, F32 tensors copied out
 * with safetensors_get_f32) and written back with the writer; the written
 * file must parse to the same tensors, and writing that again must give
 * the same bytes (the writer is canonical, as the header promises).
 *
 * What is checked besides the sanitizers: every tensor's bytes lie inside
 * the input (ASan sees the reads), nbytes = count x itemsize, and the
 * round trip above. */
#include "safetensors.h"
#include "fs.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512], path1[600], path2[600];

static void cleanup(void)
{
	unlink(path1);
	unlink(path2);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/dagrun-fuzz-st-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path1, sizeof(path1), "%s/a.safetensors", dir);
	snprintf(path2, sizeof(path2), "%s/b.safetensors", dir);
	atexit(cleanup);
	return 0;
}

/* Touch every byte of every tensor and check what the header promises. */
static void walk(const struct safetensors *st)
{
	int i, n = safetensors_count(st);
	unsigned sum = 0;

	for (i = 0; i < n; i++) {
		const struct safetensors_tensor *t = safetensors_at(st, i);
		size_t k, count = 1;
		struct err err;
		assert(t && t->name && t->dtype);
		assert(safetensors_find(st, t->name) == t);
		assert(t->ndim >= 0 && t->ndim <= TENSOR_MAX_DIMS);
		for (k = 0; k < (size_t)t->ndim; k++)
			count *= t->shape[k];
		assert(count == t->count && t->count * t->itemsize == t->nbytes);
		for (k = 0; k < t->nbytes; k++)
			sum += t->data[k];
		if (!strcmp(t->dtype, "F32") && t->ndim >= 1) {
			float *out = malloc(t->nbytes ? t->nbytes : 1);
			assert(out);
			err_init(&err);
			assert(safetensors_get_f32(st, t->name, t->ndim, t->shape,
						   out, &err) == 0);
			assert(memcmp(out, t->data, t->nbytes) == 0);
			free(out);
		}
	}
	(void)sum;
}

/* Write every tensor of 'st' to 'path' in the reader's order. */
static void write_all(const struct safetensors *st, const char *path)
{
	struct safetensors_writer w;
	struct err err;
	int i;

	safetensors_writer_init(&w);
	for (i = 0; i < safetensors_count(st); i++) {
		const struct safetensors_tensor *t = safetensors_at(st, i);
		safetensors_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data);
	}
	err_init(&err);
	if (safetensors_write(&w, path, &err) < 0) {
		fprintf(stderr, "safetensors: cannot write %s: %s\n", path, err.msg);
		abort();
	}
	safetensors_writer_release(&w);
}

static void same_tensors(const struct safetensors *a, const struct safetensors *b)
{
	int i;

	assert(safetensors_count(a) == safetensors_count(b));
	for (i = 0; i < safetensors_count(a); i++) {
		const struct safetensors_tensor *x = safetensors_at(a, i);
		const struct safetensors_tensor *y = safetensors_find(b, x->name);
		assert(y);
		assert(!strcmp(x->dtype, y->dtype) && x->ndim == y->ndim);
		assert(!memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof(size_t)));
		assert(x->nbytes == y->nbytes);
		assert(!x->nbytes || !memcmp(x->data, y->data, x->nbytes));
	}
}

static void round_trip(const struct safetensors *st)
{
	struct safetensors *back;
	struct err err;
	char *b1, *b2;
	size_t n1, n2;

	write_all(st, path1);
	err_init(&err);
	back = safetensors_read(path1, &err);
	if (!back) {
		fprintf(stderr, "safetensors: cannot read back what the writer "
			"wrote: %s\n", err.msg);
		abort();
	}
	same_tensors(st, back);
	write_all(back, path2);
	safetensors_free(back);
	if (fs_read_file(path1, &b1, &n1, &err) < 0 ||
	    fs_read_file(path2, &b2, &n2, &err) < 0)
		abort();
	assert(n1 == n2 && !memcmp(b1, b2, n1));
	free(b1);
	free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct safetensors *st;
	struct err err;

	err_init(&err);
	st = safetensors_parse(data, size, "fuzz.safetensors", &err);
	if (!st) {
		assert(err.kind == ERR_USER && err.msg[0]);
		return 0;
	}
	walk(st);
	(void)safetensors_meta(st, "format");
	round_trip(st);
	safetensors_free(st);
	return 0;
}
