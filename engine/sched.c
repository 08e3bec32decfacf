/* sched: see sched.h.
 *
 * Each node moves through: IDLE (needs pending) -> READY (key to check)
 * -> QUEUED (must run, waiting for a slot) -> RUNNING -> SYNC -> DONE, or
 * CACHED straight from READY, or FAILED / SKIPPED.  WAIT holds a node
 * whose key another process has claimed, or that waits for its retry
 * backoff; it is woken by time.  The loop never blocks except in
 * sigtimedwait(), with a timeout that is the nearest deadline, retry,
 * claim poll or redraw.
 *
 * A node that exits 0 is staged (store.h: its outputs hashed and made
 * pending where they lie) and its dependents are released at once; it
 * stays in SYNC while the syncer thread (syncer.h) fsyncs its new objects.
 * Synced nodes are published into the object store and recorded as done
 * in the order they were staged, all those ready at one turn of the loop
 * in one transaction, together with the keys, cache lookups and claims of
 * the nodes that became ready (group commit).  So a cache row never names
 * an object that is not durable, and a crash before the commit leaves the
 * node unrecorded: the next run runs it again.
 *
 * Work folders come from a pool (workdir.h) and are reused, not removed:
 * on this kind of disk a rmdir costs milliseconds. */
#include "sched.h"
#include "fetch.h"
#include "cache.h"
#include "dag.h"
#include "events.h"
#include "exec.h"
#include "fs.h"
#include "pipeline.h"
#include "remote.h"
#include "slurm.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "syncer.h"
#include "webhook.h"
#include "workdir.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 2 s: how long a node may take to exit after SIGTERM before SIGKILL */
#define KILL_GRACE 2.0
/* 0.1 s: how often a key claimed by another process is checked again */
#define CLAIM_POLL 0.1
/* 5 s: heartbeat period of our claims (STATE_CLAIM_STALE is 60 s) */
#define HEARTBEAT 5.0
/* 20: lines of a failed node's log shown on the terminal */
#define LOG_TAIL 20
/* the syncer thread's "a job is synced" signal to the scheduler */
#define SYNC_SIGNAL SIGUSR1

enum nst {
	N_OUT, N_IDLE, N_READY, N_QUEUED, N_WAIT, N_RUNNING, N_SYNC, N_DONE,
	N_CACHED, N_FAILED, N_SKIPPED
};

struct nrun {
	enum nst s;
	int pending;              /* needs not yet done or cached */
	int have_key;
	struct cache_key key;
	struct hash outputs;
	char *reason;
	pid_t pid;
	int attempts, term_sent, timed_out, claimed;
	double started, wall0, deadline, kill_at, wake_at;
	char *work;
	char job[SLURM_JOB_MAX];  /* the attempt's Slurm job id, or "" */
	/* SYNC: what the record needs once the outputs are durable */
	json_t *manifest, *promotion;
	struct rusage ru;
};

struct sched {
	struct pipeline *p;
	struct state *st;
	struct store *store;
	const struct sched_opts *o;
	struct sched_result *res;
	struct err *err;
	struct nrun *n;
	int *dep_off, *dep_list;
	int *ready, n_ready;       /* a stack of READY nodes */
	int *queue, q_head, q_tail;   /* FIFO of QUEUED nodes (ring) */
	int *waiting, n_waiting;
	int *running, n_running;
	int slots;
	int64_t run_id;
	char run_text[32];
	char *tmp_dir, *log_dir;
	struct exec ex;
	int stopping;
	int fatal;                /* an engine error: stop everything */
	double last_beat;
	struct progress pg;
	struct remote *remote;    /* --cache-url, or NULL */
	int remote_warned;
	int *asking, n_asking;    /* local misses to ask the remote about */
	int *uploads, n_uploads;  /* recorded nodes to send to the remote */
	struct early_end {        /* nodes that ended before their spawn was */
		pid_t pid;        /* reported (spawned()) */
		int status;
		struct rusage ru;
	} *early;
	int n_early;
	size_t cap_early;
	struct syncer sy;         /* SYNC nodes' store jobs */
	int sync_failed;          /* a job failed: no later one is published */
	struct workdir_pool wp;
	char *no_params;          /* params.json of nodes without params */
};

/* ---- bookkeeping --------------------------------------------------- */

static void push_ready(struct sched *S, int i)
{
	S->n[i].s = N_READY;
	S->ready[S->n_ready++] = i;
}

static void enqueue(struct sched *S, int i)
{
	S->n[i].s = N_QUEUED;
	S->queue[S->q_tail] = i;
	S->q_tail = (S->q_tail + 1) % (S->p->n_nodes + 1);
}

static int queue_empty(const struct sched *S)
{
	return S->q_head == S->q_tail;
}

static void add_waiting(struct sched *S, int i, double wake)
{
	S->n[i].s = N_WAIT;
	S->n[i].wake_at = wake;
	S->waiting[S->n_waiting++] = i;
}

static void remove_running(struct sched *S, int i)
{
	int k;

	for (k = 0; k < S->n_running; k++)
		if (S->running[k] == i) {
			S->running[k] = S->running[--S->n_running];
			return;
		}
}

/* 1 if node 'i' runs as a Slurm job (slurm.h). */
static int on_slurm(const struct sched *S, int i)
{
	enum node_executor e = S->p->nodes[i].executor;

	return e == NODE_EXEC_SLURM || (e == NODE_EXEC_DEFAULT &&
					S->o->executor == SCHED_SLURM);
}

/* Slots of -j a running node takes: its cpus here; one job in flight on
 * Slurm, which allocates the cpus itself. */
static int node_slots(const struct sched *S, int i)
{
	int c = on_slurm(S, i) ? 1 : S->p->nodes[i].cpus;

	return c > S->o->jobs ? S->o->jobs : c;
}

