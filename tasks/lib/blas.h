/* blas: thin wrappers over OpenBLAS's cblas_sgemm, row-major.
 *
 * Every matrix product that matters in a kernel goes through here, so
 * that the thread count is set in one place and the calls read as the
 * math: blas_gemm(BLAS_N, BLAS_T, ...) is C = alpha A B^T + beta C.
 *
 * Threads: OpenBLAS keeps one process-wide thread pool, sized by
 * blas_set_threads() (which overrides OPENBLAS_NUM_THREADS).  A kernel sets
 * it once, explicitly, before its first product: to its 'threads' param
 * when its products are large enough to split, or to 1 when it runs
 * threads of its own that each call OpenBLAS (the recurrent kernels do:
 * their per-step products are too small to split; see rnn.h).  Calls from
 * several threads at once are safe with the pool at 1 thread. */
#ifndef DAGRUN_BLAS_H
#define DAGRUN_BLAS_H

enum blas_trans { BLAS_N, BLAS_T };

/* Use 'n' threads (n >= 1) for the products that follow. */
void blas_set_threads(int n);
int blas_threads(void);
/* The CPU kernel OpenBLAS picked, e.g. "Haswell" (borrowed, static). */
const char *blas_core(void);

/* C[m,n] = alpha * op(A) op(B) + beta * C; op(A) is [m,k] and op(B) is
 * [k,n]; lda, ldb, ldc are row strides.  With k == 0, C = beta * C. */
void blas_gemm(enum blas_trans ta, enum blas_trans tb, int m, int n, int k,
	       float alpha, const float *a, int lda, const float *b, int ldb,
	       float beta, float *c, int ldc);

#endif
