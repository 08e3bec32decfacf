/* confusion: see confusion.h. */
#include "confusion.h"
#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void confusion_init(struct confusion *c, int classes)
{
	assert(classes >= 1);
	c->classes = classes;
	c->total = 0;
	c->count = xcalloc((size_t)classes * (size_t)classes, sizeof(size_t));
}

void confusion_release(struct confusion *c)
{
	free(c->count);
	memset(c, 0, sizeof(*c));
}

void confusion_add(struct confusion *c, int truth, int pred)
{
	assert(truth >= 0 && truth < c->classes && pred >= 0 && pred < c->classes);
	c->count[(size_t)truth * (size_t)c->classes + (size_t)pred]++;
	c->total++;
}

static size_t cell(const struct confusion *c, int truth, int pred)
{
	return c->count[(size_t)truth * (size_t)c->classes + (size_t)pred];
}

/* Rows predicted as class 'k'. */
static size_t predicted(const struct confusion *c, int k)
{
	size_t n = 0;

	for (int t = 0; t < c->classes; t++)
		n += cell(c, t, k);
	return n;
}

size_t confusion_support(const struct confusion *c, int k)
{
	size_t n = 0;

	for (int p = 0; p < c->classes; p++)
		n += cell(c, k, p);
	return n;
}

/* a / b, or 0 when b is 0 */
static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

double confusion_accuracy(const struct confusion *c)
{
	size_t right = 0;

	for (int k = 0; k < c->classes; k++)
		right += cell(c, k, k);
	return c->total ? (double)right / (double)c->total : NAN;
}

double confusion_precision(const struct confusion *c, int k)
{
	return ratio(cell(c, k, k), predicted(c, k));
}

double confusion_recall(const struct confusion *c, int k)
{
	return ratio(cell(c, k, k), confusion_support(c, k));
}

double confusion_f1(const struct confusion *c, int k)
{
	size_t tp = cell(c, k, k);

	return ratio(2 * tp, predicted(c, k) + confusion_support(c, k));
}

void confusion_macro(const struct confusion *c, double *p, double *r, double *f1)
{
	int seen = 0;

	*p = *r = *f1 = 0;
	for (int k = 0; k < c->classes; k++) {
		if (!confusion_support(c, k) && !predicted(c, k))
			continue;
		seen++;
		*p += confusion_precision(c, k);
		*r += confusion_recall(c, k);
		*f1 += confusion_f1(c, k);
	}
	*p = seen ? *p / seen : NAN;
	*r = seen ? *r / seen : NAN;
	*f1 = seen ? *f1 / seen : NAN;
}

json_t *confusion_to_json(const struct confusion *c, char *const *names)
{
	json_t *j = json_object(), *per = json_object(), *mat = json_array();
	double p, r, f1;

	confusion_macro(c, &p, &r, &f1);
	for (int k = 0; k < c->classes; k++) {
		json_t *row = json_array();
		json_object_set_new(per, names[k], json_pack("{s:f, s:f, s:f, s:I}",
			"precision", confusion_precision(c, k), "recall",
			confusion_recall(c, k), "f1", confusion_f1(c, k), "support",
			(json_int_t)confusion_support(c, k)));
		for (int q = 0; q < c->classes; q++)
			json_array_append_new(row, json_integer((json_int_t)cell(c, k, q)));
		json_array_append_new(mat, row);
	}
	json_object_set_new(j, "accuracy", json_real(confusion_accuracy(c)));
	json_object_set_new(j, "macro_precision", json_real(p));
	json_object_set_new(j, "macro_recall", json_real(r));
	json_object_set_new(j, "macro_f1", json_real(f1));
	json_object_set_new(j, "per_class", per);
	json_object_set_new(j, "confusion", mat);
	return j;
}