/* A node succeeded or was cached: its dependents may become ready. */
static void release_dependents(struct sched *S, int i)
{
	int k;

	for (k = S->dep_off[i]; k < S->dep_off[i + 1]; k++) {
		int d = S->dep_list[k];
		if (S->n[d].s == N_IDLE && --S->n[d].pending == 0)
			push_ready(S, d);
	}
}

/* A failure and its node_failed event (events.h), in one transaction. */
static void record_failed(struct sched *S, const struct node_result *nr)
{
	json_t *payload = json_pack("{s:s, s:s, s:i, s:s?, s:i}", "pipeline",
				    S->p->name, "task", nr->task, "exit_code",
				    nr->exit_code, "error", nr->error, "attempts",
				    nr->attempts);

	if (state_batch_begin(S->st, S->err) < 0) {
		json_decref(payload);
		S->fatal = 1;
		return;
	}
	if (events_emit(state_db(S->st), S->run_id, nr->node, "node_failed",
			payload, S->err) < 0)
		S->fatal = 1;
	/* on failure state_record() rolls the event back too */
	if (state_record(S->st, S->run_id, S->p->name, nr, S->err) < 0 ||
	    state_batch_end(S->st, S->err) < 0)
		S->fatal = 1;
}

/* The structured log's view of a recorded node: the events its kernel
 * reported, and an evaluation's scoreboard and decision. */
static void log_node_events(struct sched *S, const char *node,
			    const char *events_path, const json_t *promotion,
			    const char *report)
{
	FILE *f = events_path ? fopen(events_path, "r") : NULL;
	char line[65536];

	while (f && fgets(line, sizeof(line), f)) {
		json_t *e = json_loads(line, 0, NULL);
		const char *name = json_string_value(json_object_get(e, "event"));
		json_t *d = json_object_get(e, "details");
		if (name)
			progress_log(&S->pg, "info", name, node, json_is_object(d) ?
				     json_deep_copy(d) : NULL);
		json_decref(e);
	}
	if (f)
		fclose(f);
	if (!promotion)
		return;
	progress_log(&S->pg, "info", "promotion_scoreboard", node, json_pack(
		"{s:O, s:O}", "model", json_object_get(promotion, "model"),
		"scoreboard", json_object_get(promotion, "scoreboard")));
	progress_log(&S->pg, "info", "promotion_decision", node, json_pack(
		"{s:O, s:O, s:O, s:O, s:s}", "model", json_object_get(promotion, "model"),
		"winner", json_object_get(promotion, "winner"),
		"decision", json_object_get(promotion, "decision"),
		"reason", json_object_get(promotion, "reason"),
		"registry", report ? report : ""));
}

static void record(struct sched *S, int i, const char *status,
		   const char *error, int exit_code, const struct rusage *ru,
		   const json_t *manifest, const json_t *promotion)
{
	struct nrun *r = &S->n[i];
	const struct node *nd = &S->p->nodes[i];
	struct node_result nr;
	char *log = NULL, *metrics = NULL, *events = NULL, *report = NULL;
	char *reason = NULL, *why = NULL;

	if (r->job[0]) {      /* which Slurm job ran it, for dagrun show */
		reason = xasprintf("%s%sslurm job %s", r->reason ? r->reason : "",
				   r->reason ? "; " : "", r->job);
		why = error ? xasprintf("%s (slurm job %s)", error, r->job) : NULL;
		error = why;
	}
	memset(&nr, 0, sizeof(nr));
	nr.node = nd->id;
	nr.task = nd->task;
	nr.key = r->have_key ? r->key.hex : NULL;
	nr.key_doc = r->have_key ? r->key.doc : NULL;
	nr.status = status;
	nr.reason = reason ? reason : r->reason;
	nr.error = error;
	nr.outputs = !strcmp(status, "done") || !strcmp(status, "cached") ? &r->outputs : NULL;
	nr.attempts = r->attempts;
	nr.exit_code = exit_code;
	nr.started = r->started;
	nr.ended = r->started ? state_now() : 0;
	if (ru) {
		nr.cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
			 ((double)ru->ru_utime.tv_usec + (double)ru->ru_stime.tv_usec) / 1e6;
		nr.maxrss_kb = ru->ru_maxrss;
	}
	if (r->work) {
		log = xasprintf("%s/%s.log", S->log_dir, nd->id);
		metrics = xasprintf("%s/metrics.jsonl", r->work);
		events = xasprintf("%s/events.jsonl", r->work);
		nr.log_path = log;
		nr.metrics_path = metrics;
		nr.events_path = events;
	}
	nr.manifest = manifest;
	nr.promotion = promotion;
	nr.registry_report = promotion ? &report : NULL;
	if (!strcmp(status, "failed"))
		record_failed(S, &nr);
	else if (state_record(S->st, S->run_id, S->p->name, &nr, S->err) < 0)
		S->fatal = 1;
	if (report && *report && S->o->mode != PROGRESS_QUIET)
		progress_text(&S->pg, report);
	if (S->o->mode == PROGRESS_LOG)
		log_node_events(S, nd->id, events, promotion, report);
	free(report);
	free(log);
	free(metrics);
	free(events);
	free(reason);
	free(why);
}

/* Skip everything that needs 'i', transitively. */
static void skip_dependents(struct sched *S, int i)
{
	int *stack = xmalloc(((size_t)S->p->n_nodes + 1) * sizeof(int));
	int top = 0, k;

	stack[top++] = i;
	while (top > 0) {
		int v = stack[--top];
		for (k = S->dep_off[v]; k < S->dep_off[v + 1]; k++) {
			int d = S->dep_list[k];
			if (S->n[d].s != N_IDLE)
				continue;
			S->n[d].s = N_SKIPPED;
			free(S->n[d].reason);
			S->n[d].reason = xasprintf("needs %s, which failed",
						   S->p->nodes[i].id);
			S->res->skipped++;
			record(S, d, "skipped", NULL, 0, NULL, NULL, NULL);
			progress_event(&S->pg, EV_SKIPPED, S->p->nodes[d].id, S->n[d].reason);
			stack[top++] = d;
		}
	}
	free(stack);
}

