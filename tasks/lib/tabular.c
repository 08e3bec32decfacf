/* tabular: see tabular.h.
 *
 * Built in table order first (features, label, time), then every per-row
 * array is put in the split's row order in one place (reorder()), so the
 * shuffle touches nothing else. */
#include "tabular.h"
#include "rng.h"
#include "table.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Offset of the split shuffle's seed from the spec's seed (arbitrary,
 * fixed: changing it changes every shuffled split) */
#define SEED_SPLIT 0x53504c4954ULL

/* What tabular_build() holds while it works. */
struct build {
	const struct tabular_spec *spec;
	const char *need;
	struct table tbl;
	long label;                 /* the label's column */
	size_t *cols;               /* the features' columns */
	double **raw;               /* the features' values, table order */
	double *y;                  /* regress: the target, table order */
	struct err *err;
};

/* --- features */

/* Column 'name' as a feature: present, numbers, not the label, new. */
static int check_feature(struct build *B, struct tabular *t, const char *name,
			 long c)
{
	char *all;

	if (c < 0) {
		all = table_names(&B->tbl);
		err_set(B->err, ERR_USER, "param 'features': '%s' has no column '%s' "
			"(expected one of: %s)", B->need, name, all);
		free(all);
		return -1;
	}
	if (c == B->label) {
		err_set(B->err, ERR_USER, "param 'features': '%s' is the label (expected "
			"the input columns only)", name);
		return -1;
	}
	if (B->tbl.cols[c].type != TABLE_NUMBER) {
		err_set(B->err, ERR_USER, "param 'features': column '%s' of '%s' holds "
			"%ss (expected number columns only)", name, B->need,
			table_type_name(B->tbl.cols[c].type));
		return -1;
	}
	for (size_t j = 0; j < t->features; j++) {
		if (B->cols[j] == (size_t)c) {
			err_set(B->err, ERR_USER, "param 'features' names '%s' twice",
				name);
			return -1;
		}
	}
	return 0;
}

/* The feature columns: the spec's list, or every number column but the
 * label. */
static int pick_features(struct build *B, struct tabular *t)
{
	json_t *list = B->spec->features, *v;
	size_t i;

	B->cols = xcalloc(B->tbl.n + 1, sizeof(size_t));
	t->names = xcalloc(B->tbl.n + 1, sizeof(char *));
	if (!json_is_array(list)) {
		for (i = 0; i < B->tbl.n; i++)
			if (B->tbl.cols[i].type == TABLE_NUMBER && (long)i != B->label)
				B->cols[t->features++] = i;
	}
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(v);
		if (!name) {
			err_set(B->err, ERR_USER, "param 'features' must be a list of "
				"column names (item %zu is not a string)", i + 1);
			return -1;
		}
		if (check_feature(B, t, name, table_find(&B->tbl, name)))
			return -1;
		B->cols[t->features++] = (size_t)table_find(&B->tbl, name);
	}
	if (t->features == 0) {
		err_set(B->err, ERR_USER, "'%s' has no number column besides the label "
			"'%s' (expected at least one feature)", B->need, B->spec->label);
		return -1;
	}
	for (i = 0; i < t->features; i++)
		t->names[i] = xstrdup(B->tbl.cols[B->cols[i]].name);
	return 0;
}

/* Read every feature column; each value must be finite. */
static int read_features(struct build *B, struct tabular *t)
{
	B->raw = xcalloc(t->features, sizeof(double *));
	for (size_t j = 0; j < t->features; j++) {
		B->raw[j] = table_numbers(&B->tbl, B->cols[j], B->err);
		if (!B->raw[j])
			return -1;
		for (size_t i = 0; i < t->rows; i++) {
			if (isfinite(B->raw[j][i]))
				continue;
			err_set(B->err, ERR_USER, "column '%s' is %g in row %zu of '%s' "
				"(expected finite numbers)", t->names[j], B->raw[j][i],
				i + 1, B->need);
			return -1;
		}
	}
	return 0;
}

/* --- the label */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_num(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sort 'n' values of 'size' bytes and drop repeats; the count kept. */
static size_t sort_unique(void *v, size_t n, size_t size,
			  int (*cmp)(const void *, const void *))
{
	char *p = v;
	size_t k = 0;

	qsort(v, n, size, cmp);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && !cmp(p + (k - 1) * size, p + i * size))
			continue;
		memmove(p + k * size, p + i * size, size);
		k++;
	}
	return k;
}

/* The number of classes: at least 2, at most TABULAR_MAX_CLASSES. */
static int check_classes(struct build *B, size_t n, const char *first)
{
	if (n >= 2 && n <= TABULAR_MAX_CLASSES)
		return 0;
	if (n < 2)
		err_set(B->err, ERR_USER, "label '%s' has one class ('%s') in '%s' "
			"(expected at least two for objective classify)",
			B->spec->label, first, B->need);
	else
		err_set(B->err, ERR_USER, "label '%s' has %zu distinct values (expected "
			"at most %d classes; for a numeric target use train.mlp with "
			"objective: regress)", B->spec->label, n, TABULAR_MAX_CLASSES);
	return -1;
}

