/* drift.report: how far the recent rows of a table have moved from the
 * rows before them, and whether that makes the data Healthy, Degraded or
 * Critical (the reference system's verdict; docs/drift.md).
 *
 * Input: a data.load node's table (read by features.h).  Two disjoint
 * windows of rows, reference and current, set one of three ways: by rows
 * (the last current_rows rows, the reference_rows before them), by days
 * (the current_days up to the last timestamp, the reference_days before
 * them; the default, 150 and 30), or by explicit [start, end] spans, both
 * ends included.  Each chosen number column is compared by drift.h.
 *
 * Output: drift.json (health, scores, per-feature metrics, the windows
 * used, the thresholds), metrics drift_score, volatility_index,
 * health_code, psi.<col>, ks.<col>, shift.<col> (finite values only), and
 * a drift_detected event unless Healthy.  Infinite values are written as
 * the string "inf", undefined ones as null.  The output's timestamp is the
 * current window's last row, never the clock: the same table and params
 * give the same bytes, so the node caches. */
#include "drift.h"
#include "features.h"
#include "fs.h"
#include "kernel.h"
#include "strbuf.h"
#include "timeparse.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct param_spec params[] = {
	{"data", PT_STR, "null", 0, 0, NULL,
	 "the needed data.load node whose table is compared; null: the first"},
	{"columns", PT_LIST, "null", 0, 0, NULL,
	 "the number columns compared; null: every number column of the table"},
	{"reference_rows", PT_INT, "null", 2, 1e12, NULL,
	 "rows in the reference window, the ones just before the current window "
	 "(give current_rows too)"},
	{"current_rows", PT_INT, "null", 2, 1e12, NULL,
	 "the last current_rows rows are the current window (give reference_rows too)"},
	{"reference_days", PT_NUM, "null", 0, 1e6, NULL,
	 "days of the reference window, the ones just before the current window; "
	 "null: 150 unless the windows are set by rows or spans"},
	{"current_days", PT_NUM, "null", 0, 1e6, NULL,
	 "days up to the last timestamp that are the current window; null: 30 "
	 "unless the windows are set by rows or spans"},
	{"reference", PT_LIST, "null", 0, 0, NULL,
	 "[start, end]: the reference window as ISO 8601 times, both included "
	 "(give current too)"},
	{"current", PT_LIST, "null", 0, 0, NULL,
	 "[start, end]: the current window as ISO 8601 times, both included "
	 "(give reference too)"},
	{"returns", PT_ENUM, "\"pct\"", 0, 0, "pct|diff",
	 "the returns whose std gives vol_ratio: pct x[i]/x[i-1] - 1 (the reference "
	 "system's; skipped after a zero) or diff x[i] - x[i-1] (for series that cross 0)"},
	{"drift_thresholds", PT_LIST, "[1.0, 2.0]", 0, 0, NULL,
	 "[degraded, critical]: drift_score from which health is Degraded, and "
	 "above which it is Critical"},
	{"vol_healthy", PT_LIST, "[0.6, 1.5]", 0, 0, NULL,
	 "[low, high]: the volatility_index range that is Healthy; outside it Degraded"},
	{"vol_critical", PT_LIST, "[0.4, 2.5]", 0, 0, NULL,
	 "[low, high]: volatility_index below low or above high is Critical"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

enum { REF, CUR };   /* the two windows, in this order in every array */
static const char *const win_name[2] = {"reference", "current"};

struct report {
	struct kctx *ctx;
	const char *input, *dir;    /* the needed node and its folder */
	struct features_set fs;
	int64_t *ts;
	json_t *schema;
	const char *by;             /* "rows", "days" or "span" */
	struct drift_window w[2];   /* REF, CUR */
	struct drift_thresholds th;
	size_t *cols, n_cols;       /* indexes into 'fs', in the order asked */
	struct drift_feature *res;  /* one per entry of 'cols' */
	struct drift_summary sum;
	struct err err;
};

static int is_set(struct kctx *ctx, const char *name)
{
	return !json_is_null(json_object_get(kctx_params(ctx), name));
}

/* Param 'name', a list of two numbers, into 'v'. */
static int pair(struct report *R, const char *name, double v[2])
{
	json_t *a = json_object_get(kctx_params(R->ctx), name);

	if (json_array_size(a) == 2 && json_is_number(json_array_get(a, 0)) &&
	    json_is_number(json_array_get(a, 1))) {
		v[0] = json_number_value(json_array_get(a, 0));
		v[1] = json_number_value(json_array_get(a, 1));
		return 0;
	}
	err_set(&R->err, ERR_USER, "param '%s' of task 'drift.report': expected "
		"a list of two numbers", name);
	return -1;
}

static int parse_thresholds(struct report *R)
{
	double d[2], h[2], c[2];

	if (pair(R, "drift_thresholds", d) || pair(R, "vol_healthy", h) ||
	    pair(R, "vol_critical", c))
		return -1;
	R->th = (struct drift_thresholds){d[0], d[1], h[0], h[1], c[0], c[1]};
	if (drift_thresholds_check(&R->th) == 0)
		return 0;
	err_set(&R->err, ERR_USER, "params 'drift_thresholds' [%g, %g], "
		"'vol_healthy' [%g, %g], 'vol_critical' [%g, %g] of task "
		"'drift.report' are out of order (expected 0 <= degraded <= critical, "
		"and 0 <= critical low <= healthy low <= healthy high <= critical high)",
		d[0], d[1], h[0], h[1], c[0], c[1]);
	return -1;
}

static int windows_by_rows(struct report *R)
{
	long long nr = kctx_int(R->ctx, "reference_rows"), nc = kctx_int(R->ctx, "current_rows");

	if (!is_set(R->ctx, "reference_rows") || !is_set(R->ctx, "current_rows")) {
		err_set(&R->err, ERR_USER, "param '%s' of task 'drift.report' is "
			"missing (expected reference_rows and current_rows together)",
			is_set(R->ctx, "current_rows") ? "reference_rows" : "current_rows");
		return -1;
	}
	if (drift_windows_rows(R->ts, R->fs.rows, (size_t)nr, (size_t)nc, R->w) == 0)
		return 0;
	err_set(&R->err, ERR_USER, "windows of %lld reference and %lld current rows "
		"reach outside the data: the table has %zu rows (expected "
		"reference_rows + current_rows <= %zu)", nr, nc, R->fs.rows, R->fs.rows);
	return -1;
}

static int windows_by_days(struct report *R)
{
	double rd = is_set(R->ctx, "reference_days") ? kctx_num(R->ctx, "reference_days") : 150;
	double cd = is_set(R->ctx, "current_days") ? kctx_num(R->ctx, "current_days") : 30;
	int64_t first = R->ts[0], last = R->ts[R->fs.rows - 1];
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];

	if (drift_windows_days(R->ts, R->fs.rows, rd, cd, R->w) == 0)
		return 0;
	err_set(&R->err, ERR_USER, "windows of %g reference and %g current days "
		"reach outside the data: back to %s, before the first row at %s "
		"(expected reference_days + current_days <= %g)", rd, cd,
		timeparse_format(R->w[REF].from - 1, a), timeparse_format(first, b),
		(double)(last - first) / 86400);
	return -1;
}

