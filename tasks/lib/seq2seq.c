/* seq2seq: see seq2seq.h.
 *
 * Layout: time-major, as rnn.c's workspace, so that every step's rows
 * are one [B, width] matrix.  Per stack (the encoder over T steps, the
 * decoder over S = horizon steps) and layer: gate [steps][B][4H], aux
 * [steps][B][H], h and c [steps+1][B][H] (h[0], c[0] the initial state),
 * and between layers while training with dropout the mask and the masked
 * output [steps][B][H].  The decoder's inputs are din [S][B]; fed[t] says
 * whether din[t] is the model's own prediction of step t-1 (the gradient
 * then flows back into it).
 *
 * Invariant: the decoder's layer l starts from the encoder's layer l final
 * state, copied; every step of every layer is an rnn_seq of rnn.c, so the
 * cells and their gradients are rnn.c's.  Inference (seq2seq_infer) is the
 * exception: its products are gemm_fixed_rows() and its cell lstm_row(), the
 * arithmetic of rnn.c's LSTM inference row, over rows that never mix
 * windows. */
#include "seq2seq.h"
#include "blas.h"
#include "gemm_fixed.h"
#include "modelfile.h"
#include "rnn.h"
#include "safetensors.h"
#include "xalloc.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 'format' in the metadata of every model file this module writes */
#define SEQ2SEQ_FORMAT "dagrun.encoder_lstm.v1"
/* LSTM gate blocks: i, f, g, o */
#define GATES 4
/* Bounds seq2seq_load() puts on a file's metadata, past anything
 * train.encoder_lstm writes (its limits: 8 layers of 4096): 64 layers of
 * 65536 units, 2^20 features, steps or outputs */
#define LOAD_MAX_LAYERS 64
#define LOAD_MAX_HIDDEN 65536
#define LOAD_MAX_SIZE (1L << 20)

enum { ENC, DEC };
static const char *const stack_names[2] = {"encoder", "decoder"};

struct seq2seq {
	struct seq2seq_config cfg;
	struct tensor_set p;
};

struct layer_buf {
	float *gate, *aux, *h, *c, *mask, *drop;
};

struct seq2seq_work {
	int max_batch, batch, dropped, layers;
	float *x;                    /* [T][B][F] */
	struct layer_buf *L[2];      /* per stack, per layer */
	float *din;                  /* [S][B] */
	unsigned char *fed;          /* [S] */
	float *pred;                 /* [B][S] */
	float *col;                  /* [B]: one step's head output */
	float *scratch;              /* rnn_seq's work */
	/* backward: carried dL/dh, dL/dc per layer [B][H]; the gradient of a
	 * layer's outputs and inputs, [T][B][H] (the encoder's) */
	float **dh, **dc;
	float *g_a, *g_b;
	float *ddin;                 /* [S][B]: dL/d(din) */
	float *dp;                   /* [B]: dL/d(pred) of one step */
};

/* --- the model */

static int stack_in(const struct seq2seq *m, int stack, int l)
{
	if (l > 0)
		return m->cfg.hidden_size;
	return stack == ENC ? m->cfg.input_size : 1;
}

/* The tensors of layer 'l' of 'stack': weight_ih, weight_hh, bias_ih,
 * bias_hh. */
static struct tensor *layer_params(struct seq2seq *m, int stack, int l)
{
	return &m->p.t[4 * (stack * m->cfg.num_layers + l)];
}

static struct tensor *head_params(struct seq2seq *m)
{
	return &m->p.t[8 * m->cfg.num_layers];
}

