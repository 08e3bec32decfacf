/* Unit tests for engine/lineage.c: each test builds a throw-away repository
 * with the git command line in a mkdtemp folder, asks lineage_inspect()
 * about it, and checks the answer against what git itself says
 * (rev-parse, hash-object).  A TEST owns the folder and the lineage and
 * frees them (in_folder); its check_* helper holds the ASSERTs and keeps
 * its own strings on the stack, so a failed assertion leaks nothing and
 * LeakSanitizer never hides which test failed. */
#include "fs.h"
#include "lineage.h"
#include "test.h"
#include "tmpdir.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 4096: longest shell command a test builds */
#define CMD_MAX 4096

/* Run a shell command built from 'fmt'; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[CMD_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* 64: a 40-hex object id and its newline, with room to spare */
#define LINE_MAX_ 64

/* The first line a shell command prints, without its newline, into
 * 'out' (empty if it printed nothing).  A stack buffer, so that a failed
 * ASSERT leaks nothing. */
static void sh_line(char out[LINE_MAX_], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sh_line(char out[LINE_MAX_], const char *fmt, ...)
{
	char cmd[CMD_MAX];
	va_list ap;
	FILE *f;

	out[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return;
	if (!fgets(out, LINE_MAX_, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(f);
}

static char *make_tmp(void)
{
	char tmpl[] = "/tmp/dagrun-lineage-XXXXXX";

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		abort();
	}
	return xstrdup(tmpl);
}

/* A fresh repository on branch "main" without commits. */
static char *new_repo(void)
{
	char *dir = make_tmp();

	if (sh("cd '%s' && git init -q -b main && git config user.name test &&"
	       " git config user.email test@example.com &&"
	       " git config commit.gpgsign false", dir)) {
		fprintf(stderr, "git init failed in '%s'\n", dir);
		abort();
	}
	return dir;
}


/* A repository with one commit holding a.txt ("one\n"). */
static char *committed_repo(void)
{
	char *dir = new_repo();

	put_file(dir, "a.txt", "one\n");
	if (sh("cd '%s' && git add a.txt && git commit -q -m init", dir))
		abort();
	return dir;
}

static void drop(char *dir, struct lineage *l)
{
	struct err err;

	err_init(&err);
	if (fs_remove_tree(dir, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	free(dir);
	lineage_release(l);
}

/* Run 'check' against a fresh folder made by 'make', then remove it and
 * release what the check left in the lineage, pass or fail. */
static void in_folder(char *(*make)(void),
		      void (*check)(const char *dir, struct lineage *l))
{
	struct lineage l = {0};
	char *dir = make();

	check(dir, &l);
	drop(dir, &l);
}

static int inspect(const char *root, const char *path, struct lineage *l)
{
	const char *paths[] = {path};
	struct err err;
	int rc;

	err_init(&err);
	rc = lineage_inspect(root, paths, 1, l, &err);
	if (rc < 0)
		fprintf(stderr, "lineage_inspect: %s\n", err.msg);
	return rc;
}

static const char *field(const struct lineage *l, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(l->files, i),
						 key));
}

static int is_hex40(const char *s)
{
	return s && strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

static void check_head(const char *dir, const char *branch,
		       struct lineage *l)
{
	char head[LINE_MAX_];

	sh_line(head, "git -C '%s' rev-parse HEAD", dir);
	ASSERT(is_hex40(head));
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT(is_hex40(l->commit));
	ASSERT_STREQ(l->commit, head);
	ASSERT_STREQ(l->branch, branch);
}

TEST(head_commit_and_branch)
{
	struct lineage l = {0};
	char *dir = committed_repo();

	sh("git -C '%s' checkout -q -b feature/x", dir);
	check_head(dir, "feature/x", &l);
	lineage_release(&l);
	sh("git -C '%s' checkout -q main", dir);
	check_head(dir, "main", &l);
	drop(dir, &l);
}

static void check_detached(const char *dir, struct lineage *l)
{
	char head[LINE_MAX_];

	sh_line(head, "git -C '%s' rev-parse HEAD", dir);
	ASSERT_EQ(sh("git -C '%s' checkout -q --detach", dir), 0);
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_STREQ(l->commit, head);
	ASSERT(l->branch == NULL);
}

TEST(detached_head_has_no_branch)
{
	in_folder(committed_repo, check_detached);
}

static void check_clean(const char *dir, struct lineage *l)
{
	char blob[LINE_MAX_];

	sh_line(blob, "cd '%s' && git hash-object a.txt", dir);
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_EQ(l->dirty, 0);
	ASSERT_EQ(json_array_size(l->files), 1);
	ASSERT_STREQ(field(l, 0, "path"), "a.txt");
	ASSERT_STREQ(field(l, 0, "status"), "clean");
	ASSERT(is_hex40(field(l, 0, "blob")));
	ASSERT_STREQ(field(l, 0, "blob"), blob);
}

TEST(clean_file)
{
	in_folder(committed_repo, check_clean);
}

static void check_modified(const char *dir, struct lineage *l)
{
	char old[LINE_MAX_], now[LINE_MAX_];

	sh_line(old, "cd '%s' && git hash-object a.txt", dir);
	put_file(dir, "a.txt", "two\n");
	sh_line(now, "cd '%s' && git hash-object a.txt", dir);
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "modified");
	ASSERT_STREQ(field(l, 0, "blob"), now);
	ASSERT(strcmp(now, old) != 0);
	lineage_release(l);

	/* staged: the index agrees with the work tree, HEAD does not */
	ASSERT_EQ(sh("git -C '%s' add a.txt", dir), 0);
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "modified");
	lineage_release(l);

	/* staged, then the work tree put back: the run reads HEAD's bytes */
	put_file(dir, "a.txt", "one\n");
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_EQ(l->dirty, 0);
	ASSERT_STREQ(field(l, 0, "status"), "clean");
	ASSERT_STREQ(field(l, 0, "blob"), old);
}

TEST(modified_and_staged_file)
{
	in_folder(committed_repo, check_modified);
}

static void check_untracked(const char *dir, struct lineage *l)
{
	char blob[LINE_MAX_];

	ASSERT_EQ(sh("mkdir -p '%s/lua'", dir), 0);
	put_file(dir, "lua/new.lua", "return {}\n");
	sh_line(blob, "cd '%s' && git hash-object lua/new.lua", dir);
	ASSERT_EQ(inspect(dir, "lua/new.lua", l), 0);
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "untracked");
	ASSERT_STREQ(field(l, 0, "blob"), blob);
}

TEST(untracked_file)
{
	in_folder(committed_repo, check_untracked);
}

/* Added to the index but not committed: HEAD still lacks it. */
static void check_staged_new(const char *dir, struct lineage *l)
{
	put_file(dir, "b.txt", "new\n");
	ASSERT_EQ(sh("git -C '%s' add b.txt", dir), 0);
	ASSERT_EQ(inspect(dir, "b.txt", l), 0);
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "untracked");
}

