/* store: see store.h.
 *
 * Durability order for one node's outputs: each file is fsynced, then
 * renamed into objects/; then the manifest is written the same way.  The
 * caller records success in SQLite only after store_put_dir() returned,
 * so a recorded success always names objects that exist, and an object
 * at its final name is always complete.  The folders are not fsynced
 * after the renames: after a power loss a rename may be lost, never half
 * done, and a missing object is detected (store_outputs_present, the hash
 * check in store_link_dir), so its node simply runs again.  That saves two
 * fsyncs per node, which dominate a run of many small nodes.
 *
 * Deferred durability (store_stage_dir) keeps the same order, only split
 * in time: the files wait, unsynced, outside objects/ (the node's work
 * folder, STATE/tmp for the manifest) while a syncer thread fsyncs them;
 * store_publish() renames them into objects/ afterwards, and the caller
 * records success after that.  Between the two, 'pending' tells where an
 * object lies so that dependents can link it. */
#include "store.h"
#include "fs.h"
#include "strbuf.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_open(struct store *st, const char *state_dir, struct err *err)
{
	memset(st, 0, sizeof(*st));
	st->tmp = fs_join(state_dir, "tmp");
	st->dir = fs_join(state_dir, "objects");
	strmap_init(&st->verified);
	strmap_init(&st->pending);
	if (fs_mkdirs(st->tmp, err) < 0)
		return -1;
	return fs_mkdirs(st->dir, err);
}

void store_close(struct store *st)
{
	size_t i;

	for (i = 0; i < st->n_owned; i++)
		free(st->owned[i]);
	free(st->owned);
	st->owned = NULL;
	st->n_owned = st->cap_owned = 0;
	strmap_release(&st->verified);
	strmap_release(&st->pending);
	for (i = 0; i < st->n_pend; i++) {
		free(st->pend[i].hex);
		free(st->pend[i].path);
	}
	free(st->pend);
	st->pend = NULL;
	st->n_pend = st->cap_pend = 0;
	free(st->dir);
	free(st->tmp);
	st->dir = st->tmp = NULL;
}

/* Where pending object 'hex' lies, or NULL if it is not pending. */
static const char *pending_path(const struct store *st, const char *hex)
{
	int i = strmap_get(&st->pending, hex);

	return i >= 0 ? st->pend[i].path : NULL;
}

/* Where object 'h' is read from: its pending path, else its path in
 * objects/.  The caller frees it. */
static char *object_path(const struct store *st, const struct hash *h)
{
	char hex[HASH_HEX_LEN];
	const char *p;

	hash_to_hex(h, hex);
	p = pending_path(st, hex);
	return p ? xstrdup(p) : store_path(st, h);
}

char *store_path(const struct store *st, const struct hash *h)
{
	char hex[HASH_HEX_LEN];

	hash_to_hex(h, hex);
	return xasprintf("%s/%.2s/%s", st->dir, hex, hex + 2);
}

int store_has(const struct store *st, const struct hash *h)
{
	char *p = store_path(st, h);
	int yes = access(p, F_OK) == 0;

	free(p);
	return yes;
}

/* The files under 'dir', sorted, as root-relative paths. */
struct walk {
	char **paths;
	size_t n, cap;
};

static int walk_dir(const char *root, const char *rel, struct walk *w,
		    struct err *err)
{
	char *full = *rel ? fs_join(root, rel) : xstrdup(root);
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(full);
	int rc = 0;

