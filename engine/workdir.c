/* workdir: see workdir.h.
 *
 * Invariant: every folder in 'trees' holds exactly an empty 'out/' and an
 * empty 'in/', and every folder in 'spares' is empty, writable, and named
 * s<k> directly under 'root'. */
#include "workdir.h"
#include "fs.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void workdir_init(struct workdir_pool *wp, const char *root)
{
	memset(wp, 0, sizeof(*wp));
	wp->root = xstrdup(root);
}

void workdir_release(struct workdir_pool *wp)
{
	size_t i;

	for (i = 0; i < wp->n_trees; i++)
		free(wp->trees[i]);
	for (i = 0; i < wp->n_spares; i++)
		free(wp->spares[i]);
	free(wp->trees);
	free(wp->spares);
	free(wp->root);
	memset(wp, 0, sizeof(*wp));
}

int workdir_mkdir(struct workdir_pool *wp, const char *path, struct err *err)
{
	while (wp->n_spares > 0) {
		char *s = wp->spares[--wp->n_spares];
		int ok = rename(s, path) == 0;
		if (!ok)
			fs_remove_tree(s, err);   /* gone or odd: not reused */
		free(s);
		if (ok)
			return 0;
	}
	if (mkdir(path, 0777) < 0) {
		err_set(err, ERR_IO, "cannot create folder '%s': %s", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

char *workdir_take(struct workdir_pool *wp, struct err *err)
{
	static const char *const subs[] = {"out", "in"};
	char *work;
	size_t k;

	if (wp->n_trees > 0)
		return wp->trees[--wp->n_trees];
	work = xasprintf("%s/w%d", wp->root, wp->next++);
	if (workdir_mkdir(wp, work, err) < 0) {
		free(work);
		return NULL;
	}
	for (k = 0; k < 2; k++) {
		char *sub = fs_join(work, subs[k]);
		int rc = workdir_mkdir(wp, sub, err);
		free(sub);
		if (rc < 0) {
			fs_remove_tree(work, err);
			free(work);
			return NULL;
		}
	}
	return work;
}

static int empty_dir(struct workdir_pool *wp, const char *dir);

/* Empty folder 'dir' and move it to the spares. */
static int spare_dir(struct workdir_pool *wp, const char *dir)
{
	char *to;

	if (empty_dir(wp, dir) < 0)
		return -1;
	to = xasprintf("%s/s%d", wp->root, wp->next++);
	if (rename(dir, to) < 0) {
		free(to);
		return -1;
	}
	xgrow((void **)&wp->spares, sizeof(char *), &wp->cap_spares, wp->n_spares + 1);
	wp->spares[wp->n_spares++] = to;
	return 0;
}

/* Remove the files under 'dir' and spare its folders; 'dir' stays. */
static int empty_dir(struct workdir_pool *wp, const char *dir)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	if ((st.st_mode & 0700) != 0700 && chmod(dir, 0755) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *sub = fs_join(dir, de->d_name);
		int is_dir = de->d_type == DT_DIR ||
			     (de->d_type == DT_UNKNOWN && lstat(sub, &st) == 0 &&
			      S_ISDIR(st.st_mode));
		rc = is_dir ? spare_dir(wp, sub) : unlink(sub);
		free(sub);
	}
	closedir(d);
	return rc;
}

void workdir_give(struct workdir_pool *wp, char *work)
{
	static const char *const keep[] = {"out", "in"};
	struct dirent *de;
	struct err e;
	DIR *d = opendir(work);
	int rc = d ? 0 : -1;
	size_t k;

	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *sub = fs_join(work, de->d_name);
		if (!strcmp(de->d_name, "out") || !strcmp(de->d_name, "in"))
			rc = empty_dir(wp, sub);
		else if (de->d_type == DT_DIR)
			rc = spare_dir(wp, sub);
		else
			rc = unlink(sub);
		free(sub);
	}
	if (d)
		closedir(d);
	for (k = 0; k < 2 && rc == 0; k++) {   /* a node may have removed them */
		char *sub = fs_join(work, keep[k]);
		if (!fs_exists(sub))
			rc = workdir_mkdir(wp, sub, &e);
		free(sub);
	}
	if (rc < 0) {
		fs_remove_tree(work, &e);
		free(work);
		return;
	}
	xgrow((void **)&wp->trees, sizeof(char *), &wp->cap_trees, wp->n_trees + 1);
	wp->trees[wp->n_trees++] = work;
}
