/* train.prophet: a Prophet-style forecaster fitted to one column.
 *
 * Input: a data.load node's table (read by features.h).  The last
 * 'test_fraction' of the rows is held out; the model is fitted on the rows
 * before it and forecasts it.  Outputs: model.json (prophet_to_json(),
 * which prophet_from_json() reads back, plus the target), forecast.npy
 * float64 [n_test, 4] (yhat, yhat_lower, yhat_upper, y), T_test.npy int64
 * [n_test] (unix seconds), metrics.json {rmse, mae, mse, r2, coverage} on
 * the held-out rows in the series' units (coverage, the share of y inside
 * the interval, is null without intervals).  Deterministic for a seed.
 * A failed run's files are the engine's to discard (kernel.h). */
#include "features.h"
#include "fs.h"
#include "holidays.h"
#include "kernel.h"
#include "series.h"
#include "metrics.h"
#include "npy.h"
#include "prophet.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct param_spec params[] = {
	{"growth", PT_ENUM, "\"linear\"", 0, 0, "linear|logistic", "the trend's shape"},
	{"cap", PT_NUM, "null", 0, 0, NULL,
	 "the capacity of logistic growth, in the series' units; required for it"},
	{"n_changepoints", PT_INT, "25", 0, 1000, NULL,
	 "potential trend changepoints, spread over the first changepoint_range"},
	{"changepoint_range", PT_NUM, "0.8", 0.01, 1, NULL,
	 "the share of the history where the trend may change"},
	{"changepoint_prior_scale", PT_NUM, "0.05", 1e-4, 1e4, NULL,
	 "scale of the sparse (Laplace) prior on rate changes: larger bends more"},
	{"seasonality_mode", PT_ENUM, "\"additive\"", 0, 0, "additive|multiplicative",
	 "how seasonalities and holidays combine with the trend"},
	{"seasonality_prior_scale", PT_NUM, "10", 1e-4, 1e4, NULL,
	 "scale of the Gaussian prior on Fourier coefficients"},
	{"holidays_prior_scale", PT_NUM, "10", 1e-4, 1e4, NULL,
	 "scale of the Gaussian prior on holiday effects"},
	{"country", PT_ANY, "\"US\"", 0, 0, NULL,
	 "whose public holidays are modelled: US; null or \"\" for none"},
	{"yearly_seasonality", PT_ANY, "\"auto\"", 0, 0, NULL,
	 "\"auto\" (on when the history spans 2 years), true, false, or a Fourier order"},
	{"weekly_seasonality", PT_ANY, "\"auto\"", 0, 0, NULL,
	 "\"auto\" (on for 2 weeks of sub-weekly rows), true, false, or an order"},
	{"daily_seasonality", PT_ANY, "\"auto\"", 0, 0, NULL,
	 "\"auto\" (on for 2 days of sub-daily rows), true, false, or an order"},
	{"interval_width", PT_NUM, "0.8", 0.001, 0.999, NULL,
	 "the probability mass of the forecast intervals"},
	{"uncertainty_samples", PT_INT, "1000", 0, 100000, NULL,
	 "simulations behind the intervals; 0: no intervals"},
	{"test_fraction", PT_NUM, "0.2", 0.001, 0.99, NULL,
	 "the last share of the rows, held out and forecast"},
	{"seed", PT_INT, "0", 0, 0, NULL, "seeds the interval simulations"},
	{"data", PT_STR, "null", 0, 0, NULL,
	 "the needed node whose table is fitted; null: the first"},
	{"target", PT_STR, "null", 0, 0, NULL,
	 "the column to forecast; null: the schema's target"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

/* A seasonality param: "auto", true, false or an order. */
static int parse_order(struct kctx *ctx, const char *name, int *order, struct err *err)
{
	json_t *v = json_object_get(kctx_params(ctx), name);

	if (json_is_string(v) && !strcmp(json_string_value(v), "auto"))
		*order = PROPHET_AUTO;
	else if (json_is_boolean(v))
		*order = json_is_true(v) ? PROPHET_ON : 0;
	else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		 json_integer_value(v) <= PROPHET_MAX_ORDER)
		*order = (int)json_integer_value(v);
	else {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		err_set(err, ERR_USER, "param '%s' of task 'train.prophet': expected "
			"\"auto\", true, false or a Fourier order 0 to %d, found %s",
			name, PROPHET_MAX_ORDER, text ? text : "?");
		free(text);
		return -1;
	}
	return 0;
}

