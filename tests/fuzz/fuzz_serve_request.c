/* fuzz_serve_request: libFuzzer target for what a POST /predict request
 * carries to `dagrun serve` (engine/serve_body.h), read for a real model
 * and carried on through the prediction to the JSON answer.
 *
 * The model is a persistence baseline (forecaster.h) written to a scratch
 * folder on the first call: columns a and OT, a time feature and a lag of
 * the target, 3 rows in and 2 out, so that the warm-up, the windows and
 * the horizon are all exercised.  The first input byte picks the form:
 * bit 0 CSV (else JSON), bit 1 a time column named "t" (else the
 * default); the rest is the body.  Each whole input is also handed, as a
 * string, to serve_body_format() (a Content-Type) and serve_split_parse()
 * (a --split), the other texts a request or the command line brings.
 *
 * What is checked besides the sanitizers: a refused body fails with a
 * message (ERR_USER, or ERR_IO only for staging the CSV) that names the
 * body, not the staging path; an accepted one gives a table whose times
 * rise strictly; a prediction's answer is valid JSON holding one entry per
 * predicted row. */
#include "forecaster.h"
#include "fs.h"
#include "serve_body.h"
#include "serve_split.h"
#include "strbuf.h"
#include "../unit/serve_model.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The model, loaded once for the whole run (freed by the process's end,
 * which LeakSanitizer does not count: it is still reachable). */
static struct forecaster *model(void)
{
	static struct forecaster *f;
	char dir[] = "/tmp/dagrun-fuzz-serve-XXXXXX", path[64];
	struct err err;
	FILE *out;

	if (f)
		return f;
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/model.json", dir);
	out = fopen(path, "w");
	if (!out)
		abort();
	fputs(serve_model_json, out);
	fclose(out);
	err_init(&err);
	f = forecaster_load(dir, &err);
	if (!f) {
		fprintf(stderr, "fuzz_serve_request: %s\n", err.msg);
		abort();
	}
	unlink(path);
	rmdir(dir);
	return f;
}

/* The answer for 'r' must be JSON with one prediction per row. */
static void check_answer(const struct forecaster_result *r)
{
	struct serve_body_source src = {"fuzz", "production", 1, "baseline", "OT"};
	json_error_t je;
	struct strbuf sb;
	json_t *doc;

	sb_init(&sb);
	serve_body_answer(r, &src, &sb);
	doc = json_loads(sb.buf, 0, &je);
	assert(doc);
	assert(json_array_size(json_object_get(doc, "predictions")) == r->n);
	json_decref(doc);
	sb_release(&sb);
}

static void body(const struct forecaster *f, int csv, const char *time_col,
		 const char *data, size_t size)
{
	struct forecaster_table tb;
	struct forecaster_result r;
	struct err err;

	err_init(&err);
	if (serve_body_read(f, csv ? SERVE_BODY_CSV : SERVE_BODY_JSON, data, size,
			    time_col, &tb, &err) < 0) {
		assert(err.kind == ERR_USER || (csv && err.kind == ERR_IO));
		assert(err.msg[0]);
		/* the staging path is never named, unless the body itself
		 * holds such text and the message quotes it */
		assert(!strstr(err.msg, "/proc/self/fd") ||
		       memmem(data, size, "/proc/self/fd", 13));
		forecaster_table_release(&tb);
		return;
	}
	for (size_t i = 1; i < tb.rows; i++)
		assert(tb.t[i] > tb.t[i - 1]);
	err_init(&err);
	if (forecaster_predict(f, &tb, &r, &err) == 0) {
		check_answer(&r);
		forecaster_result_release(&r);
	} else {
		assert(err.kind == ERR_USER && err.msg[0]);
	}
	forecaster_table_release(&tb);
}

/* The input as a Content-Type and as a --split. */
static void texts(const uint8_t *data, size_t size)
{
	struct serve_split s;
	struct err err;
	char *text;

	if (size > 4096)
		return;
	text = malloc(size + 1);
	assert(text);
	memcpy(text, data, size);
	text[size] = '\0';
	(void)serve_body_format(text);
	err_init(&err);
	if (serve_split_parse(text, &s, &err) == 0) {
		unsigned p = serve_split_point(&s, text, size, size);
		assert(s.n > 0 && s.total > 0 && p < s.total);
	} else {
		assert(err.kind == ERR_USER && err.msg[0]);
	}
	serve_split_release(&s);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct forecaster *f = model();

	texts(data, size);
	if (size < 1)
		return 0;
	body(f, data[0] & 1, data[0] & 2 ? "t" : NULL, (const char *)data + 1, size - 1);
	return 0;
}
