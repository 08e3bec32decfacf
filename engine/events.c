/* events: see events.h.
 *
 * A delivery pass claims each delivery before sending it with one UPDATE
 * that counts the attempt and moves next_attempt EVENTS_LEASE seconds
 * ahead, on the condition that next_attempt is still what the pass read:
 * two passes at once (two runs ending together) never send one delivery
 * twice, and a pass that dies mid-request leaves the delivery due again
 * once the lease is over.  Only --now, which ignores next_attempt, can
 * send a delivery another pass is sending; the Idempotency-Key covers it. */
#include "events.h"
#include "fs.h"
#include "inspect.h"
#include "state.h"
#include "webhook.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 120 s: a claimed delivery is due again this long after a pass that died
 * while sending it; longer than any request a pass makes */
#define EVENTS_LEASE 120.0
/* 1000: deliveries looked at in one pass, so a long outage's backlog is
 * sent in bounded steps */
#define EVENTS_PASS_LIMIT 1000
/* 80: "dagrun-" + 32 hex digits + "-" + an event id, with room to spare */
#define EVENTS_KEY_MAX 80

static const struct events_name names[] = {
	{"run_finished", "a run ended: pipeline, status, node counts, seconds"},
	{"node_failed", "a node failed for good (after its retries): pipeline, "
	 "task, exit code, error, attempts"},
	{"model_promoted", "the registry moved a model alias to a version"},
	{"promotion_declined", "a new winner did not improve on the alias's "
	 "holder by min_improvement: the holder keeps the alias"},
	{"promotion_refused", "no candidate beat the must_beat baselines: the "
	 "best baseline stays the forecaster"},
	{"drift_detected", "the drift.report kernel found drift in its input"},
	{"target_fallback", "data.preprocess used another target column than "
	 "asked"},
};

const struct events_name *events_names(int *n)
{
	*n = (int)(sizeof(names) / sizeof(names[0]));
	return names;
}

int events_name_known(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].name, name))
			return 1;
	return 0;
}

const char *events_names_text(void)
{
	static const char text[] = "run_finished, node_failed, model_promoted, "
				   "promotion_declined, promotion_refused, "
				   "drift_detected, target_fallback";
	return text;
}

static int db_fail(sqlite3 *db, struct err *err, const char *what)
{
	err_set(err, ERR_IO, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static const char *col(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* ---- writing events ---------------------------------------------------- */

int events_emit(sqlite3 *db, int64_t run_id, const char *node,
		const char *name, json_t *payload, struct err *err)
{
	sqlite3_stmt *s;
	char *text;
	int rc;

	if (!payload)
		payload = json_object();
	text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS |
			  JSON_REAL_PRECISION(17));
	json_decref(payload);
	if (sqlite3_prepare_v2(db, "INSERT INTO events(run_id, node, name, payload,"
			       " created) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &s,
			       NULL) != SQLITE_OK) {
		free(text);
		return db_fail(db, err, "cannot record an event");
	}
	if (run_id > 0)
		sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, node);
	bind_text(s, 3, name);
	bind_text(s, 4, text ? text : "{}");
	sqlite3_bind_double(s, 5, state_now());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	free(text);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot record an event");
}

int events_run_finished(sqlite3 *db, int64_t run_id, struct err *err)
{
	sqlite3_stmt *s;
	json_t *p = NULL;
	char *pipeline = NULL;

	if (sqlite3_prepare_v2(db, "SELECT pipeline, status, n_nodes, n_ran,"
			       " n_cached, n_failed, ended - started, same_as, (SELECT"
			       " count(*) FROM node_runs WHERE run_id = ?1 AND status ="
			       " 'skipped') FROM runs WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot record the run_finished event");
	sqlite3_bind_int64(s, 1, run_id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		pipeline = xstrdup(col(s, 0));
		p = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:f}", "pipeline", col(s, 0),
			      "status", col(s, 1), "nodes", sqlite3_column_int(s, 2),
			      "ran", sqlite3_column_int(s, 3),
			      "cached", sqlite3_column_int(s, 4),
			      "failed", sqlite3_column_int(s, 5),
			      "skipped", sqlite3_column_int(s, 8),
			      "seconds", sqlite3_column_double(s, 6));
		if (sqlite3_column_type(s, 7) != SQLITE_NULL)
			json_object_set_new(p, "same_as",
					    json_integer(sqlite3_column_int64(s, 7)));
	}
	sqlite3_finalize(s);
	free(pipeline);
	if (!p) {
		err_set(err, ERR_INTERNAL, "no run %lld to report as finished",
			(long long)run_id);
		return -1;
	}
	return events_emit(db, run_id, NULL, "run_finished", p, err);
}

