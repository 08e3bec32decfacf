/* Unit tests for tasks/lib/window.c: counts, splits, even sampling, the
 * contents and shapes of cut windows, and the N-dimensional .npy files
 * they are written to (byte-identical with numpy.save()). */
#include "test.h"
#include "tmpdir.h"
#include "npy.h"
#include "window.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST(counts)
{
	ASSERT_EQ(window_count(10, 3, 2), 6);
	ASSERT_EQ(window_count(5, 3, 2), 1);
	ASSERT_EQ(window_count(4, 3, 2), 0);
	ASSERT_EQ(window_count(0, 1, 1), 0);
}

TEST(splits)
{
	double a[3] = {0.7, 0.1, 0.2}, b[3] = {0.33, 0.33, 0.34}, c[3] = {0.5, 0, 0.5};
	double over[3] = {0.6, 0.4 + 1e-10, 0};
	size_t p[3];

	window_split(100, a, p);
	ASSERT(p[0] == 70 && p[1] == 10 && p[2] == 20);
	window_split(10, b, p);
	ASSERT(p[0] == 3 && p[1] == 3 && p[2] == 4);   /* the rest goes to test */
	window_split(7, c, p);
	ASSERT(p[0] == 3 && p[1] == 0 && p[2] == 4);
	window_split(10, over, p);
	ASSERT(p[0] == 6 && p[1] == 4 && p[2] == 0);
}

TEST(even_sampling)
{
	size_t idx[10];

	ASSERT_EQ(window_sample(10, 3, idx), 3);
	ASSERT(idx[0] == 0 && idx[1] == 3 && idx[2] == 6);
	ASSERT_EQ(window_sample(10, 4, idx), 4);
	ASSERT(idx[0] == 0 && idx[1] == 2 && idx[2] == 5 && idx[3] == 7);
	ASSERT_EQ(window_sample(10, 0, idx), 10);   /* 0: all */
	ASSERT(idx[9] == 9);
	ASSERT_EQ(window_sample(5, 20, idx), 5);    /* more than there are */
	ASSERT(idx[4] == 4);
	ASSERT_EQ(window_sample(0, 3, idx), 0);
}

/* A table whose every value says where it came from: feature f of row r
 * is r * 10 + f, the target of row r is r * 100, its time 1000 + r. */
static void table(double *feat, double *target, int64_t *time, size_t rows,
		  size_t nf)
{
	for (size_t r = 0; r < rows; r++) {
		for (size_t f = 0; f < nf; f++)
			feat[r * nf + f] = (double)(r * 10 + f);
		target[r] = (double)(r * 100);
		time[r] = 1000 + (int64_t)r;
	}
}

TEST(contents)
{
	double feat[20 * 3], target[20];
	int64_t time[20];
	size_t start[2] = {0, 4};   /* windows 0 and 4 of a part at row 5 */
	struct window_set w;
	int ok = 1;

	table(feat, target, time, 20, 3);
	window_cut(&w, feat, 3, target, time, 5, start, 2, 4, 2);
	ASSERT(w.n == 2 && w.in_len == 4 && w.out_len == 2 && w.n_feat == 3);
	for (size_t i = 0; i < 2; i++) {
		size_t s = 5 + start[i];
		for (size_t k = 0; k < 4; k++)
			for (size_t f = 0; f < 3; f++)
				ok &= w.x[(i * 4 + k) * 3 + f] == (float)((s + k) * 10 + f);
		for (size_t k = 0; k < 2; k++)
			ok &= w.y[i * 2 + k] == (float)((s + 4 + k) * 100);
		ok &= w.t[i] == 1000 + (int64_t)(s + 4);   /* the first target step */
	}
	/* the last window of the part ends on its last row: 5 + 4 + 4 + 2 = 15 */
	ASSERT(w.y[3] == 1400);
	window_release(&w);
	ASSERT(ok);
}

/* The header numpy.save() writes for a float32 array of shape 'dims'. */
static int header_is(const char *path, const char *dims)
{
	char want[128], *got;
	size_t len;
	struct err err;
	int same;

	snprintf(want, sizeof(want), "{'descr': '<f4', 'fortran_order': False, "
		 "'shape': %s, }", dims);
	err_init(&err);
	if (fs_read_file(path, &got, &len, &err))
		return 0;
	same = len > 10 + strlen(want) && memcmp(got + 10, want, strlen(want)) == 0 &&
	       got[(unsigned char)got[8] + 10 - 1] == '\n' && (got[8] + 10) % 64 == 0;
	free(got);
	return same;
}

