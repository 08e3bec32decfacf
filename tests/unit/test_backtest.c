/* Tests of tasks/lib/backtest.c: durations, Prophet's cutoff placement
 * (generate_cutoffs) on hand-worked examples, and performance_metrics'
 * binned metrics against values worked out by hand below. */
#include "backtest.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define NEAR(a, b) (fabs((a) - (b)) <= 1e-12 * (1 + fabs(b)))

/* ------------------------------------------------------------------ */
/* Durations                                                            */

TEST(durations_parse_pandas_forms)
{
	static const struct { const char *s; int64_t sec; } ok[] = {
		{"730 days", 730 * 86400LL}, {"24 hours", 86400}, {"7d", 7 * 86400},
		{"1.5h", 5400}, {"1 day 12 hours", 129600}, {"30 min", 1800},
		{"2W", 14 * 86400}, {"1 days 06:00:00", 108000}, {"0 days 00:30", 1800},
		{"90s", 90}, {" 3 Days ", 3 * 86400}, {".5 d", 43200}, {"0 days", 0},
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		ASSERT_EQ(backtest_parse_duration(ok[i].s, &v), 0);
		ASSERT_EQ(v, ok[i].sec);
	}
}

TEST(durations_refuse_the_rest)
{
	static const char *const bad[] = {
		"", "30", "days", "7 dayz", "-1 days", "1 day 06:61", "06:00:00",
		"1 d 2", "1e3 s", "1 day,", "99999999999 weeks",
	};
	int64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(backtest_parse_duration(bad[i], &v), -1);
		ASSERT_EQ(v, 42);
	}
}

TEST(durations_format_as_pandas)
{
	char buf[BACKTEST_DURATION_MAX];

	ASSERT_STREQ(backtest_format_duration(37 * 86400, buf), "37 days 00:00:00");
	ASSERT_STREQ(backtest_format_duration(5400, buf), "0 days 01:30:00");
	ASSERT_STREQ(backtest_format_duration(86400 + 3661, buf), "1 days 01:01:01");
}

/* ------------------------------------------------------------------ */
/* Cutoffs                                                              */

/* Cutoffs of 'ds' as expected ('want', 'n_want' of them). */
static int cutoffs_are(const int64_t *ds, size_t n, int64_t horizon, int64_t initial,
		       int64_t period, const int64_t *want, size_t n_want)
{
	int64_t *got;
	size_t n_got;
	int same;

	if (backtest_cutoffs(ds, n, horizon, initial, period, &got, &n_got))
		return 0;
	same = n_got == n_want;
	for (size_t i = 0; same && i < n_got; i++)
		same = got[i] == want[i];
	if (!same)
		for (size_t i = 0; i < n_got; i++)
			fprintf(stderr, "  cutoff %zu: %lld\n", i, (long long)got[i]);
	free(got);
	return same;
}

/* Rows 0..9, horizon 2, period 2, initial 3: the last cutoff is
 * 9 - 2 = 7; then 5, 3; 1 is below 0 + 3 and dropped. */
TEST(cutoffs_step_back_from_the_end)
{
	int64_t ds[10], want[3] = {3, 5, 7};

	for (int i = 0; i < 10; i++)
		ds[i] = i;
	ASSERT(cutoffs_are(ds, 10, 2, 3, 2, want, 3));
}

/* Prophet's defaults on the same rows, horizon 2: period 1, initial 6:
 * 7, 6 (1 is the last at or after 0 + 6). */
TEST(cutoffs_prophet_defaults)
{
	int64_t ds[10], want[2] = {6, 7};

	for (int i = 0; i < 10; i++)
		ds[i] = i;
	ASSERT(cutoffs_are(ds, 10, 2, 6, 1, want, 2));
}

/* A gap wider than the horizon: 0..5, then 20..25; horizon 2, period 3,
 * initial 2.  23; 20 ((20, 22] holds 21, 22); 17 has nothing in
 * (17, 19], so it jumps to the last time at or before 17, 5, minus the
 * horizon: 3; then 0 is below 0 + 2 and dropped. */
TEST(cutoffs_jump_back_over_a_gap)
{
	int64_t ds[12] = {0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24, 25};
	int64_t want[3] = {3, 20, 23};

	ASSERT(cutoffs_are(ds, 12, 2, 2, 3, want, 3));
}

