/* forecaster: see forecaster.h.
 *
 * Invariant: a window model's 'feats' are meta's features in meta's order,
 * each with the scaler column 'sidx' that scales it; the steps that build
 * X call the very functions data.preprocess calls (features.h, scaler.h,
 * window.h) in the same arithmetic, so the windows are the same floats.
 * Nothing here refits or writes a model; only forecaster_predict_csv()
 * writes, and only its output file. */
#include "forecaster.h"
#include "csv.h"
#include "fs.h"
#include "prophet.h"
#include "rnn.h"
#include "safetensors.h"
#include "scaler.h"
#include "seq2seq.h"
#include "strbuf.h"
#include "tcn.h"
#include "timeparse.h"
#include "window.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 12, 26, 9: data.preprocess's MACD periods (its MACD_FAST, MACD_SLOW,
 * MACD_SIGNAL): a MACD column's name does not carry them, as a lag's,
 * a rolling window's and an RSI's do */
#define MACD_FAST 12
#define MACD_SLOW 26
#define MACD_SIGNAL 9
/* 1000000: the largest lag, window or period read from a feature name */
#define ARG_MAX 1000000
/* 64 windows per thread at a time: a batch's activations stay in cache */
#define ROWS_PER_THREAD 64

enum feat_kind { F_RAW, F_TIME, F_LAG, F_ROLL, F_RETURN, F_RSI, F_MACD };

/* One column of X. */
struct feat {
	enum feat_kind kind;
	const char *name;            /* borrowed from 'meta' */
	enum features_time tk;       /* F_TIME */
	size_t arg;                  /* lag, window or period */
};

enum method { M_PERSISTENCE, M_SEASONAL, M_MEAN };

struct forecaster;

/* A family of networks: its model.safetensors format and how it runs.
 * A workspace is one caller's at a time (see 'struct work_pool'). */
struct net_ops {
	const char *format;          /* the metadata 'format' of its files */
	const char *tasks;           /* the kernels that write them, for messages */
	/* The model in 'path' into 'f' (the network, f->kind and f->doc, the
	 * meta), and its features, steps and outputs into 'dims'. */
	int (*load)(struct forecaster *f, const char *path, int dims[3],
		    struct err *err);
	/* A workspace for 'threads' threads: an rnn workspace runs them
	 * itself ('own_threads'); the others are single-threaded, and
	 * run_network() runs one per thread. */
	void *(*work_new)(const struct forecaster *f, int threads);
	void (*work_free)(void *w);
	/* 'n' windows into 'y', scaled; the same bits for a window whatever
	 * the windows around it and the threads. */
	void (*predict)(const struct forecaster *f, void *w, const float *x, size_t n,
			float *y);
	int own_threads;
};

struct forecaster {
	enum forecaster_kind kind;
	char *dir;
	json_t *doc;                 /* model.json, or the network's meta */
	json_t *meta;                /* preprocess meta (borrowed from doc) */
	const char *target;          /* borrowed from doc or meta */
	size_t in_len, horizon, warmup;
	struct feat *feats;
	size_t n_feats;
	const char **cols;           /* the table columns needed (borrowed) */
	size_t n_cols;
	struct scaler sc, tsc;
	size_t *sidx;
	const struct net_ops *ops;   /* NULL but for a network */
	struct rnn *net;             /* the network: one of these three */
	struct tcn *tcn;
	struct seq2seq *s2s;
	enum method method;
	size_t season;
	double mean;
	struct prophet_model pm;
	int threads;
	struct work_pool *pool;      /* network workspaces kept between calls */
};

/* Workspaces of the network, kept between predictions: a workspace holds
 * the packed weights, and packing them again for every call cost a third
 * of a one-window prediction (dagrun serve makes many of those).  A call
 * (or each thread of a call) takes one (or makes one) and gives it back;
 * concurrent calls get different ones. */
struct pooled_work {
	void *w;                     /* f->ops->work_new()'s */
	int threads;
	struct pooled_work *next;
};

struct work_pool {
	pthread_mutex_t lock;
	struct pooled_work *free_list;
};

static const char *const kind_names[] = {"gru", "lstm", "prophet", "baseline", "tcn",
					 "encoder_lstm"};

/* --- feature names */

/* 's' as a whole decimal number from 'min' to ARG_MAX into '*v'. */
static int parse_arg(const char *s, size_t min, size_t *v)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*end || errno || n < min || n > ARG_MAX)
		return -1;
	*v = n;
	return 0;
}

/* 0 if 'name' is a derived column's (of 'target'), described in 'ft'. */
static int parse_derived(const char *name, const char *target, struct feat *ft)
{
	size_t tl = strlen(target), nl = strlen(name);
	const char *s;
	char base[32];

	ft->name = name;
	ft->arg = 0;
	if (nl > 4 && nl - 4 < sizeof(base) && (!strcmp(name + nl - 4, "_sin") ||
						!strcmp(name + nl - 4, "_cos"))) {
		memcpy(base, name, nl - 4);
		base[nl - 4] = 0;
		ft->kind = F_TIME;
		if (features_time_parse(base, &ft->tk) == 0)
			return 0;
	}
	if (strncmp(name, target, tl) || name[tl] != '_')
		return -1;
	s = name + tl + 1;
	ft->kind = F_LAG;
	if (!strncmp(s, "lag_", 4))
		return parse_arg(s + 4, 1, &ft->arg);
	ft->kind = F_ROLL;
	if (!strncmp(s, "roll_mean_", 10) || !strncmp(s, "roll_std_", 9))
		return parse_arg(s + (s[5] == 'm' ? 10 : 9), 2, &ft->arg);
	ft->kind = F_RSI;
	if (!strncmp(s, "rsi_", 4))
		return parse_arg(s + 4, 1, &ft->arg);
	ft->kind = !strcmp(s, "return") ? F_RETURN : F_MACD;
	return !strcmp(s, "return") || !strcmp(s, "macd") || !strcmp(s, "macd_signal") ||
	       !strcmp(s, "macd_hist") ? 0 : -1;
}

/* meta.features into f->feats: the longest tail of derived names is
 * derived, the rest raw (see forecaster.h). */
static int parse_features(struct forecaster *f, json_t *names, const char *what,
			  struct err *err)
{
	size_t n = json_array_size(names), raw = n;

