/* Unit tests for tasks/lib/tcn.c: gradients against central finite
 * differences for the dilated causal convolutions, the 1x1 residual, the
 * head and fixed dropout masks; the receptive field; causality;
 * determinism and the model file.
 *
 * The finite differences are gradcheck.h's (as test_rnn.c's).  A ReLU makes the
 * loss piecewise linear: a step that carries a pre-activation across 0
 * spoils the difference, and a dead ReLU makes a zero gradient that
 * proves nothing.  So the fixtures draw wider weights than PyTorch's and
 * biases that lean positive (most ReLUs live, few sit near 0), and each
 * check also asks that at least half of the gradients are not 0.  (On
 * the dilated stack's shape with PyTorch's initialisation, where whole
 * paths are dead, tcn.c's gradients equal torch.autograd's to 2e-8;
 * t_parity_tcn.sh checks training end to end.) */
#include "test.h"
#include "tmpdir.h"
#include "gradcheck.h"
#include "loss.h"
#include "safetensors.h"
#include "tcn.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct tcn *m;
	struct tcn_work *w;
	float *x, *y, *pred, *dy;
	int batch;
	uint64_t drop_seed;      /* 0: no dropout */
};

/* A model of 'levels' blocks of 'ch' channels over 'in' features. */
static void fixture_init(struct fixture *f, int in, int out, int T, int k,
			 int levels, const int *ch, int batch, float dropout)
{
	struct tcn_config cfg = {in, out, T, k, levels, {0}, dropout};
	size_t nx = (size_t)batch * T * in, ny = (size_t)batch * out;
	struct rng r;

	for (int i = 0; i < levels; i++)
		cfg.channels[i] = ch[i];
	memset(f, 0, sizeof(*f));
	f->m = tcn_new(&cfg);
	f->w = tcn_work_new(f->m, batch);
	f->batch = batch;
	rng_seed(&r, 11);
	/* wider than PyTorch's default, and biases leaning positive: most
	 * ReLUs live, so every path carries a gradient */
	for (int i = 0; i < tcn_params(f->m)->n; i++) {
		struct tensor *t = &tcn_params(f->m)->t[i];
		int bias = t->ndim == 1;
		rng_fill_uniform(&r, t->v, t->count, bias ? -0.2f : -0.8f, bias ? 0.6f : 0.8f);
	}
	f->x = xmalloc(nx * sizeof(float));
	f->y = xmalloc(ny * sizeof(float));
	f->pred = xmalloc(ny * sizeof(float));
	f->dy = xmalloc(ny * sizeof(float));
	rng_fill_uniform(&r, f->x, nx, -1.5f, 1.5f);
	rng_fill_uniform(&r, f->y, ny, -1, 1);
}

static void fixture_release(struct fixture *f)
{
	tcn_work_free(f->w);
	tcn_free(f->m);
	free(f->x);
	free(f->y);
	free(f->pred);
	free(f->dy);
}

/* The loss at the current weights; with 'grads', also the gradients.
 * Dropout masks come from the same seed each time: a fixed mask. */
static double loss_at(void *ctx, int grads)
{
	struct fixture *f = ctx;
	struct rng r;
	size_t ny = (size_t)f->batch * tcn_config(f->m)->output_size;
	double loss;

	rng_seed(&r, f->drop_seed);
	tcn_forward(f->m, f->w, f->x, f->batch, f->drop_seed ? &r : NULL, f->pred);
	loss = loss_mse(f->pred, f->y, ny, grads ? f->dy : NULL);
	if (grads)
		tcn_backward(f->m, f->w, f->dy);
	return loss;
}

struct shape {
	int in, out, T, k, levels, ch[4], batch;
	float dropout;
	uint64_t drop_seed;
	const char *prefix;
};

static int check_shape(const struct shape *s)
{
	struct fixture f;
	int bad;

	int checked, live;

	fixture_init(&f, s->in, s->out, s->T, s->k, s->levels, s->ch, s->batch, s->dropout);
	f.drop_seed = s->drop_seed;
	bad = gradcheck(tcn_params(f.m), loss_at, &f, s->prefix, &checked, &live);
	fixture_release(&f);
	if (live * 2 < checked) {
		fprintf(stderr, "  %d of %d gradients of %s* are not 0 (expected at "
			"least half: a check of zeros proves little)\n", live, checked,
			s->prefix);
		return bad + 1;
	}
	return bad;
}

/* One block, 2 features to 3 channels: both convolutions and the 1x1
 * residual, kernel 3, dilation 1. */
TEST(gradcheck_block_downsample)
{
	ASSERT_EQ(check_shape(&(struct shape){2, 2, 5, 3, 1, {3}, 3, 0, 0, "blocks."}), 0);
}

/* Three blocks of dilations 1, 2, 4 (the last sees past the window's
 * start: the causal zeros), an identity residual in the middle. */
TEST(gradcheck_dilated_stack)
{
	ASSERT_EQ(check_shape(&(struct shape){2, 1, 7, 2, 3, {3, 3, 2}, 2, 0, 0, ""}), 0);
}

