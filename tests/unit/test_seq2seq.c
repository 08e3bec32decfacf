/* Unit tests for tasks/lib/seq2seq.c (and rnn.c's rnn_seq under it):
 * gradients against central finite differences for the encoder, the
 * decoder fed its own predictions (the gradient flows back through them),
 * teacher forcing, stacked layers with fixed dropout masks and the head;
 * the decoder's first input; determinism and the model file; and rnn_seq
 * against a layer of rnn.c's own stack, for both cells.
 *
 * The finite differences are gradcheck.h's, as test_rnn.c's (the LSTM is
 * smooth: no kinks to dodge). */
#include "test.h"
#include "tmpdir.h"
#include "gradcheck.h"
#include "blas.h"
#include "loss.h"
#include "rnn.h"
#include "safetensors.h"
#include "seq2seq.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct seq2seq *m;
	struct seq2seq_work *w;
	float *x, *y, *pred, *dy;
	int batch;
	uint64_t drop_seed;      /* 0: inference (no dropout, no teacher) */
};

struct shape {
	int layers, hidden, in, T, S, target, batch;
	float dropout, teacher;
	uint64_t drop_seed;
	const char *prefix;
};

static void fixture_init(struct fixture *f, const struct shape *s)
{
	struct seq2seq_config cfg = {s->layers, s->hidden, s->in, s->T, s->S, s->target,
				     s->dropout, s->teacher};
	size_t nx = (size_t)s->batch * s->T * s->in, ny = (size_t)s->batch * s->S;
	struct tensor_set *p;
	struct rng r;

	memset(f, 0, sizeof(*f));
	f->m = seq2seq_new(&cfg);
	f->w = seq2seq_work_new(f->m, s->batch);
	f->batch = s->batch;
	f->drop_seed = s->drop_seed;
	rng_seed(&r, 17);
	p = seq2seq_params(f->m);
	/* larger than PyTorch's default, to reach the gates' saturating parts */
	for (int i = 0; i < p->n; i++)
		rng_fill_uniform(&r, p->t[i].v, p->t[i].count, -0.8f, 0.8f);
	f->x = xmalloc(nx * sizeof(float));
	f->y = xmalloc(ny * sizeof(float));
	f->pred = xmalloc(ny * sizeof(float));
	f->dy = xmalloc(ny * sizeof(float));
	rng_fill_uniform(&r, f->x, nx, -1.5f, 1.5f);
	rng_fill_uniform(&r, f->y, ny, -1, 1);
}

static void fixture_release(struct fixture *f)
{
	seq2seq_work_free(f->w);
	seq2seq_free(f->m);
	free(f->x);
	free(f->y);
	free(f->pred);
	free(f->dy);
}

/* The loss at the current weights; with 'grads', also the gradients.
 * The training generator starts from the same seed each time: fixed
 * dropout masks and teacher-forcing draws. */
static double loss_at(void *ctx, int grads)
{
	struct fixture *f = ctx;
	struct rng r;
	size_t ny = (size_t)f->batch * seq2seq_config(f->m)->horizon;
	double loss;

	rng_seed(&r, f->drop_seed);
	seq2seq_forward(f->m, f->w, f->x, f->y, f->batch, f->drop_seed ? &r : NULL,
			f->pred);
	loss = loss_mse(f->pred, f->y, ny, grads ? f->dy : NULL);
	if (grads)
		seq2seq_backward(f->m, f->w, f->dy);
	return loss;
}

static int check_shape(const struct shape *s)
{
	struct fixture f;
	int bad;

	int checked, live;

	fixture_init(&f, s);
	bad = gradcheck(seq2seq_params(f.m), loss_at, &f, s->prefix, &checked, &live);
	fixture_release(&f);
	return bad;
}

/* One layer, the decoder fed its own predictions (no generator: the
 * inference path, whose gradient is the same function's). */
TEST(gradcheck_feedback)
{
	ASSERT_EQ(check_shape(&(struct shape){1, 4, 3, 4, 3, 1, 3, 0, 0, 0, ""}), 0);
}

/* Teacher forcing on every step: the true values are inputs, constants. */
TEST(gradcheck_teacher_forcing)
{
	ASSERT_EQ(check_shape(&(struct shape){1, 4, 2, 3, 4, 0, 2, 0, 1, 5, ""}), 0);
}

/* Two layers each side, fixed dropout masks, half the steps forced. */
TEST(gradcheck_stacked_dropout)
{
	ASSERT_EQ(check_shape(&(struct shape){2, 3, 2, 4, 3, 1, 3, 0.3f, 0.5f, 9, ""}), 0);
}

