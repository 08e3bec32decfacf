/* csv: see csv.h.
 *
 * Invariants: 't->data' holds the file unmodified plus a NUL at
 * data[len], which the scanners use as a sentinel (a NUL inside the file
 * is refused where the scanners meet it, so a NUL that stops a scan at
 * data + len is the end).  A field is 8 bytes: its offset from its
 * record's start and its length, or, for a field unescaped into 'esc'
 * (marked by ESCAPED in 'len'), its index in 'esc_off'; offsets, not
 * pointers, because 'esc' moves as it grows.  Record 0 is the header;
 * data row r is record r + 1, and its fields are fields[(r + 1) * n_cols ...].
 * Small fields matter: on a 30 MB file, touching fresh memory costs about
 * as much as parsing it. */
#include "csv.h"
#include "strbuf.h"
#include "timeparse.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2^31 - 1: the longest record, so that a field's offset in its record
 * and its length fit in 31 bits; the top bit of 'len' marks ESCAPED. */
#define RECORD_MAX 0x7fffffffu
#define ESCAPED 0x80000000u
/* 2 MiB: a transparent huge page on x86-64 and arm64 */
#define HUGE_PAGE ((uintptr_t)2 << 20)

struct field {
	uint32_t rel;   /* from the record's start, or an index in esc_off */
	uint32_t len;   /* | ESCAPED */
};

struct record {
	size_t off;   /* first byte; a record always starts a physical line */
	size_t line;
};

struct csv_table {
	char *path;
	char *data;
	size_t len;
	char delim;
	size_t n_cols, n_rows;
	char **names;
	struct field *fields;
	size_t n_fields, fields_cap;
	struct record *recs;
	size_t n_recs, recs_cap;
	struct strbuf esc;      /* unescaped fields, back to back */
	size_t *esc_off;        /* where each one starts in 'esc' */
	size_t n_esc, esc_cap;
};

/* The scanner's position; 'line_start' makes byte columns for errors. */
struct parser {
	struct csv_table *t;
	const char *p, *end;
	size_t line, line_start;
	unsigned char stop[256];  /* bytes that end an unquoted field */
	struct err *err;
};

/* 40: how much of a bad value an error message quotes */
#define SHOW_MAX 40

static int is_line_end(char c)
{
	return c == '\n' || c == '\r';
}

/* --- errors */

static void perr(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set "path:line:col: message" for the byte at 'at' on the current line. */
static void perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(ps->err, ERR_USER, "%s:%zu:%zu: %s", ps->t->path, ps->line,
		(size_t)(at - ps->t->data) - ps->line_start + 1, msg);
}

/* A byte as an error message shows it: 'x', or \xNN when unprintable. */
static const char *show_byte(char c, char out[8])
{
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		snprintf(out, 8, "'%c'", c);
	else
		snprintf(out, 8, "\\x%02x", (unsigned char)c);
	return out;
}

/* --- building the table */

/* Ask for transparent huge pages on a big buffer: with 4 KiB pages, the
 * page faults of a 30 MB file's arrays cost more than parsing it
 * (measured 500 ms against 270 ms).  Only a hint: errors are ignored. */
static void hint_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);

	if (e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
#endif
}

/* Make room for 'n_recs' records and 'n_fields' fields in all. */
static void reserve(struct csv_table *t, size_t n_recs, size_t n_fields)
{
	if (n_recs > t->recs_cap) {
		xgrow((void **)&t->recs, sizeof(*t->recs), &t->recs_cap, n_recs);
		hint_huge(t->recs, t->recs_cap * sizeof(*t->recs));
	}
	if (n_fields > t->fields_cap) {
		xgrow((void **)&t->fields, sizeof(*t->fields), &t->fields_cap, n_fields);
		hint_huge(t->fields, t->fields_cap * sizeof(*t->fields));
	}
}

/* A field of the record being built.  Values past 32 bits are cut here
 * and refused at the end of the record (RECORD_MAX). */
static void push_field(struct csv_table *t, size_t rel, size_t len)
{
	if (t->n_fields == t->fields_cap)
		reserve(t, 0, t->n_fields + 1);
	t->fields[t->n_fields].rel = (uint32_t)rel;
	t->fields[t->n_fields].len = (uint32_t)len;
	t->n_fields++;
}

