/* gemm_fixed: a matrix product whose every element is summed in one fixed
 * order, so a row's result never depends on the batch around it.
 *
 * The inference paths of tcn.c and seq2seq.c (tcn_infer, seq2seq_infer)
 * promise predictions that do not change with the batch size: BLAS may
 * split or reorder a sum by the matrix's shape, this loop never does.
 * Every element is one chain of additions over 'k' in order, four terms
 * per pass, each a * b + c rounded twice (never fused; see
 * TENSOR_FUSED_BEGIN in tensor.h); the CPU-specific copies of
 * TENSOR_CLONES compute the same operations, so results are identical on
 * every machine this binary runs on.  No state; thread-safe. */
#ifndef DAGRUN_GEMM_FIXED_H
#define DAGRUN_GEMM_FIXED_H

#include <stddef.h>

/* c[r][o] = the sum over i < k of a[r][i] bt[i][o], for 'rows' rows of
 * 'a' (row stride 'lda', at least 'k') into 'rows' rows of 'n' floats of
 * 'c' (overwritten).  'bt' is the right side already transposed, [k][n].
 * 'c' must not overlap 'a' or 'bt'.  Cannot fail. */
void gemm_fixed_rows(const float *restrict a, size_t rows, size_t lda, int k,
		     const float *restrict bt, int n, float *restrict c);

#endif
