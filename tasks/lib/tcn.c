/* tcn: see tcn.h.
 *
 * Layout: every activation is [B][T][C] for the batch's current B, so a
 * row (b, t) of any buffer is one time step of one window, and a short
 * last batch is contiguous too.  Per block the workspace keeps what
 * backward reads: both convolutions' weights in im2col's tap-major order,
 * both im2col matrices, both ReLU outputs, the dropout
 * masks and dropped outputs (training with dropout only), the residual
 * (downsample only) and the block's output.
 *
 * Invariant: only the products and im2col/col2im couple rows; everything
 * else is elementwise over a block's [B*T][C] buffers.  In inference
 * (tcn_infer) the products are gemm_fixed_rows(), which couples nothing: a
 * window's rows there read only that window's rows. */
#include "tcn.h"
#include "blas.h"
#include "gemm_fixed.h"
#include "modelfile.h"
#include "safetensors.h"
#include "xalloc.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 'format' in the metadata of every model file this module writes */
#define TCN_FORMAT "dagrun.tcn.v1"
/* Bounds tcn_load() puts on a file's metadata, past anything train.tcn
 * writes (its limits: kernel_size 64, channels 4096): 65536 channels,
 * 4096 taps, 2^20 features, outputs or steps */
#define LOAD_MAX_CHANNELS 65536
#define LOAD_MAX_KERNEL 4096
#define LOAD_MAX_SIZE (1L << 20)

struct tcn {
	struct tcn_config cfg;
	struct tensor_set p;
	int first[TCN_MAX_LEVELS];   /* each block's first tensor */
	int head;                    /* head.weight's index */
};

/* One block's activations: [max_batch * T] rows each. */
struct block_buf {
	float *w1, *w2;              /* conv1's, conv2's weights, tap-major */
	float *col1, *a1, *m1, *h1;  /* h1: dropped a1 (a1 itself without dropout) */
	float *col2, *a2, *m2, *h2;
	float *res;                  /* downsample(x); NULL when c_in == c_out */
	float *y;
};

struct tcn_work {
	int max_batch, batch, dropped, levels;
	float *x;                    /* [B][T][input_size]: the block 0 input */
	struct block_buf *L;
	/* backward: gradients of a block's output and input, of a ReLU's
	 * input, of an im2col matrix, of conv2's input, and of a tap-major
	 * weight */
	float *g_a, *g_b, *d, *dcol, *dh, *gw;
};

/* --- the model */

static int block_in(const struct tcn *m, int i)
{
	return i == 0 ? m->cfg.input_size : m->cfg.channels[i - 1];
}

static int has_down(const struct tcn *m, int i)
{
	return block_in(m, i) != m->cfg.channels[i];
}

/* Block i's tensors: conv1 w, b, conv2 w, b, [downsample w, b]. */
static struct tensor *block_params(struct tcn *m, int i)
{
	return &m->p.t[m->first[i]];
}

static void declare_params(struct tcn *m)
{
	size_t k = (size_t)m->cfg.kernel_size, out = (size_t)m->cfg.output_size;
	char name[64];

	for (int i = 0; i < m->cfg.levels; i++) {
		size_t ci = (size_t)block_in(m, i), co = (size_t)m->cfg.channels[i];
		m->first[i] = m->p.n;
		snprintf(name, sizeof(name), "blocks.%d.conv1.weight", i);
		tensor_set_add(&m->p, name, 3, (size_t[]){co, ci, k});
		snprintf(name, sizeof(name), "blocks.%d.conv1.bias", i);
		tensor_set_add(&m->p, name, 1, &co);
		snprintf(name, sizeof(name), "blocks.%d.conv2.weight", i);
		tensor_set_add(&m->p, name, 3, (size_t[]){co, co, k});
		snprintf(name, sizeof(name), "blocks.%d.conv2.bias", i);
		tensor_set_add(&m->p, name, 1, &co);
		if (!has_down(m, i))
			continue;
		snprintf(name, sizeof(name), "blocks.%d.downsample.weight", i);
		tensor_set_add(&m->p, name, 3, (size_t[]){co, ci, 1});
		snprintf(name, sizeof(name), "blocks.%d.downsample.bias", i);
		tensor_set_add(&m->p, name, 1, &co);
	}
	m->head = m->p.n;
	tensor_set_add(&m->p, "head.weight", 2,
		       (size_t[]){out, (size_t)m->cfg.channels[m->cfg.levels - 1]});
	tensor_set_add(&m->p, "head.bias", 1, &out);
}