/* The field data[off..off+len) of the record being built. */
static void push_slice(struct csv_table *t, size_t off, size_t len)
{
	push_field(t, off - t->recs[t->n_recs - 1].off, len);
}

static void push_record(struct csv_table *t, size_t off, size_t line)
{
	if (t->n_recs == t->recs_cap)
		reserve(t, t->n_recs + 1, 0);
	t->recs[t->n_recs].off = off;
	t->recs[t->n_recs].line = line;
	t->n_recs++;
}

/* Step over one line break (LF, CRLF or CR) at ps->p. */
static void end_line(struct parser *ps)
{
	if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	ps->p++;
	ps->line++;
	ps->line_start = (size_t)(ps->p - ps->t->data);
}

/* Skip lines that hold nothing but spaces and tabs. */
static void skip_blank_lines(struct parser *ps)
{
	for (;;) {
		const char *q = ps->p;
		while (q < ps->end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < ps->end && !is_line_end(*q))
			return;
		ps->p = q;
		if (q == ps->end)
			return;
		end_line(ps);
	}
}

/* An unquoted field: up to the delimiter, a line end or the end. */
static int plain_field(struct parser *ps)
{
	const unsigned char *q = (const unsigned char *)ps->p;

	while (!ps->stop[*q])
		q++;
	if (*q == '\0' && (const char *)q < ps->end) {
		perr(ps, (const char *)q, "unexpected NUL byte (expected text: is "
		     "this a binary file?)");
		return -1;
	}
	if (*q == '"') {
		perr(ps, (const char *)q, "unexpected '\"' inside an unquoted field "
		     "(quote the whole field and write a quote as \"\")");
		return -1;
	}
	push_slice(ps->t, (size_t)(ps->p - ps->t->data),
		   (size_t)((const char *)q - ps->p));
	ps->p = (const char *)q;
	return 0;
}

/* Copy s[0..n) into 'esc' with each "" made ", and push it as a field. */
static void push_unescaped(struct csv_table *t, const char *s, size_t n)
{
	size_t start = t->esc.len;

	for (size_t i = 0; i < n; i++) {
		sb_addc(&t->esc, s[i]);
		if (s[i] == '"')
			i++;
	}
	if (t->n_esc == t->esc_cap)
		xgrow((void **)&t->esc_off, sizeof(*t->esc_off), &t->esc_cap,
		      t->n_esc + 1);
	t->esc_off[t->n_esc] = start;
	push_field(t, t->n_esc, (t->esc.len - start) | ESCAPED);
	t->n_esc++;
}

/* Find the closing quote of the quoted field whose content starts at
 * ps->p, counting the line breaks inside; sets '*esc' if "" occurs. */
static int find_close_quote(struct parser *ps, const char *open, int *esc)
{
	size_t oline = ps->line, ocol = (size_t)(open - ps->t->data) - ps->line_start + 1;
	const char *p = ps->p;

	for (; p < ps->end; p++) {
		if (*p == '\0') {
			ps->p = p;
			perr(ps, p, "unexpected NUL byte (expected text: is this a "
			     "binary file?)");
			return -1;
		}
		if (*p == '"') {
			if (p + 1 < ps->end && p[1] == '"') {
				*esc = 1;
				p++;
				continue;
			}
			ps->p = p;
			return 0;
		}
		if (*p == '\n' || (*p == '\r' && (p + 1 == ps->end || p[1] != '\n'))) {
			ps->line++;
			ps->line_start = (size_t)(p + 1 - ps->t->data);
		}
	}
	err_set(ps->err, ERR_USER, "%s:%zu:%zu: unterminated quoted field "
		"(expected a closing '\"' before the end of the file)",
		ps->t->path, oline, ocol);
	return -1;
}

