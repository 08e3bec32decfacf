/* test_tabular: the grouped split and the folds of tabular.h, on a
 * data.load output written by hand.  (The plain split is tested in
 * test_mlp.c.) */
#include "test.h"
#include "tmpdir.h"
#include "npy.h"
#include "tabular.h"

#include <jansson.h>
#include <stdint.h>

#define N 12

/* Group of each row: six games of two rows, a and b interleaved, as
 * games played at the same time; 'n' the same as numbers. */
static const char *const games[N] = {"a", "b", "a", "b", "c", "c",
				     "d", "e", "d", "e", "f", "f"};

/* The folder of a data.load output: x (0..11), n (the game as a number),
 * y (classes 0, 1 alternating), g (the game; row 'missing' null unless
 * it is -1). */
static const char *table(int missing)
{
	static char dir[512];
	double x[N], n[N], y[N];
	size_t shape[1] = {N};
	json_t *g = json_array();
	struct err err;
	char *path;

	snprintf(dir, sizeof(dir), "%s/t", tmp_dir());
	fs_mkdirs(dir, &err);
	for (int i = 0; i < N; i++) {
		x[i] = i;
		n[i] = 100 + games[i][0];
		y[i] = i % 2;
		json_array_append_new(g, i == missing ? json_null() : json_string(games[i]));
	}
	err_init(&err);
	path = fs_join(dir, "x.npy");
	npy_write(path, NPY_F8, 1, shape, x, &err);
	free(path);
	path = fs_join(dir, "n.npy");
	npy_write(path, NPY_F8, 1, shape, n, &err);
	free(path);
	path = fs_join(dir, "y.npy");
	npy_write(path, NPY_F8, 1, shape, y, &err);
	free(path);
	path = fs_join(dir, "g.json");
	json_dump_file(g, path, JSON_COMPACT);
	free(path);
	json_decref(g);
	put_file(dir, "schema.json", "{\"rows\": 12, \"columns\": ["
		 "{\"name\": \"x\", \"type\": \"number\", \"file\": \"x.npy\"},"
		 "{\"name\": \"n\", \"type\": \"number\", \"file\": \"n.npy\"},"
		 "{\"name\": \"g\", \"type\": \"string\", \"file\": \"g.json\"},"
		 "{\"name\": \"y\", \"type\": \"number\", \"file\": \"y.npy\"}]}");
	return dir;
}

static int build(const struct tabular_spec *spec, struct tabular *t, struct err *err)
{
	err_init(err);
	return tabular_build(table(-1), "ingest", spec, t, err);
}

/* "rows of part p" as text: "0 2 1 3" */
static const char *part_rows(const struct tabular *t, int p)
{
	static char buf[256];
	size_t k = 0;

	buf[0] = 0;
	for (size_t i = 0; i < t->count[p]; i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%zu", i ? " " : "",
				      t->source[t->start[p] + i]);
	return buf;
}

TEST(groups_stay_whole_in_order_of_first_row)
{
	struct tabular_spec spec = {.label = "y", .test_fraction = 0.25,
				    .val_fraction = 0.2, .group = "g"};
	struct tabular t;
	struct err err;
	json_t *j;
	char *text;

	ASSERT_EQ(build(&spec, &t, &err), 0);
	/* test: 3 rows asked, the boundary nearest 9 of 0, 2, .. 12 is 8 (a tie
	 * with 10: the earlier), so games e and f; val: 2 rows of the rest, d */
	ASSERT_STREQ(part_rows(&t, TABULAR_TRAIN), "0 2 1 3 4 5");
	ASSERT_STREQ(part_rows(&t, TABULAR_VAL), "6 8");
	ASSERT_STREQ(part_rows(&t, TABULAR_TEST), "7 9 10 11");
	ASSERT_EQ(t.groups[TABULAR_TRAIN], 3);
	ASSERT_EQ(t.groups[TABULAR_VAL], 1);
	ASSERT_EQ(t.groups[TABULAR_TEST], 2);
	/* the per-row arrays follow: x is the table row, y its class */
	ASSERT_EQ((int)t.x[t.start[TABULAR_TEST] * t.features], 7);
	ASSERT_EQ(t.label[1], 0);
	ASSERT_EQ(t.label[2], 1);
	/* the numeric group column is a feature unless it is the group */
	ASSERT_EQ(t.features, 2);
	j = tabular_split_json(&t);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STREQ(text, "{\"fold\":0,\"folds\":0,\"group\":\"g\",\"groups\":"
		     "{\"test\":2,\"train\":3,\"val\":1}}");
	free(text);
	json_decref(j);
	tabular_release(&t);
	spec.group = "n";
	ASSERT_EQ(build(&spec, &t, &err), 0);
	ASSERT_STREQ(part_rows(&t, TABULAR_TEST), "7 9 10 11");
	ASSERT_EQ(t.features, 1);
	ASSERT_STREQ(t.names[0], "x");
	tabular_release(&t);
}