static void declare_params(struct seq2seq *m)
{
	size_t H = (size_t)m->cfg.hidden_size, GH = GATES * H, one = 1;
	char name[64];

	for (int s = ENC; s <= DEC; s++) {
		const char *st = stack_names[s];
		for (int l = 0; l < m->cfg.num_layers; l++) {
			size_t w_ih[2] = {GH, (size_t)stack_in(m, s, l)}, w_hh[2] = {GH, H};
			snprintf(name, sizeof(name), "%s.weight_ih_l%d", st, l);
			tensor_set_add(&m->p, name, 2, w_ih);
			snprintf(name, sizeof(name), "%s.weight_hh_l%d", st, l);
			tensor_set_add(&m->p, name, 2, w_hh);
			snprintf(name, sizeof(name), "%s.bias_ih_l%d", st, l);
			tensor_set_add(&m->p, name, 1, &GH);
			snprintf(name, sizeof(name), "%s.bias_hh_l%d", st, l);
			tensor_set_add(&m->p, name, 1, &GH);
		}
	}
	tensor_set_add(&m->p, "head.weight", 2, (size_t[]){1, H});
	tensor_set_add(&m->p, "head.bias", 1, &one);
}

/* A model of 'cfg' whose tensors are declared but not allocated: what
 * seq2seq_load() checks a file against before allocating anything. */
static struct seq2seq *declared(const struct seq2seq_config *cfg)
{
	struct seq2seq *m = xcalloc(1, sizeof(*m));

	assert(cfg->num_layers >= 1 && cfg->hidden_size >= 1 && cfg->input_size >= 1 &&
	       cfg->seq_len >= 1 && cfg->horizon >= 1 &&
	       cfg->target_index < cfg->input_size && cfg->dropout >= 0 &&
	       cfg->dropout < 1 && cfg->teacher_forcing >= 0 && cfg->teacher_forcing <= 1);
	m->cfg = *cfg;
	tensor_set_init(&m->p);
	declare_params(m);
	return m;
}

struct seq2seq *seq2seq_new(const struct seq2seq_config *cfg)
{
	struct seq2seq *m = declared(cfg);

	tensor_set_alloc(&m->p);
	return m;
}

void seq2seq_free(struct seq2seq *m)
{
	if (!m)
		return;
	tensor_set_release(&m->p);
	free(m);
}

const struct seq2seq_config *seq2seq_config(const struct seq2seq *m)
{
	return &m->cfg;
}

struct tensor_set *seq2seq_params(struct seq2seq *m)
{
	return &m->p;
}

void seq2seq_init(struct seq2seq *m, struct rng *r)
{
	float k = 1.0f / sqrtf((float)m->cfg.hidden_size);

	for (int i = 0; i < m->p.n; i++)
		rng_fill_uniform(r, m->p.t[i].v, m->p.t[i].count, -k, k);
}

/* --- workspace */

static struct layer_buf *stack_alloc(const struct seq2seq *m, size_t steps, size_t B)
{
	size_t H = (size_t)m->cfg.hidden_size, L = (size_t)m->cfg.num_layers;
	struct layer_buf *lb = xcalloc(L, sizeof(*lb));
	int masks = m->cfg.dropout > 0;

	for (size_t l = 0; l < L; l++) {
		lb[l].gate = tensor_alloc(steps * B * GATES * H);
		lb[l].aux = tensor_alloc(steps * B * H);
		lb[l].h = tensor_alloc((steps + 1) * B * H);
		lb[l].c = tensor_alloc((steps + 1) * B * H);
		lb[l].mask = masks && l + 1 < L ? tensor_alloc(steps * B * H) : NULL;
		lb[l].drop = lb[l].mask ? tensor_alloc(steps * B * H) : NULL;
	}
	return lb;
}

static void stack_release(struct layer_buf *lb, int layers)
{
	for (int l = 0; l < layers; l++) {
		tensor_free(lb[l].gate);
		tensor_free(lb[l].aux);
		tensor_free(lb[l].h);
		tensor_free(lb[l].c);
		tensor_free(lb[l].mask);
		tensor_free(lb[l].drop);
	}
	free(lb);
}

struct seq2seq_work *seq2seq_work_new(const struct seq2seq *m, int max_batch)
{
	struct seq2seq_work *w = xcalloc(1, sizeof(*w));
	size_t B = (size_t)max_batch, H = (size_t)m->cfg.hidden_size;
	size_t T = (size_t)m->cfg.seq_len, S = (size_t)m->cfg.horizon;
	size_t longest = T > S ? T : S;
	int L = m->cfg.num_layers;

