/* table: see table.h. */
#include "table.h"
#include "fs.h"
#include "npy.h"
#include "strbuf.h"
#include "xalloc.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const type_names[] = {
	[TABLE_NUMBER] = "number", [TABLE_STRING] = "string", [TABLE_TIME] = "timestamp"
};

const char *table_type_name(enum table_type type)
{
	return type_names[type];
}

static int parse_type(const char *s, enum table_type *out)
{
	for (int k = 0; k < 3; k++) {
		if (s && !strcmp(s, type_names[k])) {
			*out = (enum table_type)k;
			return 0;
		}
	}
	return -1;
}

/* One entry of "columns" into 'c'; -1 if it is not {"name", "type",
 * "file"} with a file name that stays inside the folder. */
static int read_column(json_t *e, struct table_column *c)
{
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *file = json_string_value(json_object_get(e, "file"));

	if (!name || parse_type(type, &c->type) || !file || !*file ||
	    strchr(file, '/') || file[0] == '.')
		return -1;
	c->name = xstrdup(name);
	c->file = xstrdup(file);
	return 0;
}

/* The columns of 'schema'; -1 at the first malformed entry. */
static int read_columns(json_t *schema, struct table *t)
{
	json_t *cols = json_object_get(schema, "columns"), *e;
	const char *ts = json_string_value(json_object_get(schema, "timestamp"));
	size_t i;

	if (!json_is_array(cols))
		return -1;
	t->cols = xcalloc(json_array_size(cols) + 1, sizeof(*t->cols));
	json_array_foreach(cols, i, e) {
		if (read_column(e, &t->cols[i]))
			return -1;
		t->n++;
		if (ts && t->cols[i].type == TABLE_TIME && !strcmp(t->cols[i].name, ts))
			t->time = (long)i;
	}
	return 0;
}

int table_open(const char *dir, struct table *t, struct err *err)
{
	char *path = fs_join(dir, "schema.json");
	json_t *schema, *rows;
	json_error_t je;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->dir = xstrdup(dir);
	t->time = -1;
	schema = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	rows = json_object_get(schema, "rows");
	if (!schema) {
		err_set(err, ERR_USER, "%s:%d:%d: %s (expected data.load's schema.json)",
			path, je.line, je.column, je.text);
		rc = -1;
	} else if (!json_is_integer(rows) || json_integer_value(rows) < 0 ||
		   read_columns(schema, t)) {
		err_set(err, ERR_USER, "%s: expected data.load's schema: \"rows\", and "
			"\"columns\" of {\"name\", \"type\": number|string|timestamp, "
			"\"file\"}", path);
		rc = -1;
	} else {
		t->rows = (size_t)json_integer_value(rows);
	}
	json_decref(schema);
	free(path);
	return rc;
}

void table_close(struct table *t)
{
	for (size_t i = 0; t->cols && i < t->n; i++) {
		free(t->cols[i].name);
		free(t->cols[i].file);
	}
	free(t->cols);
	free(t->dir);
	memset(t, 0, sizeof(*t));
	t->time = -1;
}

long table_find(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->cols[i].name, name))
			return (long)i;
	return -1;
}

char *table_names(const struct table *t)
{
	struct strbuf sb;

	sb_init(&sb);
	for (size_t i = 0; i < t->n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", t->cols[i].name);
	return sb_detach(&sb);
}

/* The .npy of column 'c' as 'rows' values of 'dt' (caller frees). */
static void *read_npy(const struct table *t, size_t c, enum npy_dtype dt,
		      struct err *err)
{
	char *path = fs_join(t->dir, t->cols[c].file);
	struct npy_array a;
	void *data = NULL;

	if (npy_read(path, &a, err) == 0) {
		if (a.dtype == dt && a.ndim == 1 && a.count == t->rows)
			data = a.data;
		else
			err_set(err, ERR_USER, "%s: expected %zu values of %s, as "
				"schema.json says", path, t->rows, npy_dtype_descr(dt));
		if (!data)
			npy_release(&a);
	}
	free(path);
	return data;
}

double *table_numbers(const struct table *t, size_t c, struct err *err)
{
	return read_npy(t, c, NPY_F8, err);
}

int64_t *table_times(const struct table *t, struct err *err)
{
	return t->time < 0 ? NULL : read_npy(t, (size_t)t->time, NPY_I8, err);
}

char **table_strings(const struct table *t, size_t c, struct err *err)
{
	char *path = fs_join(t->dir, t->cols[c].file);
	json_t *a = json_load_file(path, 0, NULL), *v;
	char **s = NULL;
	size_t i;
	int ok = json_is_array(a) && json_array_size(a) == t->rows;

	json_array_foreach(a, i, v)
		ok = ok && (json_is_string(v) || json_is_null(v));
	if (ok) {
		s = xcalloc(t->rows + 1, sizeof(char *));
		json_array_foreach(a, i, v)
			s[i] = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	} else {
		err_set(err, ERR_USER, "%s: expected a JSON list of %zu strings and "
			"nulls, as schema.json says", path, t->rows);
	}
	json_decref(a);
	free(path);
	return s;
}

void table_strings_free(char **s, size_t rows)
{
	for (size_t i = 0; s && i < rows; i++)
		free(s[i]);
	free(s);
}

/* --- writing */

void table_writer_init(struct table_writer *w, const char *dir, size_t rows,
		       const char *time_name)
{
	memset(w, 0, sizeof(*w));
	w->dir = xstrdup(dir);
	w->rows = rows;
	w->time_name = time_name ? xstrdup(time_name) : NULL;
}

void table_writer_release(struct table_writer *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->cols[i].name);
		free(w->cols[i].file);
	}
	free(w->cols);
	free(w->dir);
	free(w->time_name);
	memset(w, 0, sizeof(*w));
}

