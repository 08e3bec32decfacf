/* Unit tests for tasks/lib/csv.c: RFC 4180 cases, positions in errors,
 * number parsing against strtod, missing values and typed columns. */
#include "test.h"
#include "csv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct err err;

static struct csv_table *parse_delim(const char *s, size_t n, char delim)
{
	err_init(&err);
	return csv_parse("x.csv", s, n, delim, &err);
}

static struct csv_table *parse(const char *s)
{
	return parse_delim(s, strlen(s), ',');
}

/* 1 if field (row, col) of 't' is exactly 'want'. */
static int field_is(const struct csv_table *t, size_t row, size_t col,
		    const char *want)
{
	size_t n;
	const char *s = csv_field(t, row, col, &n);

	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* 'doc' must fail to parse with exactly the message 'msg'. */
static int fails_with(const char *doc, size_t n, const char *msg)
{
	struct csv_table *t = parse_delim(doc, n, ',');

	if (t) {
		csv_free(t);
		fprintf(stderr, "parsed, expected: %s\n", msg);
		return 0;
	}
	if (err.kind != ERR_USER || strcmp(err.msg, msg) != 0) {
		fprintf(stderr, "got:  %s\nwant: %s\n", err.msg, msg);
		return 0;
	}
	return 1;
}

TEST(simple_table)
{
	struct csv_table *t = parse("a,b\n1,2\n3,4\n");

	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 2);
	ASSERT_EQ(csv_cols(t), 2);
	ASSERT_STREQ(csv_name(t, 0), "a");
	ASSERT_STREQ(csv_name(t, 1), "b");
	ASSERT_EQ(csv_find(t, "b"), 1);
	ASSERT_EQ(csv_find(t, "c"), -1);
	ASSERT(field_is(t, 1, 0, "3"));
	ASSERT_EQ(csv_line(t, 1), 3);
	ASSERT_STREQ(csv_path(t), "x.csv");
	csv_free(t);
}

TEST(quotes_and_escaped_quotes)
{
	struct csv_table *t = parse("\"x\",\"y,z\"\n\"a,b\",\"he said \"\"hi\"\"\"\n"
				    "\"\",\"\"\"\"\n");

	ASSERT(t);
	ASSERT_STREQ(csv_name(t, 1), "y,z");
	ASSERT_EQ(csv_rows(t), 2);
	ASSERT(field_is(t, 0, 0, "a,b"));
	ASSERT(field_is(t, 0, 1, "he said \"hi\""));
	ASSERT(field_is(t, 1, 0, ""));
	ASSERT(field_is(t, 1, 1, "\""));
	csv_free(t);
}

TEST(crlf_lf_and_cr_line_ends)
{
	struct csv_table *t = parse("a,b\r\n1,2\r\n3,4\n5,6\r7,8");

	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 4);
	ASSERT(field_is(t, 0, 1, "2"));
	ASSERT(field_is(t, 2, 0, "5"));
	ASSERT(field_is(t, 2, 1, "6"));
	ASSERT(field_is(t, 3, 1, "8"));   /* no final line break */
	ASSERT_EQ(csv_line(t, 3), 5);
	csv_free(t);
}

TEST(utf8_bom)
{
	struct csv_table *t = parse("\xef\xbb\xbf" "date,value\n2024-01-01,1\n");

	ASSERT(t);
	ASSERT_STREQ(csv_name(t, 0), "date");
	csv_free(t);
	/* the BOM takes no column: an error on line 1 counts from after it */
	ASSERT(fails_with("\xef\xbb\xbf" "a,a\n", 7, "x.csv:1:3: duplicate column "
			  "name 'a' (expected unique names; column 1 has it too)"));
}

TEST(embedded_newlines_keep_physical_lines)
{
	struct csv_table *t = parse("a,b\n\"line1\nline2\",x\n\"p\r\nq\",y\n3,4\n");

	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 3);
	ASSERT(field_is(t, 0, 0, "line1\nline2"));
	ASSERT(field_is(t, 1, 0, "p\r\nq"));
	ASSERT_EQ(csv_line(t, 0), 2);
	ASSERT_EQ(csv_line(t, 1), 4);
	ASSERT_EQ(csv_line(t, 2), 6);
	csv_free(t);
	ASSERT(fails_with("a,b\n\"1\n2\n3\",4\n5,6,7\n", 20,
			  "x.csv:5:1: expected 2 fields, found 3"));
}