/* A quoted field; ps->p is at its opening quote. */
static int quoted_field(struct parser *ps)
{
	const char *open = ps->p, *s = ps->p + 1;
	char shown[8];
	int esc = 0;

	ps->p = s;
	if (find_close_quote(ps, open, &esc))
		return -1;
	if (esc)
		push_unescaped(ps->t, s, (size_t)(ps->p - s));
	else
		push_slice(ps->t, (size_t)(s - ps->t->data), (size_t)(ps->p - s));
	ps->p++;
	if (ps->p < ps->end && *ps->p != ps->t->delim && !is_line_end(*ps->p)) {
		perr(ps, ps->p, "expected the delimiter or the end of the line "
		     "after a closing quote, found %s", show_byte(*ps->p, shown));
		return -1;
	}
	return 0;
}

/* One record: fields up to a line break or the end of the file. */
static int parse_record(struct parser *ps)
{
	struct csv_table *t = ps->t;
	size_t first = t->n_fields, line = ps->line, nf;
	int rc;

	push_record(t, (size_t)(ps->p - t->data), line);
	for (;;) {
		rc = *ps->p == '"' ? quoted_field(ps) : plain_field(ps);
		if (rc)
			return -1;
		if (ps->p == ps->end)
			break;
		if (*ps->p != t->delim) {
			end_line(ps);
			break;
		}
		ps->p++;
	}
	nf = t->n_fields - first;
	if ((size_t)(ps->p - t->data) - t->recs[t->n_recs - 1].off > RECORD_MAX ||
	    t->n_esc > UINT32_MAX) {
		err_set(ps->err, ERR_USER, "%s:%zu:1: record too long (expected "
			"records under 2 GiB)", t->path, line);
		return -1;
	}
	if (t->n_recs == 1) {
		t->n_cols = nf;
	} else if (nf != t->n_cols) {
		err_set(ps->err, ERR_USER, "%s:%zu:1: expected %zu field%s, found %zu",
			t->path, line, t->n_cols, t->n_cols == 1 ? "" : "s", nf);
		return -1;
	}
	return 0;
}

/* --- loading */

static void locate_rec(const struct csv_table *t, size_t rec, size_t col,
		       size_t *line, size_t *colno);

/* Field 'col' of record 'rec' (0 = header). */
static const char *rec_field(const struct csv_table *t, size_t rec, size_t col,
			     size_t *len)
{
	const struct field *f = &t->fields[rec * t->n_cols + col];

	*len = f->len & ~ESCAPED;
	if (f->len & ESCAPED)
		return t->esc.buf + t->esc_off[f->rel];
	return t->data + t->recs[rec].off + f->rel;
}

static void header_error(const struct csv_table *t, size_t col, size_t first,
			 struct err *err)
{
	size_t line, colno;

	locate_rec(t, 0, col, &line, &colno);
	err_set(err, ERR_USER, "%s:%zu:%zu: duplicate column name '%s' (expected "
		"unique names; column %zu has it too)", t->path, line, colno,
		t->names[col], first + 1);
}

/* Header names: unique, an empty one named "column_N". */
static int take_names(struct csv_table *t, struct err *err)
{
	t->names = xcalloc(t->n_cols, sizeof(*t->names));
	for (size_t c = 0; c < t->n_cols; c++) {
		size_t n;
		const char *s = rec_field(t, 0, c, &n);
		t->names[c] = n ? xstrndup(s, n) : xasprintf("column_%zu", c + 1);
	}
	for (size_t c = 1; c < t->n_cols; c++) {
		for (size_t k = 0; k < c; k++) {
			if (strcmp(t->names[c], t->names[k]) == 0) {
				header_error(t, c, k, err);
				return -1;
			}
		}
	}
	return 0;
}

