/* holt_winters: Holt-Winters exponential smoothing (level, an additive or
 * multiplicative trend, optionally damped, and an additive or
 * multiplicative season) fitted by least squares, its forecasts, and the
 * season length a time step suggests.
 *
 * The recursion is statsmodels' ExponentialSmoothing (Hyndman et al.,
 * "Forecasting with Exponential Smoothing", 2008, error-correction form).
 * For row t = 0 .. n-1, with l and b the states before it and s[t] its
 * season (s[0 .. m) are the initial seasons):
 *   q    = phi b   (add)  | b^phi     (mul)  phi = 1 when not damped
 *   T    = l + q   (add)  | l q       (mul)  | l       (no trend)
 *   yhat = T + s[t] (add) | T s[t]    (mul)  | T       (no season)
 *   l'   = alpha (y - s[t]) | alpha y / s[t] | alpha y, + (1 - alpha) T
 *   b'   = beta (l' - l)  | beta l' / l,  + (1 - beta) q
 *   s[t + m] = gamma (y - T) | gamma y / T,  + (1 - gamma) s[t]
 * The fit minimises SSE = sum (y - yhat)^2 over the training rows (the
 * Gaussian likelihood's optimum) in alpha, beta, gamma, phi within
 * statsmodels' bounds: alpha in (0, 1), beta in [0, alpha], gamma in
 * [0, 1 - alpha], phi in [0.8, 0.995].  The initial states are fixed
 * first, by the heuristic of Hyndman et al. section 2.6 (hw_initial());
 * statsmodels instead estimates them with the params unless told not to.  Forecast h >= 1 steps after the last row: T_h = l +
 * (phi + .. + phi^h) b (mul: l b^(phi + .. + phi^h)), combined with the
 * season last updated for that phase.  (statsmodels 0.13 uses the season
 * of one cycle earlier at h = m, 2m, ...: its issue #9538, fixed later.)
 *
 * Pure functions, deterministic, thread-safe on distinct models. */
#ifndef DAGRUN_HOLT_WINTERS_H
#define DAGRUN_HOLT_WINTERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum hw_component { HW_NONE, HW_ADD, HW_MUL };

/* "add", "mul"; NULL for HW_NONE. */
const char *hw_component_name(enum hw_component c);

struct hw_config {
	enum hw_component trend, seasonal;
	int damped;      /* only with a trend */
	size_t m;        /* rows per season, >= 2 with a season; else 0 */
};

/* A fitted model.  Invariant: s0 and season hold cfg.m values each (NULL
 * without a season); season[j] is the season of the row j + 1 steps after
 * the last one fitted, for j < m.  A param the config lacks is 0 (beta,
 * gamma) or 1 (phi); a state it lacks is 0. */
struct hw_model {
	struct hw_config cfg;
	double alpha, beta, gamma, phi;
	double l0, b0, *s0;          /* initial states, before row 0 */
	double level, trend, *season;   /* after the last row fitted */
	size_t n;                    /* rows fitted */
	double sse;
	int iterations;              /* L-BFGS iterations, over every start */
};

/* The initial states of 'y[0..n)' by the heuristic of Hyndman et al.
 * 2.6 as statsmodels' _initialization_heuristic computes it, but for one
 * fix.  With a season, the first k = max(min(5, n / m), ceil((10 + 2 (m /
 * 2)) / m)) cycles are smoothed by a centred moving average of m rows
 * (2 x m for an even m); the season of phase j is the mean of y - MA
 * (y / MA) over those cycles, normalised to sum 0 (mean 1).  A line is
 * fitted to the first 10 values of the MA (of y without a season): level
 * = its value at row -1, the state before row 0; trend = its slope (mul:
 * 1 + slope / level).  The fix: statsmodels fits the line against 1 .. 10
 * although the first MA value sits at row m / 2, so its level is the trend
 * m / 2 rows late; here x is the row the value sits at, which makes the
 * states of a noiseless linear trend plus season exact.  's0' holds m
 * values.  Returns 0, or -1 with 'err' set (ERR_USER: fewer than 10 rows,
 * fewer than 2 cycles or than 10 + 2 (m / 2) rows with a season). */
int hw_initial(const struct hw_config *cfg, const double *y, size_t n,
	       double *l0, double *b0, double *s0, struct err *err);

/* Fit 'cfg' to 'y[0..n)': the initial states, then alpha, beta, gamma and
 * phi by L-BFGS (liblbfgs) on logistic transforms of the bounded
 * parameters, from the best few points of a fixed grid; 'hm' gets the
 * model, its final states and SSE (release with hw_release(), also after a
 * failure).  Returns 0, or -1 with 'err' set (ERR_USER: the data does not
 * suit the config: too short, or not positive for a multiplicative
 * component; ERR_INTERNAL: the fit ended on a non-finite SSE). */
int hw_fit(struct hw_model *hm, const struct hw_config *cfg, const double *y,
	   size_t n, struct err *err);

/* Run the recursion over 'y[0..n)' from hm's initial states with hm's
 * params, setting its final states, 'n' and 'sse' (non-finite when a
 * multiplicative state left the positive numbers).  'hm' must have its
 * config, params and initial states set (hw_model_init() allocates). */
void hw_smooth(struct hw_model *hm, const double *y, size_t n);

/* The forecasts of the 'h' rows after the last one fitted into out[0..h). */
void hw_forecast(const struct hw_model *hm, size_t h, double *out);

/* One-step-ahead forecasts of 'y[0..n)', the rows after the last one
 * fitted: the recursion continues from hm's final states with its params
 * fixed, and out[i] is the forecast of y[i] made from the states after
 * y[i - 1] (out[0] = hw_forecast()'s first).  'hm' is not changed. */
void hw_one_step(const struct hw_model *hm, const double *y, size_t n,
		 double *out);

/* An empty model of 'cfg' (s0 and season allocated, zero; phi 1). */
void hw_model_init(struct hw_model *hm, const struct hw_config *cfg);
void hw_release(struct hw_model *hm);

/* The model as JSON (a new reference): {"type": "holt_winters", "trend",
 * "damped", "seasonal", "seasonal_periods", "params": {alpha, beta, gamma,
 * phi}, "initial": {level, trend, season}, "final": {level, trend,
 * season}, "n_train", "sse", "iterations"}; what a model lacks is null. */
json_t *hw_to_json(const struct hw_model *hm);

/* Read hw_to_json()'s form back into 'hm' (initialised here; release it
 * even on failure).  Returns 0, or -1 with 'err' set (ERR_USER). */
int hw_from_json(json_t *j, struct hw_model *hm, struct err *err);

/* --- season length from the time step (shared with the baselines) */

/* The median of 'v[0..n)' (sorted in place; n > 0). */
int64_t hw_median_i64(int64_t *v, size_t n);

/* The season a step of 'step' seconds suggests, in rows: a day for steps
 * under a day that divide it (24 for hourly rows, 48 half-hourly, 1440 by
 * the minute); a week for daily rows (7); a year for weekly rows (52),
 * monthly (28 to 31 days: 12) and quarterly rows (89 to 92 days: 4).
 * 0 for any other step. */
size_t hw_season_of_step(int64_t step);

#endif