TEST(staged_new_file_is_untracked)
{
	in_folder(committed_repo, check_staged_new);
}

/* The executable bit is part of what git records, unless core.filemode
 * is off. */
static void check_mode(const char *dir, struct lineage *l)
{
	ASSERT_EQ(sh("chmod +x '%s/a.txt'", dir), 0);
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "modified");
	lineage_release(l);

	ASSERT_EQ(sh("git -C '%s' config core.filemode false", dir), 0);
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	ASSERT_EQ(l->dirty, 0);
	ASSERT_STREQ(field(l, 0, "status"), "clean");
}

TEST(executable_bit_counts)
{
	in_folder(committed_repo, check_mode);
}

static void check_deleted(const char *dir, struct lineage *l)
{
	const char *paths[] = {"a.txt", "never/was.txt"};
	struct err err;

	err_init(&err);
	ASSERT_EQ(sh("rm '%s/a.txt'", dir), 0);
	ASSERT_EQ(lineage_inspect(dir, paths, 2, l, &err), 0);
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "deleted");
	ASSERT(json_is_null(json_object_get(json_array_get(l->files, 0), "blob")));
	ASSERT_STREQ(field(l, 1, "status"), "deleted");
	ASSERT(json_is_null(json_object_get(json_array_get(l->files, 1), "blob")));
}

TEST(deleted_and_missing_files)
{
	in_folder(committed_repo, check_deleted);
}

static void check_ignored(const char *dir, struct lineage *l)
{
	put_file(dir, ".gitignore", "data/\n");
	ASSERT_EQ(sh("cd '%s' && git add .gitignore && git commit -q -m ign"
		     " && mkdir data", dir), 0);
	put_file(dir, "data/big.csv", "x,y\n1,2\n");
	ASSERT_EQ(inspect(dir, "data/big.csv", l), 0);
	ASSERT_EQ(l->dirty, 0);
	ASSERT_STREQ(field(l, 0, "status"), "ignored");
	ASSERT(is_hex40(field(l, 0, "blob")));
}

TEST(ignored_file_is_not_dirty)
{
	in_folder(committed_repo, check_ignored);
}

