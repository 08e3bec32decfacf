/* Unit tests for the parts of `dagrun serve` that stand alone: the traffic
 * split (parsing, shares, stickiness, fallback), the Prometheus text of
 * the counters, the queues' backpressure, deadlines and batches, and the
 * request bodies (JSON and CSV) read for a small baseline model, with the
 * answer's JSON.  The server itself is tested by
 * tests/integration/t_serve.sh. */
#include "test.h"
#include "tmpdir.h"
#include "serve_model.h"

#include "serve_body.h"
#include "serve_metrics.h"
#include "serve_pool.h"
#include "serve_split.h"
#include "strbuf.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- split --------------------------------------------------------------- */

TEST(split_parse_rejects_bad_lists)
{
	static const char *const bad[] = {
		"production", "a=", "=1", "a=x", "a=1,a=2", "a=0", "a=20000",
		"a=1,", "a=-1", "a=1.5"
	};
	struct serve_split s;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_init(&e);
		ASSERT_EQ(serve_split_parse(bad[i], &s, &e), -1);
		ASSERT_EQ(e.kind, ERR_USER);
		ASSERT_CONTAINS(e.msg, "--split");
		serve_split_release(&s);
	}
	err_init(&e);
	ASSERT_EQ(serve_split_parse("production=90,challenger=10", &s, &e), 0);
	ASSERT_EQ(s.n, 2);
	ASSERT_EQ(s.total, 100);
	ASSERT_STREQ(s.alias[1], "challenger");
	serve_split_release(&s);
}

static int all_present(void *arg, const char *alias)
{
	(void)arg;
	(void)alias;
	return 1;
}

static int no_challenger(void *arg, const char *alias)
{
	(void)arg;
	return strcmp(alias, "challenger") != 0;
}

TEST(split_shares_and_stickiness)
{
	struct serve_split s;
	struct err e;
	int challenger = 0;
	char key[32];

	err_init(&e);
	ASSERT_EQ(serve_split_parse("production=90,challenger=10", &s, &e), 0);
	for (uint64_t i = 0; i < 10000; i++)
		challenger += !strcmp(serve_split_pick(&s, serve_split_point(&s, NULL, 0, i),
						       all_present, NULL), "challenger");
	ASSERT(challenger > 900 && challenger < 1100);
	for (int i = 0; i < 100; i++) {
		unsigned p;
		snprintf(key, sizeof(key), "user-%d", i);
		p = serve_split_point(&s, key, strlen(key), (uint64_t)i);
		/* the sequence number does not matter when there is a key */
		ASSERT_EQ(serve_split_point(&s, key, strlen(key), 12345), p);
		ASSERT(p < 100);
	}
	/* the challenger's share falls to the next present alias */
	ASSERT_STREQ(serve_split_pick(&s, 95, no_challenger, NULL), "production");
	ASSERT_STREQ(serve_split_pick(&s, 5, no_challenger, NULL), "production");
	ASSERT_STREQ(serve_split_pick(&s, 95, all_present, NULL), "challenger");
	serve_split_release(&s);
}

/* ---- metrics ------------------------------------------------------------- */

