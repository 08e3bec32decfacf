/* baseline.persistence, baseline.seasonal_naive, baseline.mean: the naive
 * forecasters a trained model must beat, scored on exactly the test
 * windows of a data.preprocess node, as train.gru and train.lstm score
 * them: Y_test.npy unscaled by meta.json's target_scaler, the same
 * metrics.h functions over [n_test, output_seq_len].
 *
 * One implementation, three methods.  For the test window whose first
 * target row is r and its step h = 0 .. H-1 (H = output_seq_len):
 *   persistence      y[r - 1], the last observed value, for every h;
 *   seasonal_naive   y[r + h - S k], k = h / S + 1: one season S back while
 *                    h < S, else the last observed value of that phase;
 *   mean             the mean of the training part's target rows.
 *
 * The history y is the target as data.preprocess stores it (scaled, then
 * float32), unscaled on use, so a baseline sees the numbers the models
 * see.  It is rebuilt row by row from the windows of every part: the
 * parts are consecutive row ranges (train, val, test), a window's start is
 * recomputed by window.h as preprocess chose it, X holds the target of its
 * input rows when the target is among the features (meta.target_index),
 * Y holds its target rows.  A lag that reaches a row no window holds (the
 * target is not in X, windows were sampled, or the row precedes the kept
 * rows) is read from a data.load node among the needs ('data'): its table
 * is scaled by the same scaler and must agree, bit for bit and time for
 * time, with every row the windows hold.  Without one, such a lag is a
 * KERNEL_EUSER naming the window and the row.
 *
 * Outputs: predictions.npy float32 [n_test, H] (unscaled), metrics.json
 * {rmse, mae, mse, r2}, model.json {"type": "baseline", "method", "season",
 * "mean", "target", "input_seq_len", "output_seq_len", "meta": meta.json}:
 * enough to apply the baseline to new windows.  Deterministic; the
 * metrics also go to the sink (step -1). */
#include "fs.h"
#include "features.h"
#include "holt_winters.h"
#include "kernel.h"
#include "metrics.h"
#include "npy.h"
#include "scaler.h"
#include "timeparse.h"
#include "window.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum method { PERSISTENCE, SEASONAL_NAIVE, MEAN };
static const char *const method_names[] = {"persistence", "seasonal_naive", "mean"};

enum { TRAIN, VAL, TEST, N_PARTS };
static const char *const part_names[N_PARTS] = {"train", "val", "test"};

/* A time no row has: marks a row whose time no window holds */
#define NO_TIME INT64_MIN

#define COMMON_PARAMS \
	{"features", PT_STR, "null", 0, 0, NULL, "the needed data.preprocess " \
	 "node; null: the first need holding a meta.json"}, \
	{"data", PT_STR, "null", 0, 0, NULL, "a needed data.load node (the table " \
	 "preprocess read) for history the windows lack; null: the first need " \
	 "holding a schema.json, if any"}