static void init_parser(struct parser *ps, struct csv_table *t, struct err *err)
{
	/* 3: the UTF-8 byte order mark EF BB BF */
	size_t bom = t->len >= 3 && memcmp(t->data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

	memset(ps, 0, sizeof(*ps));
	ps->t = t;
	ps->p = t->data + bom;
	ps->end = t->data + t->len;
	ps->line = 1;
	ps->line_start = bom;
	ps->err = err;
	ps->stop[0] = ps->stop['"'] = ps->stop['\r'] = ps->stop['\n'] = 1;
	ps->stop[(unsigned char)t->delim] = 1;
}

/* Size the arrays once, guessing from the first data record that the
 * rest are as long (+1/8 and 16 to spare); growth covers a bad guess. */
static void reserve_estimate(struct parser *ps)
{
	struct csv_table *t = ps->t;
	size_t first = (size_t)(ps->p - t->data) - t->recs[1].off;
	size_t left = (size_t)(ps->end - ps->p);
	size_t n = t->n_recs + left / (first ? first : 1) / 8 * 9 + 16;

	reserve(t, n, n * t->n_cols);
}

/* Split t->data into records; 't' owns the data already. */
static int parse_table(struct csv_table *t, struct err *err)
{
	struct parser ps;

	init_parser(&ps, t, err);
	for (;;) {
		skip_blank_lines(&ps);
		if (ps.p == ps.end)
			break;
		if (parse_record(&ps))
			return -1;
		if (t->n_recs == 2)
			reserve_estimate(&ps);
	}
	if (t->n_recs == 0) {
		perr(&ps, ps.p, "empty file (expected a header row)");
		return -1;
	}
	t->n_rows = t->n_recs - 1;
	return take_names(t, err);
}

/* Take ownership of 'data' (len bytes plus a NUL at data[len]). */
static struct csv_table *parse_owned(const char *name, char *data, size_t len,
				     char delim, struct err *err)
{
	struct csv_table *t = xcalloc(1, sizeof(*t));

	t->path = xstrdup(name);
	t->data = data;
	t->len = len;
	t->delim = delim;
	sb_init(&t->esc);
	if (delim == '"' || is_line_end(delim) || delim == '\0') {
		err_set(err, ERR_USER, "%s: the delimiter cannot be a quote, a line "
			"break or NUL", name);
		csv_free(t);
		return NULL;
	}
	if (parse_table(t, err)) {
		csv_free(t);
		return NULL;
	}
	return t;
}

struct csv_table *csv_parse(const char *name, const char *data, size_t len,
			    char delim, struct err *err)
{
	return parse_owned(name, xstrndup(data, len), len, delim, err);
}

/* Read all of 'fd' into a fresh buffer with a NUL after it; 'hint' is the
 * expected size so that a regular file is read without regrowing. */
static int read_fd(int fd, size_t hint, char **out, size_t *len)
{
	size_t cap = hint + 1, n = 0;
	char *buf = xmalloc(cap + 1);
	ssize_t r;

	hint_huge(buf, cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (r < 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

struct csv_table *csv_load(const char *path, char delim, struct err *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;

	if (fd < 0) {
		err_set(err, errno == ENOENT || errno == ENOTDIR ? ERR_USER : ERR_IO,
			"cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	else if (read_fd(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 65536,
			 &data, &len) < 0)
		e = errno;
	close(fd);
	if (e) {
		err_set(err, e == EISDIR ? ERR_USER : ERR_IO, "cannot read '%s': %s",
			path, strerror(e));
		return NULL;
	}
	return parse_owned(path, data, len, delim, err);
}

void csv_free(struct csv_table *t)
{
	if (!t)
		return;
	for (size_t c = 0; t->names && c < t->n_cols; c++)
		free(t->names[c]);
	free(t->names);
	free(t->fields);
	free(t->recs);
	free(t->esc_off);
	sb_release(&t->esc);
	free(t->data);
	free(t->path);
	free(t);
}

/* --- access */

size_t csv_rows(const struct csv_table *t)
{
	return t->n_rows;
}

size_t csv_cols(const struct csv_table *t)
{
	return t->n_cols;
}

const char *csv_path(const struct csv_table *t)
{
	return t->path;
}

const char *csv_name(const struct csv_table *t, size_t col)
{
	return t->names[col];
}

long csv_find(const struct csv_table *t, const char *name)
{
	for (size_t c = 0; c < t->n_cols; c++) {
		if (strcmp(t->names[c], name) == 0)
			return (long)c;
	}
	return -1;
}


const char *csv_field(const struct csv_table *t, size_t row, size_t col,
		      size_t *len)
{
	return rec_field(t, row + 1, col, len);
}

size_t csv_line(const struct csv_table *t, size_t row)
{
	return t->recs[row + 1].line;
}

/* Step over the field at 'p' (known good: the record parsed), counting
 * line breaks inside quotes into '*line' / '*ls' (the line's start). */
static const char *skip_field(const struct csv_table *t, const char *p,
			      size_t *line, const char **ls)
{
	const char *end = t->data + t->len;

	if (*p != '"') {
		while (p < end && *p != t->delim && !is_line_end(*p))
			p++;
		return p;
	}
	for (p++; p < end; p++) {
		if (*p == '"' && !(p + 1 < end && p[1] == '"'))
			return p + 1;
		if (*p == '"')
			p++;
		else if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] != '\n')) {
			(*line)++;
			*ls = p + 1;
		}
	}
	return p;
}

/* csv_locate() for record 'rec' (0 = header). */
static void locate_rec(const struct csv_table *t, size_t rec, size_t col,
		       size_t *line, size_t *colno)
{
	const char *p = t->data + t->recs[rec].off, *ls = p;

	*line = t->recs[rec].line;
	for (size_t k = 0; k < col; k++)
		p = skip_field(t, p, line, &ls) + 1;
	*colno = (size_t)(p - ls) + 1;
}

void csv_locate(const struct csv_table *t, size_t row, size_t col,
		size_t *line, size_t *colno)
{
	locate_rec(t, row + 1, col, line, colno);
}

void csv_error(const struct csv_table *t, size_t row, size_t col,
	       struct err *err, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	size_t line, colno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	locate_rec(t, row + 1, col, &line, &colno);
	err_set(err, ERR_USER, "%s:%zu:%zu: %s", t->path, line, colno, msg);
}

/* --- values */

static int is_digit(char c)
{
	return (unsigned)(c - '0') < 10u;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* 1 if s[0..n) equals the lower-case word 'w' in any case. */
static int word_eq(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n && w[i]; i++) {
		if (lower(s[i]) != w[i])
			return 0;
	}
	return i == n && w[i] == '\0';
}

const char *csv_trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

int csv_is_missing(const char *s, size_t n)
{
	return n == 0 || word_eq(s, n, "na") || word_eq(s, n, "nan") ||
	       word_eq(s, n, "null") || word_eq(s, n, "n/a");
}

/* The slow path: strtod on a NUL-terminated copy, for what the fast path
 * cannot round exactly.  The grammar was checked: strtod sees only a
 * decimal number (never hex, never "nan"), in the C locale. */
static double slow_number(const char *s, size_t n)
{
	char small[64], *z = n < sizeof(small) ? small : xmalloc(n + 1);
	double v;

	memcpy(z, s, n);
	z[n] = '\0';
	v = strtod(z, NULL);
	if (z != small)
		free(z);
	return v;
}

/* The decimal grammar, read once: up to 19 significant digits into 'm'
 * and the power of ten in '*e10'; '*exact' is 0 if nonzero digits were
 * dropped.  Returns the end of the number (== end when all was used), or
 * NULL if no digit was seen. */
static const char *scan_decimal(const char *p, const char *end, uint64_t *m,
				int *e10, int *exact)
{
	int nd = 0, any = 0;
	long ex = 0;

	for (; p < end && is_digit(*p); p++, any = 1) {
		if (nd < 19) {
			*m = *m * 10 + (uint64_t)(*p - '0');
			nd += *m != 0;
		} else {
			ex++;
			*exact &= *p == '0';
		}
	}
	if (p < end && *p == '.') {
		for (p++; p < end && is_digit(*p); p++, any = 1) {
			if (nd < 19) {
				*m = *m * 10 + (uint64_t)(*p - '0');
				nd += *m != 0;
				ex--;
			} else {
				*exact &= *p == '0';
			}
		}
	}
	if (!any)
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *q = p + 1;
		int neg = q < end && *q == '-';
		long x = 0;
		q += q < end && (*q == '-' || *q == '+');
		if (q == end || !is_digit(*q))
			return p;  /* "1e" is not a number: the caller sees p != end */
		for (; q < end && is_digit(*q); q++)
			x = x < 100000 ? x * 10 + (*q - '0') : x;  /* bound: no overflow */
		ex += neg ? -x : x;
		p = q;
	}
	*e10 = ex < -100000 ? -100000 : ex > 100000 ? 100000 : (int)ex;
	return p;
}

