/* exec: start one node attempt in a child process of its own.
 *
 * The child is the leader of a new process group (so a timeout or Ctrl-C
 * can end everything the node started), dies with the engine
 * (PR_SET_PDEATHSIG), reads /dev/null, writes stdout and stderr to its
 * log, runs in the project root, and sees the node environment of
 * DESIGN.md: DAGRUN_OUT, DAGRUN_IN, DAGRUN_NEEDS, DAGRUN_PARAMS,
 * DAGRUN_NODE, DAGRUN_RUN, DAGRUN_METRICS, DAGRUN_EVENTS.  A shell node
 * execs /bin/sh -c CMD; a lua node runs its script in the sandbox; a
 * kernel node calls kctx_main().  The engine never runs node code in its
 * own process, so a crash or an abort ends only the node. */
#ifndef DAGRUN_EXEC_H
#define DAGRUN_EXEC_H

#include <sys/types.h>

#include "err.h"

struct node;

struct exec_spec {
	const struct node *nd;
	const char *root;      /* the child's current folder */
	const char *work;      /* holds in/, out/ and meta/ */
	const char *needs;     /* need ids, one per line */
	const char *run_id;    /* as text */
	const char *log_path;
};

/* Start the attempt. Returns the child's pid, or -1 with 'err' set. */
pid_t exec_start(const struct exec_spec *s, struct err *err);

#endif
