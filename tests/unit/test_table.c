/* test_table: the table writer (tasks/lib/table.h) read back by
 * table_open(): file names, types, values, missing strings, the schema's
 * keys, refusals, and the cleanup after a failure.  (data.load writes
 * through it too: tests/integration/t_data_load.sh.) */
#include "test.h"
#include "tmpdir.h"

#include "table.h"

#include <sys/stat.h>
#include <unistd.h>

/* A fresh folder 'name' under the test's tmp dir (static). */
static const char *fresh(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmp_dir(), name);
	mkdir(path, 0755);
	return path;
}

static int exists(const char *dir, const char *file)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

TEST(write_and_read_back)
{
	const char *dir = fresh("t1");
	struct table_writer w;
	struct table t;
	struct err err;
	double a[3] = {1.5, -2, 3e10}, s2[3] = {7, 8, 9};
	int64_t when[3] = {1700000000, 1700003600, 1700007200};
	const char *s[3] = {"x", NULL, "z\xc3\xa9"};
	double *back;
	int64_t *tb;
	char **sb;
	json_t *schema;
	char path[600];

	err_init(&err);
	table_writer_init(&w, dir, 3, "when");
	ASSERT_EQ(table_write_numbers(&w, "a b", a, &err), 0);
	ASSERT_EQ(table_write_strings(&w, "timestamp", s, &err), 0);
	ASSERT_EQ(table_write_times(&w, "when", when, &err), 0);
	ASSERT_EQ(table_write_numbers(&w, "schema", s2, &err), 0);
	ASSERT_EQ(table_write_numbers(&w, "a_b", s2, &err), 0);
	schema = json_pack("{s:s, s:i}", "target", "a b", "dropped_rows", 0);
	ASSERT_EQ(table_writer_finish(&w, schema, &err), 0);
	json_decref(schema);
	/* names made safe and unique; "timestamp" kept for the time column */
	ASSERT_STREQ(w.cols[0].file, "a_b.npy");
	ASSERT_STREQ(w.cols[1].file, "timestamp_2.json");
	ASSERT_STREQ(w.cols[2].file, "timestamp.npy");
	ASSERT_STREQ(w.cols[3].file, "schema_2.npy");
	ASSERT_STREQ(w.cols[4].file, "a_b_2.npy");
	table_writer_release(&w);

	ASSERT_EQ(table_open(dir, &t, &err), 0);
	ASSERT_EQ(t.rows, 3);
	ASSERT_EQ(t.n, 5);
	ASSERT_EQ(t.time, 2);
	ASSERT_EQ(t.cols[1].type, TABLE_STRING);
	ASSERT_EQ(table_find(&t, "a_b"), 4);
	back = table_numbers(&t, 0, &err);
	ASSERT(back && memcmp(back, a, sizeof(a)) == 0);
	free(back);
	tb = table_times(&t, &err);
	ASSERT(tb && memcmp(tb, when, sizeof(when)) == 0);
	free(tb);
	sb = table_strings(&t, 1, &err);
	ASSERT(sb != NULL);
	ASSERT_STREQ(sb[0], "x");
	ASSERT(sb[1] == NULL);
	ASSERT_STREQ(sb[2], "z\xc3\xa9");
	table_strings_free(sb, 3);
	table_close(&t);

	snprintf(path, sizeof(path), "%s/schema.json", dir);
	schema = json_load_file(path, 0, NULL);
	ASSERT_STREQ(json_string_value(json_object_get(schema, "timestamp")), "when");
	ASSERT_STREQ(json_string_value(json_object_get(schema, "target")), "a b");
	ASSERT(json_is_integer(json_object_get(schema, "dropped_rows")));
	json_decref(schema);
}

TEST(no_time_column)
{
	const char *dir = fresh("t2");
	struct table_writer w;
	struct table t;
	struct err err;
	double v[2] = {1, 2};

	err_init(&err);
	table_writer_init(&w, dir, 2, NULL);
	/* without a time column a column may be called timestamp */
	ASSERT_EQ(table_write_numbers(&w, "timestamp", v, &err), 0);
	ASSERT_EQ(table_writer_finish(&w, NULL, &err), 0);
	ASSERT_STREQ(w.cols[0].file, "timestamp.npy");
	table_writer_release(&w);
	ASSERT_EQ(table_open(dir, &t, &err), 0);
	ASSERT_EQ(t.time, -1);
	ASSERT_EQ(t.cols[0].type, TABLE_NUMBER);
	table_close(&t);
}

TEST(invalid_utf8_and_remove)
{
	const char *dir = fresh("t3");
	struct table_writer w;
	struct err err;
	double v[2] = {1, 2};
	const char *s[2] = {"ok", "\xff\xfe"};

	err_init(&err);
	table_writer_init(&w, dir, 2, NULL);
	ASSERT_EQ(table_write_numbers(&w, "n", v, &err), 0);
	ASSERT_EQ(table_write_strings(&w, "s", s, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "column 's', row 2: invalid UTF-8");
	ASSERT(exists(dir, "n.npy"));
	table_writer_remove(&w);
	ASSERT(!exists(dir, "n.npy"));
	ASSERT(!exists(dir, "schema.json"));
	table_writer_release(&w);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(write_and_read_back), T(no_time_column), T(invalid_utf8_and_remove),
	  T(cleanup))