	assert(max_batch >= 1);
	w->max_batch = max_batch;
	w->layers = L;
	w->x = tensor_alloc(T * B * (size_t)m->cfg.input_size);
	w->L[ENC] = stack_alloc(m, T, B);
	w->L[DEC] = stack_alloc(m, S, B);
	w->din = tensor_alloc(S * B);
	w->fed = xcalloc(S, 1);
	w->pred = tensor_alloc(B * S);
	w->col = tensor_alloc(B);
	w->scratch = tensor_alloc(rnn_seq_work_size(RNN_LSTM, (int)longest, max_batch,
						    m->cfg.hidden_size));
	w->dh = xcalloc((size_t)L, sizeof(float *));
	w->dc = xcalloc((size_t)L, sizeof(float *));
	for (int l = 0; l < L; l++) {
		w->dh[l] = tensor_alloc(B * H);
		w->dc[l] = tensor_alloc(B * H);
	}
	w->g_a = tensor_alloc(longest * B * H);
	w->g_b = tensor_alloc(longest * B * H);
	w->ddin = tensor_alloc(S * B);
	w->dp = tensor_alloc(B);
	return w;
}

void seq2seq_work_free(struct seq2seq_work *w)
{
	if (!w)
		return;
	stack_release(w->L[ENC], w->layers);
	stack_release(w->L[DEC], w->layers);
	for (int l = 0; l < w->layers; l++) {
		tensor_free(w->dh[l]);
		tensor_free(w->dc[l]);
	}
	free(w->dh);
	free(w->dc);
	tensor_free(w->x);
	tensor_free(w->din);
	free(w->fed);
	tensor_free(w->pred);
	tensor_free(w->col);
	tensor_free(w->scratch);
	tensor_free(w->g_a);
	tensor_free(w->g_b);
	tensor_free(w->ddin);
	tensor_free(w->dp);
	free(w);
}

/* --- forward */

/* The rnn_seq of layer 'l' of 'stack' over steps [t0, t0 + steps), with
 * 'x' its input there. */
static struct rnn_seq layer_seq(struct seq2seq *m, struct seq2seq_work *w, int stack,
				int l, int t0, int steps, const float *x)
{
	struct tensor *p = layer_params(m, stack, l);
	struct layer_buf *lb = &w->L[stack][l];
	size_t BH = (size_t)w->batch * (size_t)m->cfg.hidden_size, o = (size_t)t0 * BH;
	struct rnn_seq s = {
		RNN_LSTM, steps, w->batch, stack_in(m, stack, l), m->cfg.hidden_size,
		p[0].v, p[1].v, p[2].v, p[3].v, p[0].g, p[1].g, p[2].g, p[3].g,
		x, lb->gate + o * GATES, lb->aux + o, lb->h + o, lb->c + o, w->scratch
	};
	return s;
}

/* The input of layer l > 0 at steps [t0, ...): the output of layer l-1
 * (h[1..]), or its masked copy while training with dropout. */
static const float *layer_input(const struct seq2seq_work *w, int stack, int l,
				int t0, int hidden)
{
	const struct layer_buf *below = &w->L[stack][l - 1];
	size_t o = (size_t)t0 * (size_t)w->batch * (size_t)hidden;

	if (w->dropped)
		return below->drop + o;
	return below->h + (size_t)w->batch * (size_t)hidden + o;
}

/* Inverted dropout of layer l's outputs at steps [t0, t0 + steps). */
static void dropout(struct seq2seq *m, struct seq2seq_work *w, int stack, int l,
		    int t0, int steps, struct rng *r)
{
	struct layer_buf *lb = &w->L[stack][l];
	size_t BH = (size_t)w->batch * (size_t)m->cfg.hidden_size, o = (size_t)t0 * BH;
	size_t n = (size_t)steps * BH;
	const float *h = lb->h + BH + o;
	float p = m->cfg.dropout, keep = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++) {
		lb->mask[o + i] = rng_float(r) < p ? 0.0f : keep;
		lb->drop[o + i] = h[i] * lb->mask[o + i];
	}
}

