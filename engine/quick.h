/* quick: the no-op fast path.
 *
 * After a run in which every node ended done or cached, dagrun remembers
 * a plan: the run, the cache generation, and a fingerprint of everything
 * any key of the pipeline can depend on: the pipeline file, its Lua
 * config, every dep file and Lua script (each by path, size, mtime_ns and
 * inode, the same trust as the file memo), the salt, the target nodes,
 * dagrun's version and the kernels' versions.  The next run with the same
 * fingerprint and the same cache generation would compute the same keys
 * and find them all in the same cache: it is recorded as a cached copy of
 * the remembered run without parsing the pipeline or computing a key.
 * The fingerprint also holds the mtime of each objects/xx folder, so an
 * object added or removed since (by gc, by a modified object found and
 * removed, or by hand) sends the run down the normal path.
 *
 * Never used with --force, --force-all or -n, nor for a pipeline with a
 * nondeterministic node.  Any cache write or gc bumps the generation and
 * so invalidates every plan. */
#ifndef DAGRUN_QUICK_H
#define DAGRUN_QUICK_H

#include <stdint.h>

#include "err.h"

struct pipeline;
struct state;

/* The run the pipeline at 'abs_path' would repeat unchanged, or 0.
 * '*files' gets the plan's file list (caller frees) on a hit. */
int64_t quick_check(struct state *st, const char *abs_path, const char *root,
		    const char *salt, const char *targets, int *n_nodes,
		    char **files);

/* Remember run 'run_id' of 'p' as a plan. */
int quick_remember(struct state *st, const struct pipeline *p,
		   const char *salt, const char *targets, int64_t run_id,
		   struct err *err);

#endif