/* A model of 'cfg' whose tensors are declared but not allocated: what
 * tcn_load() checks a file against before allocating anything. */
static struct tcn *declared(const struct tcn_config *cfg)
{
	struct tcn *m = xcalloc(1, sizeof(*m));

	assert(cfg->input_size >= 1 && cfg->output_size >= 1 && cfg->seq_len >= 1 &&
	       cfg->kernel_size >= 1 && cfg->levels >= 1 &&
	       cfg->levels <= TCN_MAX_LEVELS && cfg->dropout >= 0 && cfg->dropout < 1);
	for (int i = 0; i < cfg->levels; i++)
		assert(cfg->channels[i] >= 1);
	m->cfg = *cfg;
	tensor_set_init(&m->p);
	declare_params(m);
	return m;
}

struct tcn *tcn_new(const struct tcn_config *cfg)
{
	struct tcn *m = declared(cfg);

	tensor_set_alloc(&m->p);
	return m;
}

void tcn_free(struct tcn *m)
{
	if (!m)
		return;
	tensor_set_release(&m->p);
	free(m);
}

const struct tcn_config *tcn_config(const struct tcn *m)
{
	return &m->cfg;
}

struct tensor_set *tcn_params(struct tcn *m)
{
	return &m->p;
}

/* A weight and the bias after it, uniform in +-1/sqrt(fan_in). */
static void init_pair(struct tensor *t, size_t fan_in, struct rng *r)
{
	float k = 1.0f / sqrtf((float)fan_in);

	rng_fill_uniform(r, t[0].v, t[0].count, -k, k);
	rng_fill_uniform(r, t[1].v, t[1].count, -k, k);
}

void tcn_init(struct tcn *m, struct rng *r)
{
	size_t k = (size_t)m->cfg.kernel_size;

	for (int i = 0; i < m->cfg.levels; i++) {
		struct tensor *t = block_params(m, i);
		size_t ci = (size_t)block_in(m, i), co = (size_t)m->cfg.channels[i];
		init_pair(&t[0], ci * k, r);
		init_pair(&t[2], co * k, r);
		if (has_down(m, i))
			init_pair(&t[4], ci, r);
	}
	init_pair(&m->p.t[m->head], (size_t)m->cfg.channels[m->cfg.levels - 1], r);
}

long tcn_receptive_field(const struct tcn_config *cfg)
{
	return 1 + 2L * (cfg->kernel_size - 1) * ((1L << cfg->levels) - 1);
}

/* --- workspace */

static int widest(const struct tcn *m)
{
	int c = 1;

	for (int i = 0; i < m->cfg.levels; i++)
		c = m->cfg.channels[i] > c ? m->cfg.channels[i] : c;
	return c;
}

struct tcn_work *tcn_work_new(const struct tcn *m, int max_batch)
{
	struct tcn_work *w = xcalloc(1, sizeof(*w));
	size_t BT = (size_t)max_batch * (size_t)m->cfg.seq_len;
	size_t k = (size_t)m->cfg.kernel_size, C = (size_t)widest(m);
	size_t in_max = C > (size_t)m->cfg.input_size ? C : (size_t)m->cfg.input_size;
	int dropout = m->cfg.dropout > 0;

	assert(max_batch >= 1);
	w->max_batch = max_batch;
	w->levels = m->cfg.levels;
	w->x = tensor_alloc(BT * (size_t)m->cfg.input_size);
	w->L = xcalloc((size_t)m->cfg.levels, sizeof(*w->L));
	for (int i = 0; i < m->cfg.levels; i++) {
		struct block_buf *b = &w->L[i];
		size_t ci = (size_t)block_in(m, i), co = (size_t)m->cfg.channels[i];
		b->w1 = tensor_alloc(co * ci * k);
		b->w2 = tensor_alloc(co * co * k);
		b->col1 = tensor_alloc(BT * ci * k);
		b->a1 = tensor_alloc(BT * co);
		b->m1 = dropout ? tensor_alloc(BT * co) : NULL;
		b->h1 = dropout ? tensor_alloc(BT * co) : NULL;
		b->col2 = tensor_alloc(BT * co * k);
		b->a2 = tensor_alloc(BT * co);
		b->m2 = dropout ? tensor_alloc(BT * co) : NULL;
		b->h2 = dropout ? tensor_alloc(BT * co) : NULL;
		b->res = has_down(m, i) ? tensor_alloc(BT * co) : NULL;
		b->y = tensor_alloc(BT * co);
	}
	w->g_a = tensor_alloc(BT * in_max);
	w->g_b = tensor_alloc(BT * in_max);
	w->d = tensor_alloc(BT * C);
	w->dcol = tensor_alloc(BT * in_max * k);
	w->dh = tensor_alloc(BT * C);
	w->gw = tensor_alloc(C * in_max * k);
	return w;
}

