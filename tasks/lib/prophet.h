/* prophet: a Prophet-style forecaster (Taylor and Letham, "Forecasting at
 * scale", 2017), fitted to its MAP estimate.
 *
 * The model, on the scaled series y / y_scale (y_scale = max |y|) over
 * scaled time t = (ts - t_start) / t_scale (0 at the first training row,
 * 1 at the last):
 *
 *   y(t) = g(t) * (1 + X(t) b_m) + X(t) b_a + e,   e ~ N(0, sigma_obs^2)
 *
 * g is the trend: linear, (k + a(t)) t + (m + c(t)), or logistic,
 * cap / (1 + exp(-(k + a(t)) (t - (m + c(t))))), where a(t) sums the rate
 * changes 'delta' of the changepoints at or before t and c(t) keeps g
 * continuous.  X holds the Fourier terms of each seasonality (sin, cos of
 * 2 pi j d / period for j = 1..order, d in days since 1970-01-01) and one
 * 0/1 column per holiday name.  b = beta goes to b_a (additive mode) or
 * b_m (multiplicative mode), for seasonalities and holidays alike.
 *
 * Priors, as Prophet's Stan model: k, m ~ N(0, 5); delta ~ Laplace(0,
 * changepoint_prior_scale); sigma_obs ~ N+(0, 0.5); beta ~ N(0, s) with s
 * the seasonality or holidays prior scale of its column.  The fit
 * minimises the negative log posterior from Prophet's starting point, to
 * the optimum itself (Gauss-Newton rounds with exact L1 steps; L-BFGS from
 * liblbfgs first for logistic growth, and as the fallback), where Stan's
 * L-BFGS in Prophet stops short of it.
 *
 * Intervals: each of 'uncertainty_samples' simulations draws new
 * changepoints beyond the history (a Poisson process with the history's
 * rate), their rate changes from Laplace(0, mean |delta|), and Gaussian
 * noise of sigma_obs; the bounds are the (1 -+ interval_width) / 2
 * quantiles (linear interpolation), as Prophet's MAP predictions do.
 *
 * Invariant: a fitted model holds everything prediction needs; predictions
 * are a pure function of the model and the times (the random stream is
 * seeded from 'seed' at each call), so they are deterministic.
 * Nothing here logs, touches files or keeps global state: thread-safe. */
#ifndef DAGRUN_PROPHET_H
#define DAGRUN_PROPHET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum prophet_growth { PROPHET_LINEAR, PROPHET_LOGISTIC };
enum prophet_mode { PROPHET_ADDITIVE, PROPHET_MULTIPLICATIVE };

/* A seasonality's order: decided from the data as Prophet does (yearly 10
 * when the history spans 2 years; weekly 3 when it spans 2 weeks with
 * rows less than a week apart; daily 4 when it spans 2 days with rows
 * less than a day apart; else off). */
#define PROPHET_AUTO (-1)
/* A seasonality on with Prophet's default order whatever the data: yearly
 * 10, weekly 3, daily 4 (Prophet's 'True'). */
#define PROPHET_ON (-2)
/* 100: the highest Fourier order accepted (200 columns per seasonality) */
#define PROPHET_MAX_ORDER 100
/* 8: a country code and its NUL, e.g. "US" */
#define PROPHET_COUNTRY_MAX 8

struct prophet_config {
	enum prophet_growth growth;
	double cap;                     /* logistic: capacity, original units */
	int n_changepoints;             /* potential changepoints, 0..1000 */
	double changepoint_range;       /* (0, 1]: the share of history they span */
	double changepoint_prior_scale; /* Laplace scale of 'delta' (> 0) */
	enum prophet_mode mode;         /* of seasonalities and holidays */
	double seasonality_prior_scale; /* > 0 */
	double holidays_prior_scale;    /* > 0 */
	char country[PROPHET_COUNTRY_MAX];  /* holidays.h code; "": none */
	int yearly, weekly, daily;      /* Fourier orders, PROPHET_AUTO or
					 * PROPHET_ON; 0: off */
	double interval_width;          /* (0, 1) */
	int uncertainty_samples;        /* 0: no intervals */
	uint64_t seed;
	/* Polled once per optimizer iteration; nonzero stops the fit.  May be
	 * NULL.  Not saved with the model. */
	int (*cancelled)(void *arg);
	void *cancel_arg;
};

/* A seasonality of the fitted model; order > 0. */
struct prophet_season {
	const char *name;      /* static: "yearly", "weekly", "daily" */
	double period;         /* days */
	int order;
};

