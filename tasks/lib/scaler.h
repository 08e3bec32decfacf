/* scaler: per-column affine scaling, fitted on a range of rows, stored as
 * JSON, and inverted by whoever reads the predictions back.
 *
 * Kinds, each y = (x - a) / (b - a) or y = (x - a) / b:
 *   standard  a = mean, b = std (population std, ddof 0, as scikit-learn's
 *             StandardScaler): y = (x - mean) / std
 *   minmax    a = min, b = max: y = (x - min) / (max - min), in [0, 1] on
 *             the fitted rows
 *   none      y = x
 * A column without spread (std 0, or max == min) is stored with std 1
 * (max = min + 1), as scikit-learn does, so that apply and inverse stay
 * finite; the stored params are those effective values, so any reader of
 * the JSON inverts with the plain formula.
 *
 * JSON form: {"kind": "standard"|"minmax"|"none", "params": {"<column>":
 * {"mean": m, "std": s} | {"min": lo, "max": hi} | {}}}, columns in the
 * order they were fitted.
 *
 * Invariant: names[j], a[j], b[j] exist for j < n; names are owned.
 * Not thread-safe while fitting; apply and inverse only read. */
#ifndef DAGRUN_SCALER_H
#define DAGRUN_SCALER_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

enum scaler_kind {
	SCALER_NONE,
	SCALER_STANDARD,
	SCALER_MINMAX
};

struct scaler {
	enum scaler_kind kind;
	size_t n, cap;
	char **names;
	double *a, *b;   /* mean and std, or min and max; 0 and 1 for none */
};

/* "none", "standard", "minmax" and back; parse returns 0, or -1 if 's' is
 * none of them. */
const char *scaler_kind_name(enum scaler_kind k);
int scaler_kind_parse(const char *s, enum scaler_kind *k);

/* An empty scaler of kind 'k'; release with scaler_release(). */
void scaler_init(struct scaler *s, enum scaler_kind k);
void scaler_release(struct scaler *s);

/* Fit column 'name' (copied) on x[r0 .. r1) (r0 < r1; other rows are
 * never read) and append it.  Returns its index. */
size_t scaler_fit(struct scaler *s, const char *name, const double *x,
		  size_t r0, size_t r1);

/* scaler_fit() for 'n' columns 'cols[j]' named 'names[j]'. */
void scaler_fit_all(struct scaler *s, char *const *names, double *const *cols,
		    size_t n, size_t r0, size_t r1);

/* Rows r0 .. r1 of the columns 'cols[j]', j < s->n, each scaled as column
 * j, in a new row-major array of (r1 - r0) x s->n (caller frees). */
double *scaler_apply_rows(const struct scaler *s, double *const *cols,
			  size_t r0, size_t r1);

/* The index of column 'name', or -1. */
long scaler_find(const struct scaler *s, const char *name);

/* Scale, or unscale, one value of column 'j' (j < s->n). */
double scaler_apply(const struct scaler *s, size_t j, double x);
double scaler_inverse(const struct scaler *s, size_t j, double y);

/* The JSON form above; a new reference. */
json_t *scaler_to_json(const struct scaler *s);

/* Read the JSON form into 's' (initialised here; release it even on
 * failure).  Returns 0, or -1 with 'err' set (ERR_USER: an unknown kind, a
 * missing or non-finite param, a std <= 0 or max <= min). */
int scaler_from_json(json_t *j, struct scaler *s, struct err *err);

#endif
