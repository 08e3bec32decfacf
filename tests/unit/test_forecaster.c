/* Unit tests of tasks/lib/forecaster.c and of the forward passes it runs
 * (rnn_predict(), tcn_infer(), seq2seq_infer()): predictions the same bits
 * whatever the batch, the thread count and the tile kernel; a network model
 * folder made here, with derived columns, against windows built by hand
 * from the same formulas; TCN and encoder-decoder folders, and their
 * broken files (truncated, wrong shapes, missing or extra tensors, bad
 * metadata) refused with the message each must carry; concurrent calls on
 * one forecaster; raw and derived names told apart; baselines; a Prophet
 * model through its JSON; promotion.json + model/; the CSV API; and every
 * input error with the message it must carry.
 * (tests/integration/t_infer.sh checks the same against models trained by
 * the real binary.) */
#include "forecaster.h"
#include "prophet.h"
#include "rnn.h"
#include "safetensors.h"
#include "seq2seq.h"
#include "strbuf.h"
#include "tcn.h"
#include "test.h"
#include "timeparse.h"
#include "tmpdir.h"
#include "xalloc.h"

#include <math.h>
#include <pthread.h>
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

/* data.preprocess's meta.json for the features above (caller decrefs). */
static json_t *network_meta(void)
{
	json_t *names = json_array(), *params = json_object();

	for (size_t j = 0; j < NF; j++) {
		json_array_append_new(names, json_string(feats[j]));
		json_object_set_new(params, feats[j], json_pack("{s:f, s:f}", "mean",
				    mean_of(j), "std", std_of(j)));
	}
	return json_pack("{s:o, s:s, s:i, s:i, s:{s:s, s:o}, s:{s:s, s:{s:{s:f, s:f}}}}",
			 "features", names, "target", "OT", "input_seq_len", L,
			 "output_seq_len", H, "scaler", "kind", "standard", "params", params,
			 "target_scaler", "kind", "standard", "params", "OT", "mean", 10.0,
			 "std", 2.0);
}

/* tmp_dir()/'dir'/model.safetensors, the folder made (caller frees). */
static char *model_path(const char *dir)
{
	char *folder = fs_join(tmp_dir(), dir), *path = fs_join(folder, "model.safetensors");
	struct err err;

	fs_mkdirs(folder, &err);
	free(folder);
	return path;
}

/* model.safetensors with its meta in tmp_dir()/'dir'; the network. */
static struct rnn *write_network(const char *dir)
{
	struct rnn_config cfg = {RNN_LSTM, 2, 12, NF, H, L, 0};
	json_t *meta = network_meta();
	char *path = model_path(dir);
	struct rnn *m = rnn_new(&cfg);
	struct err err;
	struct rng r;

	rng_seed(&r, 5);
	rnn_init(m, &r);
	if (rnn_save(m, path, meta, &err))
		abort();
	json_decref(meta);
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

/* --- tcn_infer() and seq2seq_infer(), and their model folders */

/* A TCN of NF features over L steps into H values: block 0 with a
 * downsample (8 to 5 channels), block 1 without; 'in' features. */
static struct tcn *new_tcn(int in, uint64_t seed)
{
	struct tcn_config cfg = {in, H, L, 2, 2, {5, 5}, 0.1f};
	struct tcn *m = tcn_new(&cfg);
	struct rng r;

	rng_seed(&r, seed);
	tcn_init(m, &r);
	return m;
}

/* An encoder-decoder of NF features over L steps into H values, two
 * layers of 6, the decoder started from feature 'target_index'. */
static struct seq2seq *new_s2s(int target_index, uint64_t seed)
{
	struct seq2seq_config cfg = {2, 6, NF, L, H, target_index, 0, 0.5f};
	struct seq2seq *m = seq2seq_new(&cfg);
	struct rng r;

