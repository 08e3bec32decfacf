/* pgemm: see pgemm.h.
 *
 * A tile is TILE_ROWS rows of A times one packed panel, its accumulators
 * in registers for the whole k loop; the rows past the last full tile go
 * one at a time, and a panel shorter than PGEMM_PANEL through a scratch
 * tile.  None of that changes an element's chain of fused multiply-adds:
 * each accumulator lane is one element, fed a[i] * b[i] for i = 0, 1, ...
 * in order. */
#include "pgemm.h"
#include "tensor.h"

#include <stdlib.h>
#include <string.h>
#include <math.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* 8 rows: 16 AVX-512 accumulators, half the register file, leaving room
 * for the panel and a broadcast */
#define TILE_ROWS 8
#define PANEL PGEMM_PANEL

/* C[TILE_ROWS][PANEL] (row stride ldc) (+)= A[TILE_ROWS][k] times the
 * panel b[k][PANEL] (row stride ldb); A's element (r, i) is
 * a[r * rs + i * ks]. */
typedef void tile_fn(const float *a, size_t rs, size_t ks, const float *b,
		     size_t ldb, int k, float *c, int ldc, int add);
/* c[PANEL] (+)= a[k] (element i at a[i * ks]) times the panel. */
typedef void row_fn(const float *a, size_t ks, const float *b, size_t ldb,
		    int k, float *c, int add);

static void tile_generic(const float *a, size_t rs, size_t ks, const float *b,
			 size_t ldb, int k, float *c, int ldc, int add)
{
	float acc[TILE_ROWS][PANEL];

	for (int r = 0; r < TILE_ROWS; r++)
		for (int j = 0; j < PANEL; j++)
			acc[r][j] = add ? c[(size_t)r * ldc + j] : 0.0f;
	for (int i = 0; i < k; i++)
		for (int r = 0; r < TILE_ROWS; r++)
			for (int j = 0; j < PANEL; j++)
				acc[r][j] = fmaf(a[r * rs + i * ks], b[i * ldb + j], acc[r][j]);
	for (int r = 0; r < TILE_ROWS; r++)
		memcpy(c + (size_t)r * ldc, acc[r], sizeof(acc[r]));
}

static void row_generic(const float *a, size_t ks, const float *b, size_t ldb,
			int k, float *c, int add)
{
	float acc[PANEL];

	for (int j = 0; j < PANEL; j++)
		acc[j] = add ? c[j] : 0.0f;
	for (int i = 0; i < k; i++)
		for (int j = 0; j < PANEL; j++)
			acc[j] = fmaf(a[i * ks], b[i * ldb + j], acc[j]);
	memcpy(c, acc, sizeof(acc));
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_TILES 1

__attribute__((target("avx512f")))
static void tile_avx512(const float *a, size_t rs, size_t ks, const float *b,
			size_t ldb, int k, float *c, int ldc, int add)
{
	__m512 acc[TILE_ROWS][2];

#pragma GCC unroll 8
	for (int r = 0; r < TILE_ROWS; r++) {
		acc[r][0] = add ? _mm512_loadu_ps(c + (size_t)r * ldc) : _mm512_setzero_ps();
		acc[r][1] = add ? _mm512_loadu_ps(c + (size_t)r * ldc + 16) : _mm512_setzero_ps();
	}
	for (int i = 0; i < k; i++) {
		__m512 b0 = _mm512_loadu_ps(b + i * ldb), b1 = _mm512_loadu_ps(b + i * ldb + 16);
		const float *ai = a + i * ks;
#pragma GCC unroll 8
		for (int r = 0; r < TILE_ROWS; r++) {
			__m512 v = _mm512_set1_ps(ai[r * rs]);
			acc[r][0] = _mm512_fmadd_ps(v, b0, acc[r][0]);
			acc[r][1] = _mm512_fmadd_ps(v, b1, acc[r][1]);
		}
	}
#pragma GCC unroll 8
	for (int r = 0; r < TILE_ROWS; r++) {
		_mm512_storeu_ps(c + (size_t)r * ldc, acc[r][0]);
		_mm512_storeu_ps(c + (size_t)r * ldc + 16, acc[r][1]);
	}
}

__attribute__((target("avx512f")))
static void row_avx512(const float *a, size_t ks, const float *b, size_t ldb,
		       int k, float *c, int add)
{
	__m512 c0 = add ? _mm512_loadu_ps(c) : _mm512_setzero_ps();
	__m512 c1 = add ? _mm512_loadu_ps(c + 16) : _mm512_setzero_ps();

	for (int i = 0; i < k; i++) {
		__m512 v = _mm512_set1_ps(a[i * ks]);
		c0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(b + i * ldb), c0);
		c1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(b + i * ldb + 16), c1);
	}
	_mm512_storeu_ps(c, c0);
	_mm512_storeu_ps(c + 16, c1);
}

