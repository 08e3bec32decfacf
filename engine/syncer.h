/* syncer: a thread that makes staged node outputs durable while the
 * scheduler goes on starting their dependents.
 *
 * The owner submits store jobs (store.h: store_stage_dir) and takes them
 * back, synced, with syncer_done(), in the order they were submitted: a
 * job may rely on objects pending in earlier jobs, so an earlier job is
 * always handed back first.  Each time a job is synced the thread sends
 * 'sig' to the owner's thread, which keeps 'sig' blocked and takes it with
 * sigtimedwait() among its other signals; the owner drains that signal
 * before it unblocks it (syncer_stop() does).
 *
 * The thread only calls store_job_sync() (open, fsync, close on the job's
 * own paths) and never allocates.  Every function here is called on the
 * owner's thread; 'struct syncer' is the owner's. */
#ifndef DAGRUN_SYNCER_H
#define DAGRUN_SYNCER_H

#include <pthread.h>
#include <stddef.h>

#include "err.h"

struct store_job;

struct syncer_item {
	struct store_job *job;
	int tag;                    /* the owner's: a node index */
};

struct syncer {
	pthread_t thread, owner;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct syncer_item *q;      /* [head, synced): synced, not yet taken;
				     * [synced, tail): waiting for the thread */
	size_t head, synced, tail, cap;
	int sig, stop, running;
};

/* Start the thread; 'sig' goes to the calling thread.  Returns 0, or -1
 * with 'err' set (ERR_IO). */
int syncer_start(struct syncer *sy, int sig, struct err *err);

/* Queue 'job' (taken over until syncer_done() hands it back) with 'tag'.
 * A job with nothing to sync behind no waiting job is done at once: no
 * thread wake-up and no signal. */
void syncer_submit(struct syncer *sy, struct store_job *job, int tag);

/* 1 and the oldest synced job with its tag, or 0 when the oldest job
 * submitted is not synced yet (or there is none). */
int syncer_done(struct syncer *sy, struct store_job **job, int *tag);

/* Jobs submitted and not yet handed back by syncer_done(). */
size_t syncer_count(struct syncer *sy);

/* Sync what is queued, stop the thread and drain its signal.  Jobs not
 * yet taken stay for syncer_done(); syncer_release() frees the queue. */
void syncer_stop(struct syncer *sy);
void syncer_release(struct syncer *sy);

#endif