TEST(write_and_read_back_3d)
{
	double feat[12 * 2], target[12];
	int64_t time[12];
	size_t start[3] = {0, 1, 5};
	struct window_set w;
	struct npy_array a;
	struct err err;
	char *px = fs_join(tmp_dir(), "X_train.npy"), *py = fs_join(tmp_dir(), "Y_train.npy");
	char *pt = fs_join(tmp_dir(), "T_train.npy");
	int same;

	table(feat, target, time, 12, 2);
	window_cut(&w, feat, 2, target, time, 0, start, 3, 5, 2);
	err_init(&err);
	ASSERT_EQ(window_write(&w, tmp_dir(), "train", &err), 0);
	ASSERT(header_is(px, "(3, 5, 2)"));
	ASSERT(header_is(py, "(3, 2)"));
	ASSERT_EQ(npy_read(px, &a, &err), -1);   /* the 2-D reader refuses */
	ASSERT_CONTAINS(err.msg, "at most 2 dimensions");
	ASSERT_EQ(npy_read_nd(px, 3, &a, &err), 0);
	ASSERT(a.dtype == NPY_F4 && a.ndim == 3 && a.shape[0] == 3 &&
	       a.shape[1] == 5 && a.shape[2] == 2 && a.shape[3] == 1 && a.count == 30);
	same = memcmp(a.data, w.x, 30 * sizeof(float)) == 0;
	npy_release(&a);
	ASSERT(same);
	ASSERT_EQ(npy_read(pt, &a, &err), 0);
	ASSERT(a.dtype == NPY_I8 && a.ndim == 1 && a.count == 3);
	ASSERT(((int64_t *)a.data)[2] == 1010);
	npy_release(&a);
	window_release(&w);

	window_cut(&w, feat, 2, target, time, 0, start, 0, 5, 2);   /* none */
	ASSERT_EQ(window_write(&w, tmp_dir(), "train", &err), 0);
	window_release(&w);
	ASSERT(header_is(px, "(0, 5, 2)"));
	ASSERT_EQ(npy_read_nd(px, 3, &a, &err), 0);
	ASSERT(a.count == 0 && a.shape[0] == 0);
	npy_release(&a);
	free(px);
	free(py);
	free(pt);
}

/* Up to NPY_MAX_DIMS dimensions round-trip; more are refused cleanly. */
TEST(npy_many_dims)
{
	size_t shape[NPY_MAX_DIMS] = {2, 1, 3, 1, 1, 2, 1, 2};
	float v[24];
	struct npy_array a;
	struct err err;
	char *p = fs_join(tmp_dir(), "nd.npy");
	char buf[200];
	int same;

	for (int i = 0; i < 24; i++)
		v[i] = (float)i * 0.5f;
	err_init(&err);
	ASSERT_EQ(npy_write(p, NPY_F4, NPY_MAX_DIMS, shape, v, &err), 0);
	ASSERT(header_is(p, "(2, 1, 3, 1, 1, 2, 1, 2)"));
	ASSERT_EQ(npy_read_nd(p, NPY_MAX_DIMS, &a, &err), 0);
	ASSERT(a.ndim == NPY_MAX_DIMS && a.count == 24);
	same = memcmp(a.data, v, sizeof(v)) == 0;
	npy_release(&a);
	ASSERT(same);
	ASSERT_EQ(npy_read_nd(p, 7, &a, &err), -1);
	ASSERT_CONTAINS(err.msg, "at most 7 dimensions");
	ASSERT_EQ(npy_write(p, NPY_F4, NPY_MAX_DIMS + 1, shape, v, &err), -1);
	ASSERT_EQ(err.kind, ERR_INTERNAL);
	/* a 9-dimension header, written by hand: refused, not overrun */
	snprintf(buf, sizeof(buf), "{'descr': '<f4', 'fortran_order': False, "
		 "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }");
	{
		char file[256];
		size_t dl = strlen(buf), total = (10 + dl + 1 + 63) / 64 * 64;
		float one = 1;
		memcpy(file, "\x93NUMPY\x01\x00", 8);
		file[8] = (char)(total - 10);
		file[9] = 0;
		memcpy(file + 10, buf, dl);
		memset(file + 10 + dl, ' ', total - 10 - dl - 1);
		file[total - 1] = '\n';
		memcpy(file + total, &one, 4);
		ASSERT_EQ(npy_parse_nd(file, total + 4, "nine.npy", NPY_MAX_DIMS, &a, &err), -1);
		ASSERT_CONTAINS(err.msg, "at most 8 dimensions");
	}
	free(p);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(counts), T(splits), T(even_sampling), T(contents),
	  T(write_and_read_back_3d), T(npy_many_dims), T(cleanup))
