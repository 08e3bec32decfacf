/* tabular: see tabular.h.
 *
 * Built in table order first (features, label, time), then every per-row
 * array is put in the split's row order in one place (reorder()), so the
 * shuffle touches nothing else.  A grouped split (group or folds) decides
 * that order itself, in split_groups(); the plain split keeps its own
 * path, so that its results never change. */
#include "tabular.h"
#include "csv.h"
#include "rng.h"
#include "table.h"
#include "timeparse.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
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
	long group;                 /* the group's column, or -1 */
	int grouped;                /* group or folds: split_groups() */
	size_t *gid;                /* grouped: each table row's group, numbered
				       by first appearance */
	size_t n_groups;
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
	if (c == B->group) {
		err_set(B->err, ERR_USER, "param 'features': '%s' is the group column "
			"(expected the input columns only)", name);
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
			if (B->tbl.cols[i].type == TABLE_NUMBER && (long)i != B->label &&
			    (long)i != B->group)
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
			"'%s'%s (expected at least one feature)", B->need, B->spec->label,
			B->group >= 0 ? " and the group" : "");
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

/* --- groups and folds */

/* One row's group value: a number, or a string when 'str' is set. */
struct gkey {
	double num;
	const char *str;
	size_t row;
};

static int cmp_value(const struct gkey *x, const struct gkey *y)
{
	return x->str ? strcmp(x->str, y->str) : cmp_num(&x->num, &y->num);
}

/* By value, then by row: each group's first row leads its run. */
static int cmp_gkey(const void *a, const void *b)
{
	const struct gkey *x = a, *y = b;
	int c = cmp_value(x, y);

	return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* The group column's values into 'k', in table order; '*strs' holds the
 * strings the keys point into (the caller frees them). */
static int group_keys(struct build *B, struct gkey *k, char ***strs)
{
	size_t c = (size_t)B->group, n = B->tbl.rows;
	enum table_type type = B->tbl.cols[c].type;
	double *v = NULL;

	if (type == TABLE_TIME) {
		err_set(B->err, ERR_USER, "param 'group': '%s' is the time column of "
			"'%s' (expected a column of numbers or strings, such as a game "
			"id)", B->spec->group, B->need);
		return -1;
	}
	if (type == TABLE_STRING)
		*strs = table_strings(&B->tbl, c, B->err);
	else
		v = table_numbers(&B->tbl, c, B->err);
	if (!v && !*strs)
		return -1;
	for (size_t i = 0; i < n; i++) {
		k[i] = (struct gkey){.num = v ? v[i] : 0, .str = v ? NULL : (*strs)[i],
				     .row = i};
		if (v ? !isnan(v[i]) : k[i].str != NULL)
			continue;
		err_set(B->err, ERR_USER, "group '%s' is missing in row %zu of '%s' "
			"(expected a value in every row)", B->spec->group, i + 1, B->need);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

/* B->gid: each row's group, the groups numbered in the order of their
 * first rows; without a group column every row is a group of its own. */
static int number_groups(struct build *B)
{
	size_t n = B->tbl.rows, *head, h = 0;
	struct gkey *k;
	char **strs = NULL;

	B->gid = xmalloc((n + 1) * sizeof(size_t));
	if (B->group < 0) {
		for (size_t i = 0; i < n; i++)
			B->gid[i] = i;
		B->n_groups = n;
		return 0;
	}
	k = xmalloc((n + 1) * sizeof(*k));
	if (group_keys(B, k, &strs)) {
		free(k);
		table_strings_free(strs, n);
		return -1;
	}
	qsort(k, n, sizeof(*k), cmp_gkey);
	head = xmalloc((n + 1) * sizeof(size_t));   /* each row's group's first row */
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || cmp_value(&k[i - 1], &k[i]))
			h = k[i].row;
		head[k[i].row] = h;
	}
	for (size_t r = 0; r < n; r++)   /* head[r] <= r: numbered already */
		B->gid[r] = head[r] == r ? B->n_groups++ : B->gid[head[r]];
	free(head);
	free(k);
	table_strings_free(strs, n);
	return 0;
}

/* The index i of the boundary at[i] nearest to 'target' among the 'n' + 1
 * increasing prefix sums 'at' (at[0] = 0); a tie goes to the earlier. */
static size_t snap(const size_t *at, size_t n, size_t target)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {   /* the last at[i] <= target */
		size_t mid = lo + (hi - lo + 1) / 2;
		if (at[mid] <= target)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo < n && at[lo + 1] - target < target - at[lo])
		lo++;
	return lo;
}

/* Prefix sums of the rows of the 'n' groups seq[] into 'at' [n + 1]. */
static void prefix_rows(const size_t *seq, size_t n, const size_t *size, size_t *at)
{
	at[0] = 0;
	for (size_t j = 0; j < n; j++)
		at[j + 1] = at[j] + size[seq[j]];
}

