/* prophet: see prophet.h.
 *
 * The fit.  Prophet's Stan L-BFGS stops well short of the MAP on
 * ill-conditioned series (the changepoint ramps and the yearly terms are
 * nearly collinear): on the Peyton Manning series its estimate is 3.7% of
 * the series' sd away from Stan's own Newton optimum, while both optima
 * agree to 0.02% (docs/prophet.md).  So the fit here goes to the optimum
 * itself: Gauss-Newton rounds, each solving its L1-penalised quadratic
 * exactly (l1qp.h), then sigma by its closed form.  With
 * linear growth and additive terms the mean is linear in theta = (k, m,
 * delta, beta), mean = Z theta with Z = [t, 1, A(t - s), X]: Z'Z and Z'y
 * are formed once and a round costs O(q^3) whatever the length of the
 * series.  Logistic growth is not convex enough for full Gauss-Newton
 * steps from Prophet's start; it first follows L-BFGS (liblbfgs) into the
 * basin Stan's L-BFGS finds, then Gauss-Newton polishes.  L-BFGS is also
 * the fallback past NEWTON_MAX_DIM unknowns or on a singular system.
 * prophet_json.c holds the model's JSON form.
 *
 * The objective is evaluated the same two ways: by Z'Z in O(q^2) on the
 * linear path, else by rows, where sorted rows give each row's count of
 * changepoints at or before it ('seg') once, and the trend and its
 * gradient cost O(n + S) by sums per segment.  Tests check both against
 * the forecast and the gradient against finite differences. */
#include "prophet.h"
#include "holidays.h"
#include "l1qp.h"
#include "rng.h"
#include "timeparse.h"
#include "xalloc.h"

#include <lbfgs.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* 86400: seconds in a day; Fourier terms use days since the epoch */
#define DAY_SECONDS 86400.0
/* Prophet's priors: k, m ~ N(0, 5); sigma_obs ~ N+(0, 0.5) */
#define KM_PRIOR_VAR 25.0
#define SIGMA_PRIOR_VAR 0.25
/* 10000: Prophet's iteration budget for the optimizer */
#define MAX_ITERATIONS 10000
/* 4: restarts after a line search gives up (the |delta| kinks defeat its
 * curvature model); each restart forgets the Hessian estimate */
#define MAX_RESTARTS 4
/* 400: the most unknowns Gauss-Newton takes; each of its steps costs a
 * Cholesky of up to q^3 / 3 flops, beyond which L-BFGS is cheaper */
#define NEWTON_MAX_DIM 400
/* 500: Gauss-Newton rounds; they converge in tens */
#define NEWTON_MAX_ROUNDS 500
/* 2.2e-12: Stan's tol_rel_obj (1e4 machine epsilons), Prophet's stop */
#define REL_TOL 2.220446e-12

/* One piecewise trend: changepoints 'cp' (rising) with rate changes. */
struct trend_spec {
	enum prophet_growth growth;
	double k, m, cap;
	const double *cp, *delta;
	size_t n_cp;
};

struct prophet_problem {
	const struct prophet_model *pm;
	size_t n, n_cp, n_beta, dim;
	double *t, *y;        /* scaled, n */
	double *X;            /* n x n_beta, row-major */
	double *prior_var;    /* n_beta: s^2 of each column */
	size_t *seg;          /* n: changepoints at or before each row */
	double tau, cap;      /* Laplace scale; cap / y_scale */
	/* the linear path: G = Z'Z (q x q), zy = Z'y, yy = y'y; NULL if unused */
	double *G, *zy, yy;
	size_t q;
	/* scratch of the evaluation */
	double *xb, *g, *w, *rate, *off, *sa, *sb, *theta, *v;
	int iterations, cancelled, converged;
	int dummy_cp;             /* no changepoints: one dummy at t = 0 */
	double last_f;            /* the objective after the last iteration */
	int (*cancel)(void *arg);
	void *cancel_arg;
};

void prophet_config_init(struct prophet_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->growth = PROPHET_LINEAR;
	cfg->cap = NAN;
	cfg->n_changepoints = 25;
	cfg->changepoint_range = 0.8;
	cfg->changepoint_prior_scale = 0.05;
	cfg->mode = PROPHET_ADDITIVE;
	cfg->seasonality_prior_scale = 10;
	cfg->holidays_prior_scale = 10;
	strcpy(cfg->country, "US");
	cfg->yearly = cfg->weekly = cfg->daily = PROPHET_AUTO;
	cfg->interval_width = 0.8;
	cfg->uncertainty_samples = 1000;
}

void prophet_release(struct prophet_model *pm)
{
	for (size_t i = 0; i < pm->n_holidays; i++)
		free(pm->holidays[i]);
	free(pm->holidays);
	free(pm->cp_t);
	free(pm->delta);
	free(pm->beta);
	memset(pm, 0, sizeof(*pm));
}

/* ------------------------------------------------------------------ */
/* Checking and scaling the input                                      */

static int check_order(const char *name, int order, struct err *err)
{
	if (order < PROPHET_ON || order > PROPHET_MAX_ORDER) {
		err_set(err, ERR_USER, "%s_seasonality: expected \"auto\", true, false "
			"or a Fourier order 0 to %d, found %d", name, PROPHET_MAX_ORDER,
			order);
		return -1;
	}
	return 0;
}

int prophet_config_check(const struct prophet_config *c, struct err *err)
{
	const char *bad = NULL;

	if (c->n_changepoints < 0)
		bad = "n_changepoints: expected 0 or more";
	else if (!(c->changepoint_range > 0 && c->changepoint_range <= 1))
		bad = "changepoint_range: expected a share in (0, 1]";
	else if (!(c->changepoint_prior_scale > 0) || !(c->seasonality_prior_scale > 0) ||
		 !(c->holidays_prior_scale > 0))
		bad = "prior scales: expected numbers above 0";
	else if (!(c->interval_width > 0 && c->interval_width < 1))
		bad = "interval_width: expected a share in (0, 1)";
	else if (c->uncertainty_samples < 0)
		bad = "uncertainty_samples: expected 0 or more";
	else if (c->growth == PROPHET_LOGISTIC && !(c->cap > 0 && isfinite(c->cap)))
		bad = "logistic growth needs 'cap', a number above 0";
	if (bad) {
		err_set(err, ERR_USER, "%s", bad);
		return -1;
	}
	if (!holidays_known(c->country)) {
		err_set(err, ERR_USER, "country: no holidays for '%s' (expected %s, or "
			"null or \"\" for none)", c->country, holidays_countries());
		return -1;
	}
	if (check_order("yearly", c->yearly, err) || check_order("weekly", c->weekly, err))
		return -1;
	return check_order("daily", c->daily, err);
}