	f->feats = xcalloc(n + 1, sizeof(*f->feats));
	f->n_feats = n;
	for (size_t j = 0; j < n; j++) {
		f->feats[j].name = json_string_value(json_array_get(names, j));
		if (!f->feats[j].name) {
			err_set(err, ERR_USER, "%s: meta 'features' item %zu is not a "
				"string (expected data.preprocess's column names)", what, j + 1);
			return -1;
		}
	}
	while (raw > 0 && parse_derived(f->feats[raw - 1].name, f->target,
					&f->feats[raw - 1]) == 0)
		raw--;
	for (size_t j = 0; j < raw; j++)
		f->feats[j].kind = F_RAW;
	return 0;
}

/* Add feature 'ft' of 'y' (the target) and 't' to 'x', unless a sibling
 * already added it (a _cos with its _sin, a rolling std with its mean). */
static void add_derived(struct features_set *x, const struct feat *ft,
			const char *target, const double *y, const int64_t *t)
{
	if (features_find(x, ft->name) >= 0)
		return;
	switch (ft->kind) {
	case F_TIME:
		features_add_time(x, ft->tk, t);
		break;
	case F_LAG:
		features_add_lag(x, target, y, ft->arg);
		break;
	case F_ROLL:
		features_add_rolling(x, target, y, ft->arg);
		break;
	case F_RETURN:
		features_add_returns(x, target, y);
		break;
	case F_RSI:
		features_add_rsi(x, target, y, ft->arg);
		break;
	case F_MACD:
		features_add_macd(x, target, y, MACD_FAST, MACD_SLOW, MACD_SIGNAL);
		break;
	default:
		break;
	}
}

/* X's columns over 'rows' rows of times 't', target 'y' and table columns
 * 'tab' (NULL: derived columns only, for a baseline): 'x' gets them as
 * built, 'order[j]' (if not NULL) is feature j's column in 'x'. */
static void build_x(const struct forecaster *f, size_t rows, const int64_t *t,
		    const double *y, const struct features_set *tab,
		    struct features_set *x, size_t *order)
{
	features_init(x, rows);
	for (size_t j = 0; j < f->n_feats; j++) {
		const struct feat *ft = &f->feats[j];
		if (ft->kind != F_RAW)
			add_derived(x, ft, f->target, y, t);
		else if (tab && features_find(x, ft->name) < 0)
			features_add_copy(x, ft->name,
					  tab->cols[features_find(tab, ft->name)]);
	}
	for (size_t j = 0; order && j < f->n_feats; j++)
		order[j] = (size_t)features_find(x, f->feats[j].name);
}

/* 1 if X reads the target: a raw column of that name, or any derived but
 * time features. */
static int reads_target(const struct forecaster *f)
{
	for (size_t j = 0; j < f->n_feats; j++) {
		const struct feat *ft = &f->feats[j];
		if ((ft->kind == F_RAW && !strcmp(ft->name, f->target)) ||
		    (ft->kind != F_RAW && ft->kind != F_TIME))
			return 1;
	}
	return 0;
}

/* 1 if 'name' is among the needed columns already. */
static int listed(const struct forecaster *f, const char *name)
{
	for (size_t i = 0; i < f->n_cols; i++)
		if (!strcmp(f->cols[i], name))
			return 1;
	return 0;
}

/* The table columns needed (X's raw columns when 'with_raw', and the
 * target when anything reads it), and the warm-up, learnt from features.h
 * on an empty series: every adder returns its warm-up whatever the
 * length. */
static void plan_columns(struct forecaster *f, int with_raw)
{
	struct features_set x;
	double none = 0;
	int64_t never = 0;

	f->cols = xcalloc(f->n_feats + 2, sizeof(*f->cols));
	for (size_t j = 0; with_raw && j < f->n_feats; j++)
		if (f->feats[j].kind == F_RAW && !listed(f, f->feats[j].name))
			f->cols[f->n_cols++] = f->feats[j].name;
	if ((!with_raw || reads_target(f)) && !listed(f, f->target))
		f->cols[f->n_cols++] = f->target;
	build_x(f, 0, &never, &none, NULL, &x, NULL);
	f->warmup = x.warmup;
	features_release(&x);
}

/* --- loading */

/* Integer 'key' of 'o' from 1 to ARG_MAX into '*v'. */
static int read_size(json_t *o, const char *key, const char *what, size_t *v,
		     struct err *err)
{
	json_t *j = json_object_get(o, key);

	if (json_is_integer(j) && json_integer_value(j) >= 1 &&
	    json_integer_value(j) <= ARG_MAX) {
		*v = (size_t)json_integer_value(j);
		return 0;
	}
	err_set(err, ERR_USER, "%s: '%s' is missing or not an integer from 1 to %d "
		"(expected data.preprocess's meta.json)", what, key, ARG_MAX);
	return -1;
}

/* meta.scaler and meta.target_scaler, and each feature's scaler column. */
static int read_scalers(struct forecaster *f, const char *what, struct err *err)
{
	if (scaler_from_json(json_object_get(f->meta, "scaler"), &f->sc, err) ||
	    scaler_from_json(json_object_get(f->meta, "target_scaler"), &f->tsc, err)) {
		err_prefix(err, what);
		return -1;
	}
	f->sidx = xcalloc(f->n_feats + 1, sizeof(*f->sidx));
	for (size_t j = 0; j < f->n_feats; j++) {
		long k = scaler_find(&f->sc, f->feats[j].name);
		if (k < 0) {
			err_set(err, ERR_USER, "%s: meta 'scaler' has no column '%s' "
				"(expected one per feature)", what, f->feats[j].name);
			return -1;
		}
		f->sidx[j] = (size_t)k;
	}
	if (scaler_find(&f->tsc, f->target) == 0)
		return 0;
	err_set(err, ERR_USER, "%s: meta 'target_scaler' does not scale the target "
		"'%s' (expected data.preprocess's meta.json)", what, f->target);
	return -1;
}

/* A window model's preprocessing meta (f->meta): target (unless set),
 * lengths (unless set), features; with 'scaled', the scalers too. */
static int read_meta(struct forecaster *f, int scaled, const char *what,
		     struct err *err)
{
	json_t *names = json_object_get(f->meta, "features");

