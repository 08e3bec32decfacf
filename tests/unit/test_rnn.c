/* Unit tests for tasks/lib/rnn.c (and the loss it trains on): gradients
 * against central finite differences for every layer kind, determinism,
 * and the model file round trip.
 *
 * The finite differences run the float forward pass; the loss is summed
 * in double, so with a step of 1e-2 the truncation (~1e-5) and rounding
 * (~1e-6) errors stay far below the tolerance: |analytic - numeric| <=
 * 2e-4 + 2e-2 * |numeric|.  Each check is made twice, at steps 1e-2 and
 * 5e-3; a real bug fails both, noise fails neither. */
#include "test.h"
#include "tmpdir.h"
#include "loss.h"
#include "optim.h"
#include "rnn.h"
#include "safetensors.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct rnn *m;
	struct rnn_work *w;
	float *x, *y, *pred, *dy;
	int batch;
	uint64_t drop_seed;      /* 0: no dropout */
};

static void fixture_init(struct fixture *f, enum rnn_cell_kind cell, int layers,
			 int hidden, int in, int out, int T, int batch, float dropout,
			 int threads)
{
	struct rnn_config cfg = {cell, layers, hidden, in, out, T, dropout};
	size_t nx = (size_t)batch * T * in, ny = (size_t)batch * out;
	struct rng r;

	memset(f, 0, sizeof(*f));
	f->m = rnn_new(&cfg);
	f->w = rnn_work_new(f->m, batch, threads);
	f->batch = batch;
	rng_seed(&r, 42);
	/* weights a little larger than PyTorch's default, to reach the
	 * saturating parts of the gates too */
	for (int i = 0; i < rnn_params(f->m)->n; i++)
		rng_fill_uniform(&r, rnn_params(f->m)->t[i].v, rnn_params(f->m)->t[i].count,
				 -0.8f, 0.8f);
	f->x = xmalloc(nx * sizeof(float));
	f->y = xmalloc(ny * sizeof(float));
	f->pred = xmalloc(ny * sizeof(float));
	f->dy = xmalloc(ny * sizeof(float));
	rng_fill_uniform(&r, f->x, nx, -1.5f, 1.5f);
	rng_fill_uniform(&r, f->y, ny, -1, 1);
}

static void fixture_release(struct fixture *f)
{
	rnn_work_free(f->w);
	rnn_free(f->m);
	free(f->x);
	free(f->y);
	free(f->pred);
	free(f->dy);
}

/* The loss at the current weights; with 'grads', also the gradients.
 * Dropout masks are drawn from the same seed each time: a fixed mask. */
static double loss_at(struct fixture *f, int grads)
{
	struct rng r;
	size_t ny = (size_t)f->batch * rnn_config(f->m)->output_size;
	double loss;

	rng_seed(&r, f->drop_seed);
	rnn_forward(f->m, f->w, f->x, f->batch, f->drop_seed ? &r : NULL, f->pred);
	loss = loss_mse(f->pred, f->y, ny, grads ? f->dy : NULL);
	if (grads)
		rnn_backward(f->m, f->w, f->dy);
	return loss;
}

/* Central difference of the loss along parameter 'v[i]'. */
static double numeric(struct fixture *f, float *v, size_t i, float h)
{
	float keep = v[i];
	double up, down;

	v[i] = keep + h;
	up = loss_at(f, 0);
	v[i] = keep - h;
	down = loss_at(f, 0);
	v[i] = keep;
	return (up - down) / ((double)(keep + h) - (double)(keep - h));
}

/* Check every 'step'th element of the tensors whose names start with
 * 'prefix'.  Returns the number of mismatches; prints the first few. */
static int gradcheck_every(struct fixture *f, const char *prefix, size_t step)
{
	struct tensor_set *p = rnn_params(f->m);
	float *grad = xmalloc(p->total * sizeof(float));
	int bad = 0, checked = 0;

	loss_at(f, 1);
	memcpy(grad, p->grad, p->total * sizeof(float));
	for (int k = 0; k < p->n; k++) {
		struct tensor *t = &p->t[k];
		if (strncmp(t->name, prefix, strlen(prefix)))
			continue;
		for (size_t i = 0; i < t->count; i += step, checked++) {
			double a = grad[t->offset + i];
			double n1 = numeric(f, t->v, i, 1e-2f), n2 = numeric(f, t->v, i, 5e-3f);
			int off1 = fabs(a - n1) > 2e-4 + 2e-2 * fabs(n1);
			int off2 = fabs(a - n2) > 2e-4 + 2e-2 * fabs(n2);
			if (off1 && off2 && bad++ < 5)
				fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g / %.6g\n",
					t->name, i, a, n1, n2);
		}
	}
	free(grad);
	if (checked == 0) {
		fprintf(stderr, "  no tensor named %s*\n", prefix);
		return 1;
	}
	return bad;
}

