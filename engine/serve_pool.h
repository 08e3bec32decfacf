/* serve_pool: the backpressure of `dagrun serve`: one bound on the jobs
 * that wait, shared by every loop thread, and the FIFO queue of jobs of
 * each loop thread, with a deadline per job.
 *
 * A loop thread (serve.c) does its own network work and runs its own
 * jobs: it reads every request that is ready, turning each prediction
 * into a job in its queue (serve_pool_reserve() first: refused at once
 * when 'queue_max' jobs wait, across all queues), then runs the queue
 * (serve_queue_run()), then sends the answers.  So a request is read as
 * soon as it arrives, a full server answers 429 at once, and a job never
 * crosses threads: no hand-off, no context switch between reading a
 * request and computing it.
 *
 * A job with run_many() runs together with the jobs queued right behind
 * it that have the same run_many(), up to SERVE_QUEUE_BATCH of them, in
 * one call (their run() is not called): jobs that can share work, such
 * as predictions of one model, share it (forecaster_predict_many()).
 *
 * A job ends exactly once, in serve_queue_run(), on the queue's thread:
 *   - SERVE_JOB_EXPIRED without running when its deadline passed while it
 *     waited, or when run() returned past the deadline (its result is
 *     then discarded);
 *   - SERVE_JOB_DONE when run() returned in time.
 * end(job, how) is called then; after(job), if set and the job is DONE,
 * runs later, from serve_queue_after(), once the answers are out: work
 * that must not delay the answer (a shadow model's prediction).
 *
 * Jobs are reference counted: serve_job_init() gives the caller one
 * reference, a queue holds another from push until it no longer touches
 * the job, and free(job) runs when the last one is released.
 *
 * Thread-safety: a serve_queue belongs to one thread; the pool's
 * functions may be called from any thread. */
#ifndef DAGRUN_SERVE_POOL_H
#define DAGRUN_SERVE_POOL_H

#include <stdatomic.h>
#include <stdint.h>

/* 32: jobs run in one run_many() call; bounds the wait of the first */
#define SERVE_QUEUE_BATCH 32

enum serve_job_end { SERVE_JOB_DONE = 1, SERVE_JOB_EXPIRED = 2 };

struct serve_job {
	void (*run)(struct serve_job *job);
	/* optional, set after serve_job_init(): run 'n' jobs at once */
	void (*run_many)(struct serve_job **jobs, int n);
	void (*end)(struct serve_job *job, enum serve_job_end how);
	void (*after)(struct serve_job *job);    /* optional; see above */
	void (*free)(struct serve_job *job);     /* the last reference went */
	int64_t deadline_ns;                     /* serve_pool_now() clock */
	atomic_int state;                        /* private to serve_pool.c */
	atomic_int refs;                         /* private to serve_pool.c */
	struct serve_job *next;                  /* private to serve_pool.c */
};

struct serve_pool;
struct serve_queue;

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

/* The shared bound: at most 'queue_max' jobs wait.  Never fails. */
struct serve_pool *serve_pool_new(int queue_max);
/* Reserve a place: 0, or -1 when 'queue_max' jobs already wait or are
 * reserved, or the pool is stopping.  A reservation must be followed by
 * serve_queue_push() or serve_pool_unreserve(). */
int serve_pool_reserve(struct serve_pool *p);
void serve_pool_unreserve(struct serve_pool *p);
/* Refuse every reservation from now on. */
void serve_pool_stop(struct serve_pool *p);
/* Jobs waiting (reserved places included) and jobs running now. */
void serve_pool_stats(struct serve_pool *p, int *queued, int *running);
/* Free the pool; every queue must have been freed. */
void serve_pool_free(struct serve_pool *p);

/* A FIFO queue of jobs for one thread, counted in 'p'. */
struct serve_queue *serve_queue_new(struct serve_pool *p);
/* Queue 'job' into a place reserved in the pool; the queue takes its own
 * reference. */
void serve_queue_push(struct serve_queue *q, struct serve_job *job);
/* Run or expire every job queued now, oldest first, batched by run_many
 * (see above); returns how many ended. */
int serve_queue_run(struct serve_queue *q);
/* The after() of every job that ended DONE since the last call; returns
 * how many ran. */
int serve_queue_after(struct serve_queue *q);
/* Jobs queued now in 'q'. */
int serve_queue_length(const struct serve_queue *q);
/* Free 'q', dropping its references to jobs still queued or waiting
 * for after() (neither end() nor after() runs). */
void serve_queue_free(struct serve_queue *q);

#endif
