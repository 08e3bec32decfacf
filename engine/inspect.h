/* inspect: the read-only commands over the state: `dagrun runs` and
 * `dagrun show RUN [NODE]`, in text or JSON.  They never write. */
#ifndef DAGRUN_INSPECT_H
#define DAGRUN_INSPECT_H

#include <stdint.h>

#include "err.h"

struct state;

struct runs_filter {
	const char *pipeline;   /* NULL: any */
	const char *status;     /* NULL: any */
	int limit;              /* 0: no limit */
};

int inspect_runs(struct state *st, const struct runs_filter *f, int json,
		 struct err *err);

/* Resolve "42", "last" or "latest" to a run id; ERR_USER if unknown. */
int inspect_run_id(struct state *st, const char *text, int64_t *id,
		   struct err *err);

int inspect_show(struct state *st, int64_t run, const char *node, int json,
		 struct err *err);

#endif