TEST(folds_test_every_group_once)
{
	struct tabular_spec spec = {.label = "y", .val_fraction = 0.25, .group = "g",
				    .folds = 3};
	static const char *const want[3][3] = {
		{"4 5 6 8 7 9", "10 11", "0 2 1 3"},
		{"0 2 1 3 7 9", "10 11", "4 5 6 8"},
		{"0 2 1 3 4 5", "6 8", "7 9 10 11"},
	};
	struct tabular t;
	struct err err;

	for (int f = 0; f < 3; f++) {
		spec.fold = f;
		ASSERT_EQ(build(&spec, &t, &err), 0);
		for (int p = 0; p < TABULAR_PARTS; p++)
			ASSERT_STREQ(part_rows(&t, p), want[f][p]);
		ASSERT_EQ(t.groups[TABULAR_TEST], 2);
		tabular_release(&t);
	}
}

TEST(folds_without_a_group_fold_the_rows)
{
	struct tabular_spec spec = {.label = "y", .folds = 4, .fold = 3};
	struct tabular t;
	struct err err;

	ASSERT_EQ(build(&spec, &t, &err), 0);
	ASSERT_STREQ(part_rows(&t, TABULAR_TEST), "9 10 11");
	ASSERT_STREQ(part_rows(&t, TABULAR_TRAIN), "0 1 2 3 4 5 6 7 8");
	ASSERT_EQ(t.count[TABULAR_VAL], 0);
	ASSERT_EQ(t.features, 2);
	tabular_release(&t);
}

TEST(shuffled_groups_are_seeded_and_whole)
{
	struct tabular_spec spec = {.label = "y", .test_fraction = 0.3,
				    .val_fraction = 0.2, .group = "g",
				    .shuffle_split = 1, .seed = 5};
	struct tabular t, u;
	struct err err;
	char first[256];

	ASSERT_EQ(build(&spec, &t, &err), 0);
	ASSERT_EQ(build(&spec, &u, &err), 0);
	snprintf(first, sizeof(first), "%s", part_rows(&t, TABULAR_TRAIN));
	ASSERT_STREQ(part_rows(&u, TABULAR_TRAIN), first);
	for (size_t i = 0; i < N; i += 2)   /* two rows a game, together, in order */
		ASSERT(!strcmp(games[t.source[i]], games[t.source[i + 1]]) &&
		       t.source[i] < t.source[i + 1]);
	ASSERT(strcmp(first, "0 2 1 3 4 5"));
	tabular_release(&t);
	tabular_release(&u);
}

/* Building with 'spec' fails with ERR_USER saying 'what'. */
static int refused(const struct tabular_spec *spec, int missing, const char *what)
{
	struct tabular t;
	struct err err;
	int ok;

	err_init(&err);
	ok = tabular_build(table(missing), "ingest", spec, &t, &err) == -1 &&
	     err.kind == ERR_USER && strstr(err.msg, what);
	if (!ok)
		fprintf(stderr, "  got: %s\n", err.msg);
	tabular_release(&t);
	return ok;
}

TEST(bad_groups_and_folds_are_refused)
{
	json_t *f = json_pack("[s, s]", "x", "n");

	ASSERT(refused(&(struct tabular_spec){.label = "y", .test_fraction = 0.2,
					      .group = "game"}, -1,
		       "param 'group': 'ingest' has no column 'game' (expected one of: x, n, g, y)"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .test_fraction = 0.2,
					      .group = "y"}, -1,
		       "param 'group': 'y' is the label"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .test_fraction = 0.2,
					      .group = "n", .features = f}, -1,
		       "param 'features': 'n' is the group column"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .group = "g", .folds = 3,
					      .fold = 3}, -1,
		       "param 'fold' is 3 and 'folds' 3 (expected folds 0 for off, or "
		       "folds >= 2 and fold from 0 to folds-1)"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .fold = 1}, -1,
		       "param 'fold' is 1 and 'folds' 0"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .group = "g", .folds = 7}, -1,
		       "param 'folds' is 7 but 'ingest' has 6 groups"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .test_fraction = 0.2,
					      .group = "g"}, 4,
		       "group 'g' is missing in row 5 of 'ingest'"));
	/* val asked for but 0.01 of 12 rows is none */
	ASSERT(refused(&(struct tabular_spec){.label = "y", .test_fraction = 0.3,
					      .val_fraction = 0.01, .group = "g"}, -1,
		       "6 groups of 'ingest' split by test_fraction and val_fraction "
		       "leave 4 training, 0 validation and 2 test groups"));
	ASSERT(refused(&(struct tabular_spec){.label = "y", .test_fraction = 0.9,
					      .group = "g"}, -1,
		       "leave 0 training, 0 validation and 6 test groups"));
	json_decref(f);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(groups_stay_whole_in_order_of_first_row), T(folds_test_every_group_once),
	  T(folds_without_a_group_fold_the_rows), T(shuffled_groups_are_seeded_and_whole),
	  T(bad_groups_and_folds_are_refused), T(cleanup))