	if (!f->target)
		f->target = json_string_value(json_object_get(f->meta, "target"));
	if (!f->target || !json_is_array(names) || (scaled && !json_array_size(names))) {
		err_set(err, ERR_USER, "%s: no preprocessing meta with 'target' and "
			"'features' (expected data.preprocess's meta.json)", what);
		return -1;
	}
	if ((!f->in_len && read_size(f->meta, "input_seq_len", what, &f->in_len, err)) ||
	    (!f->horizon && read_size(f->meta, "output_seq_len", what, &f->horizon, err)) ||
	    parse_features(f, names, what, err))
		return -1;
	plan_columns(f, scaled);
	return scaled ? read_scalers(f, what, err) : 0;
}

/* --- the network families */

static int rnn_family_load(struct forecaster *f, const char *path, int dims[3],
			   struct err *err)
{
	const struct rnn_config *cfg;

	f->net = rnn_load(path, &f->doc, err);
	if (!f->net)
		return -1;
	cfg = rnn_config(f->net);
	f->kind = cfg->cell == RNN_GRU ? FORECASTER_GRU : FORECASTER_LSTM;
	dims[0] = cfg->input_size;
	dims[1] = cfg->seq_len;
	dims[2] = cfg->output_size;
	return 0;
}

static void *rnn_family_work(const struct forecaster *f, int threads)
{
	return rnn_work_new_predict(f->net, ROWS_PER_THREAD * threads, threads);
}

static void rnn_family_free(void *w)
{
	rnn_work_free(w);
}

static void rnn_family_predict(const struct forecaster *f, void *w, const float *x,
			       size_t n, float *y)
{
	rnn_predict(f->net, w, x, n, y);
}

static int tcn_family_load(struct forecaster *f, const char *path, int dims[3],
			   struct err *err)
{
	const struct tcn_config *cfg;

	f->tcn = tcn_load(path, &f->doc, err);
	if (!f->tcn)
		return -1;
	cfg = tcn_config(f->tcn);
	f->kind = FORECASTER_TCN;
	dims[0] = cfg->input_size;
	dims[1] = cfg->seq_len;
	dims[2] = cfg->output_size;
	return 0;
}

static void *tcn_family_work(const struct forecaster *f, int threads)
{
	(void)threads;
	return tcn_infer_new(f->tcn, ROWS_PER_THREAD);
}

static void tcn_family_free(void *w)
{
	tcn_infer_free(w);
}

static void tcn_family_predict(const struct forecaster *f, void *w, const float *x,
			       size_t n, float *y)
{
	tcn_infer(f->tcn, w, x, n, y);
}

static int s2s_family_load(struct forecaster *f, const char *path, int dims[3],
			   struct err *err)
{
	const struct seq2seq_config *cfg;

	f->s2s = seq2seq_load(path, &f->doc, err);
	if (!f->s2s)
		return -1;
	cfg = seq2seq_config(f->s2s);
	f->kind = FORECASTER_ENCODER_LSTM;
	dims[0] = cfg->input_size;
	dims[1] = cfg->seq_len;
	dims[2] = cfg->horizon;
	return 0;
}

static void *s2s_family_work(const struct forecaster *f, int threads)
{
	(void)threads;
	return seq2seq_infer_new(f->s2s, ROWS_PER_THREAD);
}

static void s2s_family_free(void *w)
{
	seq2seq_infer_free(w);
}

static void s2s_family_predict(const struct forecaster *f, void *w, const float *x,
			       size_t n, float *y)
{
	seq2seq_infer(f->s2s, w, x, n, y);
}

/* 3: every format forecaster_load() reads from a model.safetensors */
#define N_FAMILIES 3
static const struct net_ops families[N_FAMILIES] = {
	{"dagrun.rnn.v1", "train.gru, train.lstm", rnn_family_load, rnn_family_work,
	 rnn_family_free, rnn_family_predict, 1},
	{"dagrun.tcn.v1", "train.tcn", tcn_family_load, tcn_family_work,
	 tcn_family_free, tcn_family_predict, 0},
	{"dagrun.encoder_lstm.v1", "train.encoder_lstm", s2s_family_load,
	 s2s_family_work, s2s_family_free, s2s_family_predict, 0},
};

/* The family of the safetensors file 'path', by its metadata 'format'. */
static const struct net_ops *find_family(const char *path, struct err *err)
{
	struct safetensors *st = safetensors_read(path, err);
	const char *fmt = st ? safetensors_meta(st, "format") : NULL;
	const struct net_ops *ops = NULL;

	for (int i = 0; fmt && i < N_FAMILIES; i++)
		if (!strcmp(fmt, families[i].format))
			ops = &families[i];
	if (st && !ops)
		err_set(err, ERR_USER, "%s: metadata 'format' is '%s' (expected %s of "
			"%s, %s of %s or %s of %s)", path, fmt ? fmt : "missing",
			families[0].format, families[0].tasks, families[1].format,
			families[1].tasks, families[2].format, families[2].tasks);
	safetensors_free(st);
	return ops;
}

/* The feature the decoder of an encoder-decoder starts from, as
 * train.encoder_lstm chose it (seqtrain.c): meta's 'target_index' when it
 * is an integer (-1 unless it names a feature), else the target's place
 * among the features, else -1. */
static int decoder_feature(const struct forecaster *f)
{
	json_t *ti = json_object_get(f->meta, "target_index");

	if (json_is_integer(ti))
		return json_integer_value(ti) >= 0 &&
		       (size_t)json_integer_value(ti) < f->n_feats ?
		       (int)json_integer_value(ti) : -1;
	for (size_t j = 0; j < f->n_feats; j++)
		if (!strcmp(f->feats[j].name, f->target))
			return (int)j;
	return -1;
}

/* model.safetensors of a network (the families above). */
static int load_network(struct forecaster *f, const char *path, struct err *err)
{
	int dims[3];

	f->ops = find_family(path, err);
	if (!f->ops || f->ops->load(f, path, dims, err))
		return -1;
	f->meta = f->doc;
	if (read_meta(f, 1, path, err))
		return -1;
	if ((size_t)dims[0] != f->n_feats || (size_t)dims[1] != f->in_len ||
	    (size_t)dims[2] != f->horizon) {
		err_set(err, ERR_USER, "%s: the network reads %d features over %d steps "
			"into %d values, but its meta says %zu features, input_seq_len "
			"%zu, output_seq_len %zu", path, dims[0], dims[1], dims[2],
			f->n_feats, f->in_len, f->horizon);
		return -1;
	}
	if (!f->s2s || seq2seq_config(f->s2s)->target_index == decoder_feature(f))
		return 0;
	err_set(err, ERR_USER, "%s: the decoder starts from feature %d, but its meta "
		"says %d (the place of target '%s' among its features; -1: none)", path,
		seq2seq_config(f->s2s)->target_index, decoder_feature(f), f->target);
	return -1;
}

