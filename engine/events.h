/* events: the durable outbox of what happened in runs, and its delivery to
 * webhooks (webhook.h).
 *
 * An event is one row of the state's 'events' table: a name (run_finished,
 * node_failed, model_promoted, drift_detected, ...), the run and node it
 * belongs to (either may be NULL), a JSON payload and the time it was
 * written.  It is written in the same transaction as the fact it reports,
 * so an event exists exactly when its fact was committed (the outbox
 * pattern); sending it is a later, separate step that may be repeated.
 *
 * A delivery is one (event, webhook) pair in the 'deliveries' table:
 * 'pending', 'delivered' or 'failed' (a dead letter: the maximum number of
 * attempts was reached), with its attempt count, the time of its next
 * attempt, the last HTTP status and error.  A delivery pass first plans:
 * it pairs every event newer than a webhook's high-water mark with that
 * webhook if the webhook subscribed to the event's name and, for a webhook
 * of a pipeline file, the event belongs to a run of that pipeline.  Then it
 * POSTs what is due, oldest first per webhook.
 *
 * Invariants:
 *   - events are never changed once written; a delivery only moves from
 *     pending to delivered or failed;
 *   - a delivery is marked delivered only after a 2xx answer, so a crash
 *     between the answer and the mark sends it again (at-least-once), with
 *     the same Idempotency-Key "dagrun-<state id>-<event id>": the state id
 *     is 32 random hex digits made when the state was created;
 *   - a webhook never gets events older than itself: its high-water mark
 *     starts at the newest event when it is added;
 *   - an attempt is counted before its request is sent, so a crash can
 *     cost an attempt but never hides one.
 * Functions take the state's database handle (state_db()) and keep no
 * global state.  They are not thread-safe: one caller per handle. */
#ifndef DAGRUN_EVENTS_H
#define DAGRUN_EVENTS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <sqlite3.h>

#include "err.h"

/* 10: attempts per delivery before it becomes a dead letter */
#define EVENTS_MAX_ATTEMPTS 10

/* An event name dagrun knows, and what it reports. */
struct events_name {
	const char *name;
	const char *doc;
};

/* The known event names (a const table; '*n' gets its length).  Webhook
 * subscriptions must name one of them. */
const struct events_name *events_names(int *n);
int events_name_known(const char *name);
/* "run_finished, node_failed, ...": for "expected one of" messages.
 * Borrowed, static storage. */
const char *events_names_text(void);

/* Write one event.  'run_id' <= 0 and 'node' NULL store NULL; 'payload'
 * (an object, or NULL for {}) is stolen: the caller must not use or free
 * it after the call, whatever it returns.  A payload must not have an
 * "event" member equal to 'name' (that shape marks a line a node wrote,
 * see events_payload()).  Joins the transaction open on 'db' if there is
 * one, else commits on its own.  Returns 0, or -1 with 'err' set (ERR_IO). */
int events_emit(sqlite3 *db, int64_t run_id, const char *node,
		const char *name, json_t *payload, struct err *err);

/* Emit run_finished for 'run_id' from its row in 'runs' (status, counts
 * and seconds must already be set there): for state_run_end(), in its
 * transaction.  Returns 0, or -1 with 'err' set (ERR_IO). */
int events_run_finished(sqlite3 *db, int64_t run_id, struct err *err);

/* The payload a webhook receives for a stored payload text: a line a node
 * wrote to DAGRUN_EVENTS ({"event": name, "node": .., "details": {..}})
 * gives its "details" (or the line without "event" and "node"); anything
 * else is itself.  Returns a new reference (never NULL). */
json_t *events_payload(const char *name, const char *stored);

/* How a delivery pass behaves.  Fill with one of the two defaults below,
 * then change what differs. */
struct events_deliver_opts {
	int max_attempts;        /* a delivery with this many fails for good */
	int tries;               /* attempts per delivery within this pass */
	double retry_wait;       /* seconds before the 2nd try in a pass; doubles */
	double hook_budget;      /* seconds one webhook may take in a pass; 0: any */
	double connect_timeout;  /* seconds, per request */
	double timeout;          /* seconds, per request, all included */
	double backoff;          /* recorded wait after the 1st failed attempt */
	double backoff_max;      /* the recorded wait doubles up to this */
	int now;                 /* ignore next_attempt: everything pending is due */
	int limit;               /* deliveries looked at in one pass */
};

