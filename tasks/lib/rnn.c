/* rnn: see rnn.h.
 *
 * A workspace is cut into slices, one per thread, each a contiguous range
 * of the batch's rows with buffers of its own; a slice runs the whole
 * forward and backward pass of its rows alone, and only the gradients are
 * combined, after all slices are done.
 *
 * Layout inside a slice: time-major, so that every time step's rows are
 * one contiguous [batch, width] matrix for sgemm.  For layer l:
 *   gate [T][B][G*H]  the input projections, turned in place into the
 *                     activated gates by the cell's forward step;
 *   aux  [T][B][H]    what the cell keeps for backward besides the gates;
 *   h    [T+1][B][H]  hidden states, h[0] = 0 (the initial state, cleared
 *                     by each forward: B changes from batch to batch);
 *   c    [T+1][B][H]  cell states (LSTM), c[0] = 0 likewise;
 *   mask, drop [T][B][H]  the dropout mask of the layer's output and the
 *                     masked output (the next layer's input), training only.
 * The batch stride is the slice's current batch, not its maximum, so a
 * short last batch is contiguous too.
 *
 * Invariant: a cell touches only its own step's rows; everything that
 * couples rows or steps is a matrix product (pgemm.h's; OpenBLAS's for the
 * head and the first layer's few-feature weight gradient) called from this
 * file. */
#include "rnn.h"
#include "blas.h"
#include "pgemm.h"
#include "safetensors.h"
#include "xalloc.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one cell step reads and writes; every pointer covers 'batch' rows. */
struct step {
	int batch, hidden;
	const float *b_ih, *b_hh;    /* [G*H] */
	float *gate;                 /* [B][G*H]: x W_ih^T in, gates out */
	const float *gh;             /* [B][G*H]: h_prev W_hh^T (no bias) */
	float *aux;                  /* [B][H] */
	const float *h_prev, *c_prev;
	float *h, *c;
	/* backward */
	const float *dh_out;         /* dL/dh_t from above (layer or head) */
	const float *dh_next;        /* dL/dh_t carried back from step t+1 */
	float *dh_prev;              /* out: the elementwise part of dL/dh_{t-1} */
	float *dc;                   /* LSTM: dL/dc_t in, dL/dc_{t-1} out */
	float *d_ih, *d_hh;          /* out: dL/d(x W_ih^T), dL/d(h W_hh^T) */
};

struct cell {
	const char *name;
	int gates;          /* G: blocks of H in a weight row */
	int split_hh;       /* d_hh differs from d_ih (GRU's n gate) */
	void (*forward)(const struct step *s);
	void (*backward)(const struct step *s);
	void (*infer)(const struct step *s);   /* forward keeping only h, c */
};

struct rnn {
	struct rnn_config cfg;
	const struct cell *cell;
	struct tensor_set p;
	struct rnn_residual res;     /* res.index < 0: the skip is off */
};

struct layer_buf {
	float *gate, *aux, *h, *c, *mask, *drop;
};


/* --- the cells: fused elementwise code, vectorised by the compiler
 * (see TENSOR_FUSED_BEGIN in tensor.h). */
TENSOR_FUSED_BEGIN

TENSOR_CLONES static void gru_forward_row(int H, const float *restrict bi, const float *restrict bh,
			    float *restrict g, const float *restrict q, float *restrict aux,
			    const float *restrict hp, float *restrict h)
{
	for (int j = 0; j < H; j++) {
		float r = tensor_sigmoid((g[j] + bi[j]) + (q[j] + bh[j]));
		float z = tensor_sigmoid((g[H + j] + bi[H + j]) + (q[H + j] + bh[H + j]));
		float hn = q[2 * H + j] + bh[2 * H + j];
		float n = tensor_tanh((g[2 * H + j] + bi[2 * H + j]) + r * hn);
		h[j] = (hp[j] - n) * z + n;
		g[j] = r;
		g[H + j] = z;
		g[2 * H + j] = n;
		aux[j] = hn;
	}
}

static void gru_forward(const struct step *s)
{
	int H = s->hidden, GH = 3 * H;

	for (int b = 0; b < s->batch; b++)
		gru_forward_row(H, s->b_ih, s->b_hh, s->gate + (size_t)b * GH,
				s->gh + (size_t)b * GH, s->aux + (size_t)b * H,
				s->h_prev + (size_t)b * H, s->h + (size_t)b * H);
}

TENSOR_CLONES static void gru_backward_row(int H, const float *restrict g, const float *restrict hn,
			     const float *restrict hp, const float *restrict dho,
			     const float *restrict dhn, float *restrict dhp,
			     float *restrict di, float *restrict dq)
{
	for (int j = 0; j < H; j++) {
		float r = g[j], z = g[H + j], n = g[2 * H + j];
		float dh = dho[j] + dhn[j];
		float dn = dh * (1.0f - z) * (1.0f - n * n);
		float dr = dn * hn[j] * r * (1.0f - r);
		float dz = dh * (hp[j] - n) * z * (1.0f - z);
		dhp[j] = dh * z;
		di[j] = dr;
		di[H + j] = dz;
		di[2 * H + j] = dn;
		dq[j] = dr;
		dq[H + j] = dz;
		dq[2 * H + j] = dn * r;
	}
}

static void gru_backward(const struct step *s)
{
	int H = s->hidden, GH = 3 * H;

	for (int b = 0; b < s->batch; b++) {
		size_t o = (size_t)b * H, og = (size_t)b * GH;
		gru_backward_row(H, s->gate + og, s->aux + o, s->h_prev + o,
				 s->dh_out + o, s->dh_next + o, s->dh_prev + o,
				 s->d_ih + og, s->d_hh + og);
	}
}

TENSOR_CLONES static void lstm_forward_row(int H, const float *restrict bi, const float *restrict bh,
			     float *restrict g, const float *restrict q, float *restrict tc,
			     const float *restrict cp, float *restrict c, float *restrict h)
{
	for (int j = 0; j < H; j++) {
		float i = tensor_sigmoid((g[j] + bi[j]) + (q[j] + bh[j]));
		float f = tensor_sigmoid((g[H + j] + bi[H + j]) + (q[H + j] + bh[H + j]));
		float gg = tensor_tanh((g[2 * H + j] + bi[2 * H + j]) +
				       (q[2 * H + j] + bh[2 * H + j]));
		float o = tensor_sigmoid((g[3 * H + j] + bi[3 * H + j]) +
					 (q[3 * H + j] + bh[3 * H + j]));
		float cn = f * cp[j] + i * gg, t = tensor_tanh(cn);
		c[j] = cn;
		tc[j] = t;
		h[j] = o * t;
		g[j] = i;
		g[H + j] = f;
		g[2 * H + j] = gg;
		g[3 * H + j] = o;
	}
}

static void lstm_forward(const struct step *s)
{
	int H = s->hidden, GH = 4 * H;

	for (int b = 0; b < s->batch; b++) {
		size_t o = (size_t)b * H;
		lstm_forward_row(H, s->b_ih, s->b_hh, s->gate + (size_t)b * GH,
				 s->gh + (size_t)b * GH, s->aux + o, s->c_prev + o,
				 s->c + o, s->h + o);
	}
}