void tcn_work_free(struct tcn_work *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->levels; i++) {
		struct block_buf *b = &w->L[i];
		tensor_free(b->w1);
		tensor_free(b->w2);
		tensor_free(b->col1);
		tensor_free(b->a1);
		tensor_free(b->m1);
		tensor_free(b->h1);
		tensor_free(b->col2);
		tensor_free(b->a2);
		tensor_free(b->m2);
		tensor_free(b->h2);
		tensor_free(b->res);
		tensor_free(b->y);
	}
	free(w->L);
	tensor_free(w->x);
	tensor_free(w->g_a);
	tensor_free(w->g_b);
	tensor_free(w->d);
	tensor_free(w->dcol);
	tensor_free(w->dh);
	tensor_free(w->gw);
	free(w);
}

/* --- elementwise code, vectorised by the compiler (see TENSOR_FUSED_BEGIN
 * in tensor.h) */
TENSOR_FUSED_BEGIN

/* out[r][c] = relu(out[r][c] + bias[c]) over 'rows' rows. */
TENSOR_CLONES static void bias_relu(float *restrict out, const float *restrict bias,
				    size_t rows, int C)
{
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < C; c++) {
			float v = out[r * (size_t)C + c] + bias[c];
			out[r * (size_t)C + c] = v > 0 ? v : 0.0f;
		}
}

/* out[r][c] += bias[c] over 'rows' rows. */
TENSOR_CLONES static void add_bias(float *restrict out, const float *restrict bias,
				   size_t rows, int C)
{
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < C; c++)
			out[r * (size_t)C + c] += bias[c];
}

/* y = relu(a + b). */
TENSOR_CLONES static void add_relu(const float *restrict a, const float *restrict b,
				   float *restrict y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = a[i] + b[i];
		y[i] = v > 0 ? v : 0.0f;
	}
}

/* d = g * mask * (a > 0): through dropout (when 'mask') and a ReLU whose
 * output was 'a'.  'd' may be 'g'. */
TENSOR_CLONES static void relu_back(const float *g, const float *restrict mask,
				    const float *restrict a, float *d, size_t n)
{
	if (mask)
		for (size_t i = 0; i < n; i++)
			d[i] = a[i] > 0 ? g[i] * mask[i] : 0.0f;
	else
		for (size_t i = 0; i < n; i++)
			d[i] = a[i] > 0 ? g[i] : 0.0f;
}

/* out[c] = the sum of column c of a [rows, cols] matrix, row by row. */
TENSOR_CLONES static void col_sums(const float *restrict a, size_t rows, int cols,
				   float *restrict out)
{
	memset(out, 0, (size_t)cols * sizeof(float));
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			out[c] += a[r * (size_t)cols + c];
}

/* The adjoint of im2col below: dx[b][t - (k-1-j) d] += dcol[(b, t)][j],
 * rows of C, in (b, t, j) order. */
TENSOR_CLONES static void col2im_add(const float *restrict dcol, int B, int T, int C,
				     int k, int d, float *restrict dx)
{
	size_t K = (size_t)C * (size_t)k;

	for (int b = 0; b < B; b++) {
		for (int t = 0; t < T; t++) {
			const float *row = dcol + ((size_t)b * T + t) * K;
			for (int j = 0; j < k; j++) {
				int s = t - (k - 1 - j) * d;
				float *dst = dx + ((size_t)b * T + s) * (size_t)C;
				if (s < 0)
					continue;
				for (int c = 0; c < C; c++)
					dst[c] += row[(size_t)j * C + c];
			}
		}
	}
}

TENSOR_FUSED_END