	rng_seed(&r, seed);
	seq2seq_init(m, &r);
	return m;
}

/* 'n' windows of uniform values (free with tensor_free()). */
static float *random_windows(size_t n, uint64_t seed)
{
	float *x = tensor_alloc(n * L * NF);
	struct rng r;

	rng_seed(&r, seed);
	rng_fill_uniform(&r, x, n * L * NF, -2, 2);
	return x;
}

/* 1 if 'a' and 'b' ('n' values) agree within 1e-5 of their magnitude. */
static int near(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fabsf(a[i] - b[i]) > 1e-5f * (1 + fabsf(b[i])))
			return 0;
	return 1;
}

/* A family's batch-independent forward pass, 'batch' windows at a time,
 * and its training forward pass (OpenBLAS), for the tests below. */
struct family {
	const char *dir, *kind;
	void *model;
	void (*infer)(void *m, int batch, const float *x, size_t n, float *y);
	void (*trained)(void *m, const float *x, size_t n, float *y);
};

static void tcn_batched(void *m, int batch, const float *x, size_t n, float *y)
{
	struct tcn_infer *s = tcn_infer_new(m, batch);

	tcn_infer(m, s, x, n, y);
	tcn_infer_free(s);
}

static void tcn_trained(void *m, const float *x, size_t n, float *y)
{
	struct tcn_work *w = tcn_work_new(m, (int)n);

	tcn_forward(m, w, x, (int)n, NULL, y);
	tcn_work_free(w);
}

static void s2s_batched(void *m, int batch, const float *x, size_t n, float *y)
{
	struct seq2seq_infer *s = seq2seq_infer_new(m, batch);

	seq2seq_infer(m, s, x, n, y);
	seq2seq_infer_free(s);
}

static void s2s_trained(void *m, const float *x, size_t n, float *y)
{
	struct seq2seq_work *w = seq2seq_work_new(m, (int)n);

	seq2seq_predict(m, w, x, n, y);
	seq2seq_work_free(w);
}

/* Batches of 1, 5, 37 and 64 and window 20 alone give the same bits; the
 * training forward pass agrees within 1e-5. */
TEST(infer_is_the_same_bits_whatever_the_batch)
{
	struct tcn *m = new_tcn(NF, 3);
	struct seq2seq *q = new_s2s(2, 3);
	const struct family fam[] = {{"", "tcn", m, tcn_batched, tcn_trained},
				     {"", "encoder_lstm", q, s2s_batched, s2s_trained}};
	size_t n = 37;
	float *x = random_windows(n, 4), *ref = tensor_alloc(n * H), *y = tensor_alloc(n * H);
	int batches[] = {1, 5, 64};

	for (int k = 0; k < 2; k++) {
		fam[k].infer(fam[k].model, 37, x, n, ref);
		for (int b = 0; b < 3; b++) {
			fam[k].infer(fam[k].model, batches[b], x, n, y);
			ASSERT(!memcmp(y, ref, n * H * sizeof(float)));
		}
		fam[k].infer(fam[k].model, 37, x + 20 * L * NF, 1, y);
		ASSERT(!memcmp(y, ref + 20 * H, H * sizeof(float)));
		fam[k].trained(fam[k].model, x, n, y);
		ASSERT(near(y, ref, n * H));
	}
	tcn_free(m);
	seq2seq_free(q);
	tensor_free(x);
	tensor_free(ref);
	tensor_free(y);
}