/* A baseline's model.json (f->doc). */
static int load_baseline(struct forecaster *f, const char *path, struct err *err)
{
	static const char *const methods[] = {"persistence", "seasonal_naive", "mean"};
	const char *m = json_string_value(json_object_get(f->doc, "method"));
	json_t *mean = json_object_get(f->doc, "mean");
	int k;

	f->kind = FORECASTER_BASELINE;
	f->target = json_string_value(json_object_get(f->doc, "target"));
	f->meta = json_object_get(f->doc, "meta");
	for (k = 0; k < 3 && (!m || strcmp(m, methods[k])); k++)
		;
	if (k == 3) {
		err_set(err, ERR_USER, "%s: baseline method '%s' (expected persistence, "
			"seasonal_naive or mean)", path, m ? m : "(missing)");
		return -1;
	}
	f->method = (enum method)k;
	if ((json_object_get(f->doc, "input_seq_len") || !json_is_object(f->meta)) &&
	    read_size(f->doc, "input_seq_len", path, &f->in_len, err))
		return -1;
	if ((json_object_get(f->doc, "output_seq_len") || !json_is_object(f->meta)) &&
	    read_size(f->doc, "output_seq_len", path, &f->horizon, err))
		return -1;
	if (!json_is_object(f->meta) && f->target)
		plan_columns(f, 0);   /* no meta: no derived columns, no warm-up */
	else if (read_meta(f, 0, path, err))
		return -1;
	if (f->method == M_SEASONAL && read_size(f->doc, "season", path, &f->season, err))
		return -1;
	f->mean = json_number_value(mean);
	if (f->method != M_MEAN || (json_is_number(mean) && isfinite(f->mean)))
		return 0;
	err_set(err, ERR_USER, "%s: a mean baseline needs a finite 'mean'", path);
	return -1;
}

/* model.json: train.prophet's or a baseline's. */
static int load_json(struct forecaster *f, const char *path, struct err *err)
{
	json_error_t je;
	const char *type, *format;
	json_t *config;

	f->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(f->doc)) {
		err_set(err, ERR_USER, "%s:%d:%d: %s (expected a model.json object)", path,
			je.line, je.column, f->doc ? "not an object" : je.text);
		return -1;
	}
	type = json_string_value(json_object_get(f->doc, "type"));
	format = json_string_value(json_object_get(f->doc, "format"));
	if (type && !strcmp(type, "baseline"))
		return load_baseline(f, path, err);
	if (!format || strcmp(format, "dagrun.prophet")) {
		err_set(err, ERR_USER, "%s: a model of type '%s' (expected train.prophet's "
			"model.json or a baseline's)", path, type ? type : format ? format :
			"(none)");
		return -1;
	}
	/* prophet_to_json() writes "country": null for none, which
	 * prophet_from_json() refuses (it reads an optional string): drop it */
	config = json_object_get(f->doc, "config");
	if (json_is_null(json_object_get(config, "country")))
		json_object_del(config, "country");
	if (prophet_from_json(&f->pm, f->doc, err)) {
		err_prefix(err, path);
		return -1;
	}
	f->kind = FORECASTER_PROPHET;
	f->target = json_string_value(json_object_get(f->doc, "target"));
	f->target = f->target ? f->target : "y";
	f->horizon = 1;
	return 0;
}

struct forecaster *forecaster_load(const char *dir, struct err *err)
{
	struct forecaster *f = xcalloc(1, sizeof(*f));
	char *promo = fs_join(dir, "promotion.json"), *sub = fs_join(dir, "model");
	char *st, *js;
	int rc;

	f->dir = xstrdup(fs_exists(promo) && fs_exists(sub) ? sub : dir);
	f->threads = 1;
	f->pool = xcalloc(1, sizeof(*f->pool));
	pthread_mutex_init(&f->pool->lock, NULL);
	st = fs_join(f->dir, "model.safetensors");
	js = fs_join(f->dir, "model.json");
	if (fs_exists(st)) {
		rc = load_network(f, st, err);
	} else if (fs_exists(js)) {
		rc = load_json(f, js, err);
	} else {
		err_set(err, ERR_USER, "%s: no model.safetensors or model.json (expected "
			"the outputs of a train.gru, train.lstm, train.tcn, "
			"train.encoder_lstm, train.prophet or baseline node, or of "
			"eval.promote)", f->dir);
		rc = -1;
	}
	free(promo);
	free(sub);
	free(st);
	free(js);
	if (rc) {
		forecaster_free(f);
		return NULL;
	}
	return f;
}

void forecaster_free(struct forecaster *f)
{
	if (!f)
		return;
	free(f->dir);
	json_decref(f->doc);
	free(f->feats);
	free(f->cols);
	scaler_release(&f->sc);
	scaler_release(&f->tsc);
	free(f->sidx);
	while (f->pool->free_list) {
		struct pooled_work *e = f->pool->free_list;
		f->pool->free_list = e->next;
		f->ops->work_free(e->w);
		free(e);
	}
	pthread_mutex_destroy(&f->pool->lock);
	free(f->pool);
	rnn_free(f->net);
	tcn_free(f->tcn);
	seq2seq_free(f->s2s);
	prophet_release(&f->pm);
	free(f);
}

enum forecaster_kind forecaster_kind(const struct forecaster *f) { return f->kind; }
const char *forecaster_kind_name(const struct forecaster *f) { return kind_names[f->kind]; }
const char *forecaster_dir(const struct forecaster *f) { return f->dir; }
const char *forecaster_target(const struct forecaster *f) { return f->target; }
size_t forecaster_input_len(const struct forecaster *f) { return f->in_len; }
size_t forecaster_horizon(const struct forecaster *f) { return f->horizon; }
size_t forecaster_n_columns(const struct forecaster *f) { return f->n_cols; }
const char *forecaster_column(const struct forecaster *f, size_t i) { return f->cols[i]; }

/* The first window of a baseline: a seasonal one reads S rows before
 * each window's first step, from the table's rows (warm-up ones too). */
static size_t baseline_first(const struct forecaster *f)
{
	size_t S = f->method == M_SEASONAL ? f->season : 0;

	return S > f->warmup + f->in_len ? S - f->warmup - f->in_len : 0;
}

