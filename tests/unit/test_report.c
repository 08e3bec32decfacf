/* Unit tests for the run report and its chart primitives: escaping,
 * thinning of long series, gaps, ticks; and report_write() over a state
 * made here with the outputs each section reads (a recurrent model with
 * its features node, a batch inference's predictions.csv, Holt-Winters'
 * forecast.npy without intervals, a classifier's predictions.csv that is
 * no forecast, a drift.json with infinite and undefined values, a failed
 * node whose name, error and log hold markup, a skipped node whose
 * pipeline file is gone, a cached node whose metrics live in an earlier
 * run, and a no-op run). */
#include "test.h"
#include "tmpdir.h"

#include "fs.h"
#include "npy.h"
#include "report.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "svg.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

/* 3000: past SVG_MAX_POINTS, so the batch forecast must be thinned */
#define N_INFER 3000
#define N_TEST 48

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The most vertices in any one <path d="...">. */
static size_t most_vertices(const char *html)
{
	size_t most = 0;

	for (const char *p = html; (p = strstr(p, " d=\"")); p++) {
		const char *end = strchr(p + 4, '"');
		size_t v = 0;
		for (const char *q = p + 4; q < end; q++)
			v += *q == 'M' || *q == 'L';
		if (v > most)
			most = v;
	}
	return most;
}

TEST(escape_covers_markup_and_quotes)
{
	struct strbuf sb;

	sb_init(&sb);
	svg_escape(&sb, "<a href='x'>&\"</a>");
	ASSERT_STREQ(sb.buf, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
	sb_release(&sb);
}

TEST(long_line_is_thinned_and_keeps_its_peak)
{
	static double x[10000], y[10000];
	struct svg_plot p;
	struct strbuf sb;

	for (int i = 0; i < 10000; i++) {
		x[i] = i;
		y[i] = i == 4321 ? 1 : 0;
	}
	sb_init(&sb);
	svg_plot_init(&p, 880, 300, 0);
	svg_plot_include(&p, x, y, 10000);
	svg_begin(&sb, &p, "t");
	svg_line(&sb, &p, x, y, 10000, "c0");
	svg_end(&sb);
	ASSERT(most_vertices(sb.buf) <= SVG_MAX_POINTS);
	ASSERT(most_vertices(sb.buf) >= SVG_MAX_POINTS / 2);
	/* y = 1 is 1.05 / 1.1 of the 226 px plot height up from y = 256 */
	ASSERT(strstr(sb.buf, ",40.3 L") != NULL);
	sb_release(&sb);
}

TEST(gaps_break_a_line_and_log_scale_drops_non_positive)
{
	double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 2, NAN, 4, 5};
	double ly[5] = {0.01, 1, -1, 10, 100};
	struct svg_plot p;
	struct strbuf sb;

	sb_init(&sb);
	svg_plot_init(&p, 400, 200, 0);
	svg_plot_include(&p, x, y, 5);
	svg_begin(&sb, &p, "gap");
	svg_line(&sb, &p, x, y, 5, "c0");
	ASSERT_EQ(count(sb.buf, " M"), 2);
	sb_reset(&sb);
	svg_plot_init(&p, 400, 200, SVG_LOG_Y);
	svg_plot_include(&p, x, ly, 5);
	ASSERT(p.y0 == 0.01);
	svg_begin(&sb, &p, "log");
	svg_axes(&sb, &p, NULL, NULL);
	svg_line(&sb, &p, x, ly, 5, "c0");
	ASSERT_CONTAINS(sb.buf, ">0.01</text>");
	ASSERT_CONTAINS(sb.buf, ">1</text>");
	ASSERT_CONTAINS(sb.buf, ">100</text>");
	ASSERT_EQ(count(sb.buf, " M"), 2);
	sb_release(&sb);
}

