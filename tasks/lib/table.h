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
 * Not thread-safe; read-only after opening. */
#ifndef DAGRUN_TABLE_H
#define DAGRUN_TABLE_H

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

#endif