size_t forecaster_min_rows(const struct forecaster *f)
{
	if (f->kind == FORECASTER_PROPHET)
		return 2;
	return f->warmup + f->in_len + f->horizon + baseline_first(f);
}

int forecaster_has_intervals(const struct forecaster *f)
{
	return f->kind == FORECASTER_PROPHET && f->pm.cfg.uncertainty_samples > 0;
}

void forecaster_set_threads(struct forecaster *f, int threads)
{
	f->threads = threads > 1 ? threads : 1;
}

/* --- tables */

void forecaster_table_release(struct forecaster_table *tb)
{
	free(tb->t);
	features_release(&tb->cols);
	free(tb->source);
	memset(tb, 0, sizeof(*tb));
}

int forecaster_read_dir(const char *dir, struct forecaster_table *tb,
			struct err *err)
{
	json_t *schema = NULL;
	int rc;

	memset(tb, 0, sizeof(*tb));
	tb->source = xstrdup(dir);
	rc = features_read_table(dir, &tb->cols, &tb->t, &schema, err);
	tb->rows = tb->cols.rows;
	json_decref(schema);
	return rc;
}

/* The model's columns as text: "a, b, OT" (caller frees). */
static char *column_list(const struct forecaster *f)
{
	struct strbuf sb;

	sb_init(&sb);
	for (size_t i = 0; i < f->n_cols; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", f->cols[i]);
	if (!f->n_cols)
		sb_adds(&sb, "no column but the time");
	return sb_detach(&sb);
}

/* The model's columns that neither 'csv' nor 'fs' (whichever is not NULL)
 * holds, as text "'a', 'b'"; NULL when none is missing. */
static char *missing_columns(const struct forecaster *f, const struct csv_table *csv,
			     const struct features_set *fs)
{
	struct strbuf sb;
	int n = 0;

	sb_init(&sb);
	for (size_t i = 0; i < f->n_cols; i++) {
		if (csv ? csv_find(csv, f->cols[i]) >= 0 : features_find(fs, f->cols[i]) >= 0)
			continue;
		sb_addf(&sb, "%s'%s'", n++ ? ", " : "", f->cols[i]);
	}
	if (n)
		return sb_detach(&sb);
	sb_release(&sb);
	return NULL;
}

/* The CSV's time column: 'name', else "timestamp", else the first column
 * of ISO 8601 times that the model does not read as a number. */
static long find_time(const struct forecaster *f, const struct csv_table *csv,
		      const char *name, struct err *err)
{
	long c = csv_find(csv, name ? name : "timestamp");

	for (size_t i = 0; c < 0 && !name && i < csv_cols(csv); i++)
		if (csv_sniff(csv, i) == CSV_TIME && !listed(f, csv_name(csv, i)))
			c = (long)i;
	if (c < 0 && name)
		err_set(err, ERR_USER, "%s:1:1: no time column '%s'", csv_path(csv), name);
	else if (c < 0)
		err_set(err, ERR_USER, "%s:1:1: no time column (expected one named "
			"'timestamp', or one of ISO 8601 times)", csv_path(csv));
	return c;
}

/* Times of column 'c': whole seconds, present, strictly rising. */
static int read_times(const struct csv_table *csv, long c, struct forecaster_table *tb,
		      struct err *err)
{
	size_t n = csv_rows(csv);
	double *v = xmalloc((n ? n : 1) * sizeof(double));
	char a[TIMEPARSE_TEXT_MAX], b[TIMEPARSE_TEXT_MAX];
	int rc = csv_times(csv, (size_t)c, v, err);

	tb->t = xmalloc((n ? n : 1) * sizeof(int64_t));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (isnan(v[i])) {
			csv_error(csv, i, (size_t)c, err, "missing time (expected a time "
				  "in every row)");
			rc = -1;
			break;
		}
		tb->t[i] = (int64_t)floor(v[i]);
		if (i > 0 && tb->t[i] <= tb->t[i - 1]) {
			csv_error(csv, i, (size_t)c, err, "time %s is not after %s on line "
				  "%zu (expected rising times, one row per time)",
				  timeparse_format(tb->t[i], a), timeparse_format(tb->t[i - 1], b),
				  csv_line(csv, i - 1));
			rc = -1;
		}
	}
	free(v);
	return rc;
}

/* Number column 'name' into the table; 'needed': no missing value. */
static int read_numbers(const struct csv_table *csv, const char *name, int needed,
			struct forecaster_table *tb, struct err *err)
{
	size_t n = csv_rows(csv), c = (size_t)csv_find(csv, name);
	double *v = xmalloc((n ? n : 1) * sizeof(double));

	if (csv_numbers(csv, c, v, err)) {
		free(v);
		return -1;
	}
	for (size_t i = 0; needed && i < n; i++) {
		if (isnan(v[i])) {
			csv_error(csv, i, c, err, "missing value in column '%s' (expected a "
				  "number: the model reads every row of it)", name);
			free(v);
			return -1;
		}
	}
	features_add(&tb->cols, xstrdup(name), v, 0);
	return 0;
}

/* Every column the model reads, then the target's actuals if present. */
static int read_columns(const struct forecaster *f, const struct csv_table *csv,
			struct forecaster_table *tb, struct err *err)
{
	char *missing = missing_columns(f, csv, NULL), *want;

	if (missing) {
		want = column_list(f);
		err_set(err, ERR_USER, "%s:1:1: no column %s (the %s model reads %s)",
			csv_path(csv), missing, forecaster_kind_name(f), want);
		free(missing);
		free(want);
		return -1;
	}
	for (size_t i = 0; i < f->n_cols; i++)
		if (read_numbers(csv, f->cols[i], 1, tb, err))
			return -1;
	if (!listed(f, f->target) && csv_find(csv, f->target) >= 0)
		return read_numbers(csv, f->target, 0, tb, err);
	return 0;
}

int forecaster_read_csv(const struct forecaster *f, const char *path,
			const char *time_col, struct forecaster_table *tb,
			struct err *err)
{
	struct csv_table *csv = csv_load(path, ',', err);
	long tc;
	int rc = -1;

	memset(tb, 0, sizeof(*tb));
	tb->source = xstrdup(path);
	if (!csv)
		return -1;
	tb->rows = csv_rows(csv);
	features_init(&tb->cols, tb->rows);
	tc = find_time(f, csv, time_col, err);
	if (tc >= 0 && read_times(csv, tc, tb, err) == 0)
		rc = read_columns(f, csv, tb, err);
	csv_free(csv);
	return rc;
}

