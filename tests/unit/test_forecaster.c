/* Unit tests of tasks/lib/forecaster.c and of rnn_predict(), the forward
 * pass it runs: predictions the same bits whatever the batch, the thread
 * count and the tile kernel; a network model folder made here, with derived
 * columns, against windows built by hand from the same formulas; raw and
 * derived names told apart; baselines; a Prophet model through its JSON;
 * promotion.json + model/; the CSV API; and every input error with the
 * message it must carry.  (tests/integration/t_infer.sh checks the same
 * against models trained by the real binary, bit for bit.) */
#include "forecaster.h"
#include "prophet.h"
#include "rnn.h"
#include "strbuf.h"
#include "test.h"
#include "timeparse.h"
#include "tmpdir.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2024-01-01T00:00:00Z */
#define T0 1704067200
#define HOUR 3600

/* --- rnn_predict */

struct net {
	struct rnn *m;
	float *x;
	size_t n;
};

static void net_init(struct net *t, enum rnn_cell_kind cell, size_t n)
{
	struct rnn_config cfg = {cell, 2, 20, 5, 3, 6, 0};
	struct rng r;

	t->n = n;
	t->m = rnn_new(&cfg);
	rng_seed(&r, 11);
	rnn_init(t->m, &r);
	t->x = tensor_alloc(n * 6 * 5);
	rng_fill_uniform(&r, t->x, n * 6 * 5, -2, 2);
}

static void net_release(struct net *t)
{
	rnn_free(t->m);
	tensor_free(t->x);
}

/* rnn_predict of all windows with a workspace of 'batch' rows on 'threads'
 * (a training workspace when 'batch' is odd, else a predict-only one). */
static float *predict_all(const struct net *t, int batch, int threads)
{
	struct rnn_work *w = batch % 2 ? rnn_work_new(t->m, batch, threads) :
			     rnn_work_new_predict(t->m, batch, threads);
	float *y = tensor_alloc(t->n * 3);

	rnn_predict(t->m, w, t->x, t->n, y);
	rnn_work_free(w);
	return y;
}

TEST(predict_is_the_same_bits_whatever_the_batch)
{
	struct net t;
	float *ref, *y, *one = tensor_alloc(3);
	struct rnn_work *w;
	int shapes[][2] = {{1, 1}, {5, 2}, {64, 3}, {7, 1}};

	for (int c = 0; c < 2; c++) {
		net_init(&t, c ? RNN_LSTM : RNN_GRU, 37);
		ref = predict_all(&t, 37, 1);
		for (int s = 0; s < 4; s++) {
			y = predict_all(&t, shapes[s][0], shapes[s][1]);
			ASSERT(!memcmp(y, ref, t.n * 3 * sizeof(float)));
			tensor_free(y);
		}
		w = rnn_work_new(t.m, 1, 1);   /* window 20 alone */
		rnn_predict(t.m, w, t.x + 20 * 30, 1, one);
		ASSERT(!memcmp(one, ref + 20 * 3, 3 * sizeof(float)));
		rnn_work_free(w);
		tensor_free(ref);
		net_release(&t);
	}
	tensor_free(one);
}

TEST(predict_tile_kernels_agree_to_the_bit)
{
	static const char *const isa[] = {"avx2", "generic"};
	struct net t;
	float *ref, *y;

	net_init(&t, RNN_LSTM, 19);
	unsetenv("DAGRUN_RNN_ISA");
	ref = predict_all(&t, 8, 2);
	for (int i = 0; i < 4; i++) {   /* 19 rows: two tiles and three rows */
		setenv("DAGRUN_RNN_ISA", isa[i / 2], 1);
		y = predict_all(&t, i % 2 ? 8 : 64, i % 2 ? 2 : 1);
		unsetenv("DAGRUN_RNN_ISA");
		ASSERT(!memcmp(y, ref, t.n * 3 * sizeof(float)));
		tensor_free(y);
	}
	tensor_free(ref);
	net_release(&t);
}