/* --- forward
 *
 * im2col is tap-major: row (b, t) holds the k input steps a convolution
 * reads, oldest first, each a contiguous row of C channels (a memcpy).
 * PyTorch's weight [c_out][c_in][k] is channel-major, so each call
 * permutes it into [c_out][k][c_in] first (c_out * c_in * k floats: little
 * next to the product), and backward permutes the gradient back. */

/* 'w' [co][ci][k] into 'wp' [co][k][ci]. */
static void to_tap_major(const float *w, int co, int ci, int k, float *wp)
{
	for (int o = 0; o < co; o++)
		for (int c = 0; c < ci; c++)
			for (int j = 0; j < k; j++)
				wp[((size_t)o * k + j) * ci + c] = w[((size_t)o * ci + c) * k + j];
}

/* 'wp' [co][k][ci] back into 'w' [co][ci][k]. */
static void from_tap_major(const float *wp, int co, int ci, int k, float *w)
{
	for (int o = 0; o < co; o++)
		for (int c = 0; c < ci; c++)
			for (int j = 0; j < k; j++)
				w[((size_t)o * ci + c) * k + j] = wp[((size_t)o * k + j) * ci + c];
}

/* The causal im2col of x [B][T][C] for dilation 'd': row (b, t), columns
 * j * C .. j * C + C - 1 hold x[b][t - (k-1-j) d], zeros before the
 * window starts. */
static void im2col(const float *x, int B, int T, int C, int k, int d, float *col)
{
	size_t K = (size_t)C * (size_t)k, row = (size_t)C * sizeof(float);

	for (int b = 0; b < B; b++) {
		for (int t = 0; t < T; t++) {
			float *dst = col + ((size_t)b * T + t) * K;
			for (int j = 0; j < k; j++) {
				int s = t - (k - 1 - j) * d;
				if (s < 0)
					memset(dst + (size_t)j * C, 0, row);
				else
					memcpy(dst + (size_t)j * C, x + ((size_t)b * T + s) * C, row);
			}
		}
	}
}

/* Inverted dropout of 'n' values: kept ones scaled by 1/(1-p). */
static void dropout(float p, struct rng *r, const float *a, float *mask, float *h,
		    size_t n)
{
	float keep = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++) {
		mask[i] = rng_float(r) < p ? 0.0f : keep;
		h[i] = a[i] * mask[i];
	}
}

/* One causal convolution with tap-major weights 'wp': out [B*T][co] =
 * relu(im2col(x) wp^T + bias). */
static void conv_relu(const float *x, int B, int T, int ci, int co, int k, int d,
		      const float *wp, const float *bias, float *col, float *out)
{
	int K = ci * k;

	im2col(x, B, T, ci, k, d, col);
	blas_gemm(BLAS_N, BLAS_T, B * T, co, K, 1, col, K, wp, K, 0, out, co);
	bias_relu(out, bias, (size_t)B * T, co);
}

/* Block i from 'x'; its output in w->L[i].y. */
static void block_forward(struct tcn *m, struct tcn_work *w, int i,
			  const float *x, struct rng *drop)
{
	struct block_buf *b = &w->L[i];
	struct tensor *t = block_params(m, i);
	int B = w->batch, T = m->cfg.seq_len, k = m->cfg.kernel_size, d = 1 << i;
	int ci = block_in(m, i), co = m->cfg.channels[i];
	size_t n = (size_t)B * T * co;
	const float *h1 = b->a1, *h2 = b->a2, *res = x;

	to_tap_major(t[0].v, co, ci, k, b->w1);
	to_tap_major(t[2].v, co, co, k, b->w2);
	conv_relu(x, B, T, ci, co, k, d, b->w1, t[1].v, b->col1, b->a1);
	if (w->dropped) {
		dropout(m->cfg.dropout, drop, b->a1, b->m1, b->h1, n);
		h1 = b->h1;
	}
	conv_relu(h1, B, T, co, co, k, d, b->w2, t[3].v, b->col2, b->a2);
	if (w->dropped) {
		dropout(m->cfg.dropout, drop, b->a2, b->m2, b->h2, n);
		h2 = b->h2;
	}
	if (b->res) {
		blas_gemm(BLAS_N, BLAS_T, B * T, co, ci, 1, x, ci, t[4].v, ci, 0, b->res, co);
		add_bias(b->res, t[5].v, (size_t)B * T, co);
		res = b->res;
	}
	add_relu(h2, res, b->y, n);
}

