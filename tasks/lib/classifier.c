/* classifier: see classifier.h.  One struct for every kind: the names and
 * the binding are shared; the dense kinds add the network and its scaler,
 * train.xgboost its booster (xgb.h), which takes the features unscaled.
 * Rows are predicted in chunks of CHUNK, gathered (and for the dense
 * kinds scaled) into one buffer, so that a call of any size allocates
 * nothing per row. */
#include "classifier.h"
#include "fs.h"
#include "mlp.h"
#include "safetensors.h"
#include "scaler.h"
#include "xalloc.h"
#include "xgb.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* 256: rows per chunk: one sgemm per layer of a useful size, and a small
 * gather buffer */
#define CHUNK 256

struct classifier {
	const char *kind;          /* static */
	int classes;
	char **class_names;        /* [classes], owned */
	size_t features;
	char **feature_names;      /* [features], owned */
	size_t n_cols;             /* the bound row width; 0 before binding */
	size_t *col;               /* the caller's column of each feature */
	float *buf;                /* a chunk of gathered rows */
	/* train.softmax / train.mlp */
	struct mlp *mlp;
	struct mlp_work *work;
	struct scaler sc;
	long *scale;               /* the scaler column of each feature, or -1 */
	/* train.xgboost */
	struct xgb_model *xgb;
};

/* 'text' (metadata 'key' of 'path') parsed as a JSON list of 'n' strings,
 * or of integers when 'ints' is set, into 'out' (new strings).  Returns 0,
 * or -1 with 'err' set. */
static int meta_names(const char *text, const char *path, const char *key, size_t n,
		      int ints, char ***out, struct err *err)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL, *v;
	int ok = json_is_array(j) && json_array_size(j) == n;
	size_t i;

	json_array_foreach(j, i, v)
		ok = ok && (json_is_string(v) || (ints && json_is_integer(v)));
	if (ok) {
		*out = xcalloc(n + 1, sizeof(char *));
		json_array_foreach(j, i, v)
			(*out)[i] = json_is_string(v) ? xstrdup(json_string_value(v)) :
				    xasprintf("%lld", (long long)json_integer_value(v));
	} else {
		err_set(err, ERR_USER, "%s: metadata '%s' is not a list of %zu %s "
			"(expected what train.softmax or train.mlp writes)", path, key, n,
			ints ? "class values" : "names");
	}
	json_decref(j);
	return ok ? 0 : -1;
}

/* The scaler of the features, and each feature's column in it. */
static int dense_scaler(struct classifier *c, const struct safetensors *st,
			const char *path, struct err *err)
{
	const char *text = safetensors_meta(st, "scaler");
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	int rc = scaler_from_json(j, &c->sc, err);

	json_decref(j);
	if (rc) {
		err_prefix(err, path);
		return -1;
	}
	c->scale = xcalloc(c->features + 1, sizeof(long));
	for (size_t k = 0; k < c->features; k++) {
		c->scale[k] = scaler_find(&c->sc, c->feature_names[k]);
		if (c->scale[k] < 0 && c->sc.kind != SCALER_NONE) {
			err_set(err, ERR_USER, "%s: the scaler has no column '%s' "
				"(expected one per feature)", path, c->feature_names[k]);
			return -1;
		}
	}
	return 0;
}

/* A train.softmax or train.mlp model from 'path'. */
static int open_dense(struct classifier *c, const char *path, struct err *err)
{
	struct safetensors *st = NULL;
	const char *objective, *kind;
	const struct mlp_config *cfg;
	int rc = -1;

	scaler_init(&c->sc, SCALER_NONE);
	c->mlp = mlp_load(path, &st, err);
	if (!c->mlp)
		return -1;
	cfg = mlp_config(c->mlp);
	objective = safetensors_meta(st, "objective");
	kind = safetensors_meta(st, "kind");
	c->kind = kind && !strcmp(kind, "softmax") ? "softmax" : "mlp";
	c->features = (size_t)cfg->input_size;
	c->classes = cfg->output_size;
	if (!objective || strcmp(objective, "classify") || c->classes < 2)
		err_set(err, ERR_USER, "%s: a model of objective '%s' with %d outputs "
			"(expected a classifier: objective classify, 2 or more classes)",
			path, objective ? objective : "(none)", c->classes);
	else if (meta_names(safetensors_meta(st, "features"), path, "features",
			    c->features, 0, &c->feature_names, err) == 0 &&
		 meta_names(safetensors_meta(st, "classes"), path, "classes",
			    (size_t)c->classes, 1, &c->class_names, err) == 0)
		rc = dense_scaler(c, st, path, err);
	safetensors_free(st);
	if (rc == 0)
		c->work = mlp_work_new(c->mlp, CHUNK);
	return rc;
}

