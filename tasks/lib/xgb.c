/* xgb: see xgb.h.
 *
 * model_meta.json is checked first and alone, then model.json is handed to
 * the library, and then the two are checked against each other through the
 * booster's own configuration (objective, classes, features, rounds), so
 * that a model that loads is one xgb_model_predict() can answer for. */
#include "xgb.h"
#include "fs.h"
#include "xalloc.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

struct xgb_model {
	BoosterHandle booster;
	int classes;                 /* 0: regress */
	char **class_names;          /* [classes] */
	size_t features;
	char **feature_names;        /* [features] */
	long best_iteration;         /* predictions use trees 0 .. this round */
	long rounds;
};

int xgb_check(int rc, const char *what, struct err *err)
{
	if (rc == 0)
		return 0;
	err_set(err, ERR_INTERNAL, "xgboost: %s: %s", what, XGBGetLastError());
	return -1;
}

/* --- model_meta.json */

/* 'key' of 'meta', an array of strings (or, with 'ints', integers too)
 * of at least 'min' items, copied into '*out' ('*n' of them). */
static int read_names(json_t *meta, const char *path, const char *key, size_t min,
		      int ints, char ***out, size_t *n, struct err *err)
{
	json_t *a = json_object_get(meta, key), *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) < min)
		goto bad;
	*out = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (json_is_string(v))
			(*out)[i] = xstrdup(json_string_value(v));
		else if (ints && json_is_integer(v))
			(*out)[i] = xasprintf("%lld", (long long)json_integer_value(v));
		else
			goto bad;
		*n = i + 1;
	}
	return 0;
bad:
	err_set(err, ERR_USER, "%s: \"%s\" must be a list of at least %zu %s", path,
		key, min, ints ? "strings or integers" : "strings");
	return -1;
}

/* 'key' of 'meta', an integer from 'lo' to 'hi'. */
static int read_long(json_t *meta, const char *path, const char *key, long lo,
		     long hi, long *out, struct err *err)
{
	json_t *v = json_object_get(meta, key);

	if (json_is_integer(v) && json_integer_value(v) >= lo &&
	    json_integer_value(v) <= hi) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	err_set(err, ERR_USER, "%s: \"%s\" must be an integer from %ld to %ld", path,
		key, lo, hi);
	return -1;
}

/* 100000000: far more rounds than a model has; bounds what a file claims */
#define MAX_ROUNDS 100000000L

static int read_meta(struct xgb_model *m, const char *path, struct err *err)
{
	json_error_t je;
	json_t *meta = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	const char *format = json_string_value(json_object_get(meta, "format"));
	const char *objective = json_string_value(json_object_get(meta, "objective"));
	size_t n = 0;
	int rc = -1;

	if (!meta) {
		err_set(err, ERR_USER, "%s:%d:%d: %s (expected train.xgboost's "
			"model_meta.json)", path, je.line, je.column, je.text);
		return -1;
	}
	if (!format || strcmp(format, XGB_META_FORMAT)) {
		err_set(err, ERR_USER, "%s: \"format\" is %s%s%s (expected \"%s\")",
			path, format ? "'" : "", format ? format : "absent",
			format ? "'" : "", XGB_META_FORMAT);
		goto out;
	}
	if (!objective || (strcmp(objective, "classify") && strcmp(objective, "regress"))) {
		err_set(err, ERR_USER, "%s: \"objective\" must be \"classify\" or "
			"\"regress\"", path);
		goto out;
	}
	if (!strcmp(objective, "classify")) {
		rc = read_names(meta, path, "classes", 2, 1, &m->class_names, &n, err);
		m->classes = (int)n;   /* also on failure: what xgb_model_free() frees */
		if (rc)
			goto out;
		rc = -1;
	}
	if (read_names(meta, path, "features", 1, 0, &m->feature_names, &m->features, err) ||
	    read_long(meta, path, "rounds", 1, MAX_ROUNDS, &m->rounds, err) ||
	    read_long(meta, path, "best_iteration", 0, m->rounds - 1, &m->best_iteration, err))
		goto out;
	rc = 0;
out:
	json_decref(meta);
	return rc;
}

/* --- model.json against the meta */

/* What the booster's objective must be for the meta's classes. */
static const char *booster_objective(const struct xgb_model *m)
{
	return m->classes == 0 ? "reg:squarederror" :
	       m->classes == 2 ? "binary:logistic" : "multi:softprob";
}

