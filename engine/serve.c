/* serve: the HTTP server, routing, predictions and reload (see serve.h).
 *
 * Threads: --workers loop threads and the main thread, which polls the
 * registry every --poll-ms and watches for SIGINT/SIGTERM.  Each loop
 * thread drives a libmicrohttpd daemon of its own, in external epoll mode
 * on the one shared listening socket (the kernel hands a new connection
 * to one of them), and runs the predictions of its connections itself:
 * read every ready request, queue each prediction (serve_pool.h), run
 * the queue, send the answers, run the shadows.  Nothing crosses threads
 * on a request's way: the hand-off to a worker pool this replaced cost
 * two context switches per request, more than a prediction's network
 * work (docs/serve.md, "How fast").
 *
 * Globals: 'stop_signals', the one flag the signal handler sets.  A
 * handler rather than blocking the signals and sigwait(): threads that
 * libraries start before main() (OpenBLAS's pool) do not block them, so
 * any thread may be the one that takes the signal.
 *
 * A request's life: the first call of on_request() (headers read)
 * routes it and refuses it early when it must (405, 404, 401, 413 by
 * Content-Length); body chunks are gathered up to --max-body; the final
 * call answers a GET at once, or turns a POST into a job: a queue place
 * is reserved (else 429), the connection suspended, the job queued on
 * this loop thread.  The job's end (serve_queue_run(): run, or expired at
 * its deadline) resumes the connection, and the next on_request() call
 * answers with the job's result, or 503 when it expired.  request_done() frees the request
 * when libmicrohttpd is finished with it, dropping its job reference.
 *
 * Invariant: 'suspended' counts the requests from the suspension of
 * their connection until their answer is queued or libmicrohttpd drops
 * them (request.counted says which are counted); shutdown waits for 0
 * before stopping the daemon, which it must not do with a connection
 * suspended. */
#include "serve.h"
#include "fs.h"
#include "serve_body.h"
#include "serve_metrics.h"
#include "serve_models.h"
#include "serve_pool.h"
#include "serve_split.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 60 s: a POST /reload may load several models; its own deadline */
#define RELOAD_DEADLINE_MS 60000
/* 30 s: an idle keep-alive connection is closed after this */
#define IDLE_TIMEOUT_S 30
/* 4096: open connections; beyond, new ones wait in the listen backlog */
#define CONNECTION_LIMIT 4096
/* 20 ms: how soon the main thread notices a signal */
#define SIGNAL_CHECK_MS 20

/* SIGINT and SIGTERM received: the first stops the server gracefully,
 * a second one stops waiting for the requests in flight. */
static volatile sig_atomic_t stop_signals;
static volatile sig_atomic_t last_signal;

static void on_stop_signal(int sig)
{
	last_signal = sig;
	stop_signals = stop_signals + 1;
}

struct options {
	const char *host, *state, *split, *shadow, *token_file;
	int port, workers, queue_max, timeout_ms, poll_ms, debug_delay_ms;
	size_t max_body;
	int quiet, verbose;
};

struct server;

/* A loop thread: its daemon and its queue. */
struct loop {
	struct server *srv;
	struct MHD_Daemon *daemon;
	struct serve_queue *queue;
	pthread_t thread;
	int started;
};

struct server {
	struct options o;
	struct loop *loops;          /* o.workers of them */
	atomic_int loops_exit;       /* the loop threads return */
	struct serve_pool *pool;
	struct serve_models *models;
	struct serve_metrics *metrics;
	struct serve_split split;
	char *token;                 /* NULL: no authentication */
	size_t token_len;
	atomic_ullong seq;           /* requests without a key, for the split */
	atomic_int suspended;        /* connections waiting for their job */
	atomic_int stopping;         /* shutting down: new jobs get 503 */
	double started;
};

/* A prediction or a reload, run by a loop thread (serve_pool.h). */
struct job {
	struct serve_job base;       /* first: a struct serve_job * is a job */
	struct server *srv;
	struct MHD_Connection *conn;
	enum serve_endpoint ep;
	char *body;                  /* owned; moved from the request */
	size_t len;
	int format;
	char *model, *alias;         /* alias NULL: the split or production */
	char *key, *time_col;        /* may be NULL */
	/* the answer, written by run() before the job ends */
	unsigned status;
	char *answer;
	char *served_alias;          /* for the shadow: who answered */
	struct forecaster_result primary;
	int have_primary;
};

struct request {
	struct server *srv;
	struct loop *loop;           /* whose daemon reads it */
	enum serve_endpoint ep;
	int allowed;                 /* the method suits the path */
	int is_post;
	int64_t t0_ns;               /* serve_pool_now() at the headers */
	struct strbuf body;
	int too_large;
	struct job *job;             /* once queued */
	int counted;                 /* in server.suspended */
	char *url;
};

/* ---- answers ------------------------------------------------------------ */

/* Queue 'text' (malloc'ed; given away) with 'status' and count it. */
static enum MHD_Result answer(struct request *rq, struct MHD_Connection *c,
			      unsigned status, const char *type, char *text,
			      const char *retry_after)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text),
		text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;
	double seconds;

	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"dagrun\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					rq->ep == SERVE_EP_PREDICT || rq->ep == SERVE_EP_RELOAD ?
					"POST" : "GET, HEAD");
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	seconds = (double)(serve_pool_now() - rq->t0_ns) / 1e9;
	serve_metrics_request(rq->srv->metrics, rq->ep, status, seconds);
	if (rq->srv->o.verbose)
		fprintf(stderr, "dagrun serve: %s %u %.3f ms\n", rq->url, status,
			seconds * 1e3);
	return rc;
}