json_t *events_payload(const char *name, const char *stored)
{
	json_t *v = stored ? json_loads(stored, 0, NULL) : json_object();
	json_t *line;

	if (!v)
		return json_string(stored);
	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "event")) ||
	    strcmp(json_string_value(json_object_get(v, "event")), name))
		return v;
	if (json_object_get(v, "details")) {
		line = json_incref(json_object_get(v, "details"));
		json_decref(v);
		return line;
	}
	json_object_del(v, "event");
	json_object_del(v, "node");
	return v;
}

/* ---- planning ---------------------------------------------------------- */

static const char plan_sql[] =
	"INSERT OR IGNORE INTO deliveries(event_id, webhook_id)"
	" SELECT e.id, w.id FROM webhooks w JOIN events e ON e.id > w.seen_event"
	" LEFT JOIN runs r ON r.id = e.run_id"
	" WHERE (w.events IS NULL OR"
	"        instr(',' || w.events || ',', ',' || e.name || ',') > 0)"
	"   AND (w.pipeline = '' OR w.pipeline = r.pipeline);"
	"UPDATE webhooks SET seen_event = (SELECT coalesce(max(id), 0) FROM events)"
	" WHERE seen_event < (SELECT coalesce(max(id), 0) FROM events);";

int events_plan(sqlite3 *db, int max_attempts, struct err *err)
{
	int own = sqlite3_get_autocommit(db), rc = 0;
	sqlite3_stmt *s;

	if (own && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot plan deliveries");
	if (sqlite3_exec(db, plan_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(db, err, "cannot plan deliveries");
	if (rc == 0 && max_attempts > 0) {
		sqlite3_prepare_v2(db, "UPDATE deliveries SET status = 'failed' WHERE"
				   " status = 'pending' AND attempts >= ?1", -1, &s, NULL);
		sqlite3_bind_int(s, 1, max_attempts);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = db_fail(db, err, "cannot plan deliveries");
		sqlite3_finalize(s);
	}
	if (own && rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(db, err, "cannot plan deliveries");
	if (own && rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The state id for idempotency keys into 'out' (EVENTS_KEY_MAX). */
static int state_id(sqlite3 *db, char *out, size_t n, struct err *err)
{
	sqlite3_stmt *s;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta_text WHERE key ="
			       " 'state_id'", -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot read the state id");
	if (sqlite3_step(s) == SQLITE_ROW && col(s, 0)) {
		snprintf(out, n, "%s", col(s, 0));
		found = 1;
	}
	sqlite3_finalize(s);
	if (!found)
		err_set(err, ERR_INTERNAL, "the state has no id (migration 4)");
	return found ? 0 : -1;
}

int events_key(sqlite3 *db, int64_t event_id, char *out, size_t n,
	       struct err *err)
{
	char id[EVENTS_KEY_MAX];

	if (state_id(db, id, sizeof(id), err) < 0)
		return -1;
	snprintf(out, n, "dagrun-%s-%lld", id, (long long)event_id);
	return 0;
}

/* ---- delivering -------------------------------------------------------- */

void events_deliver_defaults(struct events_deliver_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_attempts = EVENTS_MAX_ATTEMPTS;
	o->tries = 1;
	o->retry_wait = 0.5;
	o->connect_timeout = 5.0;
	o->timeout = 10.0;
	o->backoff = 10.0;
	o->backoff_max = 3600.0;
	o->limit = EVENTS_PASS_LIMIT;
}

void events_deliver_run_defaults(struct events_deliver_opts *o)
{
	events_deliver_defaults(o);
	o->tries = 3;
	o->retry_wait = 0.1;
	o->hook_budget = 2.0;
	o->connect_timeout = 1.0;
	o->timeout = 2.0;
}

/* One due delivery, with what its request needs. */
struct due {
	int64_t event_id, webhook_id, run_id;
	int attempts;
	double next_attempt, created;
	char *url, *secret_env, *name, *node, *payload;
};

static void due_release(struct due *d)
{
	free(d->url);
	free(d->secret_env);
	free(d->name);
	free(d->node);
	free(d->payload);
}

static char *dup_col(sqlite3_stmt *s, int i)
{
	return col(s, i) ? xstrdup(col(s, i)) : NULL;
}

/* The due deliveries, by webhook then event; returns how many. */
static int load_due(sqlite3 *db, const struct events_deliver_opts *o,
		    struct due **out, struct err *err)
{
	sqlite3_stmt *s;
	struct due *v = NULL;
	size_t cap = 0;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT d.event_id, d.webhook_id, d.attempts,"
		" d.next_attempt, w.url, w.secret_env, e.run_id, e.node, e.name,"
		" e.payload, e.created FROM deliveries d"
		" JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id"
		" WHERE d.status = 'pending' AND (?1 OR d.next_attempt <= ?2)"
		" ORDER BY d.webhook_id, d.event_id LIMIT ?3", -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot read due deliveries");
	sqlite3_bind_int(s, 1, o->now);
	sqlite3_bind_double(s, 2, state_now());
	sqlite3_bind_int(s, 3, o->limit > 0 ? o->limit : EVENTS_PASS_LIMIT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct due *d;
		xgrow((void **)&v, sizeof(*v), &cap, (size_t)n + 1);
		d = &v[n++];
		d->event_id = sqlite3_column_int64(s, 0);
		d->webhook_id = sqlite3_column_int64(s, 1);
		d->attempts = sqlite3_column_int(s, 2);
		d->next_attempt = sqlite3_column_double(s, 3);
		d->url = dup_col(s, 4);
		d->secret_env = dup_col(s, 5);
		d->run_id = sqlite3_column_int64(s, 6);
		d->node = dup_col(s, 7);
		d->name = dup_col(s, 8);
		d->payload = dup_col(s, 9);
		d->created = sqlite3_column_double(s, 10);
	}
	sqlite3_finalize(s);
	*out = v;
	return n;
}

/* The request body: the same bytes on every attempt (sorted keys). */
static char *delivery_body(const struct due *d, const char *key)
{
	json_t *b = json_pack("{s:I,s:s,s:s,s:o,s:o,s:f,s:o}",
			      "id", (json_int_t)d->event_id, "idempotency_key", key,
			      "name", d->name,
			      "run_id", d->run_id > 0 ? json_integer(d->run_id) : json_null(),
			      "node", d->node ? json_string(d->node) : json_null(),
			      "created", d->created,
			      "payload", events_payload(d->name, d->payload));
	char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS |
				JSON_REAL_PRECISION(17));

	json_decref(b);
	return text;
}

/* Count an attempt and lease the delivery; 0 when another pass took it
 * (next_attempt is no longer what this pass saw), 1 when claimed. */
static int claim(sqlite3 *db, struct due *d, double now, struct err *err)
{
	sqlite3_stmt *s;
	int rc;

	sqlite3_prepare_v2(db, "UPDATE deliveries SET attempts = attempts + 1,"
			   " last_attempt = ?3, next_attempt = ?4 WHERE event_id = ?1"
			   " AND webhook_id = ?2 AND status = 'pending' AND"
			   " next_attempt = ?5", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, d->event_id);
	sqlite3_bind_int64(s, 2, d->webhook_id);
	sqlite3_bind_double(s, 3, now);
	sqlite3_bind_double(s, 4, now + EVENTS_LEASE);
	sqlite3_bind_double(s, 5, d->next_attempt);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "cannot claim a delivery");
	if (sqlite3_changes(db) == 0)
		return 0;
	d->attempts++;
	d->next_attempt = now + EVENTS_LEASE;
	return 1;
}

/* Record what the attempt got: delivered, or failed with the next attempt
 * 'backoff' doubled per attempt, or a dead letter at 'max_attempts'. */
static int record_attempt(sqlite3 *db, const struct events_deliver_opts *o,
			  struct due *d, int ok, const struct webhook_result *res,
			  struct err *err)
{
	double now = state_now();
	const char *status = ok ? "delivered" :
			     d->attempts >= o->max_attempts ? "failed" : "pending";
	sqlite3_stmt *s;
	int rc;

	if (!ok)
		d->next_attempt = now + fmin(o->backoff_max,
					     o->backoff * pow(2.0, d->attempts - 1));
	sqlite3_prepare_v2(db, "UPDATE deliveries SET status = ?3, next_attempt = ?4,"
			   " http_status = ?5, error = ?6, delivered = ?7"
			   " WHERE event_id = ?1 AND webhook_id = ?2", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, d->event_id);
	sqlite3_bind_int64(s, 2, d->webhook_id);
	bind_text(s, 3, status);
	sqlite3_bind_double(s, 4, d->next_attempt);
	if (res->http_status > 0)
		sqlite3_bind_int64(s, 5, res->http_status);
	bind_text(s, 6, ok ? NULL : res->error);
	if (ok)
		sqlite3_bind_double(s, 7, now);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot record a delivery");
}

static void sleep_for(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* How one delivery ended in this pass. */
enum outcome { O_DELIVERED, O_RETRYING, O_DEAD, O_UNTRIED };

/* One request; fills 'res'.  The secret comes from the environment now. */
static int attempt(const struct events_deliver_opts *o, const struct due *d,
		   const char *key, const char *body, double timeout,
		   struct webhook_result *res)
{
	struct webhook_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.url = d->url;
	rq.body = body;
	rq.idempotency_key = key;
	rq.event = d->name;
	rq.connect_timeout = fmin(o->connect_timeout, timeout);
	rq.timeout = timeout;
	if (d->secret_env) {
		rq.secret = getenv(d->secret_env);
		if (!rq.secret) {
			memset(res, 0, sizeof(*res));
			snprintf(res->error, sizeof(res->error), "environment variable "
				 "'%s' (secret_env) is not set", d->secret_env);
			return -1;
		}
	}
	return webhook_post(&rq, res);
}

/* Up to 'o->tries' attempts at one delivery, before 'deadline' (0: none). */
static int deliver_one(sqlite3 *db, const struct events_deliver_opts *o,
		       const char *sid, struct due *d, double deadline,
		       enum outcome *out, struct webhook_result *res,
		       struct err *err)
{
	char key[EVENTS_KEY_MAX + 32], *body;
	double wait = o->retry_wait, timeout, now;
	int t, ok, rc = 0;

	*out = O_UNTRIED;
	snprintf(key, sizeof(key), "dagrun-%s-%lld", sid, (long long)d->event_id);
	body = delivery_body(d, key);
	for (t = 0; t < o->tries && rc == 0; t++, wait *= 2) {
		if (t > 0 && deadline > 0 && state_now() + wait >= deadline)
			break;
		if (t > 0)
			sleep_for(wait);
		now = state_now();
		timeout = deadline > 0 ? fmin(o->timeout, deadline - now) : o->timeout;
		if (timeout < 0.05)
			break;
		rc = claim(db, d, now, err);
		if (rc <= 0)
			break;    /* another pass has it, or the database failed */
		ok = attempt(o, d, key, body, timeout, res) == 0;
		rc = record_attempt(db, o, d, ok, res, err);
		*out = ok ? O_DELIVERED : d->attempts >= o->max_attempts ? O_DEAD : O_RETRYING;
		if (ok || *out == O_DEAD)
			break;
	}
	free(body);
	return rc < 0 ? -1 : 0;
}

/* One line about a webhook that failed in this pass. */
static void report_hook(FILE *f, const struct due *d, enum outcome oc,
			const struct webhook_result *res)
{
	if (!f)
		return;
	fprintf(f, "dagrun: webhook %lld (%s): %s after %d attempt%s; %s\n",
		(long long)d->webhook_id, d->url, res->error, d->attempts,
		d->attempts == 1 ? "" : "s", oc == O_DEAD ?
		"gave up on the delivery (see 'dagrun events --failed')" :
		"will retry ('dagrun events deliver')");
}

int events_deliver(sqlite3 *db, const struct events_deliver_opts *o,
		   struct events_deliver_stats *stats, FILE *report,
		   struct err *err)
{
	char sid[EVENTS_KEY_MAX];
	struct webhook_result res;
	struct due *due = NULL;
	int64_t hook = -1;
	double deadline = 0;
	int i, n, down = 0, reported = 0, rc = 0;
	enum outcome oc;

	memset(stats, 0, sizeof(*stats));
	if (events_plan(db, o->max_attempts, err) < 0 ||
	    state_id(db, sid, sizeof(sid), err) < 0)
		return -1;
	n = load_due(db, o, &due, err);
	for (i = 0; i < n && rc == 0; i++) {
		struct due *d = &due[i];
		if (d->webhook_id != hook) {
			hook = d->webhook_id;
			down = reported = 0;
			deadline = o->hook_budget > 0 ? state_now() + o->hook_budget : 0;
		}
		if (down || (deadline > 0 && state_now() >= deadline)) {
			stats->deferred++;
			continue;
		}
		rc = deliver_one(db, o, sid, d, deadline, &oc, &res, err);
		stats->delivered += oc == O_DELIVERED;
		stats->retrying += oc == O_RETRYING;
		stats->dead += oc == O_DEAD;
		stats->deferred += oc == O_UNTRIED;
		/* no answer at all: the webhook is down, spare its other
		 * deliveries this pass; an answer (even 500) is per delivery */
		if ((oc == O_RETRYING || oc == O_DEAD) && res.http_status == 0) {
			down = 1;
			stats->hooks_down++;
		}
		if ((oc == O_RETRYING || oc == O_DEAD) && !reported++)
			report_hook(report, d, oc, &res);
	}
	for (i = 0; i < n; i++)
		due_release(&due[i]);
	free(due);
	return n < 0 || rc < 0 ? -1 : 0;
}

void events_deliver_run_end(sqlite3 *db, FILE *report)
{
	struct events_deliver_opts o;
	struct events_deliver_stats stats;
	sqlite3_stmt *s;
	struct err err;
	int any = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM webhooks LIMIT 1", -1, &s,
			       NULL) == SQLITE_OK) {
		any = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
	}
	if (!any)
		return;
	err_init(&err);
	events_deliver_run_defaults(&o);
	if (events_deliver(db, &o, &stats, report, &err) < 0 && report)
		fprintf(report, "dagrun: events not delivered: %s\n", err.msg);
}

/* ---- listing ------------------------------------------------------------ */

static const char events_sql[] =
	"SELECT e.id, e.run_id, e.node, e.name, e.payload, e.created FROM events e"
	" WHERE (?1 <= 0 OR e.run_id = ?1) AND (?2 IS NULL OR e.name = ?2)"
	" AND (?3 = 0 OR EXISTS (SELECT 1 FROM deliveries d WHERE"
	"      d.event_id = e.id AND d.status = 'pending'))"
	" AND (?4 = 0 OR EXISTS (SELECT 1 FROM deliveries d WHERE"
	"      d.event_id = e.id AND d.status = 'failed'))"
	" ORDER BY e.id DESC LIMIT ?5";

static const char deliveries_sql[] =
	"SELECT d.webhook_id, w.url, d.status, d.attempts, d.next_attempt,"
	" d.last_attempt, d.http_status, d.error, d.delivered FROM deliveries d"
	" JOIN webhooks w ON w.id = d.webhook_id WHERE d.event_id = ?1"
	" ORDER BY d.webhook_id";

static void fmt_time(double t, const char *format, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, n, format, &tm);
}

static json_t *delivery_json(sqlite3_stmt *d)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:i}",
			      "webhook", (json_int_t)sqlite3_column_int64(d, 0),
			      "url", col(d, 1), "status", col(d, 2),
			      "attempts", sqlite3_column_int(d, 3));

	if (!strcmp(col(d, 2), "pending"))
		json_object_set_new(o, "next_attempt",
				    json_real(sqlite3_column_double(d, 4)));
	if (sqlite3_column_type(d, 5) != SQLITE_NULL)
		json_object_set_new(o, "last_attempt",
				    json_real(sqlite3_column_double(d, 5)));
	if (sqlite3_column_type(d, 6) != SQLITE_NULL)
		json_object_set_new(o, "http_status",
				    json_integer(sqlite3_column_int(d, 6)));
	if (col(d, 7))
		json_object_set_new(o, "error", json_string(col(d, 7)));
	if (sqlite3_column_type(d, 8) != SQLITE_NULL)
		json_object_set_new(o, "delivered",
				    json_real(sqlite3_column_double(d, 8)));
	return o;
}