TEST(time_axis_labels_dates_or_hours)
{
	double x[2] = {1526774400, 1529884800};   /* 2018-05-20 .. 2018-06-25 */
	double h[2] = {1526774400, 1526774400 + 2 * 86400};
	double y[2] = {0, 1};
	struct svg_plot p;
	struct strbuf sb;

	sb_init(&sb);
	svg_plot_init(&p, 880, 300, SVG_TIME_X);
	svg_plot_include(&p, x, y, 2);
	svg_begin(&sb, &p, "days");
	svg_axes(&sb, &p, "time", NULL);
	ASSERT_CONTAINS(sb.buf, ">2018-05-24</text>");
	sb_reset(&sb);
	svg_plot_init(&p, 880, 300, SVG_TIME_X);
	svg_plot_include(&p, h, y, 2);
	svg_begin(&sb, &p, "hours");
	svg_axes(&sb, &p, "time", NULL);
	ASSERT_CONTAINS(sb.buf, ">05-21 00:00</text>");
	sb_release(&sb);
}

/* ---- a state to report on ------------------------------------------ */

struct fixture {
	char dir[300];
	struct state *st;
	struct store store;
	struct err err;
};

/* Put the files under 'out' into the store; their manifest's hex. */
static void put_outputs(struct fixture *F, const char *out, char hex[HASH_HEX_LEN])
{
	struct hash h;

	if (store_put_dir(&F->store, out, &h, NULL, &F->err) < 0)
		abort();
	hash_to_hex(&h, hex);
}

static char *out_dir(struct fixture *F, const char *name)
{
	char *d = xasprintf("%s/out-%s", F->dir, name);

	if (fs_mkdirs(d, &F->err) < 0)
		abort();
	return d;
}

static void write_npy(const char *dir, const char *name, enum npy_dtype dt,
		      int ndim, const size_t *shape, const void *data)
{
	char *path = fs_join(dir, name);
	struct err e;

	if (npy_write(path, dt, ndim, shape, data, &e) < 0)
		abort();
	free(path);
}

/* The features node: Y_test scaled by mean 10 and std 2, and T_test;
 * eighths, so that every value below is exact in float32. */
static void features_outputs(struct fixture *F, char hex[HASH_HEX_LEN])
{
	char *d = out_dir(F, "feat");
	float y[N_TEST];
	int64_t t[N_TEST];
	size_t shape[2] = {N_TEST, 1};

	for (int i = 0; i < N_TEST; i++) {
		y[i] = (float)((i % 8) / 4.0 - 1);
		t[i] = 1526774400 + 3600 * (int64_t)i;
	}
	write_npy(d, "Y_test.npy", NPY_F4, 2, shape, y);
	write_npy(d, "T_test.npy", NPY_I8, 1, shape, t);
	put_file(d, "meta.json", "{\"target\": \"OT\", \"target_scaler\": {\"kind\": "
		 "\"standard\", \"params\": {\"OT\": {\"mean\": 10, \"std\": 2}}}}");
	put_outputs(F, d, hex);
	free(d);
}

/* The model: the unscaled truth plus 1 everywhere. */
static void gru_outputs(struct fixture *F, char hex[HASH_HEX_LEN])
{
	char *d = out_dir(F, "gru");
	float p[N_TEST];
	size_t shape[2] = {N_TEST, 1};

	for (int i = 0; i < N_TEST; i++)
		p[i] = (float)(((i % 8) / 4.0 - 1) * 2 + 10 + 1);
	write_npy(d, "predictions.npy", NPY_F4, 2, shape, p);
	put_outputs(F, d, hex);
	free(d);
}

static void infer_outputs(struct fixture *F, char hex[HASH_HEX_LEN])
{
	char *d = out_dir(F, "infer");
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "timestamp,yhat,yhat_lower,yhat_upper,y\n");
	for (int i = 0; i < N_INFER; i++)
		sb_addf(&sb, "%d,%g,%g,%g,%g\n", 1500000000 + 3600 * i, i * 0.01,
			i * 0.01 - 1, i * 0.01 + 1, i * 0.01 + 0.5);
	put_file(d, "predictions.csv", sb.buf);
	sb_release(&sb);
	put_outputs(F, d, hex);
	free(d);
}

/* train.holt_winters: forecast.npy [n, 2] (yhat, y), 2 below the truth;
 * and a classifier's predictions.csv, which is not a forecast. */
