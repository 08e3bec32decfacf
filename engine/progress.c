/* progress: see progress.h. */
#include "progress.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const ev_names[] = {
	"start", "done", "cached", "failed", "skipped", "retry", "wait"
};
/* the same events in the structured log */
static const char *const log_names[] = {
	"node_started", "node_done", "skip_idempotent", "node_failed",
	"node_skipped", "node_retry", "node_waiting"
};

double progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *pg, enum progress_mode mode, int verbose,
		   int total)
{
	memset(pg, 0, sizeof(*pg));
	pg->mode = mode;
	pg->verbose = verbose;
	pg->total = total;
	pg->t0 = progress_now();
}

static void clear_line(struct progress *pg)
{
	if (pg->mode == PROGRESS_TTY && pg->line_shown) {
		fputs("\r\033[K", stderr);
		pg->line_shown = 0;
	}
}

static void count(struct progress *pg, enum progress_event ev)
{
	switch (ev) {
	case EV_START:
		pg->running++;
		break;
	case EV_DONE:
		pg->running--;
		pg->done++;
		break;
	case EV_FAILED:
		pg->running--;
		pg->failed++;
		break;
	case EV_RETRY:
		pg->running--;
		break;
	case EV_CACHED:
		pg->cached++;
		break;
	case EV_SKIPPED:
		pg->skipped++;
		break;
	default:
		break;
	}
}

/* Which events a human sees as a line of its own. */
static int shown(const struct progress *pg, enum progress_event ev)
{
	if (ev == EV_FAILED)
		return 1;
	if (pg->mode == PROGRESS_QUIET)
		return 0;
	if (ev == EV_CACHED || ev == EV_WAIT)
		return pg->verbose;
	if (ev == EV_START)
		return pg->verbose || pg->mode == PROGRESS_PLAIN;
	return 1;
}

void progress_log(struct progress *pg, const char *level, const char *event,
		  const char *node, json_t *fields)
{
	struct timespec ts;
	struct tm tm;
	char when[40];
	json_t *o;

	if (pg->mode != PROGRESS_LOG) {
		json_decref(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ",
		 ts.tv_nsec / 1000000);
	o = json_pack("{s:s, s:s, s:s, s:s}", "ts", when, "level", level,
		      "service", "dagrun", "event", event);
	if (pg->run_id > 0)
		json_object_set_new(o, "run", json_integer(pg->run_id));
	if (node)
		json_object_set_new(o, "node", json_string(node));
	if (fields)
		json_object_update_missing(o, fields);
	json_decref(fields);
	json_dumpf(o, stderr, JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputc('\n', stderr);
	json_decref(o);
}

void progress_event(struct progress *pg, enum progress_event ev,
		    const char *node, const char *detail)
{
	count(pg, ev);
	if (pg->mode == PROGRESS_LOG) {
		const char *key = ev == EV_DONE ? "seconds" : ev == EV_FAILED ?
			"error" : "reason";
		json_t *f = NULL;
		if (detail && ev == EV_DONE)   /* "1.25s" */
			f = json_pack("{s:f}", key, atof(detail));
		else if (detail)
			f = json_pack("{s:s}", key, detail);
		progress_log(pg, ev == EV_FAILED ? "error" : ev == EV_RETRY ?
			     "warning" : "info", log_names[ev], node, f);
		return;
	}
	if (pg->mode == PROGRESS_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:f}", "event", ev_names[ev],
				      "node", node, "t", progress_now() - pg->t0);
		if (detail)
			json_object_set_new(o, "detail", json_string(detail));
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(o);
		return;
	}
	if (!shown(pg, ev))
		return;
	clear_line(pg);
	fprintf(stderr, "%-7s %s%s%s%s\n", ev == EV_FAILED ? "FAILED" : ev_names[ev],
		node, detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
}

void progress_tick(struct progress *pg, const char *running)
{
	double now = progress_now();

	if (pg->mode != PROGRESS_TTY || now - pg->last_draw < 0.1)
		return;
	pg->last_draw = now;
	fprintf(stderr, "\r\033[K[%d/%d] %d running, %d done, %d cached, %d failed"
		" %.1fs  %.60s", pg->done + pg->cached + pg->failed + pg->skipped,
		pg->total, pg->running, pg->done, pg->cached, pg->failed,
		now - pg->t0, running);
	pg->line_shown = 1;
	fflush(stderr);
}

void progress_text(struct progress *pg, const char *text)
{
	if (pg->mode == PROGRESS_JSON || pg->mode == PROGRESS_LOG)
		return;
	clear_line(pg);
	fputs(text, stderr);
}

void progress_end(struct progress *pg, const char *status, long long run_id)
{
	double t = progress_now() - pg->t0;

	if (pg->mode == PROGRESS_LOG) {
		progress_log(pg, strcmp(status, "ok") ? "error" : "info",
			     "run_finished", NULL, json_pack("{s:s, s:i, s:i, s:i, "
			     "s:i, s:i, s:f}", "status", status, "total", pg->total,
			     "ran", pg->done, "cached", pg->cached, "failed",
			     pg->failed, "skipped", pg->skipped, "seconds", t));
		return;
	}
	if (pg->mode == PROGRESS_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:i,s:i,s:i,s:i,s:i,s:f}",
			"event", "end", "status", status, "run", (json_int_t)run_id,
			"total", pg->total, "ran", pg->done, "cached", pg->cached,
			"failed", pg->failed, "skipped", pg->skipped, "seconds", t);
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	clear_line(pg);
	if (pg->mode == PROGRESS_QUIET && !strcmp(status, "ok"))
		return;
	fprintf(stderr, "run %lld %s: %d nodes, %d ran, %d cached, %d failed, "
		"%d skipped in %.2fs\n", run_id, status, pg->total, pg->done,
		pg->cached, pg->failed, pg->skipped, t);
}