/* Sixteen registers: four rows by half a panel at a time. */
__attribute__((target("avx2,fma")))
static void tile_avx2(const float *a, size_t rs, size_t ks, const float *b,
		      size_t ldb, int k, float *c, int ldc, int add)
{
	for (int r0 = 0; r0 < TILE_ROWS; r0 += 4) {
		for (int h = 0; h < PANEL; h += 16) {
			__m256 acc[4][2];
			for (int r = 0; r < 4; r++) {
				float *cr = c + (size_t)(r0 + r) * ldc + h;
				acc[r][0] = add ? _mm256_loadu_ps(cr) : _mm256_setzero_ps();
				acc[r][1] = add ? _mm256_loadu_ps(cr + 8) : _mm256_setzero_ps();
			}
			for (int i = 0; i < k; i++) {
				__m256 b0 = _mm256_loadu_ps(b + i * ldb + h);
				__m256 b1 = _mm256_loadu_ps(b + i * ldb + h + 8);
#pragma GCC unroll 4
				for (int r = 0; r < 4; r++) {
					__m256 v = _mm256_set1_ps(a[(r0 + r) * rs + i * ks]);
					acc[r][0] = _mm256_fmadd_ps(v, b0, acc[r][0]);
					acc[r][1] = _mm256_fmadd_ps(v, b1, acc[r][1]);
				}
			}
			for (int r = 0; r < 4; r++) {
				_mm256_storeu_ps(c + (size_t)(r0 + r) * ldc + h, acc[r][0]);
				_mm256_storeu_ps(c + (size_t)(r0 + r) * ldc + h + 8, acc[r][1]);
			}
		}
	}
}

__attribute__((target("avx2,fma")))
static void row_avx2(const float *a, size_t ks, const float *b, size_t ldb,
		     int k, float *c, int add)
{
	__m256 acc[4];

	for (int j = 0; j < 4; j++)
		acc[j] = add ? _mm256_loadu_ps(c + 8 * j) : _mm256_setzero_ps();
	for (int i = 0; i < k; i++) {
		__m256 v = _mm256_set1_ps(a[i * ks]);
		for (int j = 0; j < 4; j++)
			acc[j] = _mm256_fmadd_ps(v, _mm256_loadu_ps(b + i * ldb + 8 * j), acc[j]);
	}
	for (int j = 0; j < 4; j++)
		_mm256_storeu_ps(c + 8 * j, acc[j]);
}
#endif

/* The widest kernels the CPU runs, or those DAGRUN_RNN_ISA names. */
static void pick_kernels(struct pgemm_b *b)
{
#ifdef HAVE_X86_TILES
	const char *want = getenv("DAGRUN_RNN_ISA");
	int any = !want || !*want;

	__builtin_cpu_init();
	if ((any || !strcmp(want, "avx512")) && __builtin_cpu_supports("avx512f")) {
		b->tile = (const void *)tile_avx512;
		b->row = (const void *)row_avx512;
		return;
	}
	if ((any || strcmp(want, "generic")) && __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma")) {
		b->tile = (const void *)tile_avx2;
		b->row = (const void *)row_avx2;
		return;
	}
#endif
	b->tile = (const void *)tile_generic;
	b->row = (const void *)row_generic;
}

