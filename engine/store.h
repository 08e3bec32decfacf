/* store: the content-addressed object store under STATE/objects.
 *
 * An object is a file named by the SHA-256 of its bytes,
 * objects/ab/cdef..., read-only (0444).  A node's outputs are recorded as a
 * manifest, itself an object: canonical JSON
 *   {"files":[{"exec":false,"hash":"...","path":"a/b.npy","size":12}, ...]}
 * with files sorted by path.  The manifest's hash is "the outputs hash"
 * that enters dependents' keys, so identical outputs give identical keys
 * downstream (early cutoff).
 *
 * Invariant: a file at its final object path is complete and durable: it
 * is written elsewhere, fsynced, then renamed into place.  A crash leaves
 * at most stray files under STATE/tmp, never a half-written object.
 * Functions return 0, or -1 with 'err' set (ERR_IO unless said). */
#ifndef DAGRUN_STORE_H
#define DAGRUN_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "hash.h"

#include "strmap.h"

struct store {
	char *dir;              /* STATE/objects */
	struct strmap verified; /* objects whose hash was checked */
	char **owned;           /* the verified map's keys */
	size_t n_owned, cap_owned;
};

int store_open(struct store *st, const char *state_dir, struct err *err);
void store_close(struct store *st);

/* The path of object 'h'; the caller frees it. */
char *store_path(const struct store *st, const struct hash *h);
/* 1 if object 'h' is present. */
int store_has(const struct store *st, const struct hash *h);

/* Move every regular file under 'dir' into the store and write its
 * manifest, whose hash goes to 'out'; '*manifest' (optional) gets the
 * manifest (caller decrefs).  Symbolic links and special files are
 * refused (ERR_USER): outputs must be plain files.  On success 'dir' holds
 * only empty folders; on failure objects already moved stay (they are
 * complete, only unreferenced) and the manifest is not written. */
int store_put_dir(struct store *st, const char *dir, struct hash *out,
		  json_t **manifest, struct err *err);

/* Store one buffer as an object (used for logs and manifests). */
int store_put_buf(struct store *st, const void *data, size_t n,
		  struct hash *out, struct err *err);

/* Load the manifest 'h' (caller decrefs '*out'). ERR_IO if it is missing
 * or does not match its hash. */
int store_manifest(const struct store *st, const struct hash *h,
		   json_t **out, struct err *err);

/* Make the files of manifest 'h' appear under 'dir' (created) as hard
 * links to the objects, copying when linking is impossible.  Each object
 * is checked against its hash the first time this store hands it out; an
 * object that was modified is removed together with the manifest, so that
 * the node that made it runs again, and the call fails with ERR_USER
 * ("... was modified ..."). */
int store_link_dir(struct store *st, const struct hash *h,
		   const char *dir, struct err *err);

/* 1 if every object of outputs 'h' is present (cheap: stats only). */
int store_outputs_present(const struct store *st, const struct hash *h);

#endif