/* Mark the groups of fold 'spec->fold' as the test part in 'part'. */
static int test_fold(struct build *B, const size_t *seq, const size_t *at, int *part)
{
	size_t G = B->n_groups, n = at[G], k = (size_t)B->spec->folds;
	size_t f = (size_t)B->spec->fold, prev = 0;

	if (k > G) {
		err_set(B->err, ERR_USER, "param 'folds' is %zu but '%s' has %zu %s "
			"(expected at most one fold per group)", k, B->need, G,
			B->group >= 0 ? "groups" : "rows");
		return -1;
	}
	for (size_t i = 1; i <= k; i++) {   /* fold i-1: seq[prev .. c) */
		size_t c = snap(at, G, (size_t)floor((double)n * (double)i / (double)k + 0.5));
		if (c <= prev) {
			err_set(B->err, ERR_USER, "fold %zu of %zu holds no group of '%s': "
				"its groups are too unequal in size (expected fewer folds)",
				i - 1, k, B->need);
			return -1;
		}
		for (size_t j = prev; i - 1 == f && j < c; j++)
			part[seq[j]] = TABULAR_TEST;
		prev = c;
	}
	return 0;
}

/* Mark the test groups in 'part': fold 'fold', or the last
 * round(rows * test_fraction) rows' worth. */
static int test_groups(struct build *B, const size_t *seq, const size_t *at, int *part)
{
	size_t G = B->n_groups, n = at[G], test = share(n, B->spec->test_fraction);

	if (B->spec->folds)
		return test_fold(B, seq, at, part);
	for (size_t j = snap(at, G, test < n ? n - test : 0); j < G; j++)
		part[seq[j]] = TABULAR_TEST;
	return 0;
}

/* Of the groups not in the test part, in order, mark the last
 * round(rows * val_fraction) rows' worth (rows: all of them without folds,
 * the rest with folds) as the validation part; 'rest' is scratch [G+1]. */
static void val_groups(struct build *B, const size_t *seq, const size_t *size,
		       int *part, size_t *rest)
{
	size_t R = 0, *at, val;

	for (size_t j = 0; j < B->n_groups; j++)
		if (part[seq[j]] != TABULAR_TEST)
			rest[R++] = seq[j];
	at = xmalloc((R + 1) * sizeof(size_t));
	prefix_rows(rest, R, size, at);
	val = share(B->spec->folds ? at[R] : B->tbl.rows, B->spec->val_fraction);
	for (size_t j = snap(at, R, val < at[R] ? at[R] - val : 0); j < R; j++)
		part[rest[j]] = TABULAR_VAL;
	free(at);
}

/* Every part has a group (the validation part only when asked for). */
static int check_groups(struct build *B, const struct tabular *t)
{
	const size_t *g = t->groups;

	if (g[TABULAR_TRAIN] && g[TABULAR_TEST] &&
	    (g[TABULAR_VAL] || B->spec->val_fraction == 0))
		return 0;
	err_set(B->err, ERR_USER, "%zu %s of '%s' split %s leave %zu training, %zu "
		"validation and %zu test %s (expected at least one in each part; "
		"val_fraction 0 for no validation part)", B->n_groups,
		B->group >= 0 ? "groups" : "rows", B->need,
		B->spec->folds ? "into folds" : "by test_fraction and val_fraction",
		g[TABULAR_TRAIN], g[TABULAR_VAL], g[TABULAR_TEST],
		B->group >= 0 ? "groups" : "rows");
	return -1;
}

/* t->source: the rows of the training groups, then the validation's, then
 * the test's, each group's rows together in table order. */
static void group_order(struct build *B, struct tabular *t, const size_t *seq,
			const size_t *size, const int *part)
{
	size_t G = B->n_groups, *first = xcalloc(G + 1, sizeof(size_t));
	size_t *rows = xmalloc((t->rows + 1) * sizeof(size_t)), i = 0;

	for (size_t g = 0; g < G; g++)
		first[g + 1] = first[g] + size[g];
	for (size_t r = 0; r < t->rows; r++)   /* counting sort by group */
		rows[first[B->gid[r]]++] = r;
	for (size_t g = 0; g < G; g++)   /* back to each group's start */
		first[g] -= size[g];
	t->source = xmalloc((t->rows + 1) * sizeof(size_t));
	for (int p = 0; p < TABULAR_PARTS; p++) {
		t->start[p] = i;
		for (size_t j = 0; j < G; j++) {
			if (part[seq[j]] != p)
				continue;
			memcpy(t->source + i, rows + first[seq[j]], size[seq[j]] * sizeof(size_t));
			i += size[seq[j]];
			t->groups[p]++;
		}
		t->count[p] = i - t->start[p];
	}
	free(rows);
	free(first);
}

/* The grouped split: groups in order (or shuffled), the test part, the
 * validation part, the rest for training; the row order in t->source. */
