/* holt_winters: see holt_winters.h.
 *
 * The SSE and its gradient come from one pass of the recursion in dual
 * numbers: every quantity carries its derivatives with respect to alpha,
 * beta, gamma and phi (forward mode), so the gradient is exact and costs
 * about five passes, with no second code path to keep in step.  L-BFGS
 * works on unbounded u: alpha = lo + (hi - lo) sig(u0), beta = alpha
 * sig(u1), gamma = (1 - alpha) sig(u2), phi = 0.8 + 0.195 sig(u3), which
 * keeps every iterate inside statsmodels' bounds. */
#include "holt_winters.h"
#include "xalloc.h"

#include <lbfgs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 1.49e-8 = sqrt(DBL_EPSILON): statsmodels' margin keeping alpha off 0, 1 */
#define ALPHA_LO 1.4901161193847656e-08
#define ALPHA_HI (1 - ALPHA_LO)
/* statsmodels' bounds of the damping factor */
#define PHI_LO 0.8
#define PHI_HI 0.995
/* 10: rows the heuristic regresses the level and trend on (Hyndman 2.6) */
#define HEUR_ROWS 10
/* 5: the most seasonal cycles the heuristic's moving average reads */
#define HEUR_CYCLES 5
/* L-BFGS runs from this many of the best grid points; the best end wins */
#define N_STARTS 3
/* 200 iterations per start: the fits tested converge in 10 to 60 */
#define MAX_ITERATIONS 200
/* What a non-finite SSE (a multiplicative state at or below 0) costs the
 * line search: larger than any scaled SSE, so it backs off */
#define BAD_OBJECTIVE 1e30

enum { P_ALPHA, P_BETA, P_GAMMA, P_PHI, N_PAR };

/* The dual arithmetic runs once per row and param set: inlined, it keeps
 * the values in registers instead of copying 40-byte structs through the
 * stack (the ETTh1 fit went from about 1 s to 0.1 s) */
#define DUAL_FN static inline __attribute__((always_inline)) struct dual

/* A value and its derivatives with respect to alpha, beta, gamma, phi. */
struct dual {
	double v, d[N_PAR];
};

DUAL_FN dconst(double v)
{
	struct dual r = {v, {0, 0, 0, 0}};

	return r;
}

DUAL_FN dvar(double v, int k)
{
	struct dual r = dconst(v);

	r.d[k] = 1;
	return r;
}

DUAL_FN dadd(struct dual a, struct dual b)
{
	for (int k = 0; k < N_PAR; k++)
		a.d[k] += b.d[k];
	a.v += b.v;
	return a;
}

DUAL_FN dsub(struct dual a, struct dual b)
{
	for (int k = 0; k < N_PAR; k++)
		a.d[k] -= b.d[k];
	a.v -= b.v;
	return a;
}

DUAL_FN dmul(struct dual a, struct dual b)
{
	struct dual r = dconst(a.v * b.v);

	for (int k = 0; k < N_PAR; k++)
		r.d[k] = a.d[k] * b.v + a.v * b.d[k];
	return r;
}

DUAL_FN ddiv(struct dual a, struct dual b)
{
	struct dual r = dconst(a.v / b.v);

	for (int k = 0; k < N_PAR; k++)
		r.d[k] = (a.d[k] - r.v * b.d[k]) / b.v;
	return r;
}

/* b^e for b > 0. */
DUAL_FN dpow(struct dual b, struct dual e)
{
	struct dual r = dconst(pow(b.v, e.v));
	double lb = log(b.v);

	for (int k = 0; k < N_PAR; k++)
		r.d[k] = r.v * (e.v * b.d[k] / b.v + lb * e.d[k]);
	return r;
}

/* a x + (1 - a) y: every update of the recursion has this shape. */
DUAL_FN dblend(struct dual a, struct dual x, struct dual y)
{
	return dadd(dmul(a, x), dmul(dsub(dconst(1), a), y));
}

/* The combination of a and b that 'c' names: a + b, a * b, or a. */
DUAL_FN combine(enum hw_component c, struct dual a, struct dual b)
{
	return c == HW_ADD ? dadd(a, b) : c == HW_MUL ? dmul(a, b) : a;
}

/* Its inverse, taking b out of a: a - b, a / b, or a. */
DUAL_FN uncombine(enum hw_component c, struct dual a, struct dual b)
{
	return c == HW_ADD ? dsub(a, b) : c == HW_MUL ? ddiv(a, b) : a;
}