TEST(ragged_rows)
{
	ASSERT(fails_with("a,b\n1,2\n1,2,3\n", 14, "x.csv:3:1: expected 2 fields, found 3"));
	ASSERT(fails_with("a,b\n1\n", 6, "x.csv:2:1: expected 2 fields, found 1"));
	ASSERT(fails_with("a\n1\n2,\n", 7, "x.csv:3:1: expected 1 field, found 2"));
}

/* Wide headers and over-long ragged rows grow the field array. */
TEST(wide_rows)
{
	char doc[4096], *p = doc;
	struct csv_table *t;

	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%sc%d", i ? "," : "", i);
	p += sprintf(p, "\n");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s%d", i ? "," : "", i);
	t = parse_delim(doc, (size_t)(p - doc), ',');
	ASSERT(t);
	ASSERT_EQ(csv_cols(t), 100);
	ASSERT_STREQ(csv_name(t, 99), "c99");
	ASSERT(field_is(t, 0, 99, "99"));
	csv_free(t);
	p = doc + sprintf(doc, "a\n1\n");
	for (int i = 0; i < 500; i++)
		p += sprintf(p, "%d,", i);
	ASSERT(fails_with(doc, (size_t)(p - doc), "x.csv:3:1: expected 1 field, found 501"));
}

TEST(empty_and_header_only)
{
	struct csv_table *t;

	ASSERT(fails_with("", 0, "x.csv:1:1: empty file (expected a header row)"));
	ASSERT(fails_with("\xef\xbb\xbf", 3, "x.csv:1:1: empty file (expected a header row)"));
	ASSERT(fails_with("\n\n  \n", 5, "x.csv:4:1: empty file (expected a header row)"));
	t = parse("a,b\n");
	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 0);
	ASSERT_EQ(csv_cols(t), 2);
	csv_free(t);
	t = parse("a,b");
	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 0);
	csv_free(t);
}

TEST(blank_lines_skipped)
{
	struct csv_table *t = parse("a,b\n\n1,2\n  \t\n\r\n3,4\n\n");

	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 2);
	ASSERT_EQ(csv_line(t, 0), 3);
	ASSERT_EQ(csv_line(t, 1), 6);
	csv_free(t);
}

TEST(empty_fields_and_trailing_delimiter)
{
	struct csv_table *t = parse("a,b,c\n,,\n1,,");

	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 2);
	ASSERT(field_is(t, 0, 0, ""));
	ASSERT(field_is(t, 1, 0, "1"));
	ASSERT(field_is(t, 1, 2, ""));
	csv_free(t);
}

TEST(other_delimiters)
{
	const char *doc = "a;b\n\"x;y\";2\n";
	struct csv_table *t = parse_delim(doc, strlen(doc), ';');

	ASSERT(t);
	ASSERT(field_is(t, 0, 0, "x;y"));
	csv_free(t);
	doc = "a\tb\n1\t2\n";
	t = parse_delim(doc, strlen(doc), '\t');
	ASSERT(t);
	ASSERT(field_is(t, 0, 1, "2"));
	csv_free(t);
	ASSERT(!parse_delim("a\n", 2, '"'));
	ASSERT_CONTAINS(err.msg, "delimiter");
}

TEST(bad_quotes)
{
	ASSERT(fails_with("a,b\n1,2\"3\n", 10, "x.csv:2:4: unexpected '\"' inside an "
			  "unquoted field (quote the whole field and write a quote as \"\")"));
	ASSERT(fails_with("a,b\n\"1\"x,2\n", 10, "x.csv:2:4: expected the delimiter "
			  "or the end of the line after a closing quote, found 'x'"));
	ASSERT(fails_with("a,b\n1,\"2\n3,4\n", 12, "x.csv:2:3: unterminated quoted "
			  "field (expected a closing '\"' before the end of the file)"));
	ASSERT(fails_with("a,b\n1,\"2\"\"\n", 11, "x.csv:2:3: unterminated quoted "
			  "field (expected a closing '\"' before the end of the file)"));
}