/* A file stem from a column name: [A-Za-z0-9_.-] kept, other bytes '_',
 * no leading dot (no hidden files, no "..").  Caller frees. */
static char *safe_stem(const char *name)
{
	char *s = xstrdup(*name ? name : "column");

	for (char *p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			 (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
			 (*p == '.' && p != s);
		if (!ok)
			*p = '_';
	}
	return s;
}

/* 1 if a column of 'type' may not take the stem 'cand': an earlier column
 * has it, or it is schema, or timestamp (kept for the time column). */
static int stem_taken(const struct table_writer *w, enum table_type type,
		      const char *cand)
{
	size_t len = strlen(cand);

	if (!strcmp(cand, "schema") ||
	    (w->time_name && type != TABLE_TIME && !strcmp(cand, "timestamp")))
		return 1;
	for (size_t j = 0; j < w->n; j++) {
		const char *f = w->cols[j].file, *ext = strrchr(f, '.');
		if ((size_t)(ext - f) == len && !strncmp(f, cand, len))
			return 1;     /* the same stem: the extension differs */
	}
	return 0;
}

/* Name a new column and return its path (caller frees). */
static char *add_column(struct table_writer *w, const char *name, enum table_type type)
{
	char *stem = type == TABLE_TIME ? xstrdup("timestamp") : safe_stem(name);
	char *cand = xstrdup(stem);
	struct table_column *c;

	for (int k = 2; stem_taken(w, type, cand); k++) {
		free(cand);
		cand = xasprintf("%s_%d", stem, k);
	}
	xgrow((void **)&w->cols, sizeof(*w->cols), &w->cap, w->n + 1);
	c = &w->cols[w->n++];
	c->name = xstrdup(name);
	c->type = type;
	c->file = xasprintf("%s.%s", cand, type == TABLE_STRING ? "json" : "npy");
	free(cand);
	free(stem);
	return fs_join(w->dir, c->file);
}

int table_write_numbers(struct table_writer *w, const char *name, const double *v,
			struct err *err)
{
	size_t shape[1] = {w->rows};
	char *path = add_column(w, name, TABLE_NUMBER);
	int rc = npy_write(path, NPY_F8, 1, shape, v, err);

	free(path);
	return rc;
}

int table_write_times(struct table_writer *w, const char *name, const int64_t *v,
		      struct err *err)
{
	size_t shape[1] = {w->rows};
	char *path = add_column(w, name, TABLE_TIME);
	int rc = npy_write(path, NPY_I8, 1, shape, v, err);

	free(path);
	return rc;
}

int table_write_json(struct table_writer *w, const char *name, json_t *strings,
		     struct err *err)
{
	char *path = add_column(w, name, TABLE_STRING);
	int rc = 0;

	assert(json_is_array(strings) && json_array_size(strings) == w->rows);
	if (json_dump_file(strings, path, JSON_COMPACT) < 0) {
		err_set(err, ERR_IO, "cannot write '%s'", path);
		rc = -1;
	}
	free(path);
	return rc;
}

int table_write_strings(struct table_writer *w, const char *name,
			const char *const *v, struct err *err)
{
	json_t *arr = json_array();
	int rc = 0;

	for (size_t i = 0; i < w->rows && rc == 0; i++) {
		json_t *j = v[i] ? json_string(v[i]) : json_null();
		if (!j) {
			err_set(err, ERR_USER, "column '%s', row %zu: invalid UTF-8 "
				"(expected UTF-8 text)", name, i + 1);
			rc = -1;
		}
		json_array_append_new(arr, j);
	}
	if (rc == 0)
		rc = table_write_json(w, name, arr, err);
	json_decref(arr);
	return rc;
}

int table_writer_finish(struct table_writer *w, json_t *extra, struct err *err)
{
	char *path = fs_join(w->dir, "schema.json");
	json_t *cols = json_array(), *s;
	int rc;

	for (size_t i = 0; i < w->n; i++) {
		const struct table_column *c = &w->cols[i];
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "name", c->name,
			"type", table_type_name(c->type), "file", c->file));
	}
	s = json_pack("{s:I, s:o, s:s?}", "rows", (json_int_t)w->rows, "columns", cols,
		      "timestamp", w->time_name);
	if (extra)
		json_object_update(s, extra);
	rc = json_dump_file(s, path, JSON_INDENT(2)) < 0 ? -1 : 0;
	if (rc)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	json_decref(s);
	free(path);
	return rc;
}

void table_writer_remove(struct table_writer *w)
{
	char *path = fs_join(w->dir, "schema.json");

	unlink(path);
	free(path);
	for (size_t i = 0; i < w->n; i++) {
		path = fs_join(w->dir, w->cols[i].file);
		unlink(path);
		free(path);
	}
}
