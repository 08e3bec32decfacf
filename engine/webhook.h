/* webhook: the endpoints that receive events (the state's 'webhooks'
 * table) and one HTTP POST to one of them, with libcurl.
 *
 * A webhook comes from one of two places:
 *   - the command line (`dagrun webhooks add URL`): 'pipeline' is NULL and
 *     it receives the events of every run, and those without a run;
 *   - a pipeline file's 'webhooks:' list, copied into the state at the start
 *     of each run of that pipeline (webhook_sync_pipeline): 'pipeline' is the
 *     pipeline's name and it receives only events of that pipeline's runs.
 *     A webhook removed from the file is removed from the state at the next
 *     run, with its deliveries.
 * Each has a URL (http or https), the event names it subscribed to (none:
 * every event) and optionally the name of an environment variable holding
 * a secret: with one, each request carries "X-Dagrun-Signature:
 * sha256=<hex HMAC-SHA256 of the body>".  The secret itself is never
 * stored; it is read from the environment of the process that delivers.
 *
 * Functions return 0, or -1 with 'err' set (ERR_USER for what the user
 * named, ERR_IO for the database).  Nothing here keeps global state but
 * libcurl's, which webhook_post() initialises on first use (not
 * thread-safe, as dagrun is single-threaded). */
#ifndef DAGRUN_WEBHOOK_H
#define DAGRUN_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "err.h"

struct pipeline;

/* 1 when 'url' is an http:// or https:// URL with a host; else 0 with
 * 'why' (room for 'n' bytes) saying what is wrong. */
int webhook_url_ok(const char *url, char *why, size_t n);
/* 1 when 'name' is an environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
int webhook_env_name_ok(const char *name);

/* Add a command-line webhook.  'events' is a comma-separated list of
 * known event names (NULL or "": every event); 'secret_env' may be NULL.
 * '*id' (may be NULL) gets its id.  ERR_USER for a bad URL, an unknown
 * event name or the same URL added twice. */
int webhook_add(sqlite3 *db, const char *url, const char *events,
		const char *secret_env, int64_t *id, struct err *err);
/* Remove a command-line webhook and its deliveries.  ERR_USER when there
 * is no such webhook or it belongs to a pipeline file. */
int webhook_remove(sqlite3 *db, int64_t id, struct err *err);
/* Print the webhooks with their delivery counts to stdout. */
int webhook_list(sqlite3 *db, int json, struct err *err);

/* Make the state's webhooks of pipeline 'p' equal to its 'webhooks:'
 * list: add new ones (their high-water mark is the newest event), update
 * the subscriptions and secret_env of kept ones, remove the others with
 * their deliveries.  Joins the open transaction on 'db', if any. */
int webhook_sync_pipeline(sqlite3 *db, const struct pipeline *p,
			  struct err *err);

/* One request. */
struct webhook_request {
	const char *url;
	const char *body;            /* JSON text */
	const char *idempotency_key;
	const char *event;           /* the event name, for X-Dagrun-Event */
	const char *secret;          /* NULL: unsigned */
	double connect_timeout;      /* seconds */
	double timeout;              /* seconds, the whole request */
};

/* What came of it. */
struct webhook_result {
	long http_status;            /* 0: no answer */
	char error[256];             /* "http 500", "Connection refused", ... */
};

/* POST 'rq->body' to 'rq->url' with Content-Type: application/json,
 * Idempotency-Key, X-Dagrun-Event and, with a secret, X-Dagrun-Signature.
 * Redirects are not followed; only http and https are spoken.  Blocks for
 * at most about 'rq->timeout'.  Returns 0 on a 2xx answer, else -1 with
 * 'res->error' set; 'res' is always filled. */
int webhook_post(const struct webhook_request *rq, struct webhook_result *res);

#endif
