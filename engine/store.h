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

/* An object made by this process that is not yet durable (see "Deferred
 * durability" below): where it lies until store_publish() moves it. */
struct store_pending {
	char *hex;              /* its hash; the pending map's key */
	char *path;             /* where it lies; NULL once published or dropped */
};

struct store {
	char *dir;              /* STATE/objects */
	char *tmp;              /* STATE/tmp */
	struct strmap verified; /* objects whose hash was checked */
	char **owned;           /* the verified map's keys */
	size_t n_owned, cap_owned;
	struct strmap pending;  /* hash -> index in 'pend' */
	struct store_pending *pend;
	size_t n_pend, cap_pend;
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

/* ---- Deferred durability ---------------------------------------------
 *
 * The scheduler's way to store a node's outputs without waiting for the
 * disk.  store_stage_dir() hashes the outputs and writes the manifest
 * (unsynced, under STATE/tmp); every object not already in objects/ stays
 * where it is and becomes *pending*: store_link_dir() and store_manifest()
 * of this store hand it out from there, so dependents can start at once.
 * store_job_sync() makes the pending objects of one job durable (fsync),
 * on any thread; store_publish() then renames them into objects/.  So
 * objects/ keeps its invariant (a file at its final path is complete and
 * durable), and a crash before store_publish() leaves only files under
 * STATE/tmp, which the next run removes.
 *
 * A job may also rely on objects pending in earlier jobs (the same bytes
 * made twice): its outputs are complete only once every earlier job is
 * published, so jobs must be synced and published in the order they were
 * staged (syncer.h does that), and after a failed job no later job may
 * be published. */
struct store_job;

/* Stage the regular files under 'dir' as the outputs of one node: the
 * outputs hash goes to 'out', the manifest to '*manifest' (optional;
 * caller decrefs), and '*job' gets what is left to sync and publish
 * (caller passes it to store_job_sync() and then store_publish() or
 * store_job_drop()).  The files are made read-only; those already stored
 * or pending are removed from 'dir', the new ones stay in 'dir' until
 * store_publish().  Fails like store_put_dir() (ERR_USER for a link or a
 * special file), with nothing staged. */
int store_stage_dir(struct store *st, const char *dir, struct hash *out,
		    json_t **manifest, struct store_job **job, struct err *err);

/* 1 if the job has nothing to sync (its objects were all stored or
 * pending already). */
int store_job_empty(const struct store_job *job);

/* fsync every file of the job.  Touches nothing but the job, so it may
 * run on another thread than the store's.  Returns 0, or -1 after the
 * first failure, which store_publish() then reports. */
int store_job_sync(struct store_job *job);

/* Move the synced objects of 'job' into objects/ and free the job.
 * Returns 0, or -1 with 'err' set (ERR_IO: the sync or a rename failed);
 * the job is freed either way, and its objects are no longer pending
 * (after a failure, those not moved are removed). */
int store_publish(struct store *st, struct store_job *job, struct err *err);

/* Forget the job without publishing it: its objects are no longer
 * pending, and their files are removed (links made from them stay). */
void store_job_drop(struct store *st, struct store_job *job);

#endif
