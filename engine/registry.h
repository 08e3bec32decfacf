/* registry: model names, their versions, aliases and promotion history,
 * in the state's SQLite database (tables models, model_versions, aliases,
 * promotions; state.c creates them).
 *
 * A version is the outputs (a manifest hash in the object store) of the
 * trained node that won an eval.promote node, with its lineage: the run,
 * the node, its cache key, its type, score and metrics, and the promotion
 * record.  Versions count from 1 per model and are never reused.
 *
 * Versions are registered only when an eval.promote node runs: the engine
 * calls registry_record() in the transaction that records the node, so a
 * failed evaluation registers nothing and a cached rerun registers nothing
 * new; a --salt rerun runs the node again and makes a new version.
 *
 * Alias rules, applied by registry_record() from promotion.json:
 *   - the winner takes 'alias' (or 'shadow' when shadow is set) unless
 *     min_improvement > 0 and its score is not at least that share below
 *     the current holder's: then the holder keeps it ("declined");
 *   - 'challenger' (an alias name, or null) goes to the runner-up when
 *     the winner moved in, else to the declined winner;
 *   - every move is a promotions row and a model_promoted event.
 * registry_rollback() moves an alias back to the holder before the
 * current one (walking back one promotion per call).
 *
 * The functions take the database handle and do not open transactions,
 * except the registry_cmd_* entry points of the command line, which run
 * in one IMMEDIATE transaction each.  Errors about what the user named
 * (an unknown model, version or alias) are ERR_USER. */
#ifndef DAGRUN_REGISTRY_H
#define DAGRUN_REGISTRY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"

/* Register what an eval.promote node decided.  'promotion' is its
 * promotion.json plus "candidates": {node: {"outputs": hex, "key": hex}}
 * for the needed nodes and "node": the eval node's id.  Appends one line
 * per alias move to 'report' (may be NULL; caller frees *report). */
int registry_record(sqlite3 *db, int64_t run_id, const json_t *promotion,
		    char **report, struct err *err);

/* "NAME@ALIAS", "NAME@VERSION" or "NAME" (= NAME@production): the version
 * and its outputs.  ERR_USER when the model, alias or version is unknown. */
int registry_resolve(sqlite3 *db, const char *ref, char **model,
		     int64_t *version, struct hash *outputs, struct err *err);

/* The command line (engine/cli.c): each prints to stdout, as a table or
 * with 'json' as JSON, and returns an exit code. */
int registry_cmd_models(sqlite3 *db, const char *name, int json, struct err *err);
int registry_cmd_promote(sqlite3 *db, const char *name, const char *version,
			 const char *alias, int json, struct err *err);
int registry_cmd_rollback(sqlite3 *db, const char *name, const char *alias,
			  int json, struct err *err);

#endif