TEST(predict_sees_new_weights_in_the_same_workspace)
{
	struct net t;
	struct rnn_work *w;
	float *a, *b;

	net_init(&t, RNN_GRU, 9);
	w = rnn_work_new(t.m, 4, 1);
	a = tensor_alloc(9 * 3);
	b = tensor_alloc(9 * 3);
	rnn_predict(t.m, w, t.x, 9, a);
	rnn_params(t.m)->value[7] += 0.5f;   /* as an optimizer step would */
	rnn_predict(t.m, w, t.x, 9, b);
	ASSERT(memcmp(a, b, 9 * 3 * sizeof(float)));
	rnn_params(t.m)->value[7] -= 0.5f;
	rnn_predict(t.m, w, t.x, 9, b);
	ASSERT(!memcmp(a, b, 9 * 3 * sizeof(float)));
	rnn_work_free(w);
	tensor_free(a);
	tensor_free(b);
	net_release(&t);
}

TEST(predict_agrees_with_the_training_forward_pass)
{
	struct net t;
	struct rnn_work *w;
	float *ref, *y;

	net_init(&t, RNN_GRU, 13);
	w = rnn_work_new(t.m, 13, 1);
	y = tensor_alloc(13 * 3);
	rnn_forward(t.m, w, t.x, 13, NULL, y);
	ref = predict_all(&t, 4, 1);
	for (size_t i = 0; i < 13 * 3; i++)
		ASSERT(fabsf(y[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])));
	rnn_work_free(w);
	tensor_free(y);
	tensor_free(ref);
	net_release(&t);
}

/* --- a network model folder, with derived columns */

/* 'OT_return' is a raw column: names after it are not all derived. */
static const char *const feats[] = {"OT_return", "a", "OT", "min_of_day_sin",
				    "min_of_day_cos", "OT_lag_2", "OT_roll_mean_3",
				    "OT_roll_std_3"};
#define NF 8
#define L 4
#define H 2
#define ROWS 30

static double col_a(size_t i) { return sin(0.3 * (double)i); }
static double col_ot(size_t i) { return 10 + 2 * cos(0.2 * (double)i) + 0.1 * (double)(i % 3); }
static double col_ret(size_t i) { return 0.01 * (double)i; }

/* The CSV of ROWS hourly rows; 'skip' leaves that column out, 'bad_row'
 * (from 1) gets 'bad' in column a. */
static const char *write_csv(const char *name, size_t rows, const char *skip,
			     size_t bad_row, const char *bad)
{
	struct strbuf sb;
	char when[TIMEPARSE_TEXT_MAX];
	const char *path;

	sb_init(&sb);
	sb_addf(&sb, "timestamp%s%s%s,z\n", strcmp(skip, "a") ? ",a" : "",
		strcmp(skip, "OT") ? ",OT" : "", ",OT_return");
	for (size_t i = 0; i < rows; i++) {
		sb_addf(&sb, "%s", timeparse_format(T0 + (int64_t)i * HOUR, when));
		if (strcmp(skip, "a")) {
			if (i + 1 == bad_row)
				sb_addf(&sb, ",%s", bad);
			else
				sb_addf(&sb, ",%.17g", col_a(i));
		}
		if (strcmp(skip, "OT"))
			sb_addf(&sb, ",%.17g", col_ot(i));
		sb_addf(&sb, ",%.17g,zz\n", col_ret(i));
	}
	path = tmp_write(name, sb.buf);
	sb_release(&sb);
	return path;
}

/* Feature j of row i, by the formulas of features.h written out. */
static double feature(size_t j, size_t i)
{
	double v = (double)((i % 24) * 60), m, s = 0;

	switch (j) {
	case 0: return col_ret(i);
	case 1: return col_a(i);
	case 2: return col_ot(i);
	case 3: return sin(6.283185307179586 * v / 1440);
	case 4: return cos(6.283185307179586 * v / 1440);
	case 5: return col_ot(i - 2);
	}
	m = (col_ot(i - 2) + col_ot(i - 1) + col_ot(i)) / 3;
	if (j == 6)
		return m;
	for (size_t k = i - 2; k <= i; k++)
		s += (col_ot(k) - m) * (col_ot(k) - m);
	return sqrt(s / 2);
}

