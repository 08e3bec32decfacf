/* train.holt_winters: Holt-Winters exponential smoothing of one column.
 *
 * Input: a data.load node's table (read by features.h).  The last
 * 'test_fraction' of the rows is held out; the model (holt_winters.h: the
 * heuristic initial states, then alpha, beta, gamma, phi by least squares)
 * is fitted on the rows before it and forecasts it, by 'test_mode':
 * multi_step (the default) forecasts the whole held-out span from the end
 * of the fitted rows (h = 1 .. n_test steps ahead); one_step runs the
 * recursion on through it with the fitted params fixed (hw_one_step()),
 * each row forecast from the true values up to the row before, as the
 * window models' one-step test windows are.  The model itself (params,
 * final states after the fitted rows) is the same in both.  Rows are taken in
 * order, one step each: gaps in time are not filled.  The season length
 * is 'seasonal_periods', or the one the median time step suggests
 * (hw_season_of_step(): 24 for hourly rows, 7 for daily, ...).
 * Outputs: model.json (hw_to_json() plus target, t_start, t_last, step,
 * n_test: the row h steps after the last fitted one is at t_last + h
 * step), forecast.npy float64 [n_test, 2] (yhat, y), T_test.npy int64
 * [n_test] (unix seconds), metrics.json {rmse, mae, mse, r2} on the
 * held-out rows by metrics.h, as every kernel scores.  Deterministic: no
 * seed, and timings go only to the log.
 * A failed run's files are the engine's to discard (kernel.h). */
#include "features.h"
#include "fs.h"
#include "holt_winters.h"
#include "kernel.h"
#include "series.h"
#include "metrics.h"
#include "npy.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct param_spec params[] = {
	{"trend", PT_ENUM, "null", 0, 0, "add|mul",
	 "the trend: additive, multiplicative, or null for none (statsmodels' default)"},
	{"damped", PT_BOOL, "false", 0, 0, NULL,
	 "damp the trend by phi, fitted in [0.8, 0.995]; needs a trend"},
	{"seasonal", PT_ENUM, "null", 0, 0, "add|mul",
	 "the season: additive, multiplicative, or null for none (statsmodels' default)"},
	{"seasonal_periods", PT_INT, "null", 2, 100000, NULL,
	 "rows per season; null: from the median time step (a day of sub-daily "
	 "rows, 7 for daily, 52 weekly, 12 monthly, 4 quarterly)"},
	{"test_fraction", PT_NUM, "0.2", 0.001, 0.99, NULL,
	 "the last share of the rows, held out and forecast"},
	{"test_mode", PT_ENUM, "\"multi_step\"", 0, 0, "multi_step|one_step",
	 "how the held-out rows are forecast: multi_step, all of them from the end "
	 "of the fitted rows (1 to n_test steps ahead); one_step, each from the "
	 "true values up to the row before, the fitted params fixed (comparable "
	 "with the window models' one-step test windows)"},
	{"data", PT_STR, "null", 0, 0, NULL,
	 "the needed node whose table is fitted; null: the first"},
	{"target", PT_STR, "null", 0, 0, NULL,
	 "the column to forecast; null: the schema's target"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static enum hw_component component(struct kctx *ctx, const char *name)
{
	const char *v = kctx_str(ctx, name);

	return !v ? HW_NONE : !strcmp(v, "mul") ? HW_MUL : HW_ADD;
}

/* The params into a config; 'm' stays 0 when it is to be detected.
 * Checks what the schema cannot. */
static int parse_params(struct kctx *ctx, struct hw_config *cfg, struct err *err)
{
	json_t *m = json_object_get(kctx_params(ctx), "seasonal_periods");

	cfg->trend = component(ctx, "trend");
	cfg->seasonal = component(ctx, "seasonal");
	cfg->damped = kctx_bool(ctx, "damped");
	cfg->m = cfg->seasonal && json_is_integer(m) ? (size_t)json_integer_value(m) : 0;
	if (cfg->damped && !cfg->trend) {
		err_set(err, ERR_USER, "param 'damped' of task 'train.holt_winters': "
			"there is no trend to damp (expected trend: add or mul)");
		return -1;
	}
	return 0;
}

/* The median step between the first 'n' times (n >= 2). */
static int64_t median_step(const int64_t *ts, size_t n)
{
	int64_t *d = xmalloc((n - 1) * sizeof(int64_t)), step;

	for (size_t i = 0; i + 1 < n; i++)
		d[i] = ts[i + 1] - ts[i];
	step = hw_median_i64(d, n - 1);
	free(d);
	return step;
}

/* The season length when it is to be detected. */
static int detect_season(struct hw_config *cfg, int64_t step, struct err *err)
{
	if (!cfg->seasonal || cfg->m)
		return 0;
	cfg->m = hw_season_of_step(step);
	if (cfg->m)
		return 0;
	err_set(err, ERR_USER, "param 'seasonal_periods' of task 'train.holt_winters': "
		"a median step of %lld s suggests no season (expected a step that "
		"divides a day, a day, a week, a month or a quarter; or set "
		"seasonal_periods)", (long long)step);
	return -1;
}

/* Write 'j' (stolen) as 'name' in the output folder. */
static int write_json(struct kctx *ctx, const char *name, json_t *j, struct err *err)
{
	char *path = fs_join(kctx_out_dir(ctx), name);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS |
			       JSON_REAL_PRECISION(17));

	if (rc)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	free(path);
	json_decref(j);
	return rc ? -1 : 0;
}

