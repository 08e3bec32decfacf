/* xalloc: allocation that never returns NULL.
 *
 * Like Redis' zmalloc, running out of memory aborts the process with a
 * message: durability comes from SQLite transactions and
 * write-fsync-rename, never from surviving OOM.  Everything returned is
 * owned by the caller and released with free(3). */
#ifndef DAGRUN_XALLOC_H
#define DAGRUN_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow '*arr' (of '*cap' elements of 'size' bytes) to hold at least 'need'. */
void xgrow(void **arr, size_t size, size_t *cap, size_t need);

#endif
