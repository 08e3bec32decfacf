/* inspect: see inspect.h.  Each command is one query turned into rows
 * of text or one JSON document; jansson builds the JSON. */
#include "inspect.h"
#include "cache.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : "";
}

void inspect_time(double t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	localtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* A column as a JSON value of its SQLite type. */
static json_t *col_json(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(s, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(s, i));
	case SQLITE_TEXT:
		return json_string(col(s, i));
	default:
		return json_null();
	}
}

json_t *inspect_row_json(sqlite3_stmt *s)
{
	json_t *o = json_object();
	int i;

	for (i = 0; i < sqlite3_column_count(s); i++)
		json_object_set_new(o, sqlite3_column_name(s, i), col_json(s, i));
	return o;
}

void inspect_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	putchar('\n');
	json_decref(v);
}

int inspect_runs(struct state *st, const struct runs_filter *f, int json,
		 struct err *err)
{
	sqlite3_stmt *s;
	json_t *arr = json_array();
	char started[32];

	if (sqlite3_prepare_v2(state_db(st), "SELECT id, pipeline, status, started,"
		" ended, n_nodes, n_ran, n_cached, n_failed, salt, git_commit,"
		" git_branch, git_dirty, pipeline_path FROM runs WHERE (?1 IS NULL OR"
		" pipeline = ?1) AND (?2 IS NULL OR status = ?2) AND (?4 <= 0 OR"
		" started >= ?4) AND (?5 <= 0 OR started < ?5) ORDER BY id DESC"
		" LIMIT ?3", -1, &s, NULL) != SQLITE_OK) {
		err_set(err, ERR_IO, "cannot list runs: %s", sqlite3_errmsg(state_db(st)));
		json_decref(arr);
		return -1;
	}
	if (f->pipeline)
		sqlite3_bind_text(s, 1, f->pipeline, -1, SQLITE_STATIC);
	if (f->status)
		sqlite3_bind_text(s, 2, f->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, f->limit > 0 ? f->limit : -1);
	sqlite3_bind_double(s, 4, f->since);
	sqlite3_bind_double(s, 5, f->until);
	if (!json)
		printf("%-5s %-16s %-11s %-19s %8s %5s %5s %6s %6s  %s\n", "RUN",
		       "PIPELINE", "STATUS", "STARTED", "SECONDS", "NODES", "RAN",
		       "CACHED", "FAILED", "COMMIT");
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (json) {
			json_array_append_new(arr, inspect_row_json(s));
			continue;
		}
		inspect_time(sqlite3_column_double(s, 3), started, sizeof(started));
		printf("%-5lld %-16s %-11s %-19s %8.2f %5d %5d %6d %6d  %.10s%s\n",
		       (long long)sqlite3_column_int64(s, 0), col(s, 1), col(s, 2),
		       started, sqlite3_column_double(s, 4) > 0 ?
		       sqlite3_column_double(s, 4) - sqlite3_column_double(s, 3) : 0.0,
		       sqlite3_column_int(s, 5), sqlite3_column_int(s, 6),
		       sqlite3_column_int(s, 7), sqlite3_column_int(s, 8),
		       sqlite3_column_type(s, 10) == SQLITE_NULL ? "-" : col(s, 10),
		       sqlite3_column_int(s, 12) ? " (dirty)" : "");
	}
	sqlite3_finalize(s);
	if (json)
		inspect_print_json(arr);
	else
		json_decref(arr);
	return 0;
}

int inspect_run_id(struct state *st, const char *text, int64_t *id,
		   struct err *err)
{
	sqlite3_stmt *s;
	char *end;
	int found;

	if (!strcmp(text, "last") || !strcmp(text, "latest")) {
		sqlite3_prepare_v2(state_db(st), "SELECT max(id) FROM runs", -1, &s, NULL);
	} else {
		long long v = strtoll(text, &end, 10);
		if (*end || v <= 0) {
			err_set(err, ERR_USER, "bad run '%s' (expected a run number "
				"from 'dagrun runs', or 'last')", text);
			return -1;
		}
		sqlite3_prepare_v2(state_db(st), "SELECT id FROM runs WHERE id = ?1",
				   -1, &s, NULL);
		sqlite3_bind_int64(s, 1, v);
	}
	found = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
	if (found)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (!found) {
		err_set(err, ERR_USER, "no run '%s' in %s (see 'dagrun runs')", text,
			state_dir(st));
		return -1;
	}
	return 0;
}