TENSOR_CLONES static void lstm_backward_row(int H, const float *restrict g, const float *restrict tc,
			      const float *restrict cp, const float *restrict dho,
			      const float *restrict dhn, float *restrict dhp,
			      float *restrict dc, float *restrict d)
{
	for (int j = 0; j < H; j++) {
		float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
		float dh = dho[j] + dhn[j], t = tc[j];
		float dcn = dc[j] + dh * o * (1.0f - t * t);
		d[j] = dcn * gg * i * (1.0f - i);
		d[H + j] = dcn * cp[j] * f * (1.0f - f);
		d[2 * H + j] = dcn * i * (1.0f - gg * gg);
		d[3 * H + j] = dh * t * o * (1.0f - o);
		dc[j] = dcn * f;
		dhp[j] = 0;
	}
}

static void lstm_backward(const struct step *s)
{
	int H = s->hidden, GH = 4 * H;

	for (int b = 0; b < s->batch; b++) {
		size_t o = (size_t)b * H;
		lstm_backward_row(H, s->gate + (size_t)b * GH, s->aux + o, s->c_prev + o,
				  s->dh_out + o, s->dh_next + o, s->dh_prev + o,
				  s->dc + o, s->d_ih + (size_t)b * GH);
	}
}

/* The inference steps: the forward rows' arithmetic, keeping nothing for
 * backward (the gates and 'aux' are not written back: a quarter of the
 * cell's time). */
TENSOR_CLONES static void gru_infer_row(int H, const float *restrict bi, const float *restrict bh,
			  const float *restrict g, const float *restrict q,
			  const float *restrict hp, float *restrict h)
{
	for (int j = 0; j < H; j++) {
		float r = tensor_sigmoid((g[j] + bi[j]) + (q[j] + bh[j]));
		float z = tensor_sigmoid((g[H + j] + bi[H + j]) + (q[H + j] + bh[H + j]));
		float hn = q[2 * H + j] + bh[2 * H + j];
		float n = tensor_tanh((g[2 * H + j] + bi[2 * H + j]) + r * hn);
		h[j] = (hp[j] - n) * z + n;
	}
}

static void gru_infer(const struct step *s)
{
	int H = s->hidden, GH = 3 * H;

	for (int b = 0; b < s->batch; b++)
		gru_infer_row(H, s->b_ih, s->b_hh, s->gate + (size_t)b * GH,
			      s->gh + (size_t)b * GH, s->h_prev + (size_t)b * H,
			      s->h + (size_t)b * H);
}

TENSOR_CLONES static void lstm_infer_row(int H, const float *restrict bi, const float *restrict bh,
			   const float *restrict g, const float *restrict q,
			   const float *restrict cp, float *restrict c, float *restrict h)
{
	for (int j = 0; j < H; j++) {
		float i = tensor_sigmoid((g[j] + bi[j]) + (q[j] + bh[j]));
		float f = tensor_sigmoid((g[H + j] + bi[H + j]) + (q[H + j] + bh[H + j]));
		float gg = tensor_tanh((g[2 * H + j] + bi[2 * H + j]) +
				       (q[2 * H + j] + bh[2 * H + j]));
		float o = tensor_sigmoid((g[3 * H + j] + bi[3 * H + j]) +
					 (q[3 * H + j] + bh[3 * H + j]));
		float cn = f * cp[j] + i * gg;
		c[j] = cn;
		h[j] = o * tensor_tanh(cn);
	}
}

static void lstm_infer(const struct step *s)
{
	int H = s->hidden, GH = 4 * H;

	for (int b = 0; b < s->batch; b++) {
		size_t o = (size_t)b * H;
		lstm_infer_row(H, s->b_ih, s->b_hh, s->gate + (size_t)b * GH,
			       s->gh + (size_t)b * GH, s->c_prev + o, s->c + o, s->h + o);
	}
}

/* Column sums of a [rows, cols] matrix into 'out', row by row. */
TENSOR_CLONES static void col_sums(const float *restrict a, size_t rows, int cols,
		     float *restrict out)
{
	memset(out, 0, (size_t)cols * sizeof(float));
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			out[c] += a[r * (size_t)cols + c];
}

static void mul_into(float *restrict a, const float *restrict b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] *= b[i];
}

static void add_into(float *restrict a, const float *restrict b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] += b[i];
}

TENSOR_FUSED_END

static const struct cell cells[] = {
	[RNN_GRU] = {"gru", 3, 1, gru_forward, gru_backward, gru_infer},
	[RNN_LSTM] = {"lstm", 4, 0, lstm_forward, lstm_backward, lstm_infer},
};

const char *rnn_cell_name(enum rnn_cell_kind k)
{
	return cells[k].name;
}

int rnn_cell_parse(const char *name, enum rnn_cell_kind *out)
{
	for (int k = 0; k < (int)(sizeof(cells) / sizeof(cells[0])); k++) {
		if (name && !strcmp(name, cells[k].name)) {
			*out = (enum rnn_cell_kind)k;
			return 0;
		}
	}
	return -1;
}

/* --- the model */

/* The tensors of layer 'l': weight_ih, weight_hh, bias_ih, bias_hh. */
static struct tensor *layer_params(struct rnn *m, int l)
{
	return &m->p.t[4 * l];
}

static struct tensor *head_params(struct rnn *m)
{
	return &m->p.t[4 * m->cfg.num_layers];
}

static int layer_in(const struct rnn *m, int l)
{
	return l == 0 ? m->cfg.input_size : m->cfg.hidden_size;
}

static void declare_params(struct rnn *m)
{
	size_t GH = (size_t)m->cell->gates * (size_t)m->cfg.hidden_size;
	size_t H = (size_t)m->cfg.hidden_size, out = (size_t)m->cfg.output_size;
	char name[64];

	for (int l = 0; l < m->cfg.num_layers; l++) {
		size_t w_ih[2] = {GH, (size_t)layer_in(m, l)}, w_hh[2] = {GH, H};
		snprintf(name, sizeof(name), "rnn.weight_ih_l%d", l);
		tensor_set_add(&m->p, name, 2, w_ih);
		snprintf(name, sizeof(name), "rnn.weight_hh_l%d", l);
		tensor_set_add(&m->p, name, 2, w_hh);
		snprintf(name, sizeof(name), "rnn.bias_ih_l%d", l);
		tensor_set_add(&m->p, name, 1, &GH);
		snprintf(name, sizeof(name), "rnn.bias_hh_l%d", l);
		tensor_set_add(&m->p, name, 1, &GH);
	}
	tensor_set_add(&m->p, "head.weight", 2, (size_t[]){out, H});
	tensor_set_add(&m->p, "head.bias", 1, &out);
}

struct rnn *rnn_new(const struct rnn_config *cfg)
{
	struct rnn *m = xcalloc(1, sizeof(*m));

	assert(cfg->num_layers >= 1 && cfg->hidden_size >= 1 &&
	       cfg->input_size >= 1 && cfg->output_size >= 1 && cfg->seq_len >= 1);
	m->cfg = *cfg;
	m->cell = &cells[cfg->cell];
	m->res.index = -1;
	tensor_set_init(&m->p);
	declare_params(m);
	tensor_set_alloc(&m->p);
	return m;
}

void rnn_free(struct rnn *m)
{
	if (!m)
		return;
	tensor_set_release(&m->p);
	free(m);
}

