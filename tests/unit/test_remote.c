/* Unit tests for the remote cache client (what needs no server: URLs,
 * credentials, an unreachable remote) and for the cache rows it makes
 * (state_cache_put).  tests/integration/t_remote_cache.sh covers the rest
 * against a real HTTP server. */
#include "test.h"
#include "tmpdir.h"

#include "remote.h"
#include "state.h"
#include "store.h"

TEST(only_http_urls_name_a_remote)
{
	ASSERT(remote_url_ok("http://cache:8080"));
	ASSERT(remote_url_ok("https://u:p@cache/dagrun/"));
	ASSERT(!remote_url_ok("ftp://cache/x"));
	ASSERT(!remote_url_ok("cache:8080"));
	ASSERT(!remote_url_ok("http://"));
	ASSERT(!remote_url_ok(NULL));
	ASSERT(remote_new("file:///tmp") == NULL);
}

TEST(messages_never_show_credentials)
{
	struct remote *r = remote_new("https://user:secret@cache:8443/dagrun//");

	ASSERT(r != NULL);
	ASSERT_STREQ(remote_name(r), "https://cache:8443/dagrun");
	remote_free(r);
	r = remote_new("http://cache/a@b");
	ASSERT_STREQ(remote_name(r), "http://cache/a@b");
	remote_free(r);
}

TEST(an_unreachable_remote_is_asked_once)
{
	/* port 1: nothing listens there, the connection is refused at once */
	struct remote *r = remote_new("http://127.0.0.1:1");
	const char *key = "0000000000000000000000000000000000000000000000000000000000000000";
	struct store st;
	struct hash out;
	json_t *m = NULL;
	struct err e;

	err_init(&e);
	ASSERT_EQ(store_open(&st, tmp_dir(), &e), 0);
	ASSERT_EQ(remote_get(r, &st, key, &out, &m, &e), -1);
	ASSERT_EQ(e.kind, ERR_IO);
	ASSERT_CONTAINS(e.msg, "remote cache 'http://127.0.0.1:1': GET ac/");
	ASSERT(remote_is_down(r));
	err_init(&e);
	ASSERT_EQ(remote_get(r, &st, key, &out, &m, &e), 0);
	ASSERT_EQ(remote_put(r, &st, key, &out, &e), 0);
	ASSERT_EQ(e.kind, ERR_NONE);
	ASSERT(m == NULL);
	store_close(&st);
	remote_free(r);
}

TEST(a_fetched_result_enters_the_local_cache)
{
	struct state *st = NULL;
	struct store store;
	struct hash h, got;
	struct err e;
	json_t *m;
	int64_t gen;
	char dir[600];

	err_init(&e);
	snprintf(dir, sizeof(dir), "%s/put", tmp_dir());
	ASSERT_EQ(state_open(dir, &st, &e), 0);
	ASSERT_EQ(store_open(&store, dir, &e), 0);
	ASSERT_EQ(store_put_buf(&store, "{\"files\":[]}", 12, &h, &e), 0);
	m = json_pack("{s:[]}", "files");
	gen = state_generation(st);
	ASSERT_EQ(state_cache_get(st, "k1", &got), 0);
	ASSERT_EQ(state_cache_put(st, 1, "node", "k1", &h, m, &e), 0);
	ASSERT_EQ(state_cache_get(st, "k1", &got), 1);
	ASSERT(!memcmp(got.b, h.b, HASH_LEN));
	ASSERT_EQ(state_generation(st), gen + 1);
	json_decref(m);
	store_close(&store);
	state_close(st);
	tmp_cleanup();
}

TEST_LIST(T(only_http_urls_name_a_remote), T(messages_never_show_credentials),
	  T(an_unreachable_remote_is_asked_once),
	  T(a_fetched_result_enters_the_local_cache))
