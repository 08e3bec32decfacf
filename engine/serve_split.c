/* serve_split: weighted, sticky alias choice (see serve_split.h). */
#include "serve_split.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void serve_split_release(struct serve_split *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->alias[i]);
	memset(s, 0, sizeof(*s));
}

/* One "ALIAS=WEIGHT" of 'n' bytes at 'p' into 's'. */
static int parse_one(const char *p, size_t n, struct serve_split *s,
		     struct err *err)
{
	const char *eq = memchr(p, '=', n);
	unsigned long w = 0;
	size_t k;

	if (!eq || eq == p || eq + 1 == p + n) {
		err_set(err, ERR_USER, "bad --split part '%.*s' (expected ALIAS=WEIGHT, "
			"such as production=90)", (int)n, p);
		return -1;
	}
	for (k = (size_t)(eq + 1 - p); k < n; k++) {
		if (p[k] < '0' || p[k] > '9' || w > SERVE_SPLIT_MAX_TOTAL) {
			err_set(err, ERR_USER, "bad --split weight in '%.*s' (expected a "
				"whole number up to %d)", (int)n, p, SERVE_SPLIT_MAX_TOTAL);
			return -1;
		}
		w = w * 10 + (unsigned long)(p[k] - '0');
	}
	for (k = 0; k < s->n; k++)
		if (strlen(s->alias[k]) == (size_t)(eq - p) &&
		    !memcmp(s->alias[k], p, (size_t)(eq - p))) {
			err_set(err, ERR_USER, "--split names alias '%s' twice", s->alias[k]);
			return -1;
		}
	if (s->n == SERVE_SPLIT_MAX) {
		err_set(err, ERR_USER, "--split names more than %d aliases",
			SERVE_SPLIT_MAX);
		return -1;
	}
	s->alias[s->n] = xstrndup(p, (size_t)(eq - p));
	s->weight[s->n++] = (unsigned)w;
	s->total += (unsigned)w;
	return 0;
}

int serve_split_parse(const char *text, struct serve_split *s, struct err *err)
{
	const char *p = text;

	memset(s, 0, sizeof(*s));
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (parse_one(p, n, s, err) < 0)
			return -1;
		if (s->total > SERVE_SPLIT_MAX_TOTAL) {
			err_set(err, ERR_USER, "--split weights add up to more than %d",
				SERVE_SPLIT_MAX_TOTAL);
			return -1;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (s->total == 0) {
		err_set(err, ERR_USER, "--split weights add up to 0 (expected at least "
			"one alias with a weight above 0)");
		return -1;
	}
	return 0;
}

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

unsigned serve_split_point(const struct serve_split *s, const char *key,
			   size_t key_len, uint64_t seq)
{
	uint64_t h = 0xcbf29ce484222325ULL;    /* FNV-1a offset basis */

	if (s->total == 0)
		return 0;
	if (!key)
		return (unsigned)(mix(seq) % s->total);
	for (size_t i = 0; i < key_len; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	return (unsigned)(mix(h) % s->total);
}

const char *serve_split_pick(const struct serve_split *s, unsigned point,
			     int (*present)(void *arg, const char *alias),
			     void *arg)
{
	size_t i = 0, k;
	unsigned acc = 0;

	if (s->n == 0)
		return NULL;
	while (i + 1 < s->n && point >= acc + s->weight[i])
		acc += s->weight[i++];
	for (k = 0; k < s->n; k++) {
		size_t j = (i + k) % s->n;
		if (s->weight[j] > 0 && present(arg, s->alias[j]))
			return s->alias[j];
	}
	return NULL;
}
