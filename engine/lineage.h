/* lineage: what a run records about the git repository it ran from, read
 * with libgit2: the HEAD commit, the branch, and for each file the run
 * read (the pipeline file, its Lua files, its deps) whether it differs
 * from HEAD and the git blob id of its working-tree bytes.
 *
 * Only the given paths are examined, never the whole repository's
 * status: a run pays a few milliseconds (most of it libgit2's start-up)
 * plus reading each file once (~500 MB/s: a large data file as a dep
 * costs its hashing time), not a scan of the work tree.  Never writes to
 * the repository.
 *
 * Invariants of an inspected lineage:
 *   - 'commit' is NULL or 40 lowercase hex digits;
 *   - 'files' is a JSON array with one object per given path, in order;
 *   - 'dirty' is 1 exactly when some file is "modified", "untracked" or
 *     "deleted".
 * Thread-safe: no state is kept between calls (libgit2 is initialised
 * and shut down around each inspection; its count is reference counted). */
#ifndef DAGRUN_LINEAGE_H
#define DAGRUN_LINEAGE_H

#include <jansson.h>

#include "err.h"

/* 41: SHA-1 hex plus NUL */
#define LINEAGE_OID_HEX 41

/* What a run records about the repository it ran from.
 * Owned by the caller: fill with lineage_inspect(), free with
 * lineage_release(). */
struct lineage {
	char *commit;   /* HEAD commit id, NULL outside a repository or when
			 * HEAD is unborn (no commit yet) */
	char *branch;   /* short branch name ("main"), also for an unborn
			 * HEAD; NULL when detached or outside a repository */
	int dirty;      /* see the invariant above */
	json_t *files;  /* array of {"path", "status", "blob"}, see below */
};

/* Inspect the repository holding 'root' (the project root; the repository
 * is found from there upwards, so 'root' may be a subfolder of a work
 * tree) for the 'n_paths' root-relative file paths 'paths'.
 *
 * Each file becomes {"path": as given, "status": S, "blob": B}.  B is the
 * blob id git would store for the working-tree file now (a symbolic link
 * hashes its target text), or null when the file is missing; the
 * repository's filters (CRLF to LF, ident) are applied to a file HEAD
 * holds, while a file HEAD lacks is hashed as its raw bytes.  S compares
 * B with HEAD, because the question is whether HEAD holds the bytes the
 * run read; the index is not consulted, so a staged change counts
 * exactly as an unstaged one:
 *   "clean"      HEAD has this blob at this path (and the same executable
 *                bit, unless core.filemode is false);
 *   "modified"   HEAD has the path with other content or mode;
 *   "untracked"  HEAD lacks the path (new, staged or not; or HEAD is
 *                unborn) and .gitignore does not match it;
 *   "ignored"    HEAD lacks the path and .gitignore matches it (not
 *                dirty: data files are usually ignored on purpose);
 *   "deleted"    the file is missing from the work tree (in HEAD or not);
 *   "outside"    not in a work tree: 'root' is not in a repository (or
 *                only in a bare one), or the path leads out of it.
 * Outside a repository 'commit' and 'branch' are NULL, 'dirty' is 0 and
 * every file is "outside"; that is not an error.
 *
 * '*out' is overwritten (not released first).  Returns 0, or -1 with 'err'
 * set (ERR_IO: unresolvable root, unreadable file, a path naming a folder
 * or a FIFO, a corrupt or foreign-owned repository); on failure '*out'
 * holds nothing, and lineage_release() on it is harmless. */
int lineage_inspect(const char *root, const char *const *paths, int n_paths,
		    struct lineage *out, struct err *err);

/* Free what 'l' holds and zero it.  Safe on a zeroed or released lineage. */
void lineage_release(struct lineage *l);

/* The lineage as one JSON object {"commit": string|null, "branch":
 * string|null, "dirty": true|false, "files": [...]}, a new reference that
 * the caller owns (json_decref); it shares nothing with 'l'. */
json_t *lineage_json(const struct lineage *l);

#endif