/* The encoder alone, three layers, the target not among the features. */
TEST(gradcheck_encoder)
{
	ASSERT_EQ(check_shape(&(struct shape){3, 3, 2, 5, 2, -1, 2, 0, 0, 0, "encoder."}), 0);
}

TEST(gradcheck_head_one_step)
{
	ASSERT_EQ(check_shape(&(struct shape){2, 5, 3, 3, 1, 2, 4, 0, 0, 0, ""}), 0);
	ASSERT_EQ(check_shape(&(struct shape){1, 5, 3, 3, 4, 2, 4, 0, 0, 0, "head."}), 0);
}

/* Teacher forcing changes what training sees, never what predict does. */
TEST(teacher_forcing_trains_only)
{
	struct shape s = {1, 4, 2, 3, 3, 0, 2, 0, 1, 5, ""};
	struct fixture f;
	float free_run[6], forced[6], predicted[6];
	struct rng r;

	fixture_init(&f, &s);
	seq2seq_forward(f.m, f.w, f.x, NULL, 2, NULL, free_run);
	rng_seed(&r, 5);
	seq2seq_forward(f.m, f.w, f.x, f.y, 2, &r, forced);
	seq2seq_predict(f.m, f.w, f.x, 2, predicted);
	ASSERT(!memcmp(free_run, predicted, sizeof(free_run)));
	/* step 0 has the same input either way; step 1 differs */
	ASSERT(forced[0] == free_run[0] && forced[3] == free_run[3]);
	ASSERT(forced[1] != free_run[1]);
	fixture_release(&f);
}

/* The decoder's first input is the last step's target feature: with it
 * at 0 a model reading it predicts what one without a target (-1: 0)
 * does, from the same weights; moved, it does not. */
TEST(first_input_is_last_target)
{
	struct shape with = {1, 3, 2, 3, 2, 1, 1, 0, 0, 0, ""}, without = with;
	struct fixture a, b;
	float pa[2], pb[2];

	without.target = -1;
	fixture_init(&a, &with);
	fixture_init(&b, &without);
	a.x[2 * 2 + 1] = b.x[2 * 2 + 1] = 0;   /* step 2 (the last), feature 1 */
	seq2seq_predict(a.m, a.w, a.x, 1, pa);
	seq2seq_predict(b.m, b.w, b.x, 1, pb);
	ASSERT(!memcmp(pa, pb, sizeof(pa)));
	a.x[2 * 2 + 1] = b.x[2 * 2 + 1] = 0.5f;
	seq2seq_predict(a.m, a.w, a.x, 1, pa);
	seq2seq_predict(b.m, b.w, b.x, 1, pb);
	ASSERT(pa[0] != pb[0]);
	fixture_release(&a);
	fixture_release(&b);
}

TEST(deterministic)
{
	struct shape s = {2, 4, 3, 4, 3, 0, 5, 0.2f, 0.5f, 3, ""};
	struct fixture a, b;

	fixture_init(&a, &s);
	fixture_init(&b, &s);
	loss_at(&a, 1);
	loss_at(&b, 1);
	ASSERT(!memcmp(seq2seq_params(a.m)->grad, seq2seq_params(b.m)->grad,
		       seq2seq_params(a.m)->total * sizeof(float)));
	fixture_release(&a);
	fixture_release(&b);
}

TEST(save_names_and_shapes)
{
	struct shape s = {2, 4, 3, 5, 2, 1, 2, 0, 0, 0, ""};
	struct fixture f;
	struct err err;
	struct safetensors *st;
	const struct safetensors_tensor *t;
	char path[512];

	fixture_init(&f, &s);
	snprintf(path, sizeof(path), "%s/s2s.safetensors", tmp_dir());
	err_init(&err);
	ASSERT_EQ(seq2seq_save(f.m, path, NULL, &err), 0);
	st = safetensors_read(path, &err);
	ASSERT(st != NULL);
	ASSERT_STREQ(safetensors_meta(st, "format"), "dagrun.encoder_lstm.v1");
	ASSERT_STREQ(safetensors_meta(st, "output_size"), "2");
	ASSERT_STREQ(safetensors_meta(st, "target_index"), "1");
	ASSERT_EQ(safetensors_count(st), 2 * 2 * 4 + 2);
	t = safetensors_find(st, "encoder.weight_ih_l0");
	ASSERT(t && t->shape[0] == 16 && t->shape[1] == 3);
	t = safetensors_find(st, "decoder.weight_ih_l0");
	ASSERT(t && t->shape[0] == 16 && t->shape[1] == 1);
	t = safetensors_find(st, "decoder.weight_hh_l1");
	ASSERT(t && t->shape[0] == 16 && t->shape[1] == 4);
	t = safetensors_find(st, "head.weight");
	ASSERT(t && t->shape[0] == 1 && t->shape[1] == 4);
	safetensors_free(st);
	fixture_release(&f);
}