static int gradcheck(struct fixture *f, const char *prefix)
{
	return gradcheck_every(f, prefix, 1);
}

/* One gradient check: a model of this shape, the tensors named 'prefix'*,
 * with a fixed dropout mask when 'drop_seed' is not 0.  Mismatches. */
struct shape {
	enum rnn_cell_kind cell;
	int layers, hidden, in, out, T, batch;
	float dropout;
	int threads;
	uint64_t drop_seed;
	const char *prefix;
};

static int check_shape(const struct shape *s)
{
	struct fixture f;
	int bad;

	fixture_init(&f, s->cell, s->layers, s->hidden, s->in, s->out, s->T, s->batch,
		     s->dropout, s->threads);
	f.drop_seed = s->drop_seed;
	bad = gradcheck(&f, s->prefix);
	fixture_release(&f);
	return bad;
}

TEST(gradcheck_gru_cell)
{
	ASSERT_EQ(check_shape(&(struct shape){RNN_GRU, 1, 5, 3, 2, 4, 3, 0, 1, 0, "rnn."}), 0);
}

TEST(gradcheck_lstm_cell)
{
	ASSERT_EQ(check_shape(&(struct shape){RNN_LSTM, 1, 5, 3, 2, 4, 3, 0, 1, 0, "rnn."}), 0);
}

/* Three layers; the LSTM on two threads (slices of 2 and 1 rows). */
TEST(gradcheck_multi_layer)
{
	ASSERT_EQ(check_shape(&(struct shape){RNN_GRU, 3, 4, 2, 3, 5, 2, 0, 1, 0, ""}), 0);
	ASSERT_EQ(check_shape(&(struct shape){RNN_LSTM, 3, 4, 2, 3, 5, 3, 0, 2, 0, ""}), 0);
}

/* Hidden 33: the weight gradients of W_hh and of the second layer's W_ih
 * go through pgemm's packed product (A transposed), with a panel of one
 * column past the full ones; 9 rows on 2 threads: slices of 3, 2, 2, 2.
 * Every 13th weight, to stay quick. */
TEST(gradcheck_wide_layers)
{
	for (int c = 0; c < 2; c++) {
		struct fixture f;
		int bad;
		fixture_init(&f, (enum rnn_cell_kind)c, 2, 33, 3, 2, 3, 9, 0, 2);
		bad = gradcheck_every(&f, "rnn.weight", 13);
		fixture_release(&f);
		ASSERT_EQ(bad, 0);
	}
}

TEST(gradcheck_head)
{
	ASSERT_EQ(check_shape(&(struct shape){RNN_LSTM, 2, 6, 3, 4, 3, 5, 0, 1, 0, "head."}), 0);
}

/* One time step: no recurrence, only the cells and the head. */
TEST(gradcheck_single_step)
{
	ASSERT_EQ(check_shape(&(struct shape){RNN_GRU, 2, 3, 2, 1, 1, 4, 0, 1, 0, ""}), 0);
	ASSERT_EQ(check_shape(&(struct shape){RNN_LSTM, 2, 3, 2, 1, 1, 4, 0, 1, 0, ""}), 0);
}

/* A fixed dropout mask between layers is part of the function; the GRU on
 * three threads, one row each. */
TEST(gradcheck_dropout_mask)
{
	ASSERT_EQ(check_shape(&(struct shape){RNN_GRU, 3, 5, 2, 2, 4, 3, 0.4f, 3, 7, ""}), 0);
	ASSERT_EQ(check_shape(&(struct shape){RNN_LSTM, 2, 5, 2, 2, 4, 3, 0.4f, 1, 7, ""}), 0);
}

