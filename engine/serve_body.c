/* serve_body: request bodies to forecaster tables, results to JSON (see
 * serve_body.h).
 *
 * A CSV body goes through forecaster_read_csv() itself, so that a table
 * POSTed to the server is read exactly as `dagrun predict` reads the same
 * file: it is staged in an anonymous memory file (memfd) and read through
 * /proc/self/fd, never touching the disk.  (forecaster.h has no reader of
 * a buffer; if it grows one, read_csv() becomes one call.)
 *
 * A JSON body is read with jansson, which also words its errors. */
#include "serve_body.h"
#include "timeparse.h"
#include "xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* 9.2e18: int64 seconds stay exact and in range below this */
#define TIME_MAX 9.2e18

int serve_body_format(const char *content_type)
{
	size_t n;

	if (!content_type)
		return SERVE_BODY_JSON;
	while (*content_type == ' ')
		content_type++;
	n = strcspn(content_type, "; ");
	if (n == 0 || (n == 16 && !strncasecmp(content_type, "application/json", n)))
		return SERVE_BODY_JSON;
	if ((n == 8 && !strncasecmp(content_type, "text/csv", n)) ||
	    (n == 15 && !strncasecmp(content_type, "application/csv", n)))
		return SERVE_BODY_CSV;
	return -1;
}

/* ---- JSON ---------------------------------------------------------------- */

/* The model's columns as "a, b, OT" (caller frees). */
static char *column_list(const struct forecaster *f)
{
	struct strbuf sb;

	sb_init(&sb);
	for (size_t i = 0; i < forecaster_n_columns(f); i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", forecaster_column(f, i));
	return sb_detach(&sb);
}

/* The time 'v' of row 'i' in whole seconds. */
static int read_time(const json_t *v, size_t i, const char *key, int64_t *t,
		     struct err *err)
{
	struct timeparse_time tp;
	const char *s = json_string_value(v);
	double x;

	if (json_is_integer(v)) {
		*t = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		x = floor(json_real_value(v));
		if (fabs(x) < TIME_MAX) {
			*t = (int64_t)x;
			return 0;
		}
	} else if (s) {
		size_t n = json_string_length(v);
		if (timeparse_iso8601(s, n, &tp) == 0 ||
		    (timeparse_is_unix(s, n) && timeparse_unix(s, n, &tp) == 0)) {
			*t = tp.sec;
			return 0;
		}
	}
	if (!v)
		err_set(err, ERR_USER, "rows[%zu]: no time '%s' (expected an ISO 8601 "
			"time or unix seconds under '%s' in every row)", i, key, key);
	else
		err_set(err, ERR_USER, "rows[%zu]: time '%s' is not a time (expected an "
			"ISO 8601 time such as \"2016-07-01T00:00:00\" or unix seconds)",
			i, key);
	return -1;
}

/* The times of every row, strictly rising. */
static int read_times(const json_t *rows, const char *key,
		      struct forecaster_table *tb, struct err *err)
{
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];

	for (size_t i = 0; i < tb->rows; i++) {
		const json_t *row = json_array_get(rows, i);
		if (!json_is_object(row)) {
			err_set(err, ERR_USER, "rows[%zu]: expected an object of column "
				"values, such as {\"timestamp\": ..., \"OT\": 1.5}", i);
			return -1;
		}
		if (read_time(json_object_get(row, key), i, key, &tb->t[i], err) < 0)
			return -1;
		if (i > 0 && tb->t[i] <= tb->t[i - 1]) {
			err_set(err, ERR_USER, "rows[%zu]: time %s is not after %s of "
				"rows[%zu] (expected rising times, one row per time)", i,
				timeparse_format(tb->t[i], a), timeparse_format(tb->t[i - 1], b),
				i - 1);
			return -1;
		}
	}
	return 0;
}

/* Column 'name' of every row into the table; 'needed': a number in each
 * row, else null or absent is an unknown value (NAN). */
static int read_column(const json_t *rows, const char *name, int needed,
		       struct forecaster_table *tb, struct err *err)
{
	double *v = xmalloc((tb->rows ? tb->rows : 1) * sizeof(double));