/* "pending: 2 attempts, next at 12:00:10 (http 500)" and the like. */
static void print_delivery(sqlite3_stmt *d)
{
	int attempts = sqlite3_column_int(d, 3);
	const char *status = col(d, 2), *why = col(d, 7);
	char next[16];

	printf("      -> webhook %lld ", (long long)sqlite3_column_int64(d, 0));
	if (!strcmp(status, "delivered")) {
		printf("delivered after %d attempt%s", attempts, attempts == 1 ? "" : "s");
	} else if (!strcmp(status, "failed")) {
		printf("FAILED (dead letter) after %d attempts (%s)", attempts,
		       why ? why : "?");
	} else if (attempts == 0) {
		printf("pending");
	} else {
		fmt_time(sqlite3_column_double(d, 4), "%H:%M:%S", next, sizeof(next));
		printf("pending: %d attempt%s, next at %s (%s)", attempts,
		       attempts == 1 ? "" : "s", next, why ? why : "?");
	}
	printf("  %s\n", col(d, 1));
}

static json_t *event_json(sqlite3_stmt *e)
{
	return json_pack("{s:I,s:o,s:o,s:s,s:f,s:o}",
			 "id", (json_int_t)sqlite3_column_int64(e, 0),
			 "run_id", sqlite3_column_type(e, 1) == SQLITE_NULL ? json_null() :
				   json_integer(sqlite3_column_int64(e, 1)),
			 "node", col(e, 2) ? json_string(col(e, 2)) : json_null(),
			 "name", col(e, 3), "created", sqlite3_column_double(e, 5),
			 "payload", events_payload(col(e, 3), col(e, 4)));
}

