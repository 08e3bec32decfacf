/* remote: a shared cache of node results over HTTP, in bazel-remote's
 * layout, through libcurl.
 *
 *   URL/ac/KEY      the action result of cache key KEY: the outputs hash
 *                   (the hash of the node's manifest), 64 lowercase hex
 *                   digits and nothing else
 *   URL/cas/SHA256  an object: a file a node wrote, or a manifest
 *
 * GET reads, PUT writes, HEAD asks whether an object is there.  Nothing
 * the remote sends is trusted: an object is kept only when its SHA-256 and
 * size are what the manifest says, a manifest only when its SHA-256 is the
 * one the action result names and every path in it is a plain relative
 * path.  Objects go into the local store as they are verified and the
 * manifest last, so the store never holds a manifest whose objects are
 * missing (store.h's invariant).
 *
 * Failures never fail a run: they are reported to the caller, who runs
 * the node locally.  A transport problem (no connection within
 * REMOTE_CONNECT_MS, a stalled transfer, an HTTP status other than the
 * expected ones) marks the remote down, and a down remote is not asked
 * again during this run, so an unreachable server costs one timeout, not
 * one per node.  A corrupt object only costs its node.
 *
 * Not thread-safe: one 'struct remote' belongs to one scheduler. */
#ifndef DAGRUN_REMOTE_H
#define DAGRUN_REMOTE_H

#include <jansson.h>

#include "err.h"
#include "hash.h"

/* 2000: milliseconds to connect before the remote counts as unreachable */
#define REMOTE_CONNECT_MS 2000L
/* 10000: milliseconds an action result or HEAD request may take in all */
#define REMOTE_SMALL_MS 10000L
/* 1024 bytes/s for 10 s: a slower object transfer counts as stalled */
#define REMOTE_LOW_SPEED 1024L
#define REMOTE_LOW_SPEED_S 10L

struct remote;
struct store;

/* 1 if 'url' can name a remote cache (http:// or https://). */
int remote_url_ok(const char *url);

/* A remote cache at 'url' (http:// or https://, with or without a
 * trailing '/'; user:password@ in it is sent as basic authentication and
 * never printed), or NULL if remote_url_ok() refuses 'url'.  No request
 * is made yet.  The caller frees it with remote_free(). */
struct remote *remote_new(const char *url);
void remote_free(struct remote *r);

/* The URL for messages, without any credentials.  Borrowed. */
const char *remote_name(const struct remote *r);

/* 1 once a transport problem marked the remote down for this run. */
int remote_is_down(const struct remote *r);

/* Look 'key' (64 hex digits) up.  On a hit every object of its outputs
 * and then the manifest are verified and put into 'st', '*outputs' gets
 * the outputs hash, '*manifest' the manifest (caller decrefs), and 1 is
 * returned.  0: a miss (the remote lacks the key or one of its objects);
 * nothing is changed.  -1 with 'err' set (ERR_IO): a transport problem
 * (the remote is now down), data that failed verification (nothing
 * unverified was stored; objects verified before it stay, unreferenced,
 * for gc) or a local store problem.  Makes no request once the remote is
 * down (returns 0). */
int remote_get(struct remote *r, struct store *st, const char *key,
	       struct hash *outputs, json_t **manifest, struct err *err);

/* Upload outputs 'outputs' (its manifest and objects must be in 'st') as
 * the result of 'key': each object the remote lacks (HEAD answers 404) is
 * PUT, then the manifest, then the action result, so a reader never finds
 * an action result whose objects were not sent.  Returns 0, or -1 with
 * 'err' set (ERR_IO; the remote is now down).  Blocks for the transfers;
 * a stalled one is given up after REMOTE_LOW_SPEED_S. */
int remote_put(struct remote *r, const struct store *st, const char *key,
	       const struct hash *outputs, struct err *err);

#endif
