/* train.xgboost: gradient-boosted trees, grown by the XGBoost library
 * (its C API), on a data.load table.
 *
 * Input and split: as train.mlp's (dense.h's DENSE_SPLIT_PARAMS, tabular.h),
 * without scaling: trees split on raw values.
 *
 * Boosting: objective classify is XGBoost's multi:softprob (binary:logistic
 * for two classes), regress reg:squarederror.  One XGBoosterUpdateOneIter
 * per round; after each, the library's evaluation of the objective's
 * metric (mlogloss, logloss or rmse) on the training and validation parts
 * goes to the metric sink as train_loss and val_loss, step = the round
 * from 1.  With early_stopping n, the run stops n rounds after the round
 * of the lowest val_loss, and that round's trees are the model; without,
 * every round's are (best_iteration is the last).  Cancellation is
 * checked every round.
 *
 * Output (kctx_out_dir): model.json (XGBoost's JSON model, every round
 * grown; it carries the feature names, and with early stopping the
 * attributes best_iteration and best_score that the Python package reads),
 * model_meta.json (xgb.h), metrics.json, predictions.csv (the test rows,
 * predicted through xgb.h from the files just written, as a reader would)
 * and importance.json (each feature's mean gain per split).
 *
 * Determinism: XGBoost's own generator (subsample, colsample_bytree) is
 * seeded with 'seed', and it runs on 'threads' threads (0: 1): the same
 * data, params and thread count give the same bytes. */
#include "confusion.h"
#include "dense.h"
#include "fs.h"
#include "metrics.h"
#include "tabular.h"
#include "xalloc.h"
#include "xgb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

static const char *const out_files[] = {"model.json", "model_meta.json",
					"metrics.json", "predictions.csv",
					"importance.json"};

struct params {
	int rounds, early_stopping, threads;
	struct tabular_spec spec;
};

struct booster {
	struct kctx *ctx;
	struct err err;
	struct params p;
	const char *need;
	struct tabular d;
	DMatrixHandle dm[2];         /* the training part, the validation part */
	BoosterHandle h;
	int has_val, rounds_run, best;   /* best: 0-based, XGBoost's iteration */
	double best_loss;
	char metric[16];             /* "mlogloss", "logloss", "rmse" */
};

static int classify(const struct booster *B)
{
	return B->d.objective == TABULAR_CLASSIFY;
}

/* --- the booster */

/* 'part' of the table as a DMatrix with its labels and feature names. */
static int make_matrix(struct booster *B, int part, DMatrixHandle *dm)
{
	const struct tabular *d = &B->d;
	size_t n = d->count[part], at = d->start[part];
	float *y = xmalloc((n + 1) * sizeof(float));
	int rc;

	for (size_t i = 0; i < n; i++)
		y[i] = classify(B) ? (float)d->label[at + i] : d->target[at + i];
	rc = xgb_check(XGDMatrixCreateFromMat(d->x + at * d->features, n, d->features,
					      NAN, dm), "matrix", &B->err) ||
	     xgb_check(XGDMatrixSetFloatInfo(*dm, "label", y, n), "labels", &B->err) ||
	     xgb_check(XGDMatrixSetStrFeatureInfo(*dm, "feature_name",
						  (const char **)d->names, d->features),
		       "feature names", &B->err);
	free(y);
	return rc ? -1 : 0;
}

/* Param 'name' of the node, passed to the booster as XGBoost's 'key'. */
static int pass_param(struct booster *B, const char *key, const char *name)
{
	json_t *v = json_object_get(kctx_params(B->ctx), name);
	char text[64];

	if (json_is_integer(v))
		snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
	else if (json_is_number(v))
		snprintf(text, sizeof(text), "%.17g", json_number_value(v));
	else
		snprintf(text, sizeof(text), "%s", json_string_value(v));
	return xgb_check(XGBoosterSetParam(B->h, key, text), key, &B->err);
}