static void encode(struct seq2seq *m, struct seq2seq_work *w, const float *x,
		   struct rng *drop)
{
	int B = w->batch, T = m->cfg.seq_len, F = m->cfg.input_size, H = m->cfg.hidden_size;
	size_t BH = (size_t)B * (size_t)H;

	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			memcpy(w->x + ((size_t)t * B + b) * F, x + ((size_t)b * T + t) * F,
			       (size_t)F * sizeof(float));
	for (int l = 0; l < w->layers; l++) {
		const float *in = l ? layer_input(w, ENC, l, 0, H) : w->x;
		struct rnn_seq s = layer_seq(m, w, ENC, l, 0, T, in);
		memset(s.h, 0, BH * sizeof(float));
		memset(s.c, 0, BH * sizeof(float));
		rnn_seq_forward(&s);
		if (w->dropped && l + 1 < w->layers)
			dropout(m, w, ENC, l, 0, T, drop);
	}
}

/* Decoder step 't' from din[t]: every layer, then the head into pred. */
static void decode_step(struct seq2seq *m, struct seq2seq_work *w, int t,
			struct rng *drop)
{
	int B = w->batch, H = m->cfg.hidden_size, S = m->cfg.horizon;
	struct tensor *head = head_params(m);
	const float *top;

	for (int l = 0; l < w->layers; l++) {
		const float *in = l ? layer_input(w, DEC, l, t, H) : w->din + (size_t)t * B;
		struct rnn_seq s = layer_seq(m, w, DEC, l, t, 1, in);
		rnn_seq_forward(&s);
		if (w->dropped && l + 1 < w->layers)
			dropout(m, w, DEC, l, t, 1, drop);
	}
	top = w->L[DEC][w->layers - 1].h + (size_t)(t + 1) * B * H;
	blas_gemm(BLAS_N, BLAS_T, B, 1, H, 1, top, H, head[0].v, H, 0, w->col, 1);
	for (int b = 0; b < B; b++)
		w->pred[(size_t)b * S + t] = w->col[b] + head[1].v[0];
}

/* Whether decoder step t + 1 is fed the true value of step t. */
static int teacher(const struct seq2seq *m, const float *y, struct rng *drop)
{
	float tf = m->cfg.teacher_forcing;

	if (!y || !drop || tf <= 0)
		return 0;
	return tf >= 1 || rng_float(drop) < tf;
}

void seq2seq_forward(struct seq2seq *m, struct seq2seq_work *w, const float *x,
		     const float *y, int batch, struct rng *drop, float *pred)
{
	int T = m->cfg.seq_len, F = m->cfg.input_size, S = m->cfg.horizon;
	int ti = m->cfg.target_index;
	size_t BH = (size_t)batch * (size_t)m->cfg.hidden_size;

	assert(batch >= 1 && batch <= w->max_batch);
	w->batch = batch;
	w->dropped = drop && m->cfg.dropout > 0 && m->cfg.num_layers > 1;
	encode(m, w, x, drop);
	for (int l = 0; l < w->layers; l++) {
		memcpy(w->L[DEC][l].h, w->L[ENC][l].h + (size_t)T * BH, BH * sizeof(float));
		memcpy(w->L[DEC][l].c, w->L[ENC][l].c + (size_t)T * BH, BH * sizeof(float));
	}
	for (int b = 0; b < batch; b++)
		w->din[b] = ti >= 0 ? x[((size_t)b * T + T - 1) * F + ti] : 0.0f;
	w->fed[0] = 0;
	for (int t = 0; t < S; t++) {
		decode_step(m, w, t, drop);
		if (t + 1 == S)
			break;
		w->fed[t + 1] = !teacher(m, y, drop);
		for (int b = 0; b < batch; b++)
			w->din[(size_t)(t + 1) * batch + b] = w->fed[t + 1] ?
				w->pred[(size_t)b * S + t] : y[(size_t)b * S + t];
	}
	memcpy(pred, w->pred, (size_t)batch * S * sizeof(float));
}

