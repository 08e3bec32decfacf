/* fetch: HTTP(S) data sources, through libcurl, revalidated by ETag.
 *
 * A kernel's file param (PT_PATH) may be an http:// or https:// URL.  The
 * engine fetches it when it computes the node's key, so the content hash
 * of what the server sent enters the key as the dep's hash: an unchanged
 * remote file leaves the node cached, a changed one reruns it.
 *
 * Files: STATE/downloads/<content hash> holds each body fetched (written
 * whole, then renamed: never half a file); STATE/downloads/url-<hash of
 * the URL>.json remembers the URL's ETag, Last-Modified and content hash.
 * A later fetch sends If-None-Match / If-Modified-Since; a 304 reuses the
 * stored body without transferring it again.
 *
 * Failures: a 4xx answer is the user's error (ERR_USER: a wrong URL); a
 * 5xx answer or no connection is ERR_IO, unless an earlier copy exists:
 * then that copy is used with a warning on stderr (work goes on offline,
 * with the key of the copy it actually reads). */
#ifndef DAGRUN_FETCH_H
#define DAGRUN_FETCH_H

#include "err.h"
#include "hash.h"

/* 1 if 'path' is an http:// or https:// URL. */
int fetch_is_url(const char *path);

/* Revalidate or fetch 'url' into 'state_dir'/downloads; '*out' gets the
 * content hash.  Returns 0 or -1 with 'err' set. */
int fetch_url(const char *state_dir, const char *url, struct hash *out,
	      struct err *err);

/* The local file holding the body of content hash 'h'; caller frees. */
char *fetch_local_path(const char *state_dir, const struct hash *h);

#endif
