/* classifier: a trained classifier node's output folder, opened for
 * prediction: class probabilities for rows of raw (unscaled) features
 * that the caller names.
 *
 * Supported folders: train.softmax and train.mlp (model.safetensors,
 * tasks/lib/mlp.h's format, whose metadata holds the objective, the
 * features, the classes and the scaler fitted on the training rows) and
 * train.xgboost (model.json + model_meta.json, tasks/lib/xgb.h).  A
 * regression model is refused.
 *
 * Use: classifier_open(), then classifier_bind() with the names of the
 * caller's columns (any order, any superset of the model's features),
 * then classifier_predict() on rows of those columns, as many times as
 * needed.  The model scales the features itself, exactly as its trainer
 * did, so predictions on the training table's rows match the trainer's.
 *
 * Not thread-safe on one classifier; every reading function trusts
 * nothing in the files and fails with ERR_USER and a message that starts
 * with the folder or file. */
#ifndef DAGRUN_CLASSIFIER_H
#define DAGRUN_CLASSIFIER_H

#include <stddef.h>

#include "err.h"

struct classifier;

/* Open the model in 'dir'.  Returns 0 and a new '*out' (free with
 * classifier_free()), or -1 with 'err' set: ERR_USER when the folder holds
 * no model this module reads, a regression model, or a malformed one;
 * ERR_IO when a file cannot be read. */
int classifier_open(const char *dir, struct classifier **out, struct err *err);
void classifier_free(struct classifier *c);

/* "softmax", "mlp" or "xgboost"; static storage. */
const char *classifier_kind(const struct classifier *c);
/* The classes (at least 2) and their names as the trainer wrote them
 * (integers in decimal); borrowed until classifier_free(). */
int classifier_classes(const struct classifier *c);
const char *classifier_class_name(const struct classifier *c, int k);
/* The model's features and their names, in the model's order. */
size_t classifier_features(const struct classifier *c);
const char *classifier_feature_name(const struct classifier *c, size_t j);

/* Declare the caller's columns: rows given to classifier_predict() hold
 * 'n' values, column i called 'names[i]' (copied).  Returns 0, or -1 with
 * 'err' set (ERR_USER naming the model's feature that is not among
 * 'names'). */
int classifier_bind(struct classifier *c, const char *const *names, size_t n,
		    struct err *err);

/* Class probabilities of 'rows' rows 'x' (row-major, the bound columns,
 * as doubles: a data.load table's numbers, which the dense kinds scale
 * in double before rounding to float, as their trainer did) into 'proba'
 * (rows x classes; each row sums to 1).  Call after
 * classifier_bind() (asserted).  Returns 0, or -1 with 'err' set (the
 * xgboost library failing: ERR_INTERNAL). */
int classifier_predict(struct classifier *c, const double *x, size_t rows,
		       float *proba, struct err *err);

#endif