static double mean_of(size_t j) { return 0.1 * (double)j; }
static double std_of(size_t j) { return 1 + 0.5 * (double)j; }

/* model.safetensors with its meta in tmp_dir()/'dir'; the network. */
static struct rnn *write_network(const char *dir)
{
	struct rnn_config cfg = {RNN_LSTM, 2, 12, NF, H, L, 0};
	json_t *names = json_array(), *params = json_object(), *meta;
	char *folder = fs_join(tmp_dir(), dir), *path = fs_join(folder, "model.safetensors");
	struct rnn *m = rnn_new(&cfg);
	struct err err;
	struct rng r;

	rng_seed(&r, 5);
	rnn_init(m, &r);
	for (size_t j = 0; j < NF; j++) {
		json_array_append_new(names, json_string(feats[j]));
		json_object_set_new(params, feats[j], json_pack("{s:f, s:f}", "mean",
				    mean_of(j), "std", std_of(j)));
	}
	meta = json_pack("{s:o, s:s, s:i, s:i, s:{s:s, s:o}, s:{s:s, s:{s:{s:f, s:f}}}}",
			 "features", names, "target", "OT", "input_seq_len", L,
			 "output_seq_len", H, "scaler", "kind", "standard", "params", params,
			 "target_scaler", "kind", "standard", "params", "OT", "mean", 10.0,
			 "std", 2.0);
	fs_mkdirs(folder, &err);
	if (rnn_save(m, path, meta, &err))
		abort();
	json_decref(meta);
	free(folder);
	free(path);
	return m;
}

TEST(network_columns_and_rows_needed)
{
	struct forecaster *f;
	struct rnn *m = write_network("net");
	char *dir = fs_join(tmp_dir(), "net");
	struct err err;

	err_init(&err);
	f = forecaster_load(dir, &err);
	ASSERT(f);
	ASSERT_STREQ(forecaster_kind_name(f), "lstm");
	ASSERT_EQ(forecaster_n_columns(f), 3);
	ASSERT_STREQ(forecaster_column(f, 0), "OT_return");   /* raw: a raw name follows */
	ASSERT_STREQ(forecaster_column(f, 1), "a");
	ASSERT_STREQ(forecaster_column(f, 2), "OT");
	ASSERT_EQ(forecaster_min_rows(f), 2 + L + H);          /* lag 2, rolling 3 */
	ASSERT_EQ(forecaster_has_intervals(f), 0);
	forecaster_free(f);
	rnn_free(m);
	free(dir);
}

