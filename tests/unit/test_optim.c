/* Unit tests for tasks/lib/optim.c: Adam and SGD against the update
 * rules written out in double (PyTorch's, see optim.h), weight decay,
 * clipping by global norm. */
#include "test.h"
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol * (1 + fabs(b));
}

TEST(adam_first_step_is_lr_times_sign)
{
	float p[3] = {1, -2, 0.5f}, g[3] = {0.5f, -3, 1e-3f};
	struct optim o;

	optim_init(&o, OPTIM_ADAM, 3, 0.1, 0);
	optim_step(&o, p, g);
	ASSERT(close_to(p[0], 0.9, 1e-6));
	ASSERT(close_to(p[1], -1.9, 1e-6));
	ASSERT(close_to(p[2], 0.4, 1e-4));
	ASSERT_EQ(o.step, 1);
	optim_release(&o);
}

/* Several steps with weight decay against the rule in double. */
TEST(adam_matches_the_rule)
{
	float p[2] = {0.3f, -0.7f};
	double q[2] = {0.3, -0.7}, m[2] = {0}, v[2] = {0};
	const double lr = 0.01, wd = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
	struct optim o;

	optim_init(&o, OPTIM_ADAM, 2, lr, wd);
	for (int t = 1; t <= 10; t++) {
		float g[2] = {(float)(0.2 * t - 1), (float)(0.5 / t)};
		optim_step(&o, p, g);
		for (int i = 0; i < 2; i++) {
			double gi = g[i] + wd * q[i];
			m[i] = b1 * m[i] + (1 - b1) * gi;
			v[i] = b2 * v[i] + (1 - b2) * gi * gi;
			q[i] -= lr / (1 - pow(b1, t)) * m[i] /
				(sqrt(v[i]) / sqrt(1 - pow(b2, t)) + eps);
		}
		ASSERT(close_to(p[0], q[0], 1e-5) && close_to(p[1], q[1], 1e-5));
	}
	optim_release(&o);
}

TEST(sgd_with_weight_decay)
{
	float p[2] = {1, -1}, g[2] = {0.5f, 0.25f};
	struct optim o;

	optim_init(&o, OPTIM_SGD, 2, 0.1, 0.01);
	optim_step(&o, p, g);
	ASSERT(close_to(p[0], 1 - 0.1 * (0.5 + 0.01), 1e-7));
	ASSERT(close_to(p[1], -1 - 0.1 * (0.25 - 0.01), 1e-7));
	ASSERT(o.m == NULL && o.v == NULL);
	optim_release(&o);
}

TEST(clip_by_global_norm)
{
	float g[4] = {3, 0, 0, 4}, h[2] = {0.3f, 0.4f};
	double n = optim_clip_norm(g, 4, 1.0);

	ASSERT(close_to(n, 5, 1e-12));
	ASSERT(close_to(optim_norm(g, 4), 1.0, 1e-6));
	ASSERT(close_to(g[0], 0.6, 1e-6) && close_to(g[3], 0.8, 1e-6));
	/* under the limit: untouched */
	ASSERT(close_to(optim_clip_norm(h, 2, 1.0), 0.5, 1e-6));
	ASSERT(h[0] == 0.3f && h[1] == 0.4f);
}

TEST(zero_gradient_leaves_adam_still)
{
	float p[1] = {2}, g[1] = {0};
	struct optim o;

	optim_init(&o, OPTIM_ADAM, 1, 0.1, 0);
	for (int i = 0; i < 3; i++)
		optim_step(&o, p, g);
	ASSERT(p[0] == 2);
	optim_release(&o);
}

/* The vector kernels (AVX-512, AVX2) and the portable one give the same
 * bits, the tail past the last full vector included (37 = 2 * 16 + 5). */
TEST(adam_kernels_agree_to_the_bit)
{
	static const char *const isa[3] = {"avx512", "avx2", "generic"};
	float p[3][37];
	struct optim o;

	for (int k = 0; k < 3; k++) {
		setenv("DAGRUN_RNN_ISA", isa[k], 1);
		optim_init(&o, OPTIM_ADAM, 37, 0.01, 0.001);
		for (int i = 0; i < 37; i++)
			p[k][i] = (float)(i % 7) * 0.1f - 0.3f;
		for (int t = 1; t <= 5; t++) {
			float g[37];
			for (int i = 0; i < 37; i++)
				g[i] = (float)((i * t) % 11) * 0.37f - 1.5f;
			optim_step(&o, p[k], g);
		}
		optim_release(&o);
	}
	unsetenv("DAGRUN_RNN_ISA");
	ASSERT(p[0][36] != (float)(36 % 7) * 0.1f - 0.3f);
	ASSERT(!memcmp(p[0], p[1], sizeof(p[0])));
	ASSERT(!memcmp(p[0], p[2], sizeof(p[0])));
}

TEST_LIST(T(adam_first_step_is_lr_times_sign), T(adam_kernels_agree_to_the_bit), T(adam_matches_the_rule),
	  T(sgd_with_weight_decay), T(clip_by_global_norm),
	  T(zero_gradient_leaves_adam_still))
