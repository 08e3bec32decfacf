/* Unit tests for tasks/lib/features.c: time features against values
 * worked out by hand, lags, rolling windows against a direct computation,
 * returns, RSI and MACD against NumPy/pandas, the named set, and reading
 * a data.load output folder. */
#include "test.h"
#include "tmpdir.h"
#include "features.h"
#include "npy.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* 1e-12: far below float32, far above double rounding on these sums */
static int near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * (1 + fabs(b));
}
#define NEAR(a, b) near((a), (b))

/* 2016-07-01 06:00:00 UTC, a Friday, day 182 (0-based) of a leap year */
#define JUL1_0600 1467352800

TEST(time_features_by_hand)
{
	int64_t t[1] = {JUL1_0600};
	double s, c, v, p;
	enum features_time k;

	ASSERT_EQ(features_time_parse("min_of_day", &k), 0);
	ASSERT_EQ(k, FEATURES_MIN_OF_DAY);
	features_time(k, t, 1, &s, &c);
	ASSERT(NEAR(s, 1.0));            /* 360 of 1440 minutes: a quarter turn */
	ASSERT(fabs(c) < 1e-15);
	features_time(FEATURES_DAY_OF_WEEK, t, 1, &s, &c);
	ASSERT(NEAR(s, sin(2 * PI * 4 / 7)));   /* Friday: Monday = 0 */
	ASSERT(NEAR(c, cos(2 * PI * 4 / 7)));
	features_time(FEATURES_DAY_OF_YEAR, t, 1, &s, &c);
	ASSERT(NEAR(s, sin(2 * PI * 182 / 366)));
	ASSERT(NEAR(c, cos(2 * PI * 182 / 366)));
	features_time_cycle(FEATURES_DAY_OF_YEAR, JUL1_0600, &v, &p);
	ASSERT(v == 182 && p == 366);
	ASSERT_EQ(features_time_parse("hour", &k), -1);
	ASSERT_STREQ(features_time_name(FEATURES_DAY_OF_YEAR), "day_of_year");
}

TEST(time_cycles_at_the_edges)
{
	static const struct {
		int64_t t;
		double min, dow, doy, year;
	} cases[] = {
		{0, 0, 3, 0, 365},                 /* 1970-01-01 00:00, Thursday */
		{-60, 1439, 2, 364, 365},          /* 1969-12-31 23:59, Wednesday */
		{1704067200, 0, 0, 0, 366},        /* 2024-01-01, Monday */
		{1704067200 - 1, 1439, 6, 364, 365},   /* 2023-12-31 23:59:59, Sunday */
		{1483142400, 0, 5, 365, 366},      /* 2016-12-31, Saturday: last day */
		{1451520000 + 59, 0, 3, 364, 365}, /* 2015-12-31 00:00:59: seconds cut */
	};
	double v, p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		features_time_cycle(FEATURES_MIN_OF_DAY, cases[i].t, &v, &p);
		ASSERT(v == cases[i].min && p == 1440);
		features_time_cycle(FEATURES_DAY_OF_WEEK, cases[i].t, &v, &p);
		ASSERT(v == cases[i].dow && p == 7);
		features_time_cycle(FEATURES_DAY_OF_YEAR, cases[i].t, &v, &p);
		ASSERT(v == cases[i].doy && p == cases[i].year);
	}
}

TEST(lags_and_returns)
{
	double x[5] = {1, 2, 4, 3, 6}, out[5];

	ASSERT_EQ(features_lag(x, 5, 2, out), 2);
	ASSERT(isnan(out[0]) && isnan(out[1]));
	ASSERT(out[2] == 1 && out[3] == 2 && out[4] == 4);
	ASSERT_EQ(features_lag(x, 5, 7, out), 7);   /* longer than the series */
	ASSERT(isnan(out[4]));
	ASSERT_EQ(features_returns(x, 5, out), 1);
	ASSERT(isnan(out[0]) && out[1] == 1 && out[2] == 1 && out[3] == -0.25 &&
	       out[4] == 1);
	x[1] = 0;
	features_returns(x, 5, out);
	ASSERT(isinf(out[2]));   /* after a zero: the caller reports it */
}