const struct rnn_config *rnn_config(const struct rnn *m)
{
	return &m->cfg;
}

struct tensor_set *rnn_params(struct rnn *m)
{
	return &m->p;
}

void rnn_set_residual(struct rnn *m, const struct rnn_residual *r)
{
	assert(!r || (r->index >= 0 && r->index < m->cfg.input_size));
	if (r)
		m->res = *r;
	else
		m->res.index = -1;
}

const struct rnn_residual *rnn_residual(const struct rnn *m)
{
	return m->res.index >= 0 ? &m->res : NULL;
}

/* The skip of 'batch' windows 'x' (batch-first) added to their outputs
 * 'y': the last step's feature res.index, in the outputs' units. */
static void add_residual(const struct rnn *m, const float *x, int batch, float *y)
{
	size_t row = (size_t)m->cfg.seq_len * (size_t)m->cfg.input_size;
	size_t last = row - (size_t)m->cfg.input_size + (size_t)m->res.index;
	int out = m->cfg.output_size;

	if (m->res.index < 0)
		return;
	for (int b = 0; b < batch; b++) {
		float skip = m->res.scale * x[(size_t)b * row + last] + m->res.shift;
		for (int k = 0; k < out; k++)
			y[(size_t)b * out + k] += skip;
	}
}

void rnn_init(struct rnn *m, struct rng *r)
{
	float k = 1.0f / sqrtf((float)m->cfg.hidden_size);

	for (int i = 0; i < m->p.n; i++)
		rng_fill_uniform(r, m->p.t[i].v, m->p.t[i].count, -k, k);
}

/* --- workspace: one slice of the batch per thread */

/* Rows [row0, row0 + batch) of a batch, run by one thread; buffers hold
 * up to 'max_batch' rows. */
struct slice {
	int max_batch, batch, row0, seq_len, hidden, layers, dropped;
	float *x;                    /* [T][B][input_size] */
	struct layer_buf *L;
	float *gh;                   /* [B][G*H] */
	float *d_ih, *d_hh;          /* [T][B][G*H]; d_hh unused for LSTM */
	float *dH;                   /* [T][B][H]: dL/d(layer output) */
	float *dh_a, *dh_b, *dc;     /* [B][H] */
	float *own_grad;             /* slices after the first: their gradients */
	float *grad;                 /* where this call's gradients go */
	const struct pgemm_b *pk;    /* the work's packed weights (PACK_*) */
	struct pgemm_b xp;           /* a weight gradient's right side */
	struct rng rng;              /* dropout masks of this call */
	const float *in;             /* this call's x rows, dy rows */
	float *out;                  /* this call's y rows */
	const struct infer *inf;     /* rnn_predict: the packed weights */
	size_t todo;                 /* rnn_predict: rows of this slice */
};

struct rnn_work {
	int n;                       /* slices: see slice_count() */
	int threads;                 /* that run them */
	struct slice *s;
	int predict_only;            /* rnn_work_new_predict(): no training buffers */
	/* rnn_predict: the packed weights of the model of config 'inf_cfg'
	 * whose parameters were 'inf_from' (NULL: none yet) */
	struct infer *inf;
	struct rnn_config inf_cfg;
	float *inf_from;
	/* training: per layer the packed weights of its products, PACK_N
	 * of them, packed by rnn_forward() and rnn_backward() for every
	 * slice (the weights change between batches) */
	struct pgemm_b *pk;
	int n_pk;
};

/* The packed weights of layer l: pk[l * PACK_N + PACK_*]. */
enum {
	PACK_IH_T,   /* W_ih as B^T: the input projection x W_ih^T */
	PACK_HH_T,   /* W_hh as B^T: the recurrent product h W_hh^T */
	PACK_IH,     /* W_ih as B: dL/dx = d W_ih */
	PACK_HH,     /* W_hh as B: dL/dh = d W_hh */
	PACK_N
};

static void infer_forget(struct rnn_work *w);

/* What every slice has: its sizes, its time-major input, its (empty)
 * table of layer buffers. */
static void slice_frame(const struct rnn *m, struct slice *sl, int max_batch)
{
	sl->max_batch = max_batch;
	sl->seq_len = m->cfg.seq_len;
	sl->hidden = m->cfg.hidden_size;
	sl->layers = m->cfg.num_layers;
	sl->x = tensor_alloc((size_t)sl->seq_len * (size_t)max_batch *
			     (size_t)m->cfg.input_size);
	sl->L = xcalloc((size_t)sl->layers, sizeof(*sl->L));
}

static void slice_alloc(const struct rnn *m, struct slice *sl, int max_batch)
{
	size_t B = (size_t)max_batch, T = (size_t)m->cfg.seq_len;
	size_t H = (size_t)m->cfg.hidden_size, GH = (size_t)m->cell->gates * H;

	slice_frame(m, sl, max_batch);
	for (int l = 0; l < sl->layers; l++) {
		struct layer_buf *lb = &sl->L[l];
		lb->gate = tensor_alloc(T * B * GH);
		lb->aux = tensor_alloc(T * B * H);
		lb->h = tensor_alloc((T + 1) * B * H);
		lb->c = m->cfg.cell == RNN_LSTM ? tensor_alloc((T + 1) * B * H) : NULL;
		lb->mask = l + 1 < sl->layers ? tensor_alloc(T * B * H) : NULL;
		lb->drop = lb->mask ? tensor_alloc(T * B * H) : NULL;
	}
	sl->gh = tensor_alloc(B * GH);
	sl->d_ih = tensor_alloc(T * B * GH);
	sl->d_hh = m->cell->split_hh ? tensor_alloc(T * B * GH) : NULL;
	sl->dH = tensor_alloc(T * B * H);
	sl->dh_a = tensor_alloc(B * H);
	sl->dh_b = tensor_alloc(B * H);
	sl->dc = tensor_alloc(B * H);
}

static void slice_release(struct slice *sl)
{
	for (int l = 0; l < sl->layers; l++) {
		tensor_free(sl->L[l].gate);
		tensor_free(sl->L[l].aux);
		tensor_free(sl->L[l].h);
		tensor_free(sl->L[l].c);
		tensor_free(sl->L[l].mask);
		tensor_free(sl->L[l].drop);
	}
	free(sl->L);
	tensor_free(sl->x);
	tensor_free(sl->gh);
	tensor_free(sl->d_ih);
	tensor_free(sl->d_hh);
	tensor_free(sl->dH);
	tensor_free(sl->dh_a);
	tensor_free(sl->dh_b);
	tensor_free(sl->dc);
	tensor_free(sl->own_grad);
	pgemm_release(&sl->xp);
}

/* 2: slices per thread when there are several threads: enough that a
 * thread the machine's load holds back leaves its share to the others
 * (see run_slices), few enough that a slice's products stay large */
#define SLICES_PER_THREAD 2

/* The slices of a batch for 'threads' threads: one for one thread, else
 * SLICES_PER_THREAD per thread, never more than the rows.  A function of
 * the thread count only, so results are too. */
static int slice_count(int max_batch, int threads)
{
	int n = threads > 1 ? threads * SLICES_PER_THREAD : 1;

	return n < max_batch ? n : max_batch;
}

