/* Unit tests for tasks/lib/safetensors.c: round trips, the canonical
 * bytes of the writer, and malformed files refused with a clear message
 * and without reading out of bounds (ASan watches every parse). */
#include "test.h"
#include "tmpdir.h"
#include "safetensors.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A file image: the 8-byte length, 'header' as is, then 'n' data bytes. */
static size_t image(unsigned char *out, const char *header, size_t n)
{
	size_t hl = strlen(header);

	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memcpy(out + 8, header, hl);
	for (size_t i = 0; i < n; i++)
		out[8 + hl + i] = (unsigned char)i;
	return 8 + hl + n;
}

/* Parse 'header' followed by 'n' bytes into an exactly sized heap copy
 * (so ASan sees any read past the end); returns the message or "". */
static const char *parse_msg(const char *header, size_t n)
{
	static struct err err;
	unsigned char *buf = xmalloc(strlen(header) + n + 8), *exact;
	size_t len = image(buf, header, n);
	struct safetensors *st;

	exact = xmalloc(len);
	memcpy(exact, buf, len);
	err_init(&err);
	st = safetensors_parse(exact, len, "m.safetensors", &err);
	safetensors_free(st);
	free(buf);
	free(exact);
	return st ? "" : err.msg;
}

TEST(round_trip)
{
	float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f}, back[6];
	int64_t c[3] = {7, -8, 9};
	struct safetensors_writer w;
	struct safetensors *st;
	struct err err;
	const char *path = tmp_write("rt.safetensors", "");
	const struct safetensors_tensor *t;

	err_init(&err);
	safetensors_writer_init(&w);
	safetensors_add(&w, "layer.weight", "F32", 2, (size_t[]){2, 3}, a);
	safetensors_add(&w, "layer.bias", "F32", 1, (size_t[]){2}, b);
	safetensors_add(&w, "steps", "I64", 1, (size_t[]){3}, c);
	safetensors_add(&w, "empty", "F32", 2, (size_t[]){0, 4}, NULL);
	safetensors_set_meta(&w, "format", "test");
	safetensors_set_meta(&w, "note", "first");
	safetensors_set_meta(&w, "note", "second");
	ASSERT_EQ(safetensors_write(&w, path, &err), 0);
	safetensors_writer_release(&w);

	st = safetensors_read(path, &err);
	ASSERT(st != NULL);
	ASSERT_EQ(safetensors_count(st), 4);
	ASSERT_STREQ(safetensors_meta(st, "format"), "test");
	ASSERT_STREQ(safetensors_meta(st, "note"), "second");
	ASSERT(safetensors_meta(st, "absent") == NULL);
	ASSERT_STREQ(safetensors_at(st, 0)->name, "layer.weight");
	ASSERT_EQ(safetensors_get_f32(st, "layer.weight", 2, (size_t[]){2, 3}, back, &err), 0);
	ASSERT(!memcmp(a, back, sizeof(a)));
	t = safetensors_find(st, "steps");
	ASSERT(t && !strcmp(t->dtype, "I64") && t->nbytes == sizeof(c));
	ASSERT(!memcmp(t->data, c, sizeof(c)));
	t = safetensors_find(st, "empty");
	ASSERT(t && t->count == 0 && t->ndim == 2);
	safetensors_free(st);
}

TEST(canonical_bytes)
{
	float a[2] = {1, 2};
	struct safetensors_writer w;
	struct err err;
	const char *path = tmp_write("c.safetensors", "");
	const char want[] = "{\"__metadata__\":{\"k\":\"v\"},\"x\":{\"data_offsets\":[0,8],"
			    "\"dtype\":\"F32\",\"shape\":[2]}}";
	char *buf = NULL;
	size_t len, hl = strlen(want), padded = (hl + 7) / 8 * 8;

	err_init(&err);
	safetensors_writer_init(&w);
	safetensors_add(&w, "x", "F32", 1, (size_t[]){2}, a);
	safetensors_set_meta(&w, "k", "v");
	ASSERT_EQ(safetensors_write(&w, path, &err), 0);
	safetensors_writer_release(&w);
	ASSERT_EQ(fs_read_file(path, &buf, &len, &err), 0);
	ASSERT_EQ(len, 8 + padded + 8);
	ASSERT_EQ((unsigned char)buf[0], padded);
	ASSERT(!memcmp(buf + 8, want, hl));
	for (size_t i = hl; i < padded; i++)
		ASSERT_EQ(buf[8 + i], ' ');
	ASSERT(!memcmp(buf + 8 + padded, a, 8));
	free(buf);
}