static int split_groups(struct build *B, struct tabular *t)
{
	size_t G, *seq, *size, *at;
	int *part, rc = -1;
	struct rng r;

	if (number_groups(B))
		return -1;
	G = B->n_groups;
	seq = xmalloc((G + 1) * sizeof(size_t));
	size = xcalloc(G + 1, sizeof(size_t));
	at = xmalloc((G + 1) * sizeof(size_t));
	part = xcalloc(G + 1, sizeof(int));   /* TABULAR_TRAIN unless marked */
	for (size_t g = 0; g < G; g++)
		seq[g] = g;
	for (size_t i = 0; i < t->rows; i++)
		size[B->gid[i]]++;
	if (B->spec->shuffle_split) {
		rng_seed(&r, B->spec->seed + SEED_SPLIT);
		rng_shuffle(&r, seq, G);
	}
	prefix_rows(seq, G, size, at);
	if (test_groups(B, seq, at, part))
		goto out;
	val_groups(B, seq, size, part, at);
	group_order(B, t, seq, size, part);
	rc = check_groups(B, t);
out:
	free(seq);
	free(size);
	free(at);
	free(part);
	return rc;
}

/* The spec's group and folds: valid together, the column present and not
 * the label.  Sets B->group and B->grouped. */
static int find_group(struct build *B, struct tabular *t)
{
	const struct tabular_spec *s = B->spec;

	B->group = -1;
	B->grouped = s->group || s->folds;
	if (s->folds < 0 || s->folds == 1 || (s->folds && (s->fold < 0 || s->fold >= s->folds)) ||
	    (!s->folds && s->fold)) {
		err_set(B->err, ERR_USER, "param 'fold' is %d and 'folds' %d (expected "
			"folds 0 for off, or folds >= 2 and fold from 0 to folds-1)",
			s->fold, s->folds);
		return -1;
	}
	t->folds = s->folds;
	t->fold = s->fold;
	if (!s->group)
		return 0;
	B->group = table_find(&B->tbl, s->group);
	if (B->group < 0) {
		char *all = table_names(&B->tbl);
		err_set(B->err, ERR_USER, "param 'group': '%s' has no column '%s' "
			"(expected one of: %s)", B->need, s->group, all);
		free(all);
		return -1;
	}
	if (B->group == B->label) {
		err_set(B->err, ERR_USER, "param 'group': '%s' is the label (expected "
			"another column, such as a game id)", s->group);
		return -1;
	}
	t->group = xstrdup(s->group);
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

	if (B->grouped) {   /* split_groups() chose the order */
		reorder(B, t, t->source);
		return;
	}
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
	if (find_group(B, t) || pick_features(B, t) ||
	    (B->grouped ? split_groups(B, t) : split(B, t)) ||
	    read_features(B, t) || read_label(B, t))
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
	free(B.gid);
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
	free(t->group);
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

json_t *tabular_split_json(const struct tabular *t)
{
	if (!t->group && !t->folds)
		return NULL;
	return json_pack("{s:o, s:i, s:i, s:{s:I, s:I, s:I}}",
			 "group", t->group ? json_string(t->group) : json_null(),
			 "folds", t->folds, "fold", t->fold, "groups",
			 "train", (json_int_t)t->groups[TABULAR_TRAIN],
			 "val", (json_int_t)t->groups[TABULAR_VAL],
			 "test", (json_int_t)t->groups[TABULAR_TEST]);
}

/* --- predictions.csv */

/* ",s": a CSV field, quoted (RFC 4180) when it must be. */
static void put_field(FILE *f, const char *s)
{
	fputc(',', f);
	csv_write_field(f, s);
}

/* ",v": 15 significant digits when they read back as 'v' (a value from
 * a CSV stays as it was written), else 17, which always do. */
static void put_number(FILE *f, double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fprintf(f, ",%s", buf);
}

static void put_header(FILE *f, const struct tabular *t)
{
	fputs(t->time ? "row,timestamp,label,prediction" : "row,label,prediction", f);
	for (int k = 0; t->label && k < t->classes; k++) {
		char *name = xasprintf("p_%s", t->class_names[k]);
		put_field(f, name);
		free(name);
	}
	fputc('\n', f);
}

/* Row 'i' of the test part: its table row, time, label, prediction and,
 * for classify, the probabilities 'out'. */
static void put_row(FILE *f, const struct tabular *t, size_t i, const float *out,
		    const int *pred)
{
	size_t r = t->start[TABULAR_TEST] + i, C = (size_t)t->classes;
	char when[TIMEPARSE_TEXT_MAX];

	fprintf(f, "%zu", t->source[r]);
	if (t->time)
		fprintf(f, ",%s", timeparse_format(t->time[r], when));
	if (!t->label) {
		put_number(f, t->value[r]);
		fprintf(f, ",%.9g\n", (double)out[i]);
		return;
	}
	put_field(f, t->class_names[t->label[r]]);
	put_field(f, t->class_names[pred[i]]);
	for (size_t k = 0; k < C; k++)
		fprintf(f, ",%.9g", (double)out[i * C + k]);
	fputc('\n', f);
}

int tabular_write_predictions(const struct tabular *t, const char *path,
			      const float *out, const int *pred, struct err *err)
{
	FILE *f = fopen(path, "w");
	int rc = f ? 0 : -1;

	if (f) {
		put_header(f, t);
		for (size_t i = 0; i < t->count[TABULAR_TEST]; i++)
			put_row(f, t, i, out, pred);
		rc = ferror(f) ? -1 : 0;
		rc = fclose(f) ? -1 : rc;
	}
	if (rc)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	return rc;
}