TEST(gradcheck_mse)
{
	float p[5] = {0.5f, -1, 2, 0, 3}, y[5] = {1, -1, 0.5f, -2, 2.5f}, g[5];
	double loss = loss_mse(p, y, 5, g);

	ASSERT(fabs(loss - (0.25 + 0 + 2.25 + 4 + 0.25) / 5) < 1e-12);
	for (int i = 0; i < 5; i++) {
		float keep = p[i];
		double up, down;
		p[i] = keep + 1e-2f;
		up = loss_mse(p, y, 5, NULL);
		p[i] = keep - 1e-2f;
		down = loss_mse(p, y, 5, NULL);
		p[i] = keep;
		ASSERT(fabs(g[i] - (up - down) / 2e-2) < 1e-5);
	}
	ASSERT(loss_mse(p, y, 0, NULL) == 0);
}

/* The fused loops' activations against libm over the range that matters
 * (and past it, where they must saturate, not overflow). */
TEST(activations_are_accurate)
{
	double worst_exp = 0, worst_tanh = 0, worst_sig = 0;

	for (float x = -30; x <= 30; x += 0.00123f) {
		double e = exp(x), t = tanh(x), s = 1 / (1 + exp(-(double)x));
		worst_exp = fmax(worst_exp, fabs(tensor_expf(x) - e) / e);
		worst_tanh = fmax(worst_tanh, fabs(tensor_tanh(x) - t));
		worst_sig = fmax(worst_sig, fabs(tensor_sigmoid(x) - s));
	}
	ASSERT(worst_exp < 3e-7);
	ASSERT(worst_tanh < 3e-7);
	ASSERT(worst_sig < 2e-7);
	ASSERT(tensor_tanh(1e-20f) == 1e-20f);
	ASSERT(tensor_tanh(100) == 1 && tensor_tanh(-100) == -1);
	ASSERT(tensor_sigmoid(-200) >= 0 && tensor_sigmoid(200) == 1);
	ASSERT(isfinite(tensor_expf(1000)) && tensor_expf(-1000) > 0);
}

/* Gradients on 1 and on 3 threads (slices of 3, 3 and 2 rows) agree to
 * rounding: the slices' sum is the whole batch's. */
TEST(threads_split_the_batch)
{
	struct fixture one, three;
	struct tensor_set *a, *b;
	double worst = 0;

	fixture_init(&one, RNN_LSTM, 2, 6, 3, 2, 4, 8, 0, 1);
	fixture_init(&three, RNN_LSTM, 2, 6, 3, 2, 4, 8, 0, 3);
	loss_at(&one, 1);
	loss_at(&three, 1);
	a = rnn_params(one.m);
	b = rnn_params(three.m);
	for (size_t i = 0; i < a->total; i++) {
		double d = fabs(a->grad[i] - b->grad[i]) / (1e-3 + fabs(a->grad[i]));
		worst = d > worst ? d : worst;
	}
	for (int i = 0; i < 8 * 2; i++)
		ASSERT(fabs(one.pred[i] - three.pred[i]) < 1e-6);
	ASSERT(worst < 1e-4);
	fixture_release(&one);
	fixture_release(&three);
}

/* A batch's results do not depend on the batches before it: a regression
 * test for the initial state left dirty by a larger batch's rows. */
TEST(batches_do_not_leak_into_each_other)
{
	struct fixture f;
	float first[4 * 2], again[4 * 2], small[2];

	for (int c = 0; c < 2; c++) {
		fixture_init(&f, (enum rnn_cell_kind)c, 2, 5, 3, 2, 4, 4, 0, 1);
		rnn_forward(f.m, f.w, f.x, 1, NULL, small);
		rnn_forward(f.m, f.w, f.x, 4, NULL, first);
		rnn_forward(f.m, f.w, f.x + 3 * 4 * 3, 1, NULL, small);
		rnn_forward(f.m, f.w, f.x, 4, NULL, again);
		ASSERT(!memcmp(first, again, sizeof(first)));
		ASSERT(!memcmp(small, first + 3 * 2, sizeof(small)));
		fixture_release(&f);
	}
}

