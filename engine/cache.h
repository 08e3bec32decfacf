/* cache: a node's cache key and the reasons one key differs from another.
 *
 * key = SHA-256 of one canonical JSON document (sorted keys, no spaces,
 * reals with 17 significant digits):
 *   {"code", "deps":[{"hash","path"}], "format", "inputs":[{"hash","name"}],
 *    "params", "salt", "task", "task_version"}
 * 'inputs' are the outputs hashes of the needed nodes, by node id; 'deps'
 * the content hashes of the files the node reads, through the file memo
 * (a file whose path, size, mtime_ns and inode are unchanged is not read
 * again); 'code' the hash of a shell node's command or a lua node's script.
 * Resources, retries, timeouts and the executor are not in the key. */
#ifndef DAGRUN_CACHE_H
#define DAGRUN_CACHE_H

#include <jansson.h>

#include "err.h"
#include "hash.h"

/* 1: bump when the document's shape changes, so old keys never match */
#define CACHE_FORMAT 1

struct pipeline;
struct state;
struct strbuf;

struct cache_key {
	char hex[HASH_HEX_LEN];
	char *doc;        /* canonical text; owned */
};

/* Compute the key of node 'i'. 'inputs' holds the outputs hash of each of
 * its needs, in needs[] order; 'salt' may be NULL.  Returns 0, or -1 with
 * 'err' set (ERR_IO when a dep file cannot be read). */
int cache_key(struct state *st, const struct pipeline *p, int i,
	      const struct hash *inputs, const char *salt,
	      struct cache_key *out, struct err *err);
void cache_key_release(struct cache_key *k);

/* The content hash of a root-relative file, through the memo. */
int cache_file_hash(struct state *st, const char *root, const char *path,
		    struct hash *out, struct err *err);

/* Why 'now' differs from 'before' (both canonical documents), appended
 * to 'sb' as "params changed (lr, hidden); input features changed".
 * 'before' may be NULL ("new node").  Returns the number of reasons. */
int cache_explain(const char *before, const char *now, struct strbuf *sb);

/* Print the two documents part by part, marking what differs. */
void cache_print_diff(const char *before, const char *now, struct strbuf *sb);

#endif