static void other_outputs(struct fixture *F, char hw[HASH_HEX_LEN],
			  char mlp[HASH_HEX_LEN])
{
	char *d = out_dir(F, "hw"), *c = out_dir(F, "mlp");
	double f[2 * N_TEST];
	int64_t t[N_TEST];
	size_t shape[2] = {N_TEST, 2};

	for (int i = 0; i < N_TEST; i++) {
		f[2 * i + 1] = 100 + i % 5;
		f[2 * i] = f[2 * i + 1] - 2;
		t[i] = 1526774400 + 86400 * (int64_t)i;
	}
	write_npy(d, "forecast.npy", NPY_F8, 2, shape, f);
	write_npy(d, "T_test.npy", NPY_I8, 1, shape, t);
	put_outputs(F, d, hw);
	put_file(c, "predictions.csv", "row,label,predicted,p_a,p_b\n7,a,b,0.4,0.6\n");
	put_outputs(F, c, mlp);
	free(d);
	free(c);
}

static void drift_outputs(struct fixture *F, char hex[HASH_HEX_LEN])
{
	char *d = out_dir(F, "drift");

	put_file(d, "drift.json", "{\"health\": \"Critical\", \"drift_score\": \"inf\","
		 " \"volatility_index\": 1.1, \"timestamp\": \"2018-06-26T19:00:00Z\","
		 " \"thresholds\": {\"drift\": [1.0, 2.0]}, \"feature_metrics\": {"
		 "\"<b>hot</b>\": {\"ref_mean\": 1, \"curr_mean\": 2, \"shift_score\": \"inf\","
		 " \"vol_ratio\": null, \"psi\": 0.3, \"ks\": 0.2, \"wasserstein\": 1},"
		 " \"calm\": {\"ref_mean\": 1, \"curr_mean\": 1.1, \"shift_score\": 0.1,"
		 " \"vol_ratio\": 1, \"psi\": 0.01, \"ks\": 0.05, \"wasserstein\": 0.1}}}");
	put_outputs(F, d, hex);
	free(d);
}

static void record(struct fixture *F, int64_t run, struct node_result *r)
{
	r->started = r->started ? r->started : 1700000000;
	r->ended = r->ended ? r->ended : r->started + 1.5;
	if (state_record(F->st, run, "unit", r, &F->err) < 0)
		abort();
}

static void node_done(struct fixture *F, int64_t run, const char *node,
		      const char *task, const char *key, const char *doc,
		      const char *hex, const char *metrics)
{
	struct node_result r;
	struct hash h;

	memset(&r, 0, sizeof(r));
	hash_from_hex(hex, &h);
	r.node = node;
	r.task = task;
	r.key = key;
	r.key_doc = doc;
	r.status = "done";
	r.reason = "new node (never run before)";
	r.outputs = &h;
	r.attempts = 1;
	r.metrics_path = metrics ? tmp_write("metrics.jsonl", metrics) : NULL;
	record(F, run, &r);
}

static int64_t begin(struct fixture *F, int64_t same_as)
{
	struct run_info ri;
	int64_t id;

	memset(&ri, 0, sizeof(ri));
	ri.pipeline = "unit";
	ri.pipeline_path = "gone.yaml";
	ri.root = F->dir;
	ri.argv = "dagrun gone.yaml";
	ri.git_commit = "0123456789abcdef";
	ri.git_branch = "main";
	ri.n_nodes = 8;
	ri.same_as = same_as;
	if (state_run_begin(F->st, &ri, &id, &F->err) < 0)
		abort();
	return id;
}

/* Run 1: the full set; run 2: gru cached; run 3: a no-op copy of run 1.
 * A fresh state each call. */