/* A short training run from 'seed'; the model file's bytes into '*out'. */
static char *train_and_save(enum rnn_cell_kind cell, uint64_t seed, int threads,
			    size_t *len)
{
	struct fixture f;
	struct optim o;
	struct rng r;
	struct err err;
	char path[600], *buf = NULL;

	fixture_init(&f, cell, 2, 8, 3, 2, 6, 4, 0.2f, threads);
	rng_seed(&r, seed);
	rnn_init(f.m, &r);
	optim_init(&o, OPTIM_ADAM, rnn_params(f.m)->total, 1e-2, 1e-4);
	for (int step = 0; step < 5; step++) {
		f.drop_seed = seed + 100 + (uint64_t)step;
		loss_at(&f, 1);
		optim_clip_norm(rnn_params(f.m)->grad, rnn_params(f.m)->total, 1.0);
		optim_step(&o, rnn_params(f.m)->value, rnn_params(f.m)->grad);
	}
	snprintf(path, sizeof(path), "%s/det.safetensors", tmp_dir());
	err_init(&err);
	if (rnn_save(f.m, path, NULL, &err) || fs_read_file(path, &buf, len, &err))
		fprintf(stderr, "%s\n", err.msg);
	optim_release(&o);
	fixture_release(&f);
	return buf;
}

TEST(same_seed_same_bytes)
{
	for (int c = 0; c < 2; c++) {
		size_t la, lb, lc;
		int th = 1 + c;   /* GRU on one thread, LSTM on two */
		char *a = train_and_save((enum rnn_cell_kind)c, 3, th, &la);
		char *b = train_and_save((enum rnn_cell_kind)c, 3, th, &lb);
		char *d = train_and_save((enum rnn_cell_kind)c, 4, th, &lc);
		int same = a && b && la == lb && !memcmp(a, b, la);
		int differ = d && (la != lc || memcmp(a, d, la));
		free(a);
		free(b);
		free(d);
		ASSERT(same);
		ASSERT(differ);
	}
}

TEST(save_load_predicts_the_same)
{
	struct fixture f;
	struct err err;
	json_t *meta = json_pack("{s:s, s:i}", "target", "OT", "input_seq_len", 4), *back = NULL;
	char path[600];
	struct rnn *m2;
	struct rnn_work *w2;
	float y1[6], y2[6];

	fixture_init(&f, RNN_LSTM, 2, 5, 3, 2, 4, 3, 0.5f, 1);
	snprintf(path, sizeof(path), "%s/model.safetensors", tmp_dir());
	err_init(&err);
	ASSERT_EQ(rnn_save(f.m, path, meta, &err), 0);
	m2 = rnn_load(path, &back, &err);
	ASSERT(m2 != NULL);
	ASSERT_EQ(rnn_config(m2)->cell, RNN_LSTM);
	ASSERT_EQ(rnn_config(m2)->num_layers, 2);
	ASSERT(json_equal(meta, back));
	w2 = rnn_work_new(m2, 2, 2);
	rnn_predict(f.m, f.w, f.x, 3, y1);
	rnn_predict(m2, w2, f.x, 3, y2);
	rnn_work_free(w2);
	ASSERT(!memcmp(y1, y2, sizeof(y1)));
	rnn_free(m2);
	json_decref(meta);
	json_decref(back);
	fixture_release(&f);
}

TEST(residual_adds_the_last_step_and_round_trips)
{
	enum { B = 3, T = 4, F = 3, OUT = 2 };
	struct rnn_residual r = {1, 2.0f, 0.5f};
	struct fixture f;
	struct err err;
	char path[600];
	struct rnn *m2;
	struct rnn_work *w2;
	size_t total;
	float y0[B * OUT], y1[B * OUT], p0[B * OUT], p1[B * OUT], p2[B * OUT], *g0;

	fixture_init(&f, RNN_GRU, 2, 5, F, OUT, T, B, 0, 2);
	total = rnn_params(f.m)->total;
	g0 = xmalloc(total * sizeof(float));
	ASSERT(rnn_residual(f.m) == NULL);
	rnn_forward(f.m, f.w, f.x, B, NULL, y0);
	rnn_backward(f.m, f.w, f.y);
	memcpy(g0, rnn_params(f.m)->grad, total * sizeof(float));
	rnn_predict(f.m, f.w, f.x, B, p0);
	rnn_set_residual(f.m, &r);
	ASSERT(rnn_residual(f.m) && rnn_residual(f.m)->index == 1);
	rnn_forward(f.m, f.w, f.x, B, NULL, y1);
	rnn_backward(f.m, f.w, f.y);
	rnn_predict(f.m, f.w, f.x, B, p1);
	for (int b = 0; b < B; b++) {
		float skip = 2.0f * f.x[(size_t)b * T * F + (T - 1) * F + 1] + 0.5f;
		for (int k = 0; k < OUT; k++) {
			ASSERT(y1[b * OUT + k] == y0[b * OUT + k] + skip);
			ASSERT(p1[b * OUT + k] == p0[b * OUT + k] + skip);
		}
	}
	/* the skip has no parameters: the same gradients for the same dy */
	ASSERT(!memcmp(g0, rnn_params(f.m)->grad, total * sizeof(float)));
	snprintf(path, sizeof(path), "%s/residual.safetensors", tmp_dir());
	err_init(&err);
	ASSERT_EQ(rnn_save(f.m, path, NULL, &err), 0);
	m2 = rnn_load(path, NULL, &err);
	ASSERT(m2 != NULL);
	ASSERT(rnn_residual(m2) && rnn_residual(m2)->index == 1 &&
	       rnn_residual(m2)->scale == 2.0f && rnn_residual(m2)->shift == 0.5f);
	w2 = rnn_work_new_predict(m2, 1, 1);
	rnn_predict(m2, w2, f.x, B, p2);
	ASSERT(!memcmp(p1, p2, sizeof(p1)));
	rnn_work_free(w2);
	rnn_free(m2);
	rnn_set_residual(f.m, NULL);
	ASSERT(rnn_residual(f.m) == NULL);
	free(g0);
	fixture_release(&f);
}