/* A workspace of slice_count() slices, each made by 'alloc'. */
static struct rnn_work *work_new(const struct rnn *m, int max_batch, int threads,
				 void (*alloc)(const struct rnn *, struct slice *, int))
{
	struct rnn_work *w = xcalloc(1, sizeof(*w));

	assert(max_batch >= 1 && threads >= 1);
	w->threads = threads;
	w->n = slice_count(max_batch, threads);
	w->s = xcalloc((size_t)w->n, sizeof(*w->s));
	for (int k = 0; k < w->n; k++)
		alloc(m, &w->s[k], (max_batch + w->n - 1) / w->n);
	return w;
}

struct rnn_work *rnn_work_new(const struct rnn *m, int max_batch, int threads)
{
	struct rnn_work *w = work_new(m, max_batch, threads, slice_alloc);

	for (int k = 1; k < w->n; k++)
		w->s[k].own_grad = tensor_alloc(m->p.total);
	w->pk = xcalloc((size_t)m->cfg.num_layers * PACK_N, sizeof(*w->pk));
	w->n_pk = m->cfg.num_layers * PACK_N;
	for (int k = 0; k < w->n; k++)
		w->s[k].pk = w->pk;
	return w;
}

/* The buffers rnn_predict() uses and no more: the input in time-major
 * order, and per layer two steps of h and c (the step before, this step);
 * one step of gates and of recurrent products, shared by the layers. */
static void slice_alloc_predict(const struct rnn *m, struct slice *sl, int max_batch)
{
	size_t B = (size_t)max_batch;
	size_t H = (size_t)m->cfg.hidden_size, GH = (size_t)m->cell->gates * H;

	slice_frame(m, sl, max_batch);
	for (int l = 0; l < sl->layers; l++) {
		sl->L[l].h = tensor_alloc(2 * B * H);
		sl->L[l].c = m->cfg.cell == RNN_LSTM ? tensor_alloc(2 * B * H) : NULL;
	}
	sl->L[0].gate = tensor_alloc(B * GH);
	sl->gh = tensor_alloc(B * GH);
}

struct rnn_work *rnn_work_new_predict(const struct rnn *m, int max_batch, int threads)
{
	struct rnn_work *w = work_new(m, max_batch, threads, slice_alloc_predict);

	w->predict_only = 1;
	return w;
}

void rnn_work_free(struct rnn_work *w)
{
	if (!w)
		return;
	for (int k = 0; k < w->n; k++)
		slice_release(&w->s[k]);
	infer_forget(w);
	for (int k = 0; k < w->n_pk; k++)
		pgemm_release(&w->pk[k]);
	free(w->pk);
	free(w->s);
	free(w);
}

/* Deal 'batch' rows to the slices: the first 'batch % n' get one more. */
static void split_rows(struct rnn_work *w, int batch)
{
	int base = batch / w->n, extra = batch % w->n, row = 0;

	for (int k = 0; k < w->n; k++) {
		w->s[k].batch = base + (k < extra);
		w->s[k].row0 = row;
		row += w->s[k].batch;
	}
}

/* One run_slices() call: its threads take the slices one at a time, in
 * order, from 'next'. */
struct crew {
	struct rnn *m;
	struct rnn_work *w;
	void (*fn)(struct rnn *m, struct slice *sl);
	atomic_int next;
};

/* Take slices until none is left. */
static void crew_work(struct crew *c)
{
	for (;;) {
		int k = atomic_fetch_add(&c->next, 1);
		if (k >= c->w->n)
			return;
		if (c->w->s[k].batch > 0)
			c->fn(c->m, &c->w->s[k]);
	}
}

static void *crew_main(void *arg)
{
	crew_work(arg);
	return NULL;
}

/* Run 'fn' on every slice that has rows, on this thread and w->threads - 1
 * more, each taking the next slice not yet taken.  Which thread runs a
 * slice changes no result (a slice's buffers, gradients and dropout
 * generator are its own); so a thread that the machine's load keeps from
 * starting or holds back costs only the slice it holds, never a fixed
 * share of the batch, and a thread that cannot be made costs only time. */
static void run_slices(struct rnn *m, struct rnn_work *w,
		       void (*fn)(struct rnn *m, struct slice *sl))
{
	int helpers = w->threads - 1 < w->n - 1 ? w->threads - 1 : w->n - 1;
	pthread_t *tid = xcalloc((size_t)(helpers > 0 ? helpers : 1), sizeof(*tid));
	char *started = xcalloc((size_t)(helpers > 0 ? helpers : 1), 1);
	struct crew c = {m, w, fn, 0};

	atomic_init(&c.next, 0);
	for (int k = 0; k < helpers; k++)
		started[k] = pthread_create(&tid[k], NULL, crew_main, &c) == 0;
	crew_work(&c);
	for (int k = 0; k < helpers; k++)
		if (started[k])
			pthread_join(tid[k], NULL);
	free(tid);
	free(started);
}

/* --- forward */

/* x [B][T][F] (batch-first) into sl->x [T][B][F]. */
static void to_time_major(struct slice *sl, const float *x, int F)
{
	size_t B = (size_t)sl->batch, T = (size_t)sl->seq_len;

	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++)
			memcpy(sl->x + (t * B + b) * (size_t)F, x + (b * T + t) * (size_t)F,
			       (size_t)F * sizeof(float));
}

/* The input sequence of layer 'l': [T][B][layer_in]. */
static const float *layer_input(const struct slice *sl, int l)
{
	const struct layer_buf *below = l > 0 ? &sl->L[l - 1] : NULL;

	if (!below)
		return sl->x;
	if (sl->dropped)
		return below->drop;
	return below->h + (size_t)sl->batch * (size_t)sl->hidden;   /* skip h[0] */
}

/* The step struct of time 't' in layer 'l'. */
static struct step layer_step(struct rnn *m, struct slice *sl, int l, int t)
{
	struct layer_buf *lb = &sl->L[l];
	struct tensor *p = layer_params(m, l);
	size_t B = (size_t)sl->batch, H = (size_t)sl->hidden;
	size_t GH = (size_t)m->cell->gates * H, o = (size_t)t * B * H;
	struct step s = {
		.batch = sl->batch, .hidden = sl->hidden,
		.b_ih = p[2].v, .b_hh = p[3].v,
		.gate = lb->gate + (size_t)t * B * GH, .gh = sl->gh,
		.aux = lb->aux + o,
		.h_prev = lb->h + o, .h = lb->h + o + B * H,
		.c_prev = lb->c ? lb->c + o : NULL, .c = lb->c ? lb->c + o + B * H : NULL,
		.dh_out = sl->dH + o, .dh_next = sl->dh_a, .dh_prev = sl->dh_b, .dc = sl->dc,
		.d_ih = sl->d_ih + (size_t)t * B * GH,
		.d_hh = (m->cell->split_hh ? sl->d_hh : sl->d_ih) + (size_t)t * B * GH,
	};
	return s;
}

