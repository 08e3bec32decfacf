/* serve_pool: workers, a bounded queue and deadlines (see serve_pool.h).
 *
 * Invariants, under 'lock':
 *   - every job in the ring is in state WAITING and holds the pool's
 *     reference; count + reserved <= queue_max;
 *   - running[w] is the job worker w runs (state RUNNING or EXPIRED), or
 *     NULL; the worker holds the pool's reference to it.
 * A job's state moves only by compare-and-swap: WAITING -> RUNNING (the
 * worker that takes it), WAITING -> EXPIRED or RUNNING -> EXPIRED (the
 * watchdog), RUNNING -> DONE (the worker); whoever moves it to DONE or
 * EXPIRED calls end(), so end() runs once. */
#include "serve_pool.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WAITING = 0, RUNNING = 3 };   /* besides SERVE_JOB_DONE, _EXPIRED */

struct worker {
	struct serve_pool *pool;
	int index;
	pthread_t thread;
};

struct serve_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;          /* a job was queued, or the pool stops */
	pthread_cond_t tick;          /* wakes the watchdog early to stop */
	struct serve_job **ring;      /* queue_max places */
	int queue_max, head, count, reserved;
	struct serve_job **running;   /* per worker */
	int n_workers, n_running;
	int stopping;                 /* no new jobs; workers exit when drained */
	int watch_stop;               /* the watchdog exits */
	int tick_ms;
	struct worker *workers;
	pthread_t watchdog;
	int n_started, watchdog_started;
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
	job->deadline_ns = deadline_ns;
	atomic_init(&job->state, WAITING);
	atomic_init(&job->refs, 1);
}

