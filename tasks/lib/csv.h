/* csv: a fast RFC 4180 reader with typed columns.
 *
 * The whole file is read into memory once and split into records of
 * fields; a field is a (pointer, length) slice of that buffer, so nothing
 * is copied except quoted fields holding escaped quotes (""), which are
 * unescaped into a side buffer.  The buffer itself is never modified, so
 * the physical position of any field can be recomputed for an error.
 *
 * Accepted: fields separated by a one-byte delimiter; quoted fields with
 * "" for a quote and with the delimiter, CR or LF inside; records ended by
 * LF, CRLF or a lone CR; a UTF-8 BOM; no final line break.  Blank lines
 * are skipped (so in a one-column file an empty line is not a value).
 * The first record is the header: its names must be unique; an empty name
 * becomes "column_N" (N counted from 1).
 * Refused (ERR_USER, "path:line:col: what was expected", lines and byte
 * columns counted from 1): an empty file, a record whose field count
 * differs from the header's, a quote inside an unquoted field, text after
 * a closing quote, an unterminated quote, a NUL byte (a binary file).
 *
 * Typed access: a column's type is that of its first non-missing value
 * (number, then ISO 8601 timestamp, else string); csv_numbers() and
 * csv_times() then insist every non-missing value has that type, and say
 * where one does not.  Missing values are empty fields and NA, NaN, null,
 * N/A in any case.  Values are trimmed of spaces and tabs before typing.
 *
 * A table is read-only once loaded: it may be shared between threads. */
#ifndef DAGRUN_CSV_H
#define DAGRUN_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct csv_table;

enum csv_type {
	CSV_NUMBER,
	CSV_TIME,
	CSV_STRING
};

/* Read and split 'path' with the delimiter 'delim'.  Returns a new table
 * that the caller frees with csv_free(), or NULL with 'err' set: ERR_USER
 * for a malformed or missing file, ERR_IO if it cannot be read. */
struct csv_table *csv_load(const char *path, char delim, struct err *err);

/* The same from 'len' bytes at 'data' (copied); 'name' is used in
 * messages as the file name. */
struct csv_table *csv_parse(const char *name, const char *data, size_t len,
			    char delim, struct err *err);

void csv_free(struct csv_table *t);

/* Data records (the header not counted) and columns. */
size_t csv_rows(const struct csv_table *t);
size_t csv_cols(const struct csv_table *t);
/* The file name given to csv_load/csv_parse (borrowed). */
const char *csv_path(const struct csv_table *t);
/* Column 'col''s header name (borrowed, NUL-terminated). */
const char *csv_name(const struct csv_table *t, size_t col);
/* The index of the column named 'name', or -1. */
long csv_find(const struct csv_table *t, const char *name);

/* Field 'col' of data record 'row', unescaped, not NUL-terminated, its
 * length in '*len' (borrowed, valid until csv_free). */
const char *csv_field(const struct csv_table *t, size_t row, size_t col,
		      size_t *len);

/* The physical line on which data record 'row' starts. */
size_t csv_line(const struct csv_table *t, size_t row);

/* The physical line and byte column where field 'col' of 'row' starts
 * (its opening quote, if quoted).  Re-scans the record: for errors. */
void csv_locate(const struct csv_table *t, size_t row, size_t col,
		size_t *line, size_t *colno);

/* Set 'err' (ERR_USER) to "path:line:col: " for field (row, col) followed
 * by the formatted message. */
void csv_error(const struct csv_table *t, size_t row, size_t col,
	       struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The type of column 'col' by its first non-missing value; CSV_NUMBER
 * when every value is missing. */
enum csv_type csv_sniff(const struct csv_table *t, size_t col);
const char *csv_type_name(enum csv_type type);

/* Parse column 'col' into out[0..csv_rows) as doubles, NaN for missing.
 * Returns 0, or -1 with 'err' set at the first value that is not a number:
 * "path:5:12: expected a number in column 'value', found 'abc'". */
int csv_numbers(const struct csv_table *t, size_t col, double *out,
		struct err *err);

/* Parse column 'col' into out[0..csv_rows) as unix seconds (fraction
 * kept), NaN for missing.  The column is unix seconds if every
 * non-missing value is digits (with an optional fraction), else every one
 * must be ISO 8601 (see timeparse.h).  Returns 0, or -1 with 'err' set at
 * the first value that is not a timestamp. */
int csv_times(const struct csv_table *t, size_t col, double *out,
	      struct err *err);

/* 1 if s[0..n) (already trimmed) is a missing value, else 0. */
int csv_is_missing(const char *s, size_t n);

/* Parse a whole decimal number s[0..n) (already trimmed): [+-] digits
 * [. digits] [e [+-] digits], or inf/infinity.  The result is bit-for-bit
 * strtod's (a fast exact path for up to 19 digits and small exponents,
 * strtod for the rest).  Returns 0, or -1 if s is not a number (hex
 * floats, "nan" and stray text included). */
int csv_parse_number(const char *s, size_t n, double *out);

/* Trim spaces and tabs from both ends of s[0..*n); returns the new start. */
const char *csv_trim(const char *s, size_t *n);

/* Write 's' to 'f' as one field: as it is, or quoted (RFC 4180, "" for a
 * quote) when it holds a comma, a quote or a line break, so that this
 * module reads it back as 's'. */
void csv_write_field(FILE *f, const char *s);

#endif