TEST(metrics_render_counters_histogram_labels)
{
	struct serve_metrics *m = serve_metrics_new();
	struct strbuf sb;
	const char *l[] = {"model", "a\"b\\c\nd", NULL};

	serve_metrics_request(m, SERVE_EP_PREDICT, 200, 0.0003);
	serve_metrics_request(m, SERVE_EP_PREDICT, 200, 0.003);
	serve_metrics_request(m, SERVE_EP_PREDICT, 429, 0.00005);
	serve_metrics_request(m, SERVE_EP_MODELS, 503, 20);
	serve_metrics_event(m, SERVE_EV_REJECTED);
	serve_metrics_labelled(m, SERVE_LB_SPLIT, "forecaster", "production");
	serve_metrics_labelled(m, SERVE_LB_SPLIT, "forecaster", "production");
	ASSERT_EQ(serve_metrics_count(m, SERVE_EP_PREDICT, 200), 2);
	sb_init(&sb);
	serve_metrics_render(m, &sb);
	serve_metrics_sample(&sb, "x", l, 1.5);
	ASSERT_CONTAINS(sb.buf, "# TYPE dagrun_serve_requests_total counter\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_requests_total{endpoint=\"predict\",code=\"200\"} 2\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_errors_total{endpoint=\"predict\",class=\"client\"} 1\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_errors_total{endpoint=\"models\",class=\"server\"} 1\n");
	/* cumulative buckets: 50 us, 300 us, 3 ms */
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_request_duration_seconds_bucket{endpoint=\"predict\",le=\"0.0001\"} 1\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_request_duration_seconds_bucket{endpoint=\"predict\",le=\"0.0005\"} 2\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_request_duration_seconds_bucket{endpoint=\"predict\",le=\"0.005\"} 3\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_request_duration_seconds_bucket{endpoint=\"models\",le=\"10\"} 0\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_request_duration_seconds_bucket{endpoint=\"models\",le=\"+Inf\"} 1\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_request_duration_seconds_count{endpoint=\"predict\"} 3\n");
	ASSERT(!strstr(sb.buf, "endpoint=\"healthz\",le="));   /* no requests: left out */
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_queue_rejections_total 1\n");
	ASSERT_CONTAINS(sb.buf, "dagrun_serve_split_requests_total{model=\"forecaster\",alias=\"production\"} 2\n");
	ASSERT_CONTAINS(sb.buf, "x{model=\"a\\\"b\\\\c\\nd\"} 1.5\n");
	sb_release(&sb);
	serve_metrics_free(m);
}

/* ---- pool ---------------------------------------------------------------- */

struct tjob {
	struct serve_job base;
	int sleep_ms;
	atomic_int ran, ended, after, freed_flag;
	atomic_int how;
};

static atomic_int n_freed;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void t_run(struct serve_job *j)
{
	struct tjob *t = (struct tjob *)j;

	sleep_ms(t->sleep_ms);
	atomic_fetch_add(&t->ran, 1);
}

static void t_end(struct serve_job *j, enum serve_job_end how)
{
	struct tjob *t = (struct tjob *)j;

	atomic_fetch_add(&t->ended, 1);
	atomic_store(&t->how, (int)how);
}

static void t_after(struct serve_job *j)
{
	atomic_fetch_add(&((struct tjob *)j)->after, 1);
}

static void t_free(struct serve_job *j)
{
	(void)j;
	atomic_fetch_add(&n_freed, 1);
}

static void tjob_init(struct tjob *t, int sleep, int deadline_ms)
{
	memset(t, 0, sizeof(*t));
	t->sleep_ms = sleep;
	serve_job_init(&t->base, t_run, t_end, t_after, t_free,
		       serve_pool_now() + (int64_t)deadline_ms * 1000000);
}

TEST(pool_bounded_queue_refuses_when_full)
{
	struct serve_pool *p = serve_pool_new(2);
	struct serve_queue *q1 = serve_queue_new(p), *q2 = serve_queue_new(p);
	struct tjob jobs[3];
	int queued, running;

	for (int i = 0; i < 3; i++)
		tjob_init(&jobs[i], 0, 10000);
	/* the bound is shared: one place in each queue fills it */
	ASSERT_EQ(serve_pool_reserve(p), 0);
	serve_queue_push(q1, &jobs[0].base);
	ASSERT_EQ(serve_pool_reserve(p), 0);
	serve_queue_push(q2, &jobs[1].base);
	ASSERT_EQ(serve_pool_reserve(p), -1);
	serve_pool_stats(p, &queued, &running);
	ASSERT_EQ(queued, 2);
	ASSERT_EQ(running, 0);
	ASSERT_EQ(serve_queue_length(q1), 1);
	ASSERT_EQ(serve_queue_run(q1), 1);
	ASSERT_EQ(atomic_load(&jobs[0].how), SERVE_JOB_DONE);
	ASSERT_EQ(atomic_load(&jobs[0].after), 0);    /* not before the answers */
	ASSERT_EQ(serve_queue_after(q1), 1);
	ASSERT_EQ(atomic_load(&jobs[0].after), 1);
	ASSERT_EQ(atomic_load(&jobs[1].ended), 0);    /* q2's: not run by q1 */
	ASSERT_EQ(serve_pool_reserve(p), 0);          /* a place is free again */
	serve_queue_push(q1, &jobs[2].base);
	serve_pool_stop(p);
	ASSERT_EQ(serve_pool_reserve(p), -1);         /* stopping: refused */
	ASSERT_EQ(serve_queue_run(q2), 1);
	ASSERT_EQ(serve_queue_run(q1), 1);
	serve_pool_stats(p, &queued, &running);
	ASSERT_EQ(queued, 0);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(atomic_load(&jobs[i].ended), 1);
		ASSERT_EQ(atomic_load(&jobs[i].ran), 1);
	}
	serve_queue_free(q1);   /* q2 still holds job 1 for its after() */
	atomic_store(&n_freed, 0);
	for (int i = 0; i < 3; i++)
		serve_job_release(&jobs[i].base);
	ASSERT_EQ(atomic_load(&n_freed), 2);
	serve_queue_free(q2);
	ASSERT_EQ(atomic_load(&n_freed), 3);
	ASSERT_EQ(atomic_load(&jobs[1].after), 0);    /* dropped, not run */
	serve_pool_free(p);
}