	for (size_t i = 0; i < tb->rows; i++) {
		const json_t *x = json_object_get(json_array_get(rows, i), name);
		if (json_is_number(x)) {
			v[i] = json_number_value(x);
			continue;
		}
		if (!needed && (!x || json_is_null(x))) {
			v[i] = NAN;
			continue;
		}
		err_set(err, ERR_USER, "rows[%zu]: %s '%s' (expected a number: the model "
			"reads every row of it)", i, !x ? "no column" : json_is_null(x) ?
			"missing value in column" : "not a number in column", name);
		free(v);
		return -1;
	}
	features_add(&tb->cols, xstrdup(name), v, 0);
	return 0;
}

/* Every column the model reads missing from the first row, as
 * "'a', 'b'" (caller frees), or NULL. */
static char *missing_columns(const struct forecaster *f, const json_t *row)
{
	struct strbuf sb;
	int n = 0;

	sb_init(&sb);
	for (size_t i = 0; i < forecaster_n_columns(f); i++)
		if (!json_object_get(row, forecaster_column(f, i)))
			sb_addf(&sb, "%s'%s'", n++ ? ", " : "", forecaster_column(f, i));
	if (n)
		return sb_detach(&sb);
	sb_release(&sb);
	return NULL;
}

static int read_columns(const struct forecaster *f, const json_t *rows,
			struct forecaster_table *tb, struct err *err)
{
	const char *target = forecaster_target(f);
	char *missing = tb->rows ? missing_columns(f, json_array_get(rows, 0)) : NULL;
	int listed = 0;

	if (missing) {
		char *want = column_list(f);
		err_set(err, ERR_USER, "rows[0]: no column %s (the %s model reads %s)",
			missing, forecaster_kind_name(f), want);
		free(missing);
		free(want);
		return -1;
	}
	for (size_t i = 0; i < forecaster_n_columns(f); i++) {
		listed |= target && !strcmp(forecaster_column(f, i), target);
		if (read_column(rows, forecaster_column(f, i), 1, tb, err) < 0)
			return -1;
	}
	if (!target || listed)
		return 0;
	for (size_t i = 0; i < tb->rows; i++)
		if (json_object_get(json_array_get(rows, i), target))
			return read_column(rows, target, 0, tb, err);
	return 0;
}

static int read_json(const struct forecaster *f, const char *body, size_t len,
		     const char *time_col, struct forecaster_table *tb,
		     struct err *err)
{
	json_error_t je;
	json_t *doc;
	const json_t *rows;
	int rc = -1;

	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	rows = json_object_get(doc, "rows");
	tb->source = xstrdup("body");
	features_init(&tb->cols, 0);
	if (!doc) {
		err_set(err, ERR_USER, "body:%d:%d: not JSON: %s", je.line, je.column,
			je.text);
		return -1;
	}
	if (!json_is_array(rows)) {
		err_set(err, ERR_USER, "body: expected an object {\"rows\": [{\"timestamp\": "
			"..., \"COLUMN\": NUMBER, ...}, ...]}%s", json_is_object(doc) ?
			(rows ? " ('rows' is not an array)" : " (no 'rows')") : "");
		goto out;
	}
	tb->rows = json_array_size(rows);
	features_release(&tb->cols);
	features_init(&tb->cols, tb->rows);
	tb->t = xmalloc((tb->rows ? tb->rows : 1) * sizeof(int64_t));
	if (read_times(rows, time_col ? time_col : "timestamp", tb, err) == 0)
		rc = read_columns(f, rows, tb, err);
out:
	json_decref(doc);
	return rc;
}

/* ---- CSV ----------------------------------------------------------------- */

/* Say "body" where the message names the staging path 'path' (a path
 * followed by another digit is another file). */
static void name_body(struct err *err, const char *path)
{
	size_t n = strlen(path);
	char *at = err->msg;

	for (at = strstr(at, path); at; at = strstr(at, path)) {
		if (at[n] >= '0' && at[n] <= '9') {
			at += n;
			continue;
		}
		memcpy(at, "body", 4);
		memmove(at + 4, at + n, strlen(at + n) + 1);
		at += 4;
	}
}