static void check_outside(const char *dir, struct lineage *l)
{
	char blob[LINE_MAX_];

	put_file(dir, "p.yaml", "pipeline: x\n");
	sh_line(blob, "cd '%s' && git hash-object p.yaml", dir);
	ASSERT_EQ(inspect(dir, "p.yaml", l), 0);
	ASSERT(l->commit == NULL);
	ASSERT(l->branch == NULL);
	ASSERT_EQ(l->dirty, 0);
	ASSERT_STREQ(field(l, 0, "status"), "outside");
	ASSERT_STREQ(field(l, 0, "blob"), blob);
}

TEST(folder_outside_any_repository)
{
	in_folder(make_tmp, check_outside);
}

static void check_unborn(const char *dir, struct lineage *l)
{
	put_file(dir, "p.yaml", "pipeline: x\n");
	ASSERT_EQ(inspect(dir, "p.yaml", l), 0);
	ASSERT(l->commit == NULL);
	ASSERT_STREQ(l->branch, "main");
	ASSERT_EQ(l->dirty, 1);
	ASSERT_STREQ(field(l, 0, "status"), "untracked");
}

TEST(unborn_head_has_no_commit)
{
	in_folder(new_repo, check_unborn);
}

/* The project root may be a subfolder of the work tree; a path that
 * climbs out of the work tree is "outside". */
static void check_subfolder(const char *dir, struct lineage *l)
{
	const char *paths[] = {"p.yaml", "../a.txt", "../../elsewhere.txt"};
	char *root = fs_join(dir, "proj");
	struct err err;
	int rc;

	err_init(&err);
	rc = sh("mkdir '%s' && echo 'pipeline: x' > '%s/p.yaml' &&"
		" git -C '%s' add proj && git -C '%s' commit -q -m p",
		root, root, dir, dir);
	if (rc == 0)
		rc = lineage_inspect(root, paths, 3, l, &err);
	free(root);
	ASSERT_EQ(rc, 0);
	ASSERT(is_hex40(l->commit));
	ASSERT_EQ(l->dirty, 0);
	ASSERT_STREQ(field(l, 0, "path"), "p.yaml");
	ASSERT_STREQ(field(l, 0, "status"), "clean");
	ASSERT_STREQ(field(l, 1, "path"), "../a.txt");
	ASSERT_STREQ(field(l, 1, "status"), "clean");
	ASSERT_STREQ(field(l, 2, "status"), "outside");
}

TEST(root_below_the_work_tree)
{
	in_folder(committed_repo, check_subfolder);
}

/* git stores a link as its target text and converts CRLF on the way in;
 * a clean file's blob must equal the blob in HEAD in both cases. */
static void check_stored_form(const char *dir, struct lineage *l)
{
	const char *paths[] = {"link", "crlf.txt"};
	char link_blob[LINE_MAX_], crlf_blob[LINE_MAX_];
	struct err err;

	err_init(&err);
	put_file(dir, "crlf.txt", "a\r\nb\r\n");
	ASSERT_EQ(sh("cd '%s' && git config core.autocrlf true && ln -s a.txt link"
		     " && git add link crlf.txt 2>/dev/null && git commit -q -m s",
		     dir), 0);
	sh_line(link_blob, "git -C '%s' rev-parse HEAD:link", dir);
	sh_line(crlf_blob, "git -C '%s' rev-parse HEAD:crlf.txt", dir);
	ASSERT_EQ(lineage_inspect(dir, paths, 2, l, &err), 0);
	ASSERT_EQ(l->dirty, 0);
	ASSERT_STREQ(field(l, 0, "status"), "clean");
	ASSERT_STREQ(field(l, 0, "blob"), link_blob);
	ASSERT_STREQ(field(l, 1, "status"), "clean");
	ASSERT_STREQ(field(l, 1, "blob"), crlf_blob);
}

TEST(blob_ids_match_what_git_stores)
{
	in_folder(committed_repo, check_stored_form);
}

static void check_json(const char *dir, struct lineage *l, json_t **j)
{
	ASSERT_EQ(inspect(dir, "a.txt", l), 0);
	*j = lineage_json(l);
	ASSERT(*j);
	ASSERT_STREQ(json_string_value(json_object_get(*j, "commit")),
		     l->commit);
	ASSERT_STREQ(json_string_value(json_object_get(*j, "branch")), "main");
	ASSERT(json_is_false(json_object_get(*j, "dirty")));
	ASSERT(json_equal(json_object_get(*j, "files"), l->files));
	ASSERT(json_object_get(*j, "files") != l->files);
	lineage_release(l);
	ASSERT_EQ(json_array_size(json_object_get(*j, "files")), 1);
}