static int make_booster(struct booster *B)
{
	static const char *const same[][2] = {
		{"max_depth", "max_depth"}, {"eta", "eta"}, {"subsample", "subsample"},
		{"colsample_bytree", "colsample_bytree"}, {"lambda", "lambda"},
		{"alpha", "alpha"}, {"min_child_weight", "min_child_weight"},
		{"gamma", "gamma"}, {"tree_method", "tree_method"}, {"seed", "seed"}};
	int C = B->d.classes;
	char text[32];
	int rc;

	snprintf(B->metric, sizeof(B->metric), "%s", !classify(B) ? "rmse" :
		 C == 2 ? "logloss" : "mlogloss");
	snprintf(text, sizeof(text), "%d", B->p.threads > 0 ? B->p.threads : 1);
	rc = make_matrix(B, TABULAR_TRAIN, &B->dm[0]) ||
	     (B->has_val && make_matrix(B, TABULAR_VAL, &B->dm[1])) ||
	     xgb_check(XGBoosterCreate(B->dm, B->has_val ? 2 : 1, &B->h), "booster", &B->err) ||
	     xgb_check(XGBoosterSetStrFeatureInfo(B->h, "feature_name",
						  (const char **)B->d.names, B->d.features),
		       "feature names", &B->err) ||
	     xgb_check(XGBoosterSetParam(B->h, "nthread", text), "nthread", &B->err) ||
	     xgb_check(XGBoosterSetParam(B->h, "objective", !classify(B) ? "reg:squarederror" :
					 C == 2 ? "binary:logistic" : "multi:softprob"),
		       "objective", &B->err) ||
	     xgb_check(XGBoosterSetParam(B->h, "eval_metric", B->metric), "eval_metric", &B->err);
	snprintf(text, sizeof(text), "%d", C);
	if (rc == 0 && C > 2)
		rc = xgb_check(XGBoosterSetParam(B->h, "num_class", text), "num_class", &B->err);
	for (size_t i = 0; rc == 0 && i < sizeof(same) / sizeof(same[0]); i++)
		rc = pass_param(B, same[i][0], same[i][1]);
	return rc ? -1 : 0;
}

/* '<part>-<metric>:value' of the library's evaluation line. */
static double eval_value(const struct booster *B, const char *line, const char *part)
{
	char key[40];
	const char *at;

	snprintf(key, sizeof(key), "\t%s-%s:", part, B->metric);
	at = strstr(line, key);
	return at ? strtod(at + strlen(key), NULL) : NAN;
}

/* One round and its evaluation; 1 when early stopping ends the run. */
static int boost_round(struct booster *B, int i, int *stop)
{
	static const char *names[] = {"train", "val"};
	const char *line;
	double train, val = NAN, sel;

	if (xgb_check(XGBoosterUpdateOneIter(B->h, i, B->dm[0]), "update", &B->err) ||
	    xgb_check(XGBoosterEvalOneIter(B->h, i, B->dm, names, B->has_val ? 2 : 1, &line),
		      "eval", &B->err))
		return -1;
	train = eval_value(B, line, "train");
	kctx_metric(B->ctx, "train_loss", i + 1, train);
	if (B->has_val) {
		val = eval_value(B, line, "val");
		kctx_metric(B->ctx, "val_loss", i + 1, val);
	}
	kctx_progress(B->ctx, (double)(i + 1) / B->p.rounds, "round %d/%d train_loss "
		      "%.6g val_loss %.6g", i + 1, B->p.rounds, train, val);
	B->rounds_run = i + 1;
	sel = B->has_val ? val : train;
	if (sel < B->best_loss || B->p.early_stopping == 0) {
		B->best_loss = sel;
		B->best = i;
	}
	*stop = B->p.early_stopping > 0 && i - B->best >= B->p.early_stopping;
	return 0;
}

static int boost(struct booster *B)
{
	int stop = 0;

	B->best_loss = INFINITY;
	for (int i = 0; i < B->p.rounds && !stop; i++) {
		if (kctx_cancelled(B->ctx)) {
			err_set(&B->err, ERR_IO, "cancelled before round %d", i + 1);
			return -1;
		}
		if (boost_round(B, i, &stop))
			return -1;
	}
	if (stop)
		kctx_log(B->ctx, "early stop after round %d: no lower val_loss since "
			 "round %d (early_stopping %d)", B->rounds_run, B->best + 1,
			 B->p.early_stopping);
	return 0;
}