/* {"error": "..."} as a fresh string. */
static char *error_json(const char *msg)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "{\"error\":");
	serve_body_json_string(&sb, msg);
	sb_adds(&sb, "}\n");
	return sb_detach(&sb);
}

static enum MHD_Result answer_error(struct request *rq, struct MHD_Connection *c,
				    unsigned status, const char *msg)
{
	return answer(rq, c, status, "application/json", error_json(msg),
		      status == 429 || status == 503 ? "1" : NULL);
}

static enum MHD_Result answer_json(struct request *rq, struct MHD_Connection *c,
				   unsigned status, char *text)
{
	return answer(rq, c, status, "application/json", text, NULL);
}

/* ---- the cheap endpoints ------------------------------------------------ */

static char *healthz(struct server *srv)
{
	struct serve_snapshot *s = serve_models_acquire(srv->models);
	size_t up = 0, down = 0;
	int queued, running;
	char *text;

	for (size_t i = 0; i < serve_snapshot_size(s); i++) {
		const struct serve_entry *e = serve_snapshot_entry(s, i);
		*(e->f && !e->error ? &up : &down) += 1;
	}
	serve_snapshot_release(s);
	serve_pool_stats(srv->pool, &queued, &running);
	text = xasprintf("{\"status\":\"%s\",\"aliases_serving\":%zu,"
			 "\"aliases_failing\":%zu,\"queued\":%d,\"running\":%d,"
			 "\"uptime_seconds\":%.3f}\n", down ? "degraded" : "ok", up,
			 down, queued, running, state_now() - srv->started);
	return text;
}

/* The gauges of the pool and of the snapshot in service. */
static void render_gauges(struct server *srv, struct strbuf *out)
{
	struct serve_snapshot *s = serve_models_acquire(srv->models);
	int queued, running;

	serve_pool_stats(srv->pool, &queued, &running);
	serve_metrics_family(out, "dagrun_serve_queue_depth", "gauge",
			     "Predictions waiting for their loop thread.");
	serve_metrics_sample(out, "dagrun_serve_queue_depth", NULL, queued);
	serve_metrics_family(out, "dagrun_serve_queue_capacity", "gauge",
			     "The most predictions that may wait (--queue-max).");
	serve_metrics_sample(out, "dagrun_serve_queue_capacity", NULL, srv->o.queue_max);
	serve_metrics_family(out, "dagrun_serve_workers_busy", "gauge",
			     "Predictions (or reloads) running now.");
	serve_metrics_sample(out, "dagrun_serve_workers_busy", NULL, running);
	serve_metrics_family(out, "dagrun_serve_workers", "gauge",
			     "Loop threads (--workers).");
	serve_metrics_sample(out, "dagrun_serve_workers", NULL, srv->o.workers);
	serve_metrics_family(out, "dagrun_serve_model_version", "gauge",
			     "The model version each model@alias serves.");
	for (size_t i = 0; i < serve_snapshot_size(s); i++) {
		const struct serve_entry *e = serve_snapshot_entry(s, i);
		const char *l[] = {"model", e->model, "alias", e->alias, "kind", e->kind, NULL};
		if (e->f)
			serve_metrics_sample(out, "dagrun_serve_model_version", l,
					     (double)e->version);
	}
	serve_metrics_family(out, "dagrun_serve_model_up", "gauge", "1 when model@alias "
			     "serves the version the registry names, else 0.");
	for (size_t i = 0; i < serve_snapshot_size(s); i++) {
		const struct serve_entry *e = serve_snapshot_entry(s, i);
		const char *l[] = {"model", e->model, "alias", e->alias, NULL};
		serve_metrics_sample(out, "dagrun_serve_model_up", l, e->f && !e->error);
	}
	serve_snapshot_release(s);
	serve_metrics_family(out, "dagrun_serve_uptime_seconds", "gauge",
			     "Seconds since the server started.");
	serve_metrics_sample(out, "dagrun_serve_uptime_seconds", NULL,
			     state_now() - srv->started);
}

static char *metrics_text(struct server *srv)
{
	struct strbuf sb;

	sb_init(&sb);
	serve_metrics_render(srv->metrics, &sb);
	render_gauges(srv, &sb);
	return sb_detach(&sb);
}

static char *models_text(struct server *srv)
{
	struct serve_snapshot *s = serve_models_acquire(srv->models);
	char *text = xasprintf("%s\n", serve_snapshot_models_json(s));

	serve_snapshot_release(s);
	return text;
}

/* ---- predictions (on a loop thread) ------------------------------------- */

struct pick_arg {
	const struct serve_snapshot *s;
	const char *model;
};

static int present(void *arg, const char *alias)
{
	const struct pick_arg *a = arg;
	const struct serve_entry *e = serve_snapshot_find(a->s, a->model, alias);

	return e && e->f;
}

/* Why a request cannot be routed. */
enum route_fail { ROUTE_OK, ROUTE_NO_MODEL, ROUTE_NO_SPLIT, ROUTE_NO_ALIAS,
		  ROUTE_NOT_LOADED };

/* The entry a request for 'job' goes to, or NULL with '*fail' set;
 * '*alias' gets the alias asked for or picked (borrowed). */
static const struct serve_entry *route(struct job *job, const struct serve_snapshot *s,
				       const char **alias, enum route_fail *fail)
{
	struct server *srv = job->srv;
	const struct serve_entry *e;

	*alias = job->alias ? job->alias : "production";
	*fail = ROUTE_NO_MODEL;
	if (!serve_snapshot_has_model(s, job->model))
		return NULL;
	if (!job->alias && srv->split.n) {
		struct pick_arg a = {s, job->model};
		unsigned point = serve_split_point(&srv->split, job->key,
			job->key ? strlen(job->key) : 0, atomic_fetch_add(&srv->seq, 1));
		*alias = serve_split_pick(&srv->split, point, present, &a);
		*fail = ROUTE_NO_SPLIT;
		if (!*alias)
			return NULL;
		serve_metrics_labelled(srv->metrics, SERVE_LB_SPLIT, job->model, *alias);
	}
	e = serve_snapshot_find(s, job->model, *alias);
	*fail = !e ? ROUTE_NO_ALIAS : !e->f ? ROUTE_NOT_LOADED : ROUTE_OK;
	return *fail == ROUTE_OK ? e : NULL;
}

