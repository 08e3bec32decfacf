/* gemm_fixed: see gemm_fixed.h.
 *
 * Invariant: the order of the additions is the contract; a faster loop
 * that sums in another order is another function. */
#include "gemm_fixed.h"
#include "tensor.h"

#include <string.h>

TENSOR_FUSED_BEGIN

/* Four terms per pass: the order kept, the row of 'c' loaded and stored a
 * quarter as often.  Nothing couples rows. */
TENSOR_CLONES void gemm_fixed_rows(const float *restrict a, size_t rows, size_t lda,
				   int k, const float *restrict bt, int n,
				   float *restrict c)
{
	for (size_t r = 0; r < rows; r++) {
		const float *ar = a + r * lda;
		float *cr = c + r * (size_t)n;
		int i = 0;

		memset(cr, 0, (size_t)n * sizeof(float));
		for (; i + 4 <= k; i += 4) {
			const float *b0 = bt + (size_t)i * n, *b1 = b0 + n, *b2 = b1 + n;
			const float *b3 = b2 + n;
			float v0 = ar[i], v1 = ar[i + 1], v2 = ar[i + 2], v3 = ar[i + 3];
			for (int o = 0; o < n; o++)
				cr[o] = (((cr[o] + v0 * b0[o]) + v1 * b1[o]) + v2 * b2[o]) +
					v3 * b3[o];
		}
		for (; i < k; i++) {
			const float *b0 = bt + (size_t)i * n;
			float v0 = ar[i];
			for (int o = 0; o < n; o++)
				cr[o] = cr[o] + v0 * b0[o];
		}
	}
}

TENSOR_FUSED_END
