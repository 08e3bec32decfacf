/* xgb: a trained train.xgboost output folder, loaded for prediction.
 *
 * The folder holds model.json (XGBoost's own JSON model, written by
 * XGBoosterSaveModel) and model_meta.json (dagrun's description of it):
 *
 *   {"format": "dagrun-xgboost-1", "objective": "classify"|"regress",
 *    "classes": ["a", "b", ...],            (empty for regress)
 *    "features": ["x1", "x2", ...],         (the column order 'x' must use)
 *    "best_iteration": N, "rounds": R}
 *
 * Prediction uses the trees up to and including 'best_iteration' (what
 * early stopping chose; the last round when it was off).  Every reading
 * function trusts nothing in the files and fails with ERR_USER and a
 * message that starts with the file's path.  A struct xgb_model is not
 * thread-safe: give each thread its own, or serialise the calls. */
#ifndef DAGRUN_XGB_H
#define DAGRUN_XGB_H

#include <stddef.h>

#include "err.h"

/* What model_meta.json's "format" must be. */
#define XGB_META_FORMAT "dagrun-xgboost-1"

struct xgb_model;  /* a loaded train.xgboost output folder */

/* Read 'dir'/model.json and 'dir'/model_meta.json into a new model,
 * '*out', which the caller frees with xgb_model_free().  Returns 0, or -1
 * with 'err' set: ERR_USER naming the file for anything missing or
 * malformed (the two files disagreeing on classes or features count as
 * malformed), ERR_INTERNAL when the library fails otherwise.  '*out' is
 * untouched on failure. */
int xgb_model_load(const char *dir, struct xgb_model **out, struct err *err);

/* The number of classes, 2 or more; 0 for a regression model. */
int xgb_model_classes(const struct xgb_model *m);
/* Class 'k''s name (0 <= k < classes), borrowed until xgb_model_free(). */
const char *xgb_model_class_name(const struct xgb_model *m, int k);

/* The number of input features and their names, in the order 'x' uses;
 * names borrowed until xgb_model_free(). */
size_t xgb_model_features(const struct xgb_model *m);
const char *xgb_model_feature_name(const struct xgb_model *m, size_t j);

/* Predict 'rows' rows of 'x' (raw, unscaled, row-major, 'features' values
 * a row in the model's feature order; NaN means missing).  Writes to 'out'
 * rows*classes class probabilities (classify; each row sums to 1, also
 * for 2 classes) or 'rows' values (regress).  Returns 0, or -1 with 'err'
 * set: ERR_USER when 'features' is not the model's, ERR_INTERNAL with the
 * library's text when it fails. */
int xgb_model_predict(struct xgb_model *m, const float *x, size_t rows, size_t features,
		      float *out, struct err *err);

/* The last round whose trees xgb_model_predict() uses (0-based). */
long xgb_model_best_iteration(const struct xgb_model *m);

/* Release everything 'm' holds; NULL is fine. */
void xgb_model_free(struct xgb_model *m);

/* --- for train.xgboost, which holds the booster itself */

/* 0 when 'rc' (an XGBoost C API return) is 0; else -1 with 'err' set to
 * ERR_INTERNAL "xgboost: 'what': <the library's last error>". */
int xgb_check(int rc, const char *what, struct err *err);

/* Predict as xgb_model_predict() does with 'booster' (a BoosterHandle of
 * an objective that matches 'classes', as model_meta.json's) and the
 * trees of its first 'iterations' rounds. */
int xgb_predict(void *booster, const float *x, size_t rows, size_t features,
		int classes, long iterations, float *out, struct err *err);

#endif
