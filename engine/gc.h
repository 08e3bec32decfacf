/* gc: free the object store of what no named root reaches.
 *
 * Roots: the outputs of the last 'keep_last' runs of each pipeline, of
 * every run newer than 'keep_days', and of every model version that has
 * an alias.  Everything a root's manifest names is kept; other objects are
 * deleted, cache rows that point at deleted outputs are dropped (their
 * nodes simply run again), and the logs of runs no longer kept are
 * removed.  Run history in the database is kept.
 *
 * gc never deletes what a running dagrun uses: it refuses to start while
 * a live dagrun process has a run in progress on the same state. */
#ifndef DAGRUN_GC_H
#define DAGRUN_GC_H

#include "err.h"

struct state;
struct store;

struct gc_opts {
	int keep_last;      /* runs per pipeline; at least 1 */
	double keep_days;   /* 0: no age rule */
	int dry_run;        /* report only */
	int json;
};

/* Returns 0, or -1 with 'err' set (ERR_USER while a run is in progress,
 * ERR_IO on a state or disk error). */
int gc_run(struct state *st, struct store *store, const struct gc_opts *o,
	   struct err *err);

#endif
