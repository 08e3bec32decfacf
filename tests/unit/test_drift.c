/* Unit tests for tasks/lib/drift.c: each statistic against values worked
 * out by hand (the working is in the comments), the zero-denominator
 * rule, and the health verdict at and around every threshold.  Parity
 * with numpy and scipy on random samples is checked through the real
 * binary by tests/integration/t_drift.sh. */
#include "test.h"
#include "drift.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static int close_to(double a, double b)
{
	return fabs(a - b) <= 1e-12 * (1 + fabs(b));
}

TEST(quantile_is_numpy_linear)
{
	double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	double one[1] = {7};

	/* index (n - 1) p: 0.9 -> 1.9, 4.5 -> 5.5, 8.1 -> 9.1 */
	ASSERT(close_to(drift_quantile(x, 10, 0.1), 1.9));
	ASSERT(close_to(drift_quantile(x, 10, 0.5), 5.5));
	ASSERT(close_to(drift_quantile(x, 10, 0.9), 9.1));
	ASSERT(drift_quantile(x, 10, 0) == 1);
	ASSERT(drift_quantile(x, 10, 1) == 10);
	ASSERT(drift_quantile(one, 1, 0.3) == 7);
	/* bit for bit: numpy.quantile(numpy.arange(10.), 0.2) is 1.8 itself,
	 * not 1.7999999999999998 */
	for (int i = 0; i < 10; i++)
		x[i] = i;
	ASSERT(drift_quantile(x, 10, 0.2) == 1.8);
	ASSERT(drift_quantile(x, 10, 0.1) == 0.9);
	/* numpy interpolates from the upper end at a weight of 0.5 or more:
	 * quantile([0, 0.1], 0.7) is 0.07, where 0 + 0.1 * 0.7 would give
	 * 0.06999999999999999 */
	x[0] = 0;
	x[1] = 0.1;
	ASSERT(drift_quantile(x, 2, 0.7) == 0.07);
}

TEST(mean_and_sample_std)
{
	double x[8] = {2, 4, 4, 4, 5, 5, 7, 9};

	/* mean 5; squared deviations sum to 32; ddof 1: 32 / 7 */
	ASSERT(close_to(drift_mean(x, 8), 5));
	ASSERT(close_to(drift_std(x, 8), sqrt(32.0 / 7)));
	ASSERT(isnan(drift_std(x, 1)));
	ASSERT(isnan(drift_mean(x, 0)));
}

TEST(returns_pct_skip_zeros_and_diff)
{
	double x[5] = {1, 2, 0, 3, 6}, out[4];

	/* 2/1-1, 0/2-1, (3/0 skipped), 6/3-1 */
	ASSERT_EQ(drift_returns(x, 5, DRIFT_PCT, out), 3);
	ASSERT(out[0] == 1 && out[1] == -1 && out[2] == 1);
	ASSERT_EQ(drift_returns(x, 5, DRIFT_DIFF, out), 4);
	ASSERT(out[0] == 1 && out[1] == -2 && out[2] == 3 && out[3] == 3);
	ASSERT_EQ(drift_returns(x, 1, DRIFT_DIFF, out), 0);
	ASSERT_EQ(drift_returns(x, 0, DRIFT_PCT, out), 0);
}

TEST(ks_of_known_samples)
{
	double a[4] = {1, 2, 3, 4}, b[4] = {3, 4, 5, 6}, c[2] = {10, 11};
	double t1[3] = {1, 1, 2}, t2[3] = {1, 2, 2};

	/* at 2: F_a 2/4, F_b 0; at 3: 3/4 vs 1/4; at 4: 1 vs 2/4 */
	ASSERT(close_to(drift_ks(a, 4, b, 4), 0.5));
	ASSERT(close_to(drift_ks(b, 4, a, 4), 0.5));
	ASSERT(drift_ks(a, 4, c, 2) == 1);
	ASSERT(drift_ks(a, 4, a, 4) == 0);
	/* ties step together: at 1, 2/3 vs 1/3; at 2, 1 vs 1 */
	ASSERT(close_to(drift_ks(t1, 3, t2, 3), 1.0 / 3));
}