/* A train.xgboost model from 'dir'; 'path' is its model_meta.json. */
static int open_xgb(struct classifier *c, const char *dir, const char *path,
		    struct err *err)
{
	if (xgb_model_load(dir, &c->xgb, err))
		return -1;
	c->kind = "xgboost";
	c->classes = xgb_model_classes(c->xgb);
	c->features = xgb_model_features(c->xgb);
	if (c->classes < 2) {
		err_set(err, ERR_USER, "%s: a regression model (expected a "
			"classifier: objective classify)", path);
		c->classes = 0;
		return -1;
	}
	c->class_names = xcalloc((size_t)c->classes + 1, sizeof(char *));
	for (int k = 0; k < c->classes; k++)
		c->class_names[k] = xstrdup(xgb_model_class_name(c->xgb, k));
	c->feature_names = xcalloc(c->features + 1, sizeof(char *));
	for (size_t j = 0; j < c->features; j++)
		c->feature_names[j] = xstrdup(xgb_model_feature_name(c->xgb, j));
	return 0;
}

int classifier_open(const char *dir, struct classifier **out, struct err *err)
{
	struct classifier *c = xcalloc(1, sizeof(*c));
	char *path = fs_join(dir, "model.safetensors");
	char *meta = fs_join(dir, "model_meta.json");
	int rc;

	if (fs_exists(path)) {
		rc = open_dense(c, path, err);
	} else if (fs_exists(meta)) {
		rc = open_xgb(c, dir, meta, err);
	} else {
		err_set(err, ERR_USER, "%s: no model.safetensors or model_meta.json "
			"(expected the output of train.softmax, train.mlp or "
			"train.xgboost)", dir);
		rc = -1;
	}
	free(path);
	free(meta);
	if (rc) {
		classifier_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	free_names(c->class_names, (size_t)c->classes);
	free_names(c->feature_names, c->features);
	free(c->col);
	tensor_free(c->buf);
	mlp_work_free(c->work);
	mlp_free(c->mlp);
	scaler_release(&c->sc);
	free(c->scale);
	xgb_model_free(c->xgb);
	free(c);
}

const char *classifier_kind(const struct classifier *c)
{
	return c->kind;
}

int classifier_classes(const struct classifier *c)
{
	return c->classes;
}

const char *classifier_class_name(const struct classifier *c, int k)
{
	return c->class_names[k];
}

size_t classifier_features(const struct classifier *c)
{
	return c->features;
}

const char *classifier_feature_name(const struct classifier *c, size_t j)
{
	return c->feature_names[j];
}

int classifier_bind(struct classifier *c, const char *const *names, size_t n,
		    struct err *err)
{
	size_t *col = xcalloc(c->features + 1, sizeof(size_t));

	for (size_t k = 0; k < c->features; k++) {
		size_t i = 0;
		while (i < n && strcmp(names[i], c->feature_names[k]))
			i++;
		if (i == n) {
			err_set(err, ERR_USER, "the model's feature '%s' is not among "
				"the %zu columns given (expected the features it was "
				"trained on)", c->feature_names[k], n);
			free(col);
			return -1;
		}
		col[k] = i;
	}
	free(c->col);
	c->col = col;
	c->n_cols = n;
	if (!c->buf)
		c->buf = tensor_alloc(CHUNK * c->features);
	return 0;
}

/* Rows x[0 .. rows) (rows <= CHUNK) into the buffer in the model's order,
 * scaled for a dense model. */
static void gather(struct classifier *c, const double *x, size_t rows)
{
	for (size_t i = 0; i < rows; i++) {
		for (size_t k = 0; k < c->features; k++) {
			double v = x[i * c->n_cols + c->col[k]];
			if (c->scale && c->scale[k] >= 0)
				v = scaler_apply(&c->sc, (size_t)c->scale[k], v);
			c->buf[i * c->features + k] = (float)v;
		}
	}
}

int classifier_predict(struct classifier *c, const double *x, size_t rows,
		       float *proba, struct err *err)
{
	size_t C = (size_t)c->classes;

	assert(c->col);
	for (size_t i = 0; i < rows; i += CHUNK) {
		size_t b = rows - i < CHUNK ? rows - i : CHUNK;
		gather(c, x + i * c->n_cols, b);
		if (c->xgb) {
			if (xgb_model_predict(c->xgb, c->buf, b, c->features,
					      proba + i * C, err))
				return -1;
			continue;
		}
		mlp_predict(c->mlp, c->work, c->buf, b, proba + i * C);
		mlp_softmax(proba + i * C, b, c->classes);
	}
	return 0;
}