/* --- predictions */

/* The rows a window model predicts: the table after its warm-up. */
struct span {
	size_t warm, kept, count, n;   /* kept rows; windows inside; + 1 */
	size_t *start;                 /* n window starts, in kept rows */
	int64_t *t;                    /* kept + horizon times, stepped past the end */
	double *y;                     /* kept + horizon actuals, NAN past the end */
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median gap between consecutive times (the lower middle one); n >= 2. */
static int64_t resolution(const int64_t *t, size_t n)
{
	int64_t *gap = xmalloc((n - 1) * sizeof(int64_t)), step;

	for (size_t i = 1; i < n; i++)
		gap[i - 1] = t[i] - t[i - 1];
	qsort(gap, n - 1, sizeof(int64_t), cmp_i64);
	step = gap[(n - 2) / 2];
	free(gap);
	return step;
}

/* The table column 'name', or NULL. */
static const double *column(const struct forecaster_table *tb, const char *name)
{
	long j = features_find(&tb->cols, name);

	return j < 0 ? NULL : tb->cols.cols[j];
}

/* The windows from kept row 'first' on, and the one past the end. */
static void span_init(const struct forecaster *f, const struct forecaster_table *tb,
		      size_t warm, size_t first, struct span *sp)
{
	const double *y = column(tb, f->target);
	size_t H = f->horizon, L = f->in_len;
	int64_t step = resolution(tb->t, tb->rows);

	sp->warm = warm;
	sp->kept = tb->rows - warm;
	sp->count = window_count(sp->kept, L, H) - first;
	sp->n = sp->count + 1;
	sp->start = xmalloc(sp->n * sizeof(size_t));
	for (size_t i = 0; i < sp->count; i++)
		sp->start[i] = first + i;
	sp->start[sp->count] = sp->kept - L;
	sp->t = xmalloc((sp->kept + H) * sizeof(int64_t));
	sp->y = xmalloc((sp->kept + H) * sizeof(double));
	for (size_t i = 0; i < sp->kept + H; i++) {
		int past = i >= sp->kept;
		sp->t[i] = past ? tb->t[tb->rows - 1] + (int64_t)(i - sp->kept + 1) * step :
			   tb->t[warm + i];
		sp->y[i] = past || !y ? NAN : y[warm + i];
	}
}

static void span_release(struct span *sp)
{
	free(sp->start);
	free(sp->t);
	free(sp->y);
}

static void result_alloc(struct forecaster_result *r, size_t n, size_t horizon,
			 int intervals)
{
	size_t k = n * horizon;

	memset(r, 0, sizeof(*r));
	r->n = n;
	r->horizon = horizon;
	r->t = xmalloc(n * sizeof(int64_t));
	r->yhat = xmalloc(k * sizeof(double));
	r->y = xmalloc(k * sizeof(double));
	r->lower = intervals ? xmalloc(k * sizeof(double)) : NULL;
	r->upper = intervals ? xmalloc(k * sizeof(double)) : NULL;
}

void forecaster_result_release(struct forecaster_result *r)
{
	free(r->t);
	free(r->yhat);
	free(r->lower);
	free(r->upper);
	free(r->y);
	memset(r, 0, sizeof(*r));
}

/* Times and actuals of each window's predicted steps. */
static void span_result(const struct forecaster *f, const struct span *sp,
			struct forecaster_result *r)
{
	size_t H = f->horizon, L = f->in_len;

	result_alloc(r, sp->n, H, 0);
	r->windows = sp->count;
	r->step = sp->t[sp->kept] - sp->t[sp->kept - 1];
	for (size_t i = 0; i < sp->n; i++) {
		r->t[i] = sp->t[sp->start[i] + L];
		for (size_t k = 0; k < H; k++)
			r->y[i * H + k] = sp->y[sp->start[i] + L + k];
	}
}

/* Rows warm .. rows of X, each column scaled by its stored scaler, in a
 * row-major array (caller frees): scaler_apply_rows()'s arithmetic, with
 * the stored columns looked up by name. */
static double *scale_rows(const struct forecaster *f, const struct features_set *x,
			  const size_t *order, size_t warm)
{
	size_t nf = f->n_feats, kept = x->rows - warm;
	double *m = xmalloc((kept * nf + 1) * sizeof(double));

	for (size_t i = warm; i < x->rows; i++)
		for (size_t j = 0; j < nf; j++)
			m[(i - warm) * nf + j] = scaler_apply(&f->sc, f->sidx[j],
							      x->cols[order[j]][i]);
	return m;
}

/* A workspace for 'threads' threads, from the pool or new. */
static struct pooled_work *take_work(const struct forecaster *f, int threads)
{
	struct pooled_work *e;

	pthread_mutex_lock(&f->pool->lock);
	e = f->pool->free_list;
	if (e)
		f->pool->free_list = e->next;
	pthread_mutex_unlock(&f->pool->lock);
	if (e && e->threads != threads) {
		f->ops->work_free(e->w);
		free(e);
		e = NULL;
	}
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->threads = threads;
		e->w = f->ops->work_new(f, threads);
	}
	return e;
}

static void give_work(const struct forecaster *f, struct pooled_work *e)
{
	pthread_mutex_lock(&f->pool->lock);
	e->next = f->pool->free_list;
	f->pool->free_list = e;
	pthread_mutex_unlock(&f->pool->lock);
}

/* Windows of a single-threaded family, on a thread of their own. */
struct share {
	const struct forecaster *f;
	const float *x;
	size_t n;
	float *y;
};

static void *predict_share(void *arg)
{
	struct share *sh = arg;
	struct pooled_work *e = take_work(sh->f, 1);

	sh->f->ops->predict(sh->f, e->w, sh->x, sh->n, sh->y);
	give_work(sh->f, e);
	return NULL;
}

/* 'n' windows 'x' into 'y' in f->threads contiguous shares (fewer when
 * there are fewer than ROWS_PER_THREAD windows a thread), the caller's
 * thread taking the first; a share whose thread cannot start runs on the
 * caller's.  A window's result does not depend on its share. */