const char *hw_component_name(enum hw_component c)
{
	return c == HW_ADD ? "add" : c == HW_MUL ? "mul" : NULL;
}

/* ------------------------------------------------------------------ */
/* The recursion                                                        */

/* One pass: the params and states as duals, the SSE and its gradient. */
struct filter {
	const struct hw_config *cfg;
	struct dual par[N_PAR];
	struct dual l, b;
	struct dual *s;          /* the ring: row t reads and writes s[t % m] */
	double sse, dsse[N_PAR];
};

/* Start 'F' at hm's initial states with params 'theta'; 'ring' has room
 * for max(m, 1) values. */
static void filter_start(struct filter *F, const struct hw_model *hm,
			 const double theta[N_PAR], struct dual *ring)
{
	memset(F, 0, sizeof(*F));
	F->cfg = &hm->cfg;
	for (int k = 0; k < N_PAR; k++)
		F->par[k] = dvar(theta[k], k);
	F->l = dconst(hm->l0);
	F->b = dconst(hm->b0);
	F->s = ring;
	for (size_t j = 0; j < hm->cfg.m; j++)
		ring[j] = dconst(hm->s0[j]);
}

/* Row 't' of value 'y': add its squared error, update the states.
 * Returns the forecast of the row made before it was seen. */
static double filter_step(struct filter *F, double y, size_t t)
{
	const struct hw_config *c = F->cfg;
	struct dual Y = dconst(y), q = dconst(0), T, s = dconst(0), yhat;
	struct dual *slot = c->seasonal ? &F->s[t % c->m] : NULL, l;
	double e;

	if (c->trend == HW_ADD)
		q = dmul(F->par[P_PHI], F->b);
	else if (c->trend == HW_MUL)
		q = dpow(F->b, F->par[P_PHI]);
	T = combine(c->trend, F->l, q);
	if (slot)
		s = *slot;
	yhat = combine(c->seasonal, T, s);
	e = y - yhat.v;
	F->sse += e * e;
	for (int k = 0; k < N_PAR; k++)
		F->dsse[k] -= 2 * e * yhat.d[k];
	l = dblend(F->par[P_ALPHA], uncombine(c->seasonal, Y, s), T);
	if (c->trend)
		F->b = dblend(F->par[P_BETA], uncombine(c->trend, l, F->l), q);
	if (slot)
		*slot = dblend(F->par[P_GAMMA], uncombine(c->seasonal, Y, T), s);
	F->l = l;
	return yhat.v;
}

/* The whole pass over y[0..n) with params 'theta'; leaves the states in
 * 'F' (whose ring the caller provides). */
static void filter_run(struct filter *F, const struct hw_model *hm,
		       const double theta[N_PAR], struct dual *ring,
		       const double *y, size_t n)
{
	filter_start(F, hm, theta, ring);
	for (size_t t = 0; t < n; t++)
		filter_step(F, y[t], t);
}

static struct dual *ring_new(const struct hw_config *cfg)
{
	return xcalloc(cfg->m ? cfg->m : 1, sizeof(struct dual));
}

void hw_smooth(struct hw_model *hm, const double *y, size_t n)
{
	double theta[N_PAR] = {hm->alpha, hm->beta, hm->gamma, hm->phi};
	struct dual *ring = ring_new(&hm->cfg);
	struct filter F;

	filter_run(&F, hm, theta, ring, y, n);
	hm->n = n;
	hm->sse = F.sse;
	hm->level = F.l.v;
	hm->trend = F.b.v;
	for (size_t j = 0; j < hm->cfg.m; j++)
		hm->season[j] = ring[(n + j) % hm->cfg.m].v;
	free(ring);
}

void hw_one_step(const struct hw_model *hm, const double *y, size_t n, double *out)
{
	double theta[N_PAR] = {hm->alpha, hm->beta, hm->gamma, hm->phi};
	struct dual *ring = ring_new(&hm->cfg);
	struct filter F;

	filter_start(&F, hm, theta, ring);
	F.l = dconst(hm->level);
	F.b = dconst(hm->trend);
	for (size_t j = 0; j < hm->cfg.m; j++)
		ring[j] = dconst(hm->season[j]);   /* row j reads slot j % m */
	for (size_t t = 0; t < n; t++)
		out[t] = filter_step(&F, y[t], t);
	free(ring);
}