/* forecast.npy (yhat, y per held-out row) and T_test.npy. */
static int write_forecast(const char *out, const int64_t *ts, const double *y,
			  const double *fc, size_t n, struct err *err)
{
	double *rows = xmalloc((2 * n + 1) * sizeof(double));
	size_t shape[2] = {n, 2};
	char *p1 = fs_join(out, "forecast.npy"), *p2 = fs_join(out, "T_test.npy");
	int rc;

	for (size_t i = 0; i < n; i++) {
		rows[2 * i] = fc[i];
		rows[2 * i + 1] = y[i];
	}
	rc = npy_write(p1, NPY_F8, 2, shape, rows, err);
	if (rc == 0)
		rc = npy_write(p2, NPY_I8, 1, shape, ts, err);
	free(rows);
	free(p1);
	free(p2);
	return rc;
}

/* metrics.json and the metric sink: yhat against y by metrics.h. */
static int write_metrics(struct kctx *ctx, const double *y, const double *fc,
			 size_t n, struct err *err)
{
	static const char *const names[4] = {"rmse", "mae", "mse", "r2"};
	float *fy = xmalloc(n * sizeof(float)), *fp = xmalloc(n * sizeof(float));
	double m[4];
	json_t *j = json_object();

	for (size_t i = 0; i < n; i++) {
		fy[i] = (float)y[i];
		fp[i] = (float)fc[i];
	}
	m[0] = metric_rmse(fy, fp, n, 1);
	m[1] = metric_mae(fy, fp, n, 1);
	m[2] = metric_mse(fy, fp, n, 1);
	m[3] = metric_r2(fy, fp, n, 1);
	for (int k = 0; k < 4; k++) {
		json_object_set_new(j, names[k], isfinite(m[k]) ? json_real(m[k]) : json_null());
		if (isfinite(m[k]))
			kctx_metric(ctx, names[k], -1, m[k]);
	}
	free(fy);
	free(fp);
	return write_json(ctx, "metrics.json", j, err);
}

/* A monotonic clock for the log (never in the outputs). */
static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* model.json: the model, what it forecast and where its time axis goes. */
static int write_model(struct kctx *ctx, const struct hw_model *hm,
		       const struct series *s, size_t n_test, int64_t step,
		       struct err *err)
{
	json_t *model = hw_to_json(hm);
	size_t n_fit = s->fs.rows - n_test;