TEST(rolling_by_hand)
{
	double x[6] = {1, 2, 3, 4, 5, 10}, m[6], s[6];

	ASSERT_EQ(features_rolling(x, 6, 3, m, s), 2);
	ASSERT(isnan(m[1]) && isnan(s[1]));
	ASSERT(NEAR(m[2], 2) && NEAR(s[2], 1));   /* sample std, ddof 1 */
	ASSERT(NEAR(m[4], 4) && NEAR(s[4], 1));
	ASSERT(NEAR(m[5], 19.0 / 3));
	ASSERT(NEAR(s[5], sqrt(((4 - 19.0 / 3) * (4 - 19.0 / 3) + (5 - 19.0 / 3) *
				(5 - 19.0 / 3) + (10 - 19.0 / 3) * (10 - 19.0 / 3)) / 2)));
	ASSERT_EQ(features_rolling(x, 2, 3, m, s), 2);   /* too short: none */
	ASSERT(isnan(m[0]) && isnan(s[1]));
}

/* The sliding update against a direct two-pass computation of every
 * window, on a long series with a large offset (the hard case for sums). */
TEST(rolling_matches_direct)
{
	size_t n = 5000, w = 37;
	double *x = xmalloc(n * sizeof(double)), *m = xmalloc(n * sizeof(double));
	double *s = xmalloc(n * sizeof(double));
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		x[i] = 1e6 + sin((double)i * 0.37) * 3 + (double)(i % 11);
	features_rolling(x, n, w, m, s);
	for (size_t i = w - 1; i < n; i++) {
		double mean = 0, q = 0;
		for (size_t k = i + 1 - w; k <= i; k++)
			mean += x[k];
		mean /= (double)w;
		for (size_t k = i + 1 - w; k <= i; k++)
			q += (x[k] - mean) * (x[k] - mean);
		ok &= fabs(m[i] - mean) <= 1e-12 * mean;
		ok &= fabs(s[i] - sqrt(q / (double)(w - 1))) <= 1e-7 * sqrt(q / (double)(w - 1));
	}
	free(x);
	free(m);
	free(s);
	ASSERT(ok);
}

/* Wilder's worked example (as StockCharts prints it): RSI(14) from row
 * 14; values from NumPy with the same recurrence. */
static const double prices[20] = {
	44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08,
	45.89, 46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64
};

TEST(rsi_against_numpy)
{
	static const double want[6] = {70.46413502109705, 66.249618553555067,
				       66.480941834712652, 69.346853162908658,
				       66.294712658926244, 57.915020670085561};
	double out[20], up[20], flat[20];

	ASSERT_EQ(features_rsi(prices, 20, 14, out), 14);
	ASSERT(isnan(out[0]) && isnan(out[13]));
	for (int i = 0; i < 6; i++)
		ASSERT(NEAR(out[14 + i], want[i]));
	for (int i = 0; i < 20; i++) {
		up[i] = i;
		flat[i] = 5;
	}
	features_rsi(up, 20, 14, out);
	ASSERT(out[19] == 100);            /* no losses */
	features_rsi(flat, 20, 14, out);
	ASSERT(out[19] == 50);             /* neither: 50 by convention */
	ASSERT_EQ(features_rsi(prices, 10, 14, out), 14);   /* too short */
	ASSERT(isnan(out[9]));
}

/* pandas: s.ewm(span=12, adjust=False).mean() - s.ewm(span=26, ...), then
 * the signal ewm(span=9) of that line. */
TEST(macd_against_pandas)
{
	static const struct {
		int i;
		double line, sig, hist;
	} want[] = {
		{0, 0, 0, 0},
		{1, -0.019943019943013951, -0.0039886039886027902, -0.015954415954411161},
		{5, -0.0082183125327048856, -0.026965959246098105, 0.018747646713393219},
		{19, 0.43829307360860525, 0.42680569113816302, 0.011487382470442231},
	};
	double l[20], s[20], h[20], e[20];

	ASSERT_EQ(features_macd(prices, 20, 12, 26, 9, l, s, h), 0);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		int i = want[k].i;
		ASSERT(fabs(l[i] - want[k].line) < 1e-12);
		ASSERT(fabs(s[i] - want[k].sig) < 1e-12);
		ASSERT(fabs(h[i] - want[k].hist) < 1e-12);
	}
	ASSERT_EQ(features_ema(prices, 20, 1, e), 0);   /* span 1: the series */
	ASSERT(e[7] == prices[7]);
}