TEST(infer_sees_new_weights_in_the_same_scratch)
{
	struct tcn *m = new_tcn(NF, 6);
	struct seq2seq *q = new_s2s(-1, 6);
	struct tcn_infer *s = tcn_infer_new(m, 4);
	struct seq2seq_infer *t = seq2seq_infer_new(q, 4);
	float *x = random_windows(9, 7), a[9 * H], b[9 * H];

	tcn_infer(m, s, x, 9, a);
	tcn_params(m)->value[7] += 0.5f;   /* as an optimizer step would */
	tcn_infer(m, s, x, 9, b);
	ASSERT(memcmp(a, b, sizeof(a)));
	tcn_params(m)->value[7] -= 0.5f;
	tcn_infer(m, s, x, 9, b);
	ASSERT(!memcmp(a, b, sizeof(a)));
	seq2seq_infer(q, t, x, 9, a);
	seq2seq_params(q)->value[7] += 0.5f;
	seq2seq_infer(q, t, x, 9, b);
	ASSERT(memcmp(a, b, sizeof(a)));
	seq2seq_params(q)->value[7] -= 0.5f;
	seq2seq_infer(q, t, x, 9, b);
	ASSERT(!memcmp(a, b, sizeof(a)));
	tcn_infer_free(s);
	seq2seq_infer_free(t);
	tcn_free(m);
	seq2seq_free(q);
	tensor_free(x);
}

/* A TCN of 'in' features in tmp_dir()/'dir', with the meta above. */
static struct tcn *write_tcn(const char *dir, int in)
{
	struct tcn *m = new_tcn(in, 5);
	json_t *meta = network_meta();
	char *path = model_path(dir);
	struct err err;

	if (tcn_save(m, path, meta, &err))
		abort();
	json_decref(meta);
	free(path);
	return m;
}

/* An encoder-decoder in tmp_dir()/'dir', with the meta above. */
static struct seq2seq *write_s2s(const char *dir, int target_index)
{
	struct seq2seq *m = new_s2s(target_index, 5);
	json_t *meta = network_meta();
	char *path = model_path(dir);
	struct err err;

	if (seq2seq_save(m, path, meta, &err))
		abort();
	json_decref(meta);
	free(path);
	return m;
}

/* 300 rows: 296 windows, enough for 3 threads of 64 windows or more. */
#define MANY 300

/* The forecaster in tmp_dir()/'dir' over MANY rows of the CSV on 1 thread
 * and on 3: the predictions ('r', released by the caller) and the windows
 * ('*x', '*n'; tensor_free()); -1 if anything fails or the thread counts
 * disagree in a bit. */
static int predict_folder(const char *dir, const char *kind, struct forecaster_result *r,
			  float **x, size_t *n)
{
	char *folder = fs_join(tmp_dir(), dir);
	struct forecaster *f;
	struct forecaster_table tb;
	struct forecaster_result r3;
	struct err err;
	int rc = -1;

	err_init(&err);
	f = forecaster_load(folder, &err);
	free(folder);
	if (!f || strcmp(forecaster_kind_name(f), kind) ||
	    forecaster_min_rows(f) != 2 + L + H ||
	    forecaster_read_csv(f, write_csv("many.csv", MANY, "", 0, ""), NULL, &tb, &err))
		goto out;
	*x = forecaster_windows(f, &tb, n, &err);
	if (*x && forecaster_predict(f, &tb, r, &err) == 0) {
		forecaster_set_threads(f, 3);
		if (forecaster_predict(f, &tb, &r3, &err) == 0) {
			rc = memcmp(r->yhat, r3.yhat, r->n * H * sizeof(double)) ? -1 : 0;
			forecaster_result_release(&r3);
		}
	}
	forecaster_table_release(&tb);
out:
	if (rc && err.kind)
		fprintf(stderr, "%s\n", err.msg);
	forecaster_free(f);
	return rc;
}

/* A TCN's and an encoder-decoder's folder (the decoder started from
 * feature 2, the target OT) predict what their forward pass makes of the
 * windows the forecaster cut, unscaled (y * 2 + 10), to the bit. */