TEST(wasserstein_of_known_samples)
{
	double a[3] = {0, 1, 3}, b[3] = {5, 6, 8}, z[1] = {0}, y[2] = {1, 2};
	double t1[4] = {0, 0, 1, 1}, t2[2] = {0, 1};

	/* a shift by 5 moves every unit of mass 5 */
	ASSERT(close_to(drift_wasserstein(a, 3, b, 3), 5));
	ASSERT(close_to(drift_wasserstein(b, 3, a, 3), 5));
	/* |F_z - F_y| is 1 on [0, 1), 1/2 on [1, 2): 1 + 0.5 */
	ASSERT(close_to(drift_wasserstein(z, 1, y, 2), 1.5));
	ASSERT(drift_wasserstein(a, 3, a, 3) == 0);
	/* the same distribution with ties and other sizes */
	ASSERT(drift_wasserstein(t1, 4, t2, 2) == 0);
	ASSERT(drift_ks(t1, 4, t2, 2) == 0);
}

TEST(psi_of_identical_samples_is_zero)
{
	double x[20];

	for (int i = 0; i < 20; i++)
		x[i] = (i * 7) % 20 / 4.0;   /* ties included */
	drift_sort(x, 20);
	ASSERT(drift_psi(x, 20, x, 20, DRIFT_PSI_BINS) == 0);
}

