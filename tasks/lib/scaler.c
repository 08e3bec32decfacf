/* scaler: see scaler.h. */
#include "scaler.h"
#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"none", "standard", "minmax"};
/* The two param names of each kind in JSON (none has none). */
static const char *const param_names[][2] = {{NULL, NULL}, {"mean", "std"},
					     {"min", "max"}};

const char *scaler_kind_name(enum scaler_kind k)
{
	return kind_names[k];
}

int scaler_kind_parse(const char *s, enum scaler_kind *k)
{
	for (int i = 0; i < 3; i++) {
		if (s && !strcmp(s, kind_names[i])) {
			*k = (enum scaler_kind)i;
			return 0;
		}
	}
	return -1;
}

void scaler_init(struct scaler *s, enum scaler_kind k)
{
	memset(s, 0, sizeof(*s));
	s->kind = k;
}

void scaler_release(struct scaler *s)
{
	for (size_t j = 0; j < s->n; j++)
		free(s->names[j]);
	free(s->names);
	free(s->a);
	free(s->b);
	scaler_init(s, s->kind);
}

/* Append column 'name' with params 'a', 'b'; returns its index. */
static size_t append(struct scaler *s, const char *name, double a, double b)
{
	size_t c1 = s->cap, c2 = s->cap;   /* the three arrays grow alike */

	xgrow((void **)&s->names, sizeof(char *), &c1, s->n + 1);
	xgrow((void **)&s->a, sizeof(double), &c2, s->n + 1);
	xgrow((void **)&s->b, sizeof(double), &s->cap, s->n + 1);
	s->names[s->n] = xstrdup(name);
	s->a[s->n] = a;
	s->b[s->n] = b;
	return s->n++;
}

size_t scaler_fit(struct scaler *s, const char *name, const double *x,
		  size_t r0, size_t r1)
{
	double a = 0, b = 0, n = (double)(r1 - r0);

	assert(r0 < r1);
	if (s->kind == SCALER_NONE)
		return append(s, name, 0, 1);
	if (s->kind == SCALER_MINMAX) {
		a = b = x[r0];
		for (size_t i = r0; i < r1; i++) {
			a = x[i] < a ? x[i] : a;
			b = x[i] > b ? x[i] : b;
		}
		return append(s, name, a, b > a ? b : a + 1);
	}
	for (size_t i = r0; i < r1; i++)
		a += x[i];
	a /= n;
	for (size_t i = r0; i < r1; i++)
		b += (x[i] - a) * (x[i] - a);
	b = sqrt(b / n);
	return append(s, name, a, b > 0 ? b : 1);
}

void scaler_fit_all(struct scaler *s, char *const *names, double *const *cols,
		    size_t n, size_t r0, size_t r1)
{
	for (size_t j = 0; j < n; j++)
		scaler_fit(s, names[j], cols[j], r0, r1);
}

long scaler_find(const struct scaler *s, const char *name)
{
	for (size_t j = 0; j < s->n; j++) {
		if (!strcmp(s->names[j], name))
			return (long)j;
	}
	return -1;
}

/* The divisor of column 'j'. */
static double spread(const struct scaler *s, size_t j)
{
	return s->kind == SCALER_MINMAX ? s->b[j] - s->a[j] : s->b[j];
}

double scaler_apply(const struct scaler *s, size_t j, double x)
{
	return (x - s->a[j]) / spread(s, j);
}

double scaler_inverse(const struct scaler *s, size_t j, double y)
{
	return y * spread(s, j) + s->a[j];
}

double *scaler_apply_rows(const struct scaler *s, double *const *cols,
			  size_t r0, size_t r1)
{
	size_t n = s->n;
	double *m = xmalloc((r1 > r0 && n ? (r1 - r0) * n : 1) * sizeof(double));

	for (size_t i = r0; i < r1; i++) {
		for (size_t j = 0; j < n; j++)
			m[(i - r0) * n + j] = scaler_apply(s, j, cols[j][i]);
	}
	return m;
}

json_t *scaler_to_json(const struct scaler *s)
{
	const char *const *pn = param_names[s->kind];
	json_t *params = json_object();

	for (size_t j = 0; j < s->n; j++) {
		json_t *p = json_object();
		if (pn[0]) {
			json_object_set_new(p, pn[0], json_real(s->a[j]));
			json_object_set_new(p, pn[1], json_real(s->b[j]));
		}
		json_object_set_new(params, s->names[j], p);
	}
	return json_pack("{s:s, s:o}", "kind", kind_names[s->kind], "params",
			 params);
}

/* Param 'key' of column 'name': a finite number into '*v'. */
static int number(json_t *p, const char *name, const char *key, double *v,
		  struct err *err)
{
	json_t *x = json_object_get(p, key);

	if (!json_is_number(x) || !isfinite(json_number_value(x))) {
		err_set(err, ERR_USER, "scaler: column '%s' has no number '%s'",
			name, key);
		return -1;
	}
	*v = json_number_value(x);
	return 0;
}

int scaler_from_json(json_t *j, struct scaler *s, struct err *err)
{
	json_t *params = json_object_get(j, "params"), *p;
	const char *kind = json_string_value(json_object_get(j, "kind")), *name;
	enum scaler_kind k;
	double a = 0, b = 1;

	scaler_init(s, SCALER_NONE);
	if (scaler_kind_parse(kind, &k) || !json_is_object(params)) {
		err_set(err, ERR_USER, "scaler: expected {\"kind\": \"standard\", "
			"\"minmax\" or \"none\", \"params\": {...}}");
		return -1;
	}
	s->kind = k;
	json_object_foreach(params, name, p) {
		const char *const *pn = param_names[k];
		if (pn[0] && (number(p, name, pn[0], &a, err) ||
			      number(p, name, pn[1], &b, err)))
			return -1;
		if (pn[0] && !(k == SCALER_MINMAX ? b > a : b > 0)) {
			err_set(err, ERR_USER, "scaler: column '%s' has %s %g, %s %g "
				"(expected %s)", name, pn[0], a, pn[1], b,
				k == SCALER_MINMAX ? "max > min" : "std > 0");
			return -1;
		}
		append(s, name, a, b);
	}
	return 0;
}