static json_t *run_json(struct state *st, int64_t run)
{
	sqlite3_stmt *s;
	json_t *o = NULL, *lin;

	sqlite3_prepare_v2(state_db(st), "SELECT * FROM runs WHERE id = ?1", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, run);
	if (sqlite3_step(s) == SQLITE_ROW)
		o = inspect_row_json(s);
	sqlite3_finalize(s);
	lin = json_object_get(o, "lineage");
	if (json_is_string(lin))
		json_object_set_new(o, "lineage", json_loads(json_string_value(lin), 0, NULL));
	return o;
}

static json_t *nodes_json(struct state *st, int64_t run, const char *node)
{
	sqlite3_stmt *s;
	json_t *arr = json_array();

	sqlite3_prepare_v2(state_db(st), "SELECT node, task, status, reason, error,"
		" key, outputs, attempts, exit_code, started, ended, ended - started AS"
		" wall, cpu, maxrss_kb, log FROM node_runs WHERE run_id = ?1 AND (?2 IS"
		" NULL OR node = ?2) ORDER BY id", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, run);
	if (node)
		sqlite3_bind_text(s, 2, node, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW)
		json_array_append_new(arr, inspect_row_json(s));
	sqlite3_finalize(s);
	return arr;
}

static void print_run(json_t *r)
{
	char started[32], ended[32];
	json_t *lin = json_object_get(r, "lineage"), *f;
	size_t i;

	inspect_time(json_number_value(json_object_get(r, "started")), started, sizeof(started));
	inspect_time(json_number_value(json_object_get(r, "ended")), ended, sizeof(ended));
	printf("run       %lld\npipeline  %s (%s)\nstatus    %s\nstarted   %s\n"
	       "ended     %s\n", (long long)json_integer_value(json_object_get(r, "id")),
	       json_string_value(json_object_get(r, "pipeline")),
	       json_string_value(json_object_get(r, "pipeline_path")),
	       json_string_value(json_object_get(r, "status")), started, ended);
	if (json_is_integer(json_object_get(r, "same_as")))
		printf("same as   run %lld: nothing changed, every node cached\n",
		       (long long)json_integer_value(json_object_get(r, "same_as")));
	if (json_is_string(json_object_get(r, "salt")))
		printf("salt      %s\n", json_string_value(json_object_get(r, "salt")));
	printf("command   %s\n", json_string_value(json_object_get(r, "argv")));
	if (json_is_string(json_object_get(r, "git_commit")))
		printf("commit    %s%s on %s\n",
		       json_string_value(json_object_get(r, "git_commit")),
		       json_integer_value(json_object_get(r, "git_dirty")) ? " (dirty)" : "",
		       json_is_string(json_object_get(r, "git_branch")) ?
		       json_string_value(json_object_get(r, "git_branch")) : "(detached)");
	json_array_foreach(json_object_get(lin, "files"), i, f)
		printf("  %-10s %s %.12s\n", json_string_value(json_object_get(f, "status")),
		       json_string_value(json_object_get(f, "path")),
		       json_is_string(json_object_get(f, "blob")) ?
		       json_string_value(json_object_get(f, "blob")) : "");
}

static void print_nodes(json_t *nodes)
{
	json_t *n;
	size_t i;

	printf("\n%-30s %-8s %8s %8s %8s  %s\n", "NODE", "STATUS", "WALL", "CPU",
	       "RSS_MB", "REASON");
	json_array_foreach(nodes, i, n) {
		const char *why = json_string_value(json_object_get(n, "error"));
		if (!why)
			why = json_string_value(json_object_get(n, "reason"));
		printf("%-30s %-8s %8.2f %8.2f %8.1f  %s\n",
		       json_string_value(json_object_get(n, "node")),
		       json_string_value(json_object_get(n, "status")),
		       json_number_value(json_object_get(n, "wall")),
		       json_number_value(json_object_get(n, "cpu")),
		       (double)json_integer_value(json_object_get(n, "maxrss_kb")) / 1024.0,
		       why ? why : "");
	}
}

