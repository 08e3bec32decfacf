/* infer.batch: a trained model applied to a table, as a pipeline node.
 *
 * Inputs: the model source 'model', a needed node holding a model folder
 * (train.gru, train.lstm, train.prophet, a baseline) or an eval.promote
 * output (promotion.json and model/, the winner's files); and the data,
 * either the needed data.load node 'data' or the CSV file 'csv' read with
 * the model's column names.  Everything between is tasks/lib/forecaster.h:
 * the model's stored preprocessing, never refitted, every window and the
 * forecast past the last row.
 *
 * Outputs (kctx_out_dir): predictions.csv (timestamp, yhat or yhat_1..k,
 * yhat_lower and yhat_upper where the model has intervals, then the
 * actuals y or y_1..k, empty where unknown), metrics.json (rmse, mae, mse
 * over the rows whose actuals are all known, null when none is; rows, the
 * number scored; predictions, the number of rows), recorded as metrics
 * too.  Timings go to the log only, so the outputs are a function of the
 * inputs and params; a failed run leaves no output. */
#include "forecaster.h"
#include "fs.h"
#include "kernel.h"
#include "metrics.h"
#include "timeparse.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct param_spec params[] = {
	{"model", PT_STR, "null", 0, 0, NULL,
	 "the needed node holding the model: train.gru, train.lstm, train.tcn, "
	 "train.encoder_lstm, train.prophet, a baseline, or eval.promote (its "
	 "model/ folder); null: the first need with one"},
	{"data", PT_STR, "null", 0, 0, NULL,
	 "the needed data.load node whose table is predicted; null: the first need "
	 "with a table, unless 'csv' is given"},
	{"csv", PT_PATH, "null", 0, 0, NULL,
	 "a CSV file to predict instead, read with the model's column names"},
	{"timestamp", PT_STR, "null", 0, 0, NULL,
	 "the time column of 'csv'; null: 'timestamp', else the first of ISO 8601 times"},
	{"threads", PT_INT, "0", 0, 256, NULL,
	 "threads of the network's forward pass; 0: 1 (the results do not depend on it)"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static const char *const outputs[] = {"predictions.csv", "metrics.json"};

/* 1 if folder 'dir' holds file 'name'. */
static int holds(const char *dir, const char *name)
{
	char *path = fs_join(dir, name);
	int yes = fs_exists(path);

	free(path);
	return yes;
}

static int holds_model(const char *dir)
{
	return holds(dir, "promotion.json") || holds(dir, "model.safetensors") ||
	       holds(dir, "model.json");
}

/* The needed node named by param 'param', or else the first need that
 * 'test' accepts other than 'skip' ('what' it must hold, for the
 * message); its name in '*name'.  NULL with 'err' set. */
static const char *pick_need(struct kctx *ctx, const char *param,
			     int (*test)(const char *dir), const char *skip,
			     const char *what, const char **name, struct err *err)
{
	const char *want = kctx_str(ctx, param);

	*name = want;
	if (want && kctx_input(ctx, want))
		return kctx_input(ctx, want);
	for (int i = 0; !want && i < kctx_n_inputs(ctx); i++) {
		*name = kctx_input_name(ctx, i);
		if ((!skip || strcmp(*name, skip)) && test(kctx_input_dir(ctx, i)))
			return kctx_input_dir(ctx, i);
	}
	if (want)
		err_set(err, ERR_USER, "param '%s' of task 'infer.batch' names '%s', which "
			"node '%s' does not need (expected one of its needs)", param, want,
			kctx_node(ctx));
	else
		err_set(err, ERR_USER, "node '%s': no need holds %s (expected param '%s', "
			"or such a node in 'needs')", kctx_node(ctx), what, param);
	return NULL;
}

static int holds_table(const char *dir)
{
	return holds(dir, "schema.json");
}

/* The table to predict: param 'csv', or a data.load need; '*name' gets
 * the file or the node, for the log. */
static int read_table(struct kctx *ctx, const struct forecaster *f,
		      const char *model_node, struct forecaster_table *tb,
		      const char **name, struct err *err)
{
	const char *csv = kctx_str(ctx, "csv"), *dir;

	memset(tb, 0, sizeof(*tb));
	if (csv && kctx_str(ctx, "data")) {
		err_set(err, ERR_USER, "params 'csv' and 'data' of task 'infer.batch': "
			"expected one source of data, found both");
		return -1;
	}
	*name = csv;
	if (csv)
		return forecaster_read_csv(f, csv, kctx_str(ctx, "timestamp"), tb, err);
	dir = pick_need(ctx, "data", holds_table, model_node,
			"a table (the outputs of data.load)", name, err);
	return dir ? forecaster_read_dir(dir, tb, err) : -1;
}

/* Write 'doc' (stolen) as 'name' in the output folder. */
static int write_json(struct kctx *ctx, const char *name, json_t *doc,
		      struct err *err)
{
	char *path = fs_join(kctx_out_dir(ctx), name);
	int rc = json_dump_file(doc, path, JSON_INDENT(2) | JSON_SORT_KEYS |
				JSON_REAL_PRECISION(17));

	if (rc)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	json_decref(doc);
	free(path);
	return rc ? -1 : 0;
}

/* metrics.json and the metric sink: the rows whose actuals are known. */
static int write_metrics(struct kctx *ctx, const struct forecaster_result *r,
			 struct err *err)
{
	static const char *const names[3] = {"rmse", "mae", "mse"};
	size_t H = r->horizon, rows = 0;
	float *y = xmalloc((r->n * H + 1) * sizeof(float));
	float *p = xmalloc((r->n * H + 1) * sizeof(float));
	json_t *doc = json_object();
	double m[3];

	for (size_t i = 0; i < r->n; i++) {
		size_t k = 0;
		while (k < H && isfinite(r->y[i * H + k]))
			k++;
		for (size_t j = 0; k == H && j < H; j++) {
			y[rows * H + j] = (float)r->y[i * H + j];
			p[rows * H + j] = (float)r->yhat[i * H + j];
		}
		rows += k == H;
	}
	m[0] = metric_rmse(y, p, rows, H);
	m[1] = metric_mae(y, p, rows, H);
	m[2] = metric_mse(y, p, rows, H);
	for (int k = 0; k < 3; k++) {
		json_object_set_new(doc, names[k], rows ? json_real(m[k]) : json_null());
		if (rows)
			kctx_metric(ctx, names[k], -1, m[k]);
	}
	json_object_set_new(doc, "rows", json_integer((json_int_t)rows));
	json_object_set_new(doc, "predictions", json_integer((json_int_t)r->n));
	kctx_metric(ctx, "predictions", -1, (double)r->n);
	free(y);
	free(p);
	return write_json(ctx, "metrics.json", doc, err);
}

static int write_predictions(struct kctx *ctx, const struct forecaster_result *r,
			     struct err *err)
{
	char *text = forecaster_csv(r, FORECASTER_CSV_ACTUALS);
	char *path = fs_join(kctx_out_dir(ctx), "predictions.csv");
	FILE *fp = fopen(path, "w");
	int rc = fp && fputs(text, fp) >= 0 ? 0 : -1;

	if (fp && fclose(fp))
		rc = -1;
	if (rc)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	free(text);
	free(path);
	return rc;
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Load, read, predict, write. */
static int infer(struct kctx *ctx, struct err *err)
{
	struct forecaster_table tb;
	struct forecaster_result r;
	struct forecaster *f = NULL;
	const char *node, *data = NULL, *dir = pick_need(ctx, "model", holds_model,
		NULL, "a model (train.*, a baseline or eval.promote)", &node, err);
	char when[TIMEPARSE_TEXT_MAX];
	double t0 = 0;
	int rc = -1;

	memset(&tb, 0, sizeof(tb));
	f = dir ? forecaster_load(dir, err) : NULL;
	if (f) {
		forecaster_set_threads(f, (int)kctx_int(ctx, "threads"));
		rc = read_table(ctx, f, node, &tb, &data, err);
	}
	if (rc == 0) {
		t0 = seconds();
		rc = forecaster_predict(f, &tb, &r, err);
	}
	if (rc == 0) {
		kctx_log(ctx, "%s model of '%s' on '%s': %zu rows, %zu windows and the "
			 "forecast for %s, predicted in %.6f s", forecaster_kind_name(f), node,
			 data, tb.rows, r.windows, timeparse_format(r.t[r.n - 1], when),
			 seconds() - t0);
		rc = write_predictions(ctx, &r, err) || write_metrics(ctx, &r, err) ? -1 : 0;
		forecaster_result_release(&r);
	}
	forecaster_table_release(&tb);
	forecaster_free(f);
	return rc;
}

static int run(struct kctx *ctx)
{
	struct err err;

	err_init(&err);
	if (infer(ctx, &err) == 0)
		return KERNEL_OK;
	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		char *path = fs_join(kctx_out_dir(ctx), outputs[i]);
		remove(path);
		free(path);
	}
	return kctx_fail(ctx, err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL, "%s",
			 err.msg);
}

static const char doc[] =
	"Apply a trained model (train.gru, train.lstm, train.tcn, "
	"train.encoder_lstm, train.prophet, a baseline, or eval.promote's winner) to a data.load table or a CSV file, with the "
	"model's stored preprocessing (same features, time features, fitted "
	"scaler and windows; never refitted): every window and the forecast past "
	"the last row. Writes predictions.csv (timestamp, yhat..., intervals where "
	"the model has them, actuals y...) and metrics.json (rmse, mae, mse over "
	"the rows with actuals).";

const struct kernel kernel_infer_batch = {"infer.batch", 1, params, doc, run};
