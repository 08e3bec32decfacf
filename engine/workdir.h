/* workdir: the work folders of one run's node attempts, reused.
 *
 * A node attempt gets a folder holding an empty 'out/' and an empty 'in/'
 * (exec.h says what else goes there).  When the attempt is over the
 * folder is emptied and kept for the next attempt instead of removed, and
 * every folder found inside it (in/<need>, folders a node made in out/)
 * is emptied and kept as a spare, which workdir_mkdir() renames into
 * place for the next folder asked for.  Removing a folder costs a few
 * milliseconds on a busy ext4 (the freed block goes through the journal,
 * and with the 'discard' option to the device); a rename costs tens of
 * microseconds.  The pool's folders are created under 'root', which the
 * owner removes at the end of the run (fs_remove_tree).
 *
 * Not thread-safe: one pool per scheduler. */
#ifndef DAGRUN_WORKDIR_H
#define DAGRUN_WORKDIR_H

#include <stddef.h>

#include "err.h"

struct workdir_pool {
	char *root;             /* STATE/tmp/PID-RUN; exists */
	char **trees;           /* emptied work folders */
	size_t n_trees, cap_trees;
	char **spares;          /* emptied folders of any depth */
	size_t n_spares, cap_spares;
	int next;               /* names of new folders: w<next>, s<next> */
};

/* An empty pool making its folders under 'root' (borrowed copy taken). */
void workdir_init(struct workdir_pool *wp, const char *root);
/* Free the pool's memory; its folders stay for the owner to remove. */
void workdir_release(struct workdir_pool *wp);

/* A work folder with empty 'out/' and 'in/'; the caller owns the string
 * until it gives it back.  Returns NULL with 'err' set (ERR_IO). */
char *workdir_take(struct workdir_pool *wp, struct err *err);

/* Create the folder 'path' (its parent exists): a spare renamed into
 * place, else mkdir.  Returns 0, or -1 with 'err' set (ERR_IO). */
int workdir_mkdir(struct workdir_pool *wp, const char *path, struct err *err);

/* The attempt in 'work' is over: empty it and keep it, with the folders
 * found in it, for reuse.  Takes 'work' over.  What cannot be emptied is
 * removed instead (fs_remove_tree); never fails. */
void workdir_give(struct workdir_pool *wp, char *work);

#endif