/* Where the outputs of one node run are: object paths per file. */
static json_t *outputs_json(struct state *st, json_t *n)
{
	struct store store;
	struct hash h;
	struct err e;
	json_t *m = NULL, *f, *files = json_array();
	size_t i;

	err_init(&e);
	if (!json_is_string(json_object_get(n, "outputs")) ||
	    hash_from_hex(json_string_value(json_object_get(n, "outputs")), &h) < 0)
		return files;
	if (store_open(&store, state_dir(st), &e) < 0)
		return files;
	if (store_manifest(&store, &h, &m, &e) == 0) {
		json_array_foreach(json_object_get(m, "files"), i, f) {
			struct hash fh;
			char *path;
			hash_from_hex(json_string_value(json_object_get(f, "hash")), &fh);
			path = store_path(&store, &fh);
			json_array_append_new(files, json_pack("{s:O,s:O,s:s}", "path",
				json_object_get(f, "path"), "size", json_object_get(f, "size"),
				"object", path));
			free(path);
		}
		json_decref(m);
	}
	store_close(&store);
	return files;
}

static void print_node_detail(json_t *n, json_t *files)
{
	json_t *f;
	size_t i;

	printf("\nnode      %s\ntask      %s\nstatus    %s\nkey       %s\n"
	       "attempts  %lld\nlog       %s\n",
	       json_string_value(json_object_get(n, "node")),
	       json_string_value(json_object_get(n, "task")),
	       json_string_value(json_object_get(n, "status")),
	       json_is_string(json_object_get(n, "key")) ?
	       json_string_value(json_object_get(n, "key")) : "-",
	       (long long)json_integer_value(json_object_get(n, "attempts")),
	       json_is_string(json_object_get(n, "log")) ?
	       json_string_value(json_object_get(n, "log")) : "-");
	printf("outputs   %s\n", json_is_string(json_object_get(n, "outputs")) ?
	       json_string_value(json_object_get(n, "outputs")) : "-");
	json_array_foreach(files, i, f)
		printf("  %-28s %10lld  %s\n", json_string_value(json_object_get(f, "path")),
		       (long long)json_integer_value(json_object_get(f, "size")),
		       json_string_value(json_object_get(f, "object")));
}

/* A no-op run (quick.h) shows the nodes of the run it repeated, cached. */
static json_t *run_nodes(struct state *st, json_t *r, int64_t run,
			 const char *node)
{
	json_t *same = json_object_get(r, "same_as"), *nodes, *n;
	size_t i;

	if (!json_is_integer(same))
		return nodes_json(st, run, node);
	nodes = nodes_json(st, json_integer_value(same), node);
	json_array_foreach(nodes, i, n) {
		json_object_set_new(n, "status", json_string("cached"));
		json_object_set_new(n, "reason", json_string("nothing changed"));
		json_object_set_new(n, "wall", json_real(0));
		json_object_set_new(n, "cpu", json_real(0));
		json_object_set_new(n, "maxrss_kb", json_integer(0));
	}
	return nodes;
}

int inspect_show(struct state *st, int64_t run, const char *node, int json,
		 struct err *err)
{
	json_t *r = run_json(st, run), *nodes = run_nodes(st, r, run, node), *n;
	size_t i;

	if (node && json_array_size(nodes) == 0) {
		err_set(err, ERR_USER, "run %lld has no node '%s'", (long long)run, node);
		json_decref(r);
		json_decref(nodes);
		return -1;
	}
	if (node) {
		json_array_foreach(nodes, i, n)
			json_object_set_new(n, "files", outputs_json(st, n));
	}
	if (json) {
		json_object_set_new(r, "nodes", nodes);
		inspect_print_json(r);
		return 0;
	}
	print_run(r);
	print_nodes(nodes);
	if (node)
		json_array_foreach(nodes, i, n)
			print_node_detail(n, json_object_get(n, "files"));
	json_decref(r);
	json_decref(nodes);
	return 0;
}

/* Final metric values of one run: {"node/name": {node,name,value,steps}}. */
/* The run whose node runs 'run' repeats: a no-op run served by the fast
 * path records only same_as. */