/* Param 'name', [start, end] as ISO 8601 times, into w->from, w->to:
 * the whole seconds it includes (the times of rows are whole seconds). */
static int parse_span(struct report *R, int k, struct drift_window *w)
{
	json_t *a = json_object_get(kctx_params(R->ctx), win_name[k]);
	const char *s = json_string_value(json_array_get(a, 0));
	const char *e = json_string_value(json_array_get(a, 1));
	struct timeparse_time ts, te;

	if (json_array_size(a) != 2 || !s || !e ||
	    timeparse_iso8601(s, strlen(s), &ts) || timeparse_iso8601(e, strlen(e), &te)) {
		err_set(&R->err, ERR_USER, "param '%s' of task 'drift.report': expected "
			"[start, end] as ISO 8601 times (\"2018-01-31\" or "
			"\"2018-01-31T12:00:00Z\")", win_name[k]);
		return -1;
	}
	w->from = ts.sec + (ts.nsec > 0);
	w->to = te.sec;
	if (w->from > w->to) {
		err_set(&R->err, ERR_USER, "param '%s' of task 'drift.report': start "
			"'%s' is after end '%s' (expected [start, end])", win_name[k], s, e);
		return -1;
	}
	return 0;
}

static int windows_by_span(struct report *R)
{
	int64_t first = R->ts[0], last = R->ts[R->fs.rows - 1];
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];

	for (int k = REF; k <= CUR; k++) {
		if (!is_set(R->ctx, win_name[k])) {
			err_set(&R->err, ERR_USER, "param '%s' of task 'drift.report' is "
				"missing (expected reference and current together)", win_name[k]);
			return -1;
		}
		if (parse_span(R, k, &R->w[k]))
			return -1;
		if (R->w[k].to < first || R->w[k].from > last) {
			err_set(&R->err, ERR_USER, "param '%s' of task 'drift.report': the "
				"window is outside the data (expected times between %s and %s)",
				win_name[k], timeparse_format(first, a), timeparse_format(last, b));
			return -1;
		}
		drift_window_select(R->ts, R->fs.rows, &R->w[k]);
	}
	if (R->w[REF].from <= R->w[CUR].to && R->w[CUR].from <= R->w[REF].to) {
		err_set(&R->err, ERR_USER, "params 'reference' and 'current' of task "
			"'drift.report' overlap (expected two disjoint windows)");
		return -1;
	}
	return 0;
}