void hw_forecast(const struct hw_model *hm, size_t h, double *out)
{
	const struct hw_config *c = &hm->cfg;
	double damp = 1, sum = 0;

	for (size_t i = 0; i < h; i++) {
		double T = hm->level, s = c->seasonal == HW_MUL ? 1 : 0;
		damp *= hm->phi;
		sum += damp;
		if (c->trend == HW_ADD)
			T += sum * hm->trend;
		else if (c->trend == HW_MUL)
			T *= pow(hm->trend, sum);
		if (c->seasonal)
			s = hm->season[i % c->m];
		out[i] = c->seasonal == HW_MUL ? T * s : T + s;
	}
}

/* ------------------------------------------------------------------ */
/* Initial states                                                       */

/* The centred moving average of y[0..len) over m rows, as pandas'
 * rolling(m, center=True).mean() and, for an even m, then
 * .shift(-1).rolling(2).mean(); NAN where undefined.  Caller frees. */
static double *centred_average(const double *y, size_t len, size_t m)
{
	double *c = xmalloc(len * sizeof(double)), *t = xmalloc(len * sizeof(double));

	for (size_t i = 0; i < len; i++) {
		double sum = 0;
		c[i] = NAN;
		if (i < m / 2 || i - m / 2 + m > len)
			continue;
		for (size_t k = i - m / 2; k < i - m / 2 + m; k++)
			sum += y[k];
		c[i] = sum / (double)m;
	}
	for (size_t i = 0; i < len; i++)
		t[i] = m % 2 ? c[i] : i + 1 < len ? (c[i] + c[i + 1]) / 2 : NAN;
	free(c);
	return t;
}

/* s0[j]: the mean over the cycles of y / ma or y - ma at phase j, where
 * ma is defined; normalised to mean 0 (add) or 1 (mul). */
static void season_means(enum hw_component kind, const double *y,
			 const double *ma, size_t len, size_t m, double *s0)
{
	double all = 0;

	for (size_t j = 0; j < m; j++) {
		double sum = 0;
		size_t cnt = 0;
		for (size_t i = j; i < len; i += m) {
			if (isnan(ma[i]))
				continue;
			sum += kind == HW_MUL ? y[i] / ma[i] : y[i] - ma[i];
			cnt++;
		}
		s0[j] = cnt ? sum / (double)cnt : NAN;
		all += s0[j];
	}
	for (size_t j = 0; j < m; j++)
		s0[j] = kind == HW_MUL ? s0[j] / (all / (double)m) : s0[j] - all / (double)m;
}

/* The least-squares line through (x0 + 1, v[0]) .. (x0 + 10, v[9]),
 * its value at 0 and slope. */
static void regress(const double *v, double x0, double *intercept, double *slope)
{
	double mean = 0, sxy = 0, sxx = 0, xbar = x0 + (HEUR_ROWS + 1) / 2.0;

	for (int i = 0; i < HEUR_ROWS; i++)
		mean += v[i] / HEUR_ROWS;
	for (int i = 0; i < HEUR_ROWS; i++) {
		double dx = x0 + (i + 1) - xbar;
		sxy += dx * v[i];
		sxx += dx * dx;
	}
	*slope = sxy / sxx;
	*intercept = mean - *slope * xbar;
}

/* The seasonal part of the heuristic: s0 from the first cycles, and the
 * first HEUR_ROWS values of their moving average into 'base', with the
 * row the first one sits at. */
static int initial_season(const struct hw_config *cfg, const double *y, size_t n,
			  double *s0, double *base, size_t *row0, struct err *err)
{
	size_t m = cfg->m, min_obs = HEUR_ROWS + 2 * (m / 2), k, len, nb = 0;
	double *ma;

	if (n < 2 * m || n < min_obs) {
		err_set(err, ERR_USER, "%zu training rows are too few for a season of %zu "
			"(expected at least 2 full seasons and %zu rows)", n, m,
			min_obs > 2 * m ? min_obs : 2 * m);
		return -1;
	}
	k = n / m < HEUR_CYCLES ? n / m : HEUR_CYCLES;
	if (k < (min_obs + m - 1) / m)
		k = (min_obs + m - 1) / m;
	len = k * m < n ? k * m : n;
	ma = centred_average(y, len, m);
	season_means(cfg->seasonal, y, ma, len, m, s0);
	*row0 = m / 2;   /* the first row whose average is defined */
	for (size_t i = *row0; i < len && nb < HEUR_ROWS; i++)
		base[nb++] = ma[i];
	free(ma);
	return 0;
}