void seq2seq_predict(struct seq2seq *m, struct seq2seq_work *w, const float *x,
		     size_t n, float *pred)
{
	size_t row = (size_t)m->cfg.seq_len * (size_t)m->cfg.input_size;
	size_t S = (size_t)m->cfg.horizon;

	for (size_t i = 0; i < n; i += (size_t)w->max_batch) {
		size_t b = n - i < (size_t)w->max_batch ? n - i : (size_t)w->max_batch;
		seq2seq_forward(m, w, x + i * row, NULL, (int)b, NULL, pred + i * S);
	}
}

/* --- inference (seq2seq_infer)
 *
 * Step by step through every layer, as rnn_predict() runs a stack: the
 * encoder's T steps from a zero state, then the decoder's from where the
 * encoder left each layer, so the scratch holds one (h, c) per layer and
 * one step's gates.  The weights are transposed once into [in][4H] and
 * [H][4H], the layout gemm_fixed_rows() reads; a row is one window. */

TENSOR_FUSED_BEGIN

/* One LSTM step of one row, (h, c) updated in place from the products 'g'
 * = x W_ih^T and 'q' = h W_hh^T: rnn.c's lstm_infer_row() arithmetic, so
 * that inference computes the cell training computes. */
TENSOR_CLONES static void lstm_row(int H, const float *restrict bi, const float *restrict bh,
				   const float *restrict g, const float *restrict q,
				   float *restrict c, float *restrict h)
{
	for (int j = 0; j < H; j++) {
		float i = tensor_sigmoid((g[j] + bi[j]) + (q[j] + bh[j]));
		float f = tensor_sigmoid((g[H + j] + bi[H + j]) + (q[H + j] + bh[H + j]));
		float gg = tensor_tanh((g[2 * H + j] + bi[2 * H + j]) +
				       (q[2 * H + j] + bh[2 * H + j]));
		float o = tensor_sigmoid((g[3 * H + j] + bi[3 * H + j]) +
					 (q[3 * H + j] + bh[3 * H + j]));
		float cn = f * c[j] + i * gg;
		c[j] = cn;
		h[j] = o * tensor_tanh(cn);
	}
}

TENSOR_FUSED_END

struct seq2seq_infer {
	int max_batch, layers;
	float *copy;                 /* the parameters the packed weights are of */
	float **w_ih[2], **w_hh[2];  /* per stack and layer: [in][4H], [H][4H] */
	float *gate, *gh;            /* [B][4H]: one step's products */
	float *h, *c;                /* [layers][B][H] */
	float *din, *col;            /* [B]: the decoder's input, the head's output */
};

/* 'w' [rows][cols] into 'wt' [cols][rows]. */
static void transpose(const float *w, int rows, int cols, float *wt)
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			wt[(size_t)c * rows + r] = w[(size_t)r * cols + c];
}

/* The weights of 'm' into the layouts of 's', and their copy. */
static void pack(const struct seq2seq *m, struct seq2seq_infer *s)
{
	int GH = GATES * m->cfg.hidden_size;

	for (int st = ENC; st <= DEC; st++) {
		for (int l = 0; l < m->cfg.num_layers; l++) {
			const struct tensor *p = &m->p.t[4 * (st * m->cfg.num_layers + l)];
			transpose(p[0].v, GH, stack_in(m, st, l), s->w_ih[st][l]);
			transpose(p[1].v, GH, m->cfg.hidden_size, s->w_hh[st][l]);
		}
	}
	memcpy(s->copy, m->p.value, m->p.total * sizeof(float));
}

struct seq2seq_infer *seq2seq_infer_new(const struct seq2seq *m, int max_batch)
{
	struct seq2seq_infer *s = xcalloc(1, sizeof(*s));
	size_t B = (size_t)max_batch, H = (size_t)m->cfg.hidden_size, GH = GATES * H;
	size_t L = (size_t)m->cfg.num_layers;

