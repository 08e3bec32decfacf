/* sched: run a loaded pipeline: keys, cache, claims, child processes.
 *
 * A node becomes ready when everything it needs is done or cached; then
 * its key is computed from its needs' outputs hashes and looked up.  A hit
 * makes it cached at once, without a process; a miss claims the key (per
 * key, so two dagrun processes never run one key twice) and starts the
 * node when '-j' slots allow, each node counting its 'resources.cpus'.
 * A finished node's outputs go into the object store before its success
 * is recorded.  A failure (non-zero exit, a signal, a timeout) records
 * nothing in the cache, skips its dependents, and without keep_going
 * stops new starts while running nodes finish.
 *
 * With a remote cache, a local miss asks the remote before the node is
 * claimed; a hit fetches and verifies its outputs and records the node as
 * cached "from the remote cache".  Every node that ran uploads its
 * outputs.  A remote problem warns once and the nodes run locally.
 *
 * With the slurm executor (slurm.h) a node is a Slurm job, watched by a
 * local process in its place: the rest of the scheduler is the same.
 *
 * Signals: sched_run() blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP for its
 * duration and takes them with sigtimedwait(), so no handler runs
 * asynchronously.  Ctrl-C ends every running node's process group
 * (SIGTERM, then SIGKILL after a grace period) and records them as
 * failed; nothing is half-recorded. */
#ifndef DAGRUN_SCHED_H
#define DAGRUN_SCHED_H

#include <stdint.h>

#include "err.h"
#include "progress.h"

struct pipeline;
struct state;
struct store;

/* Where a node runs unless its 'executor:' says otherwise. */
enum sched_executor { SCHED_LOCAL, SCHED_SLURM };

struct sched_opts {
	int jobs;                      /* at least 1; with slurm: jobs in flight */
	const char *salt;              /* NULL: none */
	int keep_going;
	int force_all;
	const unsigned char *force;    /* per node, or NULL */
	const unsigned char *want;     /* per node: part of this run; NULL: all */
	enum progress_mode mode;
	int verbose;
	const char *cache_url;         /* a remote cache (remote.h), or NULL */
	enum sched_executor executor;
};

struct sched_result {
	int ran, cached, failed, skipped, not_started;
	int user_error;     /* a kernel reported bad input (exit 2) */
	int interrupted;    /* the signal that stopped the run, or 0 */
};

/* Run the pipeline as run 'run_id' (already begun in the state).
 * Returns 0 when the run went its course (see 'res' for failures), or -1
 * with 'err' set when the engine itself cannot go on (state or store I/O);
 * running nodes are then ended first. */
int sched_run(struct pipeline *p, struct state *st, struct store *store,
	      int64_t run_id, const struct sched_opts *o,
	      struct sched_result *res, struct err *err);

/* Remove work folders of dagrun processes that are gone. */
void sched_clean_tmp(const char *state_dir);

#endif
