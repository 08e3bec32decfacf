/* drift: how far a current sample of one feature has moved from a
 * reference sample, and the health verdict over many features.
 *
 * The statistics, all on plain arrays of finite doubles (NAN or inf in
 * the input is the caller's to reject: the results would be meaningless):
 * - mean, and std with ddof 1 (pandas' default): NAN below 2 values;
 * - shift = |cur_mean - ref_mean| / ref_std, the mean shift in reference
 *   stds (a z-score);
 * - returns: pct x[i] / x[i-1] - 1 (pandas' pct_change, the reference
 *   system's), or diff x[i] - x[i-1]; a pct return after a zero x[i-1] is
 *   left out (pandas would give inf or NAN), so a sample of n values has
 *   at most n - 1 returns;
 * - vol_ratio = std(cur returns) / std(ref returns);
 * - PSI over 'bins' bins cut at the reference's quantiles k / bins
 *   (k = 1 .. bins-1; numpy's default 'linear' quantile, to the bit); a
 *   value x falls in the bin numbered by how many cuts are below it
 *   (numpy.searchsorted side='left': a value equal to a cut goes left);
 *   shares below DRIFT_PSI_EPS are raised to it, then
 *   PSI = sum (c - r) ln(c / r) over the bins; 0 for identical samples;
 * - KS: the two-sample Kolmogorov-Smirnov statistic sup |F_ref - F_cur|
 *   of the empirical CDFs (scipy.stats.ks_2samp's statistic);
 * - Wasserstein: the 1-D earth mover's distance, exactly the integral of
 *   |F_ref - F_cur| (scipy.stats.wasserstein_distance), also divided by
 *   ref_std.
 *
 * Zero denominators, one rule: a ratio whose denominator is 0 is its
 * "no change" value when the numerator is 0 too (shift 0, vol_ratio 1,
 * wasserstein_norm 0) and +INFINITY otherwise: a feature that was constant
 * and now moves has drifted without bound.  A vol_ratio is NAN (undefined)
 * when either sample has fewer than 2 returns.
 *
 * Health: the reference system's verdict from drift_score (the mean shift
 * over features) and volatility_index (the mean vol_ratio); see
 * drift_health() and drift_summarize().
 *
 * Windows: which rows of a table, of strictly rising unix times, are the
 * reference and which the current sample.
 *
 * Pure functions, no global state, thread-safe.  drift_compare() and
 * drift_psi() allocate scratch memory with xmalloc (aborts on OOM); the
 * JSON functions return new references. */
#ifndef DAGRUN_DRIFT_H
#define DAGRUN_DRIFT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* 10: the reference system's PSI bins, deciles of the reference */
#define DRIFT_PSI_BINS 10
/* 1e-4: the floor of a bin's share, so an empty bin costs a finite
 * amount (ln(1e-4) = -9.2) instead of an infinite one */
#define DRIFT_PSI_EPS 1e-4

enum drift_returns {
	DRIFT_PCT,    /* x[i] / x[i-1] - 1; skipped after a zero */
	DRIFT_DIFF    /* x[i] - x[i-1] */
};

/* Sort 'x[0..n)' ascending, in place. */
void drift_sort(double *x, size_t n);

/* The 'p' quantile (0 <= p <= 1) of the ascending 'sorted[0..n)', n >= 1,
 * as numpy.quantile(method='linear'), bit for bit. */
double drift_quantile(const double *sorted, size_t n, double p);

double drift_mean(const double *x, size_t n);
/* The sample std (ddof 1); NAN when n < 2. */
double drift_std(const double *x, size_t n);

/* The returns of 'x[0..n)' of 'kind' into 'out' (room for n - 1, may not
 * alias 'x'); returns how many were written. */
size_t drift_returns(const double *x, size_t n, enum drift_returns kind,
		     double *out);

/* 'num' / 'den' under the zero rule above, for num, den >= 0: 0 when both
 * are 0 (the no-change value of a shift), +INFINITY when only 'den' is. */
double drift_scaled(double num, double den);
/* cur_std / ref_std with 1 when both are 0; NAN when either is NAN. */
double drift_vol_ratio(double ref_std, double cur_std);

/* PSI of 'cur[0..nc)' (any order) against the ascending 'ref[0..nr)'
 * over 'bins' (>= 1) quantile bins of the reference; nr, nc >= 1. */
double drift_psi(const double *ref, size_t nr, const double *cur, size_t nc,
		 size_t bins);

/* The KS statistic and the Wasserstein distance of two ascending samples
 * 'a[0..na)' and 'b[0..nb)', na, nb >= 1; symmetric in a and b. */
double drift_ks(const double *a, size_t na, const double *b, size_t nb);
double drift_wasserstein(const double *a, size_t na, const double *b, size_t nb);