int hw_initial(const struct hw_config *cfg, const double *y, size_t n,
	       double *l0, double *b0, double *s0, struct err *err)
{
	double base[HEUR_ROWS], intercept, slope;
	size_t row0 = 0;

	if (n < HEUR_ROWS) {
		err_set(err, ERR_USER, "%zu training rows are too few (expected at "
			"least %d)", n, HEUR_ROWS);
		return -1;
	}
	if (cfg->seasonal && initial_season(cfg, y, n, s0, base, &row0, err))
		return -1;
	if (!cfg->seasonal)
		memcpy(base, y, sizeof(base));
	regress(base, (double)row0, &intercept, &slope);
	*l0 = intercept;
	*b0 = cfg->trend == HW_ADD ? slope : cfg->trend == HW_MUL ?
	      1 + slope / intercept : 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The fit                                                              */

struct problem {
	struct hw_model *hm;     /* config and initial states */
	const double *y;
	size_t n;
	double scale;            /* 1 / (n var(y)): the objective is about 1 */
	int pos[N_PAR];          /* the index of each param in u, or -1 */
	int dim;
	struct dual *ring;
	int iterations;
};

static double sigmoid(double u)
{
	return u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u));
}

/* The params of 'u' into theta, and jac[i][j] = d theta_i / d u_j. */
static void params_of(const struct problem *P, const double *u, double theta[N_PAR],
		      double jac[N_PAR][N_PAR])
{
	double sa = sigmoid(u[0]), da = (ALPHA_HI - ALPHA_LO) * sa * (1 - sa);
	int pb = P->pos[P_BETA], pg = P->pos[P_GAMMA], pp = P->pos[P_PHI];

	memset(jac, 0, sizeof(double) * N_PAR * N_PAR);
	theta[P_ALPHA] = ALPHA_LO + (ALPHA_HI - ALPHA_LO) * sa;
	jac[P_ALPHA][0] = da;
	theta[P_BETA] = theta[P_GAMMA] = 0;
	theta[P_PHI] = 1;
	if (pb >= 0) {
		double sb = sigmoid(u[pb]);
		theta[P_BETA] = sb * theta[P_ALPHA];
		jac[P_BETA][0] = sb * da;
		jac[P_BETA][pb] = theta[P_ALPHA] * sb * (1 - sb);
	}
	if (pg >= 0) {
		double sg = sigmoid(u[pg]);
		theta[P_GAMMA] = sg * (1 - theta[P_ALPHA]);
		jac[P_GAMMA][0] = -sg * da;
		jac[P_GAMMA][pg] = (1 - theta[P_ALPHA]) * sg * (1 - sg);
	}
	if (pp >= 0) {
		double sp = sigmoid(u[pp]);
		theta[P_PHI] = PHI_LO + (PHI_HI - PHI_LO) * sp;
		jac[P_PHI][pp] = (PHI_HI - PHI_LO) * sp * (1 - sp);
	}
}

/* The scaled SSE at 'u' and, when 'g' is not NULL, its gradient. */
static double objective(struct problem *P, const double *u, double *g)
{
	double theta[N_PAR], jac[N_PAR][N_PAR], f;
	struct filter F;
	int finite;

	params_of(P, u, theta, jac);
	filter_run(&F, P->hm, theta, P->ring, P->y, P->n);
	finite = isfinite(F.sse);
	for (int k = 0; k < N_PAR; k++)
		finite = finite && isfinite(F.dsse[k]);
	f = finite ? F.sse * P->scale : BAD_OBJECTIVE;
	for (int j = 0; g && j < P->dim; j++) {
		g[j] = 0;
		for (int i = 0; finite && i < N_PAR; i++)
			g[j] += P->scale * F.dsse[i] * jac[i][j];
	}
	return f;
}

static lbfgsfloatval_t evaluate(void *inst, const lbfgsfloatval_t *x,
				lbfgsfloatval_t *g, int n, lbfgsfloatval_t step)
{
	(void)n;
	(void)step;
	return objective(inst, x, g);
}

static int progress(void *inst, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
		    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
		    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step,
		    int n, int k, int ls)
{
	struct problem *P = inst;

	(void)x, (void)g, (void)fx, (void)xnorm, (void)gnorm, (void)step;
	(void)n, (void)k, (void)ls;
	P->iterations++;
	return 0;
}