static int64_t served_run(struct state *st, int64_t run)
{
	sqlite3_stmt *s;
	int hops;

	sqlite3_prepare_v2(state_db(st), "SELECT same_as FROM runs WHERE id = ?1",
			   -1, &s, NULL);
	for (hops = 0; hops < 64; hops++) {
		sqlite3_bind_int64(s, 1, run);
		if (sqlite3_step(s) != SQLITE_ROW ||
		    sqlite3_column_type(s, 0) == SQLITE_NULL)
			break;
		run = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return run;
}

/* Every node's final metrics in 'run', as {"node/name": {node, name,
 * value, steps, run}}: a cached node's come from the run that made its
 * outputs (the cache row's run), so a rerun still shows the whole
 * pipeline's figures. */
static json_t *final_metrics(struct state *st, int64_t run)
{
	sqlite3_stmt *s;
	json_t *o = json_object();

	sqlite3_prepare_v2(state_db(st), "WITH src(node, run_id) AS (SELECT"
		" n.node, CASE WHEN n.status = 'cached' THEN (SELECT c.run_id FROM"
		" cache c WHERE c.key = n.key) ELSE n.run_id END FROM node_runs n"
		" WHERE n.run_id = ?1 AND n.status IN ('done', 'cached', 'failed')"
		" GROUP BY n.node)"
		" SELECT m.node, m.name, count(m.step),"
		" coalesce((SELECT value FROM metrics f WHERE f.run_id = m.run_id AND"
		"   f.node = m.node AND f.name = m.name AND f.step IS NULL"
		"   ORDER BY rowid DESC LIMIT 1),"
		" (SELECT value FROM metrics f WHERE f.run_id = m.run_id AND"
		"   f.node = m.node AND f.name = m.name ORDER BY step DESC, rowid DESC"
		"   LIMIT 1)), m.run_id FROM metrics m JOIN src ON src.node = m.node"
		" AND src.run_id = m.run_id GROUP BY m.node, m.name"
		" ORDER BY m.node, m.name", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, served_run(st, run));
	while (sqlite3_step(s) == SQLITE_ROW) {
		char *k = xasprintf("%s/%s", col(s, 0), col(s, 1));
		json_object_set_new(o, k, json_pack("{s:s,s:s,s:f,s:i,s:I}", "node",
			col(s, 0), "name", col(s, 1), "value", sqlite3_column_double(s, 3),
			"steps", sqlite3_column_int(s, 2), "run",
			(json_int_t)sqlite3_column_int64(s, 4)));
		free(k);
	}
	sqlite3_finalize(s);
	return o;
}

int inspect_metrics(struct state *st, int64_t run, int json, struct err *err)
{
	json_t *m = final_metrics(st, run), *v;
	const char *k;

	(void)err;
	if (json) {
		inspect_print_json(m);
		return 0;
	}
	printf("%-30s %-20s %14s %6s %8s\n", "NODE", "METRIC", "VALUE", "STEPS",
	       "FROM RUN");
	json_object_foreach(m, k, v)
		printf("%-30s %-20s %14.6g %6lld %8lld\n",
		       json_string_value(json_object_get(v, "node")),
		       json_string_value(json_object_get(v, "name")),
		       json_real_value(json_object_get(v, "value")),
		       (long long)json_integer_value(json_object_get(v, "steps")),
		       (long long)json_integer_value(json_object_get(v, "run")));
	json_decref(m);
	return 0;
}

struct ranked {
	const char *node;
	double value;
	json_int_t run;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return strcmp(x->node, y->node);
}

int inspect_metrics_rank(struct state *st, int64_t run, const char *name,
			 int desc, int json, struct err *err)
{
	json_t *m = final_metrics(st, run), *v, *out;
	struct ranked *r = xcalloc(json_object_size(m) + 1, sizeof(*r));
	const char *k;
	size_t n = 0, i;

	json_object_foreach(m, k, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), name))
			continue;
		r[n].node = json_string_value(json_object_get(v, "node"));
		r[n].value = json_real_value(json_object_get(v, "value"));
		r[n].run = json_integer_value(json_object_get(v, "run"));
		n++;
	}
	if (n == 0) {
		err_set(err, ERR_USER, "no node of run %lld recorded a metric '%s'",
			(long long)run, name);
		free(r);
		json_decref(m);
		return -1;
	}
	qsort(r, n, sizeof(*r), cmp_ranked);
	if (desc)
		for (i = 0; i < n / 2; i++) {
			struct ranked t = r[i];
			r[i] = r[n - 1 - i];
			r[n - 1 - i] = t;
		}
	out = json_array();
	if (!json)
		printf("%4s  %-40s %14s %8s\n", "RANK", "NODE", name, "FROM RUN");
	for (i = 0; i < n; i++) {
		if (json)
			json_array_append_new(out, json_pack("{s:I, s:s, s:f, s:I}",
				"rank", (json_int_t)(i + 1), "node", r[i].node, "value",
				r[i].value, "run", r[i].run));
		else
			printf("%4zu  %-40s %14.6g %8lld\n", i + 1, r[i].node, r[i].value,
			       (long long)r[i].run);
	}
	if (json)
		inspect_print_json(out);
	else
		json_decref(out);
	free(r);
	json_decref(m);
	return 0;
}

