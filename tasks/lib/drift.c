/* drift: the statistics of tasks/lib/drift.h.
 *
 * The quantile follows numpy's arithmetic step for step (its virtual
 * index and its two-sided lerp), so that PSI's bin edges, and therefore
 * which bin a value on an edge lands in, agree with numpy exactly.  KS
 * and Wasserstein walk the two sorted samples together once: O(na + nb). */
#include "drift.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void drift_sort(double *x, size_t n)
{
	if (n > 1)
		qsort(x, n, sizeof(*x), cmp_double);
}

/* numpy's 'linear': the virtual index (n - 1) p, then _lerp(), which
 * interpolates from the upper end when the weight is 0.5 or more. */
double drift_quantile(const double *sorted, size_t n, double p)
{
	double h = (double)(n - 1) * p, lo, t, a, b;
	size_t i;

	if (h >= (double)(n - 1))
		return sorted[n - 1];
	if (h < 0)
		return sorted[0];
	lo = floor(h);
	i = (size_t)lo;
	t = h - lo;
	a = sorted[i];
	b = sorted[i + 1];
	return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

double drift_mean(const double *x, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return n ? s / (double)n : NAN;
}

/* Two passes: the mean first, then squared deviations from it, which
 * keeps a large level from swamping a small spread. */
double drift_std(const double *x, size_t n)
{
	double m = drift_mean(x, n), s = 0;

	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return sqrt(s / (double)(n - 1));
}

size_t drift_returns(const double *x, size_t n, enum drift_returns kind,
		     double *out)
{
	size_t k = 0;

	for (size_t i = 1; i < n; i++) {
		if (kind == DRIFT_DIFF)
			out[k++] = x[i] - x[i - 1];
		else if (x[i - 1] != 0)
			out[k++] = x[i] / x[i - 1] - 1;
	}
	return k;
}

double drift_scaled(double num, double den)
{
	if (den != 0)
		return num / den;
	return num == 0 ? 0 : INFINITY;
}

double drift_vol_ratio(double ref_std, double cur_std)
{
	if (ref_std == 0 && cur_std == 0)
		return 1;
	return drift_scaled(cur_std, ref_std);
}

/* The bin of 'x': how many of the 'n' ascending 'cuts' are below it. */
static size_t bin_of(const double *cuts, size_t n, double x)
{
	size_t k = 0;

	while (k < n && cuts[k] < x)
		k++;
	return k;
}

double drift_psi(const double *ref, size_t nr, const double *cur, size_t nc,
		 size_t bins)
{
	double *cuts = xcalloc(3 * bins, sizeof(double));
	double *r = cuts + bins, *c = r + bins, psi = 0;

	for (size_t k = 1; k < bins; k++)
		cuts[k - 1] = drift_quantile(ref, nr, (double)k / (double)bins);
	for (size_t i = 0; i < nr; i++)
		r[bin_of(cuts, bins - 1, ref[i])] += 1;
	for (size_t i = 0; i < nc; i++)
		c[bin_of(cuts, bins - 1, cur[i])] += 1;
	for (size_t k = 0; k < bins; k++) {
		double pr = fmax(r[k] / (double)nr, DRIFT_PSI_EPS);
		double pc = fmax(c[k] / (double)nc, DRIFT_PSI_EPS);

		psi += (pc - pr) * log(pc / pr);
	}
	free(cuts);
	return psi;
}

/* The walk shared by KS and Wasserstein: from value 'x', step '*i' and
 * '*j' past every value <= x (ties move together, as the CDFs do), and
 * return the next value of either sample, or NAN past both. */
static double step(const double *a, size_t na, size_t *i, const double *b,
		   size_t nb, size_t *j, double x)
{
	while (*i < na && a[*i] <= x)
		(*i)++;
	while (*j < nb && b[*j] <= x)
		(*j)++;
	if (*i < na && *j < nb)
		return fmin(a[*i], b[*j]);
	return *i < na ? a[*i] : *j < nb ? b[*j] : NAN;
}

double drift_ks(const double *a, size_t na, const double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double d = 0, x = fmin(a[0], b[0]);

	while (!isnan(x)) {
		x = step(a, na, &i, b, nb, &j, x);
		d = fmax(d, fabs((double)i / (double)na - (double)j / (double)nb));
	}
	return d;
}

/* Between consecutive values x < next of either sample both CDFs are
 * flat: the area there is |F_a - F_b| (next - x). */
double drift_wasserstein(const double *a, size_t na, const double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double w = 0, x = fmin(a[0], b[0]), next;

	for (;;) {
		next = step(a, na, &i, b, nb, &j, x);
		if (isnan(next))
			return w;
		w += fabs((double)i / (double)na - (double)j / (double)nb) * (next - x);
		x = next;
	}
}

/* Sorted copies and returns of 'ref' and 'cur' in one block. */
void drift_compare(const double *ref, size_t nr, const double *cur, size_t nc,
		   enum drift_returns kind, struct drift_feature *out)
{
	double *rs = xmalloc(2 * (nr + nc) * sizeof(double));
	double *cs = rs + nr, *rr = cs + nc, *cr = rr + nr;
	size_t nrr = drift_returns(ref, nr, kind, rr);
	size_t ncr = drift_returns(cur, nc, kind, cr);

	out->ref_mean = drift_mean(ref, nr);
	out->cur_mean = drift_mean(cur, nc);
	out->ref_std = drift_std(ref, nr);
	out->cur_std = drift_std(cur, nc);
	out->shift = drift_scaled(fabs(out->cur_mean - out->ref_mean), out->ref_std);
	out->vol_ratio = drift_vol_ratio(drift_std(rr, nrr), drift_std(cr, ncr));
	memcpy(rs, ref, nr * sizeof(double));
	memcpy(cs, cur, nc * sizeof(double));
	drift_sort(rs, nr);
	drift_sort(cs, nc);
	out->psi = drift_psi(rs, nr, cs, nc, DRIFT_PSI_BINS);
	out->ks = drift_ks(rs, nr, cs, nc);
	out->wasserstein = drift_wasserstein(rs, nr, cs, nc);
	out->wasserstein_norm = drift_scaled(out->wasserstein, out->ref_std);
	free(rs);
}

void drift_thresholds_init(struct drift_thresholds *t)
{
	t->drift_degraded = 1.0;
	t->drift_critical = 2.0;
	t->vol_low = 0.6;
	t->vol_high = 1.5;
	t->vol_crit_low = 0.4;
	t->vol_crit_high = 2.5;
}

int drift_thresholds_check(const struct drift_thresholds *t)
{
	double v[6] = {t->drift_degraded, t->drift_critical, t->vol_crit_low,
		       t->vol_low, t->vol_high, t->vol_crit_high};

	for (int k = 0; k < 6; k++)
		if (!isfinite(v[k]) || v[k] < 0)
			return -1;
	if (v[0] > v[1])
		return -1;
	for (int k = 2; k < 5; k++)
		if (v[k] > v[k + 1])
			return -1;
	return 0;
}

enum drift_health drift_health(double drift_score, double volatility_index,
			       const struct drift_thresholds *t)
{
	enum drift_health d = DRIFT_HEALTHY, v = DRIFT_HEALTHY;
	double x = volatility_index;

	if (drift_score > t->drift_critical)
		d = DRIFT_CRITICAL;
	else if (drift_score >= t->drift_degraded)
		d = DRIFT_DEGRADED;
	if (x < t->vol_crit_low || x > t->vol_crit_high)
		v = DRIFT_CRITICAL;
	else if (x < t->vol_low || x > t->vol_high)
		v = DRIFT_DEGRADED;
	return d > v ? d : v;
}

const char *drift_health_name(enum drift_health h)
{
	static const char *const names[] = {"Healthy", "Degraded", "Critical"};

	return names[h];
}

void drift_summarize(const struct drift_feature *f, size_t n,
		     const struct drift_thresholds *t, struct drift_summary *s)
{
	double shift = 0, vol = 0;
	size_t n_vol = 0;

	for (size_t i = 0; i < n; i++) {
		shift += f[i].shift;
		if (!isnan(f[i].vol_ratio)) {
			vol += f[i].vol_ratio;
			n_vol++;
		}
	}
	s->drift_score = shift / (double)n;
	s->volatility_index = n_vol ? vol / (double)n_vol : NAN;
	s->health = drift_health(s->drift_score, s->volatility_index, t);
}

/* Insertion: stable, and n is small. */
void drift_rank(const struct drift_feature *f, size_t n, size_t *order)
{
	for (size_t i = 0, k; i < n; i++) {
		for (k = i; k > 0 && f[order[k - 1]].shift < f[i].shift; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
}

json_t *drift_number_json(double v)
{
	if (isfinite(v))
		return json_real(v);
	return isnan(v) ? json_null() : json_string(v > 0 ? "inf" : "-inf");
}

json_t *drift_feature_json(const struct drift_feature *f)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
			 "ref_mean", drift_number_json(f->ref_mean),
			 "curr_mean", drift_number_json(f->cur_mean),
			 "ref_std", drift_number_json(f->ref_std),
			 "curr_std", drift_number_json(f->cur_std),
			 "shift_score", drift_number_json(f->shift),
			 "vol_ratio", drift_number_json(f->vol_ratio),
			 "psi", drift_number_json(f->psi), "ks", drift_number_json(f->ks),
			 "wasserstein", drift_number_json(f->wasserstein),
			 "wasserstein_norm", drift_number_json(f->wasserstein_norm));
}

/* The first of the rising 'ts[0..n)' that is above 't' (with 'above'
 * set) or at least 't'. */
static size_t search(const int64_t *ts, size_t n, int64_t t, int above)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ts[mid] < t || (above && ts[mid] == t))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void drift_window_select(const int64_t *ts, size_t n, struct drift_window *w)
{
	w->lo = search(ts, n, w->from, 0);
	w->hi = w->from > w->to ? w->lo : search(ts, n, w->to, 1);
	if (w->hi < w->lo)
		w->hi = w->lo;
}