/* ---- keys and the cache ------------------------------------------- */

static int compute_key(struct sched *S, int i)
{
	const struct node *nd = &S->p->nodes[i];
	struct hash *ins = xmalloc(((size_t)nd->n_needs + 1) * sizeof(*ins));
	int k, rc;

	for (k = 0; k < nd->n_needs; k++)
		ins[k] = S->n[nd->needs[k]].outputs;
	rc = cache_key(S->st, S->p, i, ins, S->o->salt, &S->n[i].key, S->err);
	free(ins);
	if (rc == 0)
		S->n[i].have_key = 1;
	return rc;
}

/* Why node 'i' must run, against its last successful run. */
static char *run_reason(struct sched *S, int i)
{
	struct strbuf sb;
	char *before;

	if (S->o->force_all || (S->o->force && S->o->force[i]))
		return xstrdup("forced");
	if (S->p->nodes[i].nondeterministic)
		return xstrdup("nondeterministic: always runs");
	before = state_last_key_doc(S->st, S->p->name, S->p->nodes[i].id, 0, NULL);
	sb_init(&sb);
	if (!cache_explain(before, S->n[i].key.doc, &sb))
		sb_adds(&sb, before ? "outputs missing from the store" :
			"new node (never run before)");
	free(before);
	return sb_detach(&sb);
}

/* 1 if node 'i' may be served from a cache, local or remote. */
static int cacheable(const struct sched *S, int i)
{
	if (S->o->force_all || (S->o->force && S->o->force[i]))
		return 0;
	return !S->p->nodes[i].nondeterministic;
}

static int cache_hit(struct sched *S, int i)
{
	struct nrun *r = &S->n[i];

	if (!cacheable(S, i))
		return 0;
	return state_cache_get(S->st, r->key.hex, &r->outputs) &&
	       store_outputs_present(S->store, &r->outputs);
}

static void finish_cached(struct sched *S, int i, const char *why)
{
	S->n[i].s = N_CACHED;
	S->res->cached++;
	free(S->n[i].reason);
	S->n[i].reason = why ? xstrdup(why) : NULL;
	record(S, i, "cached", NULL, 0, NULL, NULL, NULL);
	progress_event(&S->pg, EV_CACHED, S->p->nodes[i].id, why);
	release_dependents(S, i);
}

/* A remote cache problem, with what it means for this run ('then'):
 * shown once per run (each time with -v); never a failure. */
static void remote_warn(struct sched *S, const char *node,
			const struct err *e, const char *then)
{
	char *text;

	if (S->remote_warned++ && !S->o->verbose)
		return;
	if (S->o->mode == PROGRESS_LOG) {
		progress_log(&S->pg, "warning", "remote_cache_problem", node,
			     json_pack("{s:s, s:s}", "error", e->msg, "then", then));
		return;
	}
	text = xasprintf("dagrun: warning: %s; %s\n", e->msg, then);
	if (S->o->mode == PROGRESS_JSON)
		fputs(text, stderr);
	else
		progress_text(&S->pg, text);
	free(text);
}

/* Local misses: a hit on the remote fetches the outputs and makes the
 * node cached, the rest queue to run.  Outside any transaction, so that
 * no database lock is held while the network is slow. */
static void ask_remote(struct sched *S)
{
	while (S->n_asking > 0 && !S->fatal) {
		int i = S->asking[--S->n_asking];
		struct nrun *r = &S->n[i];
		json_t *m = NULL;
		struct err e;
		int hit = 0;

		err_init(&e);
		if (!S->stopping)
			hit = remote_get(S->remote, S->store, r->key.hex, &r->outputs, &m, &e);
		if (hit < 0)
			remote_warn(S, S->p->nodes[i].id, &e, remote_is_down(S->remote) ?
				    "nodes run locally for the rest of this run" :
				    "the node runs locally");
		if (hit == 1) {
			if (state_batch_begin(S->st, S->err) < 0 ||
			    state_cache_put(S->st, S->run_id, S->p->nodes[i].id, r->key.hex,
					    &r->outputs, m, S->err) < 0)
				S->fatal = 1;
			else
				finish_cached(S, i, "from the remote cache");
			if (state_batch_end(S->st, S->err) < 0)
				S->fatal = 1;
			json_decref(m);
		} else if (S->stopping) {
			r->s = N_IDLE;
		} else {
			r->reason = run_reason(S, i);
			enqueue(S, i);
		}
	}
}

/* Send the outputs of node 'i', which ran, to the remote cache. */
static void upload(struct sched *S, int i)
{
	struct err e;

	if (!S->remote || S->p->nodes[i].nondeterministic || S->fatal)
		return;
	err_init(&e);
	if (remote_put(S->remote, S->store, S->n[i].key.hex, &S->n[i].outputs, &e) < 0)
		remote_warn(S, S->p->nodes[i].id, &e, remote_is_down(S->remote) ?
			    "nothing more is uploaded this run" :
			    "its outputs were not uploaded");
}

/* Claim the key of node 'i': 1 when taken; 0 when a live process holds
 * it, and the node waits (WAIT) to look again; -1 on a state error (the
 * run stops). */
static int take_claim(struct sched *S, int i)
{
	int c = state_claim(S->st, S->n[i].key.hex, S->run_id, S->err);

	if (c < 0) {
		S->fatal = 1;
		return -1;
	}
	if (c == CLAIM_BUSY) {
		progress_event(&S->pg, EV_WAIT, S->p->nodes[i].id,
			       "another dagrun is running it");
		add_waiting(S, i, progress_now() + CLAIM_POLL);
		return 0;
	}
	S->n[i].claimed = 1;
	return 1;
}

/* Claim node 'i', which must run, and queue it; or make it wait while
 * another process holds its key.  Inside the transaction of the cache
 * lookup that missed, so no other process can have finished the key in
 * between. */
static void claim_and_queue(struct sched *S, int i)
{
	if (take_claim(S, i) == 1)
		enqueue(S, i);
}

