/* tabular: a labelled table for supervised learning, built from a
 * data.load output: the feature matrix, the label as class indices or a
 * numeric target, the train / validation / test split and the scaling.
 *
 * Rows: the table's rows in their order (time order, as data.load sorts
 * them), or shuffled by the spec's seed when asked; then the first rows
 * are the training part, the next the validation part and the last the
 * test part, so that without shuffling the test rows are the latest.
 * Part sizes: test = round(rows * test_fraction), val = round(rows *
 * val_fraction), train = the rest.
 *
 * Groups ('group': a column, e.g. a game id): rows with the same value
 * always land in the same part.  The groups are put in the order of their
 * first row in the table (chronological), or shuffled by the seed with
 * shuffle_split (the groups are shuffled, not the rows); each group's rows
 * then follow one another in table order.  The cuts between the parts are
 * those of the plain split above, each moved to the nearest group boundary
 * (a tie: the earlier one).  Without 'group' but with 'folds', every row
 * is a group of its own.
 *
 * Folds ('folds' = k >= 2, 'fold' = f): the groups, in the order above, are
 * cut into k folds of consecutive groups balanced by row count (fold i
 * ends at the group boundary nearest to rows * (i+1) / k), so each group
 * is in exactly one fold.  Fold f is the test part (test_fraction is not
 * used); of the other groups, in order, the last round(their rows *
 * val_fraction) rows' worth (the cut moved to a group boundary) are the
 * validation part, the rest the training part.  Runs with f = 0 .. k-1
 * test every group exactly once.
 *
 * With groups or folds, every part must hold at least one group (the
 * validation part only when val_fraction > 0).  Without them the split is
 * exactly the plain one.
 *
 * Scaling is fitted on the training rows only (scaler.h's standard
 * scaler: population std, a constant column gets std 1), on every feature
 * and, for a numeric target, on the target; 'none' when the spec says so.
 *
 * Classes: the distinct values of the label, sorted: strings by their
 * bytes (strcmp), integers by value.  A class index is a position in that
 * list.
 *
 * Invariant after tabular_build() succeeds: every part's count is known,
 * train and test have at least one row, x holds finite floats, and
 * exactly one of 'label' (classify) and 'target' + 'value' (regress) is
 * set.
 * Not thread-safe while building; read-only after. */
#ifndef DAGRUN_TABULAR_H
#define DAGRUN_TABULAR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "scaler.h"

/* 1000: more classes than a tabular classifier means; a float column
 * given as a class label is caught by it */
#define TABULAR_MAX_CLASSES 1000

enum tabular_objective { TABULAR_CLASSIFY, TABULAR_REGRESS };
enum tabular_part { TABULAR_TRAIN, TABULAR_VAL, TABULAR_TEST, TABULAR_PARTS };

/* What to build.  'features' is a JSON list of column names, or NULL (or
 * JSON null) for every number column except the label. */
struct tabular_spec {
	const char *label;
	json_t *features;
	enum tabular_objective objective;
	double test_fraction, val_fraction;
	int shuffle_split;          /* 1: shuffle the rows before splitting */
	uint64_t seed;              /* the shuffle's */
	enum scaler_kind scaling;   /* SCALER_STANDARD or SCALER_NONE */
	const char *group;          /* a column kept whole in one part; NULL:
				       none.  Never a feature. */
	int folds;                  /* 0: off; else k >= 2 folds of groups */
	int fold;                   /* the test fold, 0 .. folds-1 */
};

struct tabular {
	enum tabular_objective objective;
	size_t rows, features;
	size_t start[TABULAR_PARTS], count[TABULAR_PARTS];
	char **names;               /* the features' names [features] */
	float *x;                   /* [rows, features], scaled */
	int *label;                 /* classify: class index [rows]; else NULL */
	float *target;              /* regress: scaled target [rows]; else NULL */
	double *value;              /* regress: the target as it is [rows] */
	size_t *source;             /* the table row of each row [rows] */
	int64_t *time;              /* the table's time of each row, or NULL */
	int classes;                /* classify: at least 2; else 0 */
	char **class_names;         /* classify: each class as text [classes] */
	json_t *class_values;       /* classify: the classes as JSON strings or
				       integers, as they are in the data */
	struct scaler scaler;       /* the features' */
	struct scaler target_scaler;/* regress: the target's (one column) */
	char *group;                /* the spec's group column, or NULL */
	int folds, fold;            /* the spec's */
	size_t groups[TABULAR_PARTS];  /* with group or folds: distinct groups
					  per part; else 0 */
};

/* Build 't' from the data.load output in 'dir' ('need' names it in
 * messages).  't' is initialised here; release it even on failure.
 * Returns 0, or -1 with 'err' set: ERR_USER for a column that is absent,
 * a feature that is not a number column, a label with fewer than two
 * classes (or more than TABULAR_MAX_CLASSES, or a missing value, or a
 * number that is not an integer), a regress label that is not numbers, a
 * split that leaves no training or test row; for groups and folds, a group
 * column that is absent, the label, listed as a feature, of timestamps or
 * with a missing value, 'fold' not below 'folds', more folds than groups,
 * and a part (or fold) left without a group; ERR_IO for unreadable
 * files. */
int tabular_build(const char *dir, const char *need,
		  const struct tabular_spec *spec, struct tabular *t,
		  struct err *err);
void tabular_release(struct tabular *t);

/* A scaled target value back in the label's units. */
double tabular_unscale(const struct tabular *t, double y);

/* {"train": n, "val": n, "test": n}: the part sizes; a new reference. */
json_t *tabular_parts_json(const struct tabular *t);

/* With a group or folds, {"group": name or null, "folds": k, "fold": f,
 * "groups": {"train": n, "val": n, "test": n}}; else NULL.  A new
 * reference. */
json_t *tabular_split_json(const struct tabular *t);

/* Write the test rows to 'path' as CSV: "row" (the table row), "timestamp"
 * when the table has one, "label", "prediction", then for classify one
 * "p_<class>" column per class.  'out' holds, per test row, the class
 * probabilities (classify, 'classes' a row) or the prediction in the
 * label's units (regress); 'pred' the predicted classes (classify; NULL
 * for regress).  Fields with a comma, quote or line break are quoted (RFC
 * 4180); labels read from the CSV keep their digits.
 * Returns 0, or -1 with 'err' set (ERR_IO; the file may be partial). */
int tabular_write_predictions(const struct tabular *t, const char *path,
			      const float *out, const int *pred, struct err *err);

#endif
