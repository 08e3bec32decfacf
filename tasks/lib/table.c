/* table: see table.h. */
#include "table.h"
#include "fs.h"
#include "npy.h"
#include "strbuf.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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