static void hold(struct serve_job *job)
{
	atomic_fetch_add(&job->refs, 1);
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

/* Move 'job' from state 'from' to 'to'; 1 if this call did it. */
static int move(struct serve_job *job, int from, int to)
{
	return atomic_compare_exchange_strong(&job->state, &from, to);
}

/* ---- workers ---------------------------------------------------------- */

/* The oldest queued job, or NULL when the pool stops and nothing is left
 * to run.  Called and returns with 'lock' held. */
static struct serve_job *take(struct serve_pool *p)
{
	struct serve_job *job;

	while (p->count == 0 && !(p->stopping && p->reserved == 0))
		pthread_cond_wait(&p->work, &p->lock);
	if (p->count == 0)
		return NULL;
	job = p->ring[p->head];
	p->head = (p->head + 1) % p->queue_max;
	p->count--;
	return job;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct serve_pool *p = w->pool;
	struct serve_job *job;
	int done;

	pthread_mutex_lock(&p->lock);
	for (job = take(p); job; job = take(p)) {
		if (!move(job, WAITING, RUNNING)) {
			/* cannot happen (the watchdog drops expired jobs from the
			 * ring under the lock), but a job is never run twice */
			pthread_mutex_unlock(&p->lock);
			serve_job_release(job);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		p->running[w->index] = job;
		p->n_running++;
		pthread_mutex_unlock(&p->lock);
		job->run(job);
		done = move(job, RUNNING, SERVE_JOB_DONE);
		if (done)
			job->end(job, SERVE_JOB_DONE);
		pthread_mutex_lock(&p->lock);
		p->running[w->index] = NULL;
		p->n_running--;
		pthread_mutex_unlock(&p->lock);
		if (done && job->after)
			job->after(job);
		serve_job_release(job);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- the watchdog ------------------------------------------------------ */

/* Take every job past its deadline out of the ring and the workers' hands
 * into 'out' (room for queue_max + n_workers), each with a reference the
 * caller releases.  Called with 'lock' held. */
static int collect_expired(struct serve_pool *p, int64_t now, struct serve_job **out)
{
	int n = 0, kept = 0;

	for (int k = 0; k < p->count; k++) {
		struct serve_job *job = p->ring[(p->head + k) % p->queue_max];
		if (job->deadline_ns <= now && move(job, WAITING, SERVE_JOB_EXPIRED))
			out[n++] = job;    /* the ring's reference moves to 'out' */
		else
			p->ring[(p->head + kept++) % p->queue_max] = job;
	}
	p->count = kept;
	for (int w = 0; w < p->n_workers; w++) {
		struct serve_job *job = p->running[w];
		if (job && job->deadline_ns <= now && move(job, RUNNING, SERVE_JOB_EXPIRED)) {
			hold(job);
			out[n++] = job;
		}
	}
	return n;
}

static void *watchdog_main(void *arg)
{
	struct serve_pool *p = arg;
	struct serve_job **expired = xmalloc((size_t)(p->queue_max + p->n_workers) *
					     sizeof(*expired));
	struct timespec until;
	int n;

	pthread_mutex_lock(&p->lock);
	while (!p->watch_stop) {
		n = collect_expired(p, serve_pool_now(), expired);
		pthread_mutex_unlock(&p->lock);
		for (int i = 0; i < n; i++) {
			expired[i]->end(expired[i], SERVE_JOB_EXPIRED);
			serve_job_release(expired[i]);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)p->tick_ms * 1000000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_mutex_lock(&p->lock);
		if (!p->watch_stop)
			pthread_cond_timedwait(&p->tick, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	free(expired);
	return NULL;
}

/* ---- the pool ---------------------------------------------------------- */

struct serve_pool *serve_pool_new(int workers, int queue_max, int tick_ms,
				  struct err *err)
{
	struct serve_pool *p = xcalloc(1, sizeof(*p));
	int rc = 0;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->tick, NULL);
	p->queue_max = queue_max > 0 ? queue_max : 1;
	p->n_workers = workers > 0 ? workers : 1;
	p->tick_ms = tick_ms > 0 ? tick_ms : 1;
	p->ring = xcalloc((size_t)p->queue_max, sizeof(*p->ring));
	p->running = xcalloc((size_t)p->n_workers, sizeof(*p->running));
	p->workers = xcalloc((size_t)p->n_workers, sizeof(*p->workers));
	for (int i = 0; rc == 0 && i < p->n_workers; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i;
		rc = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
		if (rc == 0)
			p->n_started++;
	}
	if (rc == 0) {
		rc = pthread_create(&p->watchdog, NULL, watchdog_main, p);
		p->watchdog_started = rc == 0;
	}
	if (rc != 0) {
		err_set(err, ERR_IO, "cannot start a worker thread: %s", strerror(rc));
		serve_pool_free(p);
		return NULL;
	}
	return p;
}

int serve_pool_reserve(struct serve_pool *p)
{
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	if (!p->stopping && p->count + p->reserved < p->queue_max) {
		p->reserved++;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void serve_pool_unreserve(struct serve_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->reserved--;
	pthread_cond_broadcast(&p->work);   /* a stopping pool may be waiting */
	pthread_mutex_unlock(&p->lock);
}

void serve_pool_commit(struct serve_pool *p, struct serve_job *job)
{
	hold(job);
	pthread_mutex_lock(&p->lock);
	p->reserved--;
	p->ring[(p->head + p->count) % p->queue_max] = job;
	p->count++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void serve_pool_stats(struct serve_pool *p, int *queued, int *running)
{
	pthread_mutex_lock(&p->lock);
	*queued = p->count + p->reserved;
	*running = p->n_running;
	pthread_mutex_unlock(&p->lock);
}

void serve_pool_free(struct serve_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->n_started; i++)
		pthread_join(p->workers[i].thread, NULL);
	pthread_mutex_lock(&p->lock);
	p->watch_stop = 1;
	pthread_cond_signal(&p->tick);
	pthread_mutex_unlock(&p->lock);
	if (p->watchdog_started)
		pthread_join(p->watchdog, NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->tick);
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p->running);
	free(p->workers);
	free(p);
}