/* Classes from a string column. */
static int string_classes(struct build *B, struct tabular *t)
{
	char **s = table_strings(&B->tbl, (size_t)B->label, B->err), **u;
	size_t n;
	int rc = -1;

	if (!s)
		return -1;
	u = xmalloc((t->rows + 1) * sizeof(char *));
	for (size_t i = 0; i < t->rows; i++) {
		if (!s[i]) {
			err_set(B->err, ERR_USER, "label '%s' is missing in row %zu of '%s' "
				"(expected a class in every row)", B->spec->label, i + 1,
				B->need);
			goto out;
		}
		u[i] = s[i];
	}
	n = sort_unique(u, t->rows, sizeof(char *), cmp_str);
	if (check_classes(B, n, u[0]))
		goto out;
	t->classes = (int)n;
	t->class_names = xcalloc(n, sizeof(char *));
	t->class_values = json_array();
	for (size_t k = 0; k < n; k++) {
		t->class_names[k] = xstrdup(u[k]);
		json_array_append_new(t->class_values, json_string(u[k]));
	}
	for (size_t i = 0; i < t->rows; i++)
		t->label[i] = (int)((char **)bsearch(&s[i], u, n, sizeof(char *),
						     cmp_str) - u);
	rc = 0;
out:
	free(u);
	table_strings_free(s, t->rows);
	return rc;
}

/* Classes from a number column: each value an integer. */
static int number_classes(struct build *B, struct tabular *t)
{
	double *v = table_numbers(&B->tbl, (size_t)B->label, B->err), *u;
	size_t n;
	char first[32];
	int rc = -1;

	if (!v)
		return -1;
	u = xmalloc((t->rows + 1) * sizeof(double));
	for (size_t i = 0; i < t->rows; i++) {
		if (v[i] != floor(v[i]) || fabs(v[i]) > 9007199254740992.0) {
			err_set(B->err, ERR_USER, "label '%s' is %g in row %zu of '%s', not "
				"an integer (expected classes as strings or integers; for a "
				"numeric target use train.mlp with objective: regress)",
				B->spec->label, v[i], i + 1, B->need);
			goto out;
		}
		u[i] = v[i];
	}
	n = sort_unique(u, t->rows, sizeof(double), cmp_num);
	snprintf(first, sizeof(first), "%.0f", u[0]);
	if (check_classes(B, n, first))
		goto out;
	t->classes = (int)n;
	t->class_names = xcalloc(n, sizeof(char *));
	t->class_values = json_array();
	for (size_t k = 0; k < n; k++) {
		t->class_names[k] = xasprintf("%.0f", u[k]);
		json_array_append_new(t->class_values, json_integer((json_int_t)u[k]));
	}
	for (size_t i = 0; i < t->rows; i++)
		t->label[i] = (int)((double *)bsearch(&v[i], u, n, sizeof(double),
						      cmp_num) - u);
	rc = 0;
out:
	free(u);
	free(v);
	return rc;
}

/* The label column: present, of a type the objective can use. */
static int read_label(struct build *B, struct tabular *t)
{
	enum table_type type = B->tbl.cols[B->label].type;

	if (type == TABLE_TIME || (type == TABLE_STRING &&
				   B->spec->objective == TABULAR_REGRESS)) {
		err_set(B->err, ERR_USER, "label '%s' of '%s' holds %ss (expected %s)",
			B->spec->label, B->need, table_type_name(type),
			B->spec->objective == TABULAR_REGRESS ? "numbers for objective "
			"regress" : "classes: strings or integers");
		return -1;
	}
	if (B->spec->objective == TABULAR_REGRESS) {
		B->y = table_numbers(&B->tbl, (size_t)B->label, B->err);
		return B->y ? 0 : -1;
	}
	t->label = xcalloc(t->rows + 1, sizeof(int));
	return type == TABLE_STRING ? string_classes(B, t) : number_classes(B, t);
}

/* --- split, order and scaling */

static size_t share(size_t n, double fraction)
{
	return (size_t)floor((double)n * fraction + 0.5);
}

static int split(struct build *B, struct tabular *t)
{
	size_t n = t->rows, test = share(n, B->spec->test_fraction);
	size_t val = share(n, B->spec->val_fraction);

	if (test < 1 || test + val >= n) {
		err_set(B->err, ERR_USER, "%zu rows of '%s' split by test_fraction %g "
			"and val_fraction %g leave %zu training and %zu test rows "
			"(expected at least one of each)", n, B->need,
			B->spec->test_fraction, B->spec->val_fraction,
			test + val >= n ? 0 : n - test - val, test);
		return -1;
	}
	t->count[TABULAR_TRAIN] = n - test - val;
	t->count[TABULAR_VAL] = val;
	t->count[TABULAR_TEST] = test;
	t->start[TABULAR_VAL] = n - test - val;
	t->start[TABULAR_TEST] = n - test;
	return 0;
}

/* A new array of the 'n' items of 'size' bytes of 'a' in the order 'src'
 * (src[i]: the item that becomes item i); 'a' is freed. */
