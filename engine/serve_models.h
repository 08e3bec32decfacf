/* serve_models: the model versions `dagrun serve` answers with, kept in
 * memory and swapped without a restart when the registry moves an alias.
 *
 * A snapshot is an immutable list of (model, alias) -> loaded version for
 * every alias in the registry, with the /models document of that moment.
 * Each request holds the snapshot it started with (acquire ... release),
 * so a promotion never changes the model under a running prediction.
 * A reload reads the aliases (registry_resolve() for each), loads every
 * version not yet in memory beside the ones in service (the version's
 * outputs linked out of the object store, forecaster_load(), the links
 * removed), then publishes the new snapshot with one pointer swap.  A
 * version in memory is shared by every snapshot that serves it and freed
 * when the last snapshot holding it is released, that is when the last
 * request that could use it has ended.
 *
 * A version that cannot be loaded (a corrupt object, an unknown format)
 * never takes an alias out of service: the alias keeps the version it
 * served, the failure is logged and retried every SERVE_MODELS_RETRY
 * seconds, and its entry says why (serve_entry.error) when it had none.
 *
 * Reloads are cheap to ask for: serve_models_poll() looks at SQLite's
 * PRAGMA data_version (a counter in shared memory that moves when another
 * connection commits) and reads the registry only when it moved.
 *
 * Thread-safety: acquire/release and the snapshot readers may run on any
 * thread at any time; poll and reload serialise among themselves (one
 * mutex guards the database handle, the object store and loading). */
#ifndef DAGRUN_SERVE_MODELS_H
#define DAGRUN_SERVE_MODELS_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "forecaster.h"

/* 5: seconds between retries of a version that failed to load */
#define SERVE_MODELS_RETRY 5.0

/* One alias in service; borrowed from its snapshot. */
struct serve_entry {
	const char *model, *alias;
	int64_t version;              /* the version served (see 'error') */
	const struct forecaster *f;   /* NULL when no version could be loaded */
	const char *kind;             /* forecaster_kind_name(), or "" */
	const char *error;            /* the last load failure, or NULL */
	double loaded_at;             /* unix seconds */
};

struct serve_models;
struct serve_snapshot;

/* What a reload did. */
struct serve_reload {
	int read;       /* 1 if the registry was read */
	int swapped;    /* aliases that now serve another version (or are new) */
	int removed;    /* aliases no longer in the registry */
	int failed;     /* versions that could not be loaded */
};

/* Open the state in 'state_dir' (which must hold dagrun.db: ERR_USER
 * otherwise) and load every alias of the registry.  Progress and load
 * failures are logged to 'log' (may be NULL).  Failing to load a version
 * is not an error here (see above); failing to read the registry is.
 * Returns the set, or NULL with 'err' set. */
struct serve_models *serve_models_open(const char *state_dir, FILE *log,
				       struct err *err);
/* Free the set; every snapshot must have been released. */
void serve_models_close(struct serve_models *m);

/* Read the registry and swap in what changed; with 'force' 0 only when
 * the database changed since the last read or a failed load is due for a
 * retry.  'r' (may be NULL) says what happened.  Returns 0, or -1 with
 * 'err' set: ERR_IO when the registry could not be read (nothing
 * changed), ERR_USER listing the versions that could not be loaded (the
 * rest was swapped in). */
int serve_models_reload(struct serve_models *m, int force,
			struct serve_reload *r, struct err *err);

/* The snapshot in service, held until serve_snapshot_release(). */
struct serve_snapshot *serve_models_acquire(struct serve_models *m);
void serve_snapshot_release(struct serve_snapshot *s);

size_t serve_snapshot_size(const struct serve_snapshot *s);
/* Entry 'i', in (model, alias) order. */
const struct serve_entry *serve_snapshot_entry(const struct serve_snapshot *s,
					       size_t i);
/* The entry of 'model' at 'alias', or at version N when 'alias' is "N" or
 * "vN" and an alias serves that version; NULL when there is none. */
const struct serve_entry *serve_snapshot_find(const struct serve_snapshot *s,
					      const char *model, const char *alias);
/* 1 if the registry knows 'model' (with or without aliases). */
int serve_snapshot_has_model(const struct serve_snapshot *s, const char *model);
/* The /models document: {"models": [{"name", "aliases": {alias: version},
 * "served": {alias: {"version", "kind", "loaded_at", "error"}},
 * "versions": [{"version", "model_type", "node", "run_id", "score",
 * "created", "aliases"}]}]}.  Borrowed from the snapshot. */
const char *serve_snapshot_models_json(const struct serve_snapshot *s);

#endif