/* --- outputs */

static int write_json(struct booster *B, const char *name, json_t *j)
{
	char *path = fs_join(kctx_out_dir(B->ctx), name);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS |
				JSON_REAL_PRECISION(17));

	if (rc < 0)
		err_set(&B->err, ERR_IO, "cannot write '%s'", path);
	free(path);
	json_decref(j);
	return rc < 0 ? -1 : 0;
}

static int save_model(struct booster *B)
{
	char *path = fs_join(kctx_out_dir(B->ctx), "model.json"), text[32];
	json_t *names = json_array(), *classes = B->d.class_values ?
		json_incref(B->d.class_values) : json_array();
	int rc = 0;

	if (B->p.early_stopping > 0) {   /* as the Python package's early stopping */
		snprintf(text, sizeof(text), "%d", B->best);
		rc = xgb_check(XGBoosterSetAttr(B->h, "best_iteration", text), "attr", &B->err);
		snprintf(text, sizeof(text), "%.17g", B->best_loss);
		rc = rc || xgb_check(XGBoosterSetAttr(B->h, "best_score", text), "attr", &B->err);
	}
	rc = rc || xgb_check(XGBoosterSaveModel(B->h, path), "save", &B->err);
	free(path);
	for (size_t j = 0; j < B->d.features; j++)
		json_array_append_new(names, json_string(B->d.names[j]));
	if (rc) {
		json_decref(names);
		json_decref(classes);
		return -1;
	}
	return write_json(B, "model_meta.json",
			  json_pack("{s:s, s:s, s:s, s:o, s:o, s:i, s:i}", "format",
				    XGB_META_FORMAT, "objective", classify(B) ? "classify" :
				    "regress", "label", B->p.spec.label, "classes", classes,
				    "features", names, "best_iteration", B->best,
				    "rounds", B->rounds_run));
}

/* importance.json: {"importance_type": "gain", "gain": {feature: mean gain
 * of its splits, 0 when never split on}}. */
static int save_importance(struct booster *B)
{
	static const char config[] = "{\"importance_type\": \"gain\", \"feature_map\": \"\"}";
	bst_ulong n = 0, dim = 0;
	const bst_ulong *shape;
	const char **names;
	const float *score;
	json_t *gain = json_object();

	if (xgb_check(XGBoosterFeatureScore(B->h, config, &n, &names, &dim, &shape, &score),
		      "feature importance", &B->err)) {
		json_decref(gain);
		return -1;
	}
	for (size_t j = 0; j < B->d.features; j++)
		json_object_set_new(gain, B->d.names[j], json_real(0));
	for (bst_ulong j = 0; j < n; j++)
		json_object_set_new(gain, names[j], json_real(score[j]));
	return write_json(B, "importance.json", json_pack("{s:s, s:o}", "importance_type",
							   "gain", "gain", gain));
}

/* Report 'name' = 'v' to the sink and into 'j'. */
static void put_metric(struct booster *B, json_t *j, const char *name, double v)
{
	kctx_metric(B->ctx, name, -1, v);
	json_object_set_new(j, name, json_real(v));
}

/* The confusion figures and log_loss of the test probabilities 'p';
 * the predicted classes into 'pred'. */
static json_t *classify_metrics(struct booster *B, const float *p, int *pred)
{
	const struct tabular *d = &B->d;
	size_t n = d->count[TABULAR_TEST], C = (size_t)d->classes;
	const int *truth = d->label + d->start[TABULAR_TEST];
	static const char *const sink[] = {"accuracy", "macro_precision",
					   "macro_recall", "macro_f1"};
	struct confusion cm;
	double loss = 0;
	json_t *j;

	confusion_init(&cm, d->classes);
	for (size_t i = 0; i < n; i++) {
		pred[i] = 0;
		for (size_t k = 1; k < C; k++)   /* ties: the first class, as argmax */
			pred[i] = p[i * C + k] > p[i * C + (size_t)pred[i]] ? (int)k : pred[i];
		confusion_add(&cm, truth[i], pred[i]);
		loss -= log(fmax(p[i * C + (size_t)truth[i]], 1e-15));   /* sklearn's eps */
	}
	j = confusion_to_json(&cm, d->class_names);
	put_metric(B, j, "log_loss", loss / (double)n);
	for (size_t k = 0; k < sizeof(sink) / sizeof(sink[0]); k++)
		kctx_metric(B->ctx, sink[k], -1, json_real_value(json_object_get(j, sink[k])));
	json_object_set(j, "classes", d->class_values);
	kctx_log(B->ctx, "test accuracy %.4f log_loss %.6g", confusion_accuracy(&cm),
		 loss / (double)n);
	confusion_release(&cm);
	return j;
}

