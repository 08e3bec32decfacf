/* Unit tests for deferred durability: staging a node's outputs
 * (store_stage_dir), the syncer thread that syncs them in order, their
 * publication into objects/, and the reused work folders (workdir). */
#include "test.h"
#include "tmpdir.h"

#include "fs.h"
#include "store.h"
#include "syncer.h"
#include "workdir.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	struct err e;
	FILE *f;

	fs_mkdirs(dir, &e);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Sync and publish one job on this thread. */
static int sync_publish(struct store *st, struct store_job *job, struct err *e)
{
	store_job_sync(job);
	return store_publish(st, job, e);
}

TEST(staged_outputs_hash_like_put_dir_and_wait_outside_objects)
{
	struct store st;
	struct store_job *job;
	struct err e;
	struct hash put, staged;
	char state[512], out[512], in[600], *text = NULL, *obj;
	size_t n;

	err_init(&e);
	snprintf(state, sizeof(state), "%s/s1", tmp_dir());
	snprintf(out, sizeof(out), "%s/o1", tmp_dir());
	snprintf(in, sizeof(in), "%s/i1/node", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	write_file(out, "a.txt", "alpha");
	ASSERT_EQ(store_put_dir(&st, out, &put, NULL, &e), 0);
	/* same name, new bytes: a new object, pending until published */
	write_file(out, "a.txt", "beta");
	ASSERT_EQ(store_stage_dir(&st, out, &staged, NULL, &job, &e), 0);
	ASSERT(memcmp(put.b, staged.b, HASH_LEN) != 0);
	ASSERT(!store_job_empty(job));
	ASSERT(!store_has(&st, &staged));            /* not in objects/ yet */
	ASSERT(fs_exists(strcat(strcpy(in, out), "/a.txt")));   /* left in place */
	/* dependents read it from where it lies */
	snprintf(in, sizeof(in), "%s/i1/node", tmp_dir());
	ASSERT_EQ(store_link_dir(&st, &staged, in, &e), 0);
	strcat(in, "/a.txt");
	ASSERT_EQ(fs_read_file(in, &text, &n, &e), 0);
	ASSERT_STREQ(text, "beta");
	free(text);
	ASSERT_EQ(sync_publish(&st, job, &e), 0);
	ASSERT(store_has(&st, &staged));
	snprintf(in, sizeof(in), "%s/a.txt", out);
	ASSERT(!fs_exists(in));                      /* moved into objects/ */
	obj = store_path(&st, &staged);
	ASSERT(fs_exists(obj));
	free(obj);
	/* the staged hash is the one store_put_dir gives for these bytes */
	write_file(out, "a.txt", "beta");
	ASSERT_EQ(store_put_dir(&st, out, &put, NULL, &e), 0);
	ASSERT(memcmp(put.b, staged.b, HASH_LEN) == 0);
	store_close(&st);
}

TEST(same_bytes_staged_twice_are_one_pending_object)
{
	struct store st;
	struct store_job *j1, *j2;
	struct err e;
	struct hash h1, h2;
	char state[512], o1[512], o2[512];

	err_init(&e);
	snprintf(state, sizeof(state), "%s/s2", tmp_dir());
	snprintf(o1, sizeof(o1), "%s/o2a", tmp_dir());
	snprintf(o2, sizeof(o2), "%s/o2b", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	write_file(o1, "x", "same");
	write_file(o2, "x", "same");
	ASSERT_EQ(store_stage_dir(&st, o1, &h1, NULL, &j1, &e), 0);
	ASSERT_EQ(store_stage_dir(&st, o2, &h2, NULL, &j2, &e), 0);
	ASSERT(memcmp(h1.b, h2.b, HASH_LEN) == 0);
	ASSERT(store_job_empty(j2));                 /* relies on j1 */
	ASSERT(!fs_exists(strcat(o2, "/x")));        /* its copy dropped */
	ASSERT_EQ(sync_publish(&st, j1, &e), 0);
	ASSERT_EQ(sync_publish(&st, j2, &e), 0);
	ASSERT(store_has(&st, &h1));
	store_close(&st);
}

TEST(a_dropped_job_leaves_nothing_in_objects)
{
	struct store st;
	struct store_job *job;
	struct err e;
	struct hash h;
	char state[512], out[512], in[512];

	err_init(&e);
	snprintf(state, sizeof(state), "%s/s3", tmp_dir());
	snprintf(out, sizeof(out), "%s/o3", tmp_dir());
	snprintf(in, sizeof(in), "%s/i3", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	write_file(out, "y", "dropped");
	ASSERT_EQ(store_stage_dir(&st, out, &h, NULL, &job, &e), 0);
	store_job_drop(&st, job);
	ASSERT(!store_has(&st, &h));
	/* no longer pending: the manifest is found nowhere */
	ASSERT_EQ(store_link_dir(&st, &h, in, &e), -1);
	store_close(&st);
}

TEST(syncer_hands_jobs_back_in_submission_order)
{
	struct store st;
	struct syncer sy;
	struct store_job *jobs[3], *got;
	struct err e;
	struct hash h;
	char state[512], out[512], text[16];
	sigset_t set, old;
	int k, tag, seen = 0;

	err_init(&e);
	snprintf(state, sizeof(state), "%s/s4", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	ASSERT_EQ(syncer_start(&sy, SIGUSR1, &e), 0);
	for (k = 0; k < 3; k++) {
		snprintf(out, sizeof(out), "%s/o4-%d", tmp_dir(), k);
		snprintf(text, sizeof(text), "job %d", k);
		write_file(out, "f", text);
		ASSERT_EQ(store_stage_dir(&st, out, &h, NULL, &jobs[k], &e), 0);
		syncer_submit(&sy, jobs[k], 10 + k);
	}
	while (seen < 3) {
		struct timespec ts = {1, 0};
		if (!syncer_done(&sy, &got, &tag)) {
			ASSERT(sigtimedwait(&set, NULL, &ts) == SIGUSR1);
			continue;
		}
		ASSERT_EQ(tag, 10 + seen);
		ASSERT(got == jobs[seen]);
		ASSERT_EQ(store_publish(&st, got, &e), 0);
		seen++;
	}
	ASSERT_EQ(syncer_count(&sy), 0);
	syncer_stop(&sy);
	syncer_release(&sy);
	sigprocmask(SIG_SETMASK, &old, NULL);
	store_close(&st);
}

TEST(a_failed_sync_is_reported_by_publish)
{
	struct store st;
	struct store_job *job;
	struct err e;
	struct hash h;
	char state[512], out[512], path[600];

	err_init(&e);
	snprintf(state, sizeof(state), "%s/s5", tmp_dir());
	snprintf(out, sizeof(out), "%s/o5", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	write_file(out, "z", "vanishes");
	ASSERT_EQ(store_stage_dir(&st, out, &h, NULL, &job, &e), 0);
	snprintf(path, sizeof(path), "%s/z", out);
	unlink(path);                  /* the sync cannot open it */
	ASSERT_EQ(store_job_sync(job), -1);
	ASSERT_EQ(store_publish(&st, job, &e), -1);
	ASSERT_CONTAINS(e.msg, "cannot sync");
	ASSERT_CONTAINS(e.msg, "/o5/z");
	ASSERT(!store_has(&st, &h));
	store_close(&st);
}

/* Entries of folder 'dir' other than . and .., or -1 if it is missing. */
static int entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

TEST(work_folders_are_emptied_and_reused)
{
	struct workdir_pool wp;
	struct err e;
	struct stat sb;
	char root[512], path[600], first[600], *w1, *w2;

	err_init(&e);
	snprintf(root, sizeof(root), "%s/pool", tmp_dir());
	ASSERT_EQ(fs_mkdirs(root, &e), 0);
	workdir_init(&wp, root);
	w1 = workdir_take(&wp, &e);
	ASSERT(w1 != NULL);
	snprintf(first, sizeof(first), "%s", w1);
	snprintf(path, sizeof(path), "%s/in/need", w1);
	ASSERT_EQ(workdir_mkdir(&wp, path, &e), 0);
	write_file(path, "link", "input");
	chmod(path, 0555);                /* as link_inputs leaves it */
	snprintf(path, sizeof(path), "%s/out/sub", w1);
	write_file(path, "left", "over");
	write_file(w1, "params.json", "{}");
	workdir_give(&wp, w1);
	ASSERT_EQ(wp.n_trees, 1);
	ASSERT_EQ(wp.n_spares, 2);        /* in/need and out/sub, emptied */
	w2 = workdir_take(&wp, &e);
	ASSERT_STREQ(w2, first);          /* the same folder again */
	ASSERT_EQ(entries(w2), 2);        /* out/ and in/ only */
	snprintf(path, sizeof(path), "%s/out", w2);
	ASSERT_EQ(entries(path), 0);
	snprintf(path, sizeof(path), "%s/in", w2);
	ASSERT_EQ(entries(path), 0);
	/* a new folder is a spare renamed into place: empty and writable */
	snprintf(path, sizeof(path), "%s/in/other", w2);
	ASSERT_EQ(workdir_mkdir(&wp, path, &e), 0);
	ASSERT_EQ(wp.n_spares, 1);
	ASSERT_EQ(entries(path), 0);
	ASSERT_EQ(stat(path, &sb), 0);
	ASSERT((sb.st_mode & 0700) == 0700);
	workdir_give(&wp, w2);
	workdir_release(&wp);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(staged_outputs_hash_like_put_dir_and_wait_outside_objects),
	  T(same_bytes_staged_twice_are_one_pending_object),
	  T(a_dropped_job_leaves_nothing_in_objects),
	  T(syncer_hands_jobs_back_in_submission_order),
	  T(a_failed_sync_is_reported_by_publish),
	  T(work_folders_are_emptied_and_reused), T(cleanup))
