/* lineage: see lineage.h.
 *
 * The question a lineage answers is "does HEAD hold the bytes this run
 * read?", so each file is compared with its HEAD tree entry by blob id:
 * the file is hashed anyway to record its blob, and the comparison is
 * then exact.  No folder is listed and, in the common case, the index is
 * not read; git_status_file() would do both (it lists the file's whole
 * parent folder, ~0.75 ms per path in a 3000-file folder, and loads the
 * index, ~2 ms at 6000 entries).  What remains is git_libgit2_init()
 * (~3.5 ms: its TLS setup parses the CA bundle) and, per path, one tree
 * walk and one hash.
 *
 * Paths are compared as real paths: 'root' and the work tree are resolved
 * with realpath(3) (libgit2 and the caller may spell them through
 * different symbolic links), then each root-relative path is folded
 * lexically ("a/../b") and must fall under the work tree to be looked up. */
#include "lineage.h"
#include "fs.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

/* One inspection's view of the repository. */
struct probe {
	git_repository *repo;  /* NULL when there is no work tree */
	git_tree *head;        /* HEAD's tree; NULL when unborn or no repo */
	int filemode;          /* core.filemode: the executable bit counts */
	char *root;            /* realpath of the project root */
	char *workdir;         /* realpath of the work tree, no trailing '/' */
};

/* A working-tree file as git would store it. */
struct wt_file {
	int exists;
	git_filemode_t mode;   /* GIT_FILEMODE_BLOB, _BLOB_EXECUTABLE, _LINK */
	git_oid oid;           /* its blob id, when it exists */
};

/* Set 'err' from libgit2's last error; always returns -1. */
static int fail_git(struct err *err, const char *what, const char *subject)
{
	const git_error *ge = git_error_last();

	err_set(err, ERR_IO, "%s '%s': %s", what, subject,
		ge && ge->message ? ge->message : "unknown libgit2 error");
	return -1;
}

static char *oid_hex(const git_oid *oid)
{
	char hex[LINEAGE_OID_HEX];

	git_oid_tostr(hex, sizeof(hex), oid);
	return xstrdup(hex);
}

/* realpath(3) into a fresh string, or NULL with 'err' set. */
static char *real_path(const char *path, struct err *err)
{
	char *r = realpath(path, NULL);

	if (!r)
		err_set(err, ERR_IO, "cannot resolve '%s': %s", path,
			strerror(errno));
	return r;
}

/* core.filemode, true unless the repository says otherwise. */
static int read_filemode(git_repository *repo, int *out, struct err *err)
{
	git_config *cfg = NULL;
	int rc;

	*out = 1;
	if (git_repository_config_snapshot(&cfg, repo) < 0)
		return fail_git(err, "cannot read the configuration of",
				git_repository_path(repo));
	rc = git_config_get_bool(out, cfg, "core.filemode");
	git_config_free(cfg);
	if (rc == GIT_ENOTFOUND) {
		*out = 1;
		return 0;
	}
	if (rc < 0)
		return fail_git(err, "cannot read core.filemode of",
				git_repository_path(repo));
	return 0;
}

/* Open the repository whose work tree holds 'p->root'.  No repository, or
 * a bare one, leaves 'p->repo' NULL and is not an error. */
static int open_repo(struct probe *p, struct err *err)
{
	const char *wd;
	int rc;

	rc = git_repository_open_ext(&p->repo, p->root, 0, NULL);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return fail_git(err, "cannot open repository at", p->root);
	wd = git_repository_workdir(p->repo);
	if (!wd) {
		git_repository_free(p->repo);
		p->repo = NULL;
		return 0;
	}
	p->workdir = real_path(wd, err);
	if (!p->workdir)
		return -1;
	return read_filemode(p->repo, &p->filemode, err);
}

/* The branch HEAD names, born or not: NULL when detached. */
static int read_branch(git_repository *repo, char **out, struct err *err)
{
	static const char heads[] = "refs/heads/";
	git_reference *head = NULL;
	const char *target;

	if (git_reference_lookup(&head, repo, "HEAD") < 0)
		return fail_git(err, "cannot read HEAD of",
				git_repository_path(repo));
	target = git_reference_symbolic_target(head);
	if (target && !strncmp(target, heads, sizeof(heads) - 1))
		*out = xstrdup(target + sizeof(heads) - 1);
	git_reference_free(head);
	return 0;
}