/* Predict the job's body with entry 'e' into 'r'; the HTTP status of a
 * failure (err set) or 0. */
static unsigned predict(const struct job *job, const struct serve_entry *e,
			struct forecaster_result *r, struct err *err)
{
	struct forecaster_table tb;
	int rc;

	rc = serve_body_read(e->f, (enum serve_body_format)job->format, job->body,
			     job->len, job->time_col, &tb, err);
	if (rc == 0)
		rc = forecaster_predict(e->f, &tb, r, err);
	forecaster_table_release(&tb);
	if (rc == 0)
		return 0;
	return err->kind == ERR_USER ? 400 : 500;
}

static void set_error(struct job *job, unsigned status, const char *msg)
{
	job->status = status;
	job->answer = error_json(msg);
}

static void route_error(struct job *job, const struct serve_snapshot *s,
			const char *alias, enum route_fail fail)
{
	const struct serve_entry *e = serve_snapshot_find(s, job->model, alias);
	char *msg;

	if (fail == ROUTE_NO_MODEL)
		msg = xasprintf("no model '%s' in the registry (see GET /models)", job->model);
	else if (fail == ROUTE_NO_SPLIT)
		msg = xasprintf("model '%s' has none of the --split aliases in service",
				job->model);
	else if (fail == ROUTE_NO_ALIAS)
		msg = xasprintf("model '%s' has no alias '%s' (see GET /models)",
				job->model, alias);
	else
		msg = xasprintf("%s@%s is not in service: %s", job->model, alias,
				e && e->error ? e->error : "it could not be loaded");
	set_error(job, fail == ROUTE_NOT_LOADED ? 503 : 404, msg);
	free(msg);
}

/* --debug-delay-ms: sleep that long, but not past the job's deadline
 * plus a millisecond (the job then expires, as a slow model's would). */
static void debug_delay(const struct job *job)
{
	int64_t until = serve_pool_now() + (int64_t)job->srv->o.debug_delay_ms * 1000000;
	struct timespec ts;

	if (until > job->base.deadline_ns + 1000000)
		until = job->base.deadline_ns + 1000000;
	until -= serve_pool_now();
	if (until <= 0)
		return;
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	nanosleep(&ts, NULL);
}

/* The 200 answer of 'job', whose prediction is in job->primary, made by
 * entry 'e'. */
static void set_answer(struct job *job, const struct serve_entry *e)
{
	struct serve_body_source src = {e->model, e->alias, e->version, e->kind,
					forecaster_target(e->f)};
	struct strbuf sb;

	sb_init(&sb);
	serve_body_answer(&job->primary, &src, &sb);
	sb_addc(&sb, '\n');
	job->status = 200;
	job->answer = sb_detach(&sb);
	job->have_primary = 1;
	job->served_alias = xstrdup(e->alias);
}

/* A prediction of a batch on its way: the entry that answers it (NULL
 * once it has its answer) and the table its body holds. */
struct pending {
	struct job *job;
	const struct serve_entry *e;
	struct forecaster_table tb;
};

/* Route the job of 'pd' and read its body; a job that fails either gets
 * its error answer here. */
static void prepare(struct pending *pd, const struct serve_snapshot *s)
{
	struct job *job = pd->job;
	enum route_fail fail;
	const char *alias;
	struct err err;

	if (job->srv->o.debug_delay_ms > 0)
		debug_delay(job);
	err_init(&err);
	pd->e = route(job, s, &alias, &fail);
	if (!pd->e) {
		route_error(job, s, alias, fail);
		return;
	}
	if (serve_body_read(pd->e->f, (enum serve_body_format)job->format, job->body,
			    job->len, job->time_col, &pd->tb, &err) < 0) {
		set_error(job, err.kind == ERR_USER ? 400 : 500, err.msg);
		pd->e = NULL;
	}
}

/* Every pending prediction from 'from' on that goes to the forecaster of
 * pd[from], in one forecaster_predict_many() call. */
static void predict_group(struct pending *pd, int n, int from)
{
	const struct forecaster *f = pd[from].e->f;
	const struct forecaster_table **tb = xcalloc((size_t)n, sizeof(*tb));
	struct forecaster_result *r = xcalloc((size_t)n, sizeof(*r));
	struct err *errs = xcalloc((size_t)n, sizeof(*errs));
	int *rc = xcalloc((size_t)n, sizeof(*rc)), *idx = xcalloc((size_t)n, sizeof(*idx));
	int k = 0;

	for (int i = from; i < n; i++)
		if (pd[i].e && pd[i].e->f == f) {
			idx[k] = i;
			err_init(&errs[k]);
			tb[k++] = &pd[i].tb;
		}
	forecaster_predict_many(f, tb, (size_t)k, r, rc, errs);
	serve_metrics_event(pd[from].job->srv->metrics, SERVE_EV_PASS);
	serve_metrics_events_add(pd[from].job->srv->metrics, SERVE_EV_PASS_REQUESTS,
				 (unsigned long long)k);
	for (int j = 0; j < k; j++) {
		struct pending *p = &pd[idx[j]];
		if (rc[j]) {
			set_error(p->job, errs[j].kind == ERR_USER ? 400 : 500, errs[j].msg);
		} else {
			p->job->primary = r[j];
			set_answer(p->job, p->e);
		}
		p->e = NULL;
	}
	free(tb);
	free(r);
	free(errs);
	free(rc);
	free(idx);
}