/* A model file with its metadata changed to 'key' = 'value'. */
static const char *doctored(const char *key, const char *value)
{
	static char path[600];
	struct safetensors_writer w;
	struct fixture f;
	struct err err;
	struct tensor_set *p;

	fixture_init(&f, RNN_GRU, 1, 3, 2, 1, 2, 1, 0, 1);
	p = rnn_params(f.m);
	safetensors_writer_init(&w);
	for (int i = 0; i < p->n; i++)
		safetensors_add(&w, p->t[i].name, "F32", p->t[i].ndim, p->t[i].shape, p->t[i].v);
	safetensors_set_meta(&w, "format", "dagrun.rnn.v1");
	safetensors_set_meta(&w, "cell", "gru");
	safetensors_set_meta(&w, "num_layers", "1");
	safetensors_set_meta(&w, "hidden_size", "3");
	safetensors_set_meta(&w, "input_size", "2");
	safetensors_set_meta(&w, "output_size", "1");
	safetensors_set_meta(&w, "input_seq_len", "2");
	safetensors_set_meta(&w, key, value);
	snprintf(path, sizeof(path), "%s/doctored.safetensors", tmp_dir());
	err_init(&err);
	if (safetensors_write(&w, path, &err))
		fprintf(stderr, "%s\n", err.msg);
	safetensors_writer_release(&w);
	fixture_release(&f);
	return path;
}

TEST(load_refuses_other_files)
{
	struct err err;
	struct rnn *m;
	const char *p = tmp_write("junk.safetensors", "not a model");

	err_init(&err);
	ASSERT(rnn_load(p, NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "not a valid safetensors file");
	m = rnn_load(doctored("cell", "gru"), NULL, &err);
	ASSERT(m != NULL);
	rnn_free(m);
	ASSERT(rnn_load(doctored("format", "other"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'format' is 'other' (expected 'dagrun.rnn.v1')");
	ASSERT(rnn_load(doctored("cell", "rnn"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'cell' is 'rnn' (expected gru or lstm)");
	ASSERT(rnn_load(doctored("num_layers", "2x"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'num_layers' is '2x' (expected an integer");
	/* a header that claims a huge model is refused before any allocation */
	ASSERT(rnn_load(doctored("hidden_size", "65536"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "weights (expected");
	ASSERT(rnn_load(doctored("cell", "lstm"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "weights (expected");
	/* the residual skip: a feature of the model, finite numbers */
	ASSERT(rnn_load(doctored("residual_index", "2"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'residual_index' is '2' (expected an integer from 0 to 1)");
	ASSERT(rnn_load(doctored("residual_index", "1"), NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'residual_scale' is missing");
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(gradcheck_gru_cell), T(gradcheck_lstm_cell), T(gradcheck_multi_layer),
	  T(gradcheck_wide_layers),
	  T(gradcheck_head), T(gradcheck_single_step), T(gradcheck_dropout_mask),
	  T(gradcheck_mse), T(activations_are_accurate), T(threads_split_the_batch), T(batches_do_not_leak_into_each_other),
	  T(same_seed_same_bytes), T(save_load_predicts_the_same),
	  T(residual_adds_the_last_step_and_round_trips),
	  T(load_refuses_other_files), T(cleanup))