TEST(set_names_and_warmup)
{
	struct features_set fs;
	double x[30];
	int64_t t[30];
	size_t col, row;

	for (int i = 0; i < 30; i++) {
		x[i] = 10 + i;
		t[i] = (int64_t)i * 3600;
	}
	features_init(&fs, 30);
	features_add_copy(&fs, "value", x);
	features_add_time(&fs, FEATURES_MIN_OF_DAY, t);
	features_add_lag(&fs, "value", x, 3);
	features_add_rolling(&fs, "value", x, 5);
	features_add_returns(&fs, "value", x);
	features_add_rsi(&fs, "value", x, 14);
	features_add_macd(&fs, "value", x, 12, 26, 9);
	ASSERT_EQ(fs.n, 11);
	ASSERT_STREQ(fs.names[1], "min_of_day_sin");
	ASSERT_STREQ(fs.names[2], "min_of_day_cos");
	ASSERT_STREQ(fs.names[3], "value_lag_3");
	ASSERT_STREQ(fs.names[4], "value_roll_mean_5");
	ASSERT_STREQ(fs.names[5], "value_roll_std_5");
	ASSERT_STREQ(fs.names[6], "value_return");
	ASSERT_STREQ(fs.names[7], "value_rsi_14");
	ASSERT_STREQ(fs.names[8], "value_macd");
	ASSERT_STREQ(fs.names[9], "value_macd_signal");
	ASSERT_STREQ(fs.names[10], "value_macd_hist");
	ASSERT_EQ(fs.warmup, 14);   /* the largest: RSI(14) */
	ASSERT_EQ(features_find(&fs, "value_lag_3"), 3);
	ASSERT_EQ(features_find(&fs, "nope"), -1);
	ASSERT_EQ(features_find_nonfinite(&fs, fs.warmup, &col, &row), 0);
	ASSERT_EQ(features_find_nonfinite(&fs, 0, &col, &row), 1);
	ASSERT(col == 3 && row == 0);   /* the first lag */
	fs.cols[6][20] = INFINITY;
	ASSERT_EQ(features_find_nonfinite(&fs, 14, &col, &row), 1);
	ASSERT(col == 6 && row == 20);
	features_release(&fs);
	ASSERT_EQ(fs.n, 0);
}

/* A data.load output: schema.json, timestamp.npy and one number column. */
static const char *fake_load(const char *name, const int64_t *t, size_t n,
			     const char *schema)
{
	static char dir[512];
	double v[4] = {1.5, 2.5, 3.5, 4.5};
	size_t shape[1] = {n};
	struct err err;
	char *p;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir(), name);
	err_init(&err);
	if (fs_mkdirs(dir, &err))
		abort();
	put_file(dir, "schema.json", schema);
	p = fs_join(dir, "timestamp.npy");
	npy_write(p, NPY_I8, 1, shape, t, &err);
	free(p);
	p = fs_join(dir, "v.npy");
	npy_write(p, NPY_F8, 1, shape, v, &err);
	free(p);
	return dir;
}

TEST(read_table)
{
	static const char schema[] = "{\"rows\": 4, \"timestamp\": \"date\", \"columns\": ["
		"{\"name\": \"date\", \"type\": \"timestamp\", \"file\": \"timestamp.npy\"},"
		"{\"name\": \"city\", \"type\": \"string\", \"file\": \"city.json\"},"
		"{\"name\": \"v 1\", \"type\": \"number\", \"file\": \"v.npy\"}],"
		"\"source\": \"x.csv\"}";
	int64_t t[4] = {0, 3600, 7200, 10800}, *got;
	struct features_set fs;
	json_t *sc;
	struct err err;
	const char *dir = fake_load("good", t, 4, schema);

	err_init(&err);
	ASSERT_EQ(features_read_table(dir, &fs, &got, &sc, &err), 0);
	ASSERT_EQ(fs.n, 1);
	ASSERT_STREQ(fs.names[0], "v 1");
	ASSERT(fs.rows == 4 && fs.cols[0][3] == 4.5 && got[2] == 7200);
	ASSERT_STREQ(json_string_value(json_object_get(sc, "source")), "x.csv");
	free(got);
	json_decref(sc);
	features_release(&fs);

	t[2] = 3600;   /* not rising */
	dir = fake_load("dup", t, 4, schema);
	ASSERT_EQ(features_read_table(dir, &fs, &got, &sc, &err), -1);
	ASSERT_CONTAINS(err.msg, "rising timestamp");
	ASSERT(got == NULL);
	json_decref(sc);
	features_release(&fs);

	dir = fake_load("short", t, 3, schema);   /* 3 values, schema says 4 */
	ASSERT_EQ(features_read_table(dir, &fs, &got, &sc, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "expected 4 values of <i8");
	json_decref(sc);
	features_release(&fs);

	ASSERT_EQ(features_read_table("/nonexistent", &fs, &got, &sc, &err), -1);
	ASSERT_CONTAINS(err.msg, "/nonexistent/schema.json: expected the schema");
	features_release(&fs);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(time_features_by_hand), T(time_cycles_at_the_edges), T(lags_and_returns),
	  T(rolling_by_hand), T(rolling_matches_direct), T(rsi_against_numpy),
	  T(macd_against_pandas), T(set_names_and_warmup), T(read_table), T(cleanup))