/* rmse, mae, mse, r2 of the test predictions 'p' (the label's units). */
static json_t *regress_metrics(struct booster *B, const float *p)
{
	const struct tabular *d = &B->d;
	size_t n = d->count[TABULAR_TEST], at = d->start[TABULAR_TEST];
	float *truth = xmalloc((n + 1) * sizeof(float));
	json_t *j = json_object();

	for (size_t i = 0; i < n; i++)
		truth[i] = (float)d->value[at + i];
	put_metric(B, j, "rmse", metric_rmse(truth, p, n, 1));
	put_metric(B, j, "mae", metric_mae(truth, p, n, 1));
	put_metric(B, j, "mse", metric_mse(truth, p, n, 1));
	put_metric(B, j, "r2", metric_r2(truth, p, n, 1));
	kctx_log(B->ctx, "test rmse %.6g r2 %.4f", json_real_value(json_object_get(j, "rmse")),
		 json_real_value(json_object_get(j, "r2")));
	free(truth);
	return j;
}

/* Predict the test rows through the written model; metrics.json and
 * predictions.csv. */
static int evaluate(struct booster *B)
{
	const struct tabular *d = &B->d;
	size_t n = d->count[TABULAR_TEST], per = classify(B) ? (size_t)d->classes : 1;
	float *p = xmalloc((n * per + 1) * sizeof(float));
	int *pred = xcalloc(n + 1, sizeof(int));
	struct xgb_model *m = NULL;
	char *path = fs_join(kctx_out_dir(B->ctx), "predictions.csv");
	json_t *j = NULL, *split = tabular_split_json(d);
	int rc = xgb_model_load(kctx_out_dir(B->ctx), &m, &B->err) ||
		 xgb_model_predict(m, d->x + d->start[TABULAR_TEST] * d->features, n,
				   d->features, p, &B->err);

	if (rc == 0) {
		j = classify(B) ? classify_metrics(B, p, pred) : regress_metrics(B, p);
		json_object_set_new(j, "objective", json_string(classify(B) ? "classify" : "regress"));
		json_object_set_new(j, "test_rows", json_integer((json_int_t)n));
		json_object_set_new(j, B->has_val ? "val_loss" : "train_loss",
				    json_real(B->best_loss));
		json_object_set_new(j, "rounds_run", json_integer(B->rounds_run));
		json_object_set_new(j, "best_iteration", json_integer(B->best));
		if (split)
			json_object_set(j, "split", split);
		rc = write_json(B, "metrics.json", j) ||
		     tabular_write_predictions(d, path, p, pred, &B->err);
	}
	json_decref(split);
	xgb_model_free(m);
	free(path);
	free(pred);
	free(p);
	return rc ? -1 : 0;
}

/* --- the run */

static int load(struct booster *B)
{
	struct kctx *c = B->ctx;
	struct params *p = &B->p;

	p->rounds = (int)kctx_int(c, "num_rounds");
	p->early_stopping = (int)kctx_int(c, "early_stopping");
	p->threads = (int)kctx_int(c, "threads");
	dense_read_spec(c, strcmp(kctx_str(c, "objective"), "regress") ?
			TABULAR_CLASSIFY : TABULAR_REGRESS,
			(uint64_t)kctx_int(c, "seed"), &p->spec);
	if (dense_load(c, &p->spec, &B->d, &B->need, &B->err))
		return -1;
	B->has_val = B->d.count[TABULAR_VAL] > 0;
	if (p->early_stopping > 0 && !B->has_val) {
		err_set(&B->err, ERR_USER, "param 'early_stopping' is %d but there is no "
			"validation part (expected val_fraction > 0, or early_stopping 0)",
			p->early_stopping);
		return -1;
	}
	kctx_log(c, "xgboost: %zu features, %d %s; %zu train / %zu val / %zu test rows; "
		 "%d threads", B->d.features, classify(B) ? B->d.classes : 1,
		 classify(B) ? "classes" : "output", B->d.count[TABULAR_TRAIN],
		 B->d.count[TABULAR_VAL], B->d.count[TABULAR_TEST],
		 p->threads > 0 ? p->threads : 1);
	return 0;
}