/* Everything about one feature; names as in drift.json. */
struct drift_feature {
	double ref_mean, cur_mean, ref_std, cur_std;
	double shift;             /* may be +INFINITY */
	double vol_ratio;         /* may be +INFINITY or NAN */
	double psi, ks;
	double wasserstein;
	double wasserstein_norm;  /* wasserstein / ref_std; may be +INFINITY */
};

/* Compare 'cur[0..nc)' with 'ref[0..nr)' (any order, nr, nc >= 2, finite)
 * with returns of 'kind' and DRIFT_PSI_BINS bins.  The inputs are not
 * changed; scratch memory is freed before it returns. */
void drift_compare(const double *ref, size_t nr, const double *cur, size_t nc,
		   enum drift_returns kind, struct drift_feature *out);

enum drift_health {
	DRIFT_HEALTHY = 0,
	DRIFT_DEGRADED = 1,
	DRIFT_CRITICAL = 2
};

/* The bounds of the verdict.  Invariant (drift_thresholds_check()):
 * 0 <= drift_degraded <= drift_critical, and 0 <= vol_crit_low <=
 * vol_low <= vol_high <= vol_crit_high. */
struct drift_thresholds {
	double drift_degraded, drift_critical;  /* 1.0, 2.0 */
	double vol_low, vol_high;               /* healthy: 0.6 .. 1.5 */
	double vol_crit_low, vol_crit_high;     /* critical outside 0.4 .. 2.5 */
};

/* The reference system's thresholds, in brackets above. */
void drift_thresholds_init(struct drift_thresholds *t);
/* 0 if 't' keeps the invariant (finite values, in order), else -1. */
int drift_thresholds_check(const struct drift_thresholds *t);

/* The worse of two verdicts:
 *   drift_score < drift_degraded Healthy, <= drift_critical Degraded,
 *     above it Critical;
 *   vol_low <= volatility_index <= vol_high Healthy; below vol_crit_low or
 *     above vol_crit_high Critical; else Degraded.
 * A NAN score (nothing defined to average) gives no verdict of its own;
 * +INFINITY is Critical. */
enum drift_health drift_health(double drift_score, double volatility_index,
			       const struct drift_thresholds *t);
/* "Healthy", "Degraded", "Critical" */
const char *drift_health_name(enum drift_health h);

/* The scores over many features and their verdict. */
struct drift_summary {
	double drift_score;        /* mean shift; +INFINITY if any is */
	double volatility_index;   /* mean of the defined vol_ratios; NAN if none */
	enum drift_health health;
};

/* Summarize 'f[0..n)', n >= 1, under thresholds 't'. */
void drift_summarize(const struct drift_feature *f, size_t n,
		     const struct drift_thresholds *t, struct drift_summary *s);

/* 'order[0..n)' gets the indexes of 'f' by shift, largest first; equal
 * shifts keep their order.  O(n^2): meant for tens of features. */
void drift_rank(const struct drift_feature *f, size_t n, size_t *order);

/* 'v' for JSON, which has no infinities: a number when finite, the string
 * "inf" (or "-inf") when infinite (Python's float() reads it back), null
 * when NAN (undefined).  A new reference. */
json_t *drift_number_json(double v);
/* 'f' as drift.json's feature_metrics entry: ref_mean, curr_mean, ref_std,
 * curr_std, shift_score, vol_ratio, psi, ks, wasserstein,
 * wasserstein_norm, in that order.  A new reference. */
json_t *drift_feature_json(const struct drift_feature *f);

/* --- windows: rows [lo, hi) of a table whose times 'ts[0..n)' (unix
 * seconds) rise strictly; 'from' and 'to' bound the times asked for, both
 * included.  Index 0 of a pair is the reference, 1 the current window. */
struct drift_window {
	size_t lo, hi;
	int64_t from, to;
};

/* Set w->lo and w->hi to the rows with w->from <= t <= w->to (lo == hi
 * when there is none).  O(log n). */
void drift_window_select(const int64_t *ts, size_t n, struct drift_window *w);

/* The last 'n_cur' rows, and the 'n_ref' rows before them.  Returns 0,
 * or -1 when n_ref + n_cur > n ('w' untouched). */
int drift_windows_rows(const int64_t *ts, size_t n, size_t n_ref, size_t n_cur,
		       struct drift_window w[2]);

/* The times in (last - cur_days, last] and the 'ref_days' before them,
 * (last - cur_days - ref_days, last - cur_days], 'last' = ts[n - 1],
 * n >= 1, days of 86400 s.  Returns 0, or -1 when the reference would
 * start before ts[0] (then only w[0].from is set: one second after that
 * start). */
int drift_windows_days(const int64_t *ts, size_t n, double ref_days,
		       double cur_days, struct drift_window w[2]);

#endif