static void layer_forward(struct rnn *m, struct slice *sl, int l)
{
	const struct pgemm_b *pk = sl->pk + (size_t)l * PACK_N;
	int B = sl->batch, H = sl->hidden, GH = m->cell->gates * H, in = layer_in(m, l);

	/* the initial state: rows of a larger earlier batch may lie here */
	memset(sl->L[l].h, 0, (size_t)B * (size_t)H * sizeof(float));
	if (sl->L[l].c)
		memset(sl->L[l].c, 0, (size_t)B * (size_t)H * sizeof(float));
	pgemm(layer_input(sl, l), sl->seq_len * B, in, &pk[PACK_IH_T], sl->L[l].gate,
	      GH, 0);
	for (int t = 0; t < sl->seq_len; t++) {
		struct step s = layer_step(m, sl, l, t);
		if (t == 0)
			memset(sl->gh, 0, (size_t)B * (size_t)GH * sizeof(float));
		else
			pgemm(s.h_prev, B, H, &pk[PACK_HH_T], sl->gh, GH, 0);
		m->cell->forward(&s);
	}
}

/* Inverted dropout of layer 'l's output: kept values scaled by 1/(1-p). */
static void dropout(struct rnn *m, struct slice *sl, int l)
{
	struct layer_buf *lb = &sl->L[l];
	size_t n = (size_t)sl->seq_len * (size_t)sl->batch * (size_t)sl->hidden;
	const float *h = lb->h + (size_t)sl->batch * (size_t)sl->hidden;
	float p = m->cfg.dropout, keep = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++) {
		lb->mask[i] = rng_float(&sl->rng) < p ? 0.0f : keep;
		lb->drop[i] = h[i] * lb->mask[i];
	}
}

static void slice_forward(struct rnn *m, struct slice *sl)
{
	struct tensor *head = head_params(m);
	int H = sl->hidden, out = m->cfg.output_size, L = sl->layers;
	const float *last;

	to_time_major(sl, sl->in, m->cfg.input_size);
	for (int l = 0; l < L; l++) {
		layer_forward(m, sl, l);
		if (sl->dropped && l + 1 < L)
			dropout(m, sl, l);
	}
	last = sl->L[L - 1].h + (size_t)sl->seq_len * (size_t)sl->batch * (size_t)H;
	blas_gemm(BLAS_N, BLAS_T, sl->batch, out, H, 1, last, H, head[0].v, H, 0,
		  sl->out, out);
	for (int b = 0; b < sl->batch; b++)
		for (int k = 0; k < out; k++)
			sl->out[(size_t)b * out + k] += head[1].v[k];
	add_residual(m, sl->in, sl->batch, sl->out);
}

/* Pack every layer's weights for the products of forward (from PACK_IH_T:
 * transposed, so packed) or backward (from PACK_IH: used in place, see
 * pgemm_view): once per call, for all slices. */
static void pack_weights(struct rnn *m, struct rnn_work *w, int first)
{
	int H = m->cfg.hidden_size, GH = m->cell->gates * H;

	for (int l = 0; l < m->cfg.num_layers; l++) {
		struct tensor *p = layer_params(m, l);
		struct pgemm_b *pk = w->pk + (size_t)l * PACK_N;
		int in = layer_in(m, l);
		if (first == PACK_IH_T) {
			pgemm_pack_t(&pk[PACK_IH_T], p[0].v, GH, in);
			pgemm_pack_t(&pk[PACK_HH_T], p[1].v, GH, H);
			continue;
		}
		if (l > 0)   /* the first layer's dL/dx is never needed */
			pgemm_view(&pk[PACK_IH], p[0].v, GH, in, in);
		pgemm_view(&pk[PACK_HH], p[1].v, GH, H, H);
	}
}

void rnn_forward(struct rnn *m, struct rnn_work *w, const float *x, int batch,
		 struct rng *drop, float *y)
{
	size_t row = (size_t)m->cfg.seq_len * (size_t)m->cfg.input_size;
	int dropped = drop && m->cfg.dropout > 0 && m->cfg.num_layers > 1;

	assert(batch >= 1 && batch <= w->n * w->s[0].max_batch && !w->predict_only);
	pack_weights(m, w, PACK_IH_T);
	split_rows(w, batch);
	for (int k = 0; k < w->n; k++) {
		struct slice *sl = &w->s[k];
		sl->dropped = dropped;
		if (dropped)
			rng_seed(&sl->rng, rng_next(drop));
		sl->in = x + (size_t)sl->row0 * row;
		sl->out = y + (size_t)sl->row0 * (size_t)m->cfg.output_size;
	}
	run_slices(m, w, slice_forward);
}

/* --- backward through time */

/* g [G][n] = d^T v: the gradient of a weight of G rows from the products'
 * gradients 'd' [rows][G] and their inputs 'v' [rows][n], one product over
 * all steps.  A narrow 'v' (the first layer's few features) goes to
 * OpenBLAS, as a panel of PGEMM_PANEL columns would be mostly padding. */
static void weight_grad(struct slice *sl, const float *d, int G, int rows,
			const float *v, int n, float *g)
{
	if (n < PGEMM_PANEL) {
		blas_gemm(BLAS_T, BLAS_N, G, n, rows, 1, d, G, v, n, 0, g, n);
		return;
	}
	pgemm_view(&sl->xp, v, rows, n, n);
	pgemm(d, G, G, &sl->xp, g, n, PGEMM_AT);
}

/* Step by step from the last; then the weight gradients over all steps. */
static void layer_backward(struct rnn *m, struct slice *sl, int l)
{
	struct tensor *p = layer_params(m, l);
	const struct pgemm_b *pk = sl->pk + (size_t)l * PACK_N;
	float *g_ih = sl->grad + p[0].offset, *g_hh = sl->grad + p[1].offset;
	int B = sl->batch, H = sl->hidden, GH = m->cell->gates * H, T = sl->seq_len;
	int in = layer_in(m, l);
	size_t TB = (size_t)T * (size_t)B;
	const float *d_hh = m->cell->split_hh ? sl->d_hh : sl->d_ih;

	memset(sl->dh_a, 0, (size_t)B * (size_t)H * sizeof(float));
	memset(sl->dc, 0, (size_t)B * (size_t)H * sizeof(float));
	for (int t = T - 1; t >= 0; t--) {
		struct step s = layer_step(m, sl, l, t);
		float *swap;
		m->cell->backward(&s);
		if (t > 0)
			pgemm(s.d_hh, B, GH, &pk[PACK_HH], sl->dh_b, H, PGEMM_ADD);
		swap = sl->dh_a;
		sl->dh_a = sl->dh_b;
		sl->dh_b = swap;
	}
	weight_grad(sl, sl->d_ih, GH, (int)TB, layer_input(sl, l), in, g_ih);
	col_sums(sl->d_ih, TB, GH, sl->grad + p[2].offset);
	/* h[0] = 0: step 0 adds nothing to dW_hh */
	weight_grad(sl, d_hh + (size_t)B * GH, GH, (T - 1) * B,
		    sl->L[l].h + (size_t)B * H, H, g_hh);
	col_sums(d_hh, TB, GH, sl->grad + p[3].offset);
	if (l == 0)
		return;
	pgemm(sl->d_ih, (int)TB, GH, &pk[PACK_IH], sl->dH, in, 0);
	if (sl->dropped)
		mul_into(sl->dH, sl->L[l - 1].mask, TB * (size_t)H);
}