static void predict_shares(const struct forecaster *f, const float *x, size_t n,
			   float *y)
{
	size_t row = f->in_len * f->n_feats, first = 0;
	size_t k = (n + ROWS_PER_THREAD - 1) / ROWS_PER_THREAD;
	size_t T = k < (size_t)f->threads ? (k ? k : 1) : (size_t)f->threads;
	struct share *sh = xcalloc(T, sizeof(*sh));
	pthread_t *tid = xcalloc(T, sizeof(*tid));
	int *started = xcalloc(T, sizeof(*started));

	for (size_t i = 0; i < T; i++) {
		size_t cnt = n / T + (i < n % T);
		sh[i] = (struct share){f, x + first * row, cnt, y + first * f->horizon};
		first += cnt;
	}
	for (size_t i = 1; i < T; i++)
		started[i] = pthread_create(&tid[i], NULL, predict_share, &sh[i]) == 0;
	predict_share(&sh[0]);
	for (size_t i = 1; i < T; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			predict_share(&sh[i]);
	}
	free(sh);
	free(tid);
	free(started);
}

/* The network over the windows 'ws', unscaled into 'r'.  Every family
 * predicts any number of windows batch by batch, and a window's result
 * does not depend on its batch, so one workspace size serves every call. */
static void run_network(const struct forecaster *f, const struct window_set *ws,
			struct forecaster_result *r)
{
	size_t H = f->horizon, n = ws->n;
	float *yf = tensor_alloc(n * H);
	struct pooled_work *e;

	if (f->ops->own_threads) {
		e = take_work(f, f->threads);
		f->ops->predict(f, e->w, ws->x, n, yf);
		give_work(f, e);
	} else {
		predict_shares(f, ws->x, n, yf);
	}
	for (size_t i = 0; i < n * H; i++)
		r->yhat[i] = scaler_inverse(&f->tsc, 0, (double)yf[i]);
	tensor_free(yf);
}

/* X over the table, checked, scaled, and cut into the windows of 'sp'
 * ('ws'; both released by the caller on success, nothing on failure). */
static int network_windows(const struct forecaster *f, const struct forecaster_table *tb,
			   struct span *sp, struct window_set *ws, struct err *err)
{
	size_t *order = xcalloc(f->n_feats, sizeof(size_t)), j, i;
	char when[TIMEPARSE_TEXT_MAX];
	struct features_set x;
	double *xm;
	int rc = 0;

	build_x(f, tb->rows, tb->t, column(tb, f->target), &tb->cols, &x, order);
	if (features_find_nonfinite(&x, x.warmup, &j, &i)) {
		err_set(err, ERR_USER, "%s: '%s' is %g at %s (a return after a zero "
			"value?)", tb->source, x.names[j], x.cols[j][i],
			timeparse_format(tb->t[i], when));
		rc = -1;
	} else {
		span_init(f, tb, x.warmup, 0, sp);
		xm = scale_rows(f, &x, order, x.warmup);
		window_cut(ws, xm, f->n_feats, sp->y, sp->t, 0, sp->start, sp->n,
			   f->in_len, f->horizon);
		free(xm);
	}
	features_release(&x);
	free(order);
	return rc;
}

static int predict_network(const struct forecaster *f, const struct forecaster_table *tb,
			   struct forecaster_result *r, struct err *err)
{
	struct window_set ws;
	struct span sp;

	if (network_windows(f, tb, &sp, &ws, err))
		return -1;
	span_result(f, &sp, r);
	run_network(f, &ws, r);
	window_release(&ws);
	span_release(&sp);
	return 0;
}

/* A baseline from the raw target: the last input, the value one or more
 * seasons before each step (baseline.seasonal_naive's y[r + h - S k],
 * k = h / S + 1), or the constant mean. */
static void predict_baseline(const struct forecaster *f, const struct forecaster_table *tb,
			     struct forecaster_result *r)
{
	size_t H = f->horizon, L = f->in_len, S = f->season, w = f->warmup;
	const double *y = column(tb, f->target);
	struct span sp;

	span_init(f, tb, w, baseline_first(f), &sp);
	span_result(f, &sp, r);
	for (size_t i = 0; i < sp.n; i++) {
		size_t at = w + sp.start[i] + L;   /* the first step's table row */
		for (size_t k = 0; k < H; k++) {
			double *v = &r->yhat[i * H + k];
			if (f->method == M_PERSISTENCE)
				*v = y[at - 1];
			else if (f->method == M_SEASONAL)
				*v = y[at + k - S * (k / S + 1)];
			else
				*v = f->mean;
		}
	}
	span_release(&sp);
}

/* Prophet at every row's time and one step past the last. */
static void predict_prophet(const struct forecaster *f, const struct forecaster_table *tb,
			    struct forecaster_result *r)
{
	const double *y = column(tb, f->target);
	size_t n = tb->rows;

	result_alloc(r, n + 1, 1, forecaster_has_intervals(f));
	r->windows = n;
	r->step = resolution(tb->t, n);
	memcpy(r->t, tb->t, n * sizeof(int64_t));
	r->t[n] = tb->t[n - 1] + r->step;
	for (size_t i = 0; i <= n; i++)
		r->y[i] = i < n && y ? y[i] : NAN;
	prophet_predict(&f->pm, r->t, n + 1, r->yhat, r->lower, r->upper);
}

/* Columns first, then rows: what the table lacks for this model. */
static int check_table(const struct forecaster *f, const struct forecaster_table *tb,
		       struct err *err)
{
	char *missing = missing_columns(f, NULL, &tb->cols), *want;
	char warm[96], season[96];
	size_t need = forecaster_min_rows(f);

	if (missing) {
		want = column_list(f);
		err_set(err, ERR_USER, "%s: no number column %s (the %s model reads %s)",
			tb->source, missing, forecaster_kind_name(f), want);
		free(missing);
		free(want);
		return -1;
	}
	if (tb->rows >= need)
		return 0;
	if (f->kind == FORECASTER_PROPHET) {
		err_set(err, ERR_USER, "%s: %zu rows, fewer than the 2 a forecast needs "
			"(two times give the step past the last)", tb->source, tb->rows);
		return -1;
	}
	snprintf(warm, sizeof(warm), " + %zu warm-up rows of its lags, rolling "
		 "windows, returns or RSI", f->warmup);
	snprintf(season, sizeof(season), "; and its season of %zu rows before the "
		 "first predicted step", f->season);
	err_set(err, ERR_USER, "%s: %zu rows, fewer than the %zu the model needs "
		"(input_seq_len %zu + output_seq_len %zu%s%s)", tb->source, tb->rows,
		need, f->in_len, f->horizon, f->warmup ? warm : "",
		baseline_first(f) ? season : "");
	return -1;
}