	assert(max_batch >= 1);
	s->max_batch = max_batch;
	s->layers = m->cfg.num_layers;
	s->copy = tensor_alloc(m->p.total);
	for (int st = ENC; st <= DEC; st++) {
		s->w_ih[st] = xcalloc(L, sizeof(float *));
		s->w_hh[st] = xcalloc(L, sizeof(float *));
		for (int l = 0; l < m->cfg.num_layers; l++) {
			s->w_ih[st][l] = tensor_alloc((size_t)stack_in(m, st, l) * GH);
			s->w_hh[st][l] = tensor_alloc(H * GH);
		}
	}
	s->gate = tensor_alloc(B * GH);
	s->gh = tensor_alloc(B * GH);
	s->h = tensor_alloc(L * B * H);
	s->c = tensor_alloc(L * B * H);
	s->din = tensor_alloc(B);
	s->col = tensor_alloc(B);
	pack(m, s);
	return s;
}

void seq2seq_infer_free(struct seq2seq_infer *s)
{
	if (!s)
		return;
	for (int st = ENC; st <= DEC; st++) {
		for (int l = 0; l < s->layers; l++) {
			tensor_free(s->w_ih[st][l]);
			tensor_free(s->w_hh[st][l]);
		}
		free(s->w_ih[st]);
		free(s->w_hh[st]);
	}
	tensor_free(s->copy);
	tensor_free(s->gate);
	tensor_free(s->gh);
	tensor_free(s->h);
	tensor_free(s->c);
	tensor_free(s->din);
	tensor_free(s->col);
	free(s);
}

/* One step of every layer of 'stack' for B rows, layer 0 reading 'x'
 * (row stride 'ldx'). */
static void infer_step(const struct seq2seq *m, struct seq2seq_infer *s, int stack,
		       const float *x, size_t ldx, int B)
{
	int H = m->cfg.hidden_size, GH = GATES * H;
	size_t BH = (size_t)B * (size_t)H;

	for (int l = 0; l < s->layers; l++) {
		const struct tensor *p = &m->p.t[4 * (stack * m->cfg.num_layers + l)];
		float *h = s->h + (size_t)l * BH, *c = s->c + (size_t)l * BH;
		const float *in = l ? h - BH : x;
		int k = stack_in(m, stack, l);
		gemm_fixed_rows(in, (size_t)B, l ? (size_t)H : ldx, k, s->w_ih[stack][l], GH,
			     s->gate);
		gemm_fixed_rows(h, (size_t)B, (size_t)H, H, s->w_hh[stack][l], GH, s->gh);
		for (int b = 0; b < B; b++)
			lstm_row(H, p[2].v, p[3].v, s->gate + (size_t)b * GH,
				 s->gh + (size_t)b * GH, c + (size_t)b * H, h + (size_t)b * H);
	}
}

/* B windows 'x' into 'pred' [B][horizon]. */
static void infer_batch(const struct seq2seq *m, struct seq2seq_infer *s, const float *x,
			int B, float *pred)
{
	int T = m->cfg.seq_len, F = m->cfg.input_size, S = m->cfg.horizon;
	int H = m->cfg.hidden_size, ti = m->cfg.target_index;
	size_t BH = (size_t)B * (size_t)H;
	const struct tensor *head = &m->p.t[8 * m->cfg.num_layers];
	const float *top = s->h + (size_t)(s->layers - 1) * BH;

	memset(s->h, 0, (size_t)s->layers * BH * sizeof(float));
	memset(s->c, 0, (size_t)s->layers * BH * sizeof(float));
	for (int t = 0; t < T; t++)
		infer_step(m, s, ENC, x + (size_t)t * F, (size_t)T * (size_t)F, B);
	for (int b = 0; b < B; b++)
		s->din[b] = ti >= 0 ? x[((size_t)b * T + T - 1) * F + ti] : 0.0f;
	for (int t = 0; t < S; t++) {
		infer_step(m, s, DEC, s->din, 1, B);
		/* head.weight [1, H] is its own transpose [H][1] */
		gemm_fixed_rows(top, (size_t)B, (size_t)H, H, head[0].v, 1, s->col);
		for (int b = 0; b < B; b++) {
			s->din[b] = s->col[b] + head[1].v[0];
			pred[(size_t)b * S + t] = s->din[b];
		}
	}
}