/* Unix seconds: Prophet's documentation example shape.  Daily rows over
 * 3000 days, horizon 365 days, period 180, initial 730: the last cutoff
 * is day 2999 - 365 = 2634, then every 180 days back while at or after
 * day 730: (2634 - 730) / 180 = 10.6, so 11 cutoffs, the first on day
 * 2634 - 1800 = 834. */
TEST(cutoffs_in_seconds)
{
	int64_t *ds = malloc(3000 * sizeof(int64_t)), want[11], day = 86400;
	int same;

	for (int i = 0; i < 3000; i++)
		ds[i] = 1200000000 + i * day;
	for (int i = 0; i < 11; i++)
		want[i] = ds[834 + 180 * i];
	same = cutoffs_are(ds, 3000, 365 * day, 730 * day, 180 * day, want, 11);
	free(ds);
	ASSERT(same);
}

/* Python's guard: a cutoff at or before the first time with no data
 * after it stays where it is ({0, 10, 11}, horizon 1, period 10,
 * initial 0: 10, then 0, which (0, 1] leaves empty, then -10, dropped). */
TEST(cutoffs_keep_an_empty_first_cutoff_as_prophet)
{
	int64_t ds[3] = {0, 10, 11}, want[2] = {0, 10};

	ASSERT(cutoffs_are(ds, 3, 1, 0, 10, want, 2));
}

TEST(cutoffs_refusals)
{
	int64_t ds[10], *got = (int64_t *)1, *big = malloc(20001 * sizeof(int64_t));
	size_t n = 5;
	int st;

	for (int i = 0; i < 10; i++)
		ds[i] = i;
	for (int i = 0; i < 20001; i++)
		big[i] = i;
	ASSERT_EQ(backtest_cutoffs(ds, 10, 10, 0, 1, &got, &n), BACKTEST_HORIZON_TOO_LONG);
	ASSERT(got == NULL && n == 0);
	ASSERT_EQ(backtest_cutoffs(ds, 0, 1, 0, 1, &got, &n), BACKTEST_HORIZON_TOO_LONG);
	/* horizon 9 leaves the one cutoff 0: fine with initial 0, not with 1 */
	ASSERT_EQ(backtest_cutoffs(ds, 10, 9, 0, 1, &got, &n), BACKTEST_CUTOFFS_OK);
	ASSERT(n == 1 && got[0] == 0);
	free(got);
	ASSERT_EQ(backtest_cutoffs(ds, 10, 9, 1, 1, &got, &n), BACKTEST_NO_CUTOFF);
	ASSERT_EQ(backtest_cutoffs(ds, 10, 2, 8, 1, &got, &n), BACKTEST_NO_CUTOFF);
	st = backtest_cutoffs(big, 20001, 1, 0, 1, &got, &n);
	free(big);
	ASSERT_EQ(st, BACKTEST_TOO_MANY_CUTOFFS);
	ASSERT(got == NULL);
}

TEST(count_upto)
{
	int64_t ds[4] = {1, 3, 5, 7};

	ASSERT_EQ(backtest_count_upto(ds, 4, 0), 0);
	ASSERT_EQ(backtest_count_upto(ds, 4, 1), 1);
	ASSERT_EQ(backtest_count_upto(ds, 4, 4), 2);
	ASSERT_EQ(backtest_count_upto(ds, 4, 7), 4);
	ASSERT_EQ(backtest_count_upto(ds, 4, 99), 4);
}

/* ------------------------------------------------------------------ */
/* Performance metrics                                                  */

/* Five forecasts, worked out by hand:
 *   h  y   yhat  lower upper | se ae ape  sape  covered
 *   1  2   1     0     3     | 1  1  1/2  2/3   1
 *   1  4   5     4.5   6     | 1  1  1/4  2/9   0
 *   2  5   3     2     6     | 4  2  2/5  1/2   1
 *   3  10  10    10    10    | 0  0  0    0     1  (the bounds count)
 *   3  -2  0     -1    1     | 4  2  1    2     0
 * sape = |y - yhat| / ((|y| + |yhat|) / 2), Prophet's factor of 2. */
