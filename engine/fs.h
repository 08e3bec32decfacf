/* fs: the few file-system operations every module needs, with errors in
 * dagrun's voice.  All paths are plain C strings; nothing here keeps
 * state.  Functions return 0, or -1 with 'err' set (ERR_IO). */
#ifndef DAGRUN_FS_H
#define DAGRUN_FS_H

#include <stddef.h>

#include "err.h"

/* mkdir -p with mode 0777 (before umask). */
int fs_mkdirs(const char *path, struct err *err);

/* rm -rf; a missing path is not an error. Makes read-only folders
 * writable first so that an input tree of links can be removed. */
int fs_remove_tree(const char *path, struct err *err);

/* Read a whole file into a fresh NUL-terminated buffer that the caller
 * frees; '*len' (optional) gets its size. */
int fs_read_file(const char *path, char **out, size_t *len, struct err *err);

/* Write 'data' to 'path' atomically: a temp file beside it, fsync, rename. */
int fs_write_atomic(const char *path, const void *data, size_t n,
		    struct err *err);

/* The same through a temp file named 'tmp' (same file system as 'path'):
 * a crash leaves at most 'tmp' behind. */
int fs_write_rename(const char *tmp, const char *path, const void *data,
		    size_t n, struct err *err);

/* cp -r: copy the tree 'from' (files and folders; symlinks are followed)
 * into 'to', made if missing.  No fsync: it copies into a node's outputs,
 * which the engine makes durable when it stores them. */
int fs_copy_tree(const char *from, const char *to, struct err *err);

/* fsync a folder so that a rename inside it is durable. */
int fs_sync_dir(const char *path, struct err *err);

/* 1 if 'path' exists (any kind), else 0. */
int fs_exists(const char *path);

/* Join two path parts with one '/'; the caller frees the result. */
char *fs_join(const char *a, const char *b);

/* An absolute, normalised form of 'path' (which need not exist),
 * relative to the current folder; the caller frees it. */
char *fs_absolute(const char *path);

#endif