void tcn_forward(struct tcn *m, struct tcn_work *w, const float *x, int batch,
		 struct rng *drop, float *y)
{
	int T = m->cfg.seq_len, L = m->cfg.levels, C = m->cfg.channels[L - 1];
	int out = m->cfg.output_size;
	const struct tensor *head = &m->p.t[m->head];
	const float *in = w->x;

	assert(batch >= 1 && batch <= w->max_batch);
	w->batch = batch;
	w->dropped = drop && m->cfg.dropout > 0;
	memcpy(w->x, x, (size_t)batch * T * (size_t)m->cfg.input_size * sizeof(float));
	for (int i = 0; i < L; i++) {
		block_forward(m, w, i, in, drop);
		in = w->L[i].y;
	}
	/* the last step of each window: rows T-1, 2T-1, ... */
	blas_gemm(BLAS_N, BLAS_T, batch, out, C, 1, in + (size_t)(T - 1) * C, T * C,
		  head[0].v, C, 0, y, out);
	add_bias(y, head[1].v, (size_t)batch, out);
}

void tcn_predict(struct tcn *m, struct tcn_work *w, const float *x, size_t n,
		 float *y)
{
	size_t row = (size_t)m->cfg.seq_len * (size_t)m->cfg.input_size;

	for (size_t i = 0; i < n; i += (size_t)w->max_batch) {
		size_t b = n - i < (size_t)w->max_batch ? n - i : (size_t)w->max_batch;
		tcn_forward(m, w, x + i * row, (int)b, NULL, y + i * (size_t)m->cfg.output_size);
	}
}

/* --- inference (tcn_infer)
 *
 * tcn_forward()'s network without what backward keeps, its products by
 * gemm_fixed_rows() on weights transposed once into [K][c_out] (K tap-major,
 * as im2col lays a row out).  Per block, the input (the windows, or the
 * block before's output) goes through conv1 into 'h', conv2 from 'h' back
 * into 'h' (im2col has copied it into 'col' by then), the residual into
 * 'res' when there is a downsample, and the sum into the other of 'a' and
 * 'b'. */

struct tcn_infer {
	int max_batch, levels;
	float *copy;                 /* the parameters the packed weights are of */
	float **w1, **w2, **wd;      /* per block: [ci*k][co], [co*k][co], [ci][co] */
	float *head;                 /* [c_last][output_size] */
	float *col, *a, *b, *h, *res;   /* [max_batch * T] rows of ci*k, or of C */
};

/* 'w' [co][ci][k] into 'wt' [k][ci][co]: the right side of gemm_fixed_rows()
 * for a row of im2col (k = 1: a 1x1 convolution's or a linear layer's
 * [co][ci] weight transposed). */
static void to_columns(const float *w, int co, int ci, int k, float *wt)
{
	for (int o = 0; o < co; o++)
		for (int c = 0; c < ci; c++)
			for (int j = 0; j < k; j++)
				wt[((size_t)j * ci + c) * co + o] = w[((size_t)o * ci + c) * k + j];
}

/* The weights of 'm' into the layouts of 's', and their copy. */
static void pack(const struct tcn *m, struct tcn_infer *s)
{
	int k = m->cfg.kernel_size, C = m->cfg.channels[m->cfg.levels - 1];

	for (int i = 0; i < m->cfg.levels; i++) {
		const struct tensor *t = &m->p.t[m->first[i]];
		int ci = block_in(m, i), co = m->cfg.channels[i];
		to_columns(t[0].v, co, ci, k, s->w1[i]);
		to_columns(t[2].v, co, co, k, s->w2[i]);
		if (s->wd[i])
			to_columns(t[4].v, co, ci, 1, s->wd[i]);
	}
	to_columns(m->p.t[m->head].v, m->cfg.output_size, C, 1, s->head);
	memcpy(s->copy, m->p.value, m->p.total * sizeof(float));
}

struct tcn_infer *tcn_infer_new(const struct tcn *m, int max_batch)
{
	struct tcn_infer *s = xcalloc(1, sizeof(*s));
	size_t BT = (size_t)max_batch * (size_t)m->cfg.seq_len, k = (size_t)m->cfg.kernel_size;
	size_t C = (size_t)widest(m), L = (size_t)m->cfg.levels;
	size_t in_max = C > (size_t)m->cfg.input_size ? C : (size_t)m->cfg.input_size;