/* Times rising (ties allowed) with a span; values finite. */
static int check_rows(const int64_t *ts, const double *y, size_t n, struct err *err)
{
	if (n < 2) {
		err_set(err, ERR_USER, "expected at least 2 rows to fit, found %zu", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i])) {
			err_set(err, ERR_USER, "row %zu: expected a finite value, found %g",
				i + 1, y[i]);
			return -1;
		}
		if (i && ts[i] < ts[i - 1]) {
			err_set(err, ERR_USER, "row %zu: time goes back (expected rows "
				"sorted by time)", i + 1);
			return -1;
		}
	}
	if (ts[n - 1] == ts[0]) {
		err_set(err, ERR_USER, "every row has the same time (expected a span "
			"of time to fit a trend)");
		return -1;
	}
	return 0;
}

/* y_scale = max |y| (1 if all zero), as Prophet's absmax scaling. */
static double abs_max(const double *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s = fmax(s, fabs(y[i]));
	return s > 0 ? s : 1;
}

/* ------------------------------------------------------------------ */
/* Seasonalities, holidays and changepoints: what the data allows       */

/* The order 'want' asks for; PROPHET_AUTO gives 'def' unless 'off'. */
static int resolve_order(int want, int off, int def)
{
	if (want == PROPHET_ON)
		return def;
	return want == PROPHET_AUTO ? (off ? 0 : def) : want;
}