/* The predictions queued together on a loop (serve_pool.h's run_many):
 * one snapshot for all, and one forward pass per model, whose results
 * are those of one pass per request, to the bit. */
static void run_predicts(struct serve_job **jobs, int n)
{
	struct server *srv = ((struct job *)jobs[0])->srv;
	struct pending *pd = xcalloc((size_t)n, sizeof(*pd));
	struct serve_snapshot *s = serve_models_acquire(srv->models);

	for (int i = 0; i < n; i++) {
		pd[i].job = (struct job *)jobs[i];
		prepare(&pd[i], s);
	}
	for (int i = 0; i < n; i++)
		if (pd[i].e)
			predict_group(pd, n, i);
	for (int i = 0; i < n; i++)
		forecaster_table_release(&pd[i].tb);
	serve_snapshot_release(s);
	free(pd);
}

/* Mean |a - b| over the values both know, or NAN. */
static double mean_abs_diff(const struct forecaster_result *a,
			    const struct forecaster_result *b)
{
	size_t n = a->n * a->horizon, k = 0;
	double sum = 0;

	if (a->n != b->n || a->horizon != b->horizon)
		return NAN;
	for (size_t i = 0; i < n; i++)
		if (isfinite(a->yhat[i]) && isfinite(b->yhat[i])) {
			sum += fabs(a->yhat[i] - b->yhat[i]);
			k++;
		}
	return k ? sum / (double)k : NAN;
}

/* After the answer went out: the same rows through the --shadow alias,
 * counted and logged, never returned. */
static void run_shadow(struct serve_job *base)
{
	struct job *job = (struct job *)base;
	struct server *srv = job->srv;
	const char *alias = srv->o.shadow;
	struct serve_snapshot *s;
	const struct serve_entry *e;
	struct forecaster_result r;
	struct err err;

	if (!alias || !job->have_primary || !strcmp(job->served_alias, alias))
		return;
	s = serve_models_acquire(srv->models);
	e = serve_snapshot_find(s, job->model, alias);
	if (e && e->f) {
		err_init(&err);
		if (predict(job, e, &r, &err) == 0) {
			serve_metrics_labelled(srv->metrics, SERVE_LB_SHADOW_OK, job->model, alias);
			if (!srv->o.quiet)
				fprintf(stderr, "dagrun serve: shadow %s@%s v%lld: %zu predictions, "
					"last yhat %.6g, mean |diff| %.6g from %s\n", job->model,
					alias, (long long)e->version, r.n, r.n ? r.yhat[(r.n - 1) *
					r.horizon] : NAN, mean_abs_diff(&r, &job->primary),
					job->served_alias);
			forecaster_result_release(&r);
		} else {
			serve_metrics_labelled(srv->metrics, SERVE_LB_SHADOW_ERROR, job->model,
					       alias);
			if (!srv->o.quiet)
				fprintf(stderr, "dagrun serve: shadow %s@%s v%lld failed: %s\n",
					job->model, alias, (long long)e->version, err.msg);
		}
	}
	serve_snapshot_release(s);
}

/* ---- reload (on a loop thread, or the main thread's poll) --------------- */

/* Reload and count it; 'force' as serve_models_reload().  Load failures
 * are logged by serve_models, the rest by the caller. */
static int reload(struct server *srv, int force, struct serve_reload *r,
		  struct err *err)
{
	int rc = serve_models_reload(srv->models, force, r, err);

	if (!r->read && rc == 0)
		return 0;    /* nothing changed: nothing read */
	serve_metrics_event(srv->metrics, rc == 0 ? SERVE_EV_RELOAD_OK :
			    SERVE_EV_RELOAD_ERROR);
	for (int i = 0; i < r->swapped; i++)
		serve_metrics_event(srv->metrics, SERVE_EV_SWAP);
	return rc;
}

static void run_reload(struct serve_job *base)
{
	struct job *job = (struct job *)base;
	struct serve_reload r;
	struct err err;
	struct strbuf sb;
	int rc;

	err_init(&err);
	rc = reload(job->srv, 1, &r, &err);
	sb_init(&sb);
	sb_addf(&sb, "{\"reloaded\":%s,\"swapped\":%d,\"removed\":%d,\"failed\":%d",
		r.read ? "true" : "false", r.swapped, r.removed, r.failed);
	if (rc < 0) {
		sb_adds(&sb, ",\"error\":");
		serve_body_json_string(&sb, err.msg);
	}
	sb_adds(&sb, "}\n");
	job->status = rc < 0 ? 500 : 200;
	job->answer = sb_detach(&sb);
}

/* ---- jobs --------------------------------------------------------------- */

static void job_end(struct serve_job *base, enum serve_job_end how)
{
	struct job *job = (struct job *)base;

	(void)how;
	MHD_resume_connection(job->conn);
}

static void job_free(struct serve_job *base)
{
	struct job *job = (struct job *)base;

	if (job->have_primary)
		forecaster_result_release(&job->primary);
	free(job->body);
	free(job->model);
	free(job->alias);
	free(job->key);
	free(job->time_col);
	free(job->answer);
	free(job->served_alias);
	free(job);
}

/* Queue 'job' for 'rq' on connection 'c': suspended until it ends. */
static enum MHD_Result start_job(struct request *rq, struct MHD_Connection *c,
				 struct job *job, int64_t deadline_ns)
{
	struct server *srv = rq->srv;