TEST(network_predicts_hand_built_windows)
{
	struct rnn *m = write_network("net2");
	char *dir = fs_join(tmp_dir(), "net2");
	size_t warm = 2, kept = ROWS - warm, n = kept - L - H + 2;
	float *x = tensor_alloc(n * L * NF), *y = tensor_alloc(n * H), *seen;
	size_t seen_n = 0;
	struct forecaster_table tb;
	struct forecaster_result r;
	struct rnn_work *w = rnn_work_new(m, 3, 1);
	struct forecaster *f;
	struct err err;

	err_init(&err);
	f = forecaster_load(dir, &err);
	ASSERT(f);
	forecaster_set_threads(f, 2);
	ASSERT_EQ(forecaster_read_csv(f, write_csv("in.csv", ROWS, "", 0, ""), NULL, &tb,
				      &err), 0);
	ASSERT_EQ(forecaster_predict(f, &tb, &r, &err), 0);
	ASSERT_EQ(r.n, n);
	ASSERT_EQ(r.windows, n - 1);
	ASSERT_EQ(r.step, HOUR);
	ASSERT_EQ(r.t[0], T0 + (int64_t)(warm + L) * HOUR);
	ASSERT_EQ(r.t[n - 1], T0 + (int64_t)ROWS * HOUR);
	ASSERT(r.lower == NULL && isnan(r.y[(n - 1) * H]));
	for (size_t i = 0; i < n; i++) {
		size_t s = i + 1 < n ? i : kept - L;
		for (size_t t = 0; t < L; t++)
			for (size_t j = 0; j < NF; j++)
				x[(i * L + t) * NF + j] = (float)((feature(j, warm + s + t) -
								  mean_of(j)) / std_of(j));
	}
	seen = forecaster_windows(f, &tb, &seen_n, &err);
	ASSERT(seen && seen_n == n);
	for (size_t i = 0; i < n * L * NF; i++)
		ASSERT(fabsf(seen[i] - x[i]) <= 1e-6f * (1 + fabsf(x[i])));
	free(seen);
	rnn_predict(m, w, x, n, y);
	for (size_t i = 0; i < n * H; i++)
		ASSERT(fabs(r.yhat[i] - (y[i] * 2.0 + 10)) < 1e-5);
	ASSERT(r.y[0] == col_ot(warm + L) && r.y[1] == col_ot(warm + L + 1));
	forecaster_result_release(&r);
	forecaster_table_release(&tb);
	forecaster_free(f);
	rnn_work_free(w);
	rnn_free(m);
	tensor_free(x);
	tensor_free(y);
	free(dir);
}

/* The error forecaster_predict_csv() gives for model 'dir' and 'csv'. */
static const char *csv_error_of(const char *dir, const char *csv)
{
	static struct err err;
	char *folder = fs_join(tmp_dir(), dir), *out = fs_join(tmp_dir(), "out.csv");
	int rc;

	err_init(&err);
	rc = forecaster_predict_csv(folder, csv, out, &err);
	free(folder);
	free(out);
	return rc == -1 && err.kind == ERR_USER ? err.msg : "(no user error)";
}

TEST(network_input_errors_name_the_problem)
{
	struct rnn *m = write_network("net3");
	char want[512];
	const char *csv;

	csv = write_csv("short.csv", 7, "", 0, "");
	snprintf(want, sizeof(want), "%s: 7 rows, fewer than the 8 the model needs "
		 "(input_seq_len 4 + output_seq_len 2 + 2 warm-up rows", csv);
	ASSERT_CONTAINS(csv_error_of("net3", csv), want);
	csv = write_csv("nocol.csv", ROWS, "a", 0, "");
	snprintf(want, sizeof(want), "%s:1:1: no column 'a' (the lstm model reads "
		 "OT_return, a, OT)", csv);
	ASSERT_STREQ(csv_error_of("net3", csv), want);
	csv = write_csv("garbage.csv", ROWS, "", 6, "1.2.3");
	snprintf(want, sizeof(want), "%s:7:22: expected a number in column 'a', "
		 "found '1.2.3'", csv);
	ASSERT_CONTAINS(csv_error_of("net3", csv), want);
	csv = write_csv("hole.csv", ROWS, "", 9, "");
	snprintf(want, sizeof(want), "%s:10:22: missing value in column 'a'", csv);
	ASSERT_CONTAINS(csv_error_of("net3", csv), want);
	csv = tmp_write("notime.csv", "when,a,OT,OT_return\n1,2,3,4\n");
	ASSERT_CONTAINS(csv_error_of("net3", csv), "notime.csv:1:1: no time column "
			"(expected one named 'timestamp', or one of ISO 8601 times)");
	rnn_free(m);
}

TEST(csv_out_has_a_column_per_step)
{
	struct rnn *m = write_network("net4");
	char *folder = fs_join(tmp_dir(), "net4"), *out = fs_join(tmp_dir(), "p.csv"), *text;
	struct err err;

	err_init(&err);
	ASSERT_EQ(forecaster_predict_csv(folder, write_csv("in4.csv", ROWS, "", 0, ""), out,
					 &err), 0);
	ASSERT_EQ(fs_read_file(out, &text, NULL, &err), 0);
	ASSERT(!strncmp(text, "timestamp,yhat_1,yhat_2\n2024-01-01T06:00:00Z,", 45));
	ASSERT_CONTAINS(text, "\n2024-01-02T06:00:00Z,");   /* one past row 29 */
	free(text);
	free(folder);
	free(out);
	rnn_free(m);
}