/* Room for 'n' columns of 'k' rows, zeroed (the lanes past n stay 0). */
static void reserve(struct pgemm_b *b, int n, int k)
{
	size_t need = (size_t)((n + PANEL - 1) / PANEL) * (size_t)k * PANEL;

	if (need > b->cap) {
		tensor_free(b->buf);
		b->buf = tensor_alloc(need);
		b->cap = need;
	} else if (n % PANEL) {
		memset(b->buf, 0, need * sizeof(float));
	}
	b->n = n;
	b->k = k;
	b->p = b->buf;
	b->ldb = PANEL;
	b->step = (size_t)k * PANEL;
	pick_kernels(b);
}

void pgemm_pack_t(struct pgemm_b *b, const float *w, int n, int k)
{
	reserve(b, n, k);
	for (int j = 0; j < n; j++) {
		float *dst = b->buf + (size_t)(j / PANEL) * (size_t)k * PANEL + j % PANEL;
		const float *src = w + (size_t)j * (size_t)k;
		for (int i = 0; i < k; i++)
			dst[(size_t)i * PANEL] = src[i];
	}
}

void pgemm_pack(struct pgemm_b *b, const float *w, int k, int n, int ldw)
{
	reserve(b, n, k);
	for (int i = 0; i < k; i++) {
		const float *src = w + (size_t)i * (size_t)ldw;
		for (int j0 = 0; j0 < n; j0 += PANEL) {
			int cols = n - j0 < PANEL ? n - j0 : PANEL;
			memcpy(b->buf + ((size_t)(j0 / PANEL) * (size_t)k + (size_t)i) * PANEL,
			       src + j0, (size_t)cols * sizeof(float));
		}
	}
}

void pgemm_view(struct pgemm_b *b, const float *w, int k, int n, int ldw)
{
	if (n % PANEL) {
		pgemm_pack(b, w, k, n, ldw);
		return;
	}
	b->n = n;
	b->k = k;
	b->p = w;
	b->ldb = (size_t)ldw;
	b->step = PANEL;
	pick_kernels(b);
}

void pgemm_release(struct pgemm_b *b)
{
	tensor_free(b->buf);
	memset(b, 0, sizeof(*b));
}

void pgemm(const float *a, int m, int lda, const struct pgemm_b *b, float *c,
	   int ldc, int flags)
{
	tile_fn *tile = (tile_fn *)b->tile;
	row_fn *row = (row_fn *)b->row;
	int panels = (b->n + PANEL - 1) / PANEL, k = b->k, add = flags & PGEMM_ADD;
	int full = m - m % TILE_ROWS;
	size_t rs = flags & PGEMM_AT ? 1 : (size_t)lda, ks = flags & PGEMM_AT ? (size_t)lda : 1;
	float scratch[TILE_ROWS * PANEL];

	for (int i = 0; i < m; i += i < full ? TILE_ROWS : 1) {
		int rows = i < full ? TILE_ROWS : 1;
		const float *ta = a + (size_t)i * rs;
		for (int p = 0; p < panels; p++) {
			int cols = b->n - p * PANEL < PANEL ? b->n - p * PANEL : PANEL;
			float *tc = c + (size_t)i * (size_t)ldc + (size_t)p * PANEL, *out = tc;
			const float *tb = b->p + (size_t)p * b->step;
			int ld = ldc;
			if (cols < PANEL) {   /* a short panel: through the scratch tile */
				out = scratch;
				ld = PANEL;
				memset(scratch, 0, sizeof(scratch));
				for (int r = 0; add && r < rows; r++)
					memcpy(scratch + r * PANEL, tc + (size_t)r * ldc,
					       (size_t)cols * sizeof(float));
			}
			if (rows == 1)
				row(ta, ks, tb, b->ldb, k, out, add);
			else
				tile(ta, rs, ks, tb, b->ldb, k, out, ld, add);
			for (int r = 0; cols < PANEL && r < rows; r++)
				memcpy(tc + (size_t)r * ldc, scratch + r * PANEL,
				       (size_t)cols * sizeof(float));
		}
	}
}