	serve_job_init(&job->base, run_reload, job_end,
		       srv->o.shadow ? run_shadow : NULL, job_free, deadline_ns);
	if (job->ep == SERVE_EP_PREDICT)
		job->base.run_many = run_predicts;
	job->srv = srv;
	job->conn = c;
	if (atomic_load(&srv->stopping)) {
		serve_job_release(&job->base);
		return answer_error(rq, c, 503, "the server is shutting down");
	}
	if (serve_pool_reserve(srv->pool) < 0) {
		serve_job_release(&job->base);
		serve_metrics_event(srv->metrics, SERVE_EV_REJECTED);
		return answer_error(rq, c, 429, "too many requests: the queue is full "
				    "(retry after a second)");
	}
	rq->job = job;
	rq->counted = 1;
	atomic_fetch_add(&srv->suspended, 1);
	MHD_suspend_connection(c);
	serve_queue_push(rq->loop->queue, &job->base);
	return MHD_YES;
}

/* The answer of an ended job (the connection was resumed). */
static enum MHD_Result answer_job(struct request *rq, struct MHD_Connection *c)
{
	struct job *job = rq->job;
	enum MHD_Result rc;

	rq->counted = 0;
	atomic_fetch_sub(&rq->srv->suspended, 1);
	if (serve_job_ended(&job->base) == SERVE_JOB_EXPIRED) {
		char *msg = job->ep == SERVE_EP_RELOAD ?
			xstrdup("the reload is taking too long; it goes on") :
			xasprintf("the prediction did not finish within %d ms "
				  "(--timeout-ms)", rq->srv->o.timeout_ms);
		serve_metrics_event(rq->srv->metrics, SERVE_EV_TIMEOUT);
		rc = answer_error(rq, c, 503, msg);
		free(msg);
		return rc;
	}
	rc = answer_json(rq, c, job->status, job->answer);
	job->answer = NULL;   /* given to libmicrohttpd */
	return rc;
}

/* ---- routing ------------------------------------------------------------ */

static const char predict_prefix[] = "/predict/";

/* The endpoint of 'url' and whether 'method' suits it. */
static void classify(struct request *rq, const char *url, const char *method)
{
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	rq->is_post = !strcmp(method, "POST");
	if (!strcmp(url, "/healthz"))
		rq->ep = SERVE_EP_HEALTHZ;
	else if (!strcmp(url, "/metrics"))
		rq->ep = SERVE_EP_METRICS;
	else if (!strcmp(url, "/models"))
		rq->ep = SERVE_EP_MODELS;
	else if (!strncmp(url, predict_prefix, sizeof(predict_prefix) - 1))
		rq->ep = SERVE_EP_PREDICT;
	else if (!strcmp(url, "/reload"))
		rq->ep = SERVE_EP_RELOAD;
	else
		rq->ep = SERVE_EP_OTHER;
	rq->allowed = rq->ep == SERVE_EP_PREDICT || rq->ep == SERVE_EP_RELOAD ?
		rq->is_post : get;
}

/* Constant time in the token's length, whatever 'got' holds. */
static int token_equal(const char *want, size_t want_len, const char *got,
		       size_t got_len)
{
	unsigned char d = 0;

	for (size_t i = 0; i < want_len; i++)
		d |= (unsigned char)(want[i] ^ (i < got_len ? got[i] : 0));
	return d == 0 && want_len == got_len;
}

static int authorised(struct server *srv, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (!srv->token)
		return 1;
	if (!h || strncasecmp(h, "Bearer ", 7))
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	return token_equal(srv->token, srv->token_len, h, strlen(h));
}

static enum MHD_Result too_large(struct request *rq, struct MHD_Connection *c)
{
	char *msg = xasprintf("the body is larger than the limit of %zu bytes "
			      "(--max-body)", rq->srv->o.max_body);
	enum MHD_Result rc = answer_error(rq, c, 413, msg);

	free(msg);
	return rc;
}

/* The first call: refuse what can be refused before the body comes. */
static enum MHD_Result first_call(struct request *rq, struct MHD_Connection *c)
{
	struct server *srv = rq->srv;
	const char *cl;

	if (rq->ep == SERVE_EP_OTHER)
		return answer_error(rq, c, 404, "no such endpoint (expected /healthz, "
				    "/metrics, /models, /predict/NAME[@ALIAS] or /reload)");
	if (!rq->allowed)
		return answer_error(rq, c, 405, rq->ep == SERVE_EP_PREDICT ||
				    rq->ep == SERVE_EP_RELOAD ? "method not allowed here "
				    "(this endpoint takes POST)" : "method not allowed here "
				    "(this endpoint takes GET or HEAD)");
	if (rq->is_post && !authorised(srv, c))
		return answer_error(rq, c, 401, "missing or wrong bearer token "
				    "(expected Authorization: Bearer <token>)");
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > srv->o.max_body)
		return too_large(rq, c);
	return MHD_YES;
}

/* POST /predict/NAME[@ALIAS]: check the reference and the body's type,
 * then queue. */
static enum MHD_Result start_predict(struct request *rq, struct MHD_Connection *c)
{
	const char *ref = rq->url + sizeof(predict_prefix) - 1, *at = strchr(ref, '@');
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Key");
	const char *tcol = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timestamp");
	int format = serve_body_format(type);
	struct job *job;

	if (!*ref || at == ref || (at && !at[1]) || strchr(ref, '/')) {
		return answer_error(rq, c, 404, "bad model reference (expected "
				    "/predict/NAME or /predict/NAME@ALIAS)");
	}
	if (format < 0) {
		char *msg = xasprintf("unsupported Content-Type '%s' (expected "
				      "application/json or text/csv; with curl: -H "
				      "'Content-Type: application/json')", type);
		enum MHD_Result rc = answer_error(rq, c, 415, msg);
		free(msg);
		return rc;
	}
	job = xcalloc(1, sizeof(*job));
	job->ep = SERVE_EP_PREDICT;
	job->format = format;
	job->len = rq->body.len;
	job->body = sb_detach(&rq->body);
	sb_init(&rq->body);
	job->model = at ? xstrndup(ref, (size_t)(at - ref)) : xstrdup(ref);
	job->alias = at ? xstrdup(at + 1) : NULL;
	job->key = key && *key ? xstrdup(key) : NULL;
	job->time_col = tcol && *tcol ? xstrdup(tcol) : NULL;
	return start_job(rq, c, job, rq->t0_ns +
			 (int64_t)rq->srv->o.timeout_ms * 1000000);
}