void seq2seq_infer(const struct seq2seq *m, struct seq2seq_infer *s, const float *x,
		   size_t n, float *pred)
{
	size_t row = (size_t)m->cfg.seq_len * (size_t)m->cfg.input_size;
	size_t S = (size_t)m->cfg.horizon;

	if (memcmp(s->copy, m->p.value, m->p.total * sizeof(float)))
		pack(m, s);
	for (size_t i = 0; i < n; i += (size_t)s->max_batch) {
		int B = n - i < (size_t)s->max_batch ? (int)(n - i) : s->max_batch;
		infer_batch(m, s, x + i * row, B, pred + i * S);
	}
}

/* --- backward */

static void mul_into(float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] *= b[i];
}

/* Decoder step 't' backward: dL/dpred of the step from 'dy' and, when
 * its prediction fed step t + 1, from that step's input; then the head
 * and the layers, top down, into the carried dh, dc and ddin[t]. */
static void decode_step_back(struct seq2seq *m, struct seq2seq_work *w, int t,
			     const float *dy)
{
	int B = w->batch, H = m->cfg.hidden_size, S = m->cfg.horizon, L = w->layers;
	struct tensor *head = head_params(m);
	const float *top = w->L[DEC][L - 1].h + (size_t)(t + 1) * B * H;
	size_t BH = (size_t)B * (size_t)H;
	float *dout = w->g_a, *din = w->g_b, *swap;

	for (int b = 0; b < B; b++)
		w->dp[b] = dy[(size_t)b * S + t] + (t + 1 < S && w->fed[t + 1] ?
			   w->ddin[(size_t)(t + 1) * B + b] : 0.0f);
	blas_gemm(BLAS_T, BLAS_N, 1, H, B, 1, w->dp, 1, top, H, 1, head[0].g, H);
	for (int b = 0; b < B; b++)
		head[1].g[0] += w->dp[b];
	blas_gemm(BLAS_N, BLAS_N, B, H, 1, 1, w->dp, 1, head[0].v, H, 0, dout, H);
	for (int l = L - 1; l >= 0; l--) {
		const float *in = l ? layer_input(w, DEC, l, t, H) : w->din + (size_t)t * B;
		struct rnn_seq s = layer_seq(m, w, DEC, l, t, 1, in);
		float *dx = l ? din : (w->fed[t] ? w->ddin + (size_t)t * B : NULL);
		rnn_seq_backward(&s, dout, w->dh[l], w->dc[l], dx);
		if (l && w->dropped)
			mul_into(din, w->L[DEC][l - 1].mask + (size_t)t * BH, BH);
		swap = dout;
		dout = din;
		din = swap;
	}
}

/* The encoder backward from the decoder's carried dL/dh_T and dL/dc_T. */
static void encode_back(struct seq2seq *m, struct seq2seq_work *w)
{
	int T = m->cfg.seq_len, H = m->cfg.hidden_size;
	size_t TBH = (size_t)T * (size_t)w->batch * (size_t)H;
	float *dout = w->g_a, *din = w->g_b, *swap;

	memset(dout, 0, TBH * sizeof(float));   /* only the final state is read */
	for (int l = w->layers - 1; l >= 0; l--) {
		const float *in = l ? layer_input(w, ENC, l, 0, H) : w->x;
		struct rnn_seq s = layer_seq(m, w, ENC, l, 0, T, in);
		rnn_seq_backward(&s, dout, w->dh[l], w->dc[l], l ? din : NULL);
		if (l && w->dropped)
			mul_into(din, w->L[ENC][l - 1].mask, TBH);
		swap = dout;
		dout = din;
		din = swap;
	}
}

void seq2seq_backward(struct seq2seq *m, struct seq2seq_work *w, const float *dy)
{
	size_t BH = (size_t)w->batch * (size_t)m->cfg.hidden_size;

	memset(m->p.grad, 0, m->p.total * sizeof(float));
	for (int l = 0; l < w->layers; l++) {
		memset(w->dh[l], 0, BH * sizeof(float));
		memset(w->dc[l], 0, BH * sizeof(float));
	}
	for (int t = m->cfg.horizon - 1; t >= 0; t--)
		decode_step_back(m, w, t, dy);
	encode_back(m, w);
}

