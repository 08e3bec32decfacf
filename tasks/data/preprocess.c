/* data.preprocess: a data.load table into windows for sequence models.
 *
 * Input: the needed node named by 'data' (else the first need), a
 * data.load output: schema.json, timestamp.npy, <column>.npy per number.
 * Output (in kctx_out_dir): X_<part>.npy float32 [n, input_seq_len,
 * n_features], Y_<part>.npy float32 [n, output_seq_len] (the scaled
 * target), T_<part>.npy int64 [n] (the time of each window's first target
 * step) for part train, val and test; meta.json and scaler.json.
 *
 * In this order: the target (with no column 'target', the first number
 * column becomes "value", event target_fallback); X's columns (the number
 * columns asked for, then time features, lags, rolling, returns, RSI,
 * MACD, all computed over the whole series); the warm-up rows, where a lag,
 * a rolling window, a return or the RSI is still undefined, are dropped
 * (MACD's EMAs start at row 0, as pandas' ewm(adjust=False) does); the rest
 * is split by rows in time order; the scalers are fitted on the training
 * rows only; windows are cut inside each part, never across a boundary,
 * then sampled evenly.  'seed' only enters the config hash.
 * The math is in tasks/lib (features, scaler, window, npy); the output is
 * the same bytes for the same input and params, run after run. */
#include "features.h"
#include "fs.h"
#include "hash.h"
#include "kernel.h"
#include "scaler.h"
#include "timeparse.h"
#include "window.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 14; 12, 26, 9: the customary RSI and MACD periods, as the params name */
#define RSI_PERIOD 14
#define MACD_FAST 12
#define MACD_SLOW 26
#define MACD_SIGNAL 9
/* 1e-9: how far the split fractions may sum from 1 (decimal rounding) */
#define SPLIT_SLACK 1e-9
/* 64 lags or rolling windows, each at most 100000 rows: bounds the work */
#define SHIFTS_MAX 64
#define SHIFT_MAX 100000