/* Drain READY: cached nodes finish at once, the rest are claimed and
 * queue to run (local misses are asked to the remote cache, if there is
 * one, by ask_remote() afterwards, outside the transaction). */
static void drain_ready(struct sched *S)
{
	if (S->n_ready == 0)
		return;
	if (state_batch_begin(S->st, S->err) < 0) {
		S->fatal = 1;
		return;
	}
	while (S->n_ready > 0 && !S->fatal) {
		int i = S->ready[--S->n_ready];
		if (S->stopping) {
			S->n[i].s = N_IDLE;
			continue;
		}
		if (compute_key(S, i) < 0) {
			S->fatal = 1;
			break;
		}
		if (cache_hit(S, i)) {
			finish_cached(S, i, NULL);
			continue;
		}
		if (S->remote && !remote_is_down(S->remote) && cacheable(S, i)) {
			S->asking[S->n_asking++] = i;
			continue;
		}
		S->n[i].reason = run_reason(S, i);
		claim_and_queue(S, i);
	}
	if (state_batch_end(S->st, S->err) < 0)
		S->fatal = 1;
}

/* ---- starting a node ----------------------------------------------- */

/* urls.json: each URL dep of the node and the local copy of exactly the
 * content its key was computed from (kctx_path() reads it). */
static int write_urls(struct sched *S, int i, const char *work)
{
	json_t *doc = json_loads(S->n[i].key.doc, 0, NULL), *d, *urls = json_object();
	char *path = xasprintf("%s/urls.json", work);
	struct hash h;
	size_t k;
	int rc = 0;

	json_array_foreach(json_object_get(doc, "deps"), k, d) {
		const char *p = json_string_value(json_object_get(d, "path"));
		if (p && fetch_is_url(p) &&
		    hash_from_hex(json_string_value(json_object_get(d, "hash")), &h) == 0) {
			char *local = fetch_local_path(state_dir(S->st), &h);
			json_object_set_new(urls, p, json_string(local));
			free(local);
		}
	}
	if (json_object_size(urls) && json_dump_file(urls, path, JSON_INDENT(2)) < 0) {
		err_set(S->err, ERR_IO, "cannot write '%s'", path);
		rc = -1;
	}
	free(path);
	json_decref(urls);
	json_decref(doc);
	return rc;
}

/* 1 if node 'i' reads a URL (fetch.h), which needs a urls.json. */
static int has_url_deps(const struct sched *S, int i)
{
	const struct node *nd = &S->p->nodes[i];
	int k;

	for (k = 0; k < nd->n_deps; k++)
		if (fetch_is_url(nd->deps[k]))
			return 1;
	return 0;
}

/* 1 if node 'i' may read the run's shared params.json ("{}"): a local
 * node without params or URLs.  A Slurm node carries its own, and kernels
 * look for urls.json beside theirs. */
static int shares_params(const struct sched *S, int i)
{
	const json_t *params = S->p->nodes[i].params;

	return !on_slurm(S, i) && (!params || (json_is_object(params) &&
		json_object_size(params) == 0)) && !has_url_deps(S, i);
}