/* HEAD's commit id into 'out' and its tree into 'p->head'; an unborn
 * HEAD has neither. */
static int read_head(struct probe *p, struct lineage *out, struct err *err)
{
	git_commit *commit = NULL;
	git_oid oid;
	int rc;

	if (read_branch(p->repo, &out->branch, err) < 0)
		return -1;
	rc = git_reference_name_to_id(&oid, p->repo, "HEAD");
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0 || git_commit_lookup(&commit, p->repo, &oid) < 0)
		return fail_git(err, "cannot resolve HEAD of",
				git_repository_path(p->repo));
	rc = git_commit_tree(&p->head, commit);
	git_commit_free(commit);
	if (rc < 0)
		return fail_git(err, "cannot read the tree of HEAD in",
				git_repository_path(p->repo));
	out->commit = oid_hex(&oid);
	return 0;
}

/* 'full' relative to the work tree, borrowed from 'full'; NULL when it
 * is not strictly inside. */
static const char *under_workdir(const struct probe *p, const char *full)
{
	size_t n;

	if (!p->workdir)
		return NULL;
	n = strlen(p->workdir);
	if (n == 1)  /* the work tree is "/" */
		return full[1] ? full + 1 : NULL;
	if (strncmp(full, p->workdir, n) || full[n] != '/' || !full[n + 1])
		return NULL;
	return full + n + 1;
}

/* Hash a symbolic link as git stores it: the text of its target. */
static int hash_link(const char *full, off_t size, git_oid *oid,
		     struct err *err)
{
	char *target = xmalloc((size_t)size + 1);
	ssize_t n = readlink(full, target, (size_t)size + 1);
	int rc = 0;

	if (n < 0) {
		err_set(err, ERR_IO, "cannot read link '%s': %s", full,
			strerror(errno));
		rc = -1;
	} else if (git_odb_hash(oid, target, (size_t)n, GIT_OBJECT_BLOB) < 0) {
		rc = fail_git(err, "cannot hash", full);
	}
	free(target);
	return rc;
}

/* Read the file at 'full' as git would store it, before filters.  A
 * missing file is not an error; a folder, a FIFO or a device is (hashing
 * a FIFO would block). */
static int read_wt_file(const char *full, struct wt_file *wf,
			struct err *err)
{
	struct stat st;

	memset(wf, 0, sizeof(*wf));
	if (lstat(full, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		err_set(err, ERR_IO, "cannot stat '%s': %s", full,
			strerror(errno));
		return -1;
	}
	wf->exists = 1;
	if (S_ISLNK(st.st_mode)) {
		wf->mode = GIT_FILEMODE_LINK;
		return hash_link(full, st.st_size, &wf->oid, err);
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, ERR_IO, "cannot record '%s': not a regular file",
			full);
		return -1;
	}
	wf->mode = (st.st_mode & S_IXUSR) ? GIT_FILEMODE_BLOB_EXECUTABLE :
		GIT_FILEMODE_BLOB;
	if (git_odb_hashfile(&wf->oid, full, GIT_OBJECT_BLOB) < 0)
		return fail_git(err, "cannot hash", full);
	return 0;
}

/* Hash a regular file again through the repository's filters (CRLF to
 * LF, ident), as 'git add' would.  Costly the first time: it loads the
 * index to find .gitattributes (~2 ms at 6000 entries). */
static int hash_filtered(const struct probe *p, const char *full,
			 const char *rel, struct wt_file *wf, struct err *err)
{
	if (wf->mode == GIT_FILEMODE_LINK)
		return 0;
	if (git_repository_hashfile(&wf->oid, p->repo, full, GIT_OBJECT_BLOB,
				    rel) < 0)
		return fail_git(err, "cannot hash", full);
	return 0;
}

/* A file matches its HEAD entry when git would store the same blob and,
 * where core.filemode holds, the same executable bit. */
static int same_as_head(const struct probe *p, const git_tree_entry *te,
			const struct wt_file *wf)
{
	int head_x = git_tree_entry_filemode(te) == GIT_FILEMODE_BLOB_EXECUTABLE;
	int wt_x = wf->mode == GIT_FILEMODE_BLOB_EXECUTABLE;

	if (!git_oid_equal(git_tree_entry_id(te), &wf->oid))
		return 0;
	return !p->filemode || head_x == wt_x;
}

