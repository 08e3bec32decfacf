/* tensor: see tensor.h. */
#include "tensor.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

float *tensor_alloc(size_t n)
{
	size_t bytes = (n ? n : 1) * sizeof(float);
	float *p;

	/* aligned_alloc wants a multiple of the alignment */
	bytes = (bytes + TENSOR_ALIGN - 1) / TENSOR_ALIGN * TENSOR_ALIGN;
	p = aligned_alloc(TENSOR_ALIGN, bytes);
	if (!p) {
		fprintf(stderr, "fatal: out of memory (%zu bytes)\n", bytes);
		abort();
	}
	memset(p, 0, bytes);
	return p;
}

void tensor_free(float *p)
{
	free(p);
}

void tensor_set_init(struct tensor_set *s)
{
	memset(s, 0, sizeof(*s));
}

void tensor_set_release(struct tensor_set *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->t[i].name);
	free(s->t);
	tensor_free(s->value);
	tensor_free(s->grad);
	tensor_set_init(s);
}

int tensor_set_add(struct tensor_set *s, const char *name, int ndim,
		   const size_t *shape)
{
	struct tensor *t;
	size_t cap = (size_t)s->cap;

	xgrow((void **)&s->t, sizeof(*s->t), &cap, (size_t)s->n + 1);
	s->cap = (int)cap;
	t = &s->t[s->n];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->ndim = ndim;
	t->count = 1;
	for (int d = 0; d < ndim; d++) {
		t->shape[d] = shape[d];
		t->count *= shape[d];
	}
	t->offset = s->total;
	s->total += t->count;
	return s->n++;
}

void tensor_set_alloc(struct tensor_set *s)
{
	s->value = tensor_alloc(s->total);
	s->grad = tensor_alloc(s->total);
	for (int i = 0; i < s->n; i++) {
		s->t[i].v = s->value + s->t[i].offset;
		s->t[i].g = s->grad + s->t[i].offset;
	}
}

struct tensor *tensor_set_find(const struct tensor_set *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->t[i].name, name))
			return &s->t[i];
	return NULL;
}