/* Kernel 1: a stack of 1x1 convolutions. */
TEST(gradcheck_kernel_one)
{
	ASSERT_EQ(check_shape(&(struct shape){3, 2, 4, 1, 2, {2, 4}, 3, 0, 0, ""}), 0);
}

TEST(gradcheck_head)
{
	ASSERT_EQ(check_shape(&(struct shape){3, 3, 6, 3, 2, {4, 4}, 4, 0, 0, "head."}), 0);
}

/* A fixed dropout mask after every ReLU is part of the function. */
TEST(gradcheck_dropout_mask)
{
	ASSERT_EQ(check_shape(&(struct shape){2, 2, 6, 2, 2, {3, 2}, 3, 0.3f, 9, ""}), 0);
}

TEST(receptive_field)
{
	struct tcn_config cfg = {1, 1, 8, 3, 3, {4, 4, 4}, 0};

	ASSERT_EQ(tcn_receptive_field(&cfg), 1 + 2 * 2 * 7);
	cfg.kernel_size = 1;
	ASSERT_EQ(tcn_receptive_field(&cfg), 1);
}

/* Causal: changing the window's first step changes the prediction only
 * when the receptive field reaches it. */
TEST(causal)
{
	struct fixture f;
	float before[2];
	int ch[2] = {3, 3};

	/* receptive field 1 + 2 * 1 * 3 = 7 */
	fixture_init(&f, 2, 1, 8, 2, 2, ch, 2, 0);
	tcn_forward(f.m, f.w, f.x, 2, NULL, before);
	f.x[0] += 1;       /* window 0, step 0: beyond 7 steps back */
	f.x[16 + 2] += 1;  /* window 1, step 1: the oldest step it sees */
	tcn_forward(f.m, f.w, f.x, 2, NULL, f.pred);
	ASSERT(f.pred[0] == before[0]);
	ASSERT(f.pred[1] != before[1]);
	fixture_release(&f);
}

/* The same seed gives the same bytes; predict agrees with forward. */
TEST(deterministic_and_predict)
{
	struct fixture a, b;
	int ch[2] = {4, 3};
	float *p;

	fixture_init(&a, 3, 2, 6, 3, 2, ch, 5, 0.2f);
	fixture_init(&b, 3, 2, 6, 3, 2, ch, 5, 0.2f);
	a.drop_seed = b.drop_seed = 3;
	loss_at(&a, 1);
	loss_at(&b, 1);
	ASSERT(!memcmp(tcn_params(a.m)->grad, tcn_params(b.m)->grad,
		       tcn_params(a.m)->total * sizeof(float)));
	tcn_forward(a.m, a.w, a.x, 5, NULL, a.pred);
	p = xmalloc(10 * sizeof(float));
	tcn_predict(b.m, b.w, b.x, 5, p);
	ASSERT(!memcmp(p, a.pred, 10 * sizeof(float)));
	free(p);
	fixture_release(&a);
	fixture_release(&b);
}

TEST(save_names_and_shapes)
{
	struct fixture f;
	struct err err;
	struct safetensors *st;
	const struct safetensors_tensor *t;
	int ch[2] = {4, 4};
	char path[512];

	fixture_init(&f, 3, 2, 6, 3, 2, ch, 2, 0);
	snprintf(path, sizeof(path), "%s/tcn.safetensors", tmp_dir());
	err_init(&err);
	ASSERT_EQ(tcn_save(f.m, path, NULL, &err), 0);
	st = safetensors_read(path, &err);
	ASSERT(st != NULL);
	ASSERT_STREQ(safetensors_meta(st, "format"), "dagrun.tcn.v1");
	ASSERT_STREQ(safetensors_meta(st, "channels"), "[4,4]");
	ASSERT_STREQ(safetensors_meta(st, "receptive_field"), "13");
	/* block 0 maps 3 features to 4 channels: a downsample; block 1 none */
	ASSERT_EQ(safetensors_count(st), 4 + 2 + 4 + 2);
	t = safetensors_find(st, "blocks.0.downsample.weight");
	ASSERT(t && t->ndim == 3 && t->shape[0] == 4 && t->shape[1] == 3 && t->shape[2] == 1);
	t = safetensors_find(st, "blocks.1.conv1.weight");
	ASSERT(t && t->shape[0] == 4 && t->shape[1] == 4 && t->shape[2] == 3);
	ASSERT(safetensors_find(st, "blocks.1.downsample.weight") == NULL);
	t = safetensors_find(st, "head.weight");
	ASSERT(t && t->shape[0] == 2 && t->shape[1] == 4);
	safetensors_free(st);
	fixture_release(&f);
}

TEST_LIST(T(gradcheck_block_downsample), T(gradcheck_dilated_stack),
	  T(gradcheck_kernel_one), T(gradcheck_head), T(gradcheck_dropout_mask),
	  T(receptive_field), T(causal), T(deterministic_and_predict),
	  T(save_names_and_shapes))
