/* modelfile: see modelfile.h. */
#include "modelfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void modelfile_set_meta_long(struct safetensors_writer *sw, const char *key, long v)
{
	char buf[32];   /* 32: a 64-bit long in decimal, sign and NUL */

	snprintf(buf, sizeof(buf), "%ld", v);
	safetensors_set_meta(sw, key, buf);
}

void modelfile_set_meta_float(struct safetensors_writer *sw, const char *key, float v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.9g", (double)v);
	safetensors_set_meta(sw, key, buf);
}

int modelfile_meta_format(const struct safetensors *st, const char *path,
			  const char *want, struct err *err)
{
	const char *fmt = safetensors_meta(st, "format");

	if (fmt && !strcmp(fmt, want))
		return 0;
	err_set(err, ERR_USER, "%s: metadata 'format' is '%s' (expected '%s')",
		path, fmt ? fmt : "missing", want);
	return -1;
}

int modelfile_meta_long(const struct safetensors *st, const char *path, const char *key,
			long lo, long hi, long *out, struct err *err)
{
	const char *s = safetensors_meta(st, key);
	char *end;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < lo || v > hi) {
		err_set(err, ERR_USER, "%s: metadata '%s' is %s%s%s (expected an integer "
			"from %ld to %ld)", path, key, s ? "'" : "missing", s ? s : "",
			s ? "'" : "", lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int modelfile_meta_fraction(const struct safetensors *st, const char *path,
			    const char *key, enum modelfile_fraction upper, float *out,
			    struct err *err)
{
	const char *s = safetensors_meta(st, key);
	int one = upper == MODELFILE_UP_TO_ONE;
	char *end;

	errno = 0;
	*out = s ? strtof(s, &end) : -1;
	if (s && *s && !*end && !errno && *out >= 0 && (*out < 1 || (one && *out == 1)))
		return 0;
	err_set(err, ERR_USER, "%s: metadata '%s' is %s%s%s (expected a number from 0 "
		"to %s)", path, key, s ? "'" : "missing", s ? s : "", s ? "'" : "",
		one ? "1" : "below 1");
	return -1;
}

/* A shape as "[a, b, c]" into 'buf' of 'n' bytes (cut short if need be). */
static const char *shape_text(const size_t *shape, int ndim, char *buf, size_t n)
{
	size_t used = (size_t)snprintf(buf, n, "[");

	for (int d = 0; d < ndim && used < n; d++)
		used += (size_t)snprintf(buf + used, n - used, "%s%zu", d ? ", " : "", shape[d]);
	if (used < n)
		snprintf(buf + used, n - used, "]");
	return buf;
}

/* The file holds exactly the tensors declared in 'p', F32 of their shapes:
 * checked before anything is allocated for them. */
static int check_tensors(const struct tensor_set *p, const struct safetensors *st,
			 const char *path, const char *arch, struct err *err)
{
	char have[128], want[128];   /* 128: a shape as text, cut short past that */

	for (int i = 0; i < p->n; i++) {
		const struct tensor *t = &p->t[i];
		const struct safetensors_tensor *f = safetensors_find(st, t->name);
		if (!f) {
			err_set(err, ERR_USER, "%s: no tensor '%s' (expected the tensors of "
				"the architecture in its metadata)", path, t->name);
			return -1;
		}
		if (strcmp(f->dtype, "F32") || f->ndim != t->ndim ||
		    memcmp(f->shape, t->shape, (size_t)t->ndim * sizeof(size_t))) {
			err_set(err, ERR_USER, "%s: tensor '%s' is %s %s (expected F32 %s, "
				"from the architecture in its metadata)", path, t->name,
				f->dtype, shape_text(f->shape, f->ndim, have, sizeof(have)),
				shape_text(t->shape, t->ndim, want, sizeof(want)));
			return -1;
		}
	}
	for (int i = 0; i < safetensors_count(st); i++) {
		const char *name = safetensors_at(st, i)->name;
		if (!tensor_set_find(p, name)) {
			err_set(err, ERR_USER, "%s: tensor '%s' is not one of a %s (expected "
				"only the %d tensors of its metadata's architecture)", path,
				name, arch, p->n);
			return -1;
		}
	}
	return 0;
}

int modelfile_load_tensors(struct tensor_set *p, const struct safetensors *st,
			   const char *path, const char *arch, json_t **meta,
			   struct err *err)
{
	const char *text;

	if (check_tensors(p, st, path, arch, err))
		return -1;
	tensor_set_alloc(p);
	for (int i = 0; i < p->n; i++)   /* each checked by check_tensors() */
		memcpy(p->t[i].v, safetensors_find(st, p->t[i].name)->data,
		       p->t[i].count * sizeof(float));
	text = safetensors_meta(st, "meta");
	if (meta) {
		*meta = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		if (!*meta)
			*meta = json_null();
	}
	return 0;
}