TEST(tcn_and_encoder_lstm_folders_predict_as_their_networks)
{
	struct tcn *m = write_tcn("tcn", NF);
	struct seq2seq *q = write_s2s("s2s", 2);
	const struct family fam[] = {{"tcn", "tcn", m, tcn_batched, tcn_trained},
				     {"s2s", "encoder_lstm", q, s2s_batched, s2s_trained}};
	struct forecaster_result r;
	float *x, *y;
	size_t n;

	for (int k = 0; k < 2; k++) {
		x = NULL;
		n = 0;
		ASSERT_EQ(predict_folder(fam[k].dir, fam[k].kind, &r, &x, &n), 0);
		ASSERT(n == r.n && n == MANY - 2 - L - H + 2);
		y = tensor_alloc(n * H);
		fam[k].infer(fam[k].model, 7, x, n, y);
		for (size_t i = 0; i < n * H; i++)
			ASSERT(r.yhat[i] == (double)y[i] * 2 + 10);
		forecaster_result_release(&r);
		tensor_free(x);
		tensor_free(y);
	}
	tcn_free(m);
	seq2seq_free(q);
}

struct call {
	const struct forecaster *f;
	const struct forecaster_table *tb;
	struct forecaster_result r;
	int rc;
};

static void *call_predict(void *arg)
{
	struct call *c = arg;
	struct err err;

	err_init(&err);
	c->rc = forecaster_predict(c->f, c->tb, &c->r, &err);
	return NULL;
}

/* Four calls at once on one forecaster of each family, on 2 threads each,
 * agree with a call alone to the bit. */