/* The windows, set one of three ways; each needs 2 rows for a std. */
static int find_windows(struct report *R)
{
	int rows = is_set(R->ctx, "reference_rows") || is_set(R->ctx, "current_rows");
	int days = is_set(R->ctx, "reference_days") || is_set(R->ctx, "current_days");
	int span = is_set(R->ctx, "reference") || is_set(R->ctx, "current");
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];
	int rc;

	if (rows + days + span > 1) {
		err_set(&R->err, ERR_USER, "params of task 'drift.report' set the windows "
			"%s and %s (expected one way: reference_rows and current_rows, "
			"reference_days and current_days, or reference and current)",
			rows ? "by rows" : "by days", span ? "by spans" : "by days");
		return -1;
	}
	R->by = rows ? "rows" : span ? "span" : "days";
	rc = rows ? windows_by_rows(R) : span ? windows_by_span(R) : windows_by_days(R);
	for (int k = REF; rc == 0 && k <= CUR; k++) {
		if (R->w[k].hi - R->w[k].lo >= 2)
			continue;
		err_set(&R->err, ERR_USER, "the %s window, %s to %s, holds %zu row%s "
			"(expected at least 2)", win_name[k], timeparse_format(R->w[k].from, a),
			timeparse_format(R->w[k].to, b), R->w[k].hi - R->w[k].lo,
			R->w[k].hi - R->w[k].lo == 1 ? "" : "s");
		rc = -1;
	}
	return rc;
}

/* The columns asked for, as indexes into the table; all by default. */
static int pick_columns(struct report *R)
{
	json_t *want = json_object_get(kctx_params(R->ctx), "columns"), *v = NULL;
	struct strbuf sb;
	size_t i, k;
	long c = -1;

	R->n_cols = json_is_array(want) ? json_array_size(want) : R->fs.n;
	R->cols = xcalloc(R->n_cols + 1, sizeof(size_t));
	for (i = 0; i < R->n_cols; i++)
		R->cols[i] = i;
	if (!json_is_array(want))
		return 0;
	json_array_foreach(want, i, v) {
		c = json_is_string(v) ? features_find(&R->fs, json_string_value(v)) : -1;
		for (k = 0; c >= 0 && k < i; k++)
			if (R->cols[k] == (size_t)c)
				c = -2;
		if (c < 0)
			break;
		R->cols[i] = (size_t)c;
	}
	if (R->n_cols > 0 && i >= R->n_cols)
		return 0;
	sb_init(&sb);
	for (k = 0; k < R->fs.n; k++)
		sb_addf(&sb, "%s%s", k ? ", " : "", R->fs.names[k]);
	if (R->n_cols == 0)
		err_set(&R->err, ERR_USER, "param 'columns' of task 'drift.report' is "
			"empty (expected some of: %s)", sb.buf);
	else
		err_set(&R->err, ERR_USER, "param 'columns' of task 'drift.report': %s "
			"'%s' in the table of node '%s' (expected some of: %s)",
			c == -2 ? "twice the column" : "no number column",
			json_is_string(v) ? json_string_value(v) : "?", R->input, sb.buf);
	sb_release(&sb);
	return -1;
}