static void make_state(struct fixture *F)
{
	char feat[HASH_HEX_LEN], gru[HASH_HEX_LEN], infer[HASH_HEX_LEN], drift[HASH_HEX_LEN];
	char hw[HASH_HEX_LEN], mlp[HASH_HEX_LEN];
	char *gru_doc, *log;
	struct node_result r;
	struct hash h;
	int64_t run;

	static int made;

	snprintf(F->dir, sizeof(F->dir), "%s/report%d", tmp_dir(), made++);
	err_init(&F->err);
	if (state_open(F->dir, &F->st, &F->err) < 0 ||
	    store_open(&F->store, F->dir, &F->err) < 0)
		abort();
	features_outputs(F, feat);
	gru_outputs(F, gru);
	infer_outputs(F, infer);
	drift_outputs(F, drift);
	other_outputs(F, hw, mlp);
	gru_doc = xasprintf("{\"inputs\":[{\"hash\":\"%s\",\"name\":\"feat\"}],"
			    "\"params\":{\"data\":null}}", feat);
	run = begin(F, 0);
	node_done(F, run, "feat", "data.preprocess", "k-feat", "{\"inputs\":[]}", feat, NULL);
	node_done(F, run, "gru", "train.gru", "k-gru", gru_doc, gru,
		  "{\"name\":\"train_loss\",\"step\":0,\"value\":1}\n"
		  "{\"name\":\"train_loss\",\"step\":1,\"value\":0.5}\n"
		  "{\"name\":\"val_loss\",\"step\":0,\"value\":1.2}\n"
		  "{\"name\":\"val_loss\",\"step\":1,\"value\":0.7}\n"
		  "{\"name\":\"rmse\",\"value\":1.25}\n");
	node_done(F, run, "infer", "infer.batch", "k-infer",
		  "{\"inputs\":[{\"hash\":\"x\",\"name\":\"gru\"}]}", infer, NULL);
	node_done(F, run, "drift", "drift.report", "k-drift", "{\"inputs\":[]}", drift, NULL);
	node_done(F, run, "hw", "train.holt_winters", "k-hw", "{\"inputs\":[]}", hw, NULL);
	node_done(F, run, "mlp", "train.mlp", "k-mlp", "{\"inputs\":[]}", mlp, NULL);
	log = xasprintf("%s/bad.log", F->dir);
	put_file(F->dir, "bad.log", "step one\nerror: <script>alert('log')</script>\n");
	memset(&r, 0, sizeof(r));
	r.node = "bad<script>";
	r.task = "shell";
	r.key = "k-bad";
	r.key_doc = "{\"inputs\":[{\"hash\":\"y\",\"name\":\"feat\"}]}";
	r.status = "failed";
	r.error = "exit code 1: <script>alert(1)</script>";
	r.log_path = log;
	record(F, run, &r);
	memset(&r, 0, sizeof(r));
	r.node = "after";
	r.task = "shell";
	r.status = "skipped";
	r.reason = "needs bad<script>, which failed";
	if (state_record(F->st, run, "unit", &r, &F->err) < 0)
		abort();
	state_run_end(F->st, run, "failed", 4, 0, 1, &F->err);

	run = begin(F, 0);
	memset(&r, 0, sizeof(r));
	hash_from_hex(gru, &h);
	r.node = "gru";
	r.task = "train.gru";
	r.key = "k-gru";
	r.key_doc = gru_doc;
	r.status = "cached";
	r.outputs = &h;
	record(F, run, &r);
	state_run_end(F->st, run, "ok", 0, 1, 0, &F->err);
	state_run_end(F->st, begin(F, 1), "ok", 0, 6, 0, &F->err);
	free(gru_doc);
	free(log);
}

static char *report_text(struct fixture *F, int64_t run, const char *name)
{
	char *path = xasprintf("%s/%s", F->dir, name), *text = NULL;

	if (report_write(F->st, &F->store, run, path, &F->err) < 0 ||
	    fs_read_file(path, &text, NULL, &F->err) < 0) {
		fprintf(stderr, "report: %s\n", F->err.msg);
		text = NULL;
	}
	free(path);
	return text;
}

static void drop_state(struct fixture *F)
{
	store_close(&F->store);
	state_close(F->st);
}

