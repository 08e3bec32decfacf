/* strbuf: a growable string, after git's strbuf.
 *
 * Invariant: 'buf' is never NULL and always NUL-terminated, so a strbuf
 * can be printed at any time.  sb_init() must be called first;
 * sb_release() frees the storage, sb_detach() hands it to the caller,
 * who then owns it and releases it with free(3). */
#ifndef DAGRUN_STRBUF_H
#define DAGRUN_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_release(struct strbuf *sb);
char *sb_detach(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
void sb_add(struct strbuf *sb, const void *data, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
