/* fuzz_csv: libFuzzer target for the CSV reader (tasks/lib/csv.h).
 *
 * The first byte picks the delimiter (',', ';', tab or '|'), the rest is
 * the file.  A parsed table is then walked the way data.load walks one:
 * every column sniffed and read as numbers and as times, every field
 * fetched and located, an error message built for the last one.  Each
 * whole input is also handed to csv_parse_number(), which is what every
 * numeric field meets.
 *
 * What is checked besides the sanitizers: a table has at least one
 * column; every field lies inside the input or is unescaped text no
 * longer than the input; csv_locate() points inside the file; a parsed
 * number agrees with strtod on its sign class (the header promises
 * bit-for-bit strtod, checked here on the plain digit forms). */
#include "csv.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char delims[] = {',', ';', '\t', '|'};

static void walk(const struct csv_table *t, size_t len)
{
	size_t rows = csv_rows(t), cols = csv_cols(t), r, c, n, line, col;
	double *vals = malloc((rows ? rows : 1) * sizeof(double));
	struct err err;

	assert(cols >= 1);
	assert(vals);
	for (c = 0; c < cols; c++) {
		const char *name = csv_name(t, c);
		assert(name);
		assert(csv_find(t, name) >= 0);
		(void)csv_type_name(csv_sniff(t, c));
		err_init(&err);
		if (csv_numbers(t, c, vals, &err) < 0)
			assert(err.kind == ERR_USER && err.msg[0]);
		err_init(&err);
		if (csv_times(t, c, vals, &err) < 0)
			assert(err.kind == ERR_USER && err.msg[0]);
	}
	for (r = 0; r < rows; r++) {
		assert(csv_line(t, r) >= 1);
		for (c = 0; c < cols; c++) {
			const char *f = csv_field(t, r, c, &n);
			assert(n <= len);
			assert(f || n == 0);
			if (n)
				(void)csv_is_missing(f, n);
		}
	}
	if (rows) {
		csv_locate(t, rows - 1, cols - 1, &line, &col);
		assert(line >= 1 && col >= 1);
		err_init(&err);
		csv_error(t, rows - 1, cols - 1, &err, "fuzz %d", 1);
		assert(err.kind == ERR_USER);
	}
	free(vals);
}

/* csv_parse_number on the whole input, trimmed, against strtod. */
static void number(const uint8_t *data, size_t size)
{
	char buf[64];
	const char *s = (const char *)data;
	size_t n = size;
	double v, ref;
	char *end;

	if (size == 0 || size >= sizeof(buf) || memchr(data, 0, size))
		return;
	s = csv_trim(s, &n);
	if (csv_parse_number(s, n, &v) < 0)
		return;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ref = strtod(buf, &end);
	assert(isnan(v) == isnan(ref));
	if (*end == '\0' && !isnan(ref))
		assert(memcmp(&v, &ref, sizeof(v)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_table *t;
	struct err err;

	number(data, size);
	if (size < 1)
		return 0;
	err_init(&err);
	t = csv_parse("fuzz.csv", (const char *)data + 1, size - 1,
		      delims[data[0] % sizeof(delims)], &err);
	if (!t) {
		assert(err.kind == ERR_USER && err.msg[0]);
		return 0;
	}
	walk(t, size);
	csv_free(t);
	return 0;
}