TEST(get_f32_checks_dtype_and_shape)
{
	struct err err;
	unsigned char buf[256];
	size_t len = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
			   "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 20);
	struct safetensors *st;
	float out[4];

	err_init(&err);
	st = safetensors_parse(buf, len, "m.safetensors", &err);
	ASSERT(st != NULL);
	ASSERT_EQ(safetensors_get_f32(st, "a", 2, (size_t[]){4, 1}, out, &err), -1);
	ASSERT_CONTAINS(err.msg, "m.safetensors: tensor 'a' has shape [2, 2] (expected [4, 1])");
	ASSERT_EQ(safetensors_get_f32(st, "b", 1, (size_t[]){1}, out, &err), -1);
	ASSERT_CONTAINS(err.msg, "tensor 'b' is I32 (expected F32)");
	ASSERT_EQ(safetensors_get_f32(st, "c", 1, (size_t[]){1}, out, &err), -1);
	ASSERT_CONTAINS(err.msg, "no tensor 'c'");
	safetensors_free(st);
}

TEST(malformed_headers)
{
	static const struct {
		const char *header;
		size_t data;
		const char *msg;
	} cases[] = {
		{"", 0, "must be a JSON object"},
		{"[1]", 0, "must be a JSON object"},
		{"{\"a\":", 0, "header is not a JSON object"},
		{"{\"a\":1,\"a\":2}", 0, "header is not a JSON object"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "expected exactly"},
		{"{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "expected exactly"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
		 "expected exactly"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
		 "dimension 0 is not"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
		 "dimension 0 is not"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
		 "\"data_offsets\":[0,4]}}", 4, "dimension 1 is not"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
		 4, "at most 8"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
		 "data_offsets must hold"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4,
		 "data_offsets must hold"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
		 "data_offsets must hold"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
		 "expected exactly"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}",
		 4, "header is not a JSON object"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "leaves a gap"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8, "overlaps"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6,
		 "bytes after the last tensor"},
		{"{\"__metadata__\":{\"k\":1}}", 0, "values must be strings"},
		{"{\"__metadata__\":[]}", 0, "must be an object of strings"},
		{"{\"a\":\"\xff\"}", 0, "header is not a JSON object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *msg = parse_msg(cases[i].header, cases[i].data);
		if (!strstr(msg, cases[i].msg))
			fprintf(stderr, "  case %zu: '%s'\n", i, msg);
		ASSERT_CONTAINS(msg, "m.safetensors: not a valid safetensors file");
		ASSERT_CONTAINS(msg, cases[i].msg);
	}
}

TEST(bad_lengths)
{
	struct err err;
	unsigned char buf[64] = {0};

	err_init(&err);
	ASSERT(safetensors_parse(buf, 7, "m.safetensors", &err) == NULL);
	ASSERT_CONTAINS(err.msg, "shorter than the 8-byte header length");
	buf[0] = 200;   /* a header longer than the file */
	ASSERT(safetensors_parse(buf, 64, "m.safetensors", &err) == NULL);
	ASSERT_CONTAINS(err.msg, "header length 200 exceeds the file (56 bytes");
	memset(buf, 0xff, 8);   /* 2^64 - 1 */
	ASSERT(safetensors_parse(buf, 64, "m.safetensors", &err) == NULL);
	ASSERT_CONTAINS(err.msg, "exceeds the file");
	ASSERT(safetensors_read("/nonexistent/x.safetensors", &err) == NULL);
	ASSERT_EQ(err.kind, ERR_IO);
}

/* Every truncation of a good file, and every byte of it set to a few
 * marks: refused or accepted, never a read out of bounds. */
TEST(truncations_and_mutations)
{
	static const unsigned char marks[] = {0, ' ', '"', '{', '}', '[', ']', ',', ':',
					      '9', '-', 0xff, 0x80};
	unsigned char good[256];
	struct safetensors *st;
	size_t len = image(good, "{\"__metadata__\":{\"a\":\"b\"},\"w\":{\"dtype\":\"F32\","
			   "\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
	struct err err;

	for (size_t cut = 0; cut <= len; cut++) {
		unsigned char *buf = xmalloc(cut ? cut : 1);
		memcpy(buf, good, cut);
		err_init(&err);
		safetensors_free(safetensors_parse(buf, cut, "m", &err));
		free(buf);
	}
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(marks); k++) {
			unsigned char *buf = xmalloc(len);
			memcpy(buf, good, len);
			buf[i] = marks[k];
			err_init(&err);
			safetensors_free(safetensors_parse(buf, len, "m", &err));
			free(buf);
		}
	}
	err_init(&err);
	st = safetensors_parse(good, len, "m", &err);
	ASSERT(st != NULL);
	safetensors_free(st);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(round_trip), T(canonical_bytes), T(get_f32_checks_dtype_and_shape),
	  T(malformed_headers), T(bad_lengths), T(truncations_and_mutations), T(cleanup))