TEST(psi_of_known_samples)
{
	double ref[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	double cur[10] = {9, 0, 0, 9, 0, 9, 0, 9, 0, 9};
	double edge[10] = {0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5};
	double want;

	/* cuts 0.9, 1.8, .. 8.1: the reference puts 1/10 in each bin; the
	 * current 1/2 in the first and the last, 0 (raised to 1e-4) elsewhere */
	want = 2 * (0.5 - 0.1) * log(5) + 8 * (1e-4 - 0.1) * log(1e-4 / 0.1);
	ASSERT(close_to(drift_psi(ref, 10, cur, 10, DRIFT_PSI_BINS), want));
	/* a value on a cut goes to the bin below, as numpy.searchsorted(
	 * side='left'): 0.9 joins 0.5 in the first bin */
	want = (1 - 0.1) * log(10) + 9 * (1e-4 - 0.1) * log(1e-4 / 0.1);
	ASSERT(close_to(drift_psi(ref, 10, edge, 10, DRIFT_PSI_BINS), want));
	/* one bin: everything in it, no drift whatever the values */
	ASSERT(drift_psi(ref, 10, cur, 10, 1) == 0);
}

TEST(compare_a_shifted_sample)
{
	double ref[5] = {5, 1, 4, 2, 3}, cur[5] = {4, 5, 6, 7, 8};
	struct drift_feature f;

	drift_compare(ref, 5, cur, 5, DRIFT_DIFF, &f);
	/* means 3 and 6, stds sqrt(2.5) both */
	ASSERT(close_to(f.ref_mean, 3) && close_to(f.cur_mean, 6));
	ASSERT(close_to(f.ref_std, sqrt(2.5)) && close_to(f.cur_std, sqrt(2.5)));
	ASSERT(close_to(f.shift, 3 / sqrt(2.5)));
	/* at 3, F_ref 3/5 and F_cur 0; at 5, 1 and 2/5 */
	ASSERT(close_to(f.ks, 0.6));
	ASSERT(close_to(f.wasserstein, 3));
	ASSERT(close_to(f.wasserstein_norm, 3 / sqrt(2.5)));
	/* diffs: ref 5->1->4->2->3 is -4, 3, -2, 1; cur 1, 1, 1, 1 (std 0) */
	ASSERT(f.vol_ratio == 0);
	/* the inputs are left as they were */
	ASSERT(ref[0] == 5 && ref[1] == 1);
	drift_compare(cur, 5, ref, 5, DRIFT_DIFF, &f);
	ASSERT(f.vol_ratio == INFINITY);
}

TEST(compare_pct_volatility)
{
	double ref[4] = {1, 2, 1, 2}, cur[4] = {4, 6, 3, 6};
	double g1[3] = {1, 2, 4}, g2[4] = {1, 3, 9, 27};
	struct drift_feature f;

	/* returns 1, -0.5, 1 (mean 1/2, squares 1/4 + 1 + 1/4 over 2) and
	 * 0.5, -0.5, 1 (mean 1/3, squares 1/36 + 25/36 + 16/36 over 2) */
	drift_compare(ref, 4, cur, 4, DRIFT_PCT, &f);
	ASSERT(close_to(f.vol_ratio, sqrt(21.0 / 36) / sqrt(0.75)));
	ASSERT(close_to(f.ref_mean, 1.5) && close_to(f.cur_mean, 4.75));
	/* both grow at a constant rate: returns without spread, ratio 1 */
	drift_compare(g1, 3, g2, 4, DRIFT_PCT, &f);
	ASSERT(f.vol_ratio == 1);
	/* steady growth, then the swings of 'ref': infinitely more volatile */
	drift_compare(g2, 4, ref, 4, DRIFT_PCT, &f);
	ASSERT(f.vol_ratio == INFINITY);
}

TEST(zero_reference_std)
{
	double flat[3] = {3, 3, 3}, moved[3] = {4, 4, 5}, two[2] = {0, 5};
	struct drift_feature f;

	ASSERT(drift_scaled(0, 0) == 0);
	ASSERT(drift_scaled(1, 0) == INFINITY);
	ASSERT(drift_scaled(1, 4) == 0.25);
	ASSERT(drift_vol_ratio(0, 0) == 1);
	ASSERT(drift_vol_ratio(2, 0) == 0);
	ASSERT(drift_vol_ratio(0, 2) == INFINITY);
	ASSERT(isnan(drift_vol_ratio(NAN, 1)));
	/* no change at all: every score at its no-change value */
	drift_compare(flat, 3, flat, 3, DRIFT_PCT, &f);
	ASSERT(f.shift == 0 && f.vol_ratio == 1 && f.psi == 0 && f.ks == 0);
	ASSERT(f.wasserstein == 0 && f.wasserstein_norm == 0);
	/* a constant reference, then movement: infinite shift and spread */
	drift_compare(flat, 3, moved, 3, DRIFT_DIFF, &f);
	ASSERT(f.shift == INFINITY && f.vol_ratio == INFINITY);
	ASSERT(f.wasserstein_norm == INFINITY);
	ASSERT(close_to(f.wasserstein, 4.0 / 3) && f.ks == 1);
	/* 0 then 5: the only pct return follows a zero, so none is defined */
	drift_compare(two, 2, moved, 3, DRIFT_PCT, &f);
	ASSERT(isnan(f.vol_ratio));
}

TEST(health_at_the_thresholds)
{
	struct drift_thresholds t;

	drift_thresholds_init(&t);
	ASSERT_EQ(drift_health(0.99, 1, &t), DRIFT_HEALTHY);
	ASSERT_EQ(drift_health(1.0, 1, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(2.0, 1, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(2.01, 1, &t), DRIFT_CRITICAL);
	ASSERT_EQ(drift_health(INFINITY, 1, &t), DRIFT_CRITICAL);
	ASSERT_EQ(drift_health(0, 0.6, &t), DRIFT_HEALTHY);
	ASSERT_EQ(drift_health(0, 1.5, &t), DRIFT_HEALTHY);
	ASSERT_EQ(drift_health(0, 1.51, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(0, 2.5, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(0, 2.51, &t), DRIFT_CRITICAL);
	ASSERT_EQ(drift_health(0, 0.59, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(0, 0.4, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(0, 0.39, &t), DRIFT_CRITICAL);
	ASSERT_EQ(drift_health(0, INFINITY, &t), DRIFT_CRITICAL);
	/* the worse of the two; an undefined index has no say */
	ASSERT_EQ(drift_health(1.5, 0.3, &t), DRIFT_CRITICAL);
	ASSERT_EQ(drift_health(2.5, 1, &t), DRIFT_CRITICAL);
	ASSERT_EQ(drift_health(1.5, NAN, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(0.5, NAN, &t), DRIFT_HEALTHY);
	ASSERT_STREQ(drift_health_name(DRIFT_HEALTHY), "Healthy");
	ASSERT_STREQ(drift_health_name(DRIFT_DEGRADED), "Degraded");
	ASSERT_STREQ(drift_health_name(DRIFT_CRITICAL), "Critical");
}

TEST(thresholds_configurable_and_checked)
{
	struct drift_thresholds t;

	drift_thresholds_init(&t);
	ASSERT_EQ(drift_thresholds_check(&t), 0);
	t.drift_degraded = 0.2;
	t.drift_critical = 0.5;
	ASSERT_EQ(drift_health(0.3, 1, &t), DRIFT_DEGRADED);
	ASSERT_EQ(drift_health(0.6, 1, &t), DRIFT_CRITICAL);
	t.drift_degraded = 0.6;
	ASSERT_EQ(drift_thresholds_check(&t), -1);
	drift_thresholds_init(&t);
	t.vol_crit_low = 0.7;     /* above the healthy low */
	ASSERT_EQ(drift_thresholds_check(&t), -1);
	drift_thresholds_init(&t);
	t.vol_high = 3;           /* above the critical high */
	ASSERT_EQ(drift_thresholds_check(&t), -1);
	drift_thresholds_init(&t);
	t.drift_degraded = -1;
	ASSERT_EQ(drift_thresholds_check(&t), -1);
	drift_thresholds_init(&t);
	t.vol_crit_high = INFINITY;
	ASSERT_EQ(drift_thresholds_check(&t), -1);
}

TEST(summary_and_rank)
{
	struct drift_feature f[3] = {{0}};
	struct drift_thresholds t;
	struct drift_summary s;
	size_t order[3];

	drift_thresholds_init(&t);
	f[0].shift = 0.5;
	f[1].shift = 2;
	f[2].shift = 0.5;
	f[0].vol_ratio = 1;
	f[1].vol_ratio = NAN;    /* undefined: left out of the index */
	f[2].vol_ratio = 2;
	drift_summarize(f, 3, &t, &s);
	ASSERT(close_to(s.drift_score, 1));
	ASSERT(close_to(s.volatility_index, 1.5));
	ASSERT_EQ(s.health, DRIFT_DEGRADED);
	drift_rank(f, 3, order);
	ASSERT(order[0] == 1 && order[1] == 0 && order[2] == 2);
	f[2].shift = INFINITY;
	drift_summarize(f, 3, &t, &s);
	ASSERT(s.drift_score == INFINITY && s.health == DRIFT_CRITICAL);
	drift_rank(f, 3, order);
	ASSERT(order[0] == 2 && order[1] == 1 && order[2] == 0);
	f[0].vol_ratio = f[2].vol_ratio = NAN;
	drift_summarize(f, 3, &t, &s);
	ASSERT(isnan(s.volatility_index));
}

TEST(numbers_as_json)
{
	json_t *v = drift_number_json(0.25), *i = drift_number_json(INFINITY);
	json_t *n = drift_number_json(NAN);
	struct drift_feature f = {1, 2, 3, 4, INFINITY, NAN, 0, 0, 0, 0};
	json_t *j = drift_feature_json(&f);
	char *text = json_dumps(j, JSON_COMPACT);

	ASSERT(json_real_value(v) == 0.25);
	ASSERT_STREQ(json_string_value(i), "inf");
	ASSERT(json_is_null(n));
	ASSERT_STREQ(text, "{\"ref_mean\":1.0,\"curr_mean\":2.0,\"ref_std\":3.0,"
		     "\"curr_std\":4.0,\"shift_score\":\"inf\",\"vol_ratio\":null,"
		     "\"psi\":0.0,\"ks\":0.0,\"wasserstein\":0.0,\"wasserstein_norm\":0.0}");
	free(text);
	json_decref(j);
	json_decref(v);
	json_decref(i);
	json_decref(n);
}

TEST(windows_by_rows)
{
	int64_t ts[6] = {10, 20, 30, 40, 50, 60};
	struct drift_window w[2];

	ASSERT_EQ(drift_windows_rows(ts, 6, 3, 2, w), 0);
	ASSERT(w[0].lo == 1 && w[0].hi == 4 && w[1].lo == 4 && w[1].hi == 6);
	ASSERT(w[0].from == 20 && w[0].to == 40 && w[1].from == 50 && w[1].to == 60);
	ASSERT_EQ(drift_windows_rows(ts, 6, 4, 2, w), 0);
	ASSERT_EQ(w[0].lo, 0);
	ASSERT_EQ(drift_windows_rows(ts, 6, 5, 2, w), -1);
	ASSERT_EQ(drift_windows_rows(ts, 6, (size_t)-1, 2, w), -1);
}

TEST(windows_by_days)
{
	int64_t ts[10];
	struct drift_window w[2];

	/* a row every 12 hours over 4.5 days: 0, 0.5 d, ..., 4.5 d */
	for (int i = 0; i < 10; i++)
		ts[i] = 1000000 + i * 43200;
	/* current (3.5 d, 4.5 d]: rows 8, 9; reference (1.5 d, 3.5 d]: 4..7 */
	ASSERT_EQ(drift_windows_days(ts, 10, 2, 1, w), 0);
	ASSERT(w[1].lo == 8 && w[1].hi == 10 && w[0].lo == 4 && w[0].hi == 8);
	ASSERT(w[0].from == ts[3] + 1 && w[0].to == ts[7] && w[1].from == ts[7] + 1);
	/* exactly back to the first row: it starts the open end, so is out */
	ASSERT_EQ(drift_windows_days(ts, 10, 3.5, 1, w), 0);
	ASSERT(w[0].lo == 1 && w[0].hi == 8);
	ASSERT_EQ(drift_windows_days(ts, 10, 3.6, 1, w), -1);
	ASSERT_EQ(w[0].from, ts[0] - 8640 + 1);
	/* a sub-row current window holds only the last row */
	ASSERT_EQ(drift_windows_days(ts, 10, 1, 0.1, w), 0);
	ASSERT(w[1].lo == 9 && w[1].hi == 10);
}

TEST(window_select_includes_both_ends)
{
	int64_t ts[5] = {10, 20, 30, 40, 50};
	struct drift_window w = {0, 0, 20, 40};

	drift_window_select(ts, 5, &w);
	ASSERT(w.lo == 1 && w.hi == 4);
	w.from = 11;
	w.to = 49;
	drift_window_select(ts, 5, &w);
	ASSERT(w.lo == 1 && w.hi == 4);
	w.from = 0;
	w.to = 100;
	drift_window_select(ts, 5, &w);
	ASSERT(w.lo == 0 && w.hi == 5);
	w.from = 21;     /* a gap between rows: empty */
	w.to = 29;
	drift_window_select(ts, 5, &w);
	ASSERT(w.lo == w.hi);
	w.from = 60;
	w.to = 70;
	drift_window_select(ts, 5, &w);
	ASSERT(w.lo == 5 && w.hi == 5);
}

TEST_LIST(
	T(quantile_is_numpy_linear),
	T(mean_and_sample_std),
	T(returns_pct_skip_zeros_and_diff),
	T(ks_of_known_samples),
	T(wasserstein_of_known_samples),
	T(psi_of_identical_samples_is_zero),
	T(psi_of_known_samples),
	T(compare_a_shifted_sample),
	T(compare_pct_volatility),
	T(zero_reference_std),
	T(health_at_the_thresholds),
	T(thresholds_configurable_and_checked),
	T(summary_and_rank),
	T(numbers_as_json),
	T(windows_by_rows),
	T(windows_by_days),
	T(window_select_includes_both_ends)
)