static const struct param_spec plain_params[] = {
	COMMON_PARAMS,
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static const struct param_spec seasonal_params[] = {
	COMMON_PARAMS,
	{"season", PT_INT, "null", 1, 1000000, NULL, "rows per season; null: from "
	 "the median time step (a day of sub-daily rows: 24 hourly; 7 for daily, "
	 "52 weekly, 12 monthly, 4 quarterly)"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

/* One part's windows: Y [n, H], T [n], X [n, L, F] (only when the target
 * is in X), the part's first row among the kept rows, its windows' starts. */
struct part {
	struct npy_array x, y, t;
	size_t n, rows, r0;
	size_t *start;
};

struct base {
	struct kctx *ctx;
	enum method method;
	struct err err;
	const char *pre;            /* the data.preprocess folder */
	const char *raw;            /* the data.load folder, or NULL */
	json_t *meta;
	const char *target;         /* borrowed from meta */
	long ti;                    /* the target's column in X, or -1 */
	size_t L, H, F;
	struct scaler sc;           /* the target scaler, one column */
	struct part part[N_PARTS];
	size_t warm, total;         /* rows before the kept ones; all rows */
	float *hist;                /* the target per row, as stored */
	unsigned char *known;
	int64_t *time;
	size_t season;
	double mean;
	float *pred, *truth;
};

static int fail_user(struct base *B, const char *msg)
{
	err_set(&B->err, ERR_USER, "%s", msg);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Inputs                                                               */

/* The need named by param 'param', or the first holding 'file'. */
static const char *pick_input(struct base *B, const char *param, const char *file,
			      const char *skip)
{
	const char *name = kctx_str(B->ctx, param);

	if (name)
		return kctx_input(B->ctx, name);
	for (int i = 0; i < kctx_n_inputs(B->ctx); i++) {
		const char *dir = kctx_input_dir(B->ctx, i);
		char *path = fs_join(dir, file);
		int has = fs_exists(path) && (!skip || strcmp(dir, skip));
		free(path);
		if (has)
			return dir;
	}
	return NULL;
}

static int find_inputs(struct base *B)
{
	const char *f = kctx_str(B->ctx, "features"), *d = kctx_str(B->ctx, "data");

	B->pre = pick_input(B, "features", "meta.json", NULL);
	B->raw = pick_input(B, "data", "schema.json", B->pre);
	if (!B->pre) {
		err_set(&B->err, ERR_USER, "param 'features' of task 'baseline.%s': %s%s%s "
			"(expected a data.preprocess node in 'needs')", method_names[B->method],
			f ? "no needed node '" : "no need holds a meta.json", f ? f : "",
			f ? "'" : "");
		return -1;
	}
	if (d && !B->raw) {
		err_set(&B->err, ERR_USER, "param 'data' of task 'baseline.%s': no "
			"needed node '%s' (expected a data.load node in 'needs')",
			method_names[B->method], d);
		return -1;
	}
	return 0;
}

/* meta's integer 'key' (under 'sub' when not NULL), or -1. */
static long long meta_int(json_t *meta, const char *sub, const char *key)
{
	json_t *o = sub ? json_object_get(meta, sub) : meta;
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

/* meta.json: target, window lengths, part sizes, the target scaler. */
static int load_meta(struct base *B)
{
	char *path = fs_join(B->pre, "meta.json");
	json_error_t je;
	long long L, H, ti;
	int rc = -1;

	B->meta = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	B->target = json_string_value(json_object_get(B->meta, "target"));
	L = meta_int(B->meta, NULL, "input_seq_len");
	H = meta_int(B->meta, NULL, "output_seq_len");
	ti = meta_int(B->meta, NULL, "target_index");   /* -1: not in X */
	for (int p = 0; p < N_PARTS; p++)
		B->part[p].rows = (size_t)meta_int(B->meta, "rows", part_names[p]);
	if (!B->target || L < 1 || H < 1 || meta_int(B->meta, "rows", "train") < 0 ||
	    meta_int(B->meta, "rows", "val") < 0 || meta_int(B->meta, "rows", "test") < 0) {
		err_set(&B->err, ERR_USER, "%s: %s (expected data.preprocess's meta.json: "
			"target, input_seq_len, output_seq_len, rows, target_scaler)", path,
			B->meta ? "a field is missing" : je.text);
		goto out;
	}
	B->L = (size_t)L;
	B->H = (size_t)H;
	B->ti = ti;
	B->F = json_array_size(json_object_get(B->meta, "features"));
	if (scaler_from_json(json_object_get(B->meta, "target_scaler"), &B->sc, &B->err) ||
	    scaler_find(&B->sc, B->target) != 0) {
		err_set(&B->err, ERR_USER, "%s: 'target_scaler' must scale exactly the "
			"target '%s' (expected data.preprocess's meta.json)", path, B->target);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/* Read '<prefix>_<part>.npy': 'ndim' dimensions of 'dt'. */
static int read_array(struct base *B, const char *prefix, int p, enum npy_dtype dt,
		      int ndim, struct npy_array *a)
{
	char *path = xasprintf("%s/%s_%s.npy", B->pre, prefix, part_names[p]);
	int rc = npy_read_nd(path, ndim, a, &B->err);

	if (rc == 0 && (a->dtype != dt || a->ndim != ndim)) {
		err_set(&B->err, ERR_USER, "%s: expected %s of %d dimensions, found %s "
			"of %d", path, npy_dtype_descr(dt), ndim, npy_dtype_descr(a->dtype),
			a->ndim);
		npy_release(a);
		rc = -1;
	}
	free(path);
	return rc;
}

/* Part 'p's arrays, checked against meta, and its windows' starts as
 * data.preprocess chose them (window_sample() over window_count()). */
static int load_part(struct base *B, int p, size_t r0)
{
	struct part *s = &B->part[p];
	size_t count = window_count(s->rows, B->L, B->H), shape_ok;

	if (read_array(B, "Y", p, NPY_F4, 2, &s->y) || read_array(B, "T", p, NPY_I8, 1, &s->t))
		return -1;
	if (B->ti >= 0 && read_array(B, "X", p, NPY_F4, 3, &s->x))
		return -1;
	s->n = s->y.shape[0];
	s->r0 = r0;
	shape_ok = s->y.shape[1] == B->H && s->t.shape[0] == s->n && s->n <= count &&
		   (B->ti < 0 || (s->x.shape[0] == s->n && s->x.shape[1] == B->L &&
				  s->x.shape[2] == B->F && (size_t)B->ti < B->F));
	if (!shape_ok || (long long)s->n != meta_int(B->meta, "splits", part_names[p])) {
		err_set(&B->err, ERR_USER, "%s: X_%s.npy, Y_%s.npy and T_%s.npy disagree "
			"with meta.json (expected %lld windows of %zu input and %zu target "
			"rows among %zu rows)", B->pre, part_names[p], part_names[p],
			part_names[p], meta_int(B->meta, "splits", part_names[p]), B->L,
			B->H, s->rows);
		return -1;
	}
	s->start = xmalloc((count ? count : 1) * sizeof(size_t));
	window_sample(count, s->n, s->start);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The history                                                          */

static void set_row(struct base *B, size_t row, float v)
{
	B->hist[row] = v;
	B->known[row] = 1;
}

/* Every target value and time the windows of part 'p' hold. */
static void fill_from_windows(struct base *B, int p)
{
	const struct part *s = &B->part[p];
	const float *x = s->x.data, *y = s->y.data;
	const int64_t *t = s->t.data;

	for (size_t j = 0; j < s->n; j++) {
		size_t g = B->warm + s->r0 + s->start[j];
		for (size_t i = 0; B->ti >= 0 && i < B->L; i++)
			set_row(B, g + i, x[(j * B->L + i) * B->F + (size_t)B->ti]);
		for (size_t h = 0; h < B->H; h++)
			set_row(B, g + B->L + h, y[j * B->H + h]);
		B->time[g + B->L] = t[j];
	}
}

/* The data.load table's target, scaled as preprocess scaled it, where
 * the windows left gaps; it must agree with them everywhere else. */
static int merge_table(struct base *B, const double *y, const int64_t *ts)
{
	char when[TIMEPARSE_TEXT_MAX];

	for (size_t r = 0; r < B->total; r++) {
		float v = (float)scaler_apply(&B->sc, 0, y[r]);
		if ((B->known[r] && memcmp(&v, &B->hist[r], sizeof(v))) ||
		    (B->time[r] != NO_TIME && B->time[r] != ts[r])) {
			err_set(&B->err, ERR_USER, "%s: the table disagrees with the windows "
				"of %s at row %zu (%s) (expected the table data.preprocess "
				"read, in param 'data')", B->raw, B->pre, r + 1,
				timeparse_format(ts[r], when));
			return -1;
		}
		set_row(B, r, v);
		B->time[r] = ts[r];
	}
	return 0;
}

/* The target column of the data.load table: meta's target, or as
 * preprocess fell back ("value": a column so named, else the first). */
static long table_target(const struct base *B, const struct features_set *fs)
{
	long j = features_find(fs, B->target);

	if (j < 0 && !strcmp(B->target, "value"))
		j = fs->n > 0 ? 0 : -1;
	return j;
}

/* Read the data.load table, size the history to hold its rows. */
static int read_table(struct base *B, struct features_set *fs, int64_t **ts)
{
	json_t *schema = NULL;
	size_t kept = B->part[TRAIN].rows + B->part[VAL].rows + B->part[TEST].rows;
	int rc = features_read_table(B->raw, fs, ts, &schema, &B->err);

	json_decref(schema);
	if (rc)
		return -1;
	if (table_target(B, fs) < 0 || fs->rows < kept) {
		err_set(&B->err, ERR_USER, "%s: %zu rows%s (expected the table "
			"data.preprocess read: column '%s', at least %zu rows)", B->raw,
			fs->rows, table_target(B, fs) < 0 ? " and no target column" : "",
			B->target, kept);
		return -1;
	}
	B->warm = fs->rows - kept;
	return 0;
}

static int build_history(struct base *B)
{
	struct features_set fs;
	int64_t *ts = NULL;
	size_t kept = B->part[TRAIN].rows + B->part[VAL].rows + B->part[TEST].rows;
	int rc = 0;

	features_init(&fs, 0);
	if (B->raw && read_table(B, &fs, &ts))
		rc = -1;
	B->total = B->warm + kept;
	B->hist = xcalloc(B->total ? B->total : 1, sizeof(float));
	B->known = xcalloc(B->total ? B->total : 1, 1);
	B->time = xmalloc((B->total ? B->total : 1) * sizeof(int64_t));
	for (size_t r = 0; r < B->total; r++)
		B->time[r] = NO_TIME;
	for (int p = 0; rc == 0 && p < N_PARTS; p++)
		fill_from_windows(B, p);
	if (rc == 0 && B->raw)
		rc = merge_table(B, fs.cols[table_target(B, &fs)], ts);
	features_release(&fs);
	free(ts);
	return rc;
}

/* The target of row 'r' in the series' units. */
static double unscaled(const struct base *B, size_t r)
{
	return scaler_inverse(&B->sc, 0, B->hist[r]);
}

/* ------------------------------------------------------------------ */
/* The methods                                                          */

/* The median seconds per row between rows of known time. */
static int detect_season(struct base *B)
{
	int64_t *d = xmalloc((B->total ? B->total : 1) * sizeof(int64_t)), step = 0;
	size_t nd = 0, last = SIZE_MAX;

	for (size_t r = 0; r < B->total; r++) {
		if (B->time[r] == NO_TIME)
			continue;
		if (last != SIZE_MAX)
			d[nd++] = (B->time[r] - B->time[last]) / (int64_t)(r - last);
		last = r;
	}
	if (nd)
		step = hw_median_i64(d, nd);
	free(d);
	B->season = hw_season_of_step(step);
	if (B->season)
		return 0;
	err_set(&B->err, ERR_USER, "param 'season' of task 'baseline.seasonal_naive': "
		"a median step of %lld s suggests no season (expected a step that "
		"divides a day, a day, a week, a month or a quarter; or set season)",
		(long long)step);
	return -1;
}

/* The mean of the training rows, which must all be known. */
static int training_mean(struct base *B)
{
	double sum = 0;
	size_t n = B->part[TRAIN].rows;

	for (size_t r = B->warm; r < B->warm + n; r++) {
		if (!B->known[r])
			return fail_user(B, "baseline.mean: the windows of the training part "
					 "do not hold every training row (the target is not "
					 "among X's features, or windows were sampled) (expected "
					 "the data.load node in 'needs', or param 'data')");
		sum += unscaled(B, r);
	}
	B->mean = sum / (double)n;
	return 0;
}

/* The history row window 'j' of the test part forecasts its step 'h'
 * from; may be negative (before the first row). */
static long long source_row(const struct base *B, size_t j, size_t h)
{
	const struct part *s = &B->part[TEST];
	long long r = (long long)(B->warm + s->r0 + s->start[j] + B->L);

	if (B->method == PERSISTENCE)
		return r - 1;
	return r + (long long)h - (long long)B->season * (long long)(h / B->season + 1);
}

static int missing_history(struct base *B, size_t j, long long src)
{
	char when[TIMEPARSE_TEXT_MAX];
	const int64_t *t = B->part[TEST].t.data;

	err_set(&B->err, ERR_USER, "baseline.%s: the test window at %s needs the "
		"target %lld rows before its first target row, %s (expected the "
		"data.load node in 'needs', or param 'data'%s)", method_names[B->method],
		timeparse_format(t[j], when),
		(long long)(B->warm + B->part[TEST].r0 + B->part[TEST].start[j] + B->L) - src,
		src < 0 ? "before the first row of the table" : B->raw ?
		"which the table lacks" : "which no window holds (the target is not among "
		"X's features, windows were sampled, or the row precedes the kept rows)",
		B->method == SEASONAL_NAIVE ? "; or a shorter season" : "");
	return -1;
}

/* Predictions and truth of every test window, unscaled as recurrent.c
 * unscales (float)(v * scale + shift). */
static int forecast(struct base *B)
{
	const struct part *s = &B->part[TEST];
	const float *y = s->y.data;

	B->pred = xmalloc(s->n * B->H * sizeof(float) + 1);
	B->truth = xmalloc(s->n * B->H * sizeof(float) + 1);
	for (size_t j = 0; j < s->n; j++) {
		for (size_t h = 0; h < B->H; h++) {
			long long src = B->method == MEAN ? 0 : source_row(B, j, h);
			if (src < 0 || (B->method != MEAN && !B->known[src]))
				return missing_history(B, j, src);
			B->pred[j * B->H + h] = (float)(B->method == MEAN ? B->mean :
							unscaled(B, (size_t)src));
			B->truth[j * B->H + h] = (float)scaler_inverse(&B->sc, 0, y[j * B->H + h]);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Outputs                                                              */

static int write_json(struct base *B, const char *name, json_t *j)
{
	char *path = fs_join(kctx_out_dir(B->ctx), name);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS |
			       JSON_REAL_PRECISION(17));

	if (rc)
		err_set(&B->err, ERR_IO, "cannot write '%s'", path);
	free(path);
	json_decref(j);
	return rc ? -1 : 0;
}

static int write_metrics(struct base *B)
{
	static const char *const names[4] = {"rmse", "mae", "mse", "r2"};
	size_t n = B->part[TEST].n;
	double m[4] = {metric_rmse(B->truth, B->pred, n, B->H),
		       metric_mae(B->truth, B->pred, n, B->H),
		       metric_mse(B->truth, B->pred, n, B->H),
		       metric_r2(B->truth, B->pred, n, B->H)};
	json_t *j = json_object();

	for (int k = 0; k < 4; k++) {
		json_object_set_new(j, names[k], isfinite(m[k]) ? json_real(m[k]) : json_null());
		if (isfinite(m[k]))
			kctx_metric(B->ctx, names[k], -1, m[k]);
	}
	kctx_log(B->ctx, "%s on %zu test windows of %zu steps: rmse %.6g mae %.6g "
		 "r2 %.4f", method_names[B->method], n, B->H, m[0], m[1], m[3]);
	return write_json(B, "metrics.json", j);
}

static int write_outputs(struct base *B)
{
	size_t shape[2] = {B->part[TEST].n, B->H};
	char *path = fs_join(kctx_out_dir(B->ctx), "predictions.npy");
	int rc = npy_write(path, NPY_F4, 2, shape, B->pred, &B->err);
	json_t *model;

	free(path);
	if (rc)
		return -1;
	model = json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:O}", "type", "baseline",
			  "method", method_names[B->method], "season", B->method ==
			  SEASONAL_NAIVE ? json_integer((json_int_t)B->season) : json_null(),
			  "mean", B->method == MEAN ? json_real(B->mean) : json_null(),
			  "target", B->target, "input_seq_len", (json_int_t)B->L,
			  "output_seq_len", (json_int_t)B->H, "meta", B->meta);
	if (write_json(B, "model.json", model))
		return -1;
	return write_metrics(B);
}

/* ------------------------------------------------------------------ */
/* The run                                                              */

static int prepare(struct base *B)
{
	size_t r0 = 0;

	if (find_inputs(B) || load_meta(B))
		return -1;
	for (int p = 0; p < N_PARTS; p++) {
		if (load_part(B, p, r0))
			return -1;
		r0 += B->part[p].rows;
	}
	if (B->part[TEST].n == 0)
		return fail_user(B, "the data.preprocess node has no test windows "
				 "(expected a test split with windows)");
	return build_history(B);
}

static int compute(struct base *B)
{
	json_t *season = json_object_get(kctx_params(B->ctx), "season");

	if (B->method == SEASONAL_NAIVE && json_is_integer(season))
		B->season = (size_t)json_integer_value(season);
	else if (B->method == SEASONAL_NAIVE && detect_season(B))
		return -1;
	if (B->method == MEAN && training_mean(B))
		return -1;
	return forecast(B);
}

static void release(struct base *B)
{
	for (int p = 0; p < N_PARTS; p++) {
		npy_release(&B->part[p].x);
		npy_release(&B->part[p].y);
		npy_release(&B->part[p].t);
		free(B->part[p].start);
	}
	json_decref(B->meta);
	scaler_release(&B->sc);
	free(B->hist);
	free(B->known);
	free(B->time);
	free(B->pred);
	free(B->truth);
}

static int baseline_run(struct kctx *ctx, enum method method)
{
	struct base B;
	int rc;

	memset(&B, 0, sizeof(B));
	B.ctx = ctx;
	B.method = method;
	err_init(&B.err);
	rc = prepare(&B);
	if (rc == 0)
		rc = compute(&B);
	if (rc == 0 && B.method == SEASONAL_NAIVE)
		kctx_log(ctx, "season %zu rows%s", B.season,
			 json_is_integer(json_object_get(kctx_params(ctx), "season")) ? "" :
			 " (detected from the time step)");
	if (rc == 0)
		rc = write_outputs(&B);
	if (rc)
		rc = kctx_fail(ctx, B.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", B.err.msg);
	release(&B);
	return rc;
}

static int run_persistence(struct kctx *ctx)
{
	return baseline_run(ctx, PERSISTENCE);
}

static int run_seasonal_naive(struct kctx *ctx)
{
	return baseline_run(ctx, SEASONAL_NAIVE);
}

static int run_mean(struct kctx *ctx)
{
	return baseline_run(ctx, MEAN);
}

#define DOC_TAIL \
	" Scored on exactly the test windows of a data.preprocess node, unscaled " \
	"as train.gru and train.lstm unscale them; writes predictions.npy " \
	"[n_test, output_seq_len], metrics.json (rmse, mae, mse, r2) and " \
	"model.json {type: baseline, method, season, mean, target, meta}, " \
	"which eval.promote reads as a bar to clear."

static const char doc_persistence[] =
	"Forecast every step of a window as its last observed target value "
	"(next hour = this hour)." DOC_TAIL;
static const char doc_seasonal[] =
	"Forecast each step as the target one season earlier (the latest value "
	"of that phase when the horizon passes a season); the season is given in "
	"rows or detected from the time step (24 for hourly rows, 7 for daily). "
	"History beyond the input window comes from the other windows, or from a "
	"data.load need." DOC_TAIL;
static const char doc_mean[] =
	"Forecast every step as the mean target of the training rows." DOC_TAIL;

const struct kernel kernel_baseline_mean = {"baseline.mean", 1, plain_params,
					    doc_mean, run_mean};
const struct kernel kernel_baseline_persistence = {"baseline.persistence", 1,
						   plain_params, doc_persistence,
						   run_persistence};
const struct kernel kernel_baseline_seasonal_naive = {"baseline.seasonal_naive", 1,
						      seasonal_params, doc_seasonal,
						      run_seasonal_naive};
