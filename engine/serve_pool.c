/* serve_pool: the shared bound on waiting jobs and the per-thread queues
 * (see serve_pool.h).
 *
 * Invariants: pool.queued = places reserved + jobs in every queue, and
 * never exceeds queue_max (a reservation is refused instead);
 * pool.running counts jobs inside run().  Both are atomics: reserving a
 * place is one compare-and-swap loop, no lock, so the loop threads never
 * wait for each other.  A queue is touched by its own thread only. */
#include "serve_pool.h"
#include "xalloc.h"

#include <stdlib.h>
#include <time.h>

enum { WAITING = 0 };   /* besides SERVE_JOB_DONE, _EXPIRED */

struct serve_pool {
	int queue_max;
	atomic_int queued, running;
	atomic_int stopping;
};

struct serve_queue {
	struct serve_pool *pool;
	struct serve_job *head, *tail;          /* waiting, oldest first */
	struct serve_job *after_head, *after_tail;
	int length;
};

int64_t serve_pool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void serve_job_init(struct serve_job *job, void (*run)(struct serve_job *),
		    void (*end)(struct serve_job *, enum serve_job_end),
		    void (*after)(struct serve_job *),
		    void (*free_fn)(struct serve_job *), int64_t deadline_ns)
{
	job->run = run;
	job->end = end;
	job->after = after;
	job->free = free_fn;
	job->run_many = NULL;
	job->deadline_ns = deadline_ns;
	job->next = NULL;
	atomic_init(&job->state, WAITING);
	atomic_init(&job->refs, 1);
}

void serve_job_release(struct serve_job *job)
{
	if (job && atomic_fetch_sub(&job->refs, 1) == 1)
		job->free(job);
}

int serve_job_ended(struct serve_job *job)
{
	int s = atomic_load(&job->state);

	return s == SERVE_JOB_DONE || s == SERVE_JOB_EXPIRED ? s : 0;
}

/* ---- the pool ---------------------------------------------------------- */

struct serve_pool *serve_pool_new(int queue_max)
{
	struct serve_pool *p = xcalloc(1, sizeof(*p));

	p->queue_max = queue_max > 0 ? queue_max : 1;
	return p;
}

int serve_pool_reserve(struct serve_pool *p)
{
	int n = atomic_load(&p->queued);

	do {
		if (n >= p->queue_max || atomic_load(&p->stopping))
			return -1;
	} while (!atomic_compare_exchange_weak(&p->queued, &n, n + 1));
	return 0;
}

void serve_pool_unreserve(struct serve_pool *p)
{
	atomic_fetch_sub(&p->queued, 1);
}

void serve_pool_stop(struct serve_pool *p)
{
	atomic_store(&p->stopping, 1);
}

void serve_pool_stats(struct serve_pool *p, int *queued, int *running)
{
	*queued = atomic_load(&p->queued);
	*running = atomic_load(&p->running);
}

void serve_pool_free(struct serve_pool *p)
{
	free(p);
}

/* ---- a thread's queue -------------------------------------------------- */

struct serve_queue *serve_queue_new(struct serve_pool *p)
{
	struct serve_queue *q = xcalloc(1, sizeof(*q));

	q->pool = p;
	return q;
}

void serve_queue_push(struct serve_queue *q, struct serve_job *job)
{
	atomic_fetch_add(&job->refs, 1);
	job->next = NULL;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->length++;
}

/* The job's end: 'how', end() and, for a DONE job with after(), a place
 * in the after list (which keeps the queue's reference). */
static void finish(struct serve_queue *q, struct serve_job *job, int how)
{
	atomic_store(&job->state, how);
	job->end(job, (enum serve_job_end)how);
	if (how == SERVE_JOB_DONE && job->after) {
		job->next = NULL;
		if (q->after_tail)
			q->after_tail->next = job;
		else
			q->after_head = job;
		q->after_tail = job;
		return;
	}
	serve_job_release(job);
}

/* Take the oldest job off the queue. */
static struct serve_job *pop(struct serve_queue *q)
{
	struct serve_job *job = q->head;

	q->head = job->next;
	if (!q->head)
		q->tail = NULL;
	q->length--;
	atomic_fetch_sub(&q->pool->queued, 1);
	return job;
}

/* Pop the oldest job and, when it has run_many(), the jobs right behind
 * it with the same one, into 'batch' (SERVE_QUEUE_BATCH at most); those
 * past their deadline end EXPIRED instead.  Returns how many are in
 * 'batch' and adds the popped ones to '*popped'. */
static int take_batch(struct serve_queue *q, struct serve_job **batch, int *popped)
{
	void (*many)(struct serve_job **, int) = q->head->run_many;
	int64_t now = serve_pool_now();
	struct serve_job *job;
	int n = 0;

	do {
		job = pop(q);
		(*popped)++;
		if (now >= job->deadline_ns)
			finish(q, job, SERVE_JOB_EXPIRED);
		else
			batch[n++] = job;
	} while (many && q->head && q->head->run_many == many && n < SERVE_QUEUE_BATCH);
	return n;
}

int serve_queue_run(struct serve_queue *q)
{
	struct serve_job *batch[SERVE_QUEUE_BATCH];
	struct serve_pool *p = q->pool;
	int64_t now;
	int popped = 0, n;

	while (q->head) {
		n = take_batch(q, batch, &popped);
		if (n == 0)
			continue;
		atomic_fetch_add(&p->running, n);
		if (batch[0]->run_many)
			batch[0]->run_many(batch, n);
		else
			batch[0]->run(batch[0]);
		atomic_fetch_sub(&p->running, n);
		now = serve_pool_now();
		for (int i = 0; i < n; i++)
			finish(q, batch[i], now > batch[i]->deadline_ns ? SERVE_JOB_EXPIRED :
			       SERVE_JOB_DONE);
	}
	return popped;
}

int serve_queue_after(struct serve_queue *q)
{
	struct serve_job *job;
	int n = 0;

	for (job = q->after_head; job; job = q->after_head) {
		q->after_head = job->next;
		if (!q->after_head)
			q->after_tail = NULL;
		job->after(job);
		serve_job_release(job);
		n++;
	}
	return n;
}

int serve_queue_length(const struct serve_queue *q)
{
	return q->length;
}

static void drop(struct serve_job *job)
{
	while (job) {
		struct serve_job *next = job->next;
		serve_job_release(job);
		job = next;
	}
}

void serve_queue_free(struct serve_queue *q)
{
	if (!q)
		return;
	atomic_fetch_sub(&q->pool->queued, q->length);
	drop(q->head);
	drop(q->after_head);
	free(q);
}
