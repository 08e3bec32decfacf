/* inspect: the read-only commands over the state: `dagrun runs` and
 * `dagrun show RUN [NODE]`, in text or JSON.  They never write. */
#ifndef DAGRUN_INSPECT_H
#define DAGRUN_INSPECT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct state;

struct runs_filter {
	const char *pipeline;   /* NULL: any */
	const char *status;     /* NULL: any */
	int limit;              /* 0: no limit */
	double since, until;    /* started within [since, until); 0: open */
};

int inspect_runs(struct state *st, const struct runs_filter *f, int json,
		 struct err *err);

/* Resolve "42", "last" or "latest" to a run id; ERR_USER if unknown. */
int inspect_run_id(struct state *st, const char *text, int64_t *id,
		   struct err *err);

int inspect_show(struct state *st, int64_t run, const char *node, int json,
		 struct err *err);

/* `dagrun metrics RUN`: each node's metrics: the final value (a metric
 * without a step) or else the value at the last step, with the number
 * of steps recorded. */
int inspect_metrics(struct state *st, int64_t run, int json, struct err *err);
/* The nodes of 'run' that recorded final metric 'name', best first
 * (lowest first, or highest first with 'desc'): a sweep's leaderboard.
 * ERR_USER when no node of the run recorded it. */
int inspect_metrics_rank(struct state *st, int64_t run, const char *name,
			 int desc, int json, struct err *err);

/* `dagrun metrics diff A B`: every metric of either run, with the old
 * value, the new value and the numeric change, as `dvc metrics diff`. */
int inspect_metrics_diff(struct state *st, int64_t a, int64_t b, int json,
			 struct err *err);

/* `dagrun explain PIPELINE NODE --diff A B`: the node's two keys part by
 * part. ERR_USER when a run has no key for the node. */
int inspect_key_diff(struct state *st, const char *node, int64_t a,
		     int64_t b, int json, struct err *err);

/* Shared by the other read commands (registry.c, ...): a unix time as
 * local "YYYY-MM-DD HH:MM:SS" ("-" for 0); a result row as a JSON object
 * of its columns' SQLite types; a JSON value printed to stdout and
 * released. */
void inspect_time(double t, char *buf, size_t n);
json_t *inspect_row_json(sqlite3_stmt *s);
void inspect_print_json(json_t *v);

#endif