static void slice_backward(struct rnn *m, struct slice *sl)
{
	struct tensor *head = head_params(m);
	int B = sl->batch, H = sl->hidden, out = m->cfg.output_size, T = sl->seq_len;
	size_t last = (size_t)T * (size_t)B * (size_t)H;
	const float *h_last = sl->L[sl->layers - 1].h + last;

	blas_gemm(BLAS_T, BLAS_N, out, H, B, 1, sl->in, out, h_last, H, 0,
		  sl->grad + head[0].offset, H);
	col_sums(sl->in, (size_t)B, out, sl->grad + head[1].offset);
	memset(sl->dH, 0, last * sizeof(float));
	blas_gemm(BLAS_N, BLAS_N, B, H, out, 1, sl->in, out, head[0].v, H, 0,
		  sl->dH + last - (size_t)B * H, H);
	for (int l = sl->layers - 1; l >= 0; l--)
		layer_backward(m, sl, l);
}

void rnn_backward(struct rnn *m, struct rnn_work *w, const float *dy)
{
	assert(!w->predict_only);
	pack_weights(m, w, PACK_IH);
	for (int k = 0; k < w->n; k++) {
		struct slice *sl = &w->s[k];
		sl->grad = k == 0 ? m->p.grad : sl->own_grad;
		sl->in = dy + (size_t)sl->row0 * (size_t)m->cfg.output_size;
	}
	run_slices(m, w, slice_backward);
	/* the sum over slices, in slice order: the same bytes every run */
	for (int k = 1; k < w->n; k++)
		if (w->s[k].batch > 0)
			add_into(m->p.grad, w->s[k].own_grad, m->p.total);
}

/* --- inference: products of our own, so that a window's prediction is
 * the same bits whatever the batch around it.
 *
 * OpenBLAS picks its kernels and blocking by a product's shape, so a row of
 * C = A B^T rounds differently when A has other rows around it (measured:
 * a few percent of the elements of a [B, 128] x [128, 512] product change
 * with B).  Training does not mind; prediction does: the same window must
 * get the same forecast in a batch of all, alone, on any thread count.  So
 * rnn_predict() computes every element of its products as one chain of
 * fused multiply-adds over k, in order, from zero:
 *   c = fma(a[K-1], b[K-1], ... fma(a[1], b[1], fma(a[0], b[0], 0)))
 * whatever the row's neighbours.  Three sets of kernels compute that chain
 * (AVX-512, AVX2 with FMA, and portable C with fmaf), so they agree to the
 * bit; the widest the CPU has is used, or the one named by the environment
 * variable DAGRUN_RNN_ISA (avx512, avx2, generic: for tests and benches;
 * a kernel the CPU lacks is never picked).
 *
 * Those are pgemm.h's products (every element one such chain, the three
 * kernels), the same that training uses for its own.  A workspace keeps
 * the packed weights with a copy of the parameters they came from, and
 * packs again only when the parameters differ (training changes them
 * between calls; a forecaster never does). */

struct infer {
	struct pgemm_b *ih, *hh;     /* per layer, as B^T */
	struct pgemm_b head;
};

static void infer_init(struct infer *inf, struct rnn *m)
{
	int L = m->cfg.num_layers, H = m->cfg.hidden_size;
	int GH = m->cell->gates * H;

	inf->ih = xcalloc((size_t)L, sizeof(*inf->ih));
	inf->hh = xcalloc((size_t)L, sizeof(*inf->hh));
	for (int l = 0; l < L; l++) {
		struct tensor *p = layer_params(m, l);
		pgemm_pack_t(&inf->ih[l], p[0].v, GH, layer_in(m, l));
		pgemm_pack_t(&inf->hh[l], p[1].v, GH, H);
	}
	pgemm_pack_t(&inf->head, head_params(m)[0].v, m->cfg.output_size, H);
}

static void infer_release(struct infer *inf, int layers)
{
	for (int l = 0; l < layers; l++) {
		pgemm_release(&inf->ih[l]);
		pgemm_release(&inf->hh[l]);
	}
	free(inf->ih);
	free(inf->hh);
	pgemm_release(&inf->head);
}

/* Layer 'l' at step 't' of 'sl->batch' rows, from its input 'in' (row
 * width 'in_size'): h and c ping-pong between the two steps a slice keeps
 * (a training workspace holds more, and the first two serve). */
static void infer_step(struct rnn *m, struct slice *sl, int l, int t,
		       const float *in, int in_size)
{
	const struct infer *inf = sl->inf;
	struct layer_buf *lb = &sl->L[l];
	struct tensor *p = layer_params(m, l);
	size_t BH = (size_t)sl->batch * (size_t)sl->hidden;
	int GH = m->cell->gates * sl->hidden, now = t % 2, before = 1 - now;
	struct step s = {
		.batch = sl->batch, .hidden = sl->hidden,
		.b_ih = p[2].v, .b_hh = p[3].v,
		.gate = sl->L[0].gate, .gh = sl->gh,
		.h_prev = lb->h + (size_t)before * BH, .h = lb->h + (size_t)now * BH,
		.c_prev = lb->c ? lb->c + (size_t)before * BH : NULL,
		.c = lb->c ? lb->c + (size_t)now * BH : NULL,
	};

	pgemm(in, sl->batch, in_size, &inf->ih[l], sl->L[0].gate, GH, 0);
	if (t == 0)   /* h_0 = 0, c_0 = 0 */
		memset(sl->gh, 0, (size_t)sl->batch * (size_t)GH * sizeof(float));
	else
		pgemm(s.h_prev, sl->batch, sl->hidden, &inf->hh[l], sl->gh, GH, 0);
	if (t == 0) {
		memset(lb->h + (size_t)before * BH, 0, BH * sizeof(float));
		if (lb->c)
			memset(lb->c + (size_t)before * BH, 0, BH * sizeof(float));
	}
	m->cell->infer(&s);
}

/* The forward pass of 'sl->batch' rows without dropout, as slice_forward()
 * computes it but for the products (and so the rounding) above, and step
 * by step through every layer, so that a slice keeps two steps of state
 * whatever the sequence's length. */
static void slice_infer(struct rnn *m, struct slice *sl)
{
	int B = sl->batch, H = sl->hidden, T = sl->seq_len, F = m->cfg.input_size;
	int out = m->cfg.output_size, L = sl->layers;
	const float *bias = head_params(m)[1].v, *last;

	to_time_major(sl, sl->in, F);
	for (int t = 0; t < T; t++)
		for (int l = 0; l < L; l++)
			infer_step(m, sl, l, t, l ? sl->L[l - 1].h + (size_t)(t % 2) * B * H :
				   sl->x + (size_t)t * B * F, l ? H : F);
	last = sl->L[L - 1].h + (size_t)((T - 1) % 2) * B * H;
	pgemm(last, B, H, &sl->inf->head, sl->out, out, 0);
	for (int b = 0; b < B; b++)
		for (int k = 0; k < out; k++)
			sl->out[(size_t)b * out + k] += bias[k];
	add_residual(m, sl->in, B, sl->out);
}

/* A slice's 'todo' rows from 'in' to 'out', max_batch rows at a time. */
static void slice_predict(struct rnn *m, struct slice *sl)
{
	size_t row = (size_t)sl->seq_len * (size_t)m->cfg.input_size;

	for (size_t i = 0; i < sl->todo; i += (size_t)sl->max_batch) {
		size_t b = sl->todo - i < (size_t)sl->max_batch ? sl->todo - i :
			   (size_t)sl->max_batch;
		sl->batch = (int)b;
		slice_infer(m, sl);
		sl->in += b * row;
		sl->out += b * (size_t)m->cfg.output_size;
	}
}

