/* Unit tests for the object store and the state: content addressing,
 * manifests, links, claims, the cache and the file memo. */
#include "test.h"
#include "tmpdir.h"

#include "fs.h"
#include "state.h"
#include "store.h"

#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void make_outputs(const char *dir, const char *a, const char *b)
{
	char path[600];
	struct err e;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sub", dir);
	fs_mkdirs(path, &e);
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	f = fopen(path, "w");
	fputs(a, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/sub/b.txt", dir);
	f = fopen(path, "w");
	fputs(b, f);
	fclose(f);
}

TEST(same_bytes_same_outputs_hash)
{
	struct store st;
	struct err e;
	struct hash h1, h2, h3;
	char out[512], state[512];

	err_init(&e);
	snprintf(state, sizeof(state), "%s/state1", tmp_dir());
	snprintf(out, sizeof(out), "%s/out1", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	make_outputs(out, "x", "y");
	ASSERT_EQ(store_put_dir(&st, out, &h1, NULL, &e), 0);
	ASSERT(!fs_exists(strcat(strcpy(state, out), "/a.txt")));
	make_outputs(out, "x", "y");
	ASSERT_EQ(store_put_dir(&st, out, &h2, NULL, &e), 0);
	ASSERT(memcmp(h1.b, h2.b, HASH_LEN) == 0);
	make_outputs(out, "x", "z");
	ASSERT_EQ(store_put_dir(&st, out, &h3, NULL, &e), 0);
	ASSERT(memcmp(h1.b, h3.b, HASH_LEN) != 0);
	ASSERT(store_has(&st, &h1));
	store_close(&st);
}

TEST(link_dir_recreates_files_read_only)
{
	struct store st;
	struct err e;
	struct hash h;
	struct stat sb;
	char out[512], state[512], in[512], *text = NULL;
	size_t n;

	err_init(&e);
	snprintf(state, sizeof(state), "%s/state2", tmp_dir());
	snprintf(out, sizeof(out), "%s/out2", tmp_dir());
	snprintf(in, sizeof(in), "%s/in2/node", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	make_outputs(out, "hello", "world");
	ASSERT_EQ(store_put_dir(&st, out, &h, NULL, &e), 0);
	ASSERT_EQ(store_link_dir(&st, &h, in, &e), 0);
	strcat(in, "/sub/b.txt");
	ASSERT_EQ(fs_read_file(in, &text, &n, &e), 0);
	ASSERT_STREQ(text, "world");
	free(text);
	ASSERT_EQ(stat(in, &sb), 0);
	ASSERT_EQ(sb.st_mode & 0222, 0);
	store_close(&st);
}

TEST(tampered_manifest_is_detected)
{
	struct store st;
	struct err e;
	struct hash h;
	json_t *m = NULL;
	char out[512], state[512], *obj;
	FILE *f;

	err_init(&e);
	snprintf(state, sizeof(state), "%s/state3", tmp_dir());
	snprintf(out, sizeof(out), "%s/out3", tmp_dir());
	ASSERT_EQ(store_open(&st, state, &e), 0);
	make_outputs(out, "1", "2");
	ASSERT_EQ(store_put_dir(&st, out, &h, NULL, &e), 0);
	obj = store_path(&st, &h);
	chmod(obj, 0644);
	f = fopen(obj, "a");
	fputs(" ", f);
	fclose(f);
	ASSERT_EQ(store_manifest(&st, &h, &m, &e), -1);
	ASSERT_CONTAINS(e.msg, "does not match its hash");
	free(obj);
	store_close(&st);
}

TEST(claims_exclude_live_holders_and_take_over_dead_ones)
{
	struct state *st = NULL;
	struct err e;
	char dir[512];
	pid_t child;

	err_init(&e);
	snprintf(dir, sizeof(dir), "%s/state4", tmp_dir());
	ASSERT_EQ(state_open(dir, &st, &e), 0);
	ASSERT_EQ(state_claim(st, "k1", 1, &e), CLAIM_TAKEN);
	ASSERT_EQ(state_claim(st, "k1", 1, &e), CLAIM_TAKEN);  /* our own */
	/* a live other process holds k2 */
	child = fork();
	if (child == 0) {
		struct state *s2 = NULL;
		struct err e2;
		if (state_open(dir, &s2, &e2) < 0 || state_claim(s2, "k2", 2, &e2) != CLAIM_TAKEN)
			_exit(1);
		state_close(s2);
		pause();
		_exit(0);
	}
	usleep(300000);
	ASSERT_EQ(state_claim(st, "k2", 1, &e), CLAIM_BUSY);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ASSERT_EQ(state_claim(st, "k2", 1, &e), CLAIM_TAKEN);
	ASSERT_EQ(state_claim_release(st, "k2", &e), 0);
	state_close(st);
}

TEST(cache_and_memo_round_trip)
{
	struct state *st = NULL;
	struct err e;
	struct hash h, got;
	struct node_result r;
	char dir[512];
	int64_t run;
	struct run_info ri;

	err_init(&e);
	snprintf(dir, sizeof(dir), "%s/state5", tmp_dir());
	ASSERT_EQ(state_open(dir, &st, &e), 0);
	memset(&ri, 0, sizeof(ri));
	ri.pipeline = "p";
	ASSERT_EQ(state_run_begin(st, &ri, &run, &e), 0);
	hash_str("outputs", &h);
	memset(&r, 0, sizeof(r));
	r.node = "n";
	r.key = "key1";
	r.key_doc = "{\"format\":1}";
	r.status = "done";
	r.outputs = &h;
	ASSERT_EQ(state_cache_get(st, "key1", &got), 0);
	ASSERT_EQ(state_record(st, run, "p", &r, &e), 0);
	ASSERT_EQ(state_cache_get(st, "key1", &got), 1);
	ASSERT(memcmp(got.b, h.b, HASH_LEN) == 0);
	ASSERT_EQ(state_memo_get(st, "/x", 1, 2, 3, &got), 0);
	ASSERT_EQ(state_memo_put(st, "/x", 1, 2, 3, &h), 0);
	ASSERT_EQ(state_memo_get(st, "/x", 1, 2, 3, &got), 1);
	ASSERT_EQ(state_memo_get(st, "/x", 1, 9, 3, &got), 0);
	{
		char *doc = state_last_key_doc(st, "p", "n", 0, NULL);
		ASSERT_STREQ(doc, "{\"format\":1}");
		free(doc);
	}
	state_close(st);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(same_bytes_same_outputs_hash), T(link_dir_recreates_files_read_only),
	  T(tampered_manifest_is_detected),
	  T(claims_exclude_live_holders_and_take_over_dead_ones),
	  T(cache_and_memo_round_trip), T(cleanup))