struct prophet_model {
	struct prophet_config cfg;     /* orders resolved: 0 or above */
	int64_t t_start;               /* unix seconds of scaled t = 0 */
	double t_scale;                /* seconds from t = 0 to t = 1 */
	double y_scale;
	size_t n_train;                /* rows fitted */
	size_t n_seasons;
	struct prophet_season seasons[3];
	size_t n_holidays;
	char **holidays;               /* owned names, sorted: X's last columns */
	size_t n_cp;                   /* changepoints (>= 1: see prophet_fit) */
	double *cp_t;                  /* owned, scaled times, rising */
	size_t n_beta;                 /* columns of X */
	/* the MAP estimate */
	double k, m, sigma_obs;
	double *delta;                 /* owned, n_cp */
	double *beta;                  /* owned, n_beta */
	/* how the fit went */
	double objective;              /* negative log posterior at the estimate */
	int iterations;                /* optimizer rounds and iterations */
	int status;                    /* 0, or L-BFGS' last status code */
};

/* Prophet's defaults: linear growth, 25 changepoints over the first 80%
 * with prior scale 0.05, additive seasonalities (prior 10) and holidays
 * (prior 10) of the US, every seasonality auto, 80% intervals from 1000
 * samples, seed 0. */
void prophet_config_init(struct prophet_config *cfg);

/* 0 if 'cfg' can make a model, else -1 with 'err' set (ERR_USER naming
 * the bad field, e.g. "country: no holidays for 'FR' (...)"). */
int prophet_config_check(const struct prophet_config *cfg, struct err *err);

/* Fit a model to 'n' rows: times 'ts' (unix seconds, non-decreasing) and
 * values 'y'.  '*pm' is filled and the caller releases it with
 * prophet_release() on success (on failure nothing is left to release).
 * Changepoints sit at the rows spread evenly over the first
 * changepoint_range of the history, at most one per row after the first;
 * with none, one dummy changepoint sits at t = 0 and its rate change is
 * folded into k after the fit, as in Prophet.
 * Costs O(n q^2) once and O(q^3) per round for q unknowns (up to 400;
 * more go to L-BFGS alone). 
 * Returns 0, or -1 with 'err' set: ERR_USER when the data cannot be
 * fitted (fewer than 2 rows, times out of order or all equal, values not
 * finite, cap not above 0 for logistic growth, a bad config value);
 * ERR_IO when cancelled; ERR_INTERNAL when the optimizer ends on a
 * non-finite objective. */
int prophet_fit(struct prophet_model *pm, const struct prophet_config *cfg,
		const int64_t *ts, const double *y, size_t n, struct err *err);

void prophet_release(struct prophet_model *pm);

/* Forecast at 'n' times 'ts' (any order): the point forecast into
 * 'yhat', and when 'lower' and 'upper' are not NULL the interval bounds
 * (NaN when cfg.uncertainty_samples is 0).  Arrays are the caller's, of
 * 'n' each.  Cannot fail; memory for the samples is n x samples doubles. */
void prophet_predict(const struct prophet_model *pm, const int64_t *ts,
		     size_t n, double *yhat, double *lower, double *upper);

/* The model as JSON (prophet_json.c): config, scaling, seasonalities, holidays,
 * changepoints (unix seconds and scaled), the MAP parameters and the fit
 * report; doubles round-trip exactly when dumped with
 * JSON_REAL_PRECISION(17).  The caller owns the reference. */
json_t *prophet_to_json(const struct prophet_model *pm);

/* Read back what prophet_to_json() wrote, into '*pm' (released with
 * prophet_release() on success).  Returns 0, or -1 with 'err' set
 * (ERR_USER: "model: ..." naming the missing or bad field). */
int prophet_from_json(struct prophet_model *pm, json_t *j, struct err *err);

/* --- The objective, exposed for tests and diagnostics.
 *
 * The parameter vector x is laid out as Prophet's Stan model orders its
 * parameters: x[0] = k, x[1] = m, x[2 .. 2+S) = delta, x[2+S] =
 * log(sigma_obs), x[3+S ..] = beta; S = n_cp. */
struct prophet_problem;

/* Scale the data, choose seasonalities, holidays and changepoints, and
 * build the design: the steps of prophet_fit() before the optimizer.
 * Fills the data-dependent fields of '*pm' (not the MAP estimate, which
 * stays at the starting point).  Returns the problem, which the caller
 * frees with prophet_problem_free() before releasing '*pm'; or NULL
 * with 'err' set as prophet_fit() does. */
struct prophet_problem *prophet_problem_new(struct prophet_model *pm,
					    const struct prophet_config *cfg,
					    const int64_t *ts, const double *y,
					    size_t n, struct err *err);
void prophet_problem_free(struct prophet_problem *p);

/* The length of x, and Prophet's starting point (written to 'x'). */
size_t prophet_problem_dim(const struct prophet_problem *p);
void prophet_problem_start(const struct prophet_problem *p, double *x);

/* The negative log posterior at 'x' (constants dropped, as Stan does),
 * and its gradient into 'grad' (may be NULL); d|delta|/d delta is taken
 * as sign(delta), 0 at 0. */
double prophet_problem_eval(struct prophet_problem *p, const double *x,
			    double *grad);

/* Copy 'x' into the model's parameters (k, m, delta, sigma_obs, beta). */
void prophet_problem_set(const struct prophet_problem *p, const double *x,
			 struct prophet_model *pm);

#endif