TEST(pool_deadline_ends_a_job_once)
{
	struct serve_pool *p = serve_pool_new(4);
	struct serve_queue *q = serve_queue_new(p);
	struct tjob late, slow, waiting;

	atomic_store(&n_freed, 0);
	tjob_init(&late, 0, -1);        /* past its deadline when queued */
	tjob_init(&slow, 60, 30);       /* expires while it runs */
	tjob_init(&waiting, 0, 40);     /* expires while 'slow' runs */
	serve_pool_reserve(p);
	serve_queue_push(q, &late.base);
	serve_pool_reserve(p);
	serve_queue_push(q, &slow.base);
	serve_pool_reserve(p);
	serve_queue_push(q, &waiting.base);
	ASSERT_EQ(serve_queue_run(q), 3);
	ASSERT_EQ(atomic_load(&late.how), SERVE_JOB_EXPIRED);
	ASSERT_EQ(atomic_load(&late.ran), 0);
	ASSERT_EQ(atomic_load(&slow.how), SERVE_JOB_EXPIRED);
	ASSERT_EQ(atomic_load(&slow.ran), 1);         /* run, its result late */
	ASSERT_EQ(atomic_load(&waiting.how), SERVE_JOB_EXPIRED);
	ASSERT_EQ(atomic_load(&waiting.ran), 0);
	ASSERT_EQ(serve_queue_after(q), 0);           /* after() only after DONE */
	ASSERT_EQ(atomic_load(&slow.ended), 1);
	ASSERT_EQ(atomic_load(&n_freed), 0);          /* the callers still hold them */
	serve_job_release(&late.base);
	serve_job_release(&slow.base);
	serve_job_release(&waiting.base);
	ASSERT_EQ(atomic_load(&n_freed), 3);
	serve_queue_free(q);
	serve_pool_free(p);
}

static int batch_sizes[64], n_batches;

static void t_run_many(struct serve_job **jobs, int n)
{
	batch_sizes[n_batches++] = n;
	for (int i = 0; i < n; i++)
		atomic_fetch_add(&((struct tjob *)jobs[i])->ran, 1);
}

static void t_run_other(struct serve_job **jobs, int n)
{
	batch_sizes[n_batches++] = -n;
	for (int i = 0; i < n; i++)
		atomic_fetch_add(&((struct tjob *)jobs[i])->ran, 1);
}

TEST(pool_runs_the_jobs_behind_together)
{
	struct serve_pool *p = serve_pool_new(100);
	struct serve_queue *q = serve_queue_new(p);
	static struct tjob jobs[48];
	/* 3 of A, 1 alone (its run()), 2 of B, then 42 of A: 32 + 10 */
	int kind[48];

	n_batches = 0;
	for (int i = 0; i < 48; i++) {
		kind[i] = i < 3 ? 'A' : i == 3 ? 0 : i < 6 ? 'B' : 'A';
		tjob_init(&jobs[i], 0, 10000);
		jobs[i].base.run_many = kind[i] == 'A' ? t_run_many : kind[i] == 'B' ?
			t_run_other : NULL;
		ASSERT_EQ(serve_pool_reserve(p), 0);
		serve_queue_push(q, &jobs[i].base);
	}
	ASSERT_EQ(serve_queue_run(q), 48);
	ASSERT_EQ(n_batches, 4);
	ASSERT_EQ(batch_sizes[0], 3);
	ASSERT_EQ(batch_sizes[1], -2);
	ASSERT_EQ(batch_sizes[2], SERVE_QUEUE_BATCH);
	ASSERT_EQ(batch_sizes[3], 10);
	for (int i = 0; i < 48; i++) {
		ASSERT_EQ(atomic_load(&jobs[i].ran), 1);
		ASSERT_EQ(atomic_load(&jobs[i].how), SERVE_JOB_DONE);
	}
	ASSERT_EQ(serve_queue_after(q), 48);
	for (int i = 0; i < 48; i++)
		serve_job_release(&jobs[i].base);
	serve_queue_free(q);
	serve_pool_free(p);
}