	if (!d) {
		err_set(err, ERR_IO, "cannot open folder '%s': %s", full, strerror(errno));
		free(full);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *r = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		char *f = fs_join(root, r);
		if (lstat(f, &st) < 0) {
			err_set(err, ERR_IO, "cannot stat '%s': %s", f, strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(root, r, w, err);
		} else if (S_ISREG(st.st_mode)) {
			xgrow((void **)&w->paths, sizeof(char *), &w->cap, w->n + 1);
			w->paths[w->n++] = r;
			r = NULL;
		} else {
			err_set(err, ERR_USER, "output '%s' is not a regular file "
				"(outputs must be plain files, not links or devices)", r);
			rc = -1;
		}
		free(r);
		free(f);
	}
	closedir(d);
	free(full);
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files under 'dir' into 'w', sorted by path. */
static int sorted_files(const char *dir, struct walk *w, struct err *err)
{
	if (walk_dir(dir, "", w, err) < 0)
		return -1;
	if (w->n > 1)
		qsort(w->paths, w->n, sizeof(char *), cmp_path);
	return 0;
}

/* Move one file into the store under its hash. */
static int put_file(struct store *st, const char *src, struct hash *h,
		    uint64_t *size, struct err *err)
{
	char *dst, *sub;
	int fd, rc = -1;

	if (hash_file_size(src, h, size, err) < 0)
		return -1;
	dst = store_path(st, h);
	if (access(dst, F_OK) == 0) {   /* already stored: drop the copy */
		unlink(src);
		free(dst);
		return 0;
	}
	sub = xstrndup(dst, strrchr(dst, '/') - dst);
	if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
		err_set(err, ERR_IO, "cannot create '%s': %s", sub, strerror(errno));
		goto out;
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		err_set(err, ERR_IO, "cannot sync '%s': %s", src, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	chmod(src, 0444);
	if (rename(src, dst) < 0) {
		err_set(err, ERR_IO, "cannot move '%s' into the store: %s", src,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(sub);
	free(dst);
	return rc;
}

int store_put_buf(struct store *st, const void *data, size_t n,
		  struct hash *out, struct err *err)
{
	char *dst, *sub, *tmp, hex[HASH_HEX_LEN];
	int rc;

	hash_bytes(data, n, out);
	dst = store_path(st, out);
	if (access(dst, F_OK) == 0) {
		free(dst);
		return 0;
	}
	sub = xstrndup(dst, strrchr(dst, '/') - dst);
	mkdir(sub, 0755);
	/* the temp file lives in STATE/tmp, named after this process, where
	 * the next run removes it if a crash left it: never in objects/ */
	hash_to_hex(out, hex);
	tmp = xasprintf("%s/../tmp/%d-obj-%s", st->dir, (int)getpid(), hex);
	rc = fs_write_rename(tmp, dst, data, n, err);
	free(tmp);
	if (rc == 0)
		chmod(dst, 0444);
	free(sub);
	free(dst);
	return rc;
}

int store_put_dir(struct store *st, const char *dir, struct hash *out,
		  json_t **manifest, struct err *err)
{
	struct walk w = {0};
	json_t *files = json_array(), *m;
	struct stat sst;
	char hex[HASH_HEX_LEN], *text;
	size_t i;
	int rc = -1;

	if (sorted_files(dir, &w, err) < 0)
		goto out;
	for (i = 0; i < w.n; i++) {
		char *src = fs_join(dir, w.paths[i]);
		struct hash h;
		uint64_t size;
		int exec = stat(src, &sst) == 0 && (sst.st_mode & 0100);
		int r = put_file(st, src, &h, &size, err);
		free(src);
		if (r < 0)
			goto out;
		hash_to_hex(&h, hex);
		json_array_append_new(files, json_pack("{s:s,s:s,s:I,s:b}", "path",
			w.paths[i], "hash", hex, "size", (json_int_t)size, "exec", exec));
	}
	m = json_pack("{s:O}", "files", files);
	text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	rc = store_put_buf(st, text, strlen(text), out, err);
	free(text);
	if (manifest && rc == 0)
		*manifest = m;
	else
		json_decref(m);
out:
	for (i = 0; i < w.n; i++)
		free(w.paths[i]);
	free(w.paths);
	json_decref(files);
	return rc;
}

int store_manifest(const struct store *st, const struct hash *h, json_t **out,
		   struct err *err)
{
	char *path = object_path(st, h), *text;
	struct hash got;
	json_error_t je;
	size_t n;

	if (fs_read_file(path, &text, &n, err) < 0) {
		free(path);
		return -1;
	}
	hash_bytes(text, n, &got);
	if (memcmp(got.b, h->b, HASH_LEN)) {
		err_set(err, ERR_IO, "object '%s' does not match its hash "
			"(the store was modified)", path);
		free(text);
		free(path);
		return -1;
	}
	*out = json_loadb(text, n, 0, &je);
	free(text);
	if (!*out || !json_is_array(json_object_get(*out, "files"))) {
		err_set(err, ERR_IO, "object '%s' is not a manifest", path);
		json_decref(*out);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int link_or_copy(const char *src, const char *dst, struct err *err)
{
	char *data;
	size_t n;
	int rc;

	if (link(src, dst) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
		err_set(err, ERR_IO, "cannot link '%s' to '%s': %s", src, dst,
			strerror(errno));
		return -1;
	}
	if (fs_read_file(src, &data, &n, err) < 0)
		return -1;
	rc = fs_write_atomic(dst, data, n, err);
	free(data);
	return rc;
}

/* Check object 'fh' once per store; on a mismatch remove it and the
 * manifest 'mh' that names it. */
static int verify_object(struct store *st, const struct hash *mh,
			 const struct hash *fh, const char *rel, struct err *err)
{
	char hex[HASH_HEX_LEN], *path;
	struct hash got;
	struct err ignored;

	hash_to_hex(fh, hex);
	if (strmap_get(&st->verified, hex) >= 0)
		return 0;
	path = store_path(st, fh);
	if (hash_file(path, &got, &ignored) == 0 && !memcmp(got.b, fh->b, HASH_LEN)) {
		xgrow((void **)&st->owned, sizeof(char *), &st->cap_owned, st->n_owned + 1);
		st->owned[st->n_owned] = xstrdup(hex);
		strmap_put(&st->verified, st->owned[st->n_owned++], 1);
		free(path);
		return 0;
	}
	err_set(err, ERR_USER, "output '%s' in the store (%s) was modified or is "
		"missing: its content no longer matches its hash; it is removed, "
		"and the node that made it will run again next time", rel, path);
	unlink(path);
	free(path);
	path = store_path(st, mh);
	unlink(path);
	free(path);
	return -1;
}

int store_link_dir(struct store *st, const struct hash *h,
		   const char *dir, struct err *err)
{
	json_t *m, *f;
	size_t i;
	int rc = 0;

	if (store_manifest(st, h, &m, err) < 0)
		return -1;
	if (fs_mkdirs(dir, err) < 0) {
		json_decref(m);
		return -1;
	}
	json_array_foreach(json_object_get(m, "files"), i, f) {
		struct hash fh;
		const char *rel = json_string_value(json_object_get(f, "path"));
		char *dst = fs_join(dir, rel), *slash = strrchr(dst, '/'), *src;
		if (!rel || hash_from_hex(json_string_value(json_object_get(f, "hash")), &fh) < 0) {
			err_set(err, ERR_IO, "malformed manifest entry");
			free(dst);
			rc = -1;
			break;
		}
		*slash = '\0';
		rc = fs_mkdirs(dst, err);
		*slash = '/';
		src = object_path(st, &fh);
		if (rc == 0)
			rc = verify_object(st, h, &fh, rel, err);
		if (rc == 0)
			rc = link_or_copy(src, dst, err);
		free(src);
		free(dst);
		if (rc < 0)
			break;
	}
	json_decref(m);
	return rc;
}

int store_outputs_present(const struct store *st, const struct hash *h)
{
	return store_has(st, h);
}

/* ---- deferred durability --------------------------------------------- */

struct store_job {
	size_t *idx;        /* the objects to publish: indexes into 'pend' */
	char **paths;       /* where they lie (owned copies: the syncer reads
			     * them while the store's arrays may move) */
	size_t n, cap_idx, cap_paths;
	const char *failed; /* the path whose fsync failed, or NULL */
	int sync_errno;
};

/* Make object 'hex' pending at 'path' (taken over) and add it to 'job'. */
static void add_pending(struct store *st, struct store_job *job,
			const char *hex, char *path)
{
	int i;

	xgrow((void **)&st->pend, sizeof(*st->pend), &st->cap_pend, st->n_pend + 1);
	st->pend[st->n_pend].hex = xstrdup(hex);
	i = strmap_put(&st->pending, st->pend[st->n_pend].hex, (int)st->n_pend);
	if (i < 0) {
		i = (int)st->n_pend++;
		/* our own file, just hashed: no need to check it when handed out */
		strmap_put(&st->verified, st->pend[i].hex, 1);
	} else {
		free(st->pend[st->n_pend].hex);   /* pending before, published since */
	}
	st->pend[i].path = path;
	xgrow((void **)&job->idx, sizeof(*job->idx), &job->cap_idx, job->n + 1);
	xgrow((void **)&job->paths, sizeof(*job->paths), &job->cap_paths, job->n + 1);
	job->idx[job->n] = (size_t)i;
	job->paths[job->n++] = xstrdup(path);
}

static void job_free(struct store_job *job)
{
	size_t i;

	for (i = 0; i < job->n; i++)
		free(job->paths[i]);
	free(job->paths);
	free(job->idx);
	free(job);
}

/* The job's objects are no longer pending; free the job.  'from' > 0:
 * its files from index 'from - 1' on were not published: remove them. */
static void unpend(struct store *st, struct store_job *job, size_t from)
{
	size_t i;

	for (i = 0; i < job->n; i++) {
		if (from > 0 && i >= from - 1)
			unlink(st->pend[job->idx[i]].path);
		free(st->pend[job->idx[i]].path);
		st->pend[job->idx[i]].path = NULL;
	}
	job_free(job);
}

void store_job_drop(struct store *st, struct store_job *job)
{
	unpend(st, job, 1);
}

int store_job_empty(const struct store_job *job)
{
	return job->n == 0;
}

/* 1 if object 'hex' needs no new copy: it is in objects/ or pending. */
static int known(const struct store *st, const char *hex)
{
	char *path;
	int yes;

	if (pending_path(st, hex))
		return 1;
	path = xasprintf("%s/%.2s/%s", st->dir, hex, hex + 2);
	yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}

/* Write 'text' to a new read-only file 'path', without fsync. */
static int write_unsynced(const char *path, const char *text, size_t n,
			  struct err *err)
{
	int fd;
	ssize_t w = 0;

	unlink(path);   /* a leftover of a crashed run with our pid */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0) {
		err_set(err, ERR_IO, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	while (n > 0 && (w = write(fd, text, n)) != 0) {
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		text += w;
		n -= (size_t)w;
	}
	if (n > 0) {
		err_set(err, ERR_IO, "cannot write '%s': %s", path,
			w < 0 ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* The manifest of the sorted files 'paths' under 'dir', hashing each
 * into 'hs'; NULL with 'err' set on a read error. */
static json_t *hash_outputs(const char *dir, char **paths, size_t n,
			    struct hash *hs, struct err *err)
{
	json_t *files = json_array();
	char hex[HASH_HEX_LEN];
	struct stat sst;
	size_t i;

	for (i = 0; i < n; i++) {
		char *src = fs_join(dir, paths[i]);
		uint64_t size;
		int exec = stat(src, &sst) == 0 && (sst.st_mode & 0100);
		int r = hash_file_size(src, &hs[i], &size, err);
		free(src);
		if (r < 0) {
			json_decref(files);
			return NULL;
		}
		hash_to_hex(&hs[i], hex);
		json_array_append_new(files, json_pack("{s:s,s:s,s:I,s:b}", "path",
			paths[i], "hash", hex, "size", (json_int_t)size, "exec", exec));
	}
	return json_pack("{s:o}", "files", files);
}

int store_stage_dir(struct store *st, const char *dir, struct hash *out,
		    json_t **manifest, struct store_job **job, struct err *err)
{
	struct walk w = {0};
	struct hash *hs = NULL;
	struct store_job *j;
	char hex[HASH_HEX_LEN], *text = NULL;
	json_t *m = NULL;
	size_t i;
	int rc = -1;

	*job = NULL;
	if (sorted_files(dir, &w, err) < 0)
		goto out;
	hs = xmalloc((w.n + 1) * sizeof(*hs));
	m = hash_outputs(dir, w.paths, w.n, hs, err);
	if (!m)
		goto out;
	text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	hash_bytes(text, strlen(text), out);
	j = xcalloc(1, sizeof(*j));
	for (i = 0; i < w.n; i++) {
		char *src = fs_join(dir, w.paths[i]);
		hash_to_hex(&hs[i], hex);
		if (known(st, hex)) {   /* stored or pending already: drop the copy */
			unlink(src);
			free(src);
			continue;
		}
		chmod(src, 0444);
		add_pending(st, j, hex, src);
	}
	hash_to_hex(out, hex);
	if (!known(st, hex)) {
		/* in STATE/tmp, named after this process, where the next run
		 * removes it if a crash left it: never in objects/ */
		char *tmp = xasprintf("%s/%d-obj-%s", st->tmp, (int)getpid(), hex);
		if (write_unsynced(tmp, text, strlen(text), err) < 0) {
			free(tmp);
			store_job_drop(st, j);
			goto out;
		}
		add_pending(st, j, hex, tmp);
	}
	*job = j;
	rc = 0;
out:
	for (i = 0; i < w.n; i++)
		free(w.paths[i]);
	free(w.paths);
	free(hs);
	free(text);
	if (manifest && rc == 0)
		*manifest = m;
	else
		json_decref(m);
	return rc;
}

int store_job_sync(struct store_job *job)
{
	size_t i;

	for (i = 0; i < job->n; i++) {
		int fd = open(job->paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0) {
			job->sync_errno = errno;
			job->failed = job->paths[i];
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

int store_publish(struct store *st, struct store_job *job, struct err *err)
{
	size_t i;
	int rc = 0;

	if (job->failed) {
		err_set(err, ERR_IO, "cannot sync '%s': %s", job->failed,
			strerror(job->sync_errno));
		rc = -1;
	}
	for (i = 0; i < job->n && rc == 0; i++) {
		const struct store_pending *p = &st->pend[job->idx[i]];
		char *dst = xasprintf("%s/%.2s/%s", st->dir, p->hex, p->hex + 2);
		char *slash = strrchr(dst, '/');
		*slash = '\0';
		if (mkdir(dst, 0755) < 0 && errno != EEXIST) {
			err_set(err, ERR_IO, "cannot create '%s': %s", dst, strerror(errno));
			rc = -1;
		}
		*slash = '/';
		if (rc == 0 && rename(p->path, dst) < 0) {
			err_set(err, ERR_IO, "cannot move '%s' into the store: %s",
				p->path, strerror(errno));
			rc = -1;
		}
		free(dst);
	}
	/* on a failure, what was not moved goes: nothing names it */
	unpend(st, job, rc == 0 ? 0 : (job->failed ? 1 : i));
	return rc;
}