/* Every value compared must be a number: a NAN would poison the sums. */
static int check_finite(struct report *R)
{
	char a[TIMEPARSE_TEXT_MAX];

	for (size_t i = 0; i < R->n_cols; i++) {
		const double *x = R->fs.cols[R->cols[i]];

		for (int k = REF; k <= CUR; k++) {
			for (size_t r = R->w[k].lo; r < R->w[k].hi; r++) {
				if (isfinite(x[r]))
					continue;
				err_set(&R->err, ERR_USER, "column '%s' has no number at %s "
					"(expected numbers: see data.load's param 'missing')",
					R->fs.names[R->cols[i]], timeparse_format(R->ts[r], a));
				return -1;
			}
		}
	}
	return 0;
}

/* Each column's drift.h comparison, and the scores over all of them. */
static int compare(struct report *R)
{
	enum drift_returns kind = strcmp(kctx_str(R->ctx, "returns"), "diff") ?
				  DRIFT_PCT : DRIFT_DIFF;
	const struct drift_window *r = &R->w[REF], *c = &R->w[CUR];

	R->res = xcalloc(R->n_cols, sizeof(*R->res));
	for (size_t i = 0; i < R->n_cols; i++) {
		const double *x = R->fs.cols[R->cols[i]];

		if (kctx_cancelled(R->ctx)) {
			err_set(&R->err, ERR_IO, "cancelled");
			return -1;
		}
		drift_compare(x + r->lo, r->hi - r->lo, x + c->lo, c->hi - c->lo, kind,
			      &R->res[i]);
	}
	drift_summarize(R->res, R->n_cols, &R->th, &R->sum);
	return 0;
}

static json_t *window_json(const struct report *R, int k)
{
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];
	const struct drift_window *w = &R->w[k];

	return json_pack("{s:s,s:s,s:I}", "start", timeparse_format(R->ts[w->lo], a),
			 "end", timeparse_format(R->ts[w->hi - 1], b),
			 "rows", (json_int_t)(w->hi - w->lo));
}

/* The drift_detected event: the scores and the (up to) 3 columns with
 * the largest shift, largest first. */
static void detected_event(struct report *R)
{
	size_t *order = xmalloc(R->n_cols * sizeof(size_t));
	json_t *worst = json_array();

	drift_rank(R->res, R->n_cols, order);
	for (size_t i = 0; i < R->n_cols && i < 3; i++) {
		const struct drift_feature *f = &R->res[order[i]];

		json_array_append_new(worst, json_pack("{s:s,s:o,s:o,s:o,s:o}",
			"name", R->fs.names[R->cols[order[i]]],
			"shift_score", drift_number_json(f->shift),
			"vol_ratio", drift_number_json(f->vol_ratio),
			"psi", drift_number_json(f->psi), "ks", drift_number_json(f->ks)));
	}
	kctx_event(R->ctx, "drift_detected", json_pack("{s:s,s:o,s:o,s:o}",
		"health", drift_health_name(R->sum.health),
		"drift_score", drift_number_json(R->sum.drift_score),
		"volatility_index", drift_number_json(R->sum.volatility_index),
		"worst_features", worst));
	free(order);
}

static void metric(struct kctx *ctx, const char *prefix, const char *col, double v)
{
	char *name = col ? xasprintf("%s.%s", prefix, col) : xstrdup(prefix);

	if (isfinite(v))
		kctx_metric(ctx, name, -1, v);
	free(name);
}

