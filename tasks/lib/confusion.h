/* confusion: the confusion matrix of a classifier's predictions, and the
 * metrics that derive from it, as scikit-learn computes them.
 *
 * Row = true class, column = predicted class (sklearn's confusion_matrix).
 * Per class k: precision = tp / (predicted k), recall = tp / (truly k),
 * f1 = 2 tp / (2 tp + fp + fn); each is 0 when its denominator is 0
 * (sklearn's zero_division=0).  Macro averages are plain means of the
 * per-class figures over the classes that occur in the truth or in the
 * predictions (sklearn's default labels).  A 'struct confusion' is
 * caller-owned: confusion_init() then confusion_release(). */
#ifndef DAGRUN_CONFUSION_H
#define DAGRUN_CONFUSION_H

#include <jansson.h>
#include <stddef.h>

struct confusion {
	int classes;
	size_t total;
	size_t *count;       /* [classes * classes] */
};

void confusion_init(struct confusion *c, int classes);
void confusion_release(struct confusion *c);
/* Count one prediction; both classes in [0, classes) (asserted). */
void confusion_add(struct confusion *c, int truth, int pred);

/* The share of correct predictions; NAN when nothing was counted. */
double confusion_accuracy(const struct confusion *c);
double confusion_precision(const struct confusion *c, int k);
double confusion_recall(const struct confusion *c, int k);
double confusion_f1(const struct confusion *c, int k);
/* How many rows truly are of class 'k'. */
size_t confusion_support(const struct confusion *c, int k);
/* The macro averages into 'p', 'r', 'f1' (NAN when nothing was counted). */
void confusion_macro(const struct confusion *c, double *p, double *r, double *f1);

/* {"accuracy", "macro_precision", "macro_recall", "macro_f1",
 * "per_class": {"<name>": {"precision", "recall", "f1", "support"}},
 * "confusion": [[...], ...]} with the classes called 'names[k]'; a new
 * reference. */
json_t *confusion_to_json(const struct confusion *c, char *const *names);

#endif