/* One event and its deliveries, as text or appended to 'arr'. */
static void list_one(sqlite3_stmt *e, sqlite3_stmt *d, json_t *arr)
{
	json_t *ev = arr ? event_json(e) : NULL, *ds = json_array();
	char when[32];

	if (!arr) {
		fmt_time(sqlite3_column_double(e, 5), "%Y-%m-%d %H:%M:%S", when,
			 sizeof(when));
		printf("%-6lld %-5s %-16s %-20s %s\n",
		       (long long)sqlite3_column_int64(e, 0),
		       col(e, 1) ? col(e, 1) : "-", col(e, 3),
		       col(e, 2) ? col(e, 2) : "-", when);
	}
	sqlite3_bind_int64(d, 1, sqlite3_column_int64(e, 0));
	while (sqlite3_step(d) == SQLITE_ROW) {
		if (arr)
			json_array_append_new(ds, delivery_json(d));
		else
			print_delivery(d);
	}
	sqlite3_reset(d);
	if (arr) {
		json_object_set_new(ev, "deliveries", ds);
		json_array_append_new(arr, ev);
	} else {
		json_decref(ds);
	}
}

int events_list(sqlite3 *db, const struct events_filter *f, int json,
		struct err *err)
{
	sqlite3_stmt *e = NULL, *d = NULL;
	json_t *arr = json ? json_array() : NULL;
	int rc = 0;