static json_t *diff_row(json_t *va, json_t *vb)
{
	json_t *any = vb ? vb : va, *row;
	double a = va ? json_real_value(json_object_get(va, "value")) : 0;
	double b = vb ? json_real_value(json_object_get(vb, "value")) : 0;

	row = json_pack("{s:O,s:O}", "node", json_object_get(any, "node"),
			"name", json_object_get(any, "name"));
	json_object_set_new(row, "old", va ? json_real(a) : json_null());
	json_object_set_new(row, "new", vb ? json_real(b) : json_null());
	json_object_set_new(row, "change", va && vb ? json_real(b - a) : json_null());
	return row;
}

static void print_diff_value(json_t *v)
{
	if (json_is_null(v))
		printf(" %14s", "-");
	else
		printf(" %14.6g", json_real_value(v));
}

int inspect_metrics_diff(struct state *st, int64_t a, int64_t b, int json,
			 struct err *err)
{
	json_t *ma = final_metrics(st, a), *mb = final_metrics(st, b);
	json_t *rows = json_array(), *v, *r;
	const char *k;
	size_t i;

	(void)err;
	json_object_foreach(mb, k, v)
		json_array_append_new(rows, diff_row(json_object_get(ma, k), v));
	json_object_foreach(ma, k, v)
		if (!json_object_get(mb, k))
			json_array_append_new(rows, diff_row(v, NULL));
	if (json) {
		inspect_print_json(json_pack("{s:I,s:I,s:o}", "old_run", (json_int_t)a,
				     "new_run", (json_int_t)b, "metrics", rows));
	} else {
		printf("%-30s %-20s %14s %14s %14s\n", "NODE", "METRIC", "OLD", "NEW",
		       "CHANGE");
		json_array_foreach(rows, i, r) {
			printf("%-30s %-20s", json_string_value(json_object_get(r, "node")),
			       json_string_value(json_object_get(r, "name")));
			print_diff_value(json_object_get(r, "old"));
			print_diff_value(json_object_get(r, "new"));
			print_diff_value(json_object_get(r, "change"));
			putchar('\n');
		}
		json_decref(rows);
	}
	json_decref(ma);
	json_decref(mb);
	return 0;
}

static char *run_key_doc(struct state *st, const char *node, int64_t run)
{
	sqlite3_stmt *s;
	char *doc = NULL;

	sqlite3_prepare_v2(state_db(st), "SELECT k.doc FROM node_runs n JOIN keys k"
		" ON k.key = n.key WHERE n.run_id = ?1 AND n.node = ?2 ORDER BY n.id"
		" DESC LIMIT 1", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, run);
	sqlite3_bind_text(s, 2, node, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		doc = xstrdup(col(s, 0));
	sqlite3_finalize(s);
	return doc;
}

int inspect_key_diff(struct state *st, const char *node, int64_t a, int64_t b,
		     int json, struct err *err)
{
	char *da = run_key_doc(st, node, a), *db = run_key_doc(st, node, b);
	struct strbuf sb;
	int rc = 0;

	if (!da || !db) {
		err_set(err, ERR_USER, "run %lld has no key for node '%s' (it was "
			"not part of that run, or was skipped)",
			(long long)(da ? b : a), node);
		rc = -1;
	} else if (json) {
		inspect_print_json(json_pack("{s:s,s:o,s:o}", "node", node, "old",
				     json_loads(da, 0, NULL), "new", json_loads(db, 0, NULL)));
	} else {
		sb_init(&sb);
		sb_addf(&sb, "node %s: run %lld against run %lld; * marks a difference\n",
			node, (long long)b, (long long)a);
		if (!cache_explain(da, db, &sb))
			sb_adds(&sb, "the same key");
		sb_addc(&sb, '\n');
		cache_print_diff(da, db, &sb);
		fputs(sb.buf, stdout);
		sb_release(&sb);
	}
	free(da);
	free(db);
	return rc;
}