int csv_parse_number(const char *s, size_t n, double *out)
{
	/* 1e0..1e22: every power of ten a double holds exactly */
	static const double pow10[23] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	const char *p = s, *end = s + n;
	uint64_t m = 0;
	int e10 = 0, exact = 1, neg = 0;
	double v;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (p < end && (*p == 'i' || *p == 'I') &&
	    (word_eq(p, (size_t)(end - p), "inf") ||
	     word_eq(p, (size_t)(end - p), "infinity"))) {
		*out = neg ? -HUGE_VAL : HUGE_VAL;
		return 0;
	}
	if (scan_decimal(p, end, &m, &e10, &exact) != end)
		return -1;
	/* Clinger's fast path: m and 10^|e10| are exact doubles, so one
	 * multiply or divide rounds correctly, as strtod would. */
	if (exact && m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
		v = (double)m;
		v = e10 < 0 ? v / pow10[-e10] : v * pow10[e10];
		*out = neg ? -v : v;
		return 0;
	}
	*out = slow_number(s, n);
	return 0;
}

/* Field (row, col), trimmed. */
static const char *value(const struct csv_table *t, size_t row, size_t col,
			 size_t *n)
{
	const char *s = rec_field(t, row + 1, col, n);

	return csv_trim(s, n);
}