/* An empty lineage (outside a repository, no paths): nulls, not holes. */
static void check_json_empty(json_t **j)
{
	struct lineage none = {0};

	*j = lineage_json(&none);
	ASSERT(json_is_null(json_object_get(*j, "commit")));
	ASSERT(json_is_null(json_object_get(*j, "branch")));
	ASSERT_EQ(json_array_size(json_object_get(*j, "files")), 0);
}

TEST(json_form)
{
	struct lineage l = {0};
	json_t *j = NULL, *empty = NULL;
	char *dir = committed_repo();

	check_json(dir, &l, &j);
	check_json_empty(&empty);
	json_decref(j);
	json_decref(empty);
	drop(dir, &l);
}

static void check_no_paths(const char *dir, struct lineage *l)
{
	struct err err;

	err_init(&err);
	ASSERT_EQ(lineage_inspect(dir, NULL, 0, l, &err), 0);
	ASSERT(is_hex40(l->commit));
	ASSERT(json_is_array(l->files));
	ASSERT_EQ(json_array_size(l->files), 0);
	ASSERT_EQ(l->dirty, 0);
}

TEST(no_paths)
{
	in_folder(committed_repo, check_no_paths);
}

static void check_failures(const char *dir, struct lineage *l)
{
	const char *paths[] = {"a.txt", "sub"};
	char *gone = fs_join(dir, "no-such-root");
	struct err err;
	int rc;

	err_init(&err);
	rc = lineage_inspect(gone, paths, 1, l, &err);
	free(gone);
	ASSERT_EQ(rc, -1);
	ASSERT_EQ(err.kind, ERR_IO);
	ASSERT_CONTAINS(err.msg, "no-such-root");
	ASSERT(l->files == NULL && l->commit == NULL);

	/* a folder is not a file: git cannot give it one status */
	err_init(&err);
	ASSERT_EQ(sh("mkdir '%s/sub' && touch '%s/sub/x'", dir, dir), 0);
	ASSERT_EQ(lineage_inspect(dir, paths, 2, l, &err), -1);
	ASSERT_EQ(err.kind, ERR_IO);
	ASSERT_CONTAINS(err.msg, "/sub': not a regular file");
	ASSERT(l->files == NULL && l->commit == NULL && l->branch == NULL);

	/* JSON cannot hold a path that is not UTF-8 */
	err_init(&err);
	put_file(dir, "bad\xff.txt", "x\n");
	paths[0] = "bad\xff.txt";
	ASSERT_EQ(lineage_inspect(dir, paths, 1, l, &err), -1);
	ASSERT_CONTAINS(err.msg, "not UTF-8");
	ASSERT(l->files == NULL);
}

TEST(failures_leave_nothing_to_release)
{
	in_folder(committed_repo, check_failures);
}

/* 2000 files, 5 asked about: the cost must follow the paths asked about,
 * not the size of the work tree.  A smoke bound: ~5 ms optimised, 25-80
 * ms under ASan on a busy machine; 500 ms leaves room for load. */
static void check_speed(const char *dir, struct lineage *l)
{
	const char *paths[] = {"a.txt", "f/10", "f/999", "f/1999", "new"};
	struct timespec t0, t1;
	struct err err;
	double ms;

	err_init(&err);
	ASSERT_EQ(sh("cd '%s' && mkdir f && for i in $(seq 0 1999); do"
		     " echo $i > f/$i; done && git add f && git commit -q -m f"
		     " && echo x > new", dir), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(lineage_inspect(dir, paths, 5, l, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("     lineage of 5 paths in a 2001-file repository: %.1f ms\n", ms);
	ASSERT_STREQ(field(l, 1, "status"), "clean");
	ASSERT_STREQ(field(l, 4, "status"), "untracked");
	ASSERT(ms < 500);
}

TEST(cost_follows_the_paths)
{
	in_folder(committed_repo, check_speed);
}

TEST_LIST(
	T(head_commit_and_branch),
	T(detached_head_has_no_branch),
	T(clean_file),
	T(modified_and_staged_file),
	T(untracked_file),
	T(staged_new_file_is_untracked),
	T(executable_bit_counts),
	T(deleted_and_missing_files),
	T(ignored_file_is_not_dirty),
	T(folder_outside_any_repository),
	T(unborn_head_has_no_commit),
	T(root_below_the_work_tree),
	T(blob_ids_match_what_git_stores),
	T(json_form),
	T(no_paths),
	T(failures_leave_nothing_to_release),
	T(cost_follows_the_paths)
)