	if (events_plan(db, 0, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, events_sql, -1, &e, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, deliveries_sql, -1, &d, NULL) != SQLITE_OK) {
		rc = db_fail(db, err, "cannot list events");
		goto out;
	}
	sqlite3_bind_int64(e, 1, f->run_id);
	bind_text(e, 2, f->name);
	sqlite3_bind_int(e, 3, f->pending);
	sqlite3_bind_int(e, 4, f->failed);
	sqlite3_bind_int(e, 5, f->limit > 0 ? f->limit : -1);
	if (!json)
		printf("%-6s %-5s %-16s %-20s %s\n", "EVENT", "RUN", "NAME", "NODE",
		       "CREATED");
	while (sqlite3_step(e) == SQLITE_ROW)
		list_one(e, d, arr);
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
		putchar('\n');
	}
out:
	sqlite3_finalize(e);
	sqlite3_finalize(d);
	json_decref(arr);
	return rc;
}

/* ---- the commands ------------------------------------------------------- */

static const char usage[] =
	"usage: dagrun events [--run RUN] [--name NAME] [--pending] [--failed]"
	" [--limit N] [--json]\n"
	"       dagrun events deliver [--now] [--max-attempts N] [--json]\n"
	"       dagrun webhooks [list] [--json]\n"
	"       dagrun webhooks add URL [--events NAME,...] [--secret-env VAR]\n"
	"       dagrun webhooks rm ID\n"
	"all take --state DIR\n";