/* The logit of fraction 'f'. */
static double logit(double f)
{
	return log(f / (1 - f));
}

/* Grid fractions per param (alpha's of (0, 1); beta's of alpha, gamma's
 * of 1 - alpha, phi's of its range): statsmodels' brute-force start,
 * coarser, since L-BFGS then runs from several of its best points. */
static const double grid_alpha[] = {0.05, 0.2, 0.4, 0.6, 0.8, 0.95};
static const double grid_small[] = {0.01, 0.1, 0.5};
static const double grid_phi[] = {0.1, 0.5, 0.9};
#define GRID_A (sizeof(grid_alpha) / sizeof(grid_alpha[0]))
#define GRID_S (sizeof(grid_small) / sizeof(grid_small[0]))
#define GRID_P (sizeof(grid_phi) / sizeof(grid_phi[0]))

/* Point 'i' of the grid into u (mixed radix over the active params). */
static int grid_point(const struct problem *P, size_t i, double *u)
{
	u[0] = logit(grid_alpha[i % GRID_A]);
	i /= GRID_A;
	if (P->pos[P_BETA] >= 0) {
		u[P->pos[P_BETA]] = logit(grid_small[i % GRID_S]);
		i /= GRID_S;
	}
	if (P->pos[P_GAMMA] >= 0) {
		u[P->pos[P_GAMMA]] = logit(grid_small[i % GRID_S]);
		i /= GRID_S;
	}
	if (P->pos[P_PHI] >= 0) {
		u[P->pos[P_PHI]] = logit(grid_phi[i % GRID_P]);
		i /= GRID_P;
	}
	return i == 0;
}

/* The N_STARTS best grid points, best first, into starts[N_STARTS][dim];
 * ties keep grid order.  Returns how many are finite. */
static int best_starts(struct problem *P, double starts[N_STARTS][N_PAR])
{
	double best[N_STARTS], u[N_PAR];
	int have = 0;

	for (size_t i = 0; grid_point(P, i, u); i++) {
		double f = objective(P, u, NULL);
		int at = have < N_STARTS ? have : N_STARTS;
		if (!(f < BAD_OBJECTIVE))
			continue;
		while (at > 0 && f < best[at - 1])
			at--;
		if (at >= N_STARTS)
			continue;
		for (int k = (have < N_STARTS ? have : N_STARTS - 1); k > at; k--) {
			best[k] = best[k - 1];
			memcpy(starts[k], starts[k - 1], sizeof(starts[k]));
		}
		best[at] = f;
		memcpy(starts[at], u, sizeof(starts[at]));
		have += have < N_STARTS;
	}
	return have;
}

/* L-BFGS from each start; the best end into 'theta'.  Returns its scaled
 * SSE (BAD_OBJECTIVE when no start is finite). */
static double optimise(struct problem *P, double theta[N_PAR])
{
	double starts[N_STARTS][N_PAR], best = BAD_OBJECTIVE, jac[N_PAR][N_PAR];
	int have = best_starts(P, starts);
	lbfgsfloatval_t *x = lbfgs_malloc(P->dim);
	lbfgs_parameter_t prm;

	lbfgs_parameter_init(&prm);
	prm.max_iterations = MAX_ITERATIONS;
	prm.epsilon = 1e-9;
	prm.past = 3;
	prm.delta = 1e-12;
	prm.linesearch = LBFGS_LINESEARCH_BACKTRACKING;
	for (int s = 0; s < have; s++) {
		lbfgsfloatval_t fx;
		memcpy(x, starts[s], (size_t)P->dim * sizeof(double));
		lbfgs(P->dim, x, &fx, evaluate, progress, P, &prm);
		fx = objective(P, x, NULL);   /* the point kept, whatever the status */
		if (fx < best) {
			best = fx;
			params_of(P, x, theta, jac);
		}
	}
	lbfgs_free(x);
	return best;
}

/* Multiplicative components take logs and ratios: y must be above 0. */
static int check_positive(const struct hw_config *cfg, const double *y, size_t n,
			  struct err *err)
{
	if (cfg->trend != HW_MUL && cfg->seasonal != HW_MUL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!(y[i] > 0)) {
			err_set(err, ERR_USER, "row %zu is %g: a multiplicative trend or "
				"season needs values above 0 (expected add, or a positive "
				"series)", i + 1, y[i]);
			return -1;
		}
	}
	return 0;
}

