/* table: the output folder of a data.load node, read as named columns.
 *
 * data.load writes schema.json ({"rows", "columns": [{"name", "type",
 * "file"}], "timestamp", ...}) and one file per column: a number column
 * as float64 <file>.npy, the time column as int64 unix seconds, a string
 * column as a JSON array of strings (null where the value was missing).
 * table_open() reads and checks the schema only; each column is read when
 * asked for, and checked against the schema's row count.
 *
 * Invariant: after table_open() succeeds, every column has a name, a type
 * and a file name without a slash or a leading dot (nothing is ever read
 * outside 'dir'), and 'time' is the index of the time column or -1.
 * Not thread-safe; read-only after opening.
 *
 * The writer (table_writer_*) makes the same folder from columns in
 * memory: data.load writes through it, and so does any kernel whose output
 * is a table, so that every reader of data.load's format reads it too. */
#ifndef DAGRUN_TABLE_H
#define DAGRUN_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum table_type { TABLE_NUMBER, TABLE_STRING, TABLE_TIME };

struct table_column {
	char *name;              /* as in the CSV header; owned */
	enum table_type type;
	char *file;              /* inside the folder; owned */
};

struct table {
	char *dir;               /* owned */
	size_t rows;
	size_t n;                /* columns */
	struct table_column *cols;
	long time;               /* the time column, or -1 */
};

/* "number", "string", "timestamp": the schema's names. */
const char *table_type_name(enum table_type type);

/* Read 'dir'/schema.json into 't' (initialised here; close it even on
 * failure).  Returns 0, or -1 with 'err' set (ERR_USER naming the file:
 * not a data.load schema; ERR_IO: unreadable). */
int table_open(const char *dir, struct table *t, struct err *err);
void table_close(struct table *t);

/* The index of the column called 'name', or -1. */
long table_find(const struct table *t, const char *name);
/* The column names as "a, b, c", for messages; caller frees. */
char *table_names(const struct table *t);

/* Number column 'c' as 'rows' doubles (caller frees), or NULL with 'err'
 * set (ERR_USER: the file is not such a column). */
double *table_numbers(const struct table *t, size_t c, struct err *err);
/* The time column as 'rows' int64 unix seconds (caller frees); NULL with
 * 'err' set as above, or without a time column. */
int64_t *table_times(const struct table *t, struct err *err);
/* String column 'c' as 'rows' strings, NULL for a missing value; the
 * caller frees them with table_strings_free().  NULL with 'err' set
 * (ERR_USER: not a JSON array of 'rows' strings and nulls). */
char **table_strings(const struct table *t, size_t c, struct err *err);
void table_strings_free(char **s, size_t rows);

/* --- writing
 *
 * A column's file name comes from its name: bytes other than
 * [A-Za-z0-9_.-] become '_', no leading dot, the time column is always
 * "timestamp", and a name already taken (or "schema", or "timestamp" for
 * another column when the table has a time column) gets _2, _3, ...; then
 * ".npy" or ".json".  Columns appear in schema.json in the order written.
 * schema.json is written last, by table_writer_finish(): a folder without
 * it is no table. */
struct table_writer {
	char *dir;               /* owned */
	size_t rows;
	char *time_name;         /* the time column's name, or NULL; owned */
	size_t n, cap;
	struct table_column *cols;   /* named so far, written or not */
};

/* Start a table of 'rows' rows in the existing folder 'dir'; 'time_name'
 * (may be NULL) names the time column that will be written.  Release with
 * table_writer_release(). */
void table_writer_init(struct table_writer *w, const char *dir, size_t rows,
		       const char *time_name);
void table_writer_release(struct table_writer *w);

/* Write one column of 'rows' values: numbers as float64 .npy, the time
 * column as int64 .npy, strings as a JSON list (a NULL string is a missing
 * value, null).  table_write_json takes the JSON list itself (borrowed;
 * 'rows' strings and nulls, asserted), for a caller that checks the text
 * as it builds it.  Each returns 0, or -1 with 'err' set: ERR_IO, or
 * ERR_USER for a string that is not UTF-8 (naming the column and row). */
int table_write_numbers(struct table_writer *w, const char *name, const double *v,
			struct err *err);
int table_write_times(struct table_writer *w, const char *name, const int64_t *v,
		      struct err *err);
int table_write_strings(struct table_writer *w, const char *name,
			const char *const *v, struct err *err);
int table_write_json(struct table_writer *w, const char *name, json_t *strings,
		     struct err *err);

/* Write schema.json: {"rows", "columns": [{"name", "type", "file"}],
 * "timestamp": the time column's name or null}, then every key of 'extra'
 * (a JSON object, borrowed, may be NULL) in its order.  Returns 0, or -1
 * with 'err' set (ERR_IO). */
int table_writer_finish(struct table_writer *w, json_t *extra, struct err *err);
/* Remove every file the writer named, and schema.json: after a failure,
 * so that no partial table remains. */
void table_writer_remove(struct table_writer *w);

#endif