static int write_params(struct sched *S, int i, const char *work)
{
	char *path;
	int rc;

	if (shares_params(S, i))
		return 0;
	path = xasprintf("%s/params.json", work);
	rc = json_dump_file(S->p->nodes[i].params, path,
			    JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	if (rc < 0)
		err_set(S->err, ERR_IO, "cannot write '%s'", path);
	free(path);
	if (rc < 0 || !has_url_deps(S, i))
		return rc;
	return write_urls(S, i, work);
}

/* in/<need>/... links to the needs' outputs. */
static int link_inputs(struct sched *S, int i, const char *work,
		       struct strbuf *needs)
{
	const struct node *nd = &S->p->nodes[i];
	int k;

	for (k = 0; k < nd->n_needs; k++) {
		const struct node *need = &S->p->nodes[nd->needs[k]];
		char *dir = xasprintf("%s/in/%s", work, need->id);
		int rc = workdir_mkdir(&S->wp, dir, S->err);
		if (rc == 0)
			rc = store_link_dir(S->store, &S->n[nd->needs[k]].outputs, dir, S->err);
		if (rc == 0)
			chmod(dir, 0555);
		free(dir);
		if (rc < 0)
			return -1;
		sb_addf(needs, "%s%s", k ? "\n" : "", need->id);
	}
	return 0;
}

/* The attempt of node 'i' is over: its work folder goes back to the pool. */
static void give_work(struct sched *S, int i)
{
	if (S->n[i].work)
		workdir_give(&S->wp, S->n[i].work);
	S->n[i].work = NULL;
}

static int prepare_work(struct sched *S, int i, struct strbuf *needs)
{
	struct nrun *r = &S->n[i];
	int rc;

	give_work(S, i);
	r->work = workdir_take(&S->wp, S->err);
	if (!r->work)
		return -1;
	rc = write_params(S, i, r->work);
	if (rc == 0)
		rc = link_inputs(S, i, r->work, needs);
	return rc;
}

/* A retry's log goes on after the failed attempt's, under a header; the
 * first attempt's log is created by the spawn (exec.h: log_fresh). */
static void log_header(struct sched *S, int i, const char *log)
{
	FILE *f;

	if (S->n[i].attempts == 1 && !on_slurm(S, i))
		return;
	f = fopen(log, S->n[i].attempts > 1 ? "a" : "w");
	if (!f)
		return;
	if (S->n[i].attempts > 1)
		fprintf(f, "--- attempt %d\n", S->n[i].attempts);
	fclose(f);
}

static int start_node(struct sched *S, int i)
{
	struct nrun *r = &S->n[i];
	struct exec_spec es;
	struct strbuf needs;
	char *log;
	pid_t pid;
	int rc = -1;

	r->attempts++;
	sb_init(&needs);
	if (prepare_work(S, i, &needs) < 0)
		goto out;
	log = xasprintf("%s/%s.log", S->log_dir, S->p->nodes[i].id);
	log_header(S, i, log);
	memset(&es, 0, sizeof(es));
	es.nd = &S->p->nodes[i];
	es.root = S->p->root;
	es.work = r->work;
	es.needs = needs.buf;
	es.run_id = S->run_text;
	es.log_path = log;
	es.log_fresh = r->attempts == 1;
	es.params = shares_params(S, i) ? S->no_params : NULL;
	r->job[0] = '\0';
	if (on_slurm(S, i)) {
		pid = slurm_start(&S->ex, &es, S->err);
	} else if (es.nd->kind == NODE_SHELL) {
		exec_start_async(&S->ex, &es, i);
		pid = 0;    /* spawned() learns it */
	} else {
		pid = exec_start(&S->ex, &es, S->err);
	}
	free(log);
	if (pid < 0)
		goto out;
	r->pid = pid;
	r->s = N_RUNNING;
	if (!r->started)
		r->started = state_now();
	r->wall0 = progress_now();
	r->term_sent = r->timed_out = 0;
	/* a Slurm job's timeout counts on the compute node, from its start
	 * there, not from the submission */
	r->deadline = S->p->nodes[i].timeout > 0 && !on_slurm(S, i) ?
		      r->wall0 + S->p->nodes[i].timeout : 0;
	S->running[S->n_running++] = i;
	S->slots += node_slots(S, i);
	progress_event(&S->pg, EV_START, S->p->nodes[i].id,
		       S->o->verbose ? r->reason : NULL);
	rc = 0;
out:
	sb_release(&needs);
	return rc;
}

static void node_failed(struct sched *S, int i, char *why, int code,
			const struct rusage *ru);

/* Start queued nodes while slots allow. */
static void launch(struct sched *S)
{
	while (!queue_empty(S) && !S->stopping && !S->fatal) {
		int i = S->queue[S->q_head], c;
		if (S->slots > 0 && S->slots + node_slots(S, i) > S->o->jobs)
			break;
		S->q_head = (S->q_head + 1) % (S->p->n_nodes + 1);
		if (!S->n[i].claimed) {
			c = take_claim(S, i);
			if (c < 0)
				return;
			if (c == 0)
				continue;
			/* another process may have finished it between our
			 * cache lookup and our claim */
			if (cache_hit(S, i)) {
				S->n[i].claimed = 0;
				if (state_claim_release(S->st, S->n[i].key.hex, S->err) < 0)
					S->fatal = 1;
				finish_cached(S, i, "run by another dagrun");
				continue;
			}
		}
		if (start_node(S, i) == 0)
			continue;
		if (S->err->kind != ERR_USER) {
			S->fatal = 1;
			return;
		}
		/* an input failed its check: this node fails, not the run,
		 * and a retry could not help */
		S->n[i].s = N_RUNNING;
		S->n[i].attempts = S->p->nodes[i].retries + 1;
		node_failed(S, i, xstrdup(S->err->msg), 0, NULL);
		err_init(S->err);
		give_work(S, i);
	}
}

/* ---- a node's end ---------------------------------------------------- */

static void show_log_tail(struct sched *S, int i)
{
	char *log = xasprintf("%s/%s.log", S->log_dir, S->p->nodes[i].id);
	char *text = NULL, *p;
	struct strbuf sb;
	struct err e;
	size_t n;
	int lines = 0;

	err_init(&e);
	if (fs_read_file(log, &text, &n, &e) == 0 && n > 0) {
		for (p = text + n - 1; p > text; p--)
			if (*p == '\n' && p != text + n - 1 && ++lines == LOG_TAIL)
				break;
		if (*p == '\n')
			p++;
		sb_init(&sb);
		sb_addf(&sb, "  --- %s (last lines of %s)\n", S->p->nodes[i].id, log);
		for (char *line = p; *line; ) {
			char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			sb_adds(&sb, "  | ");
			sb_add(&sb, line, len);
			sb_addc(&sb, '\n');
			line += len + (nl ? 1 : 0);
		}
		progress_text(&S->pg, sb.buf);
		sb_release(&sb);
	}
	free(text);
	free(log);
}

static char *describe_status(struct sched *S, int i, int status)
{
	if (S->n[i].timed_out)
		return xasprintf("timed out after %gs", S->p->nodes[i].timeout);
	if (WIFSIGNALED(status))
		return xasprintf("killed by signal %d (%s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
	return xasprintf("exit code %d", WEXITSTATUS(status));
}

static void node_failed(struct sched *S, int i, char *why, int code,
			const struct rusage *ru)
{
	struct nrun *r = &S->n[i];
	const struct node *nd = &S->p->nodes[i];
	double backoff;

	if (r->attempts <= nd->retries && !S->res->interrupted && !S->fatal) {
		backoff = fmin(30.0, 0.5 * pow(2.0, r->attempts - 1));
		progress_event(&S->pg, EV_RETRY, nd->id, why);
		add_waiting(S, i, progress_now() + backoff);
		free(why);
		return;
	}
	r->s = N_FAILED;
	S->res->failed++;
	if (nd->kind != NODE_SHELL && code == 2)
		S->res->user_error = 1;
	record(S, i, "failed", why, code, ru, NULL, NULL);
	progress_event(&S->pg, EV_FAILED, nd->id, why);
	if (!S->res->interrupted)
		show_log_tail(S, i);
	free(why);
	skip_dependents(S, i);
	if (!S->o->keep_going)
		S->stopping = 1;
}

/* The decision of an eval.promote node, for the registry: its
 * promotion.json with "node" and, per need, its outputs and key
 * ("candidates").  NULL for other tasks, or with 'err' set. */
static json_t *read_promotion(struct sched *S, int i, const char *out,
			      struct err *err)
{
	const struct node *nd = &S->p->nodes[i];
	json_t *p, *cands;
	json_error_t je;
	char *path;
	int k;

	if (strcmp(nd->task, "eval.promote"))
		return NULL;
	path = xasprintf("%s/promotion.json", out);
	p = json_load_file(path, 0, &je);
	free(path);
	if (!json_is_object(p)) {
		json_decref(p);
		err_set(err, ERR_USER, "%s: eval.promote left no readable "
			"promotion.json: %s", nd->id, je.text);
		return NULL;
	}
	cands = json_object();
	for (k = 0; k < nd->n_needs; k++) {
		int j = nd->needs[k];
		char hex[HASH_HEX_LEN];
		hash_to_hex(&S->n[j].outputs, hex);
		json_object_set_new(cands, S->p->nodes[j].id, json_pack("{s:s, s:s?}",
				    "outputs", hex, "key", S->n[j].have_key ?
				    S->n[j].key.hex : NULL));
	}
	json_object_set_new(p, "candidates", cands);
	json_object_set_new(p, "node", json_string(nd->id));
	return p;
}

/* Node 'i' exited 0: stage its outputs (store.h) for the syncer and let
 * its dependents start; it is recorded once its outputs are durable
 * (collect_synced). */
static void node_succeeded(struct sched *S, int i, const struct rusage *ru)
{
	struct nrun *r = &S->n[i];
	char *out = xasprintf("%s/out", r->work);
	struct store_job *job;
	struct err e;

	err_init(&e);
	r->promotion = read_promotion(S, i, out, &e);
	if ((r->promotion == NULL && e.kind) ||
	    store_stage_dir(S->store, out, &r->outputs, &r->manifest, &job, &e) < 0) {
		free(out);
		json_decref(r->promotion);
		r->promotion = NULL;
		if (e.kind != ERR_USER) {
			*S->err = e;
			S->fatal = 1;
		}
		node_failed(S, i, xstrdup(e.msg), 0, ru);
		return;
	}
	free(out);
	r->s = N_SYNC;
	r->ru = *ru;
	syncer_submit(&S->sy, job, i);
	release_dependents(S, i);
}

/* Record node 'i', whose outputs are now in the store, as done. */
static void node_recorded(struct sched *S, int i)
{
	struct nrun *r = &S->n[i];
	char took[32];

	r->s = N_DONE;
	S->res->ran++;
	record(S, i, "done", NULL, 0, &r->ru, r->manifest, r->promotion);
	json_decref(r->manifest);
	json_decref(r->promotion);
	r->manifest = r->promotion = NULL;
	give_work(S, i);
	if (S->remote)
		S->uploads[S->n_uploads++] = i;
	snprintf(took, sizeof(took), "%.2fs", progress_now() - r->wall0);
	progress_event(&S->pg, EV_DONE, S->p->nodes[i].id, took);
}

/* Publish and record the nodes whose outputs the syncer made durable, in
 * the order they were staged.  After a failed job nothing later is
 * published: a later job may name objects that only the failed one held;
 * those nodes fail too, and the run stops. */
static void collect_synced(struct sched *S)
{
	struct store_job *job;
	struct err e;
	int i;

	while (syncer_done(&S->sy, &job, &i)) {
		struct nrun *r = &S->n[i];
		err_init(&e);
		if (S->sync_failed) {
			store_job_drop(S->store, job);
			err_set(&e, ERR_IO, "its outputs were not stored: an earlier "
				"node's outputs could not be made durable");
		} else if (store_publish(S->store, job, &e) < 0) {
			S->sync_failed = 1;
		}
		if (!e.kind) {
			node_recorded(S, i);
			continue;
		}
		if (!S->fatal)
			*S->err = e;
		S->fatal = 1;
		json_decref(r->manifest);
		json_decref(r->promotion);
		r->manifest = r->promotion = NULL;
		r->s = N_RUNNING;   /* node_failed's view: an attempt that ended */
		node_failed(S, i, xstrdup(e.msg), 0, &r->ru);
		give_work(S, i);
	}
}

/* Send the recorded nodes' outputs to the remote cache, outside any
 * transaction (the network may be slow). */
static void upload_all(struct sched *S)
{
	while (S->n_uploads > 0)
		upload(S, S->uploads[--S->n_uploads]);
}

/* The process of running node 'i' ended with 'status'. */
static void ended(struct sched *S, int i, pid_t pid, int status,
		  struct rusage *ru_in)
{
	struct rusage ru = *ru_in;

	kill(-pid, SIGKILL);   /* whatever the node left behind */
	exec_ended(&S->ex, pid);
	remove_running(S, i);
	S->slots -= node_slots(S, i);
	S->n[i].pid = 0;
	if (on_slurm(S, i))
		slurm_collect(S->n[i].work, &status, &ru, &S->n[i].timed_out,
			      S->n[i].job);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !S->n[i].timed_out &&
	    !S->res->interrupted)
		node_succeeded(S, i, &ru);
	else
		node_failed(S, i, S->res->interrupted ? xstrdup("interrupted") :
			    describe_status(S, i, status),
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, &ru);
	/* SYNC keeps its folder until recorded, WAIT for its retry */
	if (S->n[i].s != N_WAIT && S->n[i].s != N_SYNC)
		give_work(S, i);
}

/* The running node whose process is 'pid', or -1. */
static int node_of(const struct sched *S, pid_t pid)
{
	int k;

	for (k = 0; k < S->n_running; k++)
		if (S->n[S->running[k]].pid == pid)
			return S->running[k];
	return -1;
}

static void reap(struct sched *S)
{
	struct rusage ru;
	int status, i;
	pid_t pid;

	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		i = node_of(S, pid);
		if (i >= 0) {
			ended(S, i, pid, status, &ru);
			continue;
		}
		/* a node whose spawn the spawner has not reported yet: kept
		 * until it does (spawned()) */
		xgrow((void **)&S->early, sizeof(*S->early), &S->cap_early,
		      (size_t)S->n_early + 1);
		S->early[S->n_early].pid = pid;
		S->early[S->n_early].status = status;
		S->early[S->n_early++].ru = ru;
	}
}

