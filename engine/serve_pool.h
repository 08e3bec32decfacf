/* serve_pool: a fixed set of worker threads behind one bounded FIFO queue,
 * with a deadline per job: the backpressure of `dagrun serve`.
 *
 * The HTTP thread never computes a prediction: it reserves a slot
 * (serve_pool_reserve(), refused at once when 'queue_max' jobs wait),
 * suspends the connection, then commits the job into the slot.  A worker
 * takes the oldest job and runs it; a watchdog thread answers for any job,
 * waiting or running, whose deadline has passed.  So under overload a
 * request is refused fast (429) or answered by its deadline (503), and the
 * number of requests in memory stays bounded: the server degrades, it
 * does not collapse.
 *
 * A job ends exactly once, by whichever side gets there first:
 *   - the worker after run() returns: end(job, SERVE_JOB_DONE);
 *   - the watchdog at the deadline: end(job, SERVE_JOB_EXPIRED), while
 *     the job waits (it is then dropped from the queue and never run) or
 *     while it runs (run() is not interrupted: its result is discarded).
 * Then, on the worker and only after a DONE end, after(job) if set: work
 * that must not delay the answer (a shadow model's prediction).
 *
 * Jobs are reference counted: serve_job_init() gives the caller one
 * reference, the pool holds another from commit until it no longer
 * touches the job, and free(job) runs when the last one is released.  So
 * a caller may release its job as soon as it has read the answer, even if
 * an expired run() is still computing.
 *
 * Thread-safety: every function may be called from any thread, except
 * serve_pool_free() (once, by the owner). */
#ifndef DAGRUN_SERVE_POOL_H
#define DAGRUN_SERVE_POOL_H

#include <stdatomic.h>
#include <stdint.h>

#include "err.h"

enum serve_job_end { SERVE_JOB_DONE = 1, SERVE_JOB_EXPIRED = 2 };

struct serve_job {
	void (*run)(struct serve_job *job);      /* on a worker */
	void (*end)(struct serve_job *job, enum serve_job_end how);
	void (*after)(struct serve_job *job);    /* optional; see above */
	void (*free)(struct serve_job *job);     /* the last reference went */
	int64_t deadline_ns;                     /* serve_pool_now() clock */
	atomic_int state;                        /* private to serve_pool.c */
	atomic_int refs;                         /* private to serve_pool.c */
};

struct serve_pool;

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t serve_pool_now(void);

/* Set up 'job' with its callbacks ('after' may be NULL) and an absolute
 * deadline; the caller holds one reference. */
void serve_job_init(struct serve_job *job, void (*run)(struct serve_job *),
		    void (*end)(struct serve_job *, enum serve_job_end),
		    void (*after)(struct serve_job *),
		    void (*free_fn)(struct serve_job *), int64_t deadline_ns);
/* Drop one reference; the last calls job->free. */
void serve_job_release(struct serve_job *job);
/* SERVE_JOB_DONE or SERVE_JOB_EXPIRED once the job has ended, else 0. */
int serve_job_ended(struct serve_job *job);

/* Start 'workers' worker threads and the watchdog, which looks at the
 * deadlines every 'tick_ms' milliseconds (the precision of a timeout).
 * Returns the pool, or NULL with 'err' set (ERR_IO: no thread). */
struct serve_pool *serve_pool_new(int workers, int queue_max, int tick_ms,
				  struct err *err);
/* Reserve a place in the queue: 0, or -1 when 'queue_max' jobs are
 * already queued or reserved, or the pool is stopping.  A reservation
 * must be followed by serve_pool_commit() or serve_pool_unreserve(). */
int serve_pool_reserve(struct serve_pool *p);
void serve_pool_unreserve(struct serve_pool *p);
/* Queue 'job' into a reserved place; it never fails.  The pool takes its
 * own reference. */
void serve_pool_commit(struct serve_pool *p, struct serve_job *job);
/* Jobs waiting (reserved places included) and jobs running now. */
void serve_pool_stats(struct serve_pool *p, int *queued, int *running);
/* Refuse new jobs, let the workers finish every queued one (each ends,
 * by its run or its deadline), join the threads and free the pool. */
void serve_pool_free(struct serve_pool *p);

#endif