static int run(struct kctx *ctx)
{
	struct booster B;
	int rc;

	memset(&B, 0, sizeof(B));
	B.ctx = ctx;
	err_init(&B.err);
	rc = load(&B) || make_booster(&B) || boost(&B) || save_model(&B) ||
	     save_importance(&B) || evaluate(&B);
	if (rc) {
		for (size_t i = 0; i < sizeof(out_files) / sizeof(out_files[0]); i++) {
			char *path = fs_join(kctx_out_dir(ctx), out_files[i]);
			remove(path);
			free(path);
		}
		rc = kctx_fail(ctx, B.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", B.err.msg);
	}
	XGBoosterFree(B.h);
	XGDMatrixFree(B.dm[0]);
	XGDMatrixFree(B.dm[1]);
	tabular_release(&B.d);
	return rc;
}

static const struct param_spec params[] = {
	DENSE_SPLIT_PARAMS,
	{"objective", PT_ENUM, "\"classify\"", 0, 0, "classify|regress",
	 "classify: multi:softprob (binary:logistic for two classes); regress: "
	 "reg:squarederror"},
	{"num_rounds", PT_INT, "100", 1, 100000, NULL, "boosting rounds (trees per class)"},
	{"max_depth", PT_INT, "6", 1, 64, NULL, "the deepest a tree grows"},
	{"eta", PT_NUM, "0.3", 1e-6, 1, NULL, "XGBoost's eta (learning_rate): "
	 "each tree's shrinkage"},
	{"subsample", PT_NUM, "1", 1e-6, 1, NULL, "the share of training rows each "
	 "tree sees, drawn by the seed"},
	{"colsample_bytree", PT_NUM, "1", 1e-6, 1, NULL, "the share of features each "
	 "tree sees, drawn by the seed"},
	{"lambda", PT_NUM, "1", 0, 1e9, NULL, "L2 penalty on the leaf weights"},
	{"alpha", PT_NUM, "0", 0, 1e9, NULL, "L1 penalty on the leaf weights"},
	{"min_child_weight", PT_NUM, "1", 0, 1e9, NULL, "the least hessian a leaf holds"},
	{"gamma", PT_NUM, "0", 0, 1e9, NULL, "the least loss reduction a split makes"},
	{"tree_method", PT_ENUM, "\"hist\"", 0, 0, "hist|exact|approx",
	 "how splits are searched: histograms of 256 bins, every value, or quantiles"},
	{"early_stopping", PT_INT, "0", 0, 100000, NULL,
	 "stop after this many rounds without a lower val_loss and keep the best "
	 "round's trees; needs a validation part; 0: off, every round counts"},
	{"seed", PT_INT, "0", 0, 0, NULL, "XGBoost's seed (subsample, colsample) and a "
	 "shuffled split's"},
	{"threads", PT_INT, "0", 0, 256, NULL,
	 "XGBoost's nthread; 0: 1; results are reproducible per thread count"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static const char doc[] =
	"Train gradient-boosted trees with the XGBoost library on a data.load "
	"table: classify (softmax probabilities over the label's sorted distinct "
	"values) or regress (squared error), on raw, unscaled features. The split "
	"is train.mlp's, with groups and folds. Writes model.json (XGBoost's JSON "
	"model, which the Python package loads), model_meta.json (classes, "
	"features, best_iteration), metrics.json (as train.softmax's or train.mlp's "
	"regress ones), predictions.csv for the test rows and importance.json "
	"(mean gain per feature); train_loss and val_loss per round go to the "
	"metrics.";

const struct kernel kernel_train_xgboost = {"train.xgboost", 1, params, doc, run};