/* The params into a model config; checks what the schema cannot. */
static int parse_params(struct kctx *ctx, struct prophet_config *cfg, struct err *err)
{
	json_t *country = json_object_get(kctx_params(ctx), "country");
	json_t *cap = json_object_get(kctx_params(ctx), "cap");
	const char *code = json_is_string(country) ? json_string_value(country) : "";

	prophet_config_init(cfg);
	cfg->growth = strcmp(kctx_str(ctx, "growth"), "logistic") ? PROPHET_LINEAR :
		      PROPHET_LOGISTIC;
	cfg->cap = json_is_number(cap) ? json_number_value(cap) : NAN;
	cfg->n_changepoints = (int)kctx_int(ctx, "n_changepoints");
	cfg->changepoint_range = kctx_num(ctx, "changepoint_range");
	cfg->changepoint_prior_scale = kctx_num(ctx, "changepoint_prior_scale");
	cfg->mode = strcmp(kctx_str(ctx, "seasonality_mode"), "multiplicative") ?
		    PROPHET_ADDITIVE : PROPHET_MULTIPLICATIVE;
	cfg->seasonality_prior_scale = kctx_num(ctx, "seasonality_prior_scale");
	cfg->holidays_prior_scale = kctx_num(ctx, "holidays_prior_scale");
	cfg->interval_width = kctx_num(ctx, "interval_width");
	cfg->uncertainty_samples = (int)kctx_int(ctx, "uncertainty_samples");
	cfg->seed = (uint64_t)kctx_int(ctx, "seed");
	if ((!json_is_null(country) && !json_is_string(country)) ||
	    strlen(code) >= sizeof(cfg->country)) {
		err_set(err, ERR_USER, "param 'country' of task 'train.prophet': expected "
			"a country code (%s), or null or \"\" for none", holidays_countries());
		return -1;
	}
	snprintf(cfg->country, sizeof(cfg->country), "%s", code);
	if (cfg->growth == PROPHET_LOGISTIC && !json_is_number(cap)) {
		err_set(err, ERR_USER, "param 'cap' of task 'train.prophet': logistic "
			"growth needs a capacity (expected cap: a number above 0)");
		return -1;
	}
	if (parse_order(ctx, "yearly_seasonality", &cfg->yearly, err) ||
	    parse_order(ctx, "weekly_seasonality", &cfg->weekly, err))
		return -1;
	return parse_order(ctx, "daily_seasonality", &cfg->daily, err);
}

/* forecast.npy and T_test.npy: yhat, lower, upper ('fc', by column) and y
 * per held-out row. */
static int write_forecast(const char *out, const int64_t *ts, const double *y,
			  const double *fc, size_t n, struct err *err)
{
	double *rows = xmalloc((n * 4 + 1) * sizeof(double));
	size_t shape[2] = {n, 4};
	char *p1 = fs_join(out, "forecast.npy"), *p2 = fs_join(out, "T_test.npy");
	int rc;

	for (size_t i = 0; i < 4 * n; i++)
		rows[i] = i % 4 < 3 ? fc[i % 4 * n + i / 4] : y[i / 4];
	rc = npy_write(p1, NPY_F8, 2, shape, rows, err);
	if (rc == 0)
		rc = npy_write(p2, NPY_I8, 1, shape, ts, err);
	free(rows);
	free(p1);
	free(p2);
	return rc;
}

/* Write 'j' (stolen) as 'name' in the output folder. */
static int write_json(struct kctx *ctx, const char *name, json_t *j, struct err *err)
{
	char *path = fs_join(kctx_out_dir(ctx), name);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));

	if (rc)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	free(path);
	json_decref(j);
	return rc ? -1 : 0;
}

/* metrics.json and the metric sink: yhat against y by metrics.h (as every
 * kernel scores, so that eval.promote compares like with like), and the
 * share of y inside the interval. */
