/* features: derived columns for forecasting, computed over a whole series,
 * and the named set of columns that becomes the last axis of X.
 *
 * Every computing function fills 'out[0..n)' and returns the index of its
 * first defined value, its warm-up: values before it are NAN.  The caller
 * drops the rows before the largest warm-up of the features it asked for,
 * so every kept row has every feature (a return value >= n means none is
 * defined).  Outputs never alias inputs.  Pure functions, thread-safe.
 *
 * Conventions (tests/parity/preprocess.py recomputes each with pandas):
 * - time features, in UTC, each as sin(2 pi v / P) and cos(2 pi v / P):
 *   min_of_day v = hour * 60 + minute (seconds ignored), P = 1440;
 *   day_of_week v = 0 on Monday .. 6 on Sunday, P = 7;
 *   day_of_year v = 0 on January 1, P = that year's length (365 or 366),
 *   so every year closes the circle exactly and Jan 1 is always angle 0.
 * - lag k: x[i - k]; warm-up k.
 * - rolling w: the mean and the sample std (ddof 1, pandas' default) of
 *   x[i - w + 1 .. i]; warm-up w - 1; w >= 2.
 * - returns: x[i] / x[i - 1] - 1 (pandas' pct_change); warm-up 1.  A zero
 *   x[i - 1] gives inf or NAN, which the caller must report.
 * - RSI(p), Wilder's: gains and losses of x[i] - x[i - 1]; their first
 *   averages are the plain means over i = 1..p, then avg = (avg (p - 1) +
 *   this) / p; RSI = 100 g / (g + l) (= 100 - 100 / (1 + g / l)), and 50
 *   when both averages are 0.  Warm-up p.
 * - EMA(span), pandas' ewm(span, adjust=False): e[0] = x[0], e[i] = a x[i]
 *   + (1 - a) e[i - 1], a = 2 / (span + 1).  Defined from row 0: like
 *   pandas, no warm-up rows are dropped for an EMA.
 * - MACD(f, s, g): line = EMA_f - EMA_s, signal = EMA_g(line), hist =
 *   line - signal; warm-up 0, as the EMAs. */
#ifndef DAGRUN_FEATURES_H
#define DAGRUN_FEATURES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum features_time {
	FEATURES_MIN_OF_DAY,
	FEATURES_DAY_OF_WEEK,
	FEATURES_DAY_OF_YEAR
};

/* The time feature called 'name' ("min_of_day", "day_of_week",
 * "day_of_year"): 0 and '*k' set, or -1 if there is none. */
int features_time_parse(const char *name, enum features_time *k);
const char *features_time_name(enum features_time k);

/* The cycle position of unix time 't': 'v' and its period 'p' above. */
void features_time_cycle(enum features_time k, int64_t t, double *v, double *p);

/* sin and cos of time feature 'k' for each of 't[0..n)'; warm-up 0. */
void features_time(enum features_time k, const int64_t *t, size_t n,
		   double *sin_out, double *cos_out);

size_t features_lag(const double *x, size_t n, size_t k, double *out);
size_t features_rolling(const double *x, size_t n, size_t w, double *mean,
			double *std);
size_t features_returns(const double *x, size_t n, double *out);
size_t features_rsi(const double *x, size_t n, size_t p, double *out);
size_t features_ema(const double *x, size_t n, size_t span, double *out);
size_t features_macd(const double *x, size_t n, size_t fast, size_t slow,
		     size_t signal, double *line, double *sig, double *hist);

/* --- a set of named columns of 'rows' values each, in the order added.
 * Invariant: names[i] and cols[i] are owned by the set; 'warmup' is the
 * largest warm-up of any column added.  Not thread-safe. */
struct features_set {
	size_t rows;
	size_t n, cap;
	char **names;
	double **cols;
	size_t warmup;
};

void features_init(struct features_set *fs, size_t rows);
/* Free every name and column; the set is empty (and reusable) after. */
void features_release(struct features_set *fs);

/* Add a column; the set takes 'name' and 'col' (malloc'ed, 'rows' values)
 * and frees them in features_release(). */
void features_add(struct features_set *fs, char *name, double *col,
		  size_t warmup);
/* Add a copy of column 'x' ('rows' values) named 'name' (copied too);
 * warm-up 0. */
void features_add_copy(struct features_set *fs, const char *name,
		       const double *x);
/* The index of the column 'name', or -1. */
long features_find(const struct features_set *fs, const char *name);

/* The first value at or after row 'from' that is not finite (an inf or a
 * NAN: a return after a zero, say): 1 with its column and row, else 0. */
int features_find_nonfinite(const struct features_set *fs, size_t from,
			    size_t *col, size_t *row);

/* Read the output folder 'dir' of a data.load node (its schema.json, its
 * timestamp column and each number column, as data.load writes them):
 * 'fs' (initialised here; release it even on failure) gets one column per
 * number column, in schema order, named as in the CSV; '*t' the times, in
 * int64 unix seconds, strictly rising (caller frees; NULL on failure);
 * '*schema' the parsed schema.json (caller json_decref()s).  String and
 * other time columns are skipped.  Returns 0, or -1 with 'err' set
 * (ERR_USER: not such an output, or no number column; ERR_IO). */
int features_read_table(const char *dir, struct features_set *fs, int64_t **t,
			json_t **schema, struct err *err);

/* Add derived columns of 'x' ('rows' values) named after 'base':
 *   <base>_lag_<k>; <base>_roll_mean_<w>, <base>_roll_std_<w>;
 *   <base>_return; <base>_rsi_<p>; <base>_macd, <base>_macd_signal,
 *   <base>_macd_hist; and <name>_sin, <name>_cos for a time feature. */
void features_add_time(struct features_set *fs, enum features_time k,
		       const int64_t *t);
void features_add_lag(struct features_set *fs, const char *base,
		      const double *x, size_t k);
void features_add_rolling(struct features_set *fs, const char *base,
			  const double *x, size_t w);
void features_add_returns(struct features_set *fs, const char *base,
			  const double *x);
void features_add_rsi(struct features_set *fs, const char *base,
		      const double *x, size_t p);
void features_add_macd(struct features_set *fs, const char *base,
		       const double *x, size_t fast, size_t slow, size_t signal);

#endif