/* The options, in the order of their bits in 'given'. */
enum {
	O_RUN, O_NAME, O_PENDING, O_FAILED, O_LIMIT, O_JSON, O_NOW, O_MAX,
	O_EVENTS, O_SECRET, O_STATE, O_HELP
};
#define BIT(o) (1u << (o))

static const struct option opts[] = {
	{"run", required_argument, NULL, 'r'},
	{"name", required_argument, NULL, 'N'},
	{"pending", no_argument, NULL, 'p'},
	{"failed", no_argument, NULL, 'f'},
	{"limit", required_argument, NULL, 'L'},
	{"json", no_argument, NULL, 'J'},
	{"now", no_argument, NULL, 'n'},
	{"max-attempts", required_argument, NULL, 'M'},
	{"events", required_argument, NULL, 'e'},
	{"secret-env", required_argument, NULL, 'S'},
	{"state", required_argument, NULL, 's'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}
};

struct cmd_args {
	const char *cmd;          /* "events" or "webhooks" */
	const char *run, *name, *events, *secret_env, *state;
	int limit, max_attempts;
	unsigned given;           /* BIT(O_...) of each option given */
	char **pos;               /* after the subcommand */
	int n_pos;
};

static int usage_error(const struct cmd_args *a, const char *what,
		       const char *arg, struct err *err)
{
	err_set(err, ERR_USER, "dagrun %s: %s%s%s%s (see 'dagrun %s --help')",
		a->cmd, what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "", a->cmd);
	return -1;
}

