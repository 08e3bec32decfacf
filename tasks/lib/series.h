/* series: the one column a univariate forecaster fits (train.prophet,
 * train.holt_winters), read from a needed data.load node.
 *
 * series_load() picks the need named by the kernel's 'data' param (or the
 * first need), reads its table with features_read_table() and finds the
 * 'target' param's column (or the schema's target).  Errors are ERR_USER
 * and name the task, the param or the schema file.  series_release()
 * frees what series_load() filled, also after a failure. */
#ifndef DAGRUN_SERIES_H
#define DAGRUN_SERIES_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "features.h"
#include "kernel.h"

struct series {
	struct features_set fs;
	int64_t *ts;
	json_t *schema;
	const char *target;    /* borrowed from the params or the schema */
	const double *y;       /* the target column, in fs */
};

int series_load(struct kctx *ctx, const char *task, struct series *s,
		struct err *err);
void series_release(struct series *s);

#endif