float *forecaster_windows(const struct forecaster *f, const struct forecaster_table *tb,
			  size_t *n, struct err *err)
{
	struct window_set ws;
	struct span sp;
	float *x;

	if (!f->ops) {
		err_set(err, ERR_USER, "%s: a %s model reads no windows of features",
			f->dir, forecaster_kind_name(f));
		return NULL;
	}
	if (check_table(f, tb, err) || network_windows(f, tb, &sp, &ws, err))
		return NULL;
	x = ws.x;
	*n = ws.n;
	ws.x = NULL;
	window_release(&ws);
	span_release(&sp);
	return x;
}

int forecaster_predict(const struct forecaster *f, const struct forecaster_table *tb,
		       struct forecaster_result *r, struct err *err)
{
	memset(r, 0, sizeof(*r));
	if (check_table(f, tb, err))
		return -1;
	if (f->kind == FORECASTER_PROPHET)
		predict_prophet(f, tb, r);
	else if (f->kind == FORECASTER_BASELINE)
		predict_baseline(f, tb, r);
	else
		return predict_network(f, tb, r, err);
	return 0;
}

/* The tables of forecaster_predict_many() that pass, as one window set:
 * their windows in order, each table's result ready for its yhat. */
static size_t gather_windows(const struct forecaster *f,
			     const struct forecaster_table *const *tb, size_t n,
			     struct forecaster_result *r, int *rc, struct err *err,
			     struct window_set *all)
{
	size_t row = f->in_len * f->n_feats, total = 0, at = 0;
	struct window_set *ws = xcalloc(n ? n : 1, sizeof(*ws));
	struct span sp;

	for (size_t i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		rc[i] = check_table(f, tb[i], &err[i]) ||
			network_windows(f, tb[i], &sp, &ws[i], &err[i]) ? -1 : 0;
		if (rc[i])
			continue;
		span_result(f, &sp, &r[i]);
		span_release(&sp);
		total += ws[i].n;
	}
	memset(all, 0, sizeof(*all));
	all->n = total;
	all->x = tensor_alloc((total ? total : 1) * row);
	for (size_t i = 0; i < n; i++) {
		if (rc[i])
			continue;
		memcpy(all->x + at * row, ws[i].x, ws[i].n * row * sizeof(float));
		at += ws[i].n;
		window_release(&ws[i]);
	}
	free(ws);
	return total;
}

void forecaster_predict_many(const struct forecaster *f,
			     const struct forecaster_table *const *tb, size_t n,
			     struct forecaster_result *r, int *rc, struct err *err)
{
	struct forecaster_result one;
	struct window_set all;
	size_t H = f->horizon, at = 0;

	if (!f->ops) {
		for (size_t i = 0; i < n; i++)
			rc[i] = forecaster_predict(f, tb[i], &r[i], &err[i]);
		return;
	}
	if (gather_windows(f, tb, n, r, rc, err, &all) > 0) {
		memset(&one, 0, sizeof(one));
		one.yhat = xmalloc(all.n * H * sizeof(double));
		run_network(f, &all, &one);
		for (size_t i = 0; i < n; i++) {
			if (rc[i])
				continue;
			memcpy(r[i].yhat, one.yhat + at * H, r[i].n * H * sizeof(double));
			at += r[i].n;
		}
		free(one.yhat);
	}
	window_release(&all);
}

/* --- CSV */

/* Header names 'name' or name_1..name_k, each after a comma. */
static void add_names(struct strbuf *sb, const char *name, size_t horizon)
{
	for (size_t k = 1; k <= horizon; k++) {
		if (horizon == 1)
			sb_addf(sb, ",%s", name);
		else
			sb_addf(sb, ",%s_%zu", name, k);
	}
}

/* 'k' values after commas; an unknown one as an empty field. */
static void add_values(struct strbuf *sb, const double *v, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		sb_addc(sb, ',');
		if (isfinite(v[i]))
			sb_addf(sb, "%.17g", v[i]);
	}
}

char *forecaster_csv(const struct forecaster_result *r, int flags)
{
	size_t H = r->horizon;
	char when[TIMEPARSE_TEXT_MAX];
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "timestamp");
	add_names(&sb, "yhat", H);
	if (r->lower) {
		add_names(&sb, "yhat_lower", H);
		add_names(&sb, "yhat_upper", H);
	}
	if (flags & FORECASTER_CSV_ACTUALS)
		add_names(&sb, "y", H);
	sb_addc(&sb, '\n');
	for (size_t i = 0; i < r->n; i++) {
		sb_adds(&sb, timeparse_format(r->t[i], when));
		add_values(&sb, r->yhat + i * H, H);
		if (r->lower) {
			add_values(&sb, r->lower + i * H, H);
			add_values(&sb, r->upper + i * H, H);
		}
		if (flags & FORECASTER_CSV_ACTUALS)
			add_values(&sb, r->y + i * H, H);
		sb_addc(&sb, '\n');
	}
	return sb_detach(&sb);
}

/* 'text' to 'path' atomically, or to stdout. */
static int write_text(const char *text, const char *path, struct err *err)
{
	size_t n = strlen(text);

	if (path)
		return fs_write_atomic(path, text, n, err);
	if (fwrite(text, 1, n, stdout) == n && fflush(stdout) == 0)
		return 0;
	err_set(err, ERR_IO, "cannot write the predictions to stdout: %s",
		strerror(errno));
	return -1;
}

int forecaster_predict_csv(const char *model_dir, const char *csv_path,
			   const char *out_path, struct err *err)
{
	struct forecaster *f = forecaster_load(model_dir, err);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct forecaster_table tb;
	struct forecaster_result r;
	char *text;
	int rc;

	if (!f)
		return -1;
	forecaster_set_threads(f, cores > 0 ? (int)cores : 1);
	rc = forecaster_read_csv(f, csv_path, NULL, &tb, err);
	if (rc == 0)
		rc = forecaster_predict(f, &tb, &r, err);
	if (rc == 0) {
		text = forecaster_csv(&r, 0);
		rc = write_text(text, out_path, err);
		free(text);
		forecaster_result_release(&r);
	}
	forecaster_table_release(&tb);
	forecaster_free(f);
	return rc;
}