/* The final call: the whole request is in. */
static enum MHD_Result dispatch(struct request *rq, struct MHD_Connection *c)
{
	struct server *srv = rq->srv;
	struct job *job;

	if (rq->too_large)
		return too_large(rq, c);
	switch (rq->ep) {
	case SERVE_EP_HEALTHZ:
		return answer_json(rq, c, 200, healthz(srv));
	case SERVE_EP_METRICS:
		return answer(rq, c, 200, "text/plain; version=0.0.4; charset=utf-8",
			      metrics_text(srv), NULL);
	case SERVE_EP_MODELS:
		return answer_json(rq, c, 200, models_text(srv));
	case SERVE_EP_PREDICT:
		return start_predict(rq, c);
	case SERVE_EP_RELOAD:
		job = xcalloc(1, sizeof(*job));
		job->ep = SERVE_EP_RELOAD;
		return start_job(rq, c, job, serve_pool_now() +
				 (int64_t)(srv->o.timeout_ms > RELOAD_DEADLINE_MS ?
					   srv->o.timeout_ms : RELOAD_DEADLINE_MS) * 1000000);
	default:
		return answer_error(rq, c, 404, "no such endpoint");
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct loop *lp = cls;
	struct server *srv = lp->srv;
	struct request *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = xcalloc(1, sizeof(*rq));
		rq->srv = srv;
		rq->loop = lp;
		rq->t0_ns = serve_pool_now();
		rq->url = xstrdup(url);
		sb_init(&rq->body);
		classify(rq, url, method);
		*con_cls = rq;
		return first_call(rq, c);
	}
	if (*upload_size) {
		if (rq->body.len + *upload_size > srv->o.max_body)
			rq->too_large = 1;
		else if (!rq->too_large)
			sb_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->job)
		return answer_job(rq, c);
	return dispatch(rq, c);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (!rq)
		return;
	if (rq->counted)   /* dropped (the client went away) before its answer */
		atomic_fetch_sub(&rq->srv->suspended, 1);
	if (rq->job)
		serve_job_release(&rq->job->base);
	sb_release(&rq->body);
	free(rq->url);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	fprintf(stderr, "dagrun serve: http: %s\n", line);
}

/* ---- options ------------------------------------------------------------ */

static const char usage[] =
	"usage: dagrun serve [--port P] [--host H] [--state DIR] [--workers N]\n"
	"                    [--queue-max N] [--timeout-ms N] [--max-body BYTES]\n"
	"                    [--split ALIAS=W,...] [--shadow ALIAS] [--token-file F]\n"
	"                    [--poll-ms N] [-q] [-v]\n"
	"\n"
	"  --port P          TCP port (default 8000; 0: any free port)\n"
	"  --host H          address to bind (default 127.0.0.1)\n"
	"  --state DIR       state folder (default: the project's state/)\n"
	"  --workers N       threads that read requests and run predictions\n"
	"                    (default: cores)\n"
	"  --queue-max N     predictions that may wait; more get 429 (default 64)\n"
	"  --timeout-ms N    a request not answered by then gets 503 (default 1000)\n"
	"  --max-body BYTES  larger bodies get 413 (default 1048576)\n"
	"  --split A=W,...   NAME without @ALIAS goes to the aliases by weight,\n"
	"                    sticky per X-Request-Key (default: production)\n"
	"  --shadow ALIAS    also run each prediction through ALIAS; log, never return\n"
	"  --token-file F    POST endpoints need 'Authorization: Bearer <F's token>'\n"
	"  --poll-ms N       look for promotions and rollbacks every N ms (default 200)\n"
	"  -q, --quiet       log only errors\n"
	"  -v, --verbose     log every request\n"
	"  --debug-delay-ms N  TESTING ONLY: each prediction sleeps N ms first\n"
	"\n"
	"endpoints: GET /healthz, /metrics, /models; POST /predict/NAME[@ALIAS],\n"
	"/reload (see docs/serve.md)\n";

