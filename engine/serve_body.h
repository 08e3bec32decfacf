/* serve_body: what a POST /predict request carries, read into a
 * forecaster table for one model, and the answer written as JSON.
 *
 * Two forms of body, both the model's raw columns (forecaster.h applies
 * its own preprocessing):
 *   JSON (application/json, or no Content-Type):
 *     {"rows": [{"timestamp": "2016-07-01T00:00:00", "HUFL": 5.8, ...}, ...]}
 *     the time an ISO 8601 string or unix seconds (a number or a string
 *     of digits), sub-second parts cut; every column the model reads a
 *     number in every row; the target, when the model does not read it,
 *     optional (null or absent: an unknown actual); other keys ignored.
 *   CSV (text/csv): read exactly as `dagrun predict` reads a file
 *     (forecaster_read_csv()), the time column found the same way.
 * 'time_col' (the request's ?timestamp=NAME) names the time key or
 * column; NULL: "timestamp" (JSON), or as forecaster_read_csv() (CSV).
 * Rows must come in rising time order.
 *
 * Errors are ERR_USER with a message that names the row and column
 * ("rows[3]: no column 'OT' (the lstm model reads HUFL, ..., OT)"), except
 * ERR_IO when the CSV cannot be staged (no memory file).  Nothing here
 * keeps state; every function is thread-safe. */
#ifndef DAGRUN_SERVE_BODY_H
#define DAGRUN_SERVE_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "forecaster.h"
#include "strbuf.h"

enum serve_body_format { SERVE_BODY_JSON, SERVE_BODY_CSV };

/* The body format of a Content-Type header value ('content_type' may be
 * NULL: JSON); parameters such as "; charset=utf-8" are ignored.  Returns
 * the format, or -1 for a type that is neither. */
int serve_body_format(const char *content_type);

/* Read 'len' bytes of 'body' for model 'f' into 'tb' (the caller releases
 * it with forecaster_table_release(), on failure too).  Returns 0, or -1
 * with 'err' set as above. */
int serve_body_read(const struct forecaster *f, enum serve_body_format fmt,
		    const char *body, size_t len, const char *time_col,
		    struct forecaster_table *tb, struct err *err);

/* Who answered, for the answer's header fields. */
struct serve_body_source {
	const char *model, *alias;   /* alias: the one resolved (never NULL) */
	int64_t version;
	const char *kind;            /* forecaster_kind_name() */
	const char *target;
};

/* Append the answer for 'r' to 'out':
 *   {"model": ..., "alias": ..., "version": N, "kind": ..., "target": ...,
 *    "horizon": H, "step_seconds": S, "windows": W,
 *    "predictions": [{"timestamp": "...Z", "yhat": x, "y": x}, ...]}
 * one prediction per row of 'r' in time order (the last one the forecast
 * past the data); "yhat" (and "yhat_lower", "yhat_upper" with intervals,
 * and "y", the actuals, when known) is a number for a horizon of 1, else
 * an array of H.  Numbers are written with 17 significant digits, so they
 * read back to the same doubles as `dagrun predict`'s CSV; an unknown
 * value is null. */
void serve_body_answer(const struct forecaster_result *r,
		       const struct serve_body_source *src, struct strbuf *out);

/* Append 's' as a JSON string literal (quoted, escaped). */
void serve_body_json_string(struct strbuf *out, const char *s);

#endif