	json_object_set_new(model, "target", json_string(s->target));
	json_object_set_new(model, "t_start", json_integer(s->ts[0]));
	json_object_set_new(model, "t_last", json_integer(s->ts[n_fit - 1]));
	json_object_set_new(model, "step", json_integer(step));
	json_object_set_new(model, "n_test", json_integer((json_int_t)n_test));
	return write_json(ctx, "model.json", model, err);
}

/* Split, fit, forecast the held-out rows, write everything. */
static int fit_and_forecast(struct kctx *ctx, struct hw_config *cfg,
			    const struct series *s, struct err *err)
{
	size_t n = s->fs.rows, n_test = (size_t)llround((double)n * kctx_num(ctx, "test_fraction"));
	struct hw_model hm;
	double *fc, t0, t1;
	int64_t step;
	int rc;

	if (n_test < 1 || n_test + 2 > n) {
		err_set(err, ERR_USER, "too few rows: %zu, of which %zu held out (expected "
			"at least 2 to fit and 1 to forecast)", n, n_test);
		return -1;
	}
	step = median_step(s->ts, n - n_test);
	if (detect_season(cfg, step, err))
		return -1;
	t0 = seconds();
	rc = hw_fit(&hm, cfg, s->y, n - n_test, err);
	t1 = seconds();
	if (rc == 0 && kctx_cancelled(ctx)) {
		err_set(err, ERR_IO, "cancelled");
		rc = -1;
	}
	if (rc) {
		hw_release(&hm);
		return -1;
	}
	kctx_log(ctx, "fitted '%s' on %zu rows in %.4f s (%d iterations, sse %.6g; "
		 "alpha %.6g beta %.6g gamma %.6g phi %.6g, season %zu)", s->target,
		 n - n_test, t1 - t0, hm.iterations, hm.sse, hm.alpha, hm.beta,
		 hm.gamma, hm.phi, hm.cfg.m);
	fc = xmalloc(n_test * sizeof(double));
	if (!strcmp(kctx_str(ctx, "test_mode"), "one_step"))
		hw_one_step(&hm, s->y + n - n_test, n_test, fc);
	else
		hw_forecast(&hm, n_test, fc);
	rc = write_model(ctx, &hm, s, n_test, step, err);
	if (rc == 0)
		rc = write_forecast(kctx_out_dir(ctx), s->ts + n - n_test, s->y + n - n_test,
				    fc, n_test, err);
	if (rc == 0)
		rc = write_metrics(ctx, s->y + n - n_test, fc, n_test, err);
	free(fc);
	hw_release(&hm);
	return rc;
}

static int run(struct kctx *ctx)
{
	struct hw_config cfg;
	struct series s;
	struct err err;
	int rc;

	memset(&s, 0, sizeof(s));
	err_init(&err);
	rc = parse_params(ctx, &cfg, &err);
	if (rc == 0)
		rc = series_load(ctx, "train.holt_winters", &s, &err);
	if (rc == 0)
		rc = fit_and_forecast(ctx, &cfg, &s, &err);
	series_release(&s);
	if (rc == 0)
		return KERNEL_OK;
	return kctx_fail(ctx, err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			 "%s", err.msg);
}

static const char doc[] =
	"Fit Holt-Winters exponential smoothing (statsmodels' ExponentialSmoothing "
	"recursion: an additive or multiplicative trend, optionally damped, and "
	"season) to a data.load table's target, holding out the last "
	"test_fraction of the rows: the initial states by Hyndman's heuristic, "
	"then alpha, beta, gamma and phi by least squares (L-BFGS); forecast the "
	"held-out rows all from the end of the fit (test_mode multi_step) or one "
	"step ahead each, from the true values before it (one_step); write "
	"model.json (params, initial and final states, t_last and step, to "
	"forecast ahead), the held-out forecast (forecast.npy: yhat, y; "
	"T_test.npy) and metrics.json (rmse, mae, mse, r2).";

const struct kernel kernel_train_holt_winters = {"train.holt_winters", 1, params,
						 doc, run};