/* --- baselines */

/* tmp_dir()/'dir'/model.json of a baseline; 'extra' is more JSON fields. */
static char *write_baseline(const char *dir, const char *method, const char *extra)
{
	char *folder = fs_join(tmp_dir(), dir), text[512];
	struct err err;

	fs_mkdirs(folder, &err);
	snprintf(text, sizeof(text), "{\"type\": \"baseline\", \"method\": \"%s\", "
		 "\"target\": \"OT\", \"input_seq_len\": 3, \"output_seq_len\": 2, "
		 "\"meta\": null%s}", method, extra);
	put_file(folder, "model.json", text);
	return folder;
}

/* The baseline in 'dir' over in.csv's ROWS rows. */
static int run_baseline(const char *dir, struct forecaster_result *r)
{
	struct forecaster *f;
	struct forecaster_table tb;
	struct err err;
	int rc = -1;

	err_init(&err);
	f = forecaster_load(dir, &err);
	if (f && forecaster_read_csv(f, write_csv("b.csv", ROWS, "a", 0, ""), NULL, &tb,
				     &err) == 0)
		rc = forecaster_predict(f, &tb, r, &err);
	forecaster_table_release(&tb);
	forecaster_free(f);
	return rc;
}

TEST(baseline_persistence_is_the_last_value)
{
	char *dir = write_baseline("persist", "persistence", "");
	struct forecaster_result r;

	ASSERT_EQ(run_baseline(dir, &r), 0);
	ASSERT_EQ(r.n, ROWS - 3 - 2 + 2);
	for (size_t i = 0; i + 1 < r.n; i++)
		ASSERT(r.yhat[2 * i] == col_ot(i + 2) && r.yhat[2 * i + 1] == col_ot(i + 2));
	ASSERT(r.yhat[2 * (r.n - 1)] == col_ot(ROWS - 1));
	ASSERT_EQ(r.t[r.n - 1], T0 + ROWS * HOUR);
	forecaster_result_release(&r);
	free(dir);
}

TEST(baseline_seasonal_reaches_back_a_season)
{
	char *dir = write_baseline("season", "seasonal_naive", ", \"season\": 5");
	struct forecaster_result r;
	struct forecaster *f;
	struct err err;

	err_init(&err);
	f = forecaster_load(dir, &err);
	ASSERT(f);
	ASSERT_EQ(forecaster_min_rows(f), 3 + 2 + 2);   /* the first window starts at 2 */
	forecaster_free(f);
	ASSERT_EQ(run_baseline(dir, &r), 0);
	ASSERT_EQ(r.n, ROWS - 3 - 2 + 1 - 2 + 1);
	ASSERT_EQ(r.t[0], T0 + 5 * HOUR);                 /* row 2 + 3 */
	ASSERT(r.yhat[0] == col_ot(0) && r.yhat[1] == col_ot(1));
	forecaster_result_release(&r);
	free(dir);
}

TEST(baseline_mean_and_bad_files)
{
	char *dir = write_baseline("mean", "mean", ", \"mean\": 4.5");
	struct forecaster_result r;
	struct err err;

	ASSERT_EQ(run_baseline(dir, &r), 0);
	ASSERT(r.yhat[0] == 4.5 && r.yhat[2 * r.n - 1] == 4.5);
	forecaster_result_release(&r);
	free(dir);
	dir = write_baseline("median", "median", "");
	err_init(&err);
	ASSERT(!forecaster_load(dir, &err));
	ASSERT_CONTAINS(err.msg, "model.json: baseline method 'median' (expected "
			"persistence, seasonal_naive or mean)");
	free(dir);
	dir = fs_join(tmp_dir(), "empty");
	fs_mkdirs(dir, &err);
	err_init(&err);
	ASSERT(!forecaster_load(dir, &err));
	ASSERT_CONTAINS(err.msg, "empty: no model.safetensors or model.json");
	free(dir);
}