/* ---- bodies -------------------------------------------------------------- */

/* The model of serve_model.h. */
static struct forecaster *baseline(void)
{
	char *dir = fs_join(tmp_dir(), "model");
	struct forecaster *f;
	struct err e;

	err_init(&e);
	fs_mkdirs(dir, &e);
	put_file(dir, "model.json", serve_model_json);
	f = forecaster_load(dir, &e);
	if (!f)
		fprintf(stderr, "%s\n", e.msg);
	free(dir);
	return f;
}

/* 'n' hourly rows of a and OT as JSON (OT = row number). */
static char *rows_json(int n)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "{\"rows\": [");
	for (int i = 0; i < n; i++)
		sb_addf(&sb, "%s{\"timestamp\": \"2024-01-01T%02d:00:00Z\", \"a\": %d, "
			"\"OT\": %d}", i ? ", " : "", i, i * 2, i);
	sb_adds(&sb, "]}");
	return sb_detach(&sb);
}

static int read_json(struct forecaster *f, const char *body, struct err *e)
{
	struct forecaster_table tb;
	int rc;

	err_init(e);
	rc = serve_body_read(f, SERVE_BODY_JSON, body, strlen(body), NULL, &tb, e);
	forecaster_table_release(&tb);
	return rc;
}

TEST(body_json_rows_predict_like_the_model)
{
	struct forecaster *f = baseline();
	struct forecaster_table tb;
	struct forecaster_result r;
	char *body = rows_json(8);
	struct serve_body_source src = {"m", "production", 3, "baseline", "OT"};
	struct strbuf sb;
	struct err e;

	ASSERT(f);
	err_init(&e);
	ASSERT_EQ(serve_body_read(f, SERVE_BODY_JSON, body, strlen(body), NULL, &tb, &e), 0);
	ASSERT_EQ(tb.rows, 8);
	ASSERT_EQ(tb.t[1] - tb.t[0], 3600);
	ASSERT_EQ(forecaster_predict(f, &tb, &r, &e), 0);
	sb_init(&sb);
	serve_body_answer(&r, &src, &sb);
	/* persistence: the forecast past the data repeats the last OT, 7 */
	ASSERT_CONTAINS(sb.buf, "{\"model\":\"m\",\"alias\":\"production\",\"version\":3,"
			"\"kind\":\"baseline\",\"target\":\"OT\",\"horizon\":2,"
			"\"step_seconds\":3600,");
	ASSERT_CONTAINS(sb.buf, "{\"timestamp\":\"2024-01-01T08:00:00Z\",\"yhat\":[7,7]}]}");
	ASSERT_CONTAINS(sb.buf, "\"y\":[");
	sb_release(&sb);
	forecaster_result_release(&r);
	forecaster_table_release(&tb);
	free(body);
	forecaster_free(f);
}