/* 1 / (n var(y)), or 1 / n for a constant series. */
static double objective_scale(const double *y, size_t n)
{
	double mean = 0, ss = 0;

	for (size_t i = 0; i < n; i++)
		mean += y[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (y[i] - mean) * (y[i] - mean);
	return ss > 0 ? 1 / ss : 1 / (double)n;
}

static void problem_init(struct problem *P, struct hw_model *hm, const double *y,
			 size_t n)
{
	const struct hw_config *c = &hm->cfg;

	memset(P, 0, sizeof(*P));
	P->hm = hm;
	P->y = y;
	P->n = n;
	P->scale = objective_scale(y, n);
	P->ring = ring_new(c);
	P->pos[P_ALPHA] = P->dim++;
	P->pos[P_BETA] = c->trend ? P->dim++ : -1;
	P->pos[P_GAMMA] = c->seasonal ? P->dim++ : -1;
	P->pos[P_PHI] = c->trend && c->damped ? P->dim++ : -1;
}

int hw_fit(struct hw_model *hm, const struct hw_config *cfg, const double *y,
	   size_t n, struct err *err)
{
	double theta[N_PAR];
	struct problem P;

	hw_model_init(hm, cfg);
	cfg = &hm->cfg;
	if (check_positive(cfg, y, n, err) ||
	    hw_initial(cfg, y, n, &hm->l0, &hm->b0, hm->s0, err))
		return -1;
	if (!isfinite(hm->l0) || !isfinite(hm->b0) || (cfg->trend == HW_MUL && hm->b0 <= 0)) {
		err_set(err, ERR_USER, "the initial level %g and trend %g are not usable "
			"(a multiplicative trend needs a start above 0: expected add)",
			hm->l0, hm->b0);
		return -1;
	}
	problem_init(&P, hm, y, n);
	optimise(&P, theta);
	free(P.ring);
	hm->alpha = theta[P_ALPHA];
	hm->beta = theta[P_BETA];
	hm->gamma = theta[P_GAMMA];
	hm->phi = theta[P_PHI];
	hm->iterations = P.iterations;
	hw_smooth(hm, y, n);
	if (!isfinite(hm->sse)) {
		err_set(err, ERR_INTERNAL, "the fit ended on a non-finite SSE after %d "
			"iterations", P.iterations);
		return -1;
	}
	return 0;
}

void hw_model_init(struct hw_model *hm, const struct hw_config *cfg)
{
	memset(hm, 0, sizeof(*hm));
	hm->cfg = *cfg;
	if (!cfg->seasonal)
		hm->cfg.m = 0;
	if (!cfg->trend)
		hm->cfg.damped = 0;
	hm->phi = 1;
	if (hm->cfg.m) {
		hm->s0 = xcalloc(hm->cfg.m, sizeof(double));
		hm->season = xcalloc(hm->cfg.m, sizeof(double));
	}
}

void hw_release(struct hw_model *hm)
{
	free(hm->s0);
	free(hm->season);
	hm->s0 = hm->season = NULL;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static json_t *num_or_null(int have, double v)
{
	return have && isfinite(v) ? json_real(v) : json_null();
}

static json_t *season_json(const struct hw_model *hm, const double *s)
{
	json_t *a;

	if (!hm->cfg.m)
		return json_null();
	a = json_array();
	for (size_t j = 0; j < hm->cfg.m; j++)
		json_array_append_new(a, json_real(s[j]));
	return a;
}

static json_t *name_json(enum hw_component c)
{
	return c ? json_string(hw_component_name(c)) : json_null();
}

json_t *hw_to_json(const struct hw_model *hm)
{
	const struct hw_config *c = &hm->cfg;

	return json_pack("{s:s, s:o, s:b, s:o, s:o, s:{s:f, s:o, s:o, s:o}, "
			 "s:{s:f, s:o, s:o}, s:{s:f, s:o, s:o}, s:I, s:o, s:i}",
			 "type", "holt_winters", "trend", name_json(c->trend),
			 "damped", c->damped, "seasonal", name_json(c->seasonal),
			 "seasonal_periods", c->m ? json_integer((json_int_t)c->m) : json_null(),
			 "params", "alpha", hm->alpha, "beta", num_or_null(c->trend, hm->beta),
			 "gamma", num_or_null(c->seasonal, hm->gamma),
			 "phi", num_or_null(c->damped, hm->phi),
			 "initial", "level", hm->l0, "trend", num_or_null(c->trend, hm->b0),
			 "season", season_json(hm, hm->s0),
			 "final", "level", hm->level, "trend", num_or_null(c->trend, hm->trend),
			 "season", season_json(hm, hm->season),
			 "n_train", (json_int_t)hm->n, "sse", num_or_null(1, hm->sse),
			 "iterations", hm->iterations);
}

/* A component name or null. */
static int component_of(json_t *v, enum hw_component *c)
{
	const char *s = json_string_value(v);

	*c = HW_NONE;
	if (json_is_null(v))
		return 0;
	if (s && !strcmp(s, "add"))
		*c = HW_ADD;
	else if (s && !strcmp(s, "mul"))
		*c = HW_MUL;
	else
		return -1;
	return 0;
}

/* 'n' numbers of array 'a' into 'out'. */
static int numbers_of(json_t *a, double *out, size_t n)
{
	if (json_array_size(a) != n)
		return -1;
	for (size_t j = 0; j < n; j++) {
		json_t *v = json_array_get(a, j);
		if (!json_is_number(v))
			return -1;
		out[j] = json_number_value(v);
	}
	return 0;
}

/* A number field, or 'def' when the model has no such part. */
static int number_of(json_t *o, const char *key, int have, double def, double *out)
{
	json_t *v = json_object_get(o, key);

	*out = def;
	if (!have)
		return 0;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

int hw_from_json(json_t *j, struct hw_model *hm, struct err *err)
{
	struct hw_config cfg = {HW_NONE, HW_NONE, 0, 0};
	json_t *par = json_object_get(j, "params"), *ini = json_object_get(j, "initial");
	json_t *fin = json_object_get(j, "final"), *m = json_object_get(j, "seasonal_periods");
	const char *type;
	int bad;

	memset(hm, 0, sizeof(*hm));
	bad = component_of(json_object_get(j, "trend"), &cfg.trend) ||
	      component_of(json_object_get(j, "seasonal"), &cfg.seasonal);
	cfg.damped = json_is_true(json_object_get(j, "damped"));
	if (!bad && cfg.seasonal)
		bad = !json_is_integer(m) || json_integer_value(m) < 2;
	cfg.m = bad || !cfg.seasonal ? 0 : (size_t)json_integer_value(m);
	hw_model_init(hm, &cfg);
	cfg = hm->cfg;
	bad = bad || number_of(par, "alpha", 1, 0, &hm->alpha) ||
	      number_of(par, "beta", cfg.trend, 0, &hm->beta) ||
	      number_of(par, "gamma", cfg.seasonal, 0, &hm->gamma) ||
	      number_of(par, "phi", cfg.damped, 1, &hm->phi) ||
	      number_of(ini, "level", 1, 0, &hm->l0) ||
	      number_of(ini, "trend", cfg.trend, 0, &hm->b0) ||
	      number_of(fin, "level", 1, 0, &hm->level) ||
	      number_of(fin, "trend", cfg.trend, 0, &hm->trend) ||
	      (cfg.m && (numbers_of(json_object_get(ini, "season"), hm->s0, cfg.m) ||
			 numbers_of(json_object_get(fin, "season"), hm->season, cfg.m)));
	hm->n = (size_t)json_integer_value(json_object_get(j, "n_train"));
	type = json_string_value(json_object_get(j, "type"));
	if (bad || !type || strcmp(type, "holt_winters")) {
		err_set(err, ERR_USER, "not a holt_winters model (expected hw_to_json()'s "
			"form: type, trend, seasonal, seasonal_periods, params, initial, final)");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Season from the step                                                 */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t hw_median_i64(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(int64_t), cmp_i64);
	return v[n / 2];
}

/* 86400: seconds per day; the calendar steps below are in days */
#define DAY 86400

size_t hw_season_of_step(int64_t step)
{
	if (step <= 0)
		return 0;
	if (step < DAY && DAY % step == 0)
		return (size_t)(DAY / step);
	if (step == DAY)
		return 7;
	if (step == 7 * DAY)
		return 52;
	if (step >= 28 * DAY && step <= 31 * DAY)
		return 12;
	if (step >= 89 * DAY && step <= 92 * DAY)
		return 4;
	return 0;
}