/* Prophet's auto rules, on the span and the smallest nonzero step. */
static void choose_seasons(struct prophet_model *pm, const int64_t *ts, size_t n)
{
	static const struct prophet_season all[3] = {
		{"yearly", 365.25, 10}, {"weekly", 7, 3}, {"daily", 1, 4}
	};
	double span = (double)(ts[n - 1] - ts[0]) / DAY_SECONDS, step = INFINITY;
	int order[3];

	for (size_t i = 1; i < n; i++) {
		if (ts[i] != ts[i - 1])
			step = fmin(step, (double)(ts[i] - ts[i - 1]) / DAY_SECONDS);
	}
	order[0] = resolve_order(pm->cfg.yearly, span < 730, 10);
	order[1] = resolve_order(pm->cfg.weekly, span < 14 || step >= 7, 3);
	order[2] = resolve_order(pm->cfg.daily, span < 2 || step >= 1, 4);
	pm->cfg.yearly = order[0];
	pm->cfg.weekly = order[1];
	pm->cfg.daily = order[2];
	pm->n_seasons = 0;
	for (int s = 0; s < 3; s++) {
		if (order[s] <= 0)
			continue;
		pm->seasons[pm->n_seasons] = all[s];
		pm->seasons[pm->n_seasons++].order = order[s];
	}
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return q - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t year_of(int64_t sec)
{
	int64_t y;
	int m, d;

	timeparse_civil_from_days(floor_div(sec, 86400), &y, &m, &d);
	return y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The holiday names of the training years, sorted and unique: one column
 * each, as Prophet's holidays seen in training. */
static void choose_holidays(struct prophet_model *pm, const int64_t *ts, size_t n)
{
	size_t nh, k = 0;
	struct holiday *h = holidays_between(pm->cfg.country, year_of(ts[0]),
					     year_of(ts[n - 1]), &nh);
	const char **names = xmalloc((nh + 1) * sizeof(*names));

	for (size_t i = 0; i < nh; i++)
		names[i] = h[i].name;
	qsort(names, nh, sizeof(*names), cmp_str);
	pm->holidays = xmalloc((nh + 1) * sizeof(char *));
	for (size_t i = 0; i < nh; i++) {
		if (k == 0 || strcmp(names[i], pm->holidays[k - 1]))
			pm->holidays[k++] = xstrdup(names[i]);
	}
	pm->n_holidays = k;
	free(names);
	free(h);
}

/* Prophet's placement: n_cp + 1 rows evenly over the first
 * changepoint_range of the rows (rounded half to even, as numpy does),
 * the first dropped; none leaves one dummy changepoint at t = 0. */
static void place_changepoints(struct prophet_problem *p, struct prophet_model *pm,
			       const double *t, size_t n)
{
	size_t hist = (size_t)floor((double)n * pm->cfg.changepoint_range);
	size_t want = (size_t)pm->cfg.n_changepoints;

	if (want + 1 > hist)
		want = hist > 0 ? hist - 1 : 0;
	pm->n_cp = want ? want : 1;
	p->dummy_cp = want == 0;
	pm->cp_t = xcalloc(pm->n_cp, sizeof(double));
	for (size_t j = 1; j <= want; j++) {
		double at = rint((double)j * (double)(hist - 1) / (double)want);
		pm->cp_t[j - 1] = t[(size_t)at];
	}
}

/* ------------------------------------------------------------------ */
/* Features                                                             */

/* sin and cos of 2 pi j d / period, j = 1..order, into columns from 'col'. */
static void fourier_columns(const struct prophet_season *s, const int64_t *ts,
			    size_t n, double *X, size_t ld, size_t col)
{
	for (size_t i = 0; i < n; i++) {
		double d = (double)ts[i] / DAY_SECONDS;
		double *row = X + i * ld + col;
		for (int j = 0; j < s->order; j++) {
			double x = 2.0 * (j + 1) * M_PI * d / s->period;
			row[2 * j] = sin(x);
			row[2 * j + 1] = cos(x);
		}
	}
}

/* Index of the first holiday on or after 'day' in 'h' (sorted by day). */
static size_t first_on_or_after(const struct holiday *h, size_t nh, int64_t day)
{
	size_t lo = 0, hi = nh;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* 1 in the column of each of the model's holidays on the row's day. */
static void holiday_columns(const struct prophet_model *pm, const int64_t *ts,
			    size_t n, double *X, size_t ld, size_t col)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	struct holiday *h;
	size_t nh;

	if (pm->n_holidays == 0 || n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		lo = ts[i] < lo ? ts[i] : lo;
		hi = ts[i] > hi ? ts[i] : hi;
	}
	h = holidays_between(pm->cfg.country, year_of(lo), year_of(hi), &nh);
	for (size_t i = 0; i < n; i++) {
		int64_t day = floor_div(ts[i], 86400);
		for (size_t a = first_on_or_after(h, nh, day); a < nh && h[a].day == day; a++) {
			const char *key = h[a].name;
			char **hit = bsearch(&key, pm->holidays, pm->n_holidays,
					     sizeof(char *), cmp_str);
			if (hit)
				X[i * ld + col + (size_t)(hit - pm->holidays)] = 1;
		}
	}
	free(h);
}

/* The n x n_beta feature matrix at 'ts'; the caller frees it. */
static double *features(const struct prophet_model *pm, const int64_t *ts, size_t n)
{
	double *X = xcalloc(n * pm->n_beta + 1, sizeof(double));
	size_t col = 0;

	for (size_t s = 0; s < pm->n_seasons; s++) {
		fourier_columns(&pm->seasons[s], ts, n, X, pm->n_beta, col);
		col += 2 * (size_t)pm->seasons[s].order;
	}
	holiday_columns(pm, ts, n, X, pm->n_beta, col);
	return X;
}

/* ------------------------------------------------------------------ */
/* Trend                                                                */

static double sigmoid(double z)
{
	if (z >= 0)
		return 1 / (1 + exp(-z));
	return exp(z) / (1 + exp(z));
}

/* The trend's piece after J changepoints (J = 0..n_cp): linear, g = rate[J]
 * t + off[J]; logistic, g = cap sigmoid(rate[J] (t - off[J])), with
 * Prophet's offsets that keep it continuous. */
static void trend_pieces(const struct trend_spec *s, double *rate, double *off)
{
	rate[0] = s->k;
	off[0] = s->m;
	for (size_t j = 0; j < s->n_cp; j++) {
		rate[j + 1] = rate[j] + s->delta[j];
		if (s->growth == PROPHET_LINEAR)
			off[j + 1] = off[j] - s->cp[j] * s->delta[j];
		else
			off[j + 1] = off[j] + (s->cp[j] - off[j]) *
				     (1 - rate[j] / rate[j + 1]);
	}
}

static double trend_piece(const struct trend_spec *s, double rate, double off,
			  double t)
{
	if (s->growth == PROPHET_LINEAR)
		return rate * t + off;
	return s->cap * sigmoid(rate * (t - off));
}

/* How many of the rising 'cp' are <= t. */
static size_t count_at_or_before(const double *cp, size_t n, double t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The trend at 'n' times 't' (any order) into 'g'. */
static void trend_at(const struct trend_spec *s, const double *t, size_t n, double *g)
{
	double *rate = xmalloc((s->n_cp + 1) * sizeof(double));
	double *off = xmalloc((s->n_cp + 1) * sizeof(double));

	trend_pieces(s, rate, off);
	for (size_t i = 0; i < n; i++) {
		size_t J = count_at_or_before(s->cp, s->n_cp, t[i]);
		g[i] = trend_piece(s, rate[J], off[J], t[i]);
	}
	free(rate);
	free(off);
}

/* ------------------------------------------------------------------ */
/* The problem: data, design, objective                                 */

static void problem_scratch(struct prophet_problem *p)
{
	size_t n = p->n, S = p->n_cp;

	p->xb = xcalloc(n + 1, sizeof(double));
	p->g = xcalloc(n + 1, sizeof(double));
	p->w = xcalloc(n + 1, sizeof(double));
	p->rate = xcalloc(S + 1, sizeof(double));
	p->off = xcalloc(S + 1, sizeof(double));
	p->sa = xcalloc(S + 1, sizeof(double));
	p->sb = xcalloc(S + 1, sizeof(double));
	p->theta = xcalloc(p->dim, sizeof(double));
	p->v = xcalloc(p->dim, sizeof(double));
}

/* G = A'A (q x q) and b = A'v from the n x q rows of A. */
static void gram(const double *A, const double *v, size_t n, size_t q, double *G,
		 double *b)
{
	memset(G, 0, q * q * sizeof(double));
	memset(b, 0, q * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		const double *z = A + i * q;
		for (size_t a = 0; a < q; a++) {
			double za = z[a];
			double *Ga = G + a * q;
			if (za == 0)
				continue;
			for (size_t c = a; c < q; c++)
				Ga[c] += za * z[c];
			b[a] += za * v[i];
		}
	}
	for (size_t a = 0; a < q; a++)
		for (size_t c = 0; c < a; c++)
			G[a * q + c] = G[c * q + a];
}

/* Z'Z, Z'y and y'y for the linear path, Z = [t, 1, A(t - s), X]. */
static void build_gram(struct prophet_problem *p)
{
	size_t q = p->q, S = p->n_cp;
	double *Z = xmalloc(p->n * q * sizeof(double));

	for (size_t i = 0; i < p->n; i++) {
		double *z = Z + i * q;
		z[0] = p->t[i];
		z[1] = 1;
		for (size_t j = 0; j < S; j++)
			z[2 + j] = j < p->seg[i] ? p->t[i] - p->pm->cp_t[j] : 0;
		memcpy(z + 2 + S, p->X + i * p->n_beta, p->n_beta * sizeof(double));
	}
	p->G = xmalloc(q * q * sizeof(double));
	p->zy = xmalloc(q * sizeof(double));
	gram(Z, p->y, p->n, q, p->G, p->zy);
	p->yy = 0;
	for (size_t i = 0; i < p->n; i++)
		p->yy += p->y[i] * p->y[i];
	free(Z);
}

/* Scale, choose the model's parts, and lay out the design. */
static void problem_setup(struct prophet_problem *p, struct prophet_model *pm,
			  const int64_t *ts, const double *y, size_t n)
{
	p->pm = pm;
	p->n = n;
	p->t = xmalloc(n * sizeof(double));
	p->y = xmalloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		p->t[i] = (double)(ts[i] - pm->t_start) / pm->t_scale;
		p->y[i] = y[i] / pm->y_scale;
	}
	choose_seasons(pm, ts, n);
	choose_holidays(pm, ts, n);
	place_changepoints(p, pm, p->t, n);
	pm->n_beta = pm->n_holidays;
	for (size_t s = 0; s < pm->n_seasons; s++)
		pm->n_beta += 2 * (size_t)pm->seasons[s].order;
	pm->delta = xcalloc(pm->n_cp, sizeof(double));
	pm->beta = xcalloc(pm->n_beta + 1, sizeof(double));
	p->n_cp = pm->n_cp;
	p->n_beta = pm->n_beta;
	p->dim = 3 + p->n_cp + p->n_beta;
	p->q = p->dim - 1;
	p->X = features(pm, ts, n);
	p->prior_var = xmalloc((p->n_beta + 1) * sizeof(double));
	for (size_t j = 0; j < p->n_beta; j++) {
		double s = j < p->n_beta - pm->n_holidays ? pm->cfg.seasonality_prior_scale :
			   pm->cfg.holidays_prior_scale;
		p->prior_var[j] = s * s;
	}
	p->seg = xmalloc(n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		p->seg[i] = count_at_or_before(pm->cp_t, pm->n_cp, p->t[i]);
	p->tau = pm->cfg.changepoint_prior_scale;
	p->cap = pm->cfg.cap / pm->y_scale;
}

struct prophet_problem *prophet_problem_new(struct prophet_model *pm,
					    const struct prophet_config *cfg,
					    const int64_t *ts, const double *y,
					    size_t n, struct err *err)
{
	struct prophet_problem *p;

	if (prophet_config_check(cfg, err) || check_rows(ts, y, n, err))
		return NULL;
	memset(pm, 0, sizeof(*pm));
	pm->cfg = *cfg;
	pm->cfg.cancelled = NULL;
	pm->cfg.cancel_arg = NULL;
	pm->t_start = ts[0];
	pm->t_scale = (double)(ts[n - 1] - ts[0]);
	pm->y_scale = abs_max(y, n);
	pm->n_train = n;
	p = xcalloc(1, sizeof(*p));
	problem_setup(p, pm, ts, y, n);
	problem_scratch(p);
	if (cfg->growth == PROPHET_LINEAR && cfg->mode == PROPHET_ADDITIVE)
		build_gram(p);
	return p;
}

void prophet_problem_free(struct prophet_problem *p)
{
	if (!p)
		return;
	free(p->t);
	free(p->y);
	free(p->X);
	free(p->prior_var);
	free(p->seg);
	free(p->G);
	free(p->zy);
	free(p->xb);
	free(p->g);
	free(p->w);
	free(p->rate);
	free(p->off);
	free(p->sa);
	free(p->sb);
	free(p->theta);
	free(p->v);
	free(p);
}

size_t prophet_problem_dim(const struct prophet_problem *p)
{
	return p->dim;
}

/* Prophet's logistic start: the curve through the first and last rows,
 * values clamped into (1%, 99%) of the cap. */
static void logistic_start(const struct prophet_problem *p, double *k, double *m)
{
	double C = p->cap, T = p->t[p->n - 1] - p->t[0];
	double y0 = fmax(0.01 * C, fmin(0.99 * C, p->y[0]));
	double y1 = fmax(0.01 * C, fmin(0.99 * C, p->y[p->n - 1]));
	double r0 = C / y0, r1 = C / y1, L0, L1;

	if (fabs(r0 - r1) <= 0.01)
		r0 *= 1.05;
	L0 = log(r0 - 1);
	L1 = log(r1 - 1);
	*m = L0 * T / (L0 - L1);
	*k = (L0 - L1) / T;
}

void prophet_problem_start(const struct prophet_problem *p, double *x)
{
	double T = p->t[p->n - 1] - p->t[0];

	memset(x, 0, p->dim * sizeof(double));
	if (p->pm->cfg.growth == PROPHET_LOGISTIC) {
		logistic_start(p, &x[0], &x[1]);
	} else {
		x[0] = (p->y[p->n - 1] - p->y[0]) / T;
		x[1] = p->y[0] - x[0] * p->t[0];
	}
	x[2 + p->n_cp] = 0;   /* sigma_obs = 1 */
}

/* The priors' part of the objective and gradient, but for the Laplace
 * prior of 'delta' (the L1 term, added by prophet_problem_eval()). */
static double smooth_priors(const struct prophet_problem *p, const double *x,
			    double *grad)
{
	size_t S = p->n_cp;
	const double *beta = x + 3 + S;
	double sigma2 = exp(2 * x[2 + S]);
	double f = (x[0] * x[0] + x[1] * x[1]) / (2 * KM_PRIOR_VAR) +
		   sigma2 / (2 * SIGMA_PRIOR_VAR);

	for (size_t j = 0; j < p->n_beta; j++)
		f += beta[j] * beta[j] / (2 * p->prior_var[j]);
	if (!grad)
		return f;
	grad[0] += x[0] / KM_PRIOR_VAR;
	grad[1] += x[1] / KM_PRIOR_VAR;
	grad[2 + S] += sigma2 / SIGMA_PRIOR_VAR;
	for (size_t j = 0; j < p->n_beta; j++)
		grad[3 + S + j] += beta[j] / p->prior_var[j];
	return f;
}

/* The likelihood by Z'Z: sse = y'y - 2 theta'Z'y + theta'Z'Z theta. */
static double gram_sse(struct prophet_problem *p, const double *x, double *grad,
		       double sigma2)
{
	size_t q = p->q, S = p->n_cp;
	double *th = p->theta, *v = p->v, sse = p->yy;

	memcpy(th, x, (2 + S) * sizeof(double));
	memcpy(th + 2 + S, x + 3 + S, p->n_beta * sizeof(double));
	for (size_t a = 0; a < q; a++) {
		const double *Ga = p->G + a * q;
		double s = 0;
		for (size_t b = 0; b < q; b++)
			s += Ga[b] * th[b];
		v[a] = s;
		sse += th[a] * (s - 2 * p->zy[a]);
	}
	if (grad) {
		for (size_t a = 0; a < q; a++) {
			double d = (v[a] - p->zy[a]) / sigma2;
			grad[a < 2 + S ? a : a + 1] += d;
		}
	}
	return fmax(sse, 0);
}

/* X beta into p->xb. */
static void design_times(struct prophet_problem *p, const double *beta)
{
	for (size_t i = 0; i < p->n; i++) {
		const double *row = p->X + i * p->n_beta;
		double s = 0;
		for (size_t j = 0; j < p->n_beta; j++)
			s += row[j] * beta[j];
		p->xb[i] = s;
	}
}

/* X' u into grad (added). */
static void design_t_times(const struct prophet_problem *p, const double *u,
			   double *grad)
{
	for (size_t i = 0; i < p->n; i++) {
		const double *row = p->X + i * p->n_beta;
		double ui = u[i];
		if (ui == 0)
			continue;
		for (size_t j = 0; j < p->n_beta; j++)
			grad[j] += ui * row[j];
	}
}

/* The gradient of the linear trend from w = dL/dg, by segment sums. */
static void linear_trend_grad(struct prophet_problem *p, double *grad)
{
	size_t S = p->n_cp;
	double W = 0, WT = 0;

	memset(p->sa, 0, (S + 1) * sizeof(double));
	memset(p->sb, 0, (S + 1) * sizeof(double));
	for (size_t i = 0; i < p->n; i++) {
		p->sa[p->seg[i]] += p->w[i];
		p->sb[p->seg[i]] += p->w[i] * p->t[i];
	}
	for (size_t J = S + 1; J-- > 0;) {
		if (J < S)   /* delta[J] moves the pieces after changepoint J */
			grad[2 + J] += WT - p->pm->cp_t[J] * W;
		W += p->sa[J];
		WT += p->sb[J];
	}
	grad[0] += WT;
	grad[1] += W;
}

/* The gradient of the logistic trend: direct terms of each piece's rate
 * and offset, then back through the offsets' recursion. */
static void logistic_trend_grad(struct prophet_problem *p, double *grad)
{
	size_t S = p->n_cp;
	double *grate = p->sa, *goff = p->sb, *rate = p->rate, *off = p->off, acc = 0;

	memset(grate, 0, (S + 1) * sizeof(double));
	memset(goff, 0, (S + 1) * sizeof(double));
	for (size_t i = 0; i < p->n; i++) {
		size_t J = p->seg[i];
		double s = p->g[i] / p->cap, wh = p->w[i] * p->cap * s * (1 - s);
		grate[J] += wh * (p->t[i] - off[J]);
		goff[J] -= wh * rate[J];
	}
	for (size_t J = S; J >= 1; J--) {
		double r = rate[J - 1] / rate[J], d = off[J - 1] - p->pm->cp_t[J - 1];
		goff[J - 1] += goff[J] * r;
		grate[J - 1] += goff[J] * d / rate[J];
		grate[J] -= goff[J] * d * r / rate[J];
	}
	for (size_t J = S + 1; J-- > 1;) {
		acc += grate[J];
		grad[2 + J - 1] += acc;   /* delta[J-1] is in every rate after it */
	}
	grad[0] += acc + grate[0];
	grad[1] += goff[0];
}

/* The likelihood by rows: trend, mean and residuals; then the gradient:
 * dL/dbeta = X'e (additive) or X'(e g) (multiplicative), and dL/dg into
 * p->w for the trend's part. */
static double row_sse(struct prophet_problem *p, const double *x, double *grad,
		      double sigma2)
{
	size_t S = p->n_cp;
	int mult = p->pm->cfg.mode == PROPHET_MULTIPLICATIVE;
	struct trend_spec ts = {p->pm->cfg.growth, x[0], x[1], p->cap, p->pm->cp_t,
				x + 2, S};
	double sse = 0;

	trend_pieces(&ts, p->rate, p->off);
	design_times(p, x + 3 + S);
	for (size_t i = 0; i < p->n; i++) {
		size_t J = p->seg[i];
		double g = trend_piece(&ts, p->rate[J], p->off[J], p->t[i]);
		double r = p->y[i] - (mult ? g * (1 + p->xb[i]) : g + p->xb[i]);
		p->g[i] = g;
		p->w[i] = -r / sigma2;   /* dL/dmu */
		sse += r * r;
	}
	if (!grad)
		return sse;
	for (size_t i = 0; i < p->n && mult; i++) {
		double e = p->w[i];
		p->w[i] = e * (1 + p->xb[i]);
		p->xb[i] = e * p->g[i];
	}
	design_t_times(p, mult ? p->xb : p->w, grad + 3 + S);
	if (p->pm->cfg.growth == PROPHET_LINEAR)
		linear_trend_grad(p, grad);
	else
		logistic_trend_grad(p, grad);
	return sse;
}

/* The objective without the L1 term sum |delta| / tau, and its gradient
 * (into 'grad' when not NULL). */
static double smooth_eval(struct prophet_problem *p, const double *x, double *grad)
{
	size_t S = p->n_cp;
	double u = x[2 + S], sigma2 = exp(2 * u), sse, f;

	if (grad)
		memset(grad, 0, p->dim * sizeof(double));
	sse = p->G ? gram_sse(p, x, grad, sigma2) : row_sse(p, x, grad, sigma2);
	f = (double)p->n * u + sse / (2 * sigma2) + smooth_priors(p, x, grad);
	if (grad)
		grad[2 + S] += (double)p->n - sse / sigma2;
	return f;
}

double prophet_problem_eval(struct prophet_problem *p, const double *x,
			    double *grad)
{
	double f = smooth_eval(p, x, grad);

	for (size_t j = 0; j < p->n_cp; j++) {
		double d = x[2 + j];
		f += fabs(d) / p->tau;
		if (grad)
			grad[2 + j] += (double)((d > 0) - (d < 0)) / p->tau;
	}
	return f;
}

void prophet_problem_set(const struct prophet_problem *p, const double *x,
			 struct prophet_model *pm)
{
	size_t S = p->n_cp;

	pm->k = x[0];
	pm->m = x[1];
	memcpy(pm->delta, x + 2, S * sizeof(double));
	pm->sigma_obs = exp(x[2 + S]);
	memcpy(pm->beta, x + 3 + S, p->n_beta * sizeof(double));
}

/* ------------------------------------------------------------------ */
/* The fit                                                              */

static lbfgsfloatval_t evaluate(void *inst, const lbfgsfloatval_t *x,
				lbfgsfloatval_t *g, int n, lbfgsfloatval_t step)
{
	(void)n;
	(void)step;
	return prophet_problem_eval(inst, x, g);
}

/* Called after each iteration: counts, polls cancellation, and stops on
 * a relative change of the objective below REL_TOL (Stan's tol_rel_obj;
 * liblbfgs' own test assumes a positive objective, ours is not). */
static int progress(void *inst, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
		    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
		    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step,
		    int n, int k, int ls)
{
	struct prophet_problem *p = inst;
	double scale = fmax(fmax(fabs(fx), fabs(p->last_f)), 1);

	(void)x, (void)g, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)k;
	(void)ls;
	p->iterations++;
	if (p->cancel && p->cancel(p->cancel_arg)) {
		p->cancelled = 1;
		return 1;
	}
	if (fabs(p->last_f - fx) < REL_TOL * scale) {
		p->converged = 1;
		return 1;
	}
	p->last_f = fx;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The exact path: linear growth, additive terms                        */

/* For a fixed sigma^2 = 's' the objective is, in theta = (k, m, delta,
 * beta), the L1-penalised quadratic 1/2 theta'H theta - c'theta +
 * lambda |delta|_1 with H = Z'Z / s + D (D: the Gaussian priors'
 * precisions), c = Z'y / s, lambda = 1 / tau, which l1qp.h minimises
 * exactly.  Then sigma^2 has a closed form (the root of 4 s^2 + n s - sse
 * = 0); the two alternate to the joint minimum.  For the other models Z
 * is the Jacobian of the mean at the current point (Gauss-Newton). */

/* H = G / s + D and c = b / s: the quadratic for sigma^2 = 's'. */
static void qp_setup(struct l1qp *Q, const struct prophet_problem *p,
		     const double *G, const double *b, double s)
{
	size_t q = Q->q, S = p->n_cp;

	for (size_t a = 0; a < q; a++) {
		for (size_t c = 0; c < q; c++)
			Q->H[a * q + c] = G[a * q + c] / s;
		Q->c[a] = b[a] / s;
		if (a < 2)
			Q->H[a * q + a] += 1 / KM_PRIOR_VAR;
		else if (a >= 2 + S)
			Q->H[a * q + a] += 1 / p->prior_var[a - 2 - S];
	}
}

/* d rate_J / d (k, m, delta_0 ...)[c]: 1 for k and the deltas before J. */
static double rate_derivative(size_t J, size_t c)
{
	return c == 0 || (c >= 2 && c - 2 < J) ? 1 : 0;
}

/* d off_J / d (k, m, delta) of the logistic trend's pieces, forward
 * through Prophet's recursion, into 'doff' ((S + 1) x (S + 2)); after
 * trend_pieces() filled p->rate and p->off. */
static void logistic_offsets_jacobian(const struct prophet_problem *p, double *doff)
{
	size_t S = p->n_cp, w = S + 2;
	const double *rate = p->rate, *off = p->off;

	memset(doff, 0, (S + 1) * w * sizeof(double));
	doff[1] = 1;   /* d off_0 / d m */
	for (size_t J = 1; J <= S; J++) {
		double r = rate[J - 1] / rate[J], d = off[J - 1] - p->pm->cp_t[J - 1];
		for (size_t c = 0; c < w; c++) {
			double dr = (rate_derivative(J - 1, c) * rate[J] -
				     rate[J - 1] * rate_derivative(J, c)) / (rate[J] * rate[J]);
			doff[J * w + c] = r * doff[(J - 1) * w + c] + d * dr;
		}
	}
}

/* Row i of d g / d (k, m, delta) into 'row' (S + 2 wide), after
 * trend_pieces() and, for logistic growth, logistic_offsets_jacobian(). */
static void trend_jacobian_row(const struct prophet_problem *p, size_t i,
			       const double *doff, double *row)
{
	size_t S = p->n_cp, J = p->seg[i];
	double t = p->t[i], sg, h;

	if (p->pm->cfg.growth == PROPHET_LINEAR) {
		row[0] = t;
		row[1] = 1;
		for (size_t j = 0; j < S; j++)
			row[2 + j] = j < J ? t - p->pm->cp_t[j] : 0;
		return;
	}
	sg = sigmoid(p->rate[J] * (t - p->off[J]));
	h = p->cap * sg * (1 - sg);
	for (size_t c = 0; c < S + 2; c++)
		row[c] = h * (t - p->off[J]) * rate_derivative(J, c) -
			 h * p->rate[J] * doff[J * (S + 2) + c];
}

/* The Gauss-Newton model of the mean at 'x': Gl = J'J and bl = J'(y - mu
 * + J theta), J = d mu / d theta; 'Jm' is n x q scratch.  (For linear
 * growth with additive terms these are Z'Z and Z'y, the same at every x:
 * build_gram() makes them once.) */
static void local_model(struct prophet_problem *p, const double *x, double *Jm,
			double *Gl, double *bl)
{
	size_t q = p->q, S = p->n_cp, nb = p->n_beta;
	int mult = p->pm->cfg.mode == PROPHET_MULTIPLICATIVE;
	struct trend_spec ts = {p->pm->cfg.growth, x[0], x[1], p->cap, p->pm->cp_t,
				x + 2, S};
	double *doff = xmalloc((S + 1) * (S + 2) * sizeof(double));

	trend_pieces(&ts, p->rate, p->off);
	if (ts.growth == PROPHET_LOGISTIC)
		logistic_offsets_jacobian(p, doff);
	design_times(p, x + 3 + S);
	for (size_t i = 0; i < p->n; i++) {
		double *row = Jm + i * q, lin = 0, scale = mult ? 1 + p->xb[i] : 1;
		const double *X = p->X + i * nb;
		size_t J = p->seg[i];
		double g = trend_piece(&ts, p->rate[J], p->off[J], p->t[i]);
		trend_jacobian_row(p, i, doff, row);
		for (size_t c = 0; c < S + 2; c++)
			row[c] *= scale;
		for (size_t c = 0; c < nb; c++)
			row[S + 2 + c] = mult ? g * X[c] : X[c];
		for (size_t c = 0; c < q; c++)
			lin += row[c] * x[c < S + 2 ? c : c + 1];
		p->w[i] = p->y[i] - (mult ? g * scale : g + p->xb[i]) + lin;
	}
	gram(Jm, p->w, p->n, q, Gl, bl);
	free(doff);
}

/* sigma^2 minimising the objective for a residual sum of squares 'sse'
 * of 'n' rows: the root of 4 s^2 + n s - sse = 0, from d/ds of
 * n/2 log s + sse / 2s + 2 s. */
static double best_sigma2(double n, double sse)
{
	return (-n + sqrt(n * n + 16 * sse)) / 8;
}

/* The residual sum of squares at 'x' (scaled units). */
static double sse_at(struct prophet_problem *p, const double *x)
{
	return p->G ? gram_sse(p, x, NULL, 1) : row_sse(p, x, NULL, 1);
}

/* theta (no sigma) of 'x' into 'th', and back. */
static void x_to_theta(const struct prophet_problem *p, const double *x, double *th)
{
	memcpy(th, x, (2 + p->n_cp) * sizeof(double));
	memcpy(th + 2 + p->n_cp, x + 3 + p->n_cp, p->n_beta * sizeof(double));
}

static void theta_to_x(const struct prophet_problem *p, const double *th, double *x)
{
	memcpy(x, th, (2 + p->n_cp) * sizeof(double));
	memcpy(x + 3 + p->n_cp, th + 2 + p->n_cp, p->n_beta * sizeof(double));
}

/* From 'x' towards theta 'to', sigma fixed: the first of the steps 1,
 * 1/2, 1/4 ... (down to 1e-10, where a step changes nothing measurable)
 * that lowers the objective below 'f0'; 'x' moves there.  'trial' holds
 * dim and 'th' 2 q scratch values.  Returns the new objective, or f0 when
 * no step helps. */
static double line_search(struct prophet_problem *p, double *x, const double *to,
			  double f0, double *trial, double *th)
{
	double *from = th + p->q;

	x_to_theta(p, x, from);
	for (double a = 1; a > 1e-10; a /= 2) {
		double f;
		for (size_t c = 0; c < p->q; c++)
			th[c] = from[c] + a * (to[c] - from[c]);
		memcpy(trial, x, p->dim * sizeof(double));
		theta_to_x(p, th, trial);
		f = prophet_problem_eval(p, trial, NULL);
		if (f < f0) {
			memcpy(x, trial, p->dim * sizeof(double));
			return f;
		}
	}
	return f0;
}

/* Then sigma: its exact minimum for the new theta, kept if it helps. */
static double sigma_step(struct prophet_problem *p, double *x, double f,
			 double *trial)
{
	size_t S = p->n_cp;
	double s = best_sigma2((double)p->n, sse_at(p, x)), f2;

	if (!(s > 0))
		return f;
	memcpy(trial, x, p->dim * sizeof(double));
	trial[2 + S] = 0.5 * log(s);
	f2 = prophet_problem_eval(p, trial, NULL);
	if (!(f2 < f))
		return f;
	memcpy(x, trial, p->dim * sizeof(double));
	return f2;
}

/* The fit by Gauss-Newton rounds from Prophet's start 'x' (written back
 * with the optimum): the mean linearised at x, the L1-penalised quadratic
 * solved exactly for the current sigma, a step towards its solution that
 * lowers the objective, then sigma's exact minimum.  With linear growth
 * and additive terms the linear model is exact and a round is the exact
 * minimum for its sigma.  Stops when a round gains less than REL_TOL.
 * Returns 0, or -1 if a system was singular. */
static int newton_fit(struct prophet_problem *p, double *x)
{
	size_t q = p->q;
	struct l1qp Q;
	double *Jm = p->G ? NULL : xmalloc(p->n * q * sizeof(double));
	double *Gl = p->G ? p->G : xmalloc(q * q * sizeof(double));
	double *bl = p->G ? p->zy : xmalloc(q * sizeof(double));
	double *trial = xmalloc(p->dim * sizeof(double)), *th = xmalloc(2 * q * sizeof(double));
	double f = prophet_problem_eval(p, x, NULL), f_new;
	int rc = 0;

	l1qp_init(&Q, q, 2, 2 + p->n_cp, 1 / p->tau);
	for (int it = 0; it < NEWTON_MAX_ROUNDS; it++, f = f_new) {
		if (p->cancel && p->cancel(p->cancel_arg)) {
			p->cancelled = 1;
			break;
		}
		p->iterations++;
		if (Jm)
			local_model(p, x, Jm, Gl, bl);
		qp_setup(&Q, p, Gl, bl, exp(2 * x[2 + p->n_cp]));
		x_to_theta(p, x, Q.x);
		if (l1qp_solve(&Q) < 0) {
			rc = -1;
			break;
		}
		f_new = line_search(p, x, Q.x, f, trial, th);
		f_new = sigma_step(p, x, f_new, trial);
		if (!(f - f_new > REL_TOL * fmax(fabs(f_new), 1)))
			break;
	}
	l1qp_release(&Q);
	if (Jm) {
		free(Jm);
		free(Gl);
		free(bl);
	}
	free(trial);
	free(th);
	return rc;
}

/* L-BFGS from 'x' (lbfgs_malloc'd) to the minimum; restarts when a line
 * search gives up while the objective still falls.  Returns the status. */
static int optimize(struct prophet_problem *p, lbfgsfloatval_t *x, double *fx)
{
	lbfgs_parameter_t prm;
	double prev = INFINITY;
	int status = 0;

	lbfgs_parameter_init(&prm);
	prm.epsilon = 1e-10;
	p->last_f = INFINITY;
	for (int r = 0; r <= MAX_RESTARTS && p->iterations < MAX_ITERATIONS; r++) {
		prm.max_iterations = MAX_ITERATIONS - p->iterations;
		status = lbfgs((int)p->dim, x, fx, evaluate, progress, p, &prm);
		if (p->cancelled || p->converged || status >= 0 || !(*fx < prev))
			break;
		prev = *fx;
	}
	*fx = prophet_problem_eval(p, x, NULL);
	return p->converged ? 0 : status;
}

int prophet_fit(struct prophet_model *pm, const struct prophet_config *cfg,
		const int64_t *ts, const double *y, size_t n, struct err *err)
{
	struct prophet_problem *p = prophet_problem_new(pm, cfg, ts, y, n, err);
	lbfgsfloatval_t *x;
	double fx;
	int rc = 0;

	if (!p)
		return -1;
	p->cancel = cfg->cancelled;
	p->cancel_arg = cfg->cancel_arg;
	x = lbfgs_malloc((int)p->dim);
	prophet_problem_start(p, x);
	pm->status = 0;
	if (cfg->growth == PROPHET_LOGISTIC || p->q > NEWTON_MAX_DIM)
		pm->status = optimize(p, x, &fx);
	if (!p->cancelled && p->q <= NEWTON_MAX_DIM)
		pm->status = newton_fit(p, x) ? optimize(p, x, &fx) : 0;
	fx = prophet_problem_eval(p, x, NULL);
	pm->iterations = p->iterations;
	pm->objective = fx;
	prophet_problem_set(p, x, pm);
	if (p->dummy_cp) {   /* as Prophet: the dummy's change joins the rate */
		pm->k += pm->delta[0];
		pm->delta[0] = 0;
	}
	if (p->cancelled) {
		err_set(err, ERR_IO, "cancelled after %d iterations", p->iterations);
		rc = -1;
	} else if (!isfinite(fx)) {
		err_set(err, ERR_INTERNAL, "the fit ended on a non-finite objective "
			"(L-BFGS status %d after %d iterations)", pm->status,
			p->iterations);
		rc = -1;
	}
	lbfgs_free(x);
	prophet_problem_free(p);
	if (rc)
		prophet_release(pm);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Prediction                                                           */

/* The draws of the simulations: rng.h's stream, and the second normal of
 * each Box-Muller pair kept for the next call. */
struct sampler {
	struct rng r;
	double spare;
	int has_spare;
};

static void sampler_seed(struct sampler *sp, uint64_t seed)
{
	rng_seed(&sp->r, seed);
	sp->has_spare = 0;
}

/* Uniform in (0, 1): never 0, so logs are finite. */
static double draw_uniform(struct sampler *sp)
{
	return ((double)(rng_next(&sp->r) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal by Box-Muller, the second value kept for the next call. */
static double draw_normal(struct sampler *sp)
{
	double u, v, rad;

	if (sp->has_spare) {
		sp->has_spare = 0;
		return sp->spare;
	}
	u = draw_uniform(sp);
	v = draw_uniform(sp);
	rad = sqrt(-2 * log(u));
	sp->spare = rad * sin(2 * M_PI * v);
	sp->has_spare = 1;
	return rad * cos(2 * M_PI * v);
}

static double draw_laplace(struct sampler *sp, double scale)
{
	double u = draw_uniform(sp) - 0.5;

	return u < 0 ? scale * log(1 + 2 * u) : -scale * log(1 - 2 * u);
}

/* Poisson by Knuth's product, in chunks of mean 30 at most (a sum of
 * Poissons is Poisson): exp(-30) stays far from underflow. */
static size_t draw_poisson(struct sampler *sp, double mean)
{
	size_t n = 0;

	while (mean > 0) {
		double part = fmin(mean, 30), limit = exp(-part), prod = draw_uniform(sp);
		while (prod > limit) {
			n++;
			prod *= draw_uniform(sp);
		}
		mean -= part;
	}
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median3(double a, double b, double c)
{
	if ((a <= b) == (b <= c))
		return b;
	if ((b <= a) == (a <= c))
		return a;
	return c;
}

/* Move the k-th smallest of a[0..n) to a[k], none larger before it and
 * none smaller after (Hoare's select; 'a' holds no NaN). */
static void select_kth(double *a, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

	while (lo < hi) {
		double piv = median3(a[lo], a[lo + (hi - lo) / 2], a[hi]), tmp;
		ptrdiff_t i = lo, j = hi;
		while (i <= j) {
			while (a[i] < piv)
				i++;
			while (a[j] > piv)
				j--;
			if (i <= j) {
				tmp = a[i];
				a[i++] = a[j];
				a[j--] = tmp;
			}
		}
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			return;
	}
}

/* The q-quantile of a[0..n) by linear interpolation between order
 * statistics (numpy's percentile, R's type 7); reorders 'a'. */
static double quantile(double *a, size_t n, double q)
{
	double pos = q * (double)(n - 1), frac, lo, hi;
	size_t k = (size_t)floor(pos);

	select_kth(a, n, k);
	lo = a[k];
	frac = pos - (double)k;
	if (frac == 0 || k + 1 >= n)
		return lo;
	hi = a[k + 1];
	for (size_t i = k + 2; i < n; i++)
		hi = fmin(hi, a[i]);
	return lo + frac * (hi - lo);
}

/* One simulated trend: the fitted changepoints plus new ones in (1, T]. */
static void sample_trend(const struct prophet_model *pm, struct sampler *sp,
			 const double *t, size_t n, double T, double *g)
{
	size_t S = pm->n_cp, extra = T > 1 ? draw_poisson(sp, (double)S * (T - 1)) : 0;
	double *cp = xmalloc((S + extra) * sizeof(double));
	double *delta = xmalloc((S + extra) * sizeof(double));
	double lambda = 1e-8;
	struct trend_spec ts = {pm->cfg.growth, pm->k, pm->m, pm->cfg.cap / pm->y_scale,
				cp, delta, S + extra};

	for (size_t j = 0; j < S; j++)
		lambda += fabs(pm->delta[j]) / (double)S;
	memcpy(cp, pm->cp_t, S * sizeof(double));
	memcpy(delta, pm->delta, S * sizeof(double));
	for (size_t j = 0; j < extra; j++)
		cp[S + j] = 1 + draw_uniform(sp) * (T - 1);
	qsort(cp + S, extra, sizeof(double), cmp_double);
	for (size_t j = 0; j < extra; j++)
		delta[S + j] = draw_laplace(sp, lambda);
	trend_at(&ts, t, n, g);
	free(cp);
	free(delta);
}

/* 16: times whose samples are gathered at once, so that each cache line
 * of the sample-major simulations is read once, not 8 times */
#define QUANTILE_BLOCK 16

/* Simulate and take the interval bounds at each time. */
static void intervals(const struct prophet_model *pm, const double *t, size_t n,
		      const double *xb, double *lower, double *upper)
{
	size_t ns = (size_t)pm->cfg.uncertainty_samples;
	double *sim = xmalloc(n * ns * sizeof(double)), *g = xmalloc(n * sizeof(double));
	double *col = xmalloc(QUANTILE_BLOCK * ns * sizeof(double));
	double T = -INFINITY, w = pm->cfg.interval_width;
	int mult = pm->cfg.mode == PROPHET_MULTIPLICATIVE;
	struct sampler sp;

	sampler_seed(&sp, pm->cfg.seed);
	for (size_t i = 0; i < n; i++)
		T = fmax(T, t[i]);
	for (size_t s = 0; s < ns; s++) {
		sample_trend(pm, &sp, t, n, T, g);
		for (size_t i = 0; i < n; i++) {
			double mu = mult ? g[i] * (1 + xb[i]) : g[i] + xb[i];
			sim[s * n + i] = (mu + pm->sigma_obs * draw_normal(&sp)) * pm->y_scale;
		}
	}
	for (size_t i0 = 0; i0 < n; i0 += QUANTILE_BLOCK) {
		size_t nb = n - i0 < QUANTILE_BLOCK ? n - i0 : QUANTILE_BLOCK;
		for (size_t s = 0; s < ns; s++)
			for (size_t b = 0; b < nb; b++)
				col[b * ns + s] = sim[s * n + i0 + b];
		for (size_t b = 0; b < nb; b++) {
			lower[i0 + b] = quantile(col + b * ns, ns, (1 - w) / 2);
			upper[i0 + b] = quantile(col + b * ns, ns, (1 + w) / 2);
		}
	}
	free(sim);
	free(col);
	free(g);
}

void prophet_predict(const struct prophet_model *pm, const int64_t *ts,
		     size_t n, double *yhat, double *lower, double *upper)
{
	double *X = features(pm, ts, n), *t = xmalloc((n + 1) * sizeof(double));
	double *xb = xcalloc(n + 1, sizeof(double)), *g = xmalloc((n + 1) * sizeof(double));
	struct trend_spec spec = {pm->cfg.growth, pm->k, pm->m, pm->cfg.cap / pm->y_scale,
				  pm->cp_t, pm->delta, pm->n_cp};
	int mult = pm->cfg.mode == PROPHET_MULTIPLICATIVE;

	for (size_t i = 0; i < n; i++) {
		t[i] = (double)(ts[i] - pm->t_start) / pm->t_scale;
		for (size_t j = 0; j < pm->n_beta; j++)
			xb[i] += X[i * pm->n_beta + j] * pm->beta[j];
	}
	trend_at(&spec, t, n, g);
	for (size_t i = 0; i < n; i++)
		yhat[i] = (mult ? g[i] * (1 + xb[i]) : g[i] + xb[i]) * pm->y_scale;
	if (lower && upper && pm->cfg.uncertainty_samples > 0 && n > 0) {
		intervals(pm, t, n, xb, lower, upper);
	} else if (lower && upper) {
		for (size_t i = 0; i < n; i++)
			lower[i] = upper[i] = NAN;
	}
	free(X);
	free(t);
	free(xb);
	free(g);
}
