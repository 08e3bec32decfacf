/* Unit tests for tasks/lib/metrics.c and tasks/lib/rng.c: metrics
 * against values worked out by hand (and scikit-learn's conventions),
 * the generator's determinism and ranges. */
#include "test.h"
#include "metrics.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>

static int close_to(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (1 + fabs(b));
}

TEST(regression_metrics)
{
	float y[4] = {1, 2, 3, 4}, p[4] = {1, 2, 3, 6};

	ASSERT(close_to(metric_mse(y, p, 4, 1), 1.0));
	ASSERT(close_to(metric_rmse(y, p, 4, 1), 1.0));
	ASSERT(close_to(metric_mae(y, p, 4, 1), 0.5));
	/* ss_res 4, ss_tot 5 */
	ASSERT(close_to(metric_r2(y, p, 4, 1), 1 - 4.0 / 5));
}

TEST(r2_averages_columns)
{
	/* two columns: [1,3] vs [1,3] is perfect; [2,2] is constant and
	 * missed: scikit-learn scores it 0 */
	float y[4] = {1, 2, 3, 2}, p[4] = {1, 2, 3, 5};

	ASSERT(close_to(metric_r2(y, p, 2, 2), 0.5));
	ASSERT(close_to(metric_r2(y, y, 2, 2), 1.0));
	ASSERT(isnan(metric_r2(y, p, 0, 2)));
	ASSERT(isnan(metric_mse(y, p, 0, 1)));
}

TEST(rng_is_deterministic)
{
	struct rng a, b, c;

	rng_seed(&a, 0);
	rng_seed(&b, 0);
	rng_seed(&c, 1);
	for (int i = 0; i < 100; i++) {
		uint64_t x = rng_next(&a);
		ASSERT(x == rng_next(&b));
		ASSERT(x != rng_next(&c));
	}
}

TEST(rng_ranges)
{
	struct rng r;
	size_t v[10];
	int seen[10] = {0};
	float f[1000];

	rng_seed(&r, 9);
	for (int i = 0; i < 10000; i++) {
		float x = rng_float(&r);
		ASSERT(x >= 0 && x < 1);
		ASSERT(rng_below(&r, 7) < 7);
	}
	rng_fill_uniform(&r, f, 1000, -0.25f, 0.25f);
	for (int i = 0; i < 1000; i++)
		ASSERT(f[i] >= -0.25f && f[i] < 0.25f);
	for (int i = 0; i < 10; i++)
		v[i] = (size_t)i;
	rng_shuffle(&r, v, 10);
	for (int i = 0; i < 10; i++)
		seen[v[i]]++;
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(seen[i], 1);
}

TEST_LIST(T(regression_metrics), T(r2_averages_columns), T(rng_is_deterministic),
	  T(rng_ranges))