static int read_csv(const struct forecaster *f, const char *body, size_t len,
		    const char *time_col, struct forecaster_table *tb,
		    struct err *err)
{
	char path[64];
	size_t done = 0;
	int fd = memfd_create("dagrun-serve-body", MFD_CLOEXEC), rc;

	if (fd < 0) {
		memset(tb, 0, sizeof(*tb));
		err_set(err, ERR_IO, "cannot stage the CSV body: memfd_create: %s",
			strerror(errno));
		return -1;
	}
	while (done < len) {
		ssize_t w = write(fd, body + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			memset(tb, 0, sizeof(*tb));
			err_set(err, ERR_IO, "cannot stage the CSV body: %s", strerror(errno));
			return -1;
		}
		done += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = forecaster_read_csv(f, path, time_col, tb, err);
	close(fd);
	if (rc < 0)
		name_body(err, path);
	free(tb->source);
	tb->source = xstrdup("body");
	return rc;
}

int serve_body_read(const struct forecaster *f, enum serve_body_format fmt,
		    const char *body, size_t len, const char *time_col,
		    struct forecaster_table *tb, struct err *err)
{
	memset(tb, 0, sizeof(*tb));
	if (fmt == SERVE_BODY_CSV)
		return read_csv(f, body, len, time_col, tb, err);
	return read_json(f, body, len, time_col, tb, err);
}

/* ---- the answer ---------------------------------------------------------- */

void serve_body_json_string(struct strbuf *out, const char *s)
{
	sb_addc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			sb_addc(out, '\\');
			sb_addc(out, (char)c);
		} else if (c == '\n') {
			sb_adds(out, "\\n");
		} else if (c < 0x20) {
			sb_addf(out, "\\u%04x", c);
		} else {
			sb_addc(out, (char)c);
		}
	}
	sb_addc(out, '"');
}

static void add_number(struct strbuf *out, double x)
{
	if (isfinite(x))
		sb_addf(out, "%.17g", x);
	else
		sb_adds(out, "null");
}

/* ,"name":x or ,"name":[x1,...] for 'h' values at 'v'. */
static void add_values(struct strbuf *out, const char *name, const double *v,
		       size_t h)
{
	sb_addf(out, ",\"%s\":", name);
	if (h == 1) {
		add_number(out, v[0]);
		return;
	}
	sb_addc(out, '[');
	for (size_t k = 0; k < h; k++) {
		if (k)
			sb_addc(out, ',');
		add_number(out, v[k]);
	}
	sb_addc(out, ']');
}

static int any_known(const double *v, size_t h)
{
	for (size_t k = 0; k < h; k++)
		if (!isnan(v[k]))
			return 1;
	return 0;
}

void serve_body_answer(const struct forecaster_result *r,
		       const struct serve_body_source *src, struct strbuf *out)
{
	char when[TIMEPARSE_TEXT_MAX];
	size_t h = r->horizon ? r->horizon : 1;

	sb_adds(out, "{\"model\":");
	serve_body_json_string(out, src->model);
	sb_adds(out, ",\"alias\":");
	serve_body_json_string(out, src->alias);
	sb_addf(out, ",\"version\":%lld,\"kind\":", (long long)src->version);
	serve_body_json_string(out, src->kind ? src->kind : "");
	sb_adds(out, ",\"target\":");
	serve_body_json_string(out, src->target ? src->target : "");
	sb_addf(out, ",\"horizon\":%zu,\"step_seconds\":%lld,\"windows\":%zu,"
		"\"predictions\":[", h, (long long)r->step, r->windows);
	for (size_t i = 0; i < r->n; i++) {
		sb_addf(out, "%s{\"timestamp\":\"%s\"", i ? "," : "",
			timeparse_format(r->t[i], when));
		add_values(out, "yhat", r->yhat + i * h, h);
		if (r->lower && r->upper) {
			add_values(out, "yhat_lower", r->lower + i * h, h);
			add_values(out, "yhat_upper", r->upper + i * h, h);
		}
		if (r->y && any_known(r->y + i * h, h))
			add_values(out, "y", r->y + i * h, h);
		sb_addc(out, '}');
	}
	sb_adds(out, "]}");
}