int drift_windows_rows(const int64_t *ts, size_t n, size_t n_ref, size_t n_cur,
		       struct drift_window w[2])
{
	if (n_ref > n || n_cur > n - n_ref)
		return -1;
	w[1].lo = n - n_cur;
	w[1].hi = n;
	w[0].lo = w[1].lo - n_ref;
	w[0].hi = w[1].lo;
	for (int k = 0; k < 2; k++) {
		w[k].from = w[k].hi > w[k].lo ? ts[w[k].lo] : 0;
		w[k].to = w[k].hi > w[k].lo ? ts[w[k].hi - 1] : 0;
	}
	return 0;
}

/* 86400: seconds in a day; unix time has no leap seconds either */
#define DAY 86400.0

int drift_windows_days(const int64_t *ts, size_t n, double ref_days,
		       double cur_days, struct drift_window w[2])
{
	int64_t last = ts[n - 1];
	int64_t cut = (int64_t)floor((double)last - cur_days * DAY);
	int64_t start = (int64_t)floor((double)last - (cur_days + ref_days) * DAY);

	w[0].from = start + 1;
	if (start < ts[0])
		return -1;
	w[0].to = cut;
	w[1].from = cut + 1;
	w[1].to = last;
	drift_window_select(ts, n, &w[0]);
	drift_window_select(ts, n, &w[1]);
	return 0;
}