/* drift.json, the metrics, and the event when not Healthy. */
static int write_report(struct report *R)
{
	const struct drift_thresholds *t = &R->th;
	json_t *j, *feats = json_object();
	char when[TIMEPARSE_TEXT_MAX], *path;
	int rc;

	for (size_t i = 0; i < R->n_cols; i++) {
		const char *col = R->fs.names[R->cols[i]];

		json_object_set_new(feats, col, drift_feature_json(&R->res[i]));
		metric(R->ctx, "psi", col, R->res[i].psi);
		metric(R->ctx, "ks", col, R->res[i].ks);
		metric(R->ctx, "shift", col, R->res[i].shift);
	}
	metric(R->ctx, "drift_score", NULL, R->sum.drift_score);
	metric(R->ctx, "volatility_index", NULL, R->sum.volatility_index);
	metric(R->ctx, "health_code", NULL, (double)R->sum.health);
	j = json_pack("{s:s,s:i,s:o,s:o,s:o,s:s,s:s,s:{s:s,s:o,s:o},s:{s:[f,f],s:[f,f],s:[f,f]}}",
		"health", drift_health_name(R->sum.health), "health_code", (int)R->sum.health,
		"drift_score", drift_number_json(R->sum.drift_score),
		"volatility_index", drift_number_json(R->sum.volatility_index),
		"feature_metrics", feats,
		"timestamp", timeparse_format(R->ts[R->w[CUR].hi - 1], when),
		"returns", kctx_str(R->ctx, "returns"), "windows", "by", R->by,
		"reference", window_json(R, REF), "current", window_json(R, CUR),
		"thresholds", "drift", t->drift_degraded, t->drift_critical,
		"vol_healthy", t->vol_low, t->vol_high, "vol_critical", t->vol_crit_low,
		t->vol_crit_high);
	path = fs_join(kctx_out_dir(R->ctx), "drift.json");
	rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	if (rc)
		err_set(&R->err, ERR_IO, "cannot write '%s'", path);
	free(path);
	json_decref(j);
	if (rc == 0 && R->sum.health != DRIFT_HEALTHY)
		detected_event(R);
	return rc ? -1 : 0;
}

/* The folder of the table: the 'data' need, or the first. */
static int input_dir(struct report *R)
{
	const char *name = kctx_str(R->ctx, "data");

	R->input = name ? name : kctx_n_inputs(R->ctx) ? kctx_input_name(R->ctx, 0) : NULL;
	R->dir = R->input ? kctx_input(R->ctx, R->input) : NULL;
	if (R->dir)
		return 0;
	if (name)
		err_set(&R->err, ERR_USER, "param 'data' of task 'drift.report': no "
			"needed node '%s' (expected one listed in 'needs')", name);
	else
		err_set(&R->err, ERR_USER, "node '%s': task 'drift.report' needs a "
			"table (expected needs: [a data.load node])", kctx_node(R->ctx));
	return -1;
}

static int run(struct kctx *ctx)
{
	struct report R;
	int rc;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	err_init(&R.err);
	rc = parse_thresholds(&R);
	if (rc == 0)
		rc = input_dir(&R);
	if (rc == 0)
		rc = features_read_table(R.dir, &R.fs, &R.ts, &R.schema, &R.err);
	if (rc == 0)
		rc = pick_columns(&R);
	if (rc == 0)
		rc = find_windows(&R);
	if (rc == 0)
		rc = check_finite(&R);
	if (rc == 0)
		rc = compare(&R);
	if (rc == 0)
		rc = write_report(&R);
	if (rc == 0)
		kctx_log(ctx, "%zu columns, windows by %s: reference %zu rows, current "
			 "%zu rows: %s, drift_score %.4f, volatility_index %.4f", R.n_cols,
			 R.by, R.w[REF].hi - R.w[REF].lo, R.w[CUR].hi - R.w[CUR].lo,
			 drift_health_name(R.sum.health), R.sum.drift_score,
			 R.sum.volatility_index);
	features_release(&R.fs);
	free(R.ts);
	json_decref(R.schema);
	free(R.cols);
	free(R.res);
	if (rc == 0)
		return KERNEL_OK;
	return kctx_fail(ctx, R.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			 "%s", R.err.msg);
}

static const char doc[] =
	"Compare a current window of a data.load table's rows with a reference "
	"window before it (by default the last 30 days against the 150 before), "
	"column by column: the mean shift in reference stds, the ratio of the "
	"returns' volatility, PSI, the Kolmogorov-Smirnov statistic and the "
	"Wasserstein distance; grade the whole Healthy, Degraded or Critical "
	"and write drift.json, with a drift_detected event unless Healthy.";

const struct kernel kernel_drift_report = {"drift.report", 1, params, doc, run};
