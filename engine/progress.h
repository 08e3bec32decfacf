/* progress: what a run shows while it works.
 *
 * Five modes: a live status line on a terminal (counts, the running nodes,
 * elapsed time, redrawn at most ten times a second), one plain line per
 * event when stderr is not a terminal, quiet (failures and the summary
 * only), JSON (one object per line on stdout, for machines), and the
 * structured log (--log-format json): one JSON object per line on stderr
 * with "ts", "level", "service": "dagrun", "event", "run" and "node", for
 * log shippers.  The log's events: run_started, node_started, node_done,
 * skip_idempotent (a cached node), node_failed, node_skipped, node_retry,
 * node_waiting, run_finished, every event a kernel reports (such as
 * target_fallback or drift_detected), promotion_scoreboard and
 * promotion_decision.  Event lines go to stderr so that stdout stays clean
 * for --json. */
#ifndef DAGRUN_PROGRESS_H
#define DAGRUN_PROGRESS_H

#include <jansson.h>

enum progress_mode {
	PROGRESS_TTY, PROGRESS_PLAIN, PROGRESS_QUIET, PROGRESS_JSON, PROGRESS_LOG
};

enum progress_event {
	EV_START,     /* a node attempt started */
	EV_DONE,      /* ran and succeeded */
	EV_CACHED,
	EV_FAILED,
	EV_SKIPPED,   /* a need failed */
	EV_RETRY,
	EV_WAIT       /* another process holds the key */
};

struct progress {
	enum progress_mode mode;
	int verbose;
	int total, done, cached, failed, skipped, running;
	double t0, last_draw;
	int line_shown;     /* a status line is on screen */
	long long run_id;   /* for the structured log; 0 until known */
	char running_names[512];
};

void progress_init(struct progress *pg, enum progress_mode mode, int verbose,
		   int total);
/* Report one event; 'detail' (may be NULL) is the reason, the duration
 * or the error. */
void progress_event(struct progress *pg, enum progress_event ev,
		    const char *node, const char *detail);
/* Redraw the status line (terminal mode) with the running nodes. */
void progress_tick(struct progress *pg, const char *running);
/* Print the closing summary line. */
void progress_end(struct progress *pg, const char *status, long long run_id);
/* Print a block of text (a failed node's log tail) without tearing the
 * status line. */
void progress_text(struct progress *pg, const char *text);
double progress_now(void);

/* A structured-log line (PROGRESS_LOG only; a no-op otherwise): 'event'
 * with 'node' (may be NULL) and the members of 'fields' (may be NULL;
 * stolen).  'level' is "info", "warning" or "error". */
void progress_log(struct progress *pg, const char *level, const char *event,
		  const char *node, json_t *fields);

#endif