TEST(body_json_errors_name_row_and_column)
{
	struct forecaster *f = baseline();
	struct err e;

	ASSERT(f);
	ASSERT_EQ(read_json(f, "{\"rows\": [", &e), -1);
	ASSERT_CONTAINS(e.msg, "not JSON");
	ASSERT_EQ(read_json(f, "[]", &e), -1);
	ASSERT_CONTAINS(e.msg, "expected an object {\"rows\"");
	ASSERT_EQ(read_json(f, "{\"rows\": {}}", &e), -1);
	ASSERT_CONTAINS(e.msg, "'rows' is not an array");
	/* a persistence baseline reads the target only */
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"timestamp\": 0, \"b\": 1}]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "rows[0]: no column 'OT' (the baseline model reads OT)");
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"timestamp\": 0, \"a\": 1, \"OT\": 1},"
			    " {\"timestamp\": 3600, \"a\": 1, \"OT\": null}]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "rows[1]: missing value in column 'OT'");
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"timestamp\": 0, \"a\": 1, \"OT\": \"x\"}]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "rows[0]: not a number in column 'OT'");
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"timestamp\": 7200, \"a\": 1, \"OT\": 1},"
			    " {\"timestamp\": 3600, \"a\": 1, \"OT\": 1}]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "rows[1]: time 1970-01-01T01:00:00Z is not after");
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"a\": 1, \"OT\": 1}]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "rows[0]: no time 'timestamp'");
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"timestamp\": true, \"a\": 1, \"OT\": 1}]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "is not a time");
	ASSERT_EQ(read_json(f, "{\"rows\": [3]}", &e), -1);
	ASSERT_CONTAINS(e.msg, "rows[0]: expected an object");
	/* times: ISO 8601, unix seconds as a number, a fraction or digits */
	ASSERT_EQ(read_json(f, "{\"rows\": [{\"timestamp\": 1.5, \"a\": 1, \"OT\": 1},"
			    " {\"timestamp\": \"3600\", \"a\": 1, \"OT\": 1},"
			    " {\"timestamp\": \"1970-01-01 02:00:00\", \"a\": 1, \"OT\": 1}]}", &e), 0);
	forecaster_free(f);
}

TEST(body_csv_reads_as_predict_does)
{
	struct forecaster *f = baseline();
	struct forecaster_table tb;
	static const char csv[] = "timestamp,a,OT\n2024-01-01 00:00:00,1,2\n"
				  "2024-01-01 01:00:00,,3\n";
	static const char bad[] = "timestamp,a,OT\n2024-01-01 00:00:00,1,x\n";
	struct err e;

	ASSERT(f);
	err_init(&e);
	ASSERT_EQ(serve_body_read(f, SERVE_BODY_CSV, csv, strlen(csv), NULL, &tb, &e), 0);
	ASSERT_EQ(tb.rows, 2);
	ASSERT_STREQ(tb.source, "body");
	forecaster_table_release(&tb);
	err_init(&e);
	ASSERT_EQ(serve_body_read(f, SERVE_BODY_CSV, bad, strlen(bad), NULL, &tb, &e), -1);
	ASSERT_EQ(e.kind, ERR_USER);
	ASSERT_CONTAINS(e.msg, "body:2:");
	ASSERT(!strstr(e.msg, "/proc/"));
	forecaster_table_release(&tb);
	forecaster_free(f);
}

TEST(body_format_of_content_types)
{
	ASSERT_EQ(serve_body_format(NULL), SERVE_BODY_JSON);
	ASSERT_EQ(serve_body_format("application/json; charset=utf-8"), SERVE_BODY_JSON);
	ASSERT_EQ(serve_body_format("Application/JSON"), SERVE_BODY_JSON);
	ASSERT_EQ(serve_body_format("text/csv"), SERVE_BODY_CSV);
	ASSERT_EQ(serve_body_format("text/csv;header=present"), SERVE_BODY_CSV);
	ASSERT_EQ(serve_body_format("text/plain"), -1);
	ASSERT_EQ(serve_body_format("application/x-www-form-urlencoded"), -1);
	ASSERT_EQ(serve_body_format("application/jsonx"), -1);
}

TEST(body_json_string_escapes)
{
	struct strbuf sb;

	sb_init(&sb);
	serve_body_json_string(&sb, "a\"b\\c\nd\x01");
	ASSERT_STREQ(sb.buf, "\"a\\\"b\\\\c\\nd\\u0001\"");
	sb_release(&sb);
}

/* ---- the plain JSON reader ---------------------------------------------- */

/* 1 if tables 'x' and 'y' hold the same rows, times and columns, bit for
 * bit (NANs included). */
static void cleanup(void)
{
	tmp_cleanup();
}

TEST(zz_cleanup)
{
	cleanup();
}

TEST_LIST(T(split_parse_rejects_bad_lists), T(split_shares_and_stickiness),
	  T(metrics_render_counters_histogram_labels),
	  T(pool_bounded_queue_refuses_when_full), T(pool_deadline_ends_a_job_once),
	  T(pool_runs_the_jobs_behind_together),
	  T(body_json_rows_predict_like_the_model), T(body_json_errors_name_row_and_column),
	  T(body_csv_reads_as_predict_does), T(body_format_of_content_types),
	  T(body_json_string_escapes), T(zz_cleanup))