/* A whole number in [lo, hi] from option 'name'. */
static int int_arg(const char *name, const char *v, long lo, long hi, long *out,
		   struct err *err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		err_set(err, ERR_USER, "bad --%s '%s' (expected a whole number from %ld "
			"to %ld)", name, v, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o, int *help,
			 struct err *err)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"state", required_argument, NULL, 's'},
		{"workers", required_argument, NULL, 'w'},
		{"queue-max", required_argument, NULL, 'Q'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"max-body", required_argument, NULL, 'B'},
		{"split", required_argument, NULL, 'S'},
		{"shadow", required_argument, NULL, 'W'},
		{"token-file", required_argument, NULL, 'T'},
		{"poll-ms", required_argument, NULL, 'P'},
		{"debug-delay-ms", required_argument, NULL, 'D'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long n = 0;
	int ch, rc = 0;

	optind = 0;
	opterr = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, ":qvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': rc = int_arg("port", optarg, 0, 65535, &n, err); o->port = (int)n; break;
		case 'H': o->host = optarg; break;
		case 's': o->state = optarg; break;
		case 'w': rc = int_arg("workers", optarg, 1, 1024, &n, err); o->workers = (int)n; break;
		case 'Q': rc = int_arg("queue-max", optarg, 1, 1000000, &n, err); o->queue_max = (int)n; break;
		case 't': rc = int_arg("timeout-ms", optarg, 1, 3600000, &n, err); o->timeout_ms = (int)n; break;
		case 'B': rc = int_arg("max-body", optarg, 1, 1L << 30, &n, err); o->max_body = (size_t)n; break;
		case 'S': o->split = optarg; break;
		case 'W': o->shadow = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'P': rc = int_arg("poll-ms", optarg, 10, 3600000, &n, err); o->poll_ms = (int)n; break;
		case 'D': rc = int_arg("debug-delay-ms", optarg, 0, 3600000, &n, err); o->debug_delay_ms = (int)n; break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': *help = 1; break;
		case ':':
			err_set(err, ERR_USER, "option '%s' needs a value (see dagrun serve "
				"--help)", argv[optind - 1]);
			return -1;
		default:
			err_set(err, ERR_USER, "unknown option '%s' (see dagrun serve --help)",
				argv[optind - 1]);
			return -1;
		}
	}
	if (rc == 0 && optind < argc) {
		err_set(err, ERR_USER, "unexpected argument '%s' (dagrun serve takes "
			"options only)", argv[optind]);
		rc = -1;
	}
	return rc;
}

static void default_options(struct options *o)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 8000;
	o->workers = cores > 0 ? (int)cores : 1;
	o->queue_max = 64;
	o->timeout_ms = 1000;
	o->max_body = 1 << 20;
	o->poll_ms = 200;
}

/* The token of --token-file, trailing white space cut. */
static int read_token(struct server *srv, struct err *err)
{
	size_t n;

	if (!srv->o.token_file)
		return 0;
	if (fs_read_file(srv->o.token_file, &srv->token, &n, err) < 0) {
		err->kind = ERR_USER;
		return -1;
	}
	while (n && strchr(" \t\r\n", srv->token[n - 1]))
		srv->token[--n] = '\0';
	srv->token_len = n;
	if (n == 0 || strchr(srv->token, '\n')) {
		err_set(err, ERR_USER, "%s: expected one line holding the token",
			srv->o.token_file);
		return -1;
	}
	return 0;
}

/* ---- the server --------------------------------------------------------- */

/* What every daemon is started with, after its logger (which must come
 * first) and where it listens. */
#define DAEMON_OPTIONS \
	MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, \
	MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, \
	MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT, \
	MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, \
	MHD_OPTION_END

/* One daemon for loop 'lp': the first binds --host:--port, the others
 * share its listening socket ('listen_fd' >= 0, duplicated). */
static struct MHD_Daemon *start_daemon(struct loop *lp, const struct sockaddr *addr,
				       int v6, int listen_fd)
{
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
		MHD_USE_TURBO | (v6 ? MHD_USE_IPv6 : 0);
	int fd = listen_fd >= 0 ? dup(listen_fd) : -1;
	struct MHD_Daemon *d;

	if (listen_fd >= 0 && fd < 0)
		return NULL;
	if (fd >= 0)
		d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, lp,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, DAEMON_OPTIONS);
	else
		d = MHD_start_daemon(flags, (uint16_t)lp->srv->o.port, NULL, NULL,
			on_request, lp, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			MHD_OPTION_SOCK_ADDR, addr, DAEMON_OPTIONS);
	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* Start a daemon per loop on --host:--port. */