/* Take the spawner's reports (exec.h): running nodes learn their pid; a
 * node that could not start fails, and the run stops as when a start
 * fails in the scheduler's own thread. */
static void spawned(struct sched *S)
{
	struct err e;
	pid_t pid;
	int i, k;

	err_init(&e);
	while (exec_started(&S->ex, &i, &pid, &e)) {
		if (pid < 0) {
			remove_running(S, i);
			S->slots -= node_slots(S, i);
			if (!S->fatal)
				*S->err = e;
			S->fatal = 1;
			node_failed(S, i, xstrdup(e.msg), 0, NULL);
			give_work(S, i);
			err_init(&e);
			continue;
		}
		S->n[i].pid = pid;
		for (k = 0; k < S->n_early; k++)
			if (S->early[k].pid == pid) {
				struct early_end x = S->early[k];
				S->early[k] = S->early[--S->n_early];
				ended(S, i, pid, x.status, &x.ru);
				break;
			}
	}
}

/* ---- time: deadlines, waits, heartbeats ---------------------------- */

static void terminate(struct sched *S, int i, double now)
{
	struct nrun *r = &S->n[i];

	if (!r->term_sent) {
		if (r->pid <= 0)
			return;   /* its spawn is not reported yet: next time */
		kill(-r->pid, SIGTERM);
		r->term_sent = 1;
		r->kill_at = now + (on_slurm(S, i) ? SLURM_CANCEL_GRACE : KILL_GRACE);
	} else if (now >= r->kill_at && r->pid > 0) {
		kill(-r->pid, SIGKILL);
	}
}

