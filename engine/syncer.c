/* syncer: see syncer.h.
 *
 * One mutex guards the queue indexes; the thread holds it only to pick a
 * job and to count it synced, never while it fsyncs.  The owner may move
 * the queue (grow or compact it) under the mutex: the thread keeps no
 * pointer into it across an unlock, only the job. */
#include "syncer.h"
#include "store.h"
#include "xalloc.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *syncer_main(void *arg)
{
	struct syncer *sy = arg;
	struct store_job *job;

	pthread_mutex_lock(&sy->mu);
	for (;;) {
		while (sy->synced == sy->tail && !sy->stop)
			pthread_cond_wait(&sy->cv, &sy->mu);
		if (sy->synced == sy->tail)
			break;
		job = sy->q[sy->synced].job;
		pthread_mutex_unlock(&sy->mu);
		store_job_sync(job);   /* a failure stays in the job */
		pthread_mutex_lock(&sy->mu);
		sy->synced++;
		pthread_kill(sy->owner, sy->sig);
	}
	pthread_mutex_unlock(&sy->mu);
	return NULL;
}

int syncer_start(struct syncer *sy, int sig, struct err *err)
{
	sigset_t all, old;
	int rc;

	memset(sy, 0, sizeof(*sy));
	sy->owner = pthread_self();
	sy->sig = sig;
	pthread_mutex_init(&sy->mu, NULL);
	pthread_cond_init(&sy->cv, NULL);
	/* the thread takes no signal: SIGCHLD and Ctrl-C are the owner's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sy->thread, NULL, syncer_main, sy);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		err_set(err, ERR_IO, "cannot start the syncer thread: %s", strerror(rc));
		return -1;
	}
	sy->running = 1;
	return 0;
}

void syncer_submit(struct syncer *sy, struct store_job *job, int tag)
{
	pthread_mutex_lock(&sy->mu);
	if (sy->tail == sy->cap && sy->head > 0) {   /* compact */
		memmove(sy->q, sy->q + sy->head, (sy->tail - sy->head) * sizeof(*sy->q));
		sy->synced -= sy->head;
		sy->tail -= sy->head;
		sy->head = 0;
	}
	xgrow((void **)&sy->q, sizeof(*sy->q), &sy->cap, sy->tail + 1);
	sy->q[sy->tail].job = job;
	sy->q[sy->tail].tag = tag;
	if (store_job_empty(job) && sy->synced == sy->tail) {
		sy->synced++;          /* nothing to sync, nothing before it */
		sy->tail++;
	} else {
		sy->tail++;
		pthread_cond_signal(&sy->cv);
	}
	pthread_mutex_unlock(&sy->mu);
}

int syncer_done(struct syncer *sy, struct store_job **job, int *tag)
{
	int got = 0;

	pthread_mutex_lock(&sy->mu);
	if (sy->head < sy->synced) {
		*job = sy->q[sy->head].job;
		*tag = sy->q[sy->head].tag;
		sy->head++;
		got = 1;
	}
	pthread_mutex_unlock(&sy->mu);
	return got;
}

size_t syncer_count(struct syncer *sy)
{
	size_t n;

	pthread_mutex_lock(&sy->mu);
	n = sy->tail - sy->head;
	pthread_mutex_unlock(&sy->mu);
	return n;
}

void syncer_stop(struct syncer *sy)
{
	struct timespec zero = {0, 0};
	sigset_t set;

	if (!sy->running)
		return;
	pthread_mutex_lock(&sy->mu);
	sy->stop = 1;
	pthread_cond_signal(&sy->cv);
	pthread_mutex_unlock(&sy->mu);
	pthread_join(sy->thread, NULL);
	sy->running = 0;
	sigemptyset(&set);
	sigaddset(&set, sy->sig);
	while (sigtimedwait(&set, NULL, &zero) == sy->sig)
		;
}

void syncer_release(struct syncer *sy)
{
	free(sy->q);
	sy->q = NULL;
	sy->head = sy->synced = sy->tail = sy->cap = 0;
	pthread_mutex_destroy(&sy->mu);
	pthread_cond_destroy(&sy->cv);
}