static int listen_on(struct server *srv, struct err *err)
{
	struct addrinfo hints, *ai = NULL;
	char port[16];
	const union MHD_DaemonInfo *info;
	int rc, v6, listen_fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", srv->o.port);
	rc = getaddrinfo(srv->o.host, port, &hints, &ai);
	if (rc != 0) {
		err_set(err, ERR_USER, "bad --host '%s': %s", srv->o.host, gai_strerror(rc));
		return -1;
	}
	v6 = ai->ai_family == AF_INET6;
	for (int i = 0; i < srv->o.workers; i++) {
		struct loop *lp = &srv->loops[i];
		lp->daemon = start_daemon(lp, ai->ai_addr, v6, listen_fd);
		if (!lp->daemon)
			break;
		info = MHD_get_daemon_info(lp->daemon, MHD_DAEMON_INFO_LISTEN_FD);
		if (i == 0 && info)
			listen_fd = info->listen_fd;
	}
	freeaddrinfo(ai);
	if (!srv->loops[srv->o.workers - 1].daemon) {
		err_set(err, ERR_IO, "cannot listen on %s:%d (see the message above)",
			srv->o.host, srv->o.port);
		return -1;
	}
	info = MHD_get_daemon_info(srv->loops[0].daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		srv->o.port = info->port;
	return 0;
}

/* Block until the daemon of 'lp' has work, or its next timeout, or
 * SIGNAL_CHECK_MS (to see 'loops_exit'). */
static void wait_for_work(struct loop *lp, int epoll_fd)
{
	MHD_UNSIGNED_LONG_LONG next;
	struct pollfd pfd = {epoll_fd, POLLIN, 0};
	int ms = SIGNAL_CHECK_MS;

	if (MHD_get_timeout(lp->daemon, &next) == MHD_YES && next < (unsigned)ms)
		ms = (int)next;
	if (ms > 0)
		poll(&pfd, 1, ms);
}

/* A loop thread: read what is ready, run the queue, send the answers,
 * run the shadows; until 'loops_exit'. */
static void *loop_main(void *arg)
{
	struct loop *lp = arg;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(lp->daemon,
		MHD_DAEMON_INFO_EPOLL_FD);
	int epoll_fd = info ? info->epoll_fd : -1;

	while (!atomic_load(&lp->srv->loops_exit)) {
		wait_for_work(lp, epoll_fd);
		MHD_run(lp->daemon);
		if (serve_queue_run(lp->queue) > 0)
			MHD_run(lp->daemon);    /* the answers go out now */
		serve_queue_after(lp->queue);
	}
	return NULL;
}

static int start_loops(struct server *srv, struct err *err)
{
	for (int i = 0; i < srv->o.workers; i++) {
		struct loop *lp = &srv->loops[i];
		int rc = pthread_create(&lp->thread, NULL, loop_main, lp);
		if (rc != 0) {
			err_set(err, ERR_IO, "cannot start a loop thread: %s", strerror(rc));
			return -1;
		}
		lp->started = 1;
	}
	return 0;
}

/* Make the loop threads return and join them. */
static void stop_loops(struct server *srv)
{
	atomic_store(&srv->loops_exit, 1);
	for (int i = 0; srv->loops && i < srv->o.workers; i++)
		if (srv->loops[i].started) {
			pthread_join(srv->loops[i].thread, NULL);
			srv->loops[i].started = 0;
		}
}

/* Poll the registry every --poll-ms until SIGINT or SIGTERM. */
static void serve_until_signal(struct server *srv)
{
	int pause_ms = srv->o.poll_ms < SIGNAL_CHECK_MS ? srv->o.poll_ms : SIGNAL_CHECK_MS;
	struct timespec pause = {0, (long)pause_ms * 1000000};
	int64_t next = serve_pool_now();
	char last[256] = "";    /* the last registry error logged */
	struct serve_reload r;
	struct err err;

	while (!stop_signals) {
		nanosleep(&pause, NULL);
		if (stop_signals || serve_pool_now() < next)
			continue;
		next = serve_pool_now() + (int64_t)srv->o.poll_ms * 1000000;
		err_init(&err);
		if (reload(srv, 0, &r, &err) == 0 || r.read)
			continue;
		if (strncmp(last, err.msg, sizeof(last) - 1))
			fprintf(stderr, "dagrun serve: cannot read the registry (still "
				"serving what was loaded): %s\n", err.msg);
		snprintf(last, sizeof(last), "%.255s", err.msg);
	}
	if (!srv->o.quiet)
		fprintf(stderr, "dagrun serve: %s: finishing the requests in flight\n",
			strsignal(last_signal));
}

/* Stop taking requests, let those in flight end (each within its
 * deadline), stop the loops and the daemons.  Returns -1 when a second
 * signal cut the wait short: the loops are left running, for the process
 * to end. */
static int shut_down(struct server *srv)
{
	struct timespec pause = {0, 5000000};    /* 5 ms */

	atomic_store(&srv->stopping, 1);
	serve_pool_stop(srv->pool);
	while (atomic_load(&srv->suspended) > 0) {
		if (stop_signals > 1) {
			fprintf(stderr, "dagrun serve: %s again: stopping with %d requests "
				"in flight\n", strsignal(last_signal),
				atomic_load(&srv->suspended));
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	stop_loops(srv);
	return 0;
}

static void release_server(struct server *srv)
{
	stop_loops(srv);
	for (int i = 0; srv->loops && i < srv->o.workers; i++) {
		if (srv->loops[i].daemon)
			MHD_stop_daemon(srv->loops[i].daemon);
		serve_queue_free(srv->loops[i].queue);
	}
	free(srv->loops);
	serve_pool_free(srv->pool);
	serve_models_close(srv->models);
	serve_metrics_free(srv->metrics);
	serve_split_release(&srv->split);
	free(srv->token);
}

/* Everything that can fail before the server answers. */
static int start(struct server *srv, const char *state_dir, struct err *err)
{
	char *dir = srv->o.state ? fs_absolute(srv->o.state) : xstrdup(state_dir);
	int rc = -1;

	if (srv->o.split && serve_split_parse(srv->o.split, &srv->split, err) < 0)
		goto out;
	if (read_token(srv, err) < 0)
		goto out;
	srv->metrics = serve_metrics_new();
	srv->models = serve_models_open(dir, srv->o.quiet ? NULL : stderr, err);
	if (!srv->models)
		goto out;
	srv->pool = serve_pool_new(srv->o.queue_max);
	srv->loops = xcalloc((size_t)srv->o.workers, sizeof(*srv->loops));
	for (int i = 0; i < srv->o.workers; i++) {
		srv->loops[i].srv = srv;
		srv->loops[i].queue = serve_queue_new(srv->pool);
	}
	if (listen_on(srv, err) == 0 && start_loops(srv, err) == 0)
		rc = 0;
out:
	free(dir);
	return rc;
}

int serve_main(int argc, char **argv, const char *state_dir, struct err *err)
{
	struct sigaction sa, old_int, old_term, old_pipe;
	struct server srv;
	int help = 0, rc;

	memset(&srv, 0, sizeof(srv));
	default_options(&srv.o);
	if (parse_options(argc, argv, &srv.o, &help, err) < 0)
		return -1;
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	stop_signals = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;   /* a client gone: an error on its socket */
	sigaction(SIGPIPE, &sa, &old_pipe);
	srv.started = state_now();
	rc = start(&srv, state_dir, err);
	if (rc == 0) {
		int v6 = strchr(srv.o.host, ':') != NULL;   /* an IPv6 address: [::1] */
		fprintf(stderr, "dagrun serve: listening on http://%s%s%s:%d (%d workers, "
			"queue %d, timeout %d ms%s)\n", v6 ? "[" : "", srv.o.host, v6 ? "]" : "",
			srv.o.port, srv.o.workers, srv.o.queue_max, srv.o.timeout_ms,
			srv.token ? ", token required" : "");
		serve_until_signal(&srv);
		if (shut_down(&srv) < 0)
			return 0;   /* the threads are still running: leave it all */
	}
	release_server(&srv);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}