TEST(binary_and_header_names)
{
	struct csv_table *t;

	ASSERT(fails_with("a,b\n1,2\n3,\0\n", 12, "x.csv:3:3: unexpected NUL byte "
			  "(expected text: is this a binary file?)"));
	ASSERT(fails_with("a,b,a\n", 6, "x.csv:1:5: duplicate column name 'a' "
			  "(expected unique names; column 1 has it too)"));
	t = parse(",x,\n1,2,3\n");
	ASSERT(t);
	ASSERT_STREQ(csv_name(t, 0), "column_1");
	ASSERT_STREQ(csv_name(t, 2), "column_3");
	csv_free(t);
}

TEST(locate_after_quotes_and_newlines)
{
	struct csv_table *t = parse("a,b,c\n\"x\"\"\ny\",bad,z\n1, 2,\"q\"\n");
	size_t line, col;
	double v[2];

	ASSERT(t);
	csv_locate(t, 0, 1, &line, &col);
	ASSERT_EQ(line, 3);
	ASSERT_EQ(col, 4);
	csv_locate(t, 1, 2, &line, &col);
	ASSERT_EQ(line, 4);
	ASSERT_EQ(col, 6);
	ASSERT_EQ(csv_numbers(t, 1, v, &err), -1);
	ASSERT_STREQ(err.msg, "x.csv:3:4: expected a number in column 'b', found 'bad'");
	csv_free(t);
}

