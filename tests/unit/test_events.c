/* Unit tests for the events outbox and webhook delivery: events written in
 * their fact's transaction, run_finished and node lines, delivery with
 * libcurl to a local receiver (tests/integration/webhook_receiver.py) that
 * fails the first attempts, backoff, dead letters, unreachable webhooks,
 * signatures, pipeline scoping and the pipeline's 'webhooks:' checks.
 * Run from the repository root (the receiver is found from there). */
#include "test.h"
#include "tmpdir.h"

#include "events.h"
#include "fs.h"
#include "pipeline.h"
#include "state.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECEIVER "tests/integration/webhook_receiver.py"

/* ---- a receiver process ------------------------------------------------ */

struct receiver {
	pid_t pid;
	int port;
	char log[512], url[128];
};

/* 8: receivers alive at once; the atexit hook ends any a failed test left */
static pid_t live[8];

static void stop_all(void)
{
	int i;

	for (i = 0; i < 8; i++)
		if (live[i] > 0) {
			kill(live[i], SIGTERM);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start a receiver that answers 500 to the first 'fail_first' requests of
 * each key; 'extra' is one more argument (or NULL). 0, or -1. */
static int receiver_start(struct receiver *r, const char *name, int fail_first,
			  const char *extra, const char *extra_value)
{
	static int registered;
	char port_file[512], ff[16];
	double t0 = now_s();
	int i;

	snprintf(r->log, sizeof(r->log), "%s/%s.log", tmp_dir(), name);
	snprintf(port_file, sizeof(port_file), "%s/%s.port", tmp_dir(), name);
	snprintf(ff, sizeof(ff), "%d", fail_first);
	unlink(r->log);
	unlink(port_file);
	if (!registered++)
		atexit(stop_all);
	r->pid = fork();
	if (r->pid == 0) {
		execl("/usr/bin/python3", "python3", RECEIVER, "--port-file", port_file,
		      "--log", r->log, "--fail-first", ff, extra, extra_value,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 8 && live[i] > 0; i++)
		;
	if (i < 8)
		live[i] = r->pid;
	while (now_s() - t0 < 10.0) {
		FILE *f = fopen(port_file, "r");
		if (f) {
			int ok = fscanf(f, "%d", &r->port) == 1;
			fclose(f);
			if (ok) {
				snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/hook",
					 r->port);
				return 0;
			}
		}
		usleep(20000);
	}
	fprintf(stderr, "receiver did not start (run from the repository root)\n");
	return -1;
}

static void receiver_stop(struct receiver *r)
{
	int i;

	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
	for (i = 0; i < 8; i++)
		if (live[i] == r->pid)
			live[i] = 0;
}

/* The requests the receiver logged, as an array (caller decrefs). */
static json_t *received(const struct receiver *r)
{
	json_t *arr = json_array();
	char line[16384];
	FILE *f = fopen(r->log, "r");

	while (f && fgets(line, sizeof(line), f))
		json_array_append_new(arr, json_loads(line, 0, NULL));
	if (f)
		fclose(f);
	return arr;
}

static const char *rec_str(json_t *arr, size_t i, const char *field)
{
	return json_string_value(json_object_get(json_array_get(arr, i), field));
}

static long long rec_int(json_t *arr, size_t i, const char *field)
{
	return json_integer_value(json_object_get(json_array_get(arr, i), field));
}

/* ---- state helpers ------------------------------------------------------ */

static struct state *fresh_state(const char *name)
{
	char dir[512];
	struct state *st = NULL;
	struct err e;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir(), name);
	err_init(&e);
	if (fs_remove_tree(dir, &e) < 0 || state_open(dir, &st, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return NULL;
	}
	return st;
}

static int64_t begin_run(struct state *st, const char *pipeline)
{
	struct run_info ri;
	struct err e;
	int64_t id = 0;

	memset(&ri, 0, sizeof(ri));
	ri.pipeline = pipeline;
	ri.n_nodes = 1;
	err_init(&e);
	state_run_begin(st, &ri, &id, &e);
	return id;
}

static long long count(struct state *st, const char *sql)
{
	sqlite3_stmt *s;
	long long n = -1;

	if (sqlite3_prepare_v2(state_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static double real(struct state *st, const char *sql)
{
	sqlite3_stmt *s;
	double v = -1;

	sqlite3_prepare_v2(state_db(st), sql, -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_double(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Fast test options: no waiting between tries, short timeouts. */
static void quick_opts(struct events_deliver_opts *o, int tries)
{
	events_deliver_defaults(o);
	o->tries = tries;
	o->retry_wait = 0.01;
	o->connect_timeout = 1.0;
	o->timeout = 3.0;
}

/* ---- the outbox ---------------------------------------------------------- */

TEST(emit_joins_the_open_transaction)
{
	struct state *st = fresh_state("s_tx");
	struct err e;

	ASSERT(st != NULL);
	err_init(&e);
	ASSERT_EQ(sqlite3_exec(state_db(st), "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted",
			      json_pack("{s:s}", "model", "m"), &e), 0);
	ASSERT_EQ(sqlite3_exec(state_db(st), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	ASSERT_EQ(count(st, "SELECT count(*) FROM events"), 0);
	ASSERT_EQ(events_emit(state_db(st), 7, "train", "model_promoted",
			      json_pack("{s:s,s:i}", "model", "m", "version", 2), &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM events WHERE run_id = 7 AND node ="
		  " 'train' AND payload = '{\"model\":\"m\",\"version\":2}'"), 1);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM events WHERE run_id IS NULL AND"
		  " payload = '{}'"), 1);
	state_close(st);
}

TEST(run_end_writes_run_finished)
{
	struct state *st = fresh_state("s_run");
	struct err e;
	int64_t run;
	sqlite3_stmt *s;
	json_t *p;

	ASSERT(st != NULL);
	err_init(&e);
	run = begin_run(st, "demo");
	ASSERT(run > 0);
	ASSERT_EQ(state_run_end(st, run, "failed", 1, 2, 1, &e), 0);
	sqlite3_prepare_v2(state_db(st), "SELECT payload, run_id FROM events WHERE"
			   " name = 'run_finished'", -1, &s, NULL);
	ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
	p = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
	ASSERT_EQ(sqlite3_column_int64(s, 1), run);
	sqlite3_finalize(s);
	ASSERT_STREQ(json_string_value(json_object_get(p, "status")), "failed");
	ASSERT_STREQ(json_string_value(json_object_get(p, "pipeline")), "demo");
	ASSERT_EQ(json_integer_value(json_object_get(p, "ran")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(p, "cached")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(p, "failed")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(p, "skipped")), 0);
	ASSERT(json_number_value(json_object_get(p, "seconds")) >= 0);
	json_decref(p);
	state_close(st);
}

TEST(a_run_of_a_dead_process_finishes_interrupted)
{
	struct state *st = fresh_state("s_dead_run");
	char dir[512], sql[128];
	struct err e;
	int64_t run;
	pid_t gone = fork();

	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	ASSERT(st != NULL);
	run = begin_run(st, "demo");
	snprintf(sql, sizeof(sql), "UPDATE runs SET pid = %d", (int)gone);
	ASSERT_EQ(sqlite3_exec(state_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
	snprintf(dir, sizeof(dir), "%s", state_dir(st));
	state_close(st);
	err_init(&e);
	ASSERT_EQ(state_open(dir, &st, &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM events WHERE name = 'run_finished'"
		  " AND json_extract(payload, '$.status') = 'interrupted'"), 1);
	ASSERT_EQ(count(st, "SELECT run_id FROM events"), run);
	state_close(st);
	ASSERT_EQ(state_open(dir, &st, &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM events"), 1);
	state_close(st);
}

TEST(names_text_matches_the_table)
{
	const struct events_name *v;
	char text[512] = "";
	int i, n;

	v = events_names(&n);
	for (i = 0; i < n; i++) {
		ASSERT(events_name_known(v[i].name));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
			 i ? ", " : "", v[i].name);
	}
	ASSERT_STREQ(events_names_text(), text);
	ASSERT(!events_name_known("run_finish"));
}

TEST(node_event_lines_land_in_events)
{
	struct state *st = fresh_state("s_lines");
	struct node_result nr;
	struct err e;
	const char *lines;
	json_t *pl;
	char *stored = NULL;
	sqlite3_stmt *s;
	int64_t run;

	ASSERT(st != NULL);
	err_init(&e);
	run = begin_run(st, "demo");
	lines = tmp_write("events.jsonl", "{\"event\":\"drift_detected\",\"node\":"
			  "\"drift\",\"details\":{\"psi\":0.31,\"health\":\"drifting\"}}\n");
	memset(&nr, 0, sizeof(nr));
	nr.node = "drift";
	nr.task = "drift.report";
	nr.status = "failed";
	nr.events_path = lines;
	ASSERT_EQ(state_record(st, run, "demo", &nr, &e), 0);
	sqlite3_prepare_v2(state_db(st), "SELECT payload FROM events WHERE name ="
			   " 'drift_detected' AND node = 'drift'", -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		stored = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	ASSERT(stored != NULL);
	pl = events_payload("drift_detected", stored);
	free(stored);
	ASSERT(json_number_value(json_object_get(pl, "psi")) == 0.31);
	ASSERT(json_object_get(pl, "event") == NULL);
	json_decref(pl);
	pl = events_payload("model_promoted", "{\"model\":\"m\"}");
	ASSERT_STREQ(json_string_value(json_object_get(pl, "model")), "m");
	json_decref(pl);
	state_close(st);
}

/* ---- delivery ------------------------------------------------------------- */

TEST(delivered_once_after_failures_with_one_key)
{
	struct state *st = fresh_state("s_retry");
	struct events_deliver_opts o;
	struct events_deliver_stats ds;
	struct receiver r;
	struct err e;
	char key[128];
	json_t *got, *body;
	int64_t run;

	ASSERT(st != NULL);
	err_init(&e);
	ASSERT_EQ(receiver_start(&r, "retry", 2, NULL, NULL), 0);
	ASSERT_EQ(webhook_add(state_db(st), r.url, "node_failed", NULL, NULL, &e), 0);
	run = begin_run(st, "demo");
	ASSERT_EQ(events_emit(state_db(st), run, "train", "node_failed",
			      json_pack("{s:i,s:s}", "exit_code", 3, "error", "exit code 3"), &e), 0);
	ASSERT_EQ(events_emit(state_db(st), run, NULL, "drift_detected", NULL, &e), 0);
	quick_opts(&o, 3);
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.delivered, 1);
	got = received(&r);
	ASSERT_EQ(json_array_size(got), 3);
	ASSERT_EQ(rec_int(got, 0, "status"), 500);
	ASSERT_EQ(rec_int(got, 1, "status"), 500);
	ASSERT_EQ(rec_int(got, 2, "status"), 200);
	ASSERT_EQ(events_key(state_db(st), 1, key, sizeof(key), &e), 0);
	ASSERT_EQ(strlen(key), strlen("dagrun-") + 32 + strlen("-1"));
	ASSERT_STREQ(rec_str(got, 0, "key"), key);
	ASSERT_STREQ(rec_str(got, 1, "key"), key);
	ASSERT_STREQ(rec_str(got, 2, "key"), key);
	ASSERT_STREQ(rec_str(got, 2, "content_type"), "application/json");
	ASSERT_STREQ(rec_str(got, 2, "event"), "node_failed");
	body = json_object_get(json_array_get(got, 2), "body");
	ASSERT_EQ(json_integer_value(json_object_get(body, "id")), 1);
	ASSERT_STREQ(json_string_value(json_object_get(body, "idempotency_key")), key);
	ASSERT_STREQ(json_string_value(json_object_get(body, "name")), "node_failed");
	ASSERT_EQ(json_integer_value(json_object_get(body, "run_id")), run);
	ASSERT_STREQ(json_string_value(json_object_get(body, "node")), "train");
	ASSERT(json_number_value(json_object_get(body, "created")) > 1e9);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(body, "payload"),
						     "exit_code")), 3);
	json_decref(got);
	ASSERT_EQ(count(st, "SELECT attempts FROM deliveries WHERE status = 'delivered'"), 3);
	/* a second pass, even ignoring the schedule, sends nothing again */
	o.now = 1;
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.delivered + ds.retrying + ds.dead, 0);
	got = received(&r);
	ASSERT_EQ(json_array_size(got), 3);
	json_decref(got);
	/* the webhook did not subscribe to drift_detected */
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries"), 1);
	receiver_stop(&r);
	state_close(st);
}

TEST(backoff_is_recorded_and_respected)
{
	struct state *st = fresh_state("s_backoff");
	struct events_deliver_opts o;
	struct events_deliver_stats ds;
	struct receiver r;
	struct err e;
	json_t *got;
	double gap;

	ASSERT(st != NULL);
	err_init(&e);
	ASSERT_EQ(receiver_start(&r, "backoff", 2, NULL, NULL), 0);
	ASSERT_EQ(webhook_add(state_db(st), r.url, NULL, NULL, NULL, &e), 0);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	quick_opts(&o, 1);
	o.backoff = 10;
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.retrying, 1);
	gap = real(st, "SELECT next_attempt - last_attempt FROM deliveries");
	ASSERT(gap >= 10.0 && gap < 11.0);   /* from the attempt's start */
	ASSERT_EQ(count(st, "SELECT http_status FROM deliveries"), 500);
	/* not due yet: nothing is sent */
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.retrying + ds.delivered, 0);
	got = received(&r);
	ASSERT_EQ(json_array_size(got), 1);
	json_decref(got);
	/* --now: the second attempt waits twice as long after failing */
	o.now = 1;
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	gap = real(st, "SELECT next_attempt - last_attempt FROM deliveries");
	ASSERT(gap >= 20.0 && gap < 21.0);
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.delivered, 1);
	ASSERT_EQ(count(st, "SELECT attempts FROM deliveries WHERE status = 'delivered'"), 3);
	receiver_stop(&r);
	state_close(st);
}

TEST(dead_letter_after_max_attempts)
{
	struct state *st = fresh_state("s_dead");
	struct events_deliver_opts o;
	struct events_deliver_stats ds;
	struct receiver r;
	struct err e;
	json_t *got;
	int pass;

	ASSERT(st != NULL);
	err_init(&e);
	ASSERT_EQ(receiver_start(&r, "dead", 1000, NULL, NULL), 0);
	ASSERT_EQ(webhook_add(state_db(st), r.url, NULL, NULL, NULL, &e), 0);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	quick_opts(&o, 1);
	o.now = 1;
	o.max_attempts = 3;
	for (pass = 0; pass < 3; pass++)
		ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.dead, 1);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE status = 'failed'"
		  " AND attempts = 3 AND error = 'http 500'"), 1);
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	got = received(&r);
	ASSERT_EQ(json_array_size(got), 3);
	json_decref(got);
	/* a lower limit makes pending deliveries past it dead at once */
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	o.max_attempts = 10;
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(count(st, "SELECT attempts FROM deliveries WHERE event_id = 2"), 1);
	ASSERT_EQ(events_plan(state_db(st), 1, &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE status = 'failed'"), 2);
	receiver_stop(&r);
	state_close(st);
}

/* A TCP port that accepts connections (the kernel's backlog) but never
 * answers: the worst kind of unreachable. */
static int silent_port(int *fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(*fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(*fd, 16) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

/* A port with nothing listening: connection refused. */
static int closed_port(void)
{
	int fd, port = silent_port(&fd);

	close(fd);
	return port;
}

TEST(unreachable_webhooks_do_not_hold_up_a_run)
{
	struct state *st = fresh_state("s_unreach");
	struct events_deliver_opts o;
	struct events_deliver_stats ds;
	char url[128];
	struct err e;
	double t0, took;
	int fd, port, i;

	ASSERT(st != NULL);
	err_init(&e);
	port = silent_port(&fd);
	ASSERT(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/silent", port);
	ASSERT_EQ(webhook_add(state_db(st), url, NULL, NULL, NULL, &e), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/refused", closed_port());
	ASSERT_EQ(webhook_add(state_db(st), url, NULL, NULL, NULL, &e), 0);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(events_emit(state_db(st), 0, NULL, "run_finished", NULL, &e), 0);
	events_deliver_run_defaults(&o);
	t0 = now_s();
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	took = now_s() - t0;
	close(fd);
	/* 2 s budget per webhook, and the refused one fails at once */
	ASSERT(took < 3.0);
	ASSERT_EQ(ds.delivered, 0);
	ASSERT_EQ(ds.hooks_down, 2);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE status = 'pending'"), 10);
	/* the refused one had its quick tries; others to a down webhook wait */
	ASSERT_EQ(count(st, "SELECT max(attempts) FROM deliveries WHERE webhook_id = 2"), 3);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE attempts = 0"), 8);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE error LIKE"
		  "'%imeout%' OR error LIKE '%imed out%'"), 1);
	state_close(st);
}

TEST(signed_with_the_secret_from_the_environment)
{
	struct state *st = fresh_state("s_sign");
	struct events_deliver_opts o;
	struct events_deliver_stats ds;
	struct receiver r;
	struct err e;
	json_t *got;

	ASSERT(st != NULL);
	err_init(&e);
	ASSERT_EQ(receiver_start(&r, "sign", 0, "--secret", "s3cret"), 0);
	ASSERT_EQ(webhook_add(state_db(st), r.url, NULL, "DAGRUN_TEST_HOOK_SECRET",
			      NULL, &e), 0);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	quick_opts(&o, 1);
	unsetenv("DAGRUN_TEST_HOOK_SECRET");
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.retrying, 1);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE error LIKE"
		  " '%DAGRUN_TEST_HOOK_SECRET%'"), 1);
	setenv("DAGRUN_TEST_HOOK_SECRET", "s3cret", 1);
	o.now = 1;
	ASSERT_EQ(events_deliver(state_db(st), &o, &ds, NULL, &e), 0);
	ASSERT_EQ(ds.delivered, 1);
	got = received(&r);
	ASSERT_EQ(json_array_size(got), 1);
	ASSERT(json_is_true(json_object_get(json_array_get(got, 0), "sig_ok")));
	json_decref(got);
	receiver_stop(&r);
	state_close(st);
}

/* ---- configuration ------------------------------------------------------- */

TEST(webhooks_added_late_get_only_new_events)
{
	struct state *st = fresh_state("s_late");
	struct err e;
	int64_t id;

	ASSERT(st != NULL);
	err_init(&e);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	ASSERT_EQ(webhook_add(state_db(st), "http://127.0.0.1:9/x", "model_promoted,"
			      "run_finished", NULL, &id, &e), 0);
	ASSERT_EQ(events_emit(state_db(st), 0, NULL, "model_promoted", NULL, &e), 0);
	ASSERT_EQ(events_plan(state_db(st), 0, &e), 0);
	ASSERT_EQ(count(st, "SELECT group_concat(event_id) FROM deliveries"), 2);
	ASSERT_EQ(webhook_add(state_db(st), "http://127.0.0.1:9/x", NULL, NULL, NULL, &e), -1);
	ASSERT_EQ(e.kind, ERR_USER);
	ASSERT_CONTAINS(e.msg, "already exists");
	err_init(&e);
	ASSERT_EQ(webhook_add(state_db(st), "ftp://h/x", NULL, NULL, NULL, &e), -1);
	ASSERT_CONTAINS(e.msg, "not http or https");
	err_init(&e);
	ASSERT_EQ(webhook_add(state_db(st), "http://h/x", "run_finish", NULL, NULL, &e), -1);
	ASSERT_CONTAINS(e.msg, "unknown event 'run_finish'");
	err_init(&e);
	ASSERT_EQ(webhook_remove(state_db(st), id, &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries"), 0);
	ASSERT_EQ(webhook_remove(state_db(st), id, &e), -1);
	ASSERT_EQ(e.kind, ERR_USER);
	state_close(st);
}

static struct pipeline *load(const char *yaml, struct err *err)
{
	struct pipeline *p = NULL;

	err_init(err);
	if (pipeline_load(tmp_write("p.yaml", yaml), &p, err) < 0)
		return NULL;
	return p;
}

TEST(pipeline_webhooks_are_scoped_to_their_pipeline)
{
	struct state *st = fresh_state("s_scope");
	struct pipeline *p;
	struct err e;
	int64_t mine, other;

	ASSERT(st != NULL);
	p = load("pipeline: demo\nwebhooks:\n  - url: http://127.0.0.1:9/a\n"
		 "    events: [node_failed]\n    secret_env: HOOK_SECRET\n"
		 "  - {url: 'http://127.0.0.1:9/b'}\nnodes:\n  a: {cmd: x}\n", &e);
	ASSERT(p != NULL);
	ASSERT_EQ(p->n_webhooks, 2);
	ASSERT_STREQ(p->webhooks[0].events, "node_failed");
	ASSERT_STREQ(p->webhooks[0].secret_env, "HOOK_SECRET");
	ASSERT(p->webhooks[1].events == NULL);
	ASSERT_EQ(p->webhooks[1].line, 6);
	ASSERT_EQ(webhook_sync_pipeline(state_db(st), p, &e), 0);
	mine = begin_run(st, "demo");
	other = begin_run(st, "other");
	ASSERT_EQ(events_emit(state_db(st), mine, "a", "node_failed", NULL, &e), 0);
	ASSERT_EQ(events_emit(state_db(st), other, "a", "node_failed", NULL, &e), 0);
	ASSERT_EQ(events_emit(state_db(st), mine, NULL, "run_finished", NULL, &e), 0);
	ASSERT_EQ(events_plan(state_db(st), 0, &e), 0);
	/* a: node_failed of demo; b: everything of demo */
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries"), 3);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries WHERE event_id = 2"), 0);
	/* dropped from the file: dropped from the state, with its deliveries */
	pipeline_free(p);
	p = load("pipeline: demo\nwebhooks:\n  - url: http://127.0.0.1:9/b\n"
		 "nodes:\n  a: {cmd: x}\n", &e);
	ASSERT(p != NULL);
	ASSERT_EQ(webhook_sync_pipeline(state_db(st), p, &e), 0);
	ASSERT_EQ(count(st, "SELECT count(*) FROM webhooks"), 1);
	ASSERT_EQ(count(st, "SELECT count(*) FROM deliveries"), 2);
	ASSERT_EQ(webhook_remove(state_db(st), 2, &e), -1);
	ASSERT_CONTAINS(e.msg, "comes from pipeline 'demo'");
	pipeline_free(p);
	state_close(st);
}

TEST(pipeline_webhooks_errors_name_file_line_col)
{
	struct err e;
	struct pipeline *p;

	p = load("nodes:\n  a: {cmd: x}\nwebhooks:\n"
		 "  - url: ftp://example.com/x\n"                    /* 4:10 */
		 "    events: [node_failed, run_finish]\n"          /* 5:27 */
		 "    secret: X\n"                                   /* 6:5 */
		 "  - events: [run_finished]\n"                      /* 7:5 */
		 "  - {url: 'http://h/x', secret_env: 'no-dash'}\n"  /* 8:37 */
		 "  - {url: 'http://h/y'}\n"
		 "  - {url: 'http://h/y'}\n"                         /* 10:11 */
		 "  - just a string\n", &e);                         /* 11:5 */
	ASSERT(p == NULL);
	ASSERT_EQ(e.kind, ERR_USER);
	ASSERT_EQ(err_exit_code(&e), 2);
	ASSERT_CONTAINS(e.msg, "p.yaml:4:10: bad webhook url 'ftp://example.com/x'");
	ASSERT_CONTAINS(e.msg, "p.yaml:5:27: unknown event 'run_finish' (expected one of:");
	ASSERT_CONTAINS(e.msg, "p.yaml:6:5: unknown field 'secret' in webhook 1 (expected "
			"one of: url, events, secret_env)");
	ASSERT_CONTAINS(e.msg, "p.yaml:7:5: webhook 2 has no 'url'");
	ASSERT_CONTAINS(e.msg, "p.yaml:8:37: bad secret_env 'no-dash'");
	ASSERT_CONTAINS(e.msg, "p.yaml:10:11: duplicate webhook url 'http://h/y'");
	ASSERT_CONTAINS(e.msg, "p.yaml:11:5: webhook 6 must be a mapping");
	p = load("nodes:\n  a: {cmd: x}\nwebhooks: {url: 'http://h/x'}\n", &e);
	ASSERT(p == NULL);
	ASSERT_CONTAINS(e.msg, "p.yaml:3:11: 'webhooks' must be a list");
	p = load("nodes:\n  a: {cmd: x}\nwebhooks:\n  - {url: 'http://h/x', events: []}\n", &e);
	ASSERT(p == NULL);
	ASSERT_CONTAINS(e.msg, "p.yaml:4:33: 'events' of webhook 1 names no event");
	p = load("nodes:\n  a: {cmd: x}\nwebhooks:\n", &e);
	ASSERT(p != NULL);
	ASSERT_EQ(p->n_webhooks, 0);
	pipeline_free(p);
}

static void cleanup(void)
{
	stop_all();
	tmp_cleanup();
}

TEST(zz_cleanup)
{
	cleanup();
}

TEST_LIST(
	T(emit_joins_the_open_transaction),
	T(run_end_writes_run_finished),
	T(a_run_of_a_dead_process_finishes_interrupted),
	T(names_text_matches_the_table),
	T(node_event_lines_land_in_events),
	T(delivered_once_after_failures_with_one_key),
	T(backoff_is_recorded_and_respected),
	T(dead_letter_after_max_attempts),
	T(unreachable_webhooks_do_not_hold_up_a_run),
	T(signed_with_the_secret_from_the_environment),
	T(webhooks_added_late_get_only_new_events),
	T(pipeline_webhooks_are_scoped_to_their_pipeline),
	T(pipeline_webhooks_errors_name_file_line_col),
	T(zz_cleanup)
)
