/* eval.backtest: rolling-origin cross-validation of a trained forecaster,
 * as Prophet's cross_validation() and performance_metrics() do it.
 *
 * Inputs: the needed node holding the trained model ('model') and a
 * data.load node ('data') whose table is cut at each cutoff.  The cutoffs
 * come from backtest_cutoffs() (Prophet's generate_cutoffs) over the
 * table's times when 'horizon', 'period' and 'initial' are durations, or
 * over its row numbers when they are row counts.  For each cutoff c the
 * rows in (c, c + horizon] are forecast from the rows at or before c:
 *   train.prophet, train.holt_winters: refit on the rows up to c with the
 *     trained node's config from its model.json, as cross_validation()
 *     refits a copy of the model; like prophet_copy(), the copy keeps the
 *     trained model's resolved seasonality orders;
 *   train.gru, train.lstm, baseline.*: no refit.  The trained model
 *     (forecaster.h) is applied to the table: 'rollout' one_step forecasts
 *     each row from the window of observed rows just before it (the first
 *     output of that window: one step ahead with the true history);
 *     fixed_origin forecasts the whole horizon from the one window ending
 *     at the cutoff (output_seq_len must cover the horizon's rows).
 * Outputs: cv.csv, performance.csv (backtest_performance() by horizon),
 * metrics.json (the overall figures: rolling_window 1), the metric sink
 * (overall at step -1; per horizon as curves, step = the horizon in rows
 * of the table's median step) and a summary in the log.  Never
 * model.json or model.safetensors: eval.promote tells models by their
 * files, and a backtest is a score, not a model.
 * Deterministic: Prophet's intervals are seeded by the model's seed.
 * A failed run's files are the engine's to discard (kernel.h). */
