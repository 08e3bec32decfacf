/* data.load: a CSV file into a columnar table, one .npy per column.
 *
 * Output (in kctx_out_dir): the timestamp column as int64 unix seconds in
 * timestamp.npy (sub-second parts are cut, with a note in the log); each
 * number column as float64 in <name>.npy; each string column, and any
 * other column of dates, as a JSON array of strings (null for missing) in
 * <name>.json; and schema.json, which maps column names to files (names
 * are made safe for files: other bytes become '_', clashes get _2, _3;
 * tasks/lib/table.h writes the folder).
 * Rows come out sorted by time, duplicates and missing values resolved by
 * the policies below, in this order: rows without a timestamp (dropped
 * under missing: drop, else an error), unsorted, duplicates, missing.
 *
 * Never leaves a partial output: on failure every file it wrote is removed.
 * All parsing and writing is in tasks/lib (csv, timeparse, table). */
#include "csv.h"
#include "kernel.h"
#include "table.h"
#include "timeparse.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct param_spec params[] = {
	{"path", PT_PATH, NULL, 0, 0, NULL, "the CSV file (RFC 4180, header row), or an http:// or https:// URL (fetched when the key is computed, revalidated by ETag)"},
	{"timestamp", PT_ANY, "\"timestamp\"", 0, 0, NULL,
	 "the time column: ISO 8601 or unix seconds; null for none"},
	{"target", PT_STR, "\"value\"", 0, 0, NULL,
	 "the column to forecast; must be numeric when present"},
	{"columns", PT_LIST, "null", 0, 0, NULL,
	 "columns to keep (timestamp and target always kept); null: all"},
	{"missing", PT_ENUM, "\"error\"", 0, 0, "drop|ffill|interpolate|error",
	 "empty, NA, NaN, null, N/A values in number columns"},
	{"duplicates", PT_ENUM, "\"error\"", 0, 0, "error|first|last|mean",
	 "rows with the same timestamp"},
	{"unsorted", PT_ENUM, "\"sort\"", 0, 0, "sort|error",
	 "timestamps that go back in time"},
	{"gaps", PT_ENUM, "\"keep\"", 0, 0, "keep|fill|error",
	 "missing time steps: keep the rows as they are; fill: insert a row at "
	 "every missing step, its values then filled by the 'missing' policy "
	 "(ffill or interpolate); error: stop at the first gap"},
	{"step", PT_NUM, "null", 1e-9, 1e12, NULL,
	 "the time step in seconds for 'gaps'; null: the most common "
	 "difference between consecutive timestamps"},
	{"delimiter", PT_STR, "\",\"", 0, 0, NULL, "one byte"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

struct column {
	size_t src;          /* index in the CSV */
	enum csv_type type;  /* CSV_TIME only for the timestamp column */
	double *v;           /* by output row (row[] maps back); NULL: string */
};

struct load {
	struct kctx *ctx;
	struct csv_table *csv;
	struct column *cols;
	size_t n_cols;
	struct column *time;    /* NULL without a timestamp column */
	const char *target;     /* NULL when absent from the file */
	size_t *row;            /* CSV row of each output row */
	size_t n, dropped, filled, inserted;
	double *gap_times;      /* resolve_gaps()'s new times, while it works */
	struct err err;
};

static const char *param(struct load *L, const char *name)
{
	return kctx_str(L->ctx, name);
}

/* 1 if column 'c' is kept: listed in 'want', or all when 'want' is no
 * list, or it is the timestamp or the target. */
static int wanted(struct load *L, json_t *want, const char *name)
{
	const char *ts = param(L, "timestamp");

	if (!json_is_array(want) || (ts && !strcmp(name, ts)) ||
	    (L->target && !strcmp(name, L->target)))
		return 1;
	for (size_t i = 0; i < json_array_size(want); i++) {
		const char *w = json_string_value(json_array_get(want, i));
		if (w && !strcmp(name, w))
			return 1;
	}
	return 0;
}

/* Check the names in the params against the header; pick the columns. */
static int pick_columns(struct load *L)
{
	json_t *want = json_object_get(kctx_params(L->ctx), "columns");
	const char *ts = param(L, "timestamp"), *tg = param(L, "target");

	if (ts && csv_find(L->csv, ts) < 0) {
		err_set(&L->err, ERR_USER, "%s:1:1: no column '%s' (expected the "
			"time column named by 'timestamp', or timestamp: null)",
			csv_path(L->csv), ts);
		return -1;
	}
	for (size_t i = 0; i < json_array_size(want); i++) {
		const char *w = json_string_value(json_array_get(want, i));
		if (!w || csv_find(L->csv, w) < 0) {
			err_set(&L->err, ERR_USER, "%s:1:1: no column '%s' (expected "
				"the names in 'columns' in the header)",
				csv_path(L->csv), w ? w : "(not a string)");
			return -1;
		}
	}
	/* absent target: not an error, data.preprocess picks a fallback */
	L->target = tg && csv_find(L->csv, tg) >= 0 ? tg : NULL;
	L->cols = xcalloc(csv_cols(L->csv), sizeof(*L->cols));
	for (size_t c = 0; c < csv_cols(L->csv); c++) {
		if (wanted(L, want, csv_name(L->csv, c)))
			L->cols[L->n_cols++].src = c;
	}
	return 0;
}

/* Parse each kept column by its type; the target must be numbers. */
static int parse_columns(struct load *L)
{
	const char *ts = param(L, "timestamp");
	size_t n = csv_rows(L->csv);

	L->n = n;
	L->row = xmalloc((n ? n : 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		L->row[i] = i;
	for (size_t i = 0; i < L->n_cols; i++) {
		struct column *c = &L->cols[i];
		const char *name = csv_name(L->csv, c->src);
		int is_time = ts && !strcmp(name, ts);
		int is_num = !is_time && (csv_sniff(L->csv, c->src) == CSV_NUMBER ||
					  (L->target && !strcmp(name, L->target)));
		c->type = is_time ? CSV_TIME : is_num ? CSV_NUMBER : CSV_STRING;
		if (c->type == CSV_STRING)
			continue;
		c->v = xmalloc((n ? n : 1) * sizeof(double));
		if (is_time)
			L->time = c;
		if (is_time ? csv_times(L->csv, c->src, c->v, &L->err) :
		    csv_numbers(L->csv, c->src, c->v, &L->err))
			return -1;
	}
	return 0;
}

/* Keep the rows whose 'keep' flag is set, in every array. */
static void compact(struct load *L, const unsigned char *keep)
{
	size_t k = 0;

	for (size_t i = 0; i < L->n; i++) {
		if (!keep[i])
			continue;
		L->row[k] = L->row[i];
		for (size_t j = 0; j < L->n_cols; j++) {
			if (L->cols[j].v)
				L->cols[j].v[k] = L->cols[j].v[i];
		}
		k++;
	}
	L->dropped += L->n - k;
	L->n = k;
}

struct stamp {
	double t;
	size_t i;
};

/* By time, then by position: a stable order for qsort. */
static int cmp_stamp(const void *a, const void *b)
{
	const struct stamp *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Reorder every array by time. */
static void sort_rows(struct load *L)
{
	struct stamp *s = xmalloc(L->n * sizeof(*s));
	size_t *row = xmalloc(L->n * sizeof(size_t));

	for (size_t i = 0; i < L->n; i++)
		s[i] = (struct stamp){L->time->v[i], i};
	qsort(s, L->n, sizeof(*s), cmp_stamp);
	for (size_t j = 0; j < L->n_cols; j++) {
		double *v = L->cols[j].v, *g;
		if (!v)
			continue;
		g = xmalloc(L->n * sizeof(double));
		for (size_t i = 0; i < L->n; i++)
			g[i] = v[s[i].i];
		free(v);
		L->cols[j].v = g;
	}
	for (size_t i = 0; i < L->n; i++)
		row[i] = L->row[s[i].i];
	free(L->row);
	L->row = row;
	free(s);
}

/* Rows without a time, then time order: the 'unsorted' policy. */
static int order_rows(struct load *L, const char *missing, const char *unsorted)
{
	const double *t = L->time->v;
	unsigned char *keep = xmalloc(L->n + 1);
	char when[TIMEPARSE_TEXT_MAX];

	for (size_t i = 0; i < L->n; i++) {
		keep[i] = !isnan(t[i]);
		if (!keep[i] && strcmp(missing, "drop")) {
			free(keep);
			csv_error(L->csv, L->row[i], L->time->src, &L->err, "missing "
				  "timestamp (expected a time, or missing: drop)");
			return -1;
		}
	}
	compact(L, keep);
	free(keep);
	t = L->time->v;
	for (size_t i = 1; i < L->n; i++) {
		if (t[i] >= t[i - 1])
			continue;
		if (!strcmp(unsorted, "sort")) {
			sort_rows(L);
			return 0;
		}
		csv_error(L->csv, L->row[i], L->time->src, &L->err, "timestamp %s "
			  "is earlier than the one on line %zu (expected rising time, "
			  "or unsorted: sort)", timeparse_format((int64_t)floor(t[i]), when),
			  csv_line(L->csv, L->row[i - 1]));
		return -1;
	}
	return 0;
}

/* Replace v[a] by the mean of the known values in v[a..b). */
static void mean_into_first(double *v, size_t a, size_t b)
{
	double sum = 0;
	size_t k = 0;

	for (size_t i = a; i < b; i++) {
		if (!isnan(v[i])) {
			sum += v[i];
			k++;
		}
	}
	v[a] = k ? sum / (double)k : NAN;
}

/* Collapse the group of rows [a, b) that share a time into one row. */
static void merge_group(struct load *L, const char *policy, size_t a, size_t b,
			unsigned char *keep)
{
	for (size_t k = a + 1; k < b; k++)
		keep[k] = 0;
	if (!strcmp(policy, "last")) {
		keep[a] = 0;
		keep[b - 1] = 1;
	}
	for (size_t j = 0; j < L->n_cols && !strcmp(policy, "mean"); j++) {
		if (L->cols[j].v && &L->cols[j] != L->time)
			mean_into_first(L->cols[j].v, a, b);
	}
}

/* Rows sharing a time (adjacent once sorted): the 'duplicates' policy. */
static int merge_duplicates(struct load *L, const char *policy)
{
	const double *t = L->time->v;
	unsigned char *keep = xmalloc(L->n + 1);
	char when[TIMEPARSE_TEXT_MAX];
	size_t a, b;

	memset(keep, 1, L->n + 1);
	for (a = 0; a < L->n; a = b) {
		b = a + 1;
		while (b < L->n && t[b] == t[a])
			b++;
		if (b - a == 1)
			continue;
		if (!strcmp(policy, "error")) {
			free(keep);
			csv_error(L->csv, L->row[a + 1], L->time->src, &L->err,
				  "duplicate timestamp %s (also on line %zu; expected one "
				  "row per time, or duplicates: first, last or mean)",
				  timeparse_format((int64_t)floor(t[a]), when),
				  csv_line(L->csv, L->row[a]));
			return -1;
		}
		merge_group(L, policy, a, b, keep);
	}
	compact(L, keep);
	free(keep);
	return 0;
}

/* A row inserted at a missing time step: no CSV row behind it. */
#define NO_ROW ((size_t)-1)

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The most common difference between consecutive (sorted, distinct)
 * times, or 0 with fewer than two rows. */
static double common_step(const double *t, size_t n)
{
	double *d, best = 0;
	size_t i, run, best_run = 0;

	if (n < 2)
		return 0;
	d = xmalloc((n - 1) * sizeof(double));
	for (i = 1; i < n; i++)
		d[i - 1] = t[i] - t[i - 1];
	qsort(d, n - 1, sizeof(double), cmp_double);
	for (i = 0; i < n - 1; i += run) {
		for (run = 1; i + run < n - 1 && d[i + run] == d[i]; run++)
			;
		if (run > best_run) {
			best_run = run;
			best = d[i];
		}
	}
	free(d);
	return best;
}

/* Missing steps between rows i - 1 and i: 0 when the gap is at most
 * half a step over one step. */
static size_t missing_steps(const double *t, size_t i, double step)
{
	double slots = (t[i] - t[i - 1]) / step;

	return slots >= 1.5 ? (size_t)(slots + 0.5) - 1 : 0;
}

/* The 'gaps' policy (after sorting and merging duplicates). */
static int resolve_gaps(struct load *L, const char *policy, const char *missing)
{
	json_t *sp = json_object_get(kctx_params(L->ctx), "step");
	const double *t = L->time->v;
	double step = json_is_number(sp) ? json_number_value(sp) : common_step(t, L->n);
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];
	size_t extra = 0, i, k, o;

	if (!strcmp(policy, "keep") || step <= 0)
		return 0;
	if (!strcmp(policy, "fill") && !strcmp(missing, "error")) {
		err_set(&L->err, ERR_USER, "gaps: fill inserts rows without values: "
			"expected missing: ffill, interpolate or drop beside it");
		return -1;
	}
	for (i = 1; i < L->n; i++) {
		size_t m = missing_steps(t, i, step);
		if (m && !strcmp(policy, "error")) {
			csv_error(L->csv, L->row[i], L->time->src, &L->err, "a gap of %zu "
				  "missing step%s of %gs before this row (from %s to %s; "
				  "expected a row every %gs, or gaps: fill or keep)", m,
				  m == 1 ? "" : "s", step,
				  timeparse_format((int64_t)floor(t[i - 1]), a),
				  timeparse_format((int64_t)floor(t[i]), b), step);
			return -1;
		}
		extra += m;
	}
	if (extra == 0)
		return 0;
	for (size_t j = 0; j < L->n_cols; j++) {
		struct column *c = &L->cols[j];
		double *v;
		if (!c->v)
			continue;
		v = xmalloc((L->n + extra) * sizeof(double));
		for (i = 0, o = 0; i < L->n; i++) {
			size_t m = i ? missing_steps(c == L->time ? c->v : t, i, step) : 0;
			for (k = 1; k <= m; k++)
				v[o++] = c == L->time ? t[i - 1] + (double)k * step : NAN;
			v[o++] = c->v[i];
		}
		if (c != L->time)
			free(c->v), c->v = v;
		else
			L->gap_times = v;
	}
	{	/* the time column last: the others read its old values above */
		size_t *row = xmalloc((L->n + extra) * sizeof(size_t));
		for (i = 0, o = 0; i < L->n; i++) {
			size_t m = i ? missing_steps(t, i, step) : 0;
			for (k = 0; k < m; k++)
				row[o++] = NO_ROW;
			row[o++] = L->row[i];
		}
		free(L->row);
		L->row = row;
		free(L->time->v);
		L->time->v = L->gap_times;
		L->gap_times = NULL;
	}
	L->n += extra;
	L->inserted = extra;
	kctx_log(L->ctx, "gaps: inserted %zu rows at missing steps of %gs", extra, step);
	return 0;
}

/* Fill the gaps of 'v' inside its known values: carried forward, or on a
 * line through the neighbours (in time 'x', or by position without one).
 * Gaps at the ends stay: no value lies on both sides. */
static size_t fill_gaps(double *v, const double *x, size_t n, int interpolate)
{
	size_t filled = 0, last = n;   /* n: no known value yet */

	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		for (size_t k = last + 1; last < n && k < i; k++, filled++) {
			double xa = x ? x[last] : (double)last, xb = x ? x[i] : (double)i;
			double xk = x ? x[k] : (double)k;
			v[k] = interpolate ? v[last] + (v[i] - v[last]) * (xk - xa) / (xb - xa)
					   : v[last];
		}
		last = i;
	}
	for (size_t k = last + 1; !interpolate && last < n && k < n; k++, filled++)
		v[k] = v[last];
	return filled;
}

/* The 'missing' policy for number columns; rows still missing a value
 * afterwards are dropped (or, under 'error', reported). */
static int resolve_missing(struct load *L, const char *policy)
{
	const double *x = L->time ? L->time->v : NULL;
	unsigned char *keep = xmalloc(L->n + 1);
	int fill = !strcmp(policy, "ffill") || !strcmp(policy, "interpolate");

	for (size_t j = 0; j < L->n_cols && fill; j++) {
		if (L->cols[j].v && &L->cols[j] != L->time)
			L->filled += fill_gaps(L->cols[j].v, x, L->n,
					       !strcmp(policy, "interpolate"));
	}
	for (size_t i = 0; i < L->n; i++) {
		keep[i] = 1;
		for (size_t j = 0; j < L->n_cols; j++) {
			if (!L->cols[j].v || !isnan(L->cols[j].v[i]))
				continue;
			keep[i] = 0;
			if (strcmp(policy, "error"))
				continue;
			free(keep);
			csv_error(L->csv, L->row[i], L->cols[j].src, &L->err, "missing "
				  "value in column '%s' (expected a number, or missing: "
				  "drop, ffill or interpolate)", csv_name(L->csv, L->cols[j].src));
			return -1;
		}
	}
	compact(L, keep);
	free(keep);
	return 0;
}

/* A string column as a JSON array; invalid UTF-8 is refused. */
static int write_strings(struct load *L, const struct column *c,
			 struct table_writer *w)
{
	json_t *arr = json_array();
	int rc = 0;

	for (size_t i = 0; i < L->n && rc == 0; i++) {
		size_t n, tn;
		const char *s, *t;
		json_t *j;
		if (L->row[i] == NO_ROW) {   /* inserted at a gap: no value */
			json_array_append_new(arr, json_null());
			continue;
		}
		s = csv_field(L->csv, L->row[i], c->src, &n);
		tn = n;
		t = csv_trim(s, &tn);
		j = csv_is_missing(t, tn) ? json_null() : json_stringn(s, n);
		if (!j) {
			csv_error(L->csv, L->row[i], c->src, &L->err, "invalid UTF-8 in "
				  "column '%s' (expected UTF-8 text)", csv_name(L->csv, c->src));
			rc = -1;
		}
		json_array_append_new(arr, j);
	}
	if (rc == 0)
		rc = table_write_json(w, csv_name(L->csv, c->src), arr, &L->err);
	json_decref(arr);
	return rc;
}

/* One column's file. */
static int write_column(struct load *L, const struct column *c, struct table_writer *w)
{
	const char *name = csv_name(L->csv, c->src);
	int64_t *sec;
	int rc, cut = 0;

	if (!c->v)
		return write_strings(L, c, w);
	if (c != L->time)
		return table_write_numbers(w, name, c->v, &L->err);
	sec = xmalloc((L->n ? L->n : 1) * sizeof(*sec));
	for (size_t i = 0; i < L->n; i++) {
		sec[i] = (int64_t)floor(c->v[i]);
		cut |= (double)sec[i] != c->v[i];
	}
	if (cut)
		kctx_log(L->ctx, "note: sub-second parts of '%s' are cut: timestamp.npy "
			 "holds whole seconds", name);
	rc = table_write_times(w, name, sec, &L->err);
	free(sec);
	return rc;
}

/* Write every column, then schema.json (tasks/lib/table.h names the
 * files); or, failing, remove them all. */
static int write_outputs(struct load *L)
{
	struct table_writer w;
	json_t *extra;
	int rc = 0;

	table_writer_init(&w, kctx_out_dir(L->ctx), L->n,
			  L->time ? param(L, "timestamp") : NULL);
	for (size_t i = 0; i < L->n_cols && rc == 0; i++)
		rc = write_column(L, &L->cols[i], &w);
	extra = json_pack("{s:s?, s:s, s:I, s:I}", "target", L->target,
			  "source", param(L, "path"), "dropped_rows", (json_int_t)L->dropped,
			  "filled", (json_int_t)L->filled);
	if (rc == 0)
		rc = table_writer_finish(&w, extra, &L->err);
	if (rc)
		table_writer_remove(&w);
	json_decref(extra);
	table_writer_release(&w);
	return rc;
}

/* Read the file and parse the kept columns. */
static int load_table(struct load *L)
{
	const char *delim = param(L, "delimiter");
	json_t *ts = json_object_get(kctx_params(L->ctx), "timestamp");

	if (!json_is_null(ts) && !(json_is_string(ts) && json_string_length(ts))) {
		err_set(&L->err, ERR_USER, "timestamp: expected the name of the time "
			"column, or null for a table without one");
		return -1;
	}

	if (!delim || strlen(delim) != 1) {
		err_set(&L->err, ERR_USER, "delimiter: expected one byte such as ',' "
			"or ';', found '%s'", delim ? delim : "null");
		return -1;
	}
	L->csv = csv_load(kctx_path(L->ctx, "path"), delim[0], &L->err);
	if (!L->csv)
		return -1;
	if (csv_rows(L->csv) == 0) {
		err_set(&L->err, ERR_USER, "%s:2:1: expected data rows after the "
			"header, found none", csv_path(L->csv));
		return -1;
	}
	if (pick_columns(L) || parse_columns(L))
		return -1;
	if (!L->target)
		kctx_log(L->ctx, "note: no target column '%s' in '%s': schema.json has "
			 "target null", param(L, "target"), csv_path(L->csv));
	return 0;
}

/* Order, deduplicate and fill by the policies. */
static int apply_policies(struct load *L)
{
	const char *missing = param(L, "missing");

	if (L->time && (order_rows(L, missing, param(L, "unsorted")) ||
			merge_duplicates(L, param(L, "duplicates")) ||
			resolve_gaps(L, param(L, "gaps"), missing)))
		return -1;
	if (resolve_missing(L, missing))
		return -1;
	if (L->n == 0) {
		err_set(&L->err, ERR_USER, "%s: every row was dropped (expected some "
			"rows with all values present; missing: %s)", csv_path(L->csv),
			missing);
		return -1;
	}
	return 0;
}

static void release(struct load *L)
{
	for (size_t i = 0; L->cols && i < L->n_cols; i++) {
		free(L->cols[i].v);
	}
	free(L->cols);
	free(L->row);
	csv_free(L->csv);
}

static int run(struct kctx *ctx)
{
	struct load L;
	int rc;

	memset(&L, 0, sizeof(L));
	L.ctx = ctx;
	err_init(&L.err);
	rc = load_table(&L);
	if (rc == 0)
		rc = apply_policies(&L);
	if (rc == 0)
		rc = write_outputs(&L);
	if (rc) {
		rc = kctx_fail(ctx, L.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", L.err.msg);
	} else {
		kctx_metric(ctx, "rows", -1, (double)L.n);
		kctx_metric(ctx, "dropped_rows", -1, (double)L.dropped);
		kctx_metric(ctx, "inserted_rows", -1, (double)L.inserted);
		kctx_log(ctx, "loaded %zu rows of %zu columns from '%s' (dropped %zu, "
			 "filled %zu)", L.n, L.n_cols, csv_path(L.csv), L.dropped, L.filled);
	}
	release(&L);
	return rc;
}

static const char doc[] =
	"Load a CSV file (RFC 4180, header row) into one .npy file per column "
	"plus schema.json: the timestamp column as int64 unix seconds in "
	"timestamp.npy, numbers as float64, strings as JSON lists. Rows are "
	"sorted by time; duplicates and missing values follow the policies.";

const struct kernel kernel_data_load = {"data.load", 1, params, doc, run};
