/* Unit tests for tasks/lib/npy.c: round trips, byte-identity with
 * numpy.save() (headers captured from numpy 1.24), and malformed input. */
#include "test.h"
#include "fs.h"
#include "npy.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh scratch folder per test binary run. */
static const char *tmpdir(void)
{
	static char dir[64];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/test_npy.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

static char *tmpfile_path(const char *name)
{
	return fs_join(tmpdir(), name);
}

/* Preamble (version 1.0) + 'dict' + padding to 64 + '\n' + 'n' data bytes. */
static size_t image(char *out, const char *dict, const void *data, size_t n)
{
	size_t dl = strlen(dict), total = (10 + dl + 1 + 63) / 64 * 64;

	memcpy(out, "\x93NUMPY\x01\x00", 8);
	out[8] = (char)((total - 10) & 0xff);
	out[9] = (char)((total - 10) >> 8);
	memcpy(out + 10, dict, dl);
	memset(out + 10 + dl, ' ', total - 10 - dl - 1);
	out[total - 1] = '\n';
	memcpy(out + total, data, n);
	return total + n;
}

/* Parse an image of 'dict' with 'n' zero data bytes; returns npy_parse's
 * result and leaves the message in 'err'. */
static int parse_dict(const char *dict, size_t n, struct err *err)
{
	char buf[1024] = {0}, zero[256] = {0};
	struct npy_array a;
	size_t len = image(buf, dict, zero, n);
	int rc;

	err_init(err);
	rc = npy_parse(buf, len, "x.npy", &a, err);
	if (rc == 0)
		npy_release(&a);
	return rc;
}

TEST(round_trip_f8_1d)
{
	double v[5] = {1.5, -2.25, 0.0, 1e300, -1e-300};
	size_t shape[1] = {5};
	struct npy_array a;
	struct err err;
	char *p = tmpfile_path("f8.npy");

	err_init(&err);
	ASSERT_EQ(npy_write(p, NPY_F8, 1, shape, v, &err), 0);
	ASSERT_EQ(npy_read(p, &a, &err), 0);
	free(p);
	ASSERT_EQ(a.dtype, NPY_F8);
	ASSERT_EQ(a.ndim, 1);
	ASSERT_EQ(a.shape[0], 5);
	ASSERT_EQ(a.count, 5);
	ASSERT(memcmp(a.data, v, sizeof(v)) == 0);
	npy_release(&a);
}

TEST(round_trip_f4_2d_and_i8)
{
	float f[6] = {1, 2, 3, 4, 5, 6.5f};
	int64_t k[3] = {INT64_MIN, 0, INT64_MAX};
	size_t s2[2] = {2, 3}, s1[1] = {3};
	struct npy_array a;
	struct err err;
	char *p = tmpfile_path("f4.npy"), *q = tmpfile_path("i8.npy");

	err_init(&err);
	ASSERT_EQ(npy_write(p, NPY_F4, 2, s2, f, &err), 0);
	ASSERT_EQ(npy_write(q, NPY_I8, 1, s1, k, &err), 0);
	ASSERT_EQ(npy_read(p, &a, &err), 0);
	ASSERT(a.dtype == NPY_F4 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3);
	ASSERT(memcmp(a.data, f, sizeof(f)) == 0);
	npy_release(&a);
	ASSERT_EQ(npy_read(q, &a, &err), 0);
	ASSERT(a.dtype == NPY_I8 && a.ndim == 1 && a.count == 3);
	ASSERT(memcmp(a.data, k, sizeof(k)) == 0);
	npy_release(&a);
	free(p);
	free(q);
}

/* The bytes numpy.save() writes for the same arrays. */
TEST(header_matches_numpy)
{
	static const char *want[] = {
		"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
		"{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }",
	};
	double zero[6] = {0};
	size_t shapes[3][2] = {{3, 1}, {2, 3}, {0, 1}};
	enum npy_dtype dts[3] = {NPY_F8, NPY_F4, NPY_F8};
	int ndims[3] = {1, 2, 1};
	char expect[1024], *got;
	size_t got_len, n;
	struct err err;
	char *p = tmpfile_path("hdr.npy");

	err_init(&err);
	for (int i = 0; i < 3; i++) {
		size_t bytes = shapes[i][0] * shapes[i][1] * npy_dtype_size(dts[i]);
		ASSERT_EQ(npy_write(p, dts[i], ndims[i], shapes[i], zero, &err), 0);
		ASSERT_EQ(fs_read_file(p, &got, &got_len, &err), 0);
		n = image(expect, want[i], zero, bytes);
		ASSERT_EQ(got_len, n);
		int same = memcmp(got, expect, n) == 0;
		free(got);
		ASSERT(same);
		ASSERT_EQ((n - bytes) % 64, 0);
	}
	free(p);
}

TEST(accepts_other_spellings)
{
	struct err err;

	ASSERT_EQ(parse_dict("{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}", 16, &err), 0);
	ASSERT_EQ(parse_dict("{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (1, 2,)}", 16, &err), 0);
	ASSERT_EQ(parse_dict("{'descr':'<f4','fortran_order':False,'shape':(4,)}", 16, &err), 0);
	ASSERT_EQ(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", 0, &err), 0);
}

TEST(malformed_headers)
{
	static const struct {
		const char *dict;
		size_t n;
		const char *msg;
	} cases[] = {
		{"{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", 16, "descr '<f8'"},
		{"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 4, "descr"},
		{"{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", 16, "Fortran order"},
		{"{'descr': '<f8', 'fortran_order': false, 'shape': (2,), }", 16, "False"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (2), }", 16, "',' after the only"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0, "0-d"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 2), }", 16, "at most 2"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (02,), }", 16, "leading zeros"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", 16, "dimension"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 16, "fits in memory"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 16, "too large"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 16, "expected 24"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 16, "expected 8"},
		{"{'descr': '<f8', 'fortran_order': False, }", 16, "key 'shape'"},
		{"{'fortran_order': False, 'shape': (2,), }", 16, "key 'descr'"},
		{"{'descr': '<f8', 'shape': (2,), }", 16, "key 'fortran_order'"},
		{"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "each key once"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", 16, "key 'descr'"},
		{"{'descr': '<f8' 'fortran_order': False, 'shape': (2,), }", 16, "',' or '}'"},
		{"{'descr' '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "':'"},
		{"{'descr: '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "key 'descr'"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), } x", 16, "padding"},
		{"['descr', '<f8']", 16, "'{'"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", 16, "',' or '}'"},
		{"{'descr': '<f\\8', 'fortran_order': False, 'shape': (2,), }", 16, "closing quote"},
		{"", 16, "'{'"},
	};
	struct err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_dict(cases[i].dict, cases[i].n, &err);
		if (rc == 0 || !strstr(err.msg, cases[i].msg))
			fprintf(stderr, "case %zu: rc=%d msg=%s\n", i, rc, err.msg);
		ASSERT_EQ(rc, -1);
		ASSERT_EQ(err.kind, ERR_USER);
		ASSERT_CONTAINS(err.msg, "x.npy: ");
		ASSERT_CONTAINS(err.msg, cases[i].msg);
	}
}

TEST(malformed_preamble)
{
	char buf[256], zero[16] = {0};
	size_t len = image(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
			   zero, 16);
	struct npy_array a;
	struct err err;

	err_init(&err);
	ASSERT_EQ(npy_parse(buf, 5, "x.npy", &a, &err), -1);
	ASSERT_CONTAINS(err.msg, "magic");
	buf[1] = 'X';
	ASSERT_EQ(npy_parse(buf, len, "x.npy", &a, &err), -1);
	ASSERT_CONTAINS(err.msg, "magic");
	buf[1] = 'N';
	buf[6] = 2;
	ASSERT_EQ(npy_parse(buf, len, "x.npy", &a, &err), -1);
	ASSERT_CONTAINS(err.msg, "version 2.0 (expected 1.0)");
	buf[6] = 1;
	buf[9] = 0x7f;   /* header length far past the end */
	ASSERT_EQ(npy_parse(buf, len, "x.npy", &a, &err), -1);
	ASSERT_CONTAINS(err.msg, "runs past the end");
	buf[9] = 0;
	buf[8] = 10;   /* header cut short: no '\n' where it ends */
	ASSERT_EQ(npy_parse(buf, len, "x.npy", &a, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_EQ(npy_read("/nonexistent/x.npy", &a, &err), -1);
	ASSERT_EQ(err.kind, ERR_IO);
}

/* Every prefix and every one-byte change of a valid file is either
 * refused cleanly or parsed; ASan proves nothing is read out of bounds. */
TEST(truncations_and_mutations)
{
	static const char marks[] = {'\0', ' ', '\n', '\'', '(', ')', ',', '9', '}', '\xff'};
	char good[256], *buf = NULL;
	double data[2] = {1, 2};
	size_t len = image(good, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
			   data, sizeof(data));
	struct npy_array a;
	struct err err;

	for (size_t n = 0; n < len; n++) {
		buf = xmalloc(n ? n : 1);   /* exact size: ASan sees overreads */
		memcpy(buf, good, n);
		err_init(&err);
		int rc = npy_parse(buf, n, "x.npy", &a, &err);
		free(buf);
		ASSERT_EQ(rc, -1);
	}
	buf = xmalloc(len);
	for (size_t i = 0; i < len - sizeof(data); i++) {
		for (size_t m = 0; m < sizeof(marks); m++) {
			memcpy(buf, good, len);
			buf[i] = marks[m];
			err_init(&err);
			if (npy_parse(buf, len, "x.npy", &a, &err) == 0)
				npy_release(&a);
			else
				ASSERT(err.kind == ERR_USER && err.msg[0]);
		}
	}
	free(buf);
}

TEST(cleanup)
{
	struct err err;

	err_init(&err);
	ASSERT_EQ(fs_remove_tree(tmpdir(), &err), 0);
}

TEST_LIST(T(round_trip_f8_1d), T(round_trip_f4_2d_and_i8), T(header_matches_numpy),
	  T(accepts_other_spellings), T(malformed_headers), T(malformed_preamble),
	  T(truncations_and_mutations), T(cleanup))
