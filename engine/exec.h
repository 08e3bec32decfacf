/* exec: start node attempts in processes of their own, and make sure none
 * outlives the engine.
 *
 * Each node is the leader of a new process group (so a timeout or Ctrl-C
 * ends everything it started), reads /dev/null, writes stdout and stderr
 * to its log, runs in the project root, and sees the node environment of
 * DESIGN.md: DAGRUN_OUT, DAGRUN_IN, DAGRUN_NEEDS, DAGRUN_PARAMS,
 * DAGRUN_NODE, DAGRUN_RUN, DAGRUN_METRICS, DAGRUN_EVENTS, DAGRUN_ROOT.
 * A shell node is /bin/sh -c CMD, started with posix_spawn (no copy of
 * the engine's memory, which matters when thousands of nodes start); a
 * lua node runs its script in the sandbox and a kernel node calls
 * kctx_main(), each in a fork of the engine.  The engine never runs node
 * code in its own process, so a crash or an abort ends only the node.
 *
 * The reaper: a small process forked once by exec_open(), told the process
 * group of every node that starts and ends.  When the engine dies, even by
 * SIGKILL, the reaper reads end-of-file on its pipe and kills every group
 * still running.  'struct exec' is owned by the scheduler; not thread-safe.
 *
 * The spawner: the parent of a posix_spawn waits until the child has
 * exec'd, which on a loaded machine means until the child got a CPU:
 * milliseconds per node, during which a scheduler could record, reap and
 * start other nodes.  exec_spawner_start() starts a thread that does the
 * spawns of shell nodes queued by exec_start_async() instead, and tells
 * the owner's thread with a signal when each is done. */
#ifndef DAGRUN_EXEC_H
#define DAGRUN_EXEC_H

#include <pthread.h>
#include <sys/types.h>

#include "err.h"

struct node;

struct exec_spawn;

struct exec {
	int reaper_fd;      /* write end of the reaper's pipe, or -1 */
	pid_t reaper_pid;
	/* the spawner thread, when 'threaded' */
	int threaded, stop, sig;
	pthread_t thread, owner;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exec_spawn *todo, *todo_tail, *done, *done_tail;
};

struct exec_spec {
	const struct node *nd;
	const char *root;      /* the child's current folder */
	const char *work;      /* holds in/, out/, params.json and the metric and event files */
	const char *needs;     /* need ids, one per line */
	const char *run_id;    /* as text */
	const char *log_path;
	int log_fresh;         /* 1: the log starts empty (truncated, not appended to) */
	const char *params;    /* DAGRUN_PARAMS; NULL: 'work'/params.json */
};

/* Start the reaper. Returns 0, or -1 with 'err' set (ERR_IO). */
int exec_open(struct exec *ex, struct err *err);
/* Stop the reaper (after every node has ended) and wait for it. */
void exec_close(struct exec *ex);

/* Start the attempt. Returns the child's pid (also its process group),
 * or -1 with 'err' set. */
pid_t exec_start(struct exec *ex, const struct exec_spec *s, struct err *err);

/* The node whose group is 'pgid' has ended: the reaper forgets it. */
void exec_ended(struct exec *ex, pid_t pgid);

/* Start the spawner thread (after exec_open()); it sends 'sig' to the
 * calling thread, which keeps 'sig' blocked, after each spawn.  Returns 0,
 * or -1 with 'err' set (ERR_IO). */
int exec_spawner_start(struct exec *ex, int sig, struct err *err);
/* Finish the queued spawns, stop the thread, drop the spawns not taken
 * and drain 'sig'.  Call it when no spawn is in flight. */
void exec_spawner_stop(struct exec *ex);

/* Queue the start of shell node 's' (a copy of what it points to is
 * kept, but the node's command and 's->root' are borrowed until the spawn
 * is taken back) under 'tag'.  Needs the spawner. */
void exec_start_async(struct exec *ex, const struct exec_spec *s, int tag);
/* Take back one finished spawn, oldest first: 1 with its 'tag' and the
 * child's pid (also its process group), or with '*pid' -1 and 'err' set
 * when it could not start; 0 when none is finished. */
int exec_started(struct exec *ex, int *tag, pid_t *pid, struct err *err);

#endif