/* The status of the file 'full' at 'rel' in the work tree; see
 * lineage.h.  Its raw bytes were hashed: if they are HEAD's blob it is
 * clean whatever the filters, so only a tracked file that differs is
 * hashed again through them, and 'wf->oid' becomes the filtered id.  A
 * file HEAD lacks keeps its raw id: hashing a large ignored data file
 * twice to refine a blob nobody compares would cost more than it says. */
static int repo_status(const struct probe *p, const char *full,
		       const char *rel, struct wt_file *wf, const char **out,
		       struct err *err)
{
	git_tree_entry *te = NULL;
	int rc, ignored = 0;

	if (!wf->exists) {
		*out = "deleted";
		return 0;
	}
	rc = p->head ? git_tree_entry_bypath(&te, p->head, rel) : GIT_ENOTFOUND;
	if (rc < 0 && rc != GIT_ENOTFOUND)
		return fail_git(err, "cannot look up in HEAD", rel);
	if (te) {
		if (!git_oid_equal(git_tree_entry_id(te), &wf->oid))
			rc = hash_filtered(p, full, rel, wf, err);
		*out = same_as_head(p, te, wf) ? "clean" : "modified";
		git_tree_entry_free(te);
		return rc < 0 ? -1 : 0;
	}
	if (git_ignore_path_is_ignored(&ignored, p->repo, rel) < 0)
		return fail_git(err, "cannot match ignore rules against", rel);
	*out = ignored ? "ignored" : "untracked";
	return 0;
}

static int is_dirty(const char *status)
{
	return !strcmp(status, "modified") || !strcmp(status, "untracked") ||
	       !strcmp(status, "deleted");
}

/* Append one file's entry to 'out->files' and fold it into 'out->dirty'.
 * JSON strings must be UTF-8, and a path need not be. */
static int add_entry(struct lineage *out, const char *path,
		     const char *status, const char *blob, struct err *err)
{
	json_t *entry = json_pack("{s:s, s:s, s:s?}", "path", path,
				  "status", status, "blob", blob);

	if (!entry) {
		err_set(err, ERR_IO, "cannot record '%s': path is not UTF-8",
			path);
		return -1;
	}
	json_array_append_new(out->files, entry);
	if (is_dirty(status))
		out->dirty = 1;
	return 0;
}

/* Inspect one root-relative 'path' into 'out'. */
static int inspect_file(const struct probe *p, const char *path,
			struct lineage *out, struct err *err)
{
	char *joined = fs_join(p->root, path);
	char *full = fs_absolute(joined);
	const char *rel = under_workdir(p, full);
	const char *status = "outside";
	char *blob = NULL;
	struct wt_file wf;
	int rc;

	rc = read_wt_file(full, &wf, err);
	if (rc == 0 && rel)
		rc = repo_status(p, full, rel, &wf, &status, err);
	if (rc == 0) {
		blob = wf.exists ? oid_hex(&wf.oid) : NULL;
		rc = add_entry(out, path, status, blob, err);
	}
	free(blob);
	free(full);
	free(joined);
	return rc;
}

static int inspect(struct probe *p, const char *const *paths, int n_paths,
		   struct lineage *out, struct err *err)
{
	int i;

	if (open_repo(p, err) < 0)
		return -1;
	if (p->repo && read_head(p, out, err) < 0)
		return -1;
	for (i = 0; i < n_paths; i++) {
		if (inspect_file(p, paths[i], out, err) < 0)
			return -1;
	}
	return 0;
}

int lineage_inspect(const char *root, const char *const *paths, int n_paths,
		    struct lineage *out, struct err *err)
{
	struct probe p = {0};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (git_libgit2_init() < 0)
		return fail_git(err, "cannot start libgit2 for", root);
	out->files = json_array();
	p.root = real_path(root, err);
	if (p.root)
		rc = inspect(&p, paths, n_paths, out, err);
	if (rc < 0)
		lineage_release(out);
	git_tree_free(p.head);
	git_repository_free(p.repo);
	free(p.workdir);
	free(p.root);
	git_libgit2_shutdown();
	return rc;
}

void lineage_release(struct lineage *l)
{
	free(l->commit);
	free(l->branch);
	json_decref(l->files);
	memset(l, 0, sizeof(*l));
}

json_t *lineage_json(const struct lineage *l)
{
	json_t *files = l->files ? json_deep_copy(l->files) : json_array();

	return json_pack("{s:s?, s:s?, s:b, s:o}", "commit", l->commit,
			 "branch", l->branch, "dirty", l->dirty, "files", files);
}