/* --- files */

int seq2seq_save(const struct seq2seq *m, const char *path, json_t *meta,
		 struct err *err)
{
	struct safetensors_writer sw;
	char *text = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS |
				       JSON_ENCODE_ANY) : NULL;
	int rc;

	safetensors_writer_init(&sw);
	for (int i = 0; i < m->p.n; i++)
		safetensors_add(&sw, m->p.t[i].name, "F32", m->p.t[i].ndim,
				m->p.t[i].shape, m->p.t[i].v);
	safetensors_set_meta(&sw, "format", SEQ2SEQ_FORMAT);
	modelfile_set_meta_long(&sw, "num_layers", m->cfg.num_layers);
	modelfile_set_meta_long(&sw, "hidden_size", m->cfg.hidden_size);
	modelfile_set_meta_long(&sw, "input_size", m->cfg.input_size);
	modelfile_set_meta_long(&sw, "input_seq_len", m->cfg.seq_len);
	modelfile_set_meta_long(&sw, "output_size", m->cfg.horizon);
	modelfile_set_meta_long(&sw, "target_index", m->cfg.target_index);
	modelfile_set_meta_float(&sw, "dropout", m->cfg.dropout);
	modelfile_set_meta_float(&sw, "teacher_forcing", m->cfg.teacher_forcing);
	safetensors_set_meta(&sw, "meta", text ? text : "null");
	rc = safetensors_write(&sw, path, err);
	safetensors_writer_release(&sw);
	free(text);
	return rc;
}

/* The architecture from the metadata of a "dagrun.encoder_lstm.v1" file. */
static int read_config(const struct safetensors *st, const char *path,
		       struct seq2seq_config *cfg, struct err *err)
{
	long layers, hidden, in, len, out, ti;

	memset(cfg, 0, sizeof(*cfg));
	if (modelfile_meta_format(st, path, SEQ2SEQ_FORMAT, err))
		return -1;
	if (modelfile_meta_long(st, path, "num_layers", 1, LOAD_MAX_LAYERS, &layers, err) ||
	    modelfile_meta_long(st, path, "hidden_size", 1, LOAD_MAX_HIDDEN, &hidden, err) ||
	    modelfile_meta_long(st, path, "input_size", 1, LOAD_MAX_SIZE, &in, err) ||
	    modelfile_meta_long(st, path, "input_seq_len", 1, LOAD_MAX_SIZE, &len, err) ||
	    modelfile_meta_long(st, path, "output_size", 1, LOAD_MAX_SIZE, &out, err) ||
	    modelfile_meta_long(st, path, "target_index", -1, in - 1, &ti, err) ||
	    modelfile_meta_fraction(st, path, "dropout", MODELFILE_BELOW_ONE,
				    &cfg->dropout, err) ||
	    modelfile_meta_fraction(st, path, "teacher_forcing", MODELFILE_UP_TO_ONE,
				    &cfg->teacher_forcing, err))
		return -1;
	cfg->num_layers = (int)layers;
	cfg->hidden_size = (int)hidden;
	cfg->input_size = (int)in;
	cfg->seq_len = (int)len;
	cfg->horizon = (int)out;
	cfg->target_index = (int)ti;
	return 0;
}

struct seq2seq *seq2seq_load(const char *path, json_t **meta, struct err *err)
{
	struct safetensors *st = safetensors_read(path, err);
	struct seq2seq_config cfg;
	struct seq2seq *m = NULL;
	char arch[64];   /* 64: "<layers>-layer encoder-decoder LSTM", room to spare */

	if (!st || read_config(st, path, &cfg, err))
		goto out;
	m = declared(&cfg);
	snprintf(arch, sizeof(arch), "%d-layer encoder-decoder LSTM", cfg.num_layers);
	if (modelfile_load_tensors(&m->p, st, path, arch, meta, err)) {
		seq2seq_free(m);
		m = NULL;
	}
out:
	safetensors_free(st);
	return m;
}