static const int64_t H[5] = {1, 1, 2, 3, 3};
static const double Y[5] = {2, 4, 5, 10, -2}, YHAT[5] = {1, 5, 3, 10, 0};
static const double LO[5] = {0, 4.5, 2, 10, -1}, HI[5] = {3, 6, 6, 10, 1};

/* Row 'r' of 'p' is: horizon, then mse, rmse, mae, mape, mdape, smape,
 * coverage in 'v'. */
static int row_is(const struct backtest_perf *p, size_t r, int64_t h, const double *v)
{
	int same = r < p->n && p->horizon[r] == h;

	for (int m = 0; same && m < BACKTEST_N_METRICS; m++)
		same = p->value[m] && NEAR(p->value[m][r], v[m]);
	if (!same && r < p->n)
		for (int m = 0; m < BACKTEST_N_METRICS; m++)
			fprintf(stderr, "  row %zu %s: %.17g, expected %.17g\n", r,
				backtest_metric_name(m), p->value[m] ? p->value[m][r] : NAN,
				v[m]);
	return same;
}

/* rolling_window 0: w = 1, each distinct horizon alone. */
TEST(performance_each_horizon_alone)
{
	struct backtest_perf p;
	double r1[7] = {1, 1, 1, 0.375, 0.375, 4.0 / 9, 0.5};
	double r2[7] = {4, 2, 2, 0.4, 0.4, 0.5, 1};
	double r3[7] = {2, sqrt(2), 1, 0.5, 0.5, 1, 0.5};
	int ok;

	backtest_performance(H, Y, YHAT, LO, HI, 5, 0, &p);
	ok = p.n == 3 && row_is(&p, 0, 1, r1) && row_is(&p, 1, 2, r2) &&
	     row_is(&p, 2, 3, r3);
	backtest_perf_release(&p);
	ASSERT(ok);
}

/* rolling_window 0.4: w = int(0.4 * 5) = 2.  Horizon 2 has one point, so
 * one more comes from horizon 1, weighted by horizon 1's mean:
 * mse (4 + 1) / 2; mae (2 + 1) / 2; mape (0.4 + 0.375) / 2; smape
 * (1/2 + 4/9) / 2; coverage (1 + 1/2) / 2.  Its median takes the point
 * just before it in sorted order, the second of horizon 1 (the sort is
 * stable): median(0.4, 0.25) = 0.325. */
TEST(performance_rolling_window_weights_the_earlier_horizon)
{
	struct backtest_perf p;
	double r1[7] = {1, 1, 1, 0.375, 0.375, 4.0 / 9, 0.5};
	double r2[7] = {2.5, sqrt(2.5), 1.5, 0.3875, 0.325, 17.0 / 36, 0.75};
	double r3[7] = {2, sqrt(2), 1, 0.5, 0.5, 1, 0.5};
	int ok;

	backtest_performance(H, Y, YHAT, LO, HI, 5, 0.4, &p);
	ok = p.n == 3 && row_is(&p, 0, 1, r1) && row_is(&p, 1, 2, r2) &&
	     row_is(&p, 2, 3, r3);
	backtest_perf_release(&p);
	ASSERT(ok);
}

/* rolling_window 0.8: w = 4; only horizon 3 has 4 points at or before
 * it: its 2, horizon 2's 1 and 1 of horizon 1's 2 at their mean:
 * mse (4 + 4 + 2 / 2) / 4 = 2.25; mae (2 + 2 + 1) / 4; mape (1 + 0.4 +
 * 0.375) / 4; smape (2 + 1/2 + 4/9) / 4; coverage (1 + 1 + 1/2) / 4;
 * mdape median(0, 1, 0.4, 0.25) = 0.325. */
TEST(performance_drops_horizons_short_of_w)
{
	struct backtest_perf p;
	double r3[7] = {2.25, 1.5, 1.25, 1.775 / 4, 0.325, (2.5 + 4.0 / 9) / 4, 0.625};
	int ok;

	backtest_performance(H, Y, YHAT, LO, HI, 5, 0.8, &p);
	ok = p.n == 1 && row_is(&p, 0, 3, r3);
	backtest_perf_release(&p);
	ASSERT(ok);
}