static void *permute(void *a, size_t size, const size_t *src, size_t n)
{
	char *from = a, *to = xmalloc((n + 1) * size);

	for (size_t i = 0; i < n; i++)
		memcpy(to + i * size, from + src[i] * size, size);
	free(a);
	return to;
}

/* Put each per-row array in the order 'src'. */
static void reorder(struct build *B, struct tabular *t, const size_t *src)
{
	for (size_t j = 0; j < t->features; j++)
		B->raw[j] = permute(B->raw[j], sizeof(double), src, t->rows);
	if (t->label)
		t->label = permute(t->label, sizeof(int), src, t->rows);
	if (B->y)
		B->y = permute(B->y, sizeof(double), src, t->rows);
	if (t->time)
		t->time = permute(t->time, sizeof(int64_t), src, t->rows);
}

/* The row order, shuffled or not; every per-row array follows it. */
static void order_rows(struct build *B, struct tabular *t)
{
	struct rng r;

	t->source = xmalloc((t->rows + 1) * sizeof(size_t));
	for (size_t i = 0; i < t->rows; i++)
		t->source[i] = i;
	if (!B->spec->shuffle_split)
		return;
	rng_seed(&r, B->spec->seed + SEED_SPLIT);
	rng_shuffle(&r, t->source, t->rows);
	reorder(B, t, t->source);
}

/* Fit the scalers on the training rows; x and target, scaled. */
static void scale(struct build *B, struct tabular *t)
{
	size_t n = t->rows * t->features, r1 = t->count[TABULAR_TRAIN];
	double *rows;

	scaler_init(&t->scaler, B->spec->scaling);
	scaler_fit_all(&t->scaler, t->names, B->raw, t->features, 0, r1);
	rows = scaler_apply_rows(&t->scaler, B->raw, 0, t->rows);
	t->x = xmalloc((n + 1) * sizeof(float));
	for (size_t i = 0; i < n; i++)
		t->x[i] = (float)rows[i];
	free(rows);
	scaler_init(&t->target_scaler, B->spec->scaling);
	if (!B->y)
		return;
	scaler_fit(&t->target_scaler, B->spec->label, B->y, 0, r1);
	t->target = xmalloc((t->rows + 1) * sizeof(float));
	for (size_t i = 0; i < t->rows; i++)
		t->target[i] = (float)scaler_apply(&t->target_scaler, 0, B->y[i]);
	t->value = B->y;
	B->y = NULL;
}

/* --- the whole */

static int build(struct build *B, const char *dir, struct tabular *t)
{
	if (table_open(dir, &B->tbl, B->err))
		return -1;
	t->rows = B->tbl.rows;
	B->label = table_find(&B->tbl, B->spec->label);
	if (B->label < 0) {
		char *all = table_names(&B->tbl);
		err_set(B->err, ERR_USER, "param 'label': '%s' has no column '%s' "
			"(expected one of: %s)", B->need, B->spec->label, all);
		free(all);
		return -1;
	}
	if (pick_features(B, t) || split(B, t) || read_features(B, t) ||
	    read_label(B, t))
		return -1;
	if (B->tbl.time >= 0 && !(t->time = table_times(&B->tbl, B->err)))
		return -1;
	order_rows(B, t);
	scale(B, t);
	return 0;
}

int tabular_build(const char *dir, const char *need,
		  const struct tabular_spec *spec, struct tabular *t,
		  struct err *err)
{
	struct build B = {.spec = spec, .need = need, .err = err};
	int rc;

	memset(t, 0, sizeof(*t));
	t->objective = spec->objective;
	scaler_init(&t->scaler, SCALER_NONE);
	scaler_init(&t->target_scaler, SCALER_NONE);
	rc = build(&B, dir, t);
	for (size_t j = 0; B.raw && j < t->features; j++)
		free(B.raw[j]);
	free(B.raw);
	free(B.cols);
	free(B.y);
	table_close(&B.tbl);
	return rc;
}

void tabular_release(struct tabular *t)
{
	for (size_t j = 0; t->names && j < t->features; j++)
		free(t->names[j]);
	for (int k = 0; t->class_names && k < t->classes; k++)
		free(t->class_names[k]);
	free(t->names);
	free(t->class_names);
	free(t->x);
	free(t->label);
	free(t->target);
	free(t->value);
	free(t->source);
	free(t->time);
	json_decref(t->class_values);
	scaler_release(&t->scaler);
	scaler_release(&t->target_scaler);
	memset(t, 0, sizeof(*t));
}

double tabular_unscale(const struct tabular *t, double y)
{
	return t->target_scaler.n ? scaler_inverse(&t->target_scaler, 0, y) : y;
}

json_t *tabular_parts_json(const struct tabular *t)
{
	return json_pack("{s:I, s:I, s:I}", "train", (json_int_t)t->count[TABULAR_TRAIN],
			 "val", (json_int_t)t->count[TABULAR_VAL],
			 "test", (json_int_t)t->count[TABULAR_TEST]);
}