static int write_metrics(struct kctx *ctx, const double *y, const double *fc,
			 size_t n, struct err *err)
{
	static const char *const names[5] = {"rmse", "mae", "mse", "r2", "coverage"};
	float *fy = xmalloc(n * sizeof(float)), *fp = xmalloc(n * sizeof(float));
	double inside = 0, m[5];
	json_t *j = json_object();

	for (size_t i = 0; i < n; i++) {
		fy[i] = (float)y[i];
		fp[i] = (float)fc[i];
		inside += fc[n + i] <= y[i] && y[i] <= fc[2 * n + i];
	}
	m[0] = metric_rmse(fy, fp, n, 1);
	m[1] = metric_mae(fy, fp, n, 1);
	m[2] = metric_mse(fy, fp, n, 1);
	m[3] = metric_r2(fy, fp, n, 1);
	m[4] = isnan(fc[n]) ? NAN : inside / (double)n;
	for (int k = 0; k < 5; k++) {
		json_object_set_new(j, names[k], isfinite(m[k]) ? json_real(m[k]) : json_null());
		if (isfinite(m[k]))
			kctx_metric(ctx, names[k], -1, m[k]);
	}
	free(fy);
	free(fp);
	return write_json(ctx, "metrics.json", j, err);
}

/* A monotonic clock for the log (never in the outputs: they must not
 * change from run to run). */
static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cancelled(void *arg)
{
	return kctx_cancelled(arg);
}

/* Split, fit, forecast the held-out rows, write everything. */
static int fit_and_forecast(struct kctx *ctx, struct prophet_config *cfg,
			    const struct series *s, struct err *err)
{
	size_t n = s->fs.rows, n_test = (size_t)llround((double)n * kctx_num(ctx, "test_fraction"));
	const int64_t *ts = s->ts;
	const double *y = s->y;
	struct prophet_model pm;
	double *fc, t0, t1;
	json_t *model;
	int rc;

	if (n_test < 1 || n_test + 2 > n) {
		err_set(err, ERR_USER, "too few rows: %zu, of which %zu held out (expected "
			"at least 2 to fit and 1 to forecast)", n, n_test);
		return -1;
	}
	cfg->cancelled = cancelled;
	cfg->cancel_arg = ctx;
	t0 = seconds();
	if (prophet_fit(&pm, cfg, ts, y, n - n_test, err))
		return -1;
	t1 = seconds();
	fc = xmalloc(3 * n_test * sizeof(double));
	prophet_predict(&pm, ts + n - n_test, n_test, fc, fc + n_test, fc + 2 * n_test);
	kctx_log(ctx, "fitted '%s' on %zu rows in %.4f s (%d iterations, objective "
		 "%.6f; %zu changepoints, %zu columns, %zu holidays); forecast %zu "
		 "rows in %.4f s", s->target, n - n_test, t1 - t0, pm.iterations,
		 pm.objective, pm.n_cp, pm.n_beta, pm.n_holidays, n_test, seconds() - t1);
	model = prophet_to_json(&pm);
	json_object_set_new(model, "target", json_string(s->target));
	json_object_set_new(model, "n_test", json_integer((json_int_t)n_test));
	rc = write_json(ctx, "model.json", model, err);
	if (rc == 0)
		rc = write_forecast(kctx_out_dir(ctx), ts + n - n_test, y + n - n_test,
				    fc, n_test, err);
	if (rc == 0)
		rc = write_metrics(ctx, y + n - n_test, fc, n_test, err);
	free(fc);
	prophet_release(&pm);
	return rc;
}

static int run(struct kctx *ctx)
{
	struct prophet_config cfg;
	struct series s;
	struct err err;
	int rc;

	memset(&s, 0, sizeof(s));
	err_init(&err);
	rc = parse_params(ctx, &cfg, &err);
	if (rc == 0)
		rc = series_load(ctx, "train.prophet", &s, &err);
	if (rc == 0)
		rc = fit_and_forecast(ctx, &cfg, &s, &err);
	series_release(&s);
	if (rc == 0)
		return KERNEL_OK;
	return kctx_fail(ctx, err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			 "%s", err.msg);
}

static const char doc[] =
	"Fit a Prophet-style model (piecewise-linear or logistic trend with "
	"changepoints, Fourier seasonalities, holidays; fitted to its MAP) to a "
	"data.load table's target, holding out the last test_fraction of the "
	"rows; write model.json, the held-out forecast with intervals "
	"(forecast.npy: yhat, yhat_lower, yhat_upper, y; T_test.npy) and "
	"metrics.json (rmse, mae, mse, r2, coverage).";

const struct kernel kernel_train_prophet = {"train.prophet", 1, params, doc, run};