static void check_deadlines(struct sched *S, double now)
{
	int k;

	for (k = 0; k < S->n_running; k++) {
		int i = S->running[k];
		struct nrun *r = &S->n[i];
		if (S->res->interrupted || S->fatal ||
		    (r->deadline > 0 && now >= r->deadline)) {
			if (!S->res->interrupted && !S->fatal)
				r->timed_out = 1;
			terminate(S, i, now);
		}
	}
}

static void wake(struct sched *S, double now)
{
	int k = 0;

	while (k < S->n_waiting) {
		int i = S->waiting[k];
		if (S->stopping) {
			S->n[i].s = N_IDLE;
		} else if (now < S->n[i].wake_at) {
			k++;
			continue;
		} else if (!S->n[i].claimed && cache_hit(S, i)) {
			finish_cached(S, i, "run by another dagrun");
		} else {
			enqueue(S, i);
		}
		S->waiting[k] = S->waiting[--S->n_waiting];
	}
}

static double next_timeout(struct sched *S, double now)
{
	double t = now + 1.0;
	int k;

	if (S->pg.mode == PROGRESS_TTY)
		t = now + 0.1;
	for (k = 0; k < S->n_running; k++) {
		struct nrun *r = &S->n[S->running[k]];
		if (r->term_sent)
			t = fmin(t, r->kill_at);
		else if (r->deadline > 0)
			t = fmin(t, r->deadline);
	}
	for (k = 0; k < S->n_waiting; k++)
		t = fmin(t, S->n[S->waiting[k]].wake_at);
	return fmax(t - now, 0.0);
}

static void running_names(struct sched *S, char *buf, size_t n)
{
	size_t at = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < S->n_running && at + 2 < n; k++)
		at += (size_t)snprintf(buf + at, n - at, "%s%s", k ? ", " : "",
				       S->p->nodes[S->running[k]].id);
}

/* Wait for a child, a signal or the next timer. */
static void wait_events(struct sched *S, const sigset_t *set)
{
	double now = progress_now(), t = next_timeout(S, now);
	struct timespec ts;
	siginfo_t si;
	char names[256];
	int sig;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	sig = sigtimedwait(set, &si, &ts);
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
		if (S->res->interrupted) {       /* a second Ctrl-C: no grace */
			for (int k = 0; k < S->n_running; k++)
				if (S->n[S->running[k]].pid > 0)
					kill(-S->n[S->running[k]].pid, SIGKILL);
		}
		S->res->interrupted = sig;
		S->stopping = 1;
	}
	spawned(S);
	reap(S);
	now = progress_now();
	check_deadlines(S, now);
	wake(S, now);
	if (now - S->last_beat > HEARTBEAT) {
		S->last_beat = now;
		if (state_heartbeat(S->st, S->err) < 0)
			S->fatal = 1;
	}
	running_names(S, names, sizeof(names));
	progress_tick(&S->pg, names);
}

/* ---- the run --------------------------------------------------------- */

/* One turn of the loop's bookkeeping, in one transaction: record the
 * nodes the syncer is done with, then compute, look up and claim the keys
 * of the ready ones.  Then the remote cache, outside the transaction. */
static void step(struct sched *S)
{
	if (state_batch_begin(S->st, S->err) < 0) {
		S->fatal = 1;
		return;
	}
	collect_synced(S);
	drain_ready(S);
	if (state_batch_end(S->st, S->err) < 0)
		S->fatal = 1;
	ask_remote(S);
	upload_all(S);
}

static void init_nodes(struct sched *S)
{
	int i, k, total = 0;

	for (i = 0; i < S->p->n_nodes; i++) {
		if (S->o->want && !S->o->want[i]) {
			S->n[i].s = N_OUT;
			continue;
		}
		total++;
		S->n[i].s = N_IDLE;
		S->n[i].pending = S->p->nodes[i].n_needs;
	}
	progress_init(&S->pg, S->o->mode, S->o->verbose, total);
	S->pg.run_id = S->run_id;
	progress_log(&S->pg, "info", "run_started", NULL, json_pack("{s:s, s:i}",
		     "pipeline", S->p->name, "nodes", total));
	/* ready in reverse, so that the stack pops them in file order */
	for (i = S->p->n_nodes - 1; i >= 0; i--)
		if (S->n[i].s == N_IDLE && S->n[i].pending == 0)
			push_ready(S, i);
	(void)k;
}

