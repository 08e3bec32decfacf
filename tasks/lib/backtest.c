/* backtest: durations, cutoff placement and performance metrics of
 * rolling-origin cross-validation, as Prophet's diagnostics (backtest.h).
 *
 * The metric code follows Prophet's rolling_mean_by_h() and
 * rolling_median_by_h() step for step (python/prophet/diagnostics.py), so
 * that the rows kept and their weights agree; only the order of tied
 * horizons is ours (stable), where pandas' quicksort leaves it open. */
#include "backtest.h"
#include "xalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Durations                                                            */

struct unit {
	const char *name;
	int64_t sec;
};

static const struct unit units[] = {
	{"w", 604800}, {"week", 604800}, {"weeks", 604800},
	{"d", 86400}, {"day", 86400}, {"days", 86400},
	{"h", 3600}, {"hr", 3600}, {"hrs", 3600}, {"hour", 3600}, {"hours", 3600},
	{"m", 60}, {"min", 60}, {"mins", 60}, {"minute", 60}, {"minutes", 60},
	{"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
};

/* Seconds per unit of the 'n' letters at 's', or 0 if no unit. */
static int64_t unit_seconds(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && !strncasecmp(units[i].name, s, n))
			return units[i].sec;
	return 0;
}

/* A number at '*p' ("12", "1.5", ".5") into '*v', '*p' moved past it;
 * 0, or -1 if there is none.  18 digits at most before the point. */
static int number(const char **p, double *v)
{
	const char *s = *p;
	double scale = 1;
	int seen = 0;

	*v = 0;
	for (; isdigit((unsigned char)*s) && seen < 18; s++, seen++)
		*v = *v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++, seen++)
			*v += (scale /= 10) * (*s - '0');
	if (!seen)
		return -1;
	*p = s;
	return 0;
}

/* One or two digits at '*p' (moved past them), or -1. */
static int two_digits(const char **p)
{
	int v = -1;

	for (int k = 0; k < 2 && isdigit((unsigned char)**p); k++, (*p)++)
		v = (v < 0 ? 0 : v * 10) + (**p - '0');
	return v;
}

/* A clock "hh:mm[:ss]" filling the rest of the text from 'p' (trailing
 * spaces allowed), in seconds; -1 if it is not one. */
static double clock_seconds(const char *p)
{
	int hh = two_digits(&p), mm = -1, ss = 0;

	if (hh >= 0 && *p == ':') {
		p++;
		mm = two_digits(&p);
	}
	if (mm >= 0 && *p == ':') {
		p++;
		ss = two_digits(&p);
	}
	while (*p == ' ')
		p++;
	if (mm < 0 || mm > 59 || ss < 0 || ss > 59 || *p)
		return -1;
	return hh * 3600.0 + mm * 60.0 + ss;
}

int backtest_parse_duration(const char *s, int64_t *sec)
{
	const char *p = s, *unit;
	double total = 0, v;
	int64_t per;
	int terms = 0;

	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		v = terms ? clock_seconds(p) : -1;
		if (v >= 0) {
			total += v;
			terms++;
			break;
		}
		if (number(&p, &v))
			return -1;
		while (*p == ' ')
			p++;
		unit = p;
		while (isalpha((unsigned char)*p))
			p++;
		per = unit_seconds(unit, (size_t)(p - unit));
		if (!per)
			return -1;
		total += v * (double)per;
		terms++;
	}
	if (!terms || !(total <= (double)BACKTEST_DURATION_LIMIT))
		return -1;
	*sec = (int64_t)llround(total);
	return 0;
}

char *backtest_format_duration(int64_t sec, char out[BACKTEST_DURATION_MAX])
{
	int64_t days = sec / 86400, rest = sec % 86400;

	snprintf(out, BACKTEST_DURATION_MAX, "%" PRId64 " days %02d:%02d:%02d", days,
		 (int)(rest / 3600), (int)(rest / 60 % 60), (int)(rest % 60));
	return out;
}

/* ------------------------------------------------------------------ */
/* Cutoffs                                                              */