TEST(report_has_every_section_escaped_and_offline)
{
	struct fixture F;
	char *html;

	make_state(&F);
	html = report_text(&F, 1, "r1.html");
	ASSERT(html != NULL);
	ASSERT(!strstr(html, "http://") && !strstr(html, "https://"));
	ASSERT(!strstr(html, "<script"));
	ASSERT_CONTAINS(html, "bad&lt;script&gt;");
	ASSERT_CONTAINS(html, "exit code 1: &lt;script&gt;alert(1)&lt;/script&gt;");
	ASSERT_CONTAINS(html, "error: &lt;script&gt;alert(&#39;log&#39;)");
	ASSERT_CONTAINS(html, "&lt;b&gt;hot&lt;/b&gt;");
	/* graph 1, training 1, forecasts 3, residuals 3 x 2, drift 1; the
	 * classifier's predictions.csv is not a forecast */
	ASSERT_EQ(count(html, "<svg"), 12);
	ASSERT_EQ(count(html, "</svg>"), 12);
	ASSERT(!strstr(html, "<h3>mlp"));
	ASSERT(most_vertices(html) <= SVG_MAX_POINTS);
	ASSERT_CONTAINS(html, "id=\"training\"");
	ASSERT_CONTAINS(html, "id=\"drift\"");
	ASSERT_CONTAINS(html, "badge h-bad\">Critical");
	/* the recurrent model: Y_test unscaled (x 2 + 10), predictions + 1 */
	ASSERT_CONTAINS(html, "48 residuals: mean -1, MAE 1, RMSE 1.");
	ASSERT_CONTAINS(html, "3000 residuals: mean 0.5, MAE 0.5, RMSE 0.5.");
	ASSERT_CONTAINS(html, "48 residuals: mean 2, MAE 2, RMSE 2.");
	/* gru and bad need feat, infer gru, by their keys; 'after' has no
	 * key and no pipeline file */
	ASSERT_EQ(count(html, "class=\"edge\""), 3);
	ASSERT_CONTAINS(html, "1 node(s) are drawn without their needs");
	ASSERT_CONTAINS(html, "<td>rmse</td><td class=\"n\">1.25</td>");
	free(html);
	drop_state(&F);
}

TEST(report_is_deterministic)
{
	struct fixture F;
	char *a, *b;

	make_state(&F);
	a = report_text(&F, 1, "a.html");
	b = report_text(&F, 1, "b.html");
	ASSERT(a && b);
	ASSERT(strcmp(a, b) == 0);
	free(a);
	free(b);
	drop_state(&F);
}

TEST(cached_node_shows_the_metrics_of_the_run_that_made_it)
{
	struct fixture F;
	char *html;

	make_state(&F);
	html = report_text(&F, 2, "r2.html");
	ASSERT(html != NULL);
	ASSERT_CONTAINS(html, "outputs of run 1");
	ASSERT_CONTAINS(html, "gru: loss per epoch");
	ASSERT_CONTAINS(html, "<td>rmse</td><td class=\"n\">1.25</td><td>1</td>");
	free(html);
	drop_state(&F);
}

TEST(noop_run_shows_the_run_it_repeated)
{
	struct fixture F;
	char *html;

	make_state(&F);
	html = report_text(&F, 3, "r3.html");
	ASSERT(html != NULL);
	ASSERT_CONTAINS(html, "run 1: nothing changed, every node cached");
	/* eight nodes and the legend */
	ASSERT_EQ(count(html, "badge s-cached\">cached"), 9);
	ASSERT_CONTAINS(html, "gru: loss per epoch");
	free(html);
	drop_state(&F);
}

TEST(unknown_run_and_unwritable_file_fail)
{
	struct fixture F;
	char *bad;

	make_state(&F);
	ASSERT_EQ(report_write(F.st, &F.store, 99, "/tmp/never.html", &F.err), -1);
	ASSERT_EQ(F.err.kind, ERR_USER);
	ASSERT_CONTAINS(F.err.msg, "no run '99'");
	err_init(&F.err);
	bad = xasprintf("%s/no/such/dir/r.html", F.dir);
	ASSERT_EQ(report_write(F.st, &F.store, 1, bad, &F.err), -1);
	ASSERT_EQ(F.err.kind, ERR_IO);
	free(bad);
	drop_state(&F);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(
	T(escape_covers_markup_and_quotes),
	T(long_line_is_thinned_and_keeps_its_peak),
	T(gaps_break_a_line_and_log_scale_drops_non_positive),
	T(time_axis_labels_dates_or_hours),
	T(report_has_every_section_escaped_and_offline),
	T(report_is_deterministic),
	T(cached_node_shows_the_metrics_of_the_run_that_made_it),
	T(noop_run_shows_the_run_it_repeated),
	T(unknown_run_and_unwritable_file_fail),
	T(cleanup)
)