	assert(max_batch >= 1);
	s->max_batch = max_batch;
	s->levels = m->cfg.levels;
	s->copy = tensor_alloc(m->p.total);
	s->w1 = xcalloc(L, sizeof(float *));
	s->w2 = xcalloc(L, sizeof(float *));
	s->wd = xcalloc(L, sizeof(float *));
	for (int i = 0; i < m->cfg.levels; i++) {
		size_t ci = (size_t)block_in(m, i), co = (size_t)m->cfg.channels[i];
		s->w1[i] = tensor_alloc(ci * k * co);
		s->w2[i] = tensor_alloc(co * k * co);
		s->wd[i] = has_down(m, i) ? tensor_alloc(ci * co) : NULL;
	}
	s->head = tensor_alloc((size_t)m->cfg.channels[L - 1] * (size_t)m->cfg.output_size);
	s->col = tensor_alloc(BT * in_max * k);
	s->a = tensor_alloc(BT * C);
	s->b = tensor_alloc(BT * C);
	s->h = tensor_alloc(BT * C);
	s->res = tensor_alloc(BT * C);
	pack(m, s);
	return s;
}

void tcn_infer_free(struct tcn_infer *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->levels; i++) {
		tensor_free(s->w1[i]);
		tensor_free(s->w2[i]);
		tensor_free(s->wd[i]);
	}
	free(s->w1);
	free(s->w2);
	free(s->wd);
	tensor_free(s->copy);
	tensor_free(s->head);
	tensor_free(s->col);
	tensor_free(s->a);
	tensor_free(s->b);
	tensor_free(s->h);
	tensor_free(s->res);
	free(s);
}

/* relu(im2col(x) wt + bias) of B windows into 'out' [B*T][co]; 'out' may
 * be 'x' (im2col has read it before the product writes). */
static void infer_conv(const float *x, int B, int T, int ci, int co, int k, int d,
		       const float *wt, const float *bias, float *col, float *out)
{
	size_t rows = (size_t)B * (size_t)T;

	im2col(x, B, T, ci, k, d, col);
	gemm_fixed_rows(col, rows, (size_t)ci * (size_t)k, ci * k, wt, co, out);
	bias_relu(out, bias, rows, co);
}

/* Block i of B windows from 'x' into 'y'. */
static void infer_block(const struct tcn *m, struct tcn_infer *s, int i, const float *x,
			int B, float *y)
{
	const struct tensor *t = &m->p.t[m->first[i]];
	int T = m->cfg.seq_len, k = m->cfg.kernel_size, d = 1 << i;
	int ci = block_in(m, i), co = m->cfg.channels[i];
	size_t rows = (size_t)B * (size_t)T;
	const float *res = x;

	infer_conv(x, B, T, ci, co, k, d, s->w1[i], t[1].v, s->col, s->h);
	infer_conv(s->h, B, T, co, co, k, d, s->w2[i], t[3].v, s->col, s->h);
	if (s->wd[i]) {
		gemm_fixed_rows(x, rows, (size_t)ci, ci, s->wd[i], co, s->res);
		add_bias(s->res, t[5].v, rows, co);
		res = s->res;
	}
	add_relu(s->h, res, y, rows * (size_t)co);
}

void tcn_infer(const struct tcn *m, struct tcn_infer *s, const float *x, size_t n,
	       float *y)
{
	int T = m->cfg.seq_len, L = m->cfg.levels, C = m->cfg.channels[L - 1];
	int out = m->cfg.output_size;
	size_t row = (size_t)T * (size_t)m->cfg.input_size;
	const float *head_bias = m->p.t[m->head + 1].v;

	if (memcmp(s->copy, m->p.value, m->p.total * sizeof(float)))
		pack(m, s);
	for (size_t i = 0; i < n; i += (size_t)s->max_batch) {
		int B = n - i < (size_t)s->max_batch ? (int)(n - i) : s->max_batch;
		const float *in = x + i * row;
		for (int l = 0; l < L; l++) {
			float *next = l % 2 ? s->b : s->a;
			infer_block(m, s, l, in, B, next);
			in = next;
		}
		/* the last step of each window: rows T-1, 2T-1, ... */
		gemm_fixed_rows(in + (size_t)(T - 1) * C, (size_t)B, (size_t)T * (size_t)C, C,
			     s->head, out, y + i * (size_t)out);
		add_bias(y + i * (size_t)out, head_bias, (size_t)B, out);
	}
}

/* --- backward */