/* rolling_window 1: one row at the largest horizon, over every point:
 * the overall figures.  mse 10 / 5, mae 6 / 5, mape 2.15 / 5, mdape the
 * median of 0, 0.25, 0.4, 0.5, 1; smape (2/3 + 2/9 + 1/2 + 2) / 5,
 * coverage 3 / 5. */
TEST(performance_overall)
{
	struct backtest_perf p;
	double all[7] = {2, sqrt(2), 1.2, 0.43, 0.4, (2.0 / 3 + 2.0 / 9 + 2.5) / 5, 0.6};
	int ok;

	backtest_performance(H, Y, YHAT, LO, HI, 5, 1, &p);
	ok = p.n == 1 && row_is(&p, 0, 3, all);
	backtest_perf_release(&p);
	ASSERT(ok);
}

/* The input order does not matter but for ties, which keep it. */
TEST(performance_sorts_by_horizon)
{
	static const int64_t h[5] = {3, 1, 2, 3, 1};
	static const double y[5] = {10, 2, 5, -2, 4}, yhat[5] = {10, 1, 3, 0, 5};
	static const double lo[5] = {10, 0, 2, -1, 4.5}, hi[5] = {10, 3, 6, 1, 6};
	struct backtest_perf p;
	double r2[7] = {2.5, sqrt(2.5), 1.5, 0.3875, 0.325, 17.0 / 36, 0.75};
	int ok;

	backtest_performance(h, y, yhat, lo, hi, 5, 0.4, &p);
	ok = p.n == 3 && row_is(&p, 1, 2, r2);
	backtest_perf_release(&p);
	ASSERT(ok);
}

/* No bounds: no coverage.  A y of 0 skips mape (|y| < 1e-8, Prophet);
 * mdape stays (Python's Prophet skips only mape), and sape of 0 / 0 is 0
 * (Prophet's fillna(0)). */
TEST(performance_skips_as_prophet)
{
	static const int64_t h[3] = {1, 1, 2};
	static const double y[3] = {0, 2, 4}, yhat[3] = {0, 1, 4};
	struct backtest_perf p;
	int ok;

	backtest_performance(h, y, yhat, NULL, NULL, 3, 0, &p);
	ok = p.n == 2 && !p.value[BACKTEST_COVERAGE] && !p.value[BACKTEST_MAPE] &&
	     p.value[BACKTEST_MDAPE] && isnan(p.value[BACKTEST_MDAPE][0]) &&
	     NEAR(p.value[BACKTEST_SMAPE][0], (0 + 2.0 / 3) / 2) &&
	     NEAR(p.value[BACKTEST_MSE][0], 0.5) && NEAR(p.value[BACKTEST_MDAPE][1], 0.0);
	backtest_perf_release(&p);
	ASSERT(ok);
}

TEST(performance_of_nothing)
{
	struct backtest_perf p;

	backtest_performance(NULL, NULL, NULL, NULL, NULL, 0, 0.1, &p);
	ASSERT_EQ(p.n, 0);
	backtest_perf_release(&p);
}

TEST(metric_names)
{
	ASSERT_STREQ(backtest_metric_name(BACKTEST_MSE), "mse");
	ASSERT_STREQ(backtest_metric_name(BACKTEST_SMAPE), "smape");
	ASSERT_STREQ(backtest_metric_name(BACKTEST_COVERAGE), "coverage");
}

TEST_LIST(
	T(durations_parse_pandas_forms),
	T(durations_refuse_the_rest),
	T(durations_format_as_pandas),
	T(cutoffs_step_back_from_the_end),
	T(cutoffs_prophet_defaults),
	T(cutoffs_jump_back_over_a_gap),
	T(cutoffs_in_seconds),
	T(cutoffs_keep_an_empty_first_cutoff_as_prophet),
	T(cutoffs_refusals),
	T(count_upto),
	T(performance_each_horizon_alone),
	T(performance_rolling_window_weights_the_earlier_horizon),
	T(performance_drops_horizons_short_of_w),
	T(performance_overall),
	T(performance_sorts_by_horizon),
	T(performance_skips_as_prophet),
	T(performance_of_nothing),
	T(metric_names)
)
