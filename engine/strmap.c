/* strmap: see strmap.h. FNV-1a hashing. */
#include "strmap.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void strmap_init(struct strmap *m)
{
	m->cap = 16;
	m->n = 0;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
}

void strmap_release(struct strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static struct strmap_slot *probe(const struct strmap *m, const char *key)
{
	size_t i = fnv1a(key) & (m->cap - 1);

	while (m->slots[i].key && strcmp(m->slots[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static void grow(struct strmap *m)
{
	struct strmap_slot *old = m->slots;
	size_t i, oldcap = m->cap;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++)
		if (old[i].key)
			*probe(m, old[i].key) = old[i];
	free(old);
}

int strmap_put(struct strmap *m, const char *key, int val)
{
	struct strmap_slot *s;

	if (2 * (m->n + 1) > m->cap)
		grow(m);
	s = probe(m, key);
	if (s->key)
		return s->val;
	s->key = key;
	s->val = val;
	m->n++;
	return -1;
}

int strmap_get(const struct strmap *m, const char *key)
{
	const struct strmap_slot *s = probe(m, key);

	return s->key ? s->val : -1;
}
