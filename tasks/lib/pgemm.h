/* pgemm: the matrix products of recurrent training, against a right side
 * packed once and used many times.
 *
 * OpenBLAS packs both sides of every call, and on the CPUs it does not
 * know it runs its AVX2 kernels (Debian's 0.3.21 takes AMD family 26 for
 * Haswell): on a [64, 128] x [128, 512] product, the per-step product of
 * an LSTM layer, both cost about half its speed.  Here the right side is
 * packed by the caller, once per weight update (a weight matrix serves
 * every time step of both slices of a batch), and the tile kernel is the
 * widest the CPU runs: AVX-512, AVX2 with FMA, or portable C with fmaf.
 *
 * Rounding: every element of C is one chain of fused multiply-adds over k
 * in order, from zero, or from C's value with PGEMM_ADD:
 *   c = fma(a[K-1], b[K-1], ... fma(a[0], b[0], c0))
 * whatever its neighbours, the tile it falls in and the kernel, so the
 * three kernels agree to the bit and a row's result never depends on the
 * rows around it.  The environment variable DAGRUN_RNN_ISA (avx512, avx2,
 * generic) picks a kernel, for tests and benches; one the CPU lacks is
 * never picked.
 *
 * No global state but the kernel choice, made once per pgemm_pack*().
 * Thread-safe: a packed matrix is only read by pgemm(). */
#ifndef DAGRUN_PGEMM_H
#define DAGRUN_PGEMM_H

#include <stddef.h>

/* 32: two AVX-512 registers of floats */
#define PGEMM_PANEL 32

/* A right side of 'n' columns and 'k' rows in panels of PGEMM_PANEL
 * columns: packed, [panel][k][lane], zero past column n; or, from
 * pgemm_view(), the caller's matrix as it lies. */
struct pgemm_b {
	int n, k;
	const float *p;              /* panel 0, row 0 */
	size_t ldb, step;            /* floats from a panel's row to the next,
					and from a panel to the next */
	float *buf;                  /* the packed copy, 'cap' floats */
	size_t cap;
	const void *tile, *row;      /* the kernels picked at packing */
};

/* Flags of pgemm(). */
enum {
	PGEMM_ADD = 1,    /* C += A B (the chain starts from C); else C = A B */
	PGEMM_AT = 2      /* A is given transposed: element (r, i) at
			     a[i * lda + r] */
};

/* Pack 'w' as the right side B of C = A B: with pgemm_pack_t, 'w' is
 * B^T, [n][k] row-major (a PyTorch weight, for x W^T); with pgemm_pack,
 * 'w' is B itself, [k][n] with row stride 'ldw'.  The buffer is reused
 * when large enough (a 'struct pgemm_b' starts zeroed); release with
 * pgemm_release().  Cannot fail (allocation failure aborts). */
void pgemm_pack_t(struct pgemm_b *b, const float *w, int n, int k);
void pgemm_pack(struct pgemm_b *b, const float *w, int k, int n, int ldw);
/* As pgemm_pack, but without a copy when 'n' is a multiple of
 * PGEMM_PANEL: 'b' then reads 'w' itself (borrowed: it must stay
 * unchanged, and alive, while 'b' is used).  A copy is no faster when B
 * fits in the cache, as a batch's weights and activations do. */
void pgemm_view(struct pgemm_b *b, const float *w, int k, int n, int ldw);
void pgemm_release(struct pgemm_b *b);

/* C[m][b->n] (row stride ldc) = (or +=, PGEMM_ADD) A[m][b->k] B, A with
 * row stride 'lda' (or transposed, PGEMM_AT).  C must not overlap A or
 * B.  'm' may be 0. */
void pgemm(const float *a, int m, int lda, const struct pgemm_b *b, float *c,
	   int ldc, int flags);

#endif