static const struct param_spec params[] = {
	{"data", PT_STR, "null", 0, 0, NULL, "the needed data.load node; null: the first need"},
	{"target", PT_STR, "\"value\"", 0, 0, NULL,
	 "the column to forecast; when absent, the first number column, as \"value\""},
	{"features", PT_LIST, "null", 0, 0, NULL, "number columns fed to X; null: all"},
	{"time_features", PT_LIST, "[\"min_of_day\", \"day_of_week\", \"day_of_year\"]",
	 0, 0, NULL, "a _sin and a _cos (UTC) of any of min_of_day (of 1440), day_of_week "
	 "(Monday 0, of 7), day_of_year (Jan 1 0, of the year's 365 or 366 days)"},
	{"lags", PT_LIST, "[]", 0, 0, NULL, "target lags in rows: <target>_lag_<k>"},
	{"rolling", PT_LIST, "[]", 0, 0, NULL,
	 "window sizes >= 2: <target>_roll_mean_<w>, <target>_roll_std_<w>"},
	{"returns", PT_BOOL, "false", 0, 0, NULL, "<target>_return: x[i] / x[i-1] - 1"},
	{"rsi", PT_BOOL, "false", 0, 0, NULL, "<target>_rsi_14: Wilder's RSI(14)"},
	{"macd", PT_BOOL, "false", 0, 0, NULL,
	 "<target>_macd, _macd_signal, _macd_hist: MACD(12, 26, 9)"},
	{"scaler", PT_ENUM, "\"standard\"", 0, 0, "standard|minmax|none",
	 "fitted on the training rows only"},
	{"input_seq_len", PT_INT, "10", 1, 10000, NULL, "rows of inputs per window"},
	{"output_seq_len", PT_INT, "1", 1, 1000, NULL, "target steps per window"},
	{"split", PT_LIST, "[0.7, 0.1, 0.2]", 0, 0, NULL,
	 "train, val, test fractions of the rows, in time order; sum 1; val may be 0"},
	{"sample_train_rows", PT_INT, "0", 0, 1e9, NULL, "keep this many train windows, evenly spaced; 0: all"},
	{"sample_test_rows", PT_INT, "0", 0, 1e9, NULL, "the same for test windows"},
	{"seed", PT_INT, "0", 0, 0, NULL, "recorded in the config hash; the sampling is evenly spaced"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static const char *const parts[3] = {"train", "val", "test"};
static const char *const outputs[] = {
	"X_train.npy", "Y_train.npy", "T_train.npy", "X_val.npy", "Y_val.npy",
	"T_val.npy", "X_test.npy", "Y_test.npy", "T_test.npy", "meta.json", "scaler.json"
};

struct pre {
	struct kctx *ctx;
	struct err err;
	const char *in, *in_name;   /* the data.load folder and node (borrowed) */
	json_t *schema;
	int64_t *t;
	struct features_set raw;    /* the input's number columns */
	struct features_set x;      /* X's last axis, in order */
	const char *target;         /* its name in raw and in meta */
	double *y;                  /* the target, in raw */
	size_t lags[SHIFTS_MAX], rolls[SHIFTS_MAX], n_lags, n_rolls;
	double split[3];
	size_t kept, rows[3], windows[3];   /* after the warm-up */
	struct scaler sc, tsc;
	double *xm, *ym;            /* scaled: kept x n_features, kept */
};

/* The integers of list param 'name': at most SHIFTS_MAX, distinct, each
 * from 'min' to SHIFT_MAX. */
static int size_list(struct pre *P, const char *name, size_t min, size_t *out,
		     size_t *n)
{
	json_t *list = json_object_get(kctx_params(P->ctx), name), *v;
	size_t i;

	json_array_foreach(list, i, v) {
		double d = json_number_value(v);
		int ok = i < SHIFTS_MAX && json_is_number(v) && d == floor(d) &&
			 d >= (double)min && d <= SHIFT_MAX;
		for (size_t k = 0; ok && k < i; k++)
			ok = out[k] != (size_t)d;
		if (!ok) {
			err_set(&P->err, ERR_USER, "param '%s' of task 'data.preprocess': "
				"expected at most %d distinct integers from %zu to %d, found "
				"item %zu", name, SHIFTS_MAX, min, SHIFT_MAX, i + 1);
			return -1;
		}
		out[(*n)++] = (size_t)d;
	}
	return 0;
}

/* 'split': three fractions >= 0, train and test > 0, summing to 1. */
static int check_split(struct pre *P)
{
	json_t *s = json_object_get(kctx_params(P->ctx), "split");
	double sum = 0;
	int ok = json_array_size(s) == 3;

	for (size_t i = 0; ok && i < 3; i++) {
		json_t *v = json_array_get(s, i);
		P->split[i] = json_number_value(v);
		ok = json_is_number(v) && P->split[i] >= 0 && P->split[i] <= 1;
		sum += P->split[i];
	}
	if (ok && P->split[0] > 0 && P->split[2] > 0 && fabs(sum - 1) <= SPLIT_SLACK)
		return 0;
	err_set(&P->err, ERR_USER, "param 'split' of task 'data.preprocess': "
		"expected [train, val, test] fractions summing to 1, train and test "
		"above 0, such as [0.7, 0.1, 0.2]");
	return -1;
}

/* 'target', or the fallback: a column "value", else the first number
 * column renamed "value" (its own name is dropped), with an event. */
static void pick_target(struct pre *P)
{
	const char *want = kctx_str(P->ctx, "target");
	long j = features_find(&P->raw, want);

	if (j < 0) {
		j = features_find(&P->raw, "value");
		if (j < 0)
			j = 0;
		kctx_event(P->ctx, "target_fallback", json_pack("{s:s, s:s, s:s}",
			   "requested", want, "column", P->raw.names[j], "target", "value"));
		kctx_log(P->ctx, "no column '%s': column '%s' is the target, as 'value'",
			 want, P->raw.names[j]);
		free(P->raw.names[j]);
		P->raw.names[j] = xstrdup("value");
	}
	P->target = P->raw.names[j];
	P->y = P->raw.cols[j];
}

/* The number columns 'features' names (null: all) into X, copied. */
static int raw_features(struct pre *P)
{
	json_t *want = json_object_get(kctx_params(P->ctx), "features"), *v;
	size_t n = json_is_array(want) ? json_array_size(want) : P->raw.n;

	for (size_t i = 0; i < n; i++) {
		const char *name = P->raw.names[i];
		long j = (long)i;
		v = json_array_get(want, i);
		if (json_is_array(want)) {
			name = json_string_value(v);
			j = name ? features_find(&P->raw, name) : -1;
		}
		if (j < 0) {
			err_set(&P->err, ERR_USER, "param 'features' of task 'data.preprocess':"
				" item %zu is not a number column of '%s' (after a target "
				"fallback, the target is 'value')", i + 1, P->in_name);
			return -1;
		}
		features_add_copy(&P->x, name, P->raw.cols[j]);
	}
	return 0;
}

/* X's columns: raw, time, lags, rolling, returns, RSI, MACD. */
static int build_features(struct pre *P)
{
	json_t *tf = json_object_get(kctx_params(P->ctx), "time_features"), *v;
	enum features_time k;
	size_t i;

	features_init(&P->x, P->raw.rows);
	if (raw_features(P))
		return -1;
	json_array_foreach(tf, i, v) {
		const char *name = json_string_value(v);
		if (!name || features_time_parse(name, &k)) {
			err_set(&P->err, ERR_USER, "param 'time_features' of task "
				"'data.preprocess': item %zu: expected min_of_day, day_of_week "
				"or day_of_year", i + 1);
			return -1;
		}
		features_add_time(&P->x, k, P->t);
	}
	for (i = 0; i < P->n_lags; i++)
		features_add_lag(&P->x, P->target, P->y, P->lags[i]);
	for (i = 0; i < P->n_rolls; i++)
		features_add_rolling(&P->x, P->target, P->y, P->rolls[i]);
	if (kctx_bool(P->ctx, "returns"))
		features_add_returns(&P->x, P->target, P->y);
	if (kctx_bool(P->ctx, "rsi"))
		features_add_rsi(&P->x, P->target, P->y, RSI_PERIOD);
	if (kctx_bool(P->ctx, "macd"))
		features_add_macd(&P->x, P->target, P->y, MACD_FAST, MACD_SLOW, MACD_SIGNAL);
	for (i = 0; i < P->x.n; i++) {
		if (features_find(&P->x, P->x.names[i]) != (long)i) {
			err_set(&P->err, ERR_USER, "feature '%s' twice in X (listed twice, "
				"or a derived name clashes with a column)", P->x.names[i]);
			return -1;
		}
	}
	if (P->x.n > 0)
		return 0;
	err_set(&P->err, ERR_USER, "expected at least one feature: 'features' and "
		"'time_features' are empty and nothing derived is asked for");
	return -1;
}

/* Drop the warm-up rows, check the rest is finite, split it by rows. */
static int split_rows(struct pre *P)
{
	size_t warm = P->x.warmup, j, i, win = (size_t)(kctx_int(P->ctx,
		"input_seq_len") + kctx_int(P->ctx, "output_seq_len"));
	char when[TIMEPARSE_TEXT_MAX];
	int in_x;

	if (warm >= P->x.rows) {
		err_set(&P->err, ERR_USER, "input '%s': %zu rows, all within the %zu warm-up "
			"rows of the features asked for", P->in_name, P->x.rows, warm);
		return -1;
	}
	in_x = features_find_nonfinite(&P->x, warm, &j, &i);
	if (in_x || features_find_nonfinite(&P->raw, warm, &j, &i)) {
		const struct features_set *fs = in_x ? &P->x : &P->raw;
		err_set(&P->err, ERR_USER, "input '%s': '%s' is %g at %s (a return "
			"after a zero value?)", P->in_name, fs->names[j], fs->cols[j][i],
			timeparse_format(P->t[i], when));
		return -1;
	}
	P->kept = P->x.rows - warm;
	window_split(P->kept, P->split, P->rows);
	for (int p = 0; p < 3; p++) {
		if (P->split[p] == 0 || P->rows[p] >= win)
			continue;
		err_set(&P->err, ERR_USER, "param 'split' of task 'data.preprocess': "
			"the %s part has %zu of %zu rows, fewer than input_seq_len + "
			"output_seq_len = %zu", parts[p], P->rows[p], P->kept, win);
		return -1;
	}
	return 0;
}

/* Fit the scalers on the training rows only; scale every kept row. */
static void scale(struct pre *P)
{
	size_t w = P->x.warmup, end = P->x.rows;
	enum scaler_kind kind = SCALER_STANDARD;

	scaler_kind_parse(kctx_str(P->ctx, "scaler"), &kind);
	scaler_init(&P->sc, kind);
	scaler_init(&P->tsc, kind);
	scaler_fit_all(&P->sc, P->x.names, P->x.cols, P->x.n, w, w + P->rows[0]);
	scaler_fit(&P->tsc, P->target, P->y, w, w + P->rows[0]);
	P->xm = scaler_apply_rows(&P->sc, P->x.cols, w, end);
	P->ym = scaler_apply_rows(&P->tsc, &P->y, w, end);
}

/* Cut, sample and write the windows of each part. */
static int write_windows(struct pre *P)
{
	long long sample[3] = {kctx_int(P->ctx, "sample_train_rows"), 0,
			       kctx_int(P->ctx, "sample_test_rows")};
	size_t in = (size_t)kctx_int(P->ctx, "input_seq_len"), r0 = 0;
	size_t out = (size_t)kctx_int(P->ctx, "output_seq_len");
	int rc = 0;

	for (int p = 0; p < 3 && rc == 0; p++) {
		size_t n = window_count(P->rows[p], in, out);
		size_t *idx = xmalloc((n ? n : 1) * sizeof(size_t));
		struct window_set ws;
		P->windows[p] = window_sample(n, (size_t)sample[p], idx);
		window_cut(&ws, P->xm, P->x.n, P->ym, P->t + P->x.warmup, r0, idx,
			   P->windows[p], in, out);
		rc = window_write(&ws, kctx_out_dir(P->ctx), parts[p], &P->err);
		window_release(&ws);
		free(idx);
		r0 += P->rows[p];
	}
	return rc;
}

/* Write 'doc' (stolen) as 'name' in the output folder. */
static int write_json(struct pre *P, const char *name, json_t *doc)
{
	char *path = fs_join(kctx_out_dir(P->ctx), name);
	int rc = json_dump_file(doc, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));

	if (rc)
		err_set(&P->err, ERR_IO, "cannot write '%s'", path);
	json_decref(doc);
	free(path);
	return rc ? -1 : 0;
}

/* meta.json and scaler.json. */
static int write_meta(struct pre *P)
{
	char *canon = json_dumps(kctx_params(P->ctx), JSON_COMPACT | JSON_SORT_KEYS |
				 JSON_REAL_PRECISION(17));
	json_t *names = json_array(), *meta, *src;
	char hex[HASH_HEX_LEN];
	struct hash h;

	hash_str(canon, &h);
	hash_to_hex(&h, hex);
	free(canon);
	for (size_t j = 0; j < P->x.n; j++)
		json_array_append_new(names, json_string(P->x.names[j]));
	meta = json_pack("{s:o, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I}, "
			 "s:{s:I, s:I, s:I}, s:o, s:o, s:s}", "features", names,
			 "target", P->target, "target_index",
			 (json_int_t)features_find(&P->x, P->target), "input_seq_len",
			 (json_int_t)kctx_int(P->ctx, "input_seq_len"), "output_seq_len",
			 (json_int_t)kctx_int(P->ctx, "output_seq_len"), "splits",
			 "train", (json_int_t)P->windows[0], "val", (json_int_t)P->windows[1],
			 "test", (json_int_t)P->windows[2], "rows", "train",
			 (json_int_t)P->rows[0], "val", (json_int_t)P->rows[1], "test",
			 (json_int_t)P->rows[2], "scaler", scaler_to_json(&P->sc),
			 "target_scaler", scaler_to_json(&P->tsc), "config_hash", hex);
	src = json_object_get(P->schema, "source");
	json_object_set_new(meta, "source", src ? json_incref(src) : json_null());
	if (write_json(P, "meta.json", meta))
		return -1;
	return write_json(P, "scaler.json", json_pack("{s:o, s:o}", "scaler",
			  scaler_to_json(&P->sc), "target_scaler", scaler_to_json(&P->tsc)));
}

static void release(struct pre *P)
{
	json_decref(P->schema);
	free(P->t);
	features_release(&P->raw);
	features_release(&P->x);
	scaler_release(&P->sc);
	scaler_release(&P->tsc);
	free(P->xm);
	free(P->ym);
}

/* Params, input, features and split: everything that can be refused. */
static int prepare(struct pre *P)
{
	const char *data = kctx_str(P->ctx, "data");

	P->in_name = data ? data : kctx_n_inputs(P->ctx) ? kctx_input_name(P->ctx, 0) : NULL;
	P->in = P->in_name ? kctx_input(P->ctx, P->in_name) : NULL;
	if (!P->in) {
		err_set(&P->err, ERR_USER, "param 'data' of task 'data.preprocess': "
			"expected a data.load node in 'needs', found %s%s%s",
			data ? "'" : "", data ? data : "no needs", data ? "'" : "");
		return -1;
	}
	if (size_list(P, "lags", 1, P->lags, &P->n_lags) ||
	    size_list(P, "rolling", 2, P->rolls, &P->n_rolls) || check_split(P) ||
	    features_read_table(P->in, &P->raw, &P->t, &P->schema, &P->err))
		return -1;
	pick_target(P);
	return build_features(P) || split_rows(P) ? -1 : 0;
}

static int run(struct kctx *ctx)
{
	struct pre P;
	int rc;

	memset(&P, 0, sizeof(P));
	P.ctx = ctx;
	err_init(&P.err);
	rc = prepare(&P);
	if (rc == 0 && kctx_cancelled(ctx)) {
		err_set(&P.err, ERR_IO, "cancelled");
		rc = -1;
	}
	if (rc == 0) {
		scale(&P);
		rc = write_windows(&P) || write_meta(&P) ? -1 : 0;
	}
	if (rc) {
		for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
			char *path = fs_join(kctx_out_dir(ctx), outputs[i]);
			unlink(path);
			free(path);
		}
		rc = kctx_fail(ctx, P.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", P.err.msg);
	} else {
		kctx_metric(ctx, "rows", -1, (double)P.kept);
		kctx_metric(ctx, "n_features", -1, (double)P.x.n);
		for (int p = 0; p < 3; p++) {
			char name[32];
			snprintf(name, sizeof(name), "%s_windows", parts[p]);
			kctx_metric(ctx, name, -1, (double)P.windows[p]);
		}
		kctx_log(ctx, "%zu rows (%zu warm-up rows dropped), %zu features: "
			 "%zu, %zu, %zu windows", P.kept, P.x.warmup, P.x.n,
			 P.windows[0], P.windows[1], P.windows[2]);
	}
	release(&P);
	return rc;
}

static const char doc[] =
	"Turn a data.load table into windows for sequence models: the target "
	"(falling back to the first number column as 'value'), time features, "
	"lags, rolling stats, returns, RSI and MACD; the warm-up rows where a "
	"lag, a rolling window, a return or the RSI is undefined are dropped; "
	"then a chronological train/val/test split by rows; a scaler fitted on "
	"the training rows only; X [n, input_seq_len, features], Y [n, "
	"output_seq_len] and T [n] as .npy per part, with meta.json and scaler.json.";

const struct kernel kernel_data_preprocess = {"data.preprocess", 1, params, doc, run};