TEST(promoted_folder_uses_its_model)
{
	char *dir = write_baseline("promo/model", "persistence", "");
	char *top = fs_join(tmp_dir(), "promo");
	struct forecaster *f;
	struct err err;

	put_file(top, "promotion.json", "{\"winner\": \"persist\"}");
	err_init(&err);
	f = forecaster_load(top, &err);
	ASSERT(f);
	ASSERT_STREQ(forecaster_dir(f), dir);
	ASSERT_STREQ(forecaster_kind_name(f), "baseline");
	forecaster_free(f);
	free(dir);
	free(top);
}

/* --- Prophet */

TEST(prophet_predicts_as_the_model_it_was_saved_from)
{
	struct prophet_config cfg;
	struct prophet_model pm;
	struct forecaster_table tb;
	struct forecaster_result r;
	struct forecaster *f;
	int64_t ts[60];
	double y[60], yhat[61];
	char *dir = fs_join(tmp_dir(), "prophet"), *path, when[TIMEPARSE_TEXT_MAX];
	struct strbuf sb;
	struct err err;
	json_t *j;

	err_init(&err);
	prophet_config_init(&cfg);
	cfg.country[0] = 0;          /* "country": null in the JSON */
	cfg.uncertainty_samples = 30;
	sb_init(&sb);
	sb_adds(&sb, "ds,y\n");
	for (int i = 0; i < 60; i++) {
		ts[i] = T0 + (int64_t)i * 86400;
		y[i] = 5 + 0.1 * i + sin(i * 0.9);
		sb_addf(&sb, "%s,%.17g\n", timeparse_format(ts[i], when), y[i]);
	}
	ASSERT_EQ(prophet_fit(&pm, &cfg, ts, y, 40, &err), 0);
	j = prophet_to_json(&pm);
	json_object_set_new(j, "target", json_string("y"));
	fs_mkdirs(dir, &err);
	path = fs_join(dir, "model.json");
	json_dump_file(j, path, JSON_REAL_PRECISION(17));
	f = forecaster_load(dir, &err);
	ASSERT(f);
	ASSERT_EQ(forecaster_has_intervals(f), 1);
	ASSERT_EQ(forecaster_read_csv(f, tmp_write("p.csv", sb.buf), NULL, &tb, &err), 0);
	ASSERT_EQ(forecaster_predict(f, &tb, &r, &err), 0);
	ASSERT_EQ(r.n, 61);
	ASSERT_EQ(r.t[60], T0 + 60 * 86400);
	prophet_predict(&pm, r.t, 61, yhat, NULL, NULL);
	ASSERT(!memcmp(yhat, r.yhat, sizeof(yhat)));
	ASSERT(r.lower[10] <= r.yhat[10] && r.yhat[10] <= r.upper[10]);
	ASSERT(r.y[3] == y[3] && isnan(r.y[60]));
	forecaster_result_release(&r);
	forecaster_table_release(&tb);
	forecaster_free(f);
	json_decref(j);
	prophet_release(&pm);
	sb_release(&sb);
	free(path);
	free(dir);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(predict_is_the_same_bits_whatever_the_batch),
	  T(predict_tile_kernels_agree_to_the_bit),
	  T(predict_sees_new_weights_in_the_same_workspace),
	  T(predict_agrees_with_the_training_forward_pass),
	  T(network_columns_and_rows_needed), T(network_predicts_hand_built_windows),
	  T(network_input_errors_name_the_problem), T(csv_out_has_a_column_per_step),
	  T(baseline_persistence_is_the_last_value),
	  T(baseline_seasonal_reaches_back_a_season), T(baseline_mean_and_bad_files),
	  T(promoted_folder_uses_its_model),
	  T(prophet_predicts_as_the_model_it_was_saved_from), T(cleanup))
