/* hash: SHA-256 content hashes, through OpenSSL's libcrypto (which uses the
 * CPU's SHA extensions where present).  Never hand-written.
 *
 * A 'struct hash' is 32 raw bytes; its text form is 64 lowercase hex
 * digits.  All functions are thread-safe. */
#ifndef DAGRUN_HASH_H
#define DAGRUN_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HASH_LEN 32
/* 65: SHA-256 hex plus NUL */
#define HASH_HEX_LEN 65

struct hash {
	unsigned char b[HASH_LEN];
};

void hash_bytes(const void *data, size_t n, struct hash *out);
void hash_str(const char *s, struct hash *out);

/* Hash a file's bytes. Returns 0, or -1 with 'err' set (ERR_IO). */
int hash_file(const char *path, struct hash *out, struct err *err);

/* Hash a file and also report its size; used by the object store which
 * needs both in one read. */
int hash_file_size(const char *path, struct hash *out, uint64_t *size,
		   struct err *err);

void hash_to_hex(const struct hash *h, char out[HASH_HEX_LEN]);
/* Parse 64 hex digits. Returns 0, or -1 if 's' is not a hash. */
int hash_from_hex(const char *s, struct hash *out);
int hash_is_hex(const char *s);

#endif