/* The booster's objective, classes, features and rounds are the meta's. */
static int check_booster(struct xgb_model *m, const char *path, struct err *err)
{
	bst_ulong len = 0, nfeat = 0;
	const char *text = NULL, *obj, *ncls;
	json_t *cfg = NULL, *learner;
	int rounds = 0, rc = -1;

	if (xgb_check(XGBoosterSaveJsonConfig(m->booster, &len, &text), path, err) ||
	    xgb_check(XGBoosterGetNumFeature(m->booster, &nfeat), path, err) ||
	    xgb_check(XGBoosterBoostedRounds(m->booster, &rounds), path, err))
		return -1;
	cfg = json_loadb(text, len, 0, NULL);
	learner = json_object_get(cfg, "learner");
	obj = json_string_value(json_object_get(json_object_get(learner, "objective"), "name"));
	ncls = json_string_value(json_object_get(json_object_get(learner,
			"learner_model_param"), "num_class"));
	if (!obj || strcmp(obj, booster_objective(m)) ||
	    (m->classes > 2 && (!ncls || atoi(ncls) != m->classes))) {
		err_set(err, ERR_USER, "%s: the model's objective is '%s' with %s classes "
			"(expected '%s' for the %d classes of model_meta.json)", path,
			obj ? obj : "?", ncls ? ncls : "?", booster_objective(m), m->classes);
	} else if (nfeat != m->features) {
		err_set(err, ERR_USER, "%s: the model takes %llu features (expected %zu, "
			"as model_meta.json lists)", path, (unsigned long long)nfeat,
			m->features);
	} else if (rounds < m->best_iteration + 1) {
		err_set(err, ERR_USER, "%s: the model has %d rounds (expected at least "
			"best_iteration + 1 = %ld)", path, rounds, m->best_iteration + 1);
	} else {
		rc = 0;
	}
	json_decref(cfg);
	return rc;
}

static int read_booster(struct xgb_model *m, const char *path, struct err *err)
{
	if (!fs_exists(path)) {
		err_set(err, ERR_USER, "%s: no such file (expected train.xgboost's "
			"model.json)", path);
		return -1;
	}
	if (xgb_check(XGBoosterCreate(NULL, 0, &m->booster), "create", err))
		return -1;
	if (XGBoosterLoadModel(m->booster, path)) {
		err_set(err, ERR_USER, "%s: not an XGBoost JSON model: %s", path,
			XGBGetLastError());
		return -1;
	}
	/* 1 thread: a server runs many models; the trees' sums do not depend
	 * on it */
	if (xgb_check(XGBoosterSetParam(m->booster, "nthread", "1"), "nthread", err))
		return -1;
	return check_booster(m, path, err);
}

int xgb_model_load(const char *dir, struct xgb_model **out, struct err *err)
{
	struct xgb_model *m = xcalloc(1, sizeof(*m));
	char *meta = fs_join(dir, "model_meta.json");
	char *model = fs_join(dir, "model.json");
	int rc = read_meta(m, meta, err);

	if (rc == 0)
		rc = read_booster(m, model, err);
	free(meta);
	free(model);
	if (rc) {
		xgb_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int xgb_model_classes(const struct xgb_model *m)
{
	return m->classes;
}

const char *xgb_model_class_name(const struct xgb_model *m, int k)
{
	return m->class_names[k];
}

size_t xgb_model_features(const struct xgb_model *m)
{
	return m->features;
}

const char *xgb_model_feature_name(const struct xgb_model *m, size_t j)
{
	return m->feature_names[j];
}

long xgb_model_best_iteration(const struct xgb_model *m)
{
	return m->best_iteration;
}

/* --- prediction */

int xgb_predict(void *booster, const float *x, size_t rows, size_t features,
		int classes, long iterations, float *out, struct err *err)
{
	DMatrixHandle dm = NULL;
	const bst_ulong *shape;
	bst_ulong dim;
	const float *y;
	char config[160];
	size_t per = classes > 2 ? (size_t)classes : 1;
	int rc = -1;

	if (rows == 0)
		return 0;
	snprintf(config, sizeof(config), "{\"type\": 0, \"training\": false, "
		 "\"iteration_begin\": 0, \"iteration_end\": %ld, \"strict_shape\": "
		 "false}", iterations);
	if (xgb_check(XGDMatrixCreateFromMat(x, rows, features, NAN, &dm), "matrix", err) ||
	    xgb_check(XGBoosterPredictFromDMatrix(booster, dm, config, &shape, &dim, &y),
		      "predict", err))
		goto out;
	for (size_t i = 0; i < rows; i++) {
		if (classes == 2) {   /* binary:logistic gives p(class 1) alone */
			out[2 * i] = 1 - y[i];
			out[2 * i + 1] = y[i];
		} else {
			memcpy(out + i * per, y + i * per, per * sizeof(float));
		}
	}
	rc = 0;
out:
	XGDMatrixFree(dm);
	return rc;
}

int xgb_model_predict(struct xgb_model *m, const float *x, size_t rows, size_t features,
		      float *out, struct err *err)
{
	if (features != m->features) {
		err_set(err, ERR_USER, "%zu features given to a model of %zu (expected "
			"%s, ...)", features, m->features, m->feature_names[0]);
		return -1;
	}
	return xgb_predict(m->booster, x, rows, features, m->classes,
			   m->best_iteration + 1, out, err);
}

void xgb_model_free(struct xgb_model *m)
{
	if (!m)
		return;
	if (m->booster)
		XGBoosterFree(m->booster);
	for (int k = 0; m->class_names && k < m->classes; k++)
		free(m->class_names[k]);
	for (size_t j = 0; m->feature_names && j < m->features; j++)
		free(m->feature_names[j]);
	free(m->class_names);
	free(m->feature_names);
	free(m);
}