/* Report a value of the wrong type, quoting at most SHOW_MAX bytes. */
static int type_error(const struct csv_table *t, size_t row, size_t col,
		      const char *what, struct err *err)
{
	size_t n;
	const char *s = value(t, row, col, &n);

	csv_error(t, row, col, err, "expected %s in column '%s', found '%.*s%s'",
		  what, t->names[col], (int)(n > SHOW_MAX ? SHOW_MAX : n), s,
		  n > SHOW_MAX ? "..." : "");
	return -1;
}

int csv_numbers(const struct csv_table *t, size_t col, double *out,
		struct err *err)
{
	hint_huge(out, t->n_rows * sizeof(*out));   /* we fill all of it */
	for (size_t r = 0; r < t->n_rows; r++) {
		size_t n;
		const char *s = value(t, r, col, &n);
		if (csv_parse_number(s, n, &out[r]) == 0)
			continue;
		if (!csv_is_missing(s, n))
			return type_error(t, r, col, "a number", err);
		out[r] = NAN;
	}
	return 0;
}

/* 1 if every non-missing value of column 'col' is unix seconds. */
static int column_is_unix(const struct csv_table *t, size_t col)
{
	for (size_t r = 0; r < t->n_rows; r++) {
		size_t n;
		const char *s = value(t, r, col, &n);
		if (!timeparse_is_unix(s, n) && !csv_is_missing(s, n))
			return 0;
	}
	return 1;
}

int csv_times(const struct csv_table *t, size_t col, double *out,
	      struct err *err)
{
	int unix_sec = column_is_unix(t, col);

	hint_huge(out, t->n_rows * sizeof(*out));   /* we fill all of it */

	for (size_t r = 0; r < t->n_rows; r++) {
		struct timeparse_time tm;
		size_t n;
		const char *s = value(t, r, col, &n);
		int rc = unix_sec ? timeparse_unix(s, n, &tm) :
			 timeparse_iso8601(s, n, &tm);
		if (rc == 0) {
			out[r] = timeparse_seconds(&tm);
		} else if (csv_is_missing(s, n)) {
			out[r] = NAN;
		} else {
			return type_error(t, r, col, "a timestamp (ISO 8601 such as "
					  "2024-01-31 13:45:00, or unix seconds)", err);
		}
	}
	return 0;
}

enum csv_type csv_sniff(const struct csv_table *t, size_t col)
{
	for (size_t r = 0; r < t->n_rows; r++) {
		struct timeparse_time tm;
		double d;
		size_t n;
		const char *s = value(t, r, col, &n);
		if (csv_is_missing(s, n))
			continue;
		if (csv_parse_number(s, n, &d) == 0)
			return CSV_NUMBER;
		if (timeparse_iso8601(s, n, &tm) == 0)
			return CSV_TIME;
		return CSV_STRING;
	}
	return CSV_NUMBER;
}

const char *csv_type_name(enum csv_type type)
{
	switch (type) {
	case CSV_NUMBER:
		return "number";
	case CSV_TIME:
		return "timestamp";
	default:
		return "string";
	}
}

void csv_write_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