#include "backtest.h"
#include "forecaster.h"
#include "fs.h"
#include "holt_winters.h"
#include "kernel.h"
#include "prophet.h"
#include "timeparse.h"
#include "xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct param_spec params[] = {
	{"model", PT_STR, "null", 0, 0, NULL,
	 "the needed node holding the trained model: train.prophet, "
	 "train.holt_winters, baseline.*, train.gru, train.lstm (or an "
	 "eval.promote); null: the first need other than 'data'"},
	{"data", PT_STR, "null", 0, 0, NULL,
	 "the needed data.load node whose table is cut at each cutoff; null: "
	 "the first need holding a schema.json"},
	{"horizon", PT_ANY, NULL, 1, 1e9, NULL,
	 "how far past each cutoff to forecast: a duration (\"365 days\", "
	 "\"24 hours\", \"7d\") or a row count (an integer in the range)"},
	{"period", PT_ANY, "null", 1, 1e9, NULL,
	 "the spacing of the cutoffs, back from the last one; a duration or "
	 "rows, as horizon; null: half the horizon"},
	{"initial", PT_ANY, "null", 0, 1e9, NULL,
	 "the least history before the first cutoff; a duration or rows, as "
	 "horizon; null: 3 horizons (for Prophet, at least its longest "
	 "seasonality)"},
	{"rolling_window", PT_NUM, "0.1", 0, 1, NULL,
	 "the share of the forecasts each performance.csv row averages over, "
	 "as Prophet's performance_metrics; 0: each distinct horizon alone"},
	{"rollout", PT_ENUM, "\"auto\"", 0, 0, "auto|one_step|fixed_origin",
	 "window models (no refit): one_step forecasts each row from the "
	 "observed rows before it; fixed_origin the whole horizon from the "
	 "cutoff (output_seq_len must cover it); auto: fixed_origin when it "
	 "does and output_seq_len > 1, else one_step"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

enum kind { PROPHET, HOLT_WINTERS, WINDOW };
enum rollout { ROLL_AUTO, ROLL_ONE_STEP, ROLL_FIXED_ORIGIN };

/* One cutoff: its place on the axis, the rows it forecasts [k, e). */
struct cut {
	int64_t at;
	size_t k, e;
};

struct bt {
	struct kctx *ctx;
	struct err err;
	int rows;                       /* 1: the axis is row numbers */
	int64_t horizon, period, initial;   /* in the axis' unit */
	int initial_given;
	enum rollout rollout;
	const char *model_node, *data_dir;
	char *model_dir;
	enum kind kind;
	json_t *doc;                    /* model.json, when there is one */
	struct prophet_model pm;        /* when 'have_pm' */
	struct hw_model hm;             /* when 'have_hm' */
	int have_pm, have_hm;
	struct forecaster *fc;
	const char *target;
	struct forecaster_table tb;
	const double *y;
	int64_t *axis, step;            /* step: the median gap, seconds */
	struct forecaster_result res;   /* a window model's predictions */
	int fixed;                      /* window model: fixed origin */
	struct cut *cut;
	size_t n_cut, n_cv;
	int64_t *h;                     /* per forecast, cutoff order */
	double *yv, *yhat, *lo, *hi;
	int intervals;
};

#define TASK "eval.backtest"

/* Set B->err to a user error; returns -1. */
static int fail(struct bt *B, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct bt *B, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(&B->err, ERR_USER, "%s", msg);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Params                                                               */

/* Param 'name' as a duration or a row count: '*v' and '*rows' set, 0;
 * 1 when null; -1 with B->err set when it is neither. */
static int parse_span(struct bt *B, const char *name, int64_t *v, int *rows)
{
	json_t *j = json_object_get(kctx_params(B->ctx), name);
	char *text;

	if (json_is_null(j) || !j)
		return 1;
	*rows = json_is_integer(j);
	if (*rows && json_integer_value(j) >= 0) {
		*v = json_integer_value(j);
		return 0;
	}
	if (json_is_string(j) && !backtest_parse_duration(json_string_value(j), v))
		return 0;
	text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	err_set(&B->err, ERR_USER, "param '%s' of task '" TASK "': bad duration %s "
		"(expected a number and a unit: \"365 days\", \"24 hours\", \"7d\", "
		"\"30 min\", \"1 day 12 hours\"; or a row count as an integer)", name,
		text ? text : "?");
	free(text);
	return -1;
}

static int parse_params(struct bt *B)
{
	static const char *const names[3] = {"horizon", "period", "initial"};
	int64_t *v[3] = {&B->horizon, &B->period, &B->initial};
	int rows[3] = {0, 0, 0}, got[3], rc;
	const char *roll = kctx_str(B->ctx, "rollout");

	for (int i = 0; i < 3; i++) {
		rc = parse_span(B, names[i], v[i], &rows[i]);
		if (rc < 0)
			return -1;
		got[i] = rc == 0;
		if (got[i] && i < 2 && *v[i] < 1)
			return fail(B, "param '%s' of task '" TASK "': "
				       "expected more than 0", names[i]);
		if (got[i] && got[0] && rows[i] != rows[0])
			return fail(B, "params 'horizon' and '%s' of "
				       "task '" TASK "': one is a duration, the other a row "
				       "count (expected both durations or both integers)",
				       names[i]);
	}
	if (!got[0])
		return fail(B, "param 'horizon' of task '" TASK "': "
			       "required (expected a duration such as \"365 days\", or "
			       "a row count)");
	B->rows = rows[0];
	if (!got[1])
		B->period = B->horizon / 2 > 0 ? B->horizon / 2 : 1;
	B->initial_given = got[2];
	if (!got[2])
		B->initial = 3 * B->horizon;
	B->rollout = !strcmp(roll, "one_step") ? ROLL_ONE_STEP :
		     !strcmp(roll, "fixed_origin") ? ROLL_FIXED_ORIGIN : ROLL_AUTO;
	return 0;
}

/* A span on the axis as text: "365 days 00:00:00" or "24 rows". */
static const char *span_text(const struct bt *B, int64_t v, char buf[BACKTEST_DURATION_MAX])
{
	if (B->rows)
		snprintf(buf, BACKTEST_DURATION_MAX, "%" PRId64 " rows", v);
	else
		backtest_format_duration(v, buf);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Inputs                                                               */

static int has_file(const char *dir, const char *name)
{
	char *path = fs_join(dir, name);
	int has = fs_exists(path);

	free(path);
	return has;
}

/* The 'data' need and the 'model' need (the first other one). */
static int find_inputs(struct bt *B)
{
	const char *d = kctx_str(B->ctx, "data"), *m = kctx_str(B->ctx, "model");

	for (int i = 0; !d && i < kctx_n_inputs(B->ctx); i++)
		if (has_file(kctx_input_dir(B->ctx, i), "schema.json"))
			d = kctx_input_name(B->ctx, i);
	for (int i = 0; !m && i < kctx_n_inputs(B->ctx); i++)
		if (!d || strcmp(kctx_input_name(B->ctx, i), d))
			m = kctx_input_name(B->ctx, i);
	if (!d || !kctx_input(B->ctx, d))
		return fail(B, "param 'data' of task '" TASK "': %s%s%s "
			       "(expected a data.load node in 'needs')", d ? "no needed "
			       "node '" : "no need holds a schema.json", d ? d : "",
			       d ? "'" : "");
	if (!m || !kctx_input(B->ctx, m))
		return fail(B, "param 'model' of task '" TASK "': %s%s%s "
			       "(expected a trained model's node in 'needs')", m ?
			       "no needed node '" : "no need besides the data", m ? m : "",
			       m ? "'" : "");
	B->data_dir = kctx_input(B->ctx, d);
	B->model_node = m;
	B->model_dir = has_file(kctx_input(B->ctx, m), "promotion.json") ?
		       fs_join(kctx_input(B->ctx, m), "model") : xstrdup(kctx_input(B->ctx, m));
	return 0;
}

static int unknown_model(struct bt *B, const char *what)
{
	err_set(&B->err, ERR_USER, "param 'model' of task '" TASK "': needed node "
		"'%s' holds %s (expected the output of train.prophet, "
		"train.holt_winters, baseline.*, train.gru or train.lstm)",
		B->model_node, what);
	return -1;
}

/* The model of the 'model' need: Prophet or Holt-Winters to refit, or a
 * window model to apply. */
static int load_model(struct bt *B)
{
	char *path = fs_join(B->model_dir, "model.json");
	int exists = fs_exists(path), rc = 0;
	const char *type, *format;
	json_error_t je;
	json_t *config;

	B->doc = exists ? json_load_file(path, JSON_REJECT_DUPLICATES, &je) : NULL;
	free(path);
	if (exists && !json_is_object(B->doc))
		return fail(B, "%s/model.json:%d:%d: %s (expected the model.json of a "
			    "trained model)", B->model_node, je.line, je.column,
			    B->doc ? "not an object" : je.text);
	type = json_string_value(json_object_get(B->doc, "type"));
	format = json_string_value(json_object_get(B->doc, "format"));
	B->target = json_string_value(json_object_get(B->doc, "target"));
	if (format && !strcmp(format, "dagrun.prophet")) {
		B->kind = PROPHET;
		/* prophet_to_json() writes "country": null for none, which
		 * prophet_from_json() reads as a bad optional string */
		config = json_object_get(B->doc, "config");
		if (json_is_null(json_object_get(config, "country")))
			json_object_del(config, "country");
		rc = prophet_from_json(&B->pm, B->doc, &B->err);
		B->have_pm = rc == 0;
	} else if (type && !strcmp(type, "holt_winters")) {
		B->kind = HOLT_WINTERS;
		rc = hw_from_json(B->doc, &B->hm, &B->err);
		B->have_hm = 1;   /* released even after a failure */
	} else if ((type && !strcmp(type, "baseline")) || has_file(B->model_dir,
								   "model.safetensors")) {
		B->kind = WINDOW;
		B->fc = forecaster_load(B->model_dir, &B->err);
		B->target = B->fc ? forecaster_target(B->fc) : NULL;
		rc = B->fc ? 0 : -1;
	} else {
		return unknown_model(B, B->doc ? "a model.json of an unknown type" :
				     "no model.json or model.safetensors");
	}
	if (rc == 0 && !B->target)
		return unknown_model(B, "a model.json without a \"target\"");
	if (rc)
		err_prefix(&B->err, B->model_node);
	return rc;
}

/* The median gap between the 'n' (>= 2) rising times 't'. */
static int64_t median_gap(const int64_t *t, size_t n)
{
	int64_t *gap = xmalloc((n - 1) * sizeof(int64_t)), step;

	for (size_t i = 1; i < n; i++)
		gap[i - 1] = t[i] - t[i - 1];
	step = hw_median_i64(gap, n - 1);
	free(gap);
	return step;
}

/* The data table, its target column and the axis of the cutoffs. */
static int load_table(struct bt *B)
{
	long col;
	size_t n;

	if (forecaster_read_dir(B->data_dir, &B->tb, &B->err))
		return -1;
	n = B->tb.rows;
	col = features_find(&B->tb.cols, B->target);
	if (col < 0 || n < 2)
		return fail(B, "param 'data' of task '" TASK "': %s: "
			       "%s (expected the table of the model's target '%s', 2 rows "
			       "or more)", B->data_dir, col < 0 ? "no such number column" :
			       "fewer than 2 rows", B->target);
	B->y = B->tb.cols.cols[col];
	B->axis = xmalloc(n * sizeof(int64_t));
	for (size_t i = 0; i < n; i++)
		B->axis[i] = B->rows ? (int64_t)i : B->tb.t[i];
	B->step = median_gap(B->tb.t, n);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Cutoffs                                                              */

/* The longest seasonality of a Prophet model, in seconds (0: none). */
static int64_t longest_season(const struct bt *B)
{
	double days = 0;

	for (size_t s = 0; B->kind == PROPHET && s < B->pm.n_seasons; s++)
		days = B->pm.seasons[s].period > days ? B->pm.seasons[s].period : days;
	return (int64_t)llround(days * 86400);
}

/* The reason backtest_cutoffs() gave, as an error. */
static int no_cutoffs(struct bt *B, enum backtest_cutoffs_status st)
{
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX], h[BACKTEST_DURATION_MAX],
	     i[BACKTEST_DURATION_MAX], s[BACKTEST_DURATION_MAX];
	size_t n = B->tb.rows;

	timeparse_format(B->tb.t[0], a);
	timeparse_format(B->tb.t[n - 1], b);
	span_text(B, B->horizon, h);
	span_text(B, B->initial, i);
	span_text(B, B->rows ? (int64_t)n - 1 : B->tb.t[n - 1] - B->tb.t[0], s);
	if (st == BACKTEST_HORIZON_TOO_LONG)
		return fail(B, "param 'horizon' of task '" TASK "': %s is longer than "
			    "the data, %zu rows from %s to %s spanning %s (expected a "
			    "shorter horizon)", h, n, a, b, s);
	if (st == BACKTEST_NO_CUTOFF)
		return fail(B, "no cutoff fits: initial %s%s and horizon %s need more "
			    "than the data's span, %s from %s to %s (expected a shorter "
			    "initial or horizon)", i, B->initial_given ? "" : " (3 horizons"
			    "; for Prophet at least its longest seasonality)", h, s, a, b);
	span_text(B, B->period, s);
	return fail(B, "param 'period' of task '" TASK "': %s places more than %d "
		    "cutoffs (expected a longer period)", s, BACKTEST_MAX_CUTOFFS);
}

/* Prophet's defaults, the cutoffs and the rows each one forecasts. */
static int place_cutoffs(struct bt *B)
{
	int64_t season = B->rows ? 0 : longest_season(B), *at;
	enum backtest_cutoffs_status st;
	char a[BACKTEST_DURATION_MAX], b[BACKTEST_DURATION_MAX];
	size_t n = B->tb.rows;

	if (!B->initial_given && season > B->initial)
		B->initial = season;
	if (B->initial < season)
		kctx_log(B->ctx, "warning: the seasonality of %s is longer than initial "
			 "%s: consider a longer initial", backtest_format_duration(season, a),
			 backtest_format_duration(B->initial, b));
	st = backtest_cutoffs(B->axis, n, B->horizon, B->initial, B->period, &at, &B->n_cut);
	if (st != BACKTEST_CUTOFFS_OK)
		return no_cutoffs(B, st);
	B->cut = xmalloc(B->n_cut * sizeof(*B->cut));
	for (size_t c = 0; c < B->n_cut; c++) {
		B->cut[c].at = at[c];
		B->cut[c].k = backtest_count_upto(B->axis, n, at[c]);
		B->cut[c].e = backtest_count_upto(B->axis, n, at[c] + B->horizon);
		B->n_cv += B->cut[c].e - B->cut[c].k;
	}
	free(at);
	return 0;
}

/* The time of cutoff 'c' for cv.csv and messages: itself on the time
 * axis, its row's time on the row axis. */
static int64_t cut_time(const struct bt *B, size_t c)
{
	return B->rows ? B->tb.t[B->cut[c].at] : B->cut[c].at;
}

/* ------------------------------------------------------------------ */
/* Window models                                                        */

/* 'tb' with 'pad' more rows, one median step apart, holding the last
 * row's values, into 'out' (released with forecaster_table_release()).
 * The padded rows only give the windows near the end their target rows:
 * no padded row is an input of a window whose first target row is real. */
static void pad_table(const struct bt *B, size_t pad, struct forecaster_table *out)
{
	const struct forecaster_table *tb = &B->tb;
	size_t n = tb->rows, rows = n + pad;

	memset(out, 0, sizeof(*out));
	out->rows = rows;
	out->source = xstrdup(tb->source);
	out->t = xmalloc(rows * sizeof(int64_t));
	memcpy(out->t, tb->t, n * sizeof(int64_t));
	for (size_t i = n; i < rows; i++)
		out->t[i] = out->t[i - 1] + B->step;
	features_init(&out->cols, rows);
	for (size_t j = 0; j < tb->cols.n; j++) {
		double *col = xmalloc(rows * sizeof(double));
		memcpy(col, tb->cols.cols[j], n * sizeof(double));
		for (size_t i = n; i < rows; i++)
			col[i] = col[n - 1];
		features_add(&out->cols, xstrdup(tb->cols.names[j]), col, 0);
	}
}

/* The result row whose first target row is at time 't', or -1. */
static long window_at(const struct bt *B, int64_t t)
{
	size_t i = backtest_count_upto(B->res.t, B->res.windows, t);

	return i > 0 && B->res.t[i - 1] == t ? (long)i - 1 : -1;
}

/* Every window the model forecasts over the (padded) table, the rollout,
 * and whether the first cutoff has the history its windows need. */
static int predict_windows(struct bt *B)
{
	struct forecaster_table padded;
	size_t H = forecaster_horizon(B->fc), most = 0, first;
	char a[TIMEPARSE_TEXT_MAX], s[BACKTEST_DURATION_MAX];
	int rc;

	pad_table(B, H - 1, &padded);
	rc = forecaster_predict(B->fc, &padded, &B->res, &B->err);
	forecaster_table_release(&padded);
	if (rc)
		return -1;
	for (size_t c = 0; c < B->n_cut; c++)
		most = B->cut[c].e - B->cut[c].k > most ? B->cut[c].e - B->cut[c].k : most;
	if (B->rollout == ROLL_FIXED_ORIGIN && most > H)
		return fail(B, "param 'rollout' of task '" TASK "': fixed_origin needs "
			    "output_seq_len to cover the horizon's %zu rows, but the %s "
			    "model forecasts %zu (expected one_step, or a shorter horizon)",
			    most, forecaster_kind_name(B->fc), H);
	B->fixed = B->rollout == ROLL_FIXED_ORIGIN || (B->rollout == ROLL_AUTO &&
						     H > 1 && most <= H);
	first = B->res.windows ? backtest_count_upto(B->tb.t, B->tb.rows, B->res.t[0]) - 1 :
		B->tb.rows;
	if (B->cut[0].k >= first)
		return 0;
	return fail(B, "initial %s is too short for the %s model: the first cutoff, "
		    "%s, leaves %zu rows of history, and its first forecast needs %zu "
		    "(input_seq_len %zu, the warm-up of derived columns, a season) "
		    "(expected a longer initial)", span_text(B, B->initial, s),
		    forecaster_kind_name(B->fc), timeparse_format(cut_time(B, 0), a),
		    B->cut[0].k, first, forecaster_input_len(B->fc));
}

/* ------------------------------------------------------------------ */
/* Refitted models                                                      */

/* The fewest rows a refit needs: Prophet 2 (as cross_validation
 * demands); Holt-Winters what hw_initial() needs, 10 rows, and with a
 * season 2 cycles and 10 + 2 (m / 2) rows. */
static size_t refit_min_rows(const struct bt *B)
{
	size_t m = B->hm.cfg.m, need = 10;

	if (B->kind == PROPHET)
		return 2;
	if (B->hm.cfg.seasonal && 2 * m > need)
		need = 2 * m;
	if (B->hm.cfg.seasonal && 10 + 2 * (m / 2) > need)
		need = 10 + 2 * (m / 2);
	return need;
}

static int check_refit_history(struct bt *B)
{
	char a[TIMEPARSE_TEXT_MAX], s[BACKTEST_DURATION_MAX];
	size_t need = refit_min_rows(B);

	if (B->cut[0].k >= need)
		return 0;
	return fail(B, "initial %s is too short for the %s model: the first cutoff, "
		    "%s, leaves %zu rows of history to refit on, and it needs %zu "
		    "(expected a longer initial)", span_text(B, B->initial, s),
		    B->kind == PROPHET ? "prophet" : "holt_winters",
		    timeparse_format(cut_time(B, 0), a), B->cut[0].k, need);
}

static int cancelled(void *arg)
{
	return kctx_cancelled(arg);
}

/* Refit Prophet on rows [0, k) and forecast rows [k, e). */
static int refit_prophet(struct bt *B, size_t k, size_t e, double *yhat, double *lo,
			 double *hi)
{
	struct prophet_config cfg = B->pm.cfg;
	struct prophet_model pm;

	cfg.cancelled = cancelled;
	cfg.cancel_arg = B->ctx;
	if (prophet_fit(&pm, &cfg, B->tb.t, B->y, k, &B->err))
		return -1;
	prophet_predict(&pm, B->tb.t + k, e - k, yhat, lo, hi);
	prophet_release(&pm);
	return 0;
}

/* Refit Holt-Winters on rows [0, k) and forecast rows [k, e): no
 * intervals. */
static int refit_hw(struct bt *B, size_t k, size_t e, double *yhat, double *lo,
		    double *hi)
{
	struct hw_model hm;
	int rc = hw_fit(&hm, &B->hm.cfg, B->y, k, &B->err);

	if (rc == 0)
		hw_forecast(&hm, e - k, yhat);
	hw_release(&hm);
	for (size_t j = 0; j < e - k; j++)
		lo[j] = hi[j] = NAN;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The forecasts                                                        */

/* A window model's forecasts of rows [k, e) from the windows. */
static void apply_windows(const struct bt *B, size_t k, size_t e, double *yhat,
			  double *lo, double *hi)
{
	size_t H = B->res.horizon;
	long origin = window_at(B, B->tb.t[k]);

	for (size_t j = k; j < e; j++) {
		size_t at = B->fixed ? (size_t)origin * H + (j - k) :
			    (size_t)window_at(B, B->tb.t[j]) * H;
		yhat[j - k] = B->res.yhat[at];
		lo[j - k] = B->res.lower ? B->res.lower[at] : NAN;
		hi[j - k] = B->res.upper ? B->res.upper[at] : NAN;
	}
}

/* Forecast every cutoff's horizon into the cv arrays, in cutoff order. */
static int forecast_all(struct bt *B)
{
	size_t at = 0, every = B->n_cut / 20 + 1;   /* 20: progress lines at most */
	char when[TIMEPARSE_TEXT_MAX], what[64];
	int rc = 0;

	B->h = xmalloc((B->n_cv + 1) * sizeof(int64_t));
	B->yv = xmalloc((B->n_cv + 1) * sizeof(double));
	B->yhat = xmalloc((B->n_cv + 1) * sizeof(double));
	B->lo = xmalloc((B->n_cv + 1) * sizeof(double));
	B->hi = xmalloc((B->n_cv + 1) * sizeof(double));
	for (size_t c = 0; rc == 0 && c < B->n_cut; c++) {
		size_t k = B->cut[c].k, e = B->cut[c].e;
		if (kctx_cancelled(B->ctx)) {
			err_set(&B->err, ERR_IO, "cancelled");
			return -1;
		}
		if (B->kind == WINDOW)
			apply_windows(B, k, e, B->yhat + at, B->lo + at, B->hi + at);
		else if (B->kind == PROPHET)
			rc = refit_prophet(B, k, e, B->yhat + at, B->lo + at, B->hi + at);
		else
			rc = refit_hw(B, k, e, B->yhat + at, B->lo + at, B->hi + at);
		for (size_t j = k; j < e; j++, at++) {
			B->h[at] = B->axis[j] - B->cut[c].at;
			B->yv[at] = B->y[j];
		}
		if (rc == 0 && (c % every == 0 || c + 1 == B->n_cut))
			kctx_progress(B->ctx, (double)(c + 1) / (double)B->n_cut,
				      "cutoff %zu of %zu", c + 1, B->n_cut);
		if (rc) {
			snprintf(what, sizeof(what), "cutoff %s (%zu rows of history)",
				 timeparse_format(cut_time(B, c), when), k);
			err_prefix(&B->err, what);
		}
	}
	B->intervals = B->kind == PROPHET ? B->pm.cfg.uncertainty_samples > 0 :
		       B->kind == WINDOW && forecaster_has_intervals(B->fc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Outputs                                                              */

/* A number for a CSV field: %.17g (reads back to the same double), an
 * empty field when it is not finite. */
static void put_num(FILE *f, double v, const char *sep)
{
	if (isfinite(v))
		fprintf(f, "%s%.17g", sep, v);
	else
		fputs(sep, f);
}

/* Open 'name' in the output folder for writing; NULL with B->err set. */
static FILE *open_out(struct bt *B, const char *name, char **path)
{
	FILE *f;

	*path = fs_join(kctx_out_dir(B->ctx), name);
	f = fopen(*path, "w");
	if (!f)
		err_set(&B->err, ERR_IO, "cannot write '%s'", *path);
	return f;
}

static int close_out(struct bt *B, FILE *f, char *path)
{
	int rc = ferror(f) | fclose(f);

	if (rc)
		err_set(&B->err, ERR_IO, "cannot write '%s'", path);
	free(path);
	return rc ? -1 : 0;
}

/* cv.csv: cutoff, ds, y, yhat, yhat_lower, yhat_upper per forecast. */
static int write_cv(struct bt *B)
{
	char *path, t1[TIMEPARSE_TEXT_MAX], t2[TIMEPARSE_TEXT_MAX];
	FILE *f = open_out(B, "cv.csv", &path);
	size_t at = 0;

	if (!f) {
		free(path);
		return -1;
	}
	fputs("cutoff,ds,y,yhat,yhat_lower,yhat_upper\n", f);
	for (size_t c = 0; c < B->n_cut; c++) {
		for (size_t j = B->cut[c].k; j < B->cut[c].e; j++, at++) {
			fprintf(f, "%s,%s", timeparse_format(cut_time(B, c), t1),
				timeparse_format(B->tb.t[j], t2));
			put_num(f, B->yv[at], ",");
			put_num(f, B->yhat[at], ",");
			put_num(f, B->lo[at], ",");
			put_num(f, B->hi[at], ",");
			fputc('\n', f);
		}
	}
	return close_out(B, f, path);
}

/* The curve step of horizon 'h': in rows, or in median steps of time. */
static long curve_step(const struct bt *B, int64_t h)
{
	return B->rows ? (long)h : (long)llround((double)h / (double)B->step);
}

/* performance.csv, and each row's metrics as curves. */
static int write_performance(struct bt *B, const struct backtest_perf *p)
{
	char *path, span[BACKTEST_DURATION_MAX];
	FILE *f = open_out(B, "performance.csv", &path);

	if (!f) {
		free(path);
		return -1;
	}
	fputs("horizon", f);
	for (int m = 0; m < BACKTEST_N_METRICS; m++)
		fprintf(f, ",%s", backtest_metric_name(m));
	fputc('\n', f);
	for (size_t r = 0; r < p->n; r++) {
		if (B->rows)
			fprintf(f, "%" PRId64, p->horizon[r]);
		else
			fputs(backtest_format_duration(p->horizon[r], span), f);
		for (int m = 0; m < BACKTEST_N_METRICS; m++) {
			put_num(f, p->value[m] ? p->value[m][r] : NAN, ",");
			if (p->value[m] && isfinite(p->value[m][r]))
				kctx_metric(B->ctx, backtest_metric_name(m),
					    curve_step(B, p->horizon[r]), p->value[m][r]);
		}
		fputc('\n', f);
	}
	return close_out(B, f, path);
}

/* metrics.json and the sink (step -1): the overall figures. */
static int write_overall(struct bt *B, const struct backtest_perf *all)
{
	char *path = fs_join(kctx_out_dir(B->ctx), "metrics.json");
	json_t *j = json_object();
	int rc;

	for (int m = 0; m < BACKTEST_N_METRICS; m++) {
		double v = all->value[m] && all->n ? all->value[m][0] : NAN;
		json_object_set_new(j, backtest_metric_name(m), isfinite(v) ?
				    json_real(v) : json_null());
		if (isfinite(v))
			kctx_metric(B->ctx, backtest_metric_name(m), -1, v);
	}
	rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS |
			    JSON_REAL_PRECISION(17));
	if (rc)
		err_set(&B->err, ERR_IO, "cannot write '%s'", path);
	json_decref(j);
	free(path);
	return rc ? -1 : 0;
}

/* "prophet, refit at each cutoff" and the like. */
static const char *method_text(const struct bt *B)
{
	if (B->kind == PROPHET)
		return "prophet, refit at each cutoff";
	if (B->kind == HOLT_WINTERS)
		return "holt_winters, refit at each cutoff";
	return B->fixed ? "no refit, fixed origin: the horizon from the window "
			  "ending at the cutoff" :
			  "no refit, one step ahead: each row from the observed "
			  "rows before it";
}

static void log_summary(struct bt *B, const struct backtest_perf *p,
			const struct backtest_perf *all, double seconds)
{
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX], h[BACKTEST_DURATION_MAX],
	     per[BACKTEST_DURATION_MAX], ini[BACKTEST_DURATION_MAX], cov[32];
	const double *const *v = (const double *const *)all->value;

	kctx_log(B->ctx, "%s model '%s' (%s) on '%s': %zu cutoffs from %s to %s, "
		 "every %s, horizon %s, initial %s; %zu forecasts in %.3f s",
		 B->kind == WINDOW ? forecaster_kind_name(B->fc) : B->kind == PROPHET ?
		 "prophet" : "holt_winters", B->model_node, method_text(B), B->target,
		 B->n_cut, timeparse_format(cut_time(B, 0), a),
		 timeparse_format(cut_time(B, B->n_cut - 1), b),
		 span_text(B, B->period, per), span_text(B, B->horizon, h),
		 span_text(B, B->initial, ini), B->n_cv, seconds);
	cov[0] = '\0';
	if (v[BACKTEST_COVERAGE])
		snprintf(cov, sizeof(cov), " coverage %.4g", v[BACKTEST_COVERAGE][0]);
	kctx_log(B->ctx, "overall: rmse %.6g mae %.6g mape %.6g mdape %.6g smape "
		 "%.6g%s", v[BACKTEST_RMSE][0], v[BACKTEST_MAE][0],
		 v[BACKTEST_MAPE] ? v[BACKTEST_MAPE][0] : NAN, v[BACKTEST_MDAPE][0],
		 v[BACKTEST_SMAPE][0], cov);
	if (p->n == 0)
		return;
	kctx_log(B->ctx, "by horizon (%zu rows, performance.csv): rmse %.6g at %s, "
		 "%.6g at %s", p->n, p->value[BACKTEST_RMSE][0],
		 span_text(B, p->horizon[0], h), p->value[BACKTEST_RMSE][p->n - 1],
		 span_text(B, p->horizon[p->n - 1], per));
}

static int write_outputs(struct bt *B, double seconds)
{
	struct backtest_perf p, all;
	const double *lo = B->intervals ? B->lo : NULL, *hi = B->intervals ? B->hi : NULL;
	int rc;

	backtest_performance(B->h, B->yv, B->yhat, lo, hi, B->n_cv,
			     kctx_num(B->ctx, "rolling_window"), &p);
	backtest_performance(B->h, B->yv, B->yhat, lo, hi, B->n_cv, 1.0, &all);
	rc = write_cv(B);
	if (rc == 0)
		rc = write_performance(B, &p);
	if (rc == 0)
		rc = write_overall(B, &all);
	if (rc == 0)
		log_summary(B, &p, &all, seconds);
	backtest_perf_release(&p);
	backtest_perf_release(&all);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                              */

/* A monotonic clock for the log (never in the outputs). */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void release(struct bt *B)
{
	if (B->have_pm)
		prophet_release(&B->pm);
	if (B->have_hm)
		hw_release(&B->hm);
	forecaster_free(B->fc);
	forecaster_result_release(&B->res);
	forecaster_table_release(&B->tb);
	json_decref(B->doc);
	free(B->model_dir);
	free(B->axis);
	free(B->cut);
	free(B->h);
	free(B->yv);
	free(B->yhat);
	free(B->lo);
	free(B->hi);
}

static int run(struct kctx *ctx)
{
	struct bt B;
	double t0;
	int rc;

	memset(&B, 0, sizeof(B));
	B.ctx = ctx;
	err_init(&B.err);
	rc = parse_params(&B);
	if (rc == 0)
		rc = find_inputs(&B);
	if (rc == 0)
		rc = load_model(&B);
	if (rc == 0)
		rc = load_table(&B);
	if (rc == 0)
		rc = place_cutoffs(&B);
	if (rc == 0)
		rc = B.kind == WINDOW ? predict_windows(&B) : check_refit_history(&B);
	t0 = now();
	if (rc == 0)
		rc = forecast_all(&B);
	if (rc == 0)
		rc = write_outputs(&B, now() - t0);
	if (rc)
		rc = kctx_fail(ctx, B.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", B.err.msg);
	release(&B);
	return rc;
}

static const char doc[] =
	"Rolling-origin cross-validation of a trained forecaster, as Prophet's "
	"cross_validation: cutoffs placed back from the end of a data.load "
	"table every 'period' (Prophet's generate_cutoffs), each forecasting "
	"'horizon' past it; train.prophet and train.holt_winters are refitted "
	"at each cutoff with their trained config, window models (gru, lstm, "
	"baselines) are applied without a refit (one step ahead with the true "
	"history, or from a fixed origin).  Writes cv.csv (cutoff, ds, y, yhat, "
	"yhat_lower, yhat_upper), performance.csv (mse, rmse, mae, mape, mdape, "
	"smape, coverage by horizon, as performance_metrics) and metrics.json "
	"(the overall figures).";

const struct kernel kernel_eval_backtest = {"eval.backtest", 1, params, doc, run};
