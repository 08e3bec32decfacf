/* Unit tests for tasks/lib/pgemm.c: the packed products against a plain
 * triple loop in double, in every mode (B given transposed or not, packed
 * or viewed in place, A transposed, C overwritten or added to), on shapes with rows past the
 * last full tile and columns past the last full panel; the kernels agree
 * to the bit; a row's result does not depend on the rows around it. */
#include "test.h"
#include "pgemm.h"
#include "tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A reproducible value in [-1, 1) for index 'i' of stream 's'. */
static float val(int s, int i)
{
	unsigned x = (unsigned)i * 2654435761u + (unsigned)s * 40503u + 12345u;

	x ^= x >> 13;
	x *= 1274126177u;
	x ^= x >> 16;
	return (float)(x % 2001) / 1000.0f - 1.0f;
}

/* max |got - want| / (1 + |want|) of C = (c0 if add) + A B, with A [m][k]
 * stored at a[r * ars + i * aks] and B [k][n] at b[i * n + j]. */
static double worst_error(const float *got, const float *c0, const float *a,
			  size_t ars, size_t aks, const float *b, int m, int n, int k)
{
	double worst = 0;

	for (int r = 0; r < m; r++) {
		for (int j = 0; j < n; j++) {
			double s = c0 ? c0[r * n + j] : 0;
			for (int i = 0; i < k; i++)
				s += (double)a[r * ars + i * aks] * b[i * n + j];
			double e = fabs(got[r * n + j] - s) / (1 + fabs(s));
			worst = e > worst ? e : worst;
		}
	}
	return worst;
}

/* One product in every mode, m x n x k. */
static int check_shape(int m, int n, int k)
{
	float *a = tensor_alloc((size_t)m * k), *at = tensor_alloc((size_t)m * k);
	float *b = tensor_alloc((size_t)k * n), *bt = tensor_alloc((size_t)k * n);
	float *c = tensor_alloc((size_t)m * n), *c0 = tensor_alloc((size_t)m * n);
	struct pgemm_b pb, pbt, pv;
	int ok = 1;

	memset(&pb, 0, sizeof(pb));
	memset(&pbt, 0, sizeof(pbt));
	memset(&pv, 0, sizeof(pv));
	for (int r = 0; r < m; r++)
		for (int i = 0; i < k; i++)
			at[i * m + r] = a[r * k + i] = val(1, r * k + i);
	for (int i = 0; i < k; i++)
		for (int j = 0; j < n; j++)
			bt[j * k + i] = b[i * n + j] = val(2, i * n + j);
	for (int i = 0; i < m * n; i++)
		c0[i] = val(3, i);
	pgemm_pack(&pb, b, k, n, n);
	pgemm_pack_t(&pbt, bt, n, k);
	pgemm_view(&pv, b, k, n, n);   /* no copy when n is whole panels */

	pgemm(a, m, k, &pb, c, n, 0);
	ok &= worst_error(c, NULL, a, (size_t)k, 1, b, m, n, k) < 1e-5;
	pgemm(a, m, k, &pbt, c, n, 0);
	ok &= worst_error(c, NULL, a, (size_t)k, 1, b, m, n, k) < 1e-5;
	pgemm(at, m, m, &pb, c, n, PGEMM_AT);
	ok &= worst_error(c, NULL, at, 1, (size_t)m, b, m, n, k) < 1e-5;
	pgemm(at, m, m, &pv, c, n, PGEMM_AT);
	ok &= worst_error(c, NULL, at, 1, (size_t)m, b, m, n, k) < 1e-5;
	memcpy(c, c0, (size_t)m * n * sizeof(float));
	pgemm(a, m, k, &pv, c, n, PGEMM_ADD);
	ok &= worst_error(c, c0, a, (size_t)k, 1, b, m, n, k) < 1e-5;
	memcpy(c, c0, (size_t)m * n * sizeof(float));
	pgemm(a, m, k, &pb, c, n, PGEMM_ADD);
	ok &= worst_error(c, c0, a, (size_t)k, 1, b, m, n, k) < 1e-5;
	memcpy(c, c0, (size_t)m * n * sizeof(float));
	pgemm(at, m, m, &pbt, c, n, PGEMM_ADD | PGEMM_AT);
	ok &= worst_error(c, c0, at, 1, (size_t)m, b, m, n, k) < 1e-5;

	pgemm_release(&pb);
	pgemm_release(&pbt);
	pgemm_release(&pv);
	tensor_free(a);
	tensor_free(at);
	tensor_free(b);
	tensor_free(bt);
	tensor_free(c);
	tensor_free(c0);
	return ok;
}

TEST(products_match_the_definition)
{
	ASSERT(check_shape(64, 512, 128));   /* an LSTM layer's step */
	ASSERT(check_shape(19, 384, 128));   /* a short slice: 3 rows past a tile */
	ASSERT(check_shape(13, 45, 7));      /* a short panel, few features */
	ASSERT(check_shape(1, 1, 1));
	ASSERT(check_shape(9, 33, 300));
}

/* C = A B with the kernel DAGRUN_RNN_ISA names, into 'c' [m][n]. */
static void product_with(const char *isa, const float *a, int m, int k,
			 const float *b, int n, float *c, int flags)
{
	struct pgemm_b pb;

	memset(&pb, 0, sizeof(pb));
	setenv("DAGRUN_RNN_ISA", isa, 1);
	pgemm_pack(&pb, b, k, n, n);
	unsetenv("DAGRUN_RNN_ISA");
	pgemm(a, m, k, &pb, c, n, flags);
	pgemm_release(&pb);
}

TEST(kernels_agree_to_the_bit)
{
	enum { M = 21, N = 70, K = 129 };
	static const char *const isa[3] = {"avx512", "avx2", "generic"};
	float *a = tensor_alloc(M * K), *b = tensor_alloc(K * N), *c[3];

	for (int i = 0; i < M * K; i++)
		a[i] = val(4, i);
	for (int i = 0; i < K * N; i++)
		b[i] = val(5, i);
	for (int v = 0; v < 3; v++) {
		c[v] = tensor_alloc(M * N);
		for (int i = 0; i < M * N; i++)
			c[v][i] = val(6, i);
		product_with(isa[v], a, M, K, b, N, c[v], PGEMM_ADD);
	}
	ASSERT(!memcmp(c[0], c[1], M * N * sizeof(float)));
	ASSERT(!memcmp(c[0], c[2], M * N * sizeof(float)));
	for (int v = 0; v < 3; v++)
		tensor_free(c[v]);
	tensor_free(a);
	tensor_free(b);
}

/* Row 5 alone gives the bits it gets among 21 rows (in a full tile
 * there, alone through the one-row kernel). */
TEST(a_row_does_not_depend_on_its_neighbours)
{
	enum { M = 21, N = 64, K = 50 };
	float *a = tensor_alloc(M * K), *b = tensor_alloc(K * N);
	float *all = tensor_alloc(M * N), *one = tensor_alloc(N);

	for (int i = 0; i < M * K; i++)
		a[i] = val(7, i);
	for (int i = 0; i < K * N; i++)
		b[i] = val(8, i);
	product_with("", a, M, K, b, N, all, 0);
	product_with("", a + 5 * K, 1, K, b, N, one, 0);
	ASSERT(!memcmp(all + 5 * N, one, N * sizeof(float)));
	tensor_free(a);
	tensor_free(b);
	tensor_free(all);
	tensor_free(one);
}

TEST_LIST(T(products_match_the_definition), T(kernels_agree_to_the_bit),
	  T(a_row_does_not_depend_on_its_neighbours))
