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
 * fsyncs per node, which dominate a run of many small nodes. */
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
	char *tmp = fs_join(state_dir, "tmp");

	st->dir = fs_join(state_dir, "objects");
	strmap_init(&st->verified);
	st->owned = NULL;
	st->n_owned = st->cap_owned = 0;
	if (fs_mkdirs(tmp, err) < 0) {
		free(tmp);
		return -1;
	}
	free(tmp);
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
	free(st->dir);
	st->dir = NULL;
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

	if (walk_dir(dir, "", &w, err) < 0)
		goto out;
	if (w.n > 1)
		qsort(w.paths, w.n, sizeof(char *), cmp_path);
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
	char *path = store_path(st, h), *text;
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
		src = store_path(st, &fh);
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
