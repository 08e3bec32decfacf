/* backtest: the pure parts of rolling-origin cross-validation, as
 * Prophet's diagnostics module defines them (python/prophet/
 * diagnostics.py; R's diagnostics.R): durations, where the cutoffs go
 * (generate_cutoffs) and the performance metrics by horizon
 * (performance_metrics).
 *
 * Times lie on an int64 axis: unix seconds, or row numbers when the
 * caller counts in rows; durations and horizons are in the axis' unit.
 * A time series 'ds' is strictly rising.
 *
 * Pure functions: no logging, no files, no global state; thread-safe. */
#ifndef DAGRUN_BACKTEST_H
#define DAGRUN_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

/* --- durations */

/* 40: "-106751991167300 days 23:59:59" (any int64 seconds) and NUL */
#define BACKTEST_DURATION_MAX 40
/* 1e15 s (31 million years): the longest duration accepted; keeps every
 * sum of a time and a duration inside int64 */
#define BACKTEST_DURATION_LIMIT 1000000000000000LL

/* Parse a duration as pandas.Timedelta writes or reads the common forms:
 * one or more terms "<number> <unit>", the space optional, the number
 * with an optional fraction, the unit (any case) one of w, week(s); d,
 * day(s); h, hr(s), hour(s); m, min(s), minute(s); s, sec(s), second(s);
 * and optionally a clock "hh:mm[:ss]" last ("1 days 06:00:00").  "730
 * days", "24 hours", "7d", "1.5h", "1 day 12 hours".  The total is
 * rounded to whole seconds into '*sec'.  Returns 0, or -1 (then '*sec'
 * is untouched) for anything else: no unit ("30"), an unknown unit, a
 * negative value, or more than BACKTEST_DURATION_LIMIT seconds. */
int backtest_parse_duration(const char *s, int64_t *sec);

/* 'sec' (>= 0) as str(pandas.Timedelta) writes it: "37 days 00:00:00",
 * "0 days 01:30:00".  Returns 'out'. */
char *backtest_format_duration(int64_t sec, char out[BACKTEST_DURATION_MAX]);

/* --- cutoffs */

/* 10000: the most cutoffs placed; each costs a refit, and the list must
 * stay small next to the data (a period of 1 s over years would not) */
#define BACKTEST_MAX_CUTOFFS 10000

enum backtest_cutoffs_status {
	BACKTEST_CUTOFFS_OK = 0,
	BACKTEST_HORIZON_TOO_LONG,   /* ds[n-1] - horizon < ds[0], or n == 0 */
	BACKTEST_NO_CUTOFF,          /* none at or after ds[0] + initial */
	BACKTEST_TOO_MANY_CUTOFFS    /* more than BACKTEST_MAX_CUTOFFS */
};

/* Place the cutoffs over 'ds[0..n)' as Prophet's generate_cutoffs():
 *
 *   cutoff = ds[n-1] - horizon; the list is [cutoff];
 *   while the last listed >= ds[0] + initial:
 *       cutoff -= period;
 *       if no ds lies in (cutoff, cutoff + horizon] and cutoff > ds[0]:
 *           cutoff = (the last ds <= cutoff) - horizon;
 *       list cutoff;
 *   drop the last listed (it is below ds[0] + initial) and reverse.
 *
 * So the last cutoff leaves exactly one horizon of data after it, the
 * others step back by 'period' (jumping back over a gap wider than the
 * horizon, so that each cutoff has data to forecast), and every cutoff is
 * at or after ds[0] + initial.  Cutoffs need not be times of 'ds'.
 * 'horizon' and 'period' > 0, 'initial' >= 0, each at most
 * BACKTEST_DURATION_LIMIT.  On success '*cutoffs' gets a rising array the
 * caller frees with free(3) and '*n_cutoffs' its length (>= 1); on
 * failure '*cutoffs' is NULL and the status says why. */
enum backtest_cutoffs_status backtest_cutoffs(const int64_t *ds, size_t n,
					      int64_t horizon, int64_t initial,
					      int64_t period, int64_t **cutoffs,
					      size_t *n_cutoffs);

/* The number of 'ds[0..n)' at or before 'v': the history of a cutoff 'v',
 * and the index of the first row after it. */
size_t backtest_count_upto(const int64_t *ds, size_t n, int64_t v);

/* --- performance metrics */

enum backtest_metric {
	BACKTEST_MSE,
	BACKTEST_RMSE,
	BACKTEST_MAE,
	BACKTEST_MAPE,
	BACKTEST_MDAPE,
	BACKTEST_SMAPE,
	BACKTEST_COVERAGE,
	BACKTEST_N_METRICS
};

/* "mse", "rmse", "mae", "mape", "mdape", "smape", "coverage" (static). */
const char *backtest_metric_name(enum backtest_metric m);

/* One row per horizon kept, horizons rising.  Invariant: 'horizon' and
 * each non-NULL 'value[m]' hold 'n' values; value[m] is NULL when the
 * metric was skipped (coverage without bounds; mape when some |y| is
 * below 1e-8, as Prophet skips it). */
struct backtest_perf {
	size_t n;
	int64_t *horizon;
	double *value[BACKTEST_N_METRICS];
};

/* Prophet's performance_metrics(df, rolling_window) over 'n' forecasts:
 * horizon 'h' (ds - cutoff), actual 'y', forecast 'yhat', and the
 * interval 'lower', 'upper' (both NULL: no coverage).  Per point:
 *   se = (y - yhat)^2, ae = |y - yhat|, ape = |(y - yhat) / y|,
 *   sape = |y - yhat| / ((|y| + |yhat|) / 2), 0 where that is 0 / 0
 *   (Prophet's fillna(0)), covered = lower <= y <= upper (1 or 0).
 * The points are sorted by horizon (stably: ties keep their order in
 * the input, where pandas' sort leaves it unspecified) and grouped by
 * distinct horizon; w = int(rolling_window * n), at least 1, at most n.
 * For each distinct horizon whose points and all earlier ones number at
 * least w, right-aligned:
 *   mse, mae, mape, smape, coverage: rolling_mean_by_h(): the mean of the
 *     points of this horizon and of earlier horizons back to w points,
 *     the earliest horizon taken in part, weighted by its own mean;
 *   mdape: rolling_median_by_h(): the median of this horizon's points,
 *     and of the points just before them in sorted order until there
 *     are w;
 *   rmse = sqrt(mse).
 * rolling_window 0 gives each distinct horizon on its own; 1 gives one
 * row, at the largest horizon, over every point: the overall figures.
 * 'rolling_window' in [0, 1].  'out' is the caller's to release with
 * backtest_perf_release(); n == 0 gives no rows.  Cannot fail. */
void backtest_performance(const int64_t *h, const double *y, const double *yhat,
			  const double *lower, const double *upper, size_t n,
			  double rolling_window, struct backtest_perf *out);
void backtest_perf_release(struct backtest_perf *p);

#endif