TEST(concurrent_calls_on_one_forecaster)
{
	static const char *const dirs[] = {"tcn_c", "s2s_c", "lstm_c"};
	struct tcn *m = write_tcn("tcn_c", NF);
	struct seq2seq *q = write_s2s("s2s_c", 2);
	struct rnn *net = write_network("lstm_c");
	struct call calls[4];
	pthread_t tid[4];
	struct forecaster_result alone;
	struct forecaster_table tb;
	struct forecaster *f;
	struct err err;

	err_init(&err);
	for (int d = 0; d < 3; d++) {
		char *folder = fs_join(tmp_dir(), dirs[d]);
		f = forecaster_load(folder, &err);
		free(folder);
		ASSERT(f);
		forecaster_set_threads(f, 2);
		ASSERT_EQ(forecaster_read_csv(f, write_csv("c.csv", MANY, "", 0, ""), NULL,
					      &tb, &err), 0);
		ASSERT_EQ(forecaster_predict(f, &tb, &alone, &err), 0);
		for (int i = 0; i < 4; i++) {
			calls[i] = (struct call){f, &tb, {0}, -1};
			ASSERT_EQ(pthread_create(&tid[i], NULL, call_predict, &calls[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(tid[i], NULL);
			ASSERT_EQ(calls[i].rc, 0);
			ASSERT(!memcmp(calls[i].r.yhat, alone.yhat, alone.n * H * sizeof(double)));
			forecaster_result_release(&calls[i].r);
		}
		forecaster_result_release(&alone);
		forecaster_table_release(&tb);
		forecaster_free(f);
	}
	tcn_free(m);
	seq2seq_free(q);
	rnn_free(net);
}

static const char *const tcn_keys[] = {"format", "input_size", "output_size",
				       "input_seq_len", "kernel_size", "receptive_field",
				       "channels", "dropout", "meta", NULL};
static const char *const s2s_keys[] = {"format", "num_layers", "hidden_size",
				       "input_size", "input_seq_len", "output_size",
				       "target_index", "dropout", "teacher_forcing", "meta",
				       NULL};

/* A model file made from a good one ('src', a folder in tmp_dir()) with
 * one change: metadata 'key' set to 'value', tensor 'drop' left out,
 * tensor 'extra' added (F32 [2]) or tensor 'f64' stored as F64; and the
 * message the forecaster must give for it. */
struct broken {
	const char *src, *key, *value, *drop, *extra, *f64, *want;
};

static const struct broken broken[] = {
	{"tcn_ok", "channels", "[5,4]", NULL, NULL, NULL, "tensor 'blocks.1.conv1.weight' "
	 "is F32 [5, 5, 2] (expected F32 [4, 5, 2], from the architecture in its metadata)"},
	{"tcn_ok", NULL, NULL, "head.bias", NULL, NULL, "no tensor 'head.bias' (expected "
	 "the tensors of the architecture in its metadata)"},
	{"tcn_ok", NULL, NULL, NULL, "blocks.7.conv1.weight", NULL, "tensor "
	 "'blocks.7.conv1.weight' is not one of a 2-block TCN (expected only the 12 "
	 "tensors of its metadata's architecture)"},
	{"tcn_ok", NULL, NULL, NULL, NULL, "head.bias", "tensor 'head.bias' is F64 [2] "
	 "(expected F32 [2]"},
	{"tcn_ok", "receptive_field", "99", NULL, NULL, NULL, "metadata 'receptive_field' "
	 "is 99, but kernel_size 2 over 2 blocks sees 7 steps"},
	{"tcn_ok", "kernel_size", "2x", NULL, NULL, NULL, "metadata 'kernel_size' is '2x' "
	 "(expected an integer from 1 to 4096)"},
	{"tcn_ok", "channels", "[5, 0]", NULL, NULL, NULL, "metadata 'channels' is "
	 "'[5, 0]' (expected a list of 1 to 16 integers from 1 to 65536)"},
	{"tcn_ok", "dropout", "1", NULL, NULL, NULL, "metadata 'dropout' is '1' (expected "
	 "a number from 0 to below 1)"},
	{"tcn_ok", "input_seq_len", NULL, NULL, NULL, NULL, "metadata 'input_seq_len' is "
	 "missing (expected an integer from 1 to 1048576)"},
	{"tcn_ok", "format", "dagrun.rnn.v2", NULL, NULL, NULL, "metadata 'format' is "
	 "'dagrun.rnn.v2' (expected dagrun.rnn.v1 of train.gru, train.lstm, "
	 "dagrun.tcn.v1 of train.tcn or dagrun.encoder_lstm.v1 of train.encoder_lstm)"},
	{"tcn_ok", "meta", "{", NULL, NULL, NULL, "no preprocessing meta with 'target' "
	 "and 'features'"},
	{"s2s_ok", "hidden_size", "5", NULL, NULL, NULL, "tensor 'encoder.weight_ih_l0' "
	 "is F32 [24, 8] (expected F32 [20, 8], from the architecture in its metadata)"},
	{"s2s_ok", "num_layers", "1", NULL, NULL, NULL, "tensor 'encoder.weight_ih_l1' is "
	 "not one of a 1-layer encoder-decoder LSTM (expected only the 10 tensors"},
	{"s2s_ok", "target_index", "8", NULL, NULL, NULL, "metadata 'target_index' is '8' "
	 "(expected an integer from -1 to 7)"},
	{"s2s_ok", "target_index", "1", NULL, NULL, NULL, "the decoder starts from "
	 "feature 1, but its meta says 2 (the place of target 'OT' among its features; "
	 "-1: none)"},
	{"s2s_ok", "teacher_forcing", "1.5", NULL, NULL, NULL, "metadata "
	 "'teacher_forcing' is '1.5' (expected a number from 0 to 1)"},
	{"s2s_ok", NULL, NULL, "decoder.bias_hh_l1", NULL, NULL, "no tensor "
	 "'decoder.bias_hh_l1'"},
};

/* tmp_dir()/'dir'/model.safetensors: 'b->src's with b's change. */
static void write_broken(const char *dir, const struct broken *b)
{
	const char *const *keys = strncmp(b->src, "tcn", 3) ? s2s_keys : tcn_keys;
	char *in = model_path(b->src), *out = model_path(dir);
	static const float extra[2] = {1, 2};
	struct safetensors_writer w;
	struct safetensors *st;
	size_t two = 2;
	double wide[16];
	struct err err;

	err_init(&err);
	st = safetensors_read(in, &err);
	if (!st)
		abort();
	safetensors_writer_init(&w);
	for (int i = 0; i < safetensors_count(st); i++) {
		const struct safetensors_tensor *t = safetensors_at(st, i);
		if (b->drop && !strcmp(t->name, b->drop))
			continue;
		if (!b->f64 || strcmp(t->name, b->f64)) {
			safetensors_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data);
			continue;
		}
		for (size_t k = 0; k < t->count && k < 16; k++) {
			float v;
			memcpy(&v, t->data + 4 * k, sizeof(v));
			wide[k] = v;
		}
		safetensors_add(&w, t->name, "F64", t->ndim, t->shape, wide);
	}
	if (b->extra)
		safetensors_add(&w, b->extra, "F32", 1, &two, extra);
	for (int k = 0; keys[k]; k++) {
		int mine = b->key && !strcmp(b->key, keys[k]);
		if (!mine || b->value)
			safetensors_set_meta(&w, keys[k], mine ? b->value :
					     safetensors_meta(st, keys[k]));
	}
	if (safetensors_write(&w, out, &err))
		abort();
	safetensors_writer_release(&w);
	safetensors_free(st);
	free(in);
	free(out);
}

/* The user error forecaster_load() gives for tmp_dir()/'dir'. */
static const char *load_error(const char *dir)
{
	static struct err err;
	char *folder = fs_join(tmp_dir(), dir);
	struct forecaster *f;

	err_init(&err);
	f = forecaster_load(folder, &err);
	free(folder);
	forecaster_free(f);
	return !f && err.kind == ERR_USER ? err.msg : "(no user error)";
}

TEST(broken_network_files_are_user_errors)
{
	struct tcn *m = write_tcn("tcn_ok", NF), *narrow = write_tcn("tcn_narrow", NF - 1);
	struct seq2seq *q = write_s2s("s2s_ok", 2);
	char dir[32], want[512], *path, *text;
	size_t len;
	struct err err;

	ASSERT_STREQ(load_error("tcn_ok"), "(no user error)");
	ASSERT_STREQ(load_error("s2s_ok"), "(no user error)");
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		snprintf(dir, sizeof(dir), "broken%zu", i);
		write_broken(dir, &broken[i]);
		path = model_path(dir);
		snprintf(want, sizeof(want), "%s: %s", path, broken[i].want);
		free(path);
		ASSERT_CONTAINS(load_error(dir), want);
	}
	/* a download cut short: half the bytes */
	err_init(&err);
	path = model_path("tcn_ok");
	ASSERT_EQ(fs_read_file(path, &text, &len, &err), 0);
	free(path);
	path = model_path("tcn_cut");
	ASSERT_EQ(fs_write_atomic(path, text, len / 2, &err), 0);
	free(text);
	ASSERT_CONTAINS(load_error("tcn_cut"), "tcn_cut/model.safetensors: not a valid "
			"safetensors file: ");
	free(path);
	/* a network whose shape is not its meta's */
	ASSERT_CONTAINS(load_error("tcn_narrow"), "model.safetensors: the network reads "
			"7 features over 4 steps into 2 values, but its meta says 8 features, "
			"input_seq_len 4, output_seq_len 2");
	tcn_free(m);
	tcn_free(narrow);
	seq2seq_free(q);
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
	  T(infer_is_the_same_bits_whatever_the_batch),
	  T(infer_sees_new_weights_in_the_same_scratch),
	  T(tcn_and_encoder_lstm_folders_predict_as_their_networks),
	  T(concurrent_calls_on_one_forecaster), T(broken_network_files_are_user_errors),
	  T(baseline_persistence_is_the_last_value),
	  T(baseline_seasonal_reaches_back_a_season), T(baseline_mean_and_bad_files),
	  T(promoted_folder_uses_its_model),
	  T(prophet_predicts_as_the_model_it_was_saved_from), T(cleanup))