static void infer_forget(struct rnn_work *w)
{
	if (!w->inf)
		return;
	infer_release(w->inf, w->inf_cfg.num_layers);
	free(w->inf);
	tensor_free(w->inf_from);
	w->inf = NULL;
	w->inf_from = NULL;
}

/* The packed weights of 'm' in 'w': kept from the last call while the
 * model's config and every parameter are the same, else packed anew. */
static const struct infer *infer_for(struct rnn *m, struct rnn_work *w)
{
	size_t bytes = m->p.total * sizeof(float);

	if (w->inf && !memcmp(&w->inf_cfg, &m->cfg, sizeof(m->cfg)) &&
	    !memcmp(w->inf_from, m->p.value, bytes))
		return w->inf;
	infer_forget(w);
	w->inf = xcalloc(1, sizeof(*w->inf));
	infer_init(w->inf, m);
	w->inf_cfg = m->cfg;
	w->inf_from = tensor_alloc(m->p.total);
	memcpy(w->inf_from, m->p.value, bytes);
	return w->inf;
}

void rnn_predict(struct rnn *m, struct rnn_work *w, const float *x, size_t n,
		 float *y)
{
	size_t row = (size_t)m->cfg.seq_len * (size_t)m->cfg.input_size, first = 0;
	size_t base = n / (size_t)w->n, extra = n % (size_t)w->n;
	const struct infer *inf = infer_for(m, w);

	for (int k = 0; k < w->n; k++) {
		struct slice *sl = &w->s[k];
		sl->todo = base + ((size_t)k < extra);
		sl->batch = sl->todo > 0;   /* run_slices runs slices with rows */
		sl->dropped = 0;
		sl->inf = inf;
		sl->in = x + first * row;
		sl->out = y + first * (size_t)m->cfg.output_size;
		first += sl->todo;
	}
	run_slices(m, w, slice_predict);
}

/* --- files */

/* 'format' in the metadata of every model file this module writes */
#define RNN_FORMAT "dagrun.rnn.v1"

static void set_meta_int(struct safetensors_writer *sw, const char *key, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	safetensors_set_meta(sw, key, buf);
}

/* The residual skip's metadata; "%.9g": a float reads back to its bits. */
static void set_meta_residual(struct safetensors_writer *sw, const struct rnn_residual *r)
{
	char buf[32];

	set_meta_int(sw, "residual_index", r->index);
	snprintf(buf, sizeof(buf), "%.9g", (double)r->scale);
	safetensors_set_meta(sw, "residual_scale", buf);
	snprintf(buf, sizeof(buf), "%.9g", (double)r->shift);
	safetensors_set_meta(sw, "residual_shift", buf);
}

int rnn_save(const struct rnn *m, const char *path, json_t *meta, struct err *err)
{
	struct safetensors_writer sw;
	char *text = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS |
				       JSON_ENCODE_ANY) : NULL;
	char drop[32];
	int rc;

	safetensors_writer_init(&sw);
	for (int i = 0; i < m->p.n; i++)
		safetensors_add(&sw, m->p.t[i].name, "F32", m->p.t[i].ndim,
				m->p.t[i].shape, m->p.t[i].v);
	safetensors_set_meta(&sw, "format", RNN_FORMAT);
	safetensors_set_meta(&sw, "cell", m->cell->name);
	set_meta_int(&sw, "num_layers", m->cfg.num_layers);
	set_meta_int(&sw, "hidden_size", m->cfg.hidden_size);
	set_meta_int(&sw, "input_size", m->cfg.input_size);
	set_meta_int(&sw, "output_size", m->cfg.output_size);
	set_meta_int(&sw, "input_seq_len", m->cfg.seq_len);
	snprintf(drop, sizeof(drop), "%.9g", (double)m->cfg.dropout);
	safetensors_set_meta(&sw, "dropout", drop);
	safetensors_set_meta(&sw, "meta", text ? text : "null");
	if (m->res.index >= 0)
		set_meta_residual(&sw, &m->res);
	rc = safetensors_write(&sw, path, err);
	safetensors_writer_release(&sw);
	free(text);
	return rc;
}