/* The gradient of a convolution from 'dz' [B*T][co], the gradient of its
 * pre-activation: its weights (permuted back into 'gw') and bias, and
 * the gradient of its im2col matrix into w->dcol. */
static void conv_back(struct tcn_work *w, int BT, int ci, int co, int k,
		      const float *dz, const float *col, const float *wp, float *gw,
		      float *gb)
{
	int K = ci * k;

	blas_gemm(BLAS_T, BLAS_N, co, K, BT, 1, dz, co, col, K, 0, w->gw, K);
	from_tap_major(w->gw, co, ci, k, gw);
	col_sums(dz, (size_t)BT, co, gb);
	blas_gemm(BLAS_N, BLAS_N, BT, K, co, 1, dz, co, wp, K, 0, w->dcol, K);
}

/* Block i from the gradient of its output 'gy' (overwritten): its
 * parameters' gradients and, for i > 0, the gradient of its input 'gx'. */
static void block_backward(struct tcn *m, struct tcn_work *w, int i,
			   const float *x, float *gy, float *gx)
{
	struct block_buf *b = &w->L[i];
	struct tensor *t = block_params(m, i);
	int B = w->batch, T = m->cfg.seq_len, k = m->cfg.kernel_size, d = 1 << i;
	int ci = block_in(m, i), co = m->cfg.channels[i], BT = B * T;
	size_t n = (size_t)BT * co;

	relu_back(gy, NULL, b->y, gy, n);
	/* the residual */
	if (b->res) {
		blas_gemm(BLAS_T, BLAS_N, co, ci, BT, 1, gy, co, x, ci, 0, t[4].g, ci);
		col_sums(gy, (size_t)BT, co, t[5].g);
		if (i > 0)
			blas_gemm(BLAS_N, BLAS_N, BT, ci, co, 1, gy, co, t[4].v, ci, 0, gx, ci);
	} else if (i > 0) {
		memcpy(gx, gy, n * sizeof(float));
	}
	/* conv2, then conv1 */
	relu_back(gy, w->dropped ? b->m2 : NULL, b->a2, w->d, n);
	conv_back(w, BT, co, co, k, w->d, b->col2, b->w2, t[2].g, t[3].g);
	memset(w->dh, 0, n * sizeof(float));
	col2im_add(w->dcol, B, T, co, k, d, w->dh);
	relu_back(w->dh, w->dropped ? b->m1 : NULL, b->a1, w->d, n);
	conv_back(w, BT, ci, co, k, w->d, b->col1, b->w1, t[0].g, t[1].g);
	if (i > 0)
		col2im_add(w->dcol, B, T, ci, k, d, gx);
}

void tcn_backward(struct tcn *m, struct tcn_work *w, const float *dy)
{
	int B = w->batch, T = m->cfg.seq_len, L = m->cfg.levels, C = m->cfg.channels[L - 1];
	int out = m->cfg.output_size;
	struct tensor *head = &m->p.t[m->head];
	const float *last = w->L[L - 1].y + (size_t)(T - 1) * C;
	float *gy = w->g_a, *gx = w->g_b, *swap;

	blas_gemm(BLAS_T, BLAS_N, out, C, B, 1, dy, out, last, T * C, 0, head[0].g, C);
	col_sums(dy, (size_t)B, out, head[1].g);
	memset(gy, 0, (size_t)B * T * C * sizeof(float));
	blas_gemm(BLAS_N, BLAS_N, B, C, out, 1, dy, out, head[0].v, C, 0,
		  gy + (size_t)(T - 1) * C, T * C);
	for (int i = L - 1; i >= 0; i--) {
		block_backward(m, w, i, i > 0 ? w->L[i - 1].y : w->x, gy, gx);
		swap = gy;
		gy = gx;
		gx = swap;
	}
}

/* --- files */