/* A count option: at least 1. */
static int count_arg(const struct cmd_args *a, const char *v, int *out,
		     struct err *err)
{
	char *end;

	*out = (int)strtol(v, &end, 10);
	if (*end || *out < 1)
		return usage_error(a, "expected a number, at least 1, found", v, err);
	return 0;
}

static int parse_args(int argc, char **argv, struct cmd_args *a,
		      struct err *err)
{
	int ch, idx = 0, rc = 0;

	memset(a, 0, sizeof(*a));
	a->cmd = argv[0];
	optind = 0;
	opterr = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		if (ch == ':')
			return usage_error(a, "a value is missing after", argv[optind - 1], err);
		if (ch == '?')
			return usage_error(a, "unknown option", argv[optind - 1], err);
		a->given |= ch == 'h' ? BIT(O_HELP) : BIT(idx);
		switch (ch) {
		case 'r': a->run = optarg; break;
		case 'N': a->name = optarg; break;
		case 'e': a->events = optarg; break;
		case 'S': a->secret_env = optarg; break;
		case 's': a->state = optarg; break;
		case 'L': rc = count_arg(a, optarg, &a->limit, err); break;
		case 'M': rc = count_arg(a, optarg, &a->max_attempts, err); break;
		default: break;
		}
		idx = 0;
	}
	a->pos = argv + optind;
	a->n_pos = argc - optind;
	return rc;
}

/* `dagrun events`: the listing. */
static int cmd_list(struct state *st, const struct cmd_args *a, struct err *err)
{
	struct events_filter f;

	memset(&f, 0, sizeof(f));
	if (a->run && inspect_run_id(st, a->run, &f.run_id, err) < 0)
		return -1;
	f.name = a->name;
	f.pending = (a->given & BIT(O_PENDING)) != 0;
	f.failed = (a->given & BIT(O_FAILED)) != 0;
	f.limit = a->limit;
	return events_list(state_db(st), &f, (a->given & BIT(O_JSON)) != 0, err);
}

/* `dagrun events deliver`: 1 when a due delivery is left undelivered. */
static int cmd_deliver(struct state *st, const struct cmd_args *a,
		       struct err *err)
{
	struct events_deliver_opts o;
	struct events_deliver_stats n;

	events_deliver_defaults(&o);
	o.now = (a->given & BIT(O_NOW)) != 0;
	if (a->max_attempts > 0)
		o.max_attempts = a->max_attempts;
	if (events_deliver(state_db(st), &o, &n, stderr, err) < 0)
		return -1;
	if (a->given & BIT(O_JSON))
		printf("{\"delivered\":%d,\"retrying\":%d,\"dead\":%d,\"deferred\":%d}\n",
		       n.delivered, n.retrying, n.dead, n.deferred);
	else
		printf("%d delivered, %d to retry, %d failed for good, %d deferred\n",
		       n.delivered, n.retrying, n.dead, n.deferred);
	return n.retrying + n.dead + n.deferred > 0 ? 1 : 0;
}

