/* state: the SQLite database STATE/dagrun.db (WAL mode) that holds runs,
 * node runs with every part of every key, the cache, objects, the file
 * memo, per-key claims, metrics, events and the model registry.
 *
 * Invariants:
 *   - the schema is at the newest migration once state_open() returns;
 *   - a cache row is written in the same transaction that records the
 *     node run as done, and only after its objects are in the store;
 *   - a key is executed by at most one live process at a time: the claims
 *     table holds (key, pid, host, heartbeat); a claim whose process is
 *     dead (same host) or silent for STATE_CLAIM_STALE seconds is taken
 *     over.
 * Two processes may use one state at once: every write is a short
 * IMMEDIATE transaction and readers wait (busy timeout) instead of
 * failing.  Functions return 0, or -1 with 'err' set (ERR_IO). */
#ifndef DAGRUN_STATE_H
#define DAGRUN_STATE_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "err.h"
#include "hash.h"

/* 60: seconds without a heartbeat before another host's claim is dead */
#define STATE_CLAIM_STALE 60.0

struct state;

int state_open(const char *dir, struct state **out, struct err *err);
void state_close(struct state *st);
const char *state_dir(const struct state *st);
/* The database, for read-only inspection queries (runs, show, explain).
 * Borrowed: valid until state_close(). */
sqlite3 *state_db(struct state *st);
double state_now(void);
const char *state_host(void);

struct run_info {
	const char *pipeline, *pipeline_path, *root, *salt, *argv;
	char pipeline_hash[HASH_HEX_LEN];
	const char *git_commit, *git_branch, *lineage;  /* may be NULL */
	int git_dirty;
	int n_nodes;
	int64_t same_as;    /* > 0: a no-op run, identical to this run */
};

int state_run_begin(struct state *st, const struct run_info *ri,
		    int64_t *run_id, struct err *err);
int state_run_end(struct state *st, int64_t run_id, const char *status,
		  int ran, int cached, int failed, struct err *err);

/* Look the key up in the cache: 1 and 'outputs' set on a hit, 0 on a miss. */
int state_cache_get(struct state *st, const char *key, struct hash *outputs);

/* A finished node attempt, as recorded in node_runs. */
struct node_result {
	const char *node, *task, *key, *key_doc, *status, *reason, *error;
	const struct hash *outputs;   /* NULL unless done/cached */
	const char *log_path;         /* the node's log file, or NULL */
	int attempts, exit_code;
	double started, ended, cpu;
	long maxrss_kb;
	const char *metrics_path;     /* JSON lines to import, or NULL */
	const char *events_path;      /* JSON lines to import, or NULL */
	const json_t *manifest;       /* objects to register, or NULL */
	const json_t *promotion;      /* an eval.promote decision to register
					 (registry.h), or NULL */
	char **registry_report;       /* gets what the registry did; may be NULL */
};

/* Record one node result; for status "done" also the cache row, the
 * objects, metrics and events, and release the key's claim, all in one
 * transaction. */
int state_record(struct state *st, int64_t run_id, const char *pipeline,
		 const struct node_result *r, struct err *err);

/* Enter 'key' -> 'outputs' into the cache for outputs that were not made
 * by a node run here (a remote cache, remote.h), with the objects of
 * 'manifest', by node 'node' of run 'run_id'; bumps the cache generation.
 * Joins an open batch, else is one transaction.  The outputs must be in
 * the store already. */
int state_cache_put(struct state *st, int64_t run_id, const char *node,
		    const char *key, const struct hash *outputs,
		    const json_t *manifest, struct err *err);

/* Batch mode for many small records (cached nodes of a no-op run): while
 * a batch is open, state_record() joins one transaction. */
int state_batch_begin(struct state *st, struct err *err);
int state_batch_end(struct state *st, struct err *err);

/* The canonical key document of the last done or cached run of 'node'
 * in 'pipeline' (caller frees), or NULL. With 'before_run' > 0 only
 * runs older than it count; 'run' (optional) gets its run id. */
char *state_last_key_doc(struct state *st, const char *pipeline,
			 const char *node, int64_t before_run, int64_t *run);
/* The key document for 'key' (caller frees), or NULL. */
char *state_key_doc(struct state *st, const char *key);

/* File memo: 1 and 'h' set when (path, size, mtime_ns, inode) is known. */
int state_memo_get(struct state *st, const char *path, int64_t size,
		   int64_t mtime_ns, int64_t inode, struct hash *h);
int state_memo_put(struct state *st, const char *path, int64_t size,
		   int64_t mtime_ns, int64_t inode, const struct hash *h);

enum claim_result { CLAIM_TAKEN = 0, CLAIM_BUSY = 1 };
/* Claim 'key' for this process; CLAIM_BUSY while a live process holds
 * it, -1 on error. */
int state_claim(struct state *st, const char *key, int64_t run_id,
		struct err *err);
int state_claim_release(struct state *st, const char *key, struct err *err);
/* Refresh the heartbeat of every claim held by this process. */
int state_heartbeat(struct state *st, struct err *err);

/* The pipeline name, path and file hash a run recorded (caller frees the
 * strings); 0 when there is no such run. */
int state_run_pipeline(struct state *st, int64_t run, char **name, char **path,
		       char hash[HASH_HEX_LEN]);

/* The cache generation: bumped by every cache write or removal, so that
 * a remembered no-op plan (quick.h) knows whether the cache changed. */
int64_t state_generation(struct state *st);
int state_bump_generation(struct state *st, struct err *err);

/* A remembered complete run of a pipeline (see quick.h). */
struct state_plan {
	char fingerprint[HASH_HEX_LEN];
	int64_t generation, run_id;
	char *files;        /* JSON array of root-relative paths; owned */
	int n_nodes;
};

/* 1 and 'out' filled (caller frees out->files) when 'key' has a plan. */
int state_plan_get(struct state *st, const char *key, struct state_plan *out);
int state_plan_put(struct state *st, const char *key,
		   const struct state_plan *plan, struct err *err);

#endif