int tcn_save(const struct tcn *m, const char *path, json_t *meta, struct err *err)
{
	struct safetensors_writer sw;
	char *text = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS |
				       JSON_ENCODE_ANY) : NULL;
	json_t *ch = json_array();
	char *channels;
	int rc;

	for (int i = 0; i < m->cfg.levels; i++)
		json_array_append_new(ch, json_integer(m->cfg.channels[i]));
	channels = json_dumps(ch, JSON_COMPACT);
	safetensors_writer_init(&sw);
	for (int i = 0; i < m->p.n; i++)
		safetensors_add(&sw, m->p.t[i].name, "F32", m->p.t[i].ndim,
				m->p.t[i].shape, m->p.t[i].v);
	safetensors_set_meta(&sw, "format", TCN_FORMAT);
	modelfile_set_meta_long(&sw, "input_size", m->cfg.input_size);
	modelfile_set_meta_long(&sw, "output_size", m->cfg.output_size);
	modelfile_set_meta_long(&sw, "input_seq_len", m->cfg.seq_len);
	modelfile_set_meta_long(&sw, "kernel_size", m->cfg.kernel_size);
	modelfile_set_meta_long(&sw, "receptive_field", tcn_receptive_field(&m->cfg));
	safetensors_set_meta(&sw, "channels", channels);
	modelfile_set_meta_float(&sw, "dropout", m->cfg.dropout);
	safetensors_set_meta(&sw, "meta", text ? text : "null");
	rc = safetensors_write(&sw, path, err);
	safetensors_writer_release(&sw);
	json_decref(ch);
	free(channels);
	free(text);
	return rc;
}

/* cfg->levels and cfg->channels from metadata 'channels', "[32,32]". */
static int meta_channels(const struct safetensors *st, const char *path,
			 struct tcn_config *cfg, struct err *err)
{
	const char *s = safetensors_meta(st, "channels");
	json_t *a = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL, *v;
	size_t i, n = json_array_size(a);
	int ok = json_is_array(a) && n >= 1 && n <= TCN_MAX_LEVELS;

	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > LOAD_MAX_CHANNELS)
			ok = 0;
		else if (ok)
			cfg->channels[i] = (int)json_integer_value(v);
	}
	json_decref(a);
	if (ok) {
		cfg->levels = (int)n;
		return 0;
	}
	err_set(err, ERR_USER, "%s: metadata 'channels' is %s%s%s (expected a list of 1 "
		"to %d integers from 1 to %d)", path, s ? "'" : "missing", s ? s : "",
		s ? "'" : "", TCN_MAX_LEVELS, LOAD_MAX_CHANNELS);
	return -1;
}

/* The architecture from the metadata of a "dagrun.tcn.v1" file. */
static int read_config(const struct safetensors *st, const char *path,
		       struct tcn_config *cfg, struct err *err)
{
	long in, out, len, k, rf;

	memset(cfg, 0, sizeof(*cfg));
	if (modelfile_meta_format(st, path, TCN_FORMAT, err))
		return -1;
	if (modelfile_meta_long(st, path, "input_size", 1, LOAD_MAX_SIZE, &in, err) ||
	    modelfile_meta_long(st, path, "output_size", 1, LOAD_MAX_SIZE, &out, err) ||
	    modelfile_meta_long(st, path, "input_seq_len", 1, LOAD_MAX_SIZE, &len, err) ||
	    modelfile_meta_long(st, path, "kernel_size", 1, LOAD_MAX_KERNEL, &k, err) ||
	    meta_channels(st, path, cfg, err) ||
	    modelfile_meta_fraction(st, path, "dropout", MODELFILE_BELOW_ONE,
				    &cfg->dropout, err))
		return -1;
	cfg->input_size = (int)in;
	cfg->output_size = (int)out;
	cfg->seq_len = (int)len;
	cfg->kernel_size = (int)k;
	if (modelfile_meta_long(st, path, "receptive_field", 1, LONG_MAX, &rf, err))
		return -1;
	if (rf == tcn_receptive_field(cfg))
		return 0;
	err_set(err, ERR_USER, "%s: metadata 'receptive_field' is %ld, but kernel_size "
		"%d over %d blocks sees %ld steps", path, rf, cfg->kernel_size,
		cfg->levels, tcn_receptive_field(cfg));
	return -1;
}

struct tcn *tcn_load(const char *path, json_t **meta, struct err *err)
{
	struct safetensors *st = safetensors_read(path, err);
	struct tcn_config cfg;
	struct tcn *m = NULL;
	char arch[64];   /* 64: "<levels>-block TCN" with room to spare */

	if (!st || read_config(st, path, &cfg, err))
		goto out;
	m = declared(&cfg);
	snprintf(arch, sizeof(arch), "%d-block TCN", cfg.levels);
	if (modelfile_load_tensors(&m->p, st, path, arch, meta, err)) {
		tcn_free(m);
		m = NULL;
	}
out:
	safetensors_free(st);
	return m;
}