/* A metadata integer in [lo, hi]. */
static int meta_int(const struct safetensors *st, const char *path,
		    const char *key, long lo, long hi, int *out, struct err *err)
{
	const char *s = safetensors_meta(st, key);
	char *end;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < lo || v > hi) {
		err_set(err, ERR_USER, "%s: metadata '%s' is %s%s%s (expected an "
			"integer from %ld to %ld)", path, key, s ? "'" : "missing",
			s ? s : "", s ? "'" : "", lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* The architecture from the metadata of a "dagrun.rnn.v1" file. */
static int read_config(const struct safetensors *st, const char *path,
		       struct rnn_config *cfg, struct err *err)
{
	const char *fmt = safetensors_meta(st, "format"), *cell = safetensors_meta(st, "cell");
	const char *drop = safetensors_meta(st, "dropout");

	memset(cfg, 0, sizeof(*cfg));
	if (!fmt || strcmp(fmt, RNN_FORMAT)) {
		err_set(err, ERR_USER, "%s: metadata 'format' is '%s' (expected '%s')",
			path, fmt ? fmt : "missing", RNN_FORMAT);
		return -1;
	}
	if (rnn_cell_parse(cell, &cfg->cell)) {
		err_set(err, ERR_USER, "%s: metadata 'cell' is '%s' (expected gru or "
			"lstm)", path, cell ? cell : "missing");
		return -1;
	}
	if (meta_int(st, path, "num_layers", 1, 64, &cfg->num_layers, err) ||
	    meta_int(st, path, "hidden_size", 1, 1 << 16, &cfg->hidden_size, err) ||
	    meta_int(st, path, "input_size", 1, 1 << 20, &cfg->input_size, err) ||
	    meta_int(st, path, "output_size", 1, 1 << 20, &cfg->output_size, err) ||
	    meta_int(st, path, "input_seq_len", 1, 1 << 20, &cfg->seq_len, err))
		return -1;
	cfg->dropout = drop ? strtof(drop, NULL) : 0;
	cfg->dropout = cfg->dropout >= 0 && cfg->dropout < 1 ? cfg->dropout : 0;
	return 0;
}

/* A metadata float, finite. */
static int meta_float(const struct safetensors *st, const char *path,
		      const char *key, float *out, struct err *err)
{
	const char *s = safetensors_meta(st, key);
	char *end;
	float v;

	errno = 0;
	v = s ? strtof(s, &end) : 0;
	if (!s || !*s || *end || errno || !isfinite(v)) {
		err_set(err, ERR_USER, "%s: metadata '%s' is %s%s%s (expected a finite "
			"number)", path, key, s ? "'" : "missing", s ? s : "", s ? "'" : "");
		return -1;
	}
	*out = v;
	return 0;
}

/* The residual skip, when the file has one (residual_index present). */
static int read_residual(struct rnn *m, const struct safetensors *st,
			 const char *path, struct err *err)
{
	struct rnn_residual r;

	if (!safetensors_meta(st, "residual_index"))
		return 0;
	if (meta_int(st, path, "residual_index", 0, m->cfg.input_size - 1, &r.index, err) ||
	    meta_float(st, path, "residual_scale", &r.scale, err) ||
	    meta_float(st, path, "residual_shift", &r.shift, err))
		return -1;
	rnn_set_residual(m, &r);
	return 0;
}

/* Every tensor by name and shape, and no others. */
static int read_weights(struct rnn *m, const struct safetensors *st,
			const char *path, struct err *err)
{
	for (int i = 0; i < m->p.n; i++) {
		struct tensor *t = &m->p.t[i];
		if (safetensors_get_f32(st, t->name, t->ndim, t->shape, t->v, err))
			return -1;
	}
	if (safetensors_count(st) != m->p.n) {
		err_set(err, ERR_USER, "%s: %d tensors (expected the %d of a %d-layer "
			"%s)", path, safetensors_count(st), m->p.n, m->cfg.num_layers,
			m->cell->name);
		return -1;
	}
	return 0;
}

/* The floats of a model of 'cfg' (in double: a hostile header may claim
 * sizes whose product overflows). */
static double param_count(const struct rnn_config *cfg)
{
	double G = cells[cfg->cell].gates, H = cfg->hidden_size, n = 0;

	for (int l = 0; l < cfg->num_layers; l++)
		n += G * H * ((l ? H : cfg->input_size) + H + 2);
	return n + (double)cfg->output_size * (H + 1);
}

/* Before allocating: the file must hold as many floats as the model. */
static int check_size(const struct safetensors *st, const char *path,
		      const struct rnn_config *cfg, struct err *err)
{
	double have = 0;

	for (int i = 0; i < safetensors_count(st); i++)
		have += (double)safetensors_at(st, i)->count;
	if (have == param_count(cfg))
		return 0;
	err_set(err, ERR_USER, "%s: %.0f weights (expected %.0f for its metadata's "
		"architecture)", path, have, param_count(cfg));
	return -1;
}

struct rnn *rnn_load(const char *path, json_t **meta, struct err *err)
{
	struct safetensors *st = safetensors_read(path, err);
	struct rnn_config cfg;
	struct rnn *m = NULL;
	const char *text;

	if (!st || read_config(st, path, &cfg, err) || check_size(st, path, &cfg, err))
		goto out;
	m = rnn_new(&cfg);
	if (read_weights(m, st, path, err) || read_residual(m, st, path, err)) {
		rnn_free(m);
		m = NULL;
		goto out;
	}
	text = safetensors_meta(st, "meta");
	if (meta) {
		*meta = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		if (!*meta)
			*meta = json_null();
	}
out:
	safetensors_free(st);
	return m;
}

/* --- one layer over a sequence from a given state (rnn.h: rnn_seq).
 * The same cells and products as a layer of a 'struct rnn', but every
 * buffer is the caller's, the initial state too, and backward adds to the
 * gradients, so that a decoder run one step at a time gathers them over
 * its steps. */

int rnn_cell_gates(enum rnn_cell_kind k)
{
	return cells[k].gates;
}

/* The scratch of an rnn_seq's 'work': gh [B][G*H] (forward), d_ih and, GRU
 * only, d_hh [T][B][G*H], and one [B][H] for the carried dL/dh. */
size_t rnn_seq_work_size(enum rnn_cell_kind cell, int steps, int batch, int hidden)
{
	size_t BG = (size_t)batch * (size_t)cells[cell].gates * (size_t)hidden;

	return BG + (size_t)steps * BG * (cells[cell].split_hh ? 2 : 1) +
	       (size_t)batch * (size_t)hidden;
}

/* The step struct of time 't' of 's'. */
static struct step seq_step(const struct rnn_seq *s, int t)
{
	size_t BH = (size_t)s->batch * (size_t)s->hidden;
	size_t BG = BH * (size_t)cells[s->cell].gates;
	struct step st = {
		.batch = s->batch, .hidden = s->hidden,
		.b_ih = s->b_ih, .b_hh = s->b_hh,
		.gate = s->gate + (size_t)t * BG, .gh = s->work,
		.aux = s->aux + (size_t)t * BH,
		.h_prev = s->h + (size_t)t * BH, .h = s->h + (size_t)(t + 1) * BH,
		.c_prev = s->c ? s->c + (size_t)t * BH : NULL,
		.c = s->c ? s->c + (size_t)(t + 1) * BH : NULL,
	};
	return st;
}

void rnn_seq_forward(const struct rnn_seq *s)
{
	const struct cell *cl = &cells[s->cell];
	int B = s->batch, H = s->hidden, GH = cl->gates * H;

	blas_gemm(BLAS_N, BLAS_T, s->steps * B, GH, s->in, 1, s->x, s->in, s->w_ih,
		  s->in, 0, s->gate, GH);
	for (int t = 0; t < s->steps; t++) {
		struct step st = seq_step(s, t);
		blas_gemm(BLAS_N, BLAS_T, B, GH, H, 1, st.h_prev, H, s->w_hh, H, 0,
			  s->work, GH);
		cl->forward(&st);
	}
}

TENSOR_FUSED_BEGIN
/* out[c] += the sum of column c of a [rows, cols] matrix, row by row. */
TENSOR_CLONES static void add_col_sums(const float *restrict a, size_t rows, int cols,
				       float *restrict out)
{
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			out[c] += a[r * (size_t)cols + c];
}
TENSOR_FUSED_END

void rnn_seq_backward(const struct rnn_seq *s, const float *dH, float *dh,
		      float *dc, float *dx)
{
	const struct cell *cl = &cells[s->cell];
	int B = s->batch, H = s->hidden, GH = cl->gates * H, in = s->in;
	size_t BH = (size_t)B * (size_t)H, BG = (size_t)B * (size_t)GH;
	size_t TB = (size_t)s->steps * (size_t)B;
	float *d_ih = s->work + BG, *d_hh = cl->split_hh ? d_ih + TB * GH : d_ih;
	float *dh_a = dh, *dh_b = d_ih + TB * GH * (cl->split_hh ? 2 : 1), *swap;

	for (int t = s->steps - 1; t >= 0; t--) {
		struct step st = seq_step(s, t);
		st.dh_out = dH + (size_t)t * BH;
		st.dh_next = dh_a;
		st.dh_prev = dh_b;
		st.dc = dc;
		st.d_ih = d_ih + (size_t)t * BG;
		st.d_hh = d_hh + (size_t)t * BG;
		cl->backward(&st);
		blas_gemm(BLAS_N, BLAS_N, B, H, GH, 1, st.d_hh, GH, s->w_hh, H, 1, dh_b, H);
		swap = dh_a;
		dh_a = dh_b;
		dh_b = swap;
	}
	if (dh_a != dh)
		memcpy(dh, dh_a, BH * sizeof(float));
	blas_gemm(BLAS_T, BLAS_N, GH, in, (int)TB, 1, d_ih, GH, s->x, in, 1, s->g_ih, in);
	add_col_sums(d_ih, TB, GH, s->g_bih);
	blas_gemm(BLAS_T, BLAS_N, GH, H, (int)TB, 1, d_hh, GH, s->h, H, 1, s->g_hh, H);
	add_col_sums(d_hh, TB, GH, s->g_bhh);
	if (dx)
		blas_gemm(BLAS_N, BLAS_N, (int)TB, in, GH, 1, d_ih, GH, s->w_ih, in, 0, dx, in);
}
