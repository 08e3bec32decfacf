/* strmap: a map from strings to non-negative ints (node ids to indices).
 *
 * Open addressing with linear probing, kept at most half full so a probe
 * sequence stays short.  Keys are borrowed: the caller keeps them alive
 * and unchanged while they are in the map.  Not thread-safe. */
#ifndef DAGRUN_STRMAP_H
#define DAGRUN_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	const char *key;
	int val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;     /* a power of two */
	size_t n;
};

void strmap_init(struct strmap *m);
void strmap_release(struct strmap *m);
/* Insert 'key' -> 'val' unless present. Returns the value already there,
 * or -1 if 'key' was new (and is now mapped to 'val'). */
int strmap_put(struct strmap *m, const char *key, int val);
/* The value for 'key', or -1. */
int strmap_get(const struct strmap *m, const char *key);

#endif
