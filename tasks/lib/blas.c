/* blas: see blas.h. */
#include "blas.h"

#include <cblas.h>

void blas_set_threads(int n)
{
	openblas_set_num_threads(n < 1 ? 1 : n);
}

int blas_threads(void)
{
	return openblas_get_num_threads();
}

const char *blas_core(void)
{
	return openblas_get_corename();
}

void blas_gemm(enum blas_trans ta, enum blas_trans tb, int m, int n, int k,
	       float alpha, const float *a, int lda, const float *b, int ldb,
	       float beta, float *c, int ldc)
{
	if (m <= 0 || n <= 0)
		return;
	if (k <= 0) {
		/* BLAS leaves C = beta C; spelled out, as some builds skip it */
		for (int i = 0; i < m; i++)
			for (int j = 0; j < n; j++)
				c[(long)i * ldc + j] = beta == 0 ? 0 : beta * c[(long)i * ldc + j];
		return;
	}
	cblas_sgemm(CblasRowMajor, ta == BLAS_T ? CblasTrans : CblasNoTrans,
		    tb == BLAS_T ? CblasTrans : CblasNoTrans, m, n, k, alpha,
		    a, lda, b, ldb, beta, c, ldc);
}