static int cmd_hooks_list(struct state *st, const struct cmd_args *a,
			  struct err *err)
{
	return webhook_list(state_db(st), (a->given & BIT(O_JSON)) != 0, err);
}

static int cmd_hooks_add(struct state *st, const struct cmd_args *a,
			 struct err *err)
{
	int64_t id;

	if (webhook_add(state_db(st), a->pos[0], a->events, a->secret_env, &id,
			err) < 0)
		return -1;
	printf("webhook %lld added: %s\n", (long long)id, a->pos[0]);
	return 0;
}

static int cmd_hooks_rm(struct state *st, const struct cmd_args *a,
			struct err *err)
{
	char *end;
	long long id = strtoll(a->pos[0], &end, 10);

	if (*end || id <= 0)
		return usage_error(a, "expected a webhook id from 'dagrun webhooks "
				   "list', found", a->pos[0], err);
	if (webhook_remove(state_db(st), id, err) < 0)
		return -1;
	printf("webhook %lld removed\n", id);
	return 0;
}

/* Each subcommand: its arguments after the name and the options it takes
 * (--state and --help go with all). */
struct sub {
	const char *cmd, *name;   /* name NULL: none given */
	int n_args;
	unsigned takes;
	int (*fn)(struct state *, const struct cmd_args *, struct err *);
};

static const struct sub subs[] = {
	{"events", NULL, 0, BIT(O_RUN) | BIT(O_NAME) | BIT(O_PENDING) |
	 BIT(O_FAILED) | BIT(O_LIMIT) | BIT(O_JSON), cmd_list},
	{"events", "deliver", 0, BIT(O_NOW) | BIT(O_MAX) | BIT(O_JSON), cmd_deliver},
	{"webhooks", NULL, 0, BIT(O_JSON), cmd_hooks_list},
	{"webhooks", "list", 0, BIT(O_JSON), cmd_hooks_list},
	{"webhooks", "add", 1, BIT(O_EVENTS) | BIT(O_SECRET), cmd_hooks_add},
	{"webhooks", "rm", 1, 0, cmd_hooks_rm},
};

/* The subcommand 'a' names, with its arguments and options checked. */
static const struct sub *find_sub(struct cmd_args *a, struct err *err)
{
	const char *name = a->n_pos > 0 ? a->pos[0] : NULL;
	unsigned extra;
	size_t i;
	int o;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(subs[i].cmd, a->cmd) && (subs[i].name ? name &&
		    !strcmp(subs[i].name, name) : !name))
			break;
	if (i == sizeof(subs) / sizeof(subs[0])) {
		usage_error(a, "unknown subcommand", name, err);
		return NULL;
	}
	a->pos += name ? 1 : 0;
	a->n_pos -= name ? 1 : 0;
	if (a->n_pos != subs[i].n_args) {
		usage_error(a, subs[i].n_args ? "expected one argument" :
			    "unexpected argument", subs[i].n_args ? NULL : a->pos[0], err);
		return NULL;
	}
	extra = a->given & ~(subs[i].takes | BIT(O_STATE) | BIT(O_HELP));
	for (o = 0; extra && !(extra & BIT(o)); o++)
		;
	if (extra) {
		char opt[32];
		snprintf(opt, sizeof(opt), "--%s", opts[o].name);
		usage_error(a, "this subcommand does not take", opt, err);
		return NULL;
	}
	return &subs[i];
}

int events_cmd(int argc, char **argv, const char *state_dir, struct err *err)
{
	const struct sub *sub;
	struct cmd_args a;
	struct state *st = NULL;
	char *dir;
	int rc;

	if (parse_args(argc, argv, &a, err) < 0)
		return -1;
	if (a.given & BIT(O_HELP)) {
		fputs(usage, stdout);
		return 0;
	}
	sub = find_sub(&a, err);
	if (!sub)
		return -1;
	dir = a.state ? fs_absolute(a.state) : xstrdup(state_dir);
	rc = state_open(dir, &st, err);
	free(dir);
	if (rc == 0)
		rc = sub->fn(st, &a, err);
	state_close(st);
	return rc;
}