/* Claims of nodes that will not run in this run after all (the run
 * stopped while they were queued or waiting). */
static void release_claims(struct sched *S)
{
	struct err e;
	int i;

	err_init(&e);
	if (state_batch_begin(S->st, &e) < 0)
		return;
	for (i = 0; i < S->p->n_nodes; i++)
		if (S->n[i].claimed && (S->n[i].s == N_IDLE || S->n[i].s == N_READY ||
		    S->n[i].s == N_QUEUED || S->n[i].s == N_WAIT))
			state_claim_release(S->st, S->n[i].key.hex, &e);
	state_batch_end(S->st, &e);
}

static void release_all(struct sched *S)
{
	int i;

	for (i = 0; i < S->p->n_nodes; i++) {
		cache_key_release(&S->n[i].key);
		free(S->n[i].reason);
		free(S->n[i].work);
		json_decref(S->n[i].manifest);
		json_decref(S->n[i].promotion);
	}
	free(S->n);
	free(S->dep_off);
	free(S->dep_list);
	free(S->ready);
	free(S->queue);
	free(S->waiting);
	free(S->running);
	free(S->asking);
	free(S->uploads);
	free(S->early);
	remote_free(S->remote);
	workdir_release(&S->wp);
	free(S->no_params);
	free(S->tmp_dir);
	free(S->log_dir);
}

static int setup_dirs(struct sched *S)
{
	S->tmp_dir = xasprintf("%s/tmp/%d-%lld", state_dir(S->st), (int)getpid(),
			       (long long)S->run_id);
	S->log_dir = xasprintf("%s/logs/%lld", state_dir(S->st), (long long)S->run_id);
	if (fs_mkdirs(S->tmp_dir, S->err) < 0 || fs_mkdirs(S->log_dir, S->err) < 0)
		return -1;
	workdir_init(&S->wp, S->tmp_dir);
	S->no_params = xasprintf("%s/params.json", S->tmp_dir);
	return fs_write_atomic(S->no_params, "{}\n", 3, S->err);
}

static int busy(struct sched *S)
{
	if (S->n_running > 0 || syncer_count(&S->sy) > 0)
		return 1;
	if (S->stopping || S->fatal)
		return 0;
	return S->n_ready > 0 || !queue_empty(S) || S->n_waiting > 0;
}

static int count_not_started(const struct sched *S)
{
	int i, n = 0;

	for (i = 0; i < S->p->n_nodes; i++)
		if (S->n[i].s == N_IDLE || S->n[i].s == N_READY ||
		    S->n[i].s == N_QUEUED || S->n[i].s == N_WAIT)
			n++;
	return n;
}

int sched_run(struct pipeline *p, struct state *st, struct store *store,
	      int64_t run_id, const struct sched_opts *o,
	      struct sched_result *res, struct err *err)
{
	struct sched S;
	sigset_t set, old;
	size_t n = (size_t)p->n_nodes + 1;

	memset(&S, 0, sizeof(S));
	memset(res, 0, sizeof(*res));
	/* the pipeline's 'webhooks:' as of this run (webhook.h) */
	if (webhook_sync_pipeline(state_db(st), p, err) < 0)
		return -1;
	S.p = p;
	S.st = st;
	S.store = store;
	S.o = o;
	S.res = res;
	S.err = err;
	S.run_id = run_id;
	snprintf(S.run_text, sizeof(S.run_text), "%lld", (long long)run_id);
	S.n = xcalloc(n, sizeof(*S.n));
	S.ready = xmalloc(n * sizeof(int));
	S.queue = xmalloc(n * sizeof(int));
	S.waiting = xmalloc(n * sizeof(int));
	S.running = xmalloc(n * sizeof(int));
	S.asking = xmalloc(n * sizeof(int));
	S.uploads = xmalloc(n * sizeof(int));
	S.remote = o->cache_url ? remote_new(o->cache_url) : NULL;
	S.last_beat = progress_now();
	dag_dependents(p, &S.dep_off, &S.dep_list);
	if (setup_dirs(&S) < 0 || exec_open(&S.ex, err) < 0) {
		release_all(&S);
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SYNC_SIGNAL);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (syncer_start(&S.sy, SYNC_SIGNAL, err) < 0 ||
	    exec_spawner_start(&S.ex, SYNC_SIGNAL, err) < 0) {
		syncer_stop(&S.sy);
		exec_close(&S.ex);
		sigprocmask(SIG_SETMASK, &old, NULL);
		release_all(&S);
		return -1;
	}
	init_nodes(&S);
	for (;;) {
		step(&S);
		launch(&S);
		if (!busy(&S))
			break;
		if (S.n_ready > 0)
			continue;
		wait_events(&S, &set);
	}
	/* the loop ends with no node running and every job collected */
	exec_spawner_stop(&S.ex);
	syncer_stop(&S.sy);
	step(&S);
	release_claims(&S);
	res->not_started = count_not_started(&S);
	progress_end(&S.pg, res->interrupted ? "interrupted" : S.fatal ? "error" :
		     res->failed ? "failed" : "ok", (long long)run_id);
	exec_close(&S.ex);
	sigprocmask(SIG_SETMASK, &old, NULL);
	syncer_release(&S.sy);
	{
		struct err e;
		fs_remove_tree(S.tmp_dir, &e);
	}
	release_all(&S);
	return S.fatal ? -1 : 0;
}

void sched_clean_tmp(const char *state_dir)
{
	char *tmp = fs_join(state_dir, "tmp");
	struct dirent *de;
	struct err e;
	DIR *d = opendir(tmp);

	if (!d) {
		free(tmp);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int pid = atoi(de->d_name);
		if (pid <= 0 || pid == (int)getpid())
			continue;
		if (kill(pid, 0) == 0 || errno == EPERM)
			continue;
		char *sub = fs_join(tmp, de->d_name);
		fs_remove_tree(sub, &e);
		free(sub);
	}
	closedir(d);
	free(tmp);
}