size_t backtest_count_upto(const int64_t *ds, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ds[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* 1 if some ds lies in (c, c + horizon]. */
static int has_data(const int64_t *ds, size_t n, int64_t c, int64_t horizon)
{
	size_t i = backtest_count_upto(ds, n, c);

	return i < n && ds[i] <= c + horizon;
}

enum backtest_cutoffs_status backtest_cutoffs(const int64_t *ds, size_t n,
					      int64_t horizon, int64_t initial,
					      int64_t period, int64_t **cutoffs,
					      size_t *n_cutoffs)
{
	int64_t cutoff, *list;
	size_t k = 0, cap = 16;

	*cutoffs = NULL;
	*n_cutoffs = 0;
	if (n == 0 || ds[n - 1] - horizon < ds[0])
		return BACKTEST_HORIZON_TOO_LONG;
	cutoff = ds[n - 1] - horizon;
	list = xmalloc(cap * sizeof(int64_t));
	list[k++] = cutoff;
	while (list[k - 1] >= ds[0] + initial) {
		if (k > BACKTEST_MAX_CUTOFFS) {
			free(list);
			return BACKTEST_TOO_MANY_CUTOFFS;
		}
		cutoff -= period;
		if (!has_data(ds, n, cutoff, horizon) && cutoff > ds[0])
			cutoff = ds[backtest_count_upto(ds, n, cutoff) - 1] - horizon;
		if (k == cap)
			xgrow((void **)&list, sizeof(int64_t), &cap, k + 1);
		list[k++] = cutoff;
	}
	k--;   /* the last is below ds[0] + initial */
	if (k == 0) {
		free(list);
		return BACKTEST_NO_CUTOFF;
	}
	for (size_t i = 0; i < k / 2; i++) {
		int64_t t = list[i];
		list[i] = list[k - 1 - i];
		list[k - 1 - i] = t;
	}
	*cutoffs = list;
	*n_cutoffs = k;
	return BACKTEST_CUTOFFS_OK;
}

/* ------------------------------------------------------------------ */
/* Performance metrics                                                  */

static const char *const metric_names[BACKTEST_N_METRICS] = {
	"mse", "rmse", "mae", "mape", "mdape", "smape", "coverage"
};

const char *backtest_metric_name(enum backtest_metric m)
{
	return metric_names[m];
}

/* Points sorted by horizon, grouped: group g holds sorted points
 * first[g] .. first[g] + count[g]. */
struct groups {
	size_t n, g;
	size_t *order;       /* sorted position -> input index */
	size_t *first, *count;
	int64_t *h;          /* the group's horizon */
};

struct keyed {
	int64_t h;
	size_t i;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void group_init(struct groups *G, const int64_t *h, size_t n)
{
	struct keyed *k = xmalloc((n + 1) * sizeof(*k));

	for (size_t i = 0; i < n; i++) {
		k[i].h = h[i];
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), cmp_keyed);
	G->n = n;
	G->g = 0;
	G->order = xmalloc((n + 1) * sizeof(size_t));
	G->first = xmalloc((n + 1) * sizeof(size_t));
	G->count = xmalloc((n + 1) * sizeof(size_t));
	G->h = xmalloc((n + 1) * sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		G->order[i] = k[i].i;
		if (i == 0 || k[i].h != k[i - 1].h) {
			G->first[G->g] = i;
			G->count[G->g] = 0;
			G->h[G->g++] = k[i].h;
		}
		G->count[G->g - 1]++;
	}
	free(k);
}

static void group_release(struct groups *G)
{
	free(G->order);
	free(G->first);
	free(G->count);
	free(G->h);
}

/* Prophet's rolling_mean_by_h() over 'x' (in sorted order) into res[g]
 * for the groups kept; returns the first group kept. */
static size_t rolling_mean(const struct groups *G, const double *x, size_t w,
			   double *res)
{
	double *xs = xcalloc(G->g + 1, sizeof(double)), x_sum = 0;
	size_t n_sum = 0;
	long trailing = (long)G->g - 1;

	for (size_t g = 0; g < G->g; g++)
		for (size_t j = 0; j < G->count[g]; j++)
			xs[g] += x[G->first[g] + j];
	for (long i = (long)G->g - 1; i >= 0; i--) {
		x_sum += xs[i];
		n_sum += G->count[i];
		while (n_sum >= w) {
			double excess = (double)(n_sum - w) * xs[i] / (double)G->count[i];
			res[trailing] = (x_sum - excess) / (double)w;
			x_sum -= xs[trailing];
			n_sum -= G->count[trailing];
			trailing--;
		}
	}
	free(xs);
	return (size_t)(trailing + 1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* numpy's median of v[0..n) (sorted in place; NAN if any is NAN). */
static double median(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return NAN;
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Prophet's rolling_median_by_h() over 'x' (sorted order) into res[g];
 * returns the first group kept. */
static size_t rolling_median(const struct groups *G, const double *x, size_t w,
			     double *res)
{
	double *xs = xmalloc((G->n + 1) * sizeof(double));
	size_t g = G->g;

	while (g > 0) {
		size_t k = G->count[g - 1], first = G->first[g - 1];
		long next = (long)first - 1;
		memcpy(xs, x + first, k * sizeof(double));
		while (k < w && next >= 0)
			xs[k++] = x[next--];
		if (k < w)
			break;
		res[g - 1] = median(xs, k);
		g--;
	}
	free(xs);
	return g;
}

/* The per-point value of metric 'm' for input point 'i'. */
static double point_value(enum backtest_metric m, size_t i, const double *y,
			  const double *yhat, const double *lower, const double *upper)
{
	double e = y[i] - yhat[i], s;

	switch (m) {
	case BACKTEST_MSE:
		return e * e;
	case BACKTEST_MAE:
		return fabs(e);
	case BACKTEST_MAPE:
	case BACKTEST_MDAPE:
		return fabs(e / y[i]);
	case BACKTEST_SMAPE:
		s = fabs(e) / ((fabs(y[i]) + fabs(yhat[i])) / 2);
		return isnan(s) ? 0 : s;
	case BACKTEST_COVERAGE:
		return y[i] >= lower[i] && y[i] <= upper[i];
	default:
		return NAN;
	}
}

/* 1 if metric 'm' is computed for these points (Prophet's skips). */
static int metric_on(enum backtest_metric m, const double *y, size_t n,
		     const double *lower, const double *upper)
{
	if (m == BACKTEST_COVERAGE)
		return lower && upper;
	if (m != BACKTEST_MAPE)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (fabs(y[i]) < 1e-8)
			return 0;
	return 1;
}

void backtest_performance(const int64_t *h, const double *y, const double *yhat,
			  const double *lower, const double *upper, size_t n,
			  double rolling_window, struct backtest_perf *out)
{
	struct groups G;
	double *x = xmalloc((n + 1) * sizeof(double));
	double *res = xmalloc((n + 1) * sizeof(double));
	long wl = (long)(rolling_window * (double)n);
	size_t w = wl < 1 ? 1 : (size_t)wl, first = 0;

	memset(out, 0, sizeof(*out));
	w = w > n ? n : w;
	group_init(&G, h, n);
	for (int m = 0; n > 0 && m < BACKTEST_N_METRICS; m++) {
		if (m == BACKTEST_RMSE || !metric_on(m, y, n, lower, upper))
			continue;
		for (size_t i = 0; i < n; i++)
			x[i] = point_value(m, G.order[i], y, yhat, lower, upper);
		first = m == BACKTEST_MDAPE ? rolling_median(&G, x, w, res) :
			rolling_mean(&G, x, w, res);
		out->n = G.g - first;
		out->value[m] = xmalloc((out->n + 1) * sizeof(double));
		memcpy(out->value[m], res + first, out->n * sizeof(double));
	}
	if (n > 0) {
		out->horizon = xmalloc((out->n + 1) * sizeof(int64_t));
		memcpy(out->horizon, G.h + first, out->n * sizeof(int64_t));
		out->value[BACKTEST_RMSE] = xmalloc((out->n + 1) * sizeof(double));
		for (size_t r = 0; r < out->n; r++)
			out->value[BACKTEST_RMSE][r] = sqrt(out->value[BACKTEST_MSE][r]);
	}
	group_release(&G);
	free(x);
	free(res);
}

void backtest_perf_release(struct backtest_perf *p)
{
	free(p->horizon);
	for (int m = 0; m < BACKTEST_N_METRICS; m++)
		free(p->value[m]);
	memset(p, 0, sizeof(*p));
}