/* |a - b| <= 1e-5 + 1e-4 |b| for 'n' floats. */
static int close_to(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fabsf(a[i] - b[i]) > 1e-5f + 1e-4f * fabsf(b[i]))
			return 0;
	return 1;
}

/* One layer of 'cell' as rnn_forward/rnn_backward run it and as rnn_seq
 * runs it from a zero state, the head done by hand: the same outputs and
 * weight gradients (up to the products' rounding). */
static int seq_matches_rnn(enum rnn_cell_kind cell)
{
	enum { B = 3, T = 4, F = 2, H = 5, O = 2 };
	struct rnn_config cfg = {cell, 1, H, F, O, T, 0};
	struct rnn *m = rnn_new(&cfg);
	struct rnn_work *w = rnn_work_new(m, B, 1);
	struct tensor_set *p = rnn_params(m);
	int GH = rnn_cell_gates(cell) * H, ok;
	float x[B * T * F], xt[T * B * F], y[B * O], y2[B * O], dy[B * O];
	float *g = tensor_alloc(p->total), *dH = tensor_alloc((size_t)T * B * H);
	float *gate = tensor_alloc((size_t)T * B * GH), *aux = tensor_alloc((size_t)T * B * H);
	float *h = tensor_alloc((size_t)(T + 1) * B * H), *c = tensor_alloc((size_t)(T + 1) * B * H);
	float *work = tensor_alloc(rnn_seq_work_size(cell, T, B, H));
	float dh[B * H] = {0}, dc[B * H] = {0};
	struct rnn_seq s = {cell, T, B, F, H, p->t[0].v, p->t[1].v, p->t[2].v, p->t[3].v,
			    g + p->t[0].offset, g + p->t[1].offset, g + p->t[2].offset,
			    g + p->t[3].offset, xt, gate, aux, h,
			    cell == RNN_LSTM ? c : NULL, work};
	struct rng r;

	rng_seed(&r, 23);
	rnn_init(m, &r);
	rng_fill_uniform(&r, x, B * T * F, -1, 1);
	rng_fill_uniform(&r, dy, B * O, -1, 1);
	rnn_forward(m, w, x, B, NULL, y);
	rnn_backward(m, w, dy);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			memcpy(xt + (t * B + b) * F, x + (b * T + t) * F, F * sizeof(float));
	rnn_seq_forward(&s);
	/* the head on h[T], and its gradient into dH[T-1] */
	blas_gemm(BLAS_N, BLAS_T, B, O, H, 1, h + T * B * H, H, p->t[4].v, H, 0, y2, O);
	for (int b = 0; b < B; b++)
		for (int o = 0; o < O; o++)
			y2[b * O + o] += p->t[5].v[o];
	blas_gemm(BLAS_N, BLAS_N, B, H, O, 1, dy, O, p->t[4].v, H, 0,
		  dH + (T - 1) * B * H, H);
	rnn_seq_backward(&s, dH, dh, cell == RNN_LSTM ? dc : NULL, NULL);
	ok = close_to(y2, y, B * O) && close_to(g, p->grad, p->t[4].offset);
	rnn_work_free(w);
	rnn_free(m);
	tensor_free(g);
	tensor_free(dH);
	tensor_free(gate);
	tensor_free(aux);
	tensor_free(h);
	tensor_free(c);
	tensor_free(work);
	return ok;
}

TEST(rnn_seq_matches_rnn)
{
	ASSERT(seq_matches_rnn(RNN_GRU));
	ASSERT(seq_matches_rnn(RNN_LSTM));
}

TEST_LIST(T(gradcheck_feedback), T(gradcheck_teacher_forcing),
	  T(gradcheck_stacked_dropout), T(gradcheck_encoder),
	  T(gradcheck_head_one_step), T(teacher_forcing_trains_only),
	  T(first_input_is_last_target), T(deterministic),
	  T(save_names_and_shapes), T(rnn_seq_matches_rnn))