TEST(missing_values)
{
	static const char *yes[] = {"", "NA", "na", "NaN", "nan", "NAN", "null",
				    "NULL", "Null", "N/A", "n/a"};
	static const char *no[] = {"N", "NAA", "none", "-", "0", "nil", "NA/"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ASSERT(csv_is_missing(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ASSERT(!csv_is_missing(no[i], strlen(no[i])));
}

TEST(numbers_column)
{
	struct csv_table *t = parse("v\n1.5\n NA \n-2e3\n\"7\"\n\n  \nnull\n0.1\n");
	double v[6];

	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 6);
	ASSERT_EQ(csv_numbers(t, 0, v, &err), 0);
	ASSERT(v[0] == 1.5 && isnan(v[1]) && v[2] == -2000 && v[3] == 7);
	ASSERT(isnan(v[4]) && v[5] == 0.1);
	csv_free(t);
	t = parse("t,value\n1,2\n2,3\n3,4\n4,abc\n");
	ASSERT_EQ(csv_numbers(t, 1, v, &err), -1);
	ASSERT_STREQ(err.msg, "x.csv:5:3: expected a number in column 'value', found 'abc'");
	csv_free(t);
}

/* Bit-identity with strtod for a value written as 'text'. */
static int same_as_strtod(const char *text)
{
	double got, want = strtod(text, NULL);

	if (csv_parse_number(text, strlen(text), &got) != 0) {
		fprintf(stderr, "refused '%s'\n", text);
		return 0;
	}
	if (memcmp(&got, &want, sizeof(got)) != 0) {
		fprintf(stderr, "'%s': %.17g != strtod %.17g\n", text, got, want);
		return 0;
	}
	return 1;
}

TEST(number_edge_cases)
{
	static const char *good[] = {
		"0", "-0", "+5", ".5", "5.", "-.5e-3", "1e22", "1e23", "9007199254740993",
		"9007199254740992", "123456789012345678901234567890", "0.1", "0.3",
		"1.7976931348623157e308", "1e309", "4.9e-324", "2.4e-324", "1e-400",
		"2.2250738585072011e-308", "2.2250738585072014e-308", "000000123.4500000",
		"0.000000000000000000000000000001", "1E5", "1e+5", "12345678901234567890",
		"1234567890123456789", "18446744073709551616", "3.14159265358979323846264338",
		"1e100000000000000000000", "1e-100000000000000000000", "1.00000000000000000000001",
	};
	static const char *bad[] = {"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3",
				    "0x10", "1,5", "nan", "1 2", "--1", "1e5.5", "abc", "1f", "infinit"};
	double v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ASSERT(same_as_strtod(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(csv_parse_number(bad[i], strlen(bad[i]), &v), -1);
	ASSERT_EQ(csv_parse_number("inf", 3, &v), 0);
	ASSERT(isinf(v) && v > 0);
	ASSERT_EQ(csv_parse_number("-Infinity", 9, &v), 0);
	ASSERT(isinf(v) && v < 0);
	ASSERT_EQ(csv_parse_number("12x", 2, &v), 0);   /* only n bytes are read */
	ASSERT(v == 12);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;   /* xorshift64: fixed and portable */
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* 2,000,000 values in many spellings, each bit-identical to strtod. */
TEST(numbers_exact_vs_strtod)
{
	static const char *fmts[] = {"%.17g", "%.15g", "%.6f", "%g", "%.3e", "%.1f", "%.12f"};
	char buf[512];

	for (int i = 0; i < 1000000; i++) {
		uint64_t bits = next();
		double d;
		memcpy(&d, &bits, sizeof(d));
		if (!isfinite(d) || fabs(d) > 1e30)
			d = (double)(int64_t)bits / (double)(1 + next() % 1000000);
		snprintf(buf, sizeof(buf), fmts[i % 7], d);
		ASSERT(same_as_strtod(buf));
	}
	for (int i = 0; i < 1000000; i++) {
		int nd = 1 + (int)(next() % 25), pos = 0, e = (int)(next() % 60) - 30;
		for (int k = 0; k < nd; k++) {
			if (k == nd / 2)
				buf[pos++] = '.';
			buf[pos++] = (char)('0' + next() % 10);
		}
		snprintf(buf + pos, sizeof(buf) - (size_t)pos, "e%d", e);
		ASSERT(same_as_strtod(buf));
	}
}

TEST(times_iso_and_unix)
{
	struct csv_table *t = parse("ts,u,bad\n2024-01-01 00:00:00,1700000000,2024-01-01\n"
				    "2024-01-01T01:00:00Z,,17\n\"2024-01-01\",1700000001.5,x\nNA,3,y\n");
	double v[4];

	ASSERT(t);
	ASSERT_EQ(csv_times(t, 0, v, &err), 0);
	ASSERT(v[0] == 1704067200 && v[1] == 1704070800 && v[2] == 1704067200);
	ASSERT(isnan(v[3]));
	ASSERT_EQ(csv_times(t, 1, v, &err), 0);
	ASSERT(v[0] == 1700000000 && isnan(v[1]) && v[2] == 1700000001.5 && v[3] == 3);
	ASSERT_EQ(csv_times(t, 2, v, &err), -1);
	ASSERT_STREQ(err.msg, "x.csv:3:23: expected a timestamp (ISO 8601 such as "
		     "2024-01-31 13:45:00, or unix seconds) in column 'bad', found '17'");
	csv_free(t);
}

TEST(sniff_types)
{
	struct csv_table *t = parse("a,b,c,d\nNA,,x,\n1.5,2024-01-01,2,\nx,y,z,\n");

	ASSERT(t);
	ASSERT_EQ(csv_sniff(t, 0), CSV_NUMBER);
	ASSERT_EQ(csv_sniff(t, 1), CSV_TIME);
	ASSERT_EQ(csv_sniff(t, 2), CSV_STRING);
	ASSERT_EQ(csv_sniff(t, 3), CSV_NUMBER);   /* all missing */
	ASSERT_STREQ(csv_type_name(CSV_TIME), "timestamp");
	csv_free(t);
}

TEST(load_files)
{
	struct csv_table *t;

	err_init(&err);
	t = csv_load("/nonexistent/x.csv", ',', &err);
	ASSERT(!t);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "cannot open '/nonexistent/x.csv'");
	t = csv_load("/tmp", ',', &err);
	ASSERT(!t);
	ASSERT_EQ(err.kind, ERR_USER);
	t = csv_load("examples/data/nab_nyc_taxi.csv", ',', &err);
	if (!t)   /* run from the repository root; elsewhere, skip */
		return;
	ASSERT_EQ(csv_rows(t), 10320);
	ASSERT_STREQ(csv_name(t, 1), "value");
	csv_free(t);
}

/* Every prefix of a tricky document parses or fails cleanly (ASan). */
TEST(every_prefix_is_safe)
{
	const char *doc = "\xef\xbb\xbf" "a,\"b\"\"c\"\r\n\"1\n2\",\"x,\"\"y\"\r3,4\n\n5,\"\"";
	size_t n = strlen(doc);

	for (size_t k = 0; k <= n; k++) {
		struct csv_table *t = parse_delim(doc, k, ',');
		if (t) {
			for (size_t r = 0; r < csv_rows(t); r++) {
				size_t line, col;
				csv_locate(t, r, csv_cols(t) - 1, &line, &col);
				ASSERT(line >= 1 && col >= 1);
			}
			csv_free(t);
		} else {
			ASSERT(err.kind == ERR_USER && err.msg[0]);
		}
	}
}

/* Every field of 't' can be located and typed without faults. */
static int exercise(const struct csv_table *t)
{
	double *v = malloc((csv_rows(t) + 1) * sizeof(double));
	struct err e;
	int ok = 1;

	for (size_t c = 0; c < csv_cols(t); c++) {
		for (size_t r = 0; r < csv_rows(t); r++) {
			size_t line, col, n;
			csv_locate(t, r, c, &line, &col);
			csv_field(t, r, c, &n);
			ok &= line >= 1 && col >= 1;
		}
		csv_sniff(t, c);
		err_init(&e);
		ok &= csv_numbers(t, c, v, &e) == 0 || e.kind == ERR_USER;
		err_init(&e);
		ok &= csv_times(t, c, v, &e) == 0 || e.kind == ERR_USER;
	}
	free(v);
	return ok;
}

/* One-byte changes of a tricky document: each parses or fails cleanly,
 * and a parsed one can be located and typed everywhere (ASan watches). */
TEST(mutations_are_safe)
{
	static const char marks[] = {',', '"', '\n', '\r', '\0', 'x', ' ', '\xef'};
	const char *doc = "\xef\xbb\xbf" "t,\"v\"\"w\",s\r\n\"2024-01-01\",1.5,\"a\n\"\"b\"\r\n"
			  "2024-01-02,NA,\n\n1700000000,-2e3,\"\"";
	size_t n = strlen(doc);
	char *buf = malloc(n);

	for (size_t i = 0; i < n; i++) {
		for (size_t m = 0; m < sizeof(marks); m++) {
			memcpy(buf, doc, n);
			buf[i] = marks[m];
			struct csv_table *t = parse_delim(buf, n, ',');
			int ok = t ? exercise(t) : err.kind == ERR_USER && err.msg[0];
			csv_free(t);
			ASSERT(ok);
		}
	}
	free(buf);
}

/* Rows much shorter or longer than the first: the arrays grow right. */
TEST(many_rows_growth)
{
	char *doc = malloc(4000000), *p = doc;
	struct csv_table *t;
	double v[30001];

	p += sprintf(p, "k,v\n1,%s\n", "1234567890123456789012345678901234567890");
	for (int i = 0; i < 20000; i++)
		p += sprintf(p, "%d,%d\n", i, i % 7);
	for (int i = 0; i < 10000; i++)
		p += sprintf(p, "%d,\"%0300d\"\n", i, i);
	t = parse_delim(doc, (size_t)(p - doc), ',');
	free(doc);
	ASSERT(t);
	ASSERT_EQ(csv_rows(t), 30001);
	ASSERT_EQ(csv_line(t, 30000), 30002);
	ASSERT_EQ(csv_numbers(t, 1, v, &err), 0);
	ASSERT(v[20000] == 19999 % 7 && v[30000] == 9999);
	csv_free(t);
}

TEST_LIST(T(simple_table), T(quotes_and_escaped_quotes), T(crlf_lf_and_cr_line_ends),
	  T(utf8_bom), T(embedded_newlines_keep_physical_lines), T(ragged_rows), T(wide_rows),
	  T(empty_and_header_only), T(blank_lines_skipped),
	  T(empty_fields_and_trailing_delimiter), T(other_delimiters), T(bad_quotes),
	  T(binary_and_header_names), T(locate_after_quotes_and_newlines),
	  T(missing_values), T(numbers_column), T(number_edge_cases),
	  T(numbers_exact_vs_strtod), T(times_iso_and_unix), T(sniff_types),
	  T(load_files), T(every_prefix_is_safe), T(mutations_are_safe),
	  T(many_rows_growth))