/* `dagrun events deliver`: one try per due delivery, 5 s to connect, 10 s
 * per request, no budget; recorded backoff 10 s doubling to 1 h. */
void events_deliver_defaults(struct events_deliver_opts *o);
/* The end of `dagrun run`: up to 3 tries 0.1 s and 0.2 s apart, 1 s to
 * connect, 2 s per request and 2 s per webhook in all, so an unreachable
 * webhook holds the exit up for about 2 s at most. */
void events_deliver_run_defaults(struct events_deliver_opts *o);

/* What a delivery pass did, per delivery (not per attempt). */
struct events_deliver_stats {
	int delivered;    /* got a 2xx */
	int retrying;     /* failed, still pending: next_attempt is set */
	int dead;         /* failed for good in this pass */
	int deferred;     /* due but not tried: its webhook failed or ran out of
			   * budget earlier in this pass */
	int hooks_down;   /* webhooks that failed in this pass */
};

/* One delivery pass: plan, then send what is due.  Blocks on the network
 * for at most about (tries * timeout + waits) per delivery, and with a
 * 'hook_budget' for at most about that per webhook.  Per-delivery
 * failures are recorded, not returned; with 'report' (may be NULL) each
 * webhook that failed in this pass gets one line there.  Returns 0, or -1
 * with 'err' set when the database fails (ERR_IO). */
int events_deliver(sqlite3 *db, const struct events_deliver_opts *o,
		   struct events_deliver_stats *stats, FILE *report,
		   struct err *err);

/* Plan deliveries (see above) without sending anything; with
 * 'max_attempts' > 0, pending deliveries at or past it become failed.
 * Joins the open transaction on 'db', if any.  Returns 0, or -1 with 'err'
 * set (ERR_IO). */
int events_plan(sqlite3 *db, int max_attempts, struct err *err);

/* The end of a run (cli.c): a bounded pass with the run defaults when any
 * webhook exists.  A webhook that failed gets one line on 'report' (may be
 * NULL); nothing here changes the run's exit code.  Cheap when there is
 * no webhook (one query). */
void events_deliver_run_end(sqlite3 *db, FILE *report);

/* `dagrun events` listing filter. */
struct events_filter {
	int64_t run_id;          /* 0: any */
	const char *name;        /* NULL: any */
	int pending, failed;     /* only events with such a delivery */
	int limit;               /* 0: no limit; newest first */
};

/* Print events with their delivery state per webhook to stdout, as text
 * or JSON.  Plans first, so that events not yet paired show up as
 * pending.  Returns 0, or -1 with 'err' set (ERR_IO). */
int events_list(sqlite3 *db, const struct events_filter *f, int json,
		struct err *err);

/* The idempotency key of event 'event_id' into 'out' (at least 64 bytes):
 * "dagrun-<state id>-<event id>".  Returns 0, or -1 with 'err' set. */
int events_key(sqlite3 *db, int64_t event_id, char *out, size_t n,
	       struct err *err);

/* The outbox commands, by argv[0]:
 *   dagrun events [--run RUN] [--name NAME] [--pending] [--failed]
 *                 [--limit N] [--json]
 *   dagrun events deliver [--now] [--max-attempts N] [--json]
 *   dagrun webhooks [list] [--json]
 *   dagrun webhooks add URL [--events NAME,...] [--secret-env VAR]
 *   dagrun webhooks rm ID
 * each with [--state DIR] overriding 'state_dir', and --help.  They parse
 * their own options (GNU getopt, options anywhere) and print to stdout.
 * Returns 0; 1 when `deliver` left a due delivery undelivered; or -1 with
 * 'err' set (ERR_USER: the command line or what it named, exit 2; ERR_IO:
 * the state, exit 3).  cli.c turns that into the exit code. */
int events_cmd(int argc, char **argv, const char *state_dir, struct err *err);

#endif
