/* gc: see gc.h.  Mark (the live set, from the database and manifests),
 * then sweep (the objects folder), then drop dangling cache rows. */
#include "gc.h"
#include "fs.h"
#include "state.h"
#include "store.h"
#include "strmap.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct live {
	struct strmap set;
	char **keys;
	size_t n, cap;
};

static void live_add(struct live *lv, const char *hex)
{
	if (strmap_get(&lv->set, hex) >= 0)
		return;
	xgrow((void **)&lv->keys, sizeof(char *), &lv->cap, lv->n + 1);
	lv->keys[lv->n] = xstrdup(hex);
	strmap_put(&lv->set, lv->keys[lv->n++], 1);
}

/* An outputs hash and every file its manifest names. */
static void mark_outputs(struct live *lv, struct store *store, const char *hex)
{
	struct hash h;
	struct err e;
	json_t *m, *f;
	size_t i;

	if (!hex || hash_from_hex(hex, &h) < 0)
		return;
	live_add(lv, hex);
	if (store_manifest(store, &h, &m, &e) < 0)
		return;
	json_array_foreach(json_object_get(m, "files"), i, f)
		live_add(lv, json_string_value(json_object_get(f, "hash")));
	json_decref(m);
}

static int running_elsewhere(struct state *st)
{
	sqlite3_stmt *s;
	int busy = 0;

	sqlite3_prepare_v2(state_db(st), "SELECT pid, host FROM runs WHERE "
			   "status = 'running'", -1, &s, NULL);
	while (!busy && sqlite3_step(s) == SQLITE_ROW) {
		const char *host = (const char *)sqlite3_column_text(s, 1);
		pid_t pid = (pid_t)sqlite3_column_int(s, 0);
		if (!host || strcmp(host, state_host()))
			busy = 1;   /* another host: cannot tell, assume alive */
		else if (kill(pid, 0) == 0 || errno == EPERM)
			busy = 1;
	}
	sqlite3_finalize(s);
	return busy;
}

/* The live set from kept runs and aliased model versions. */
static void mark(struct state *st, struct store *store, const struct gc_opts *o,
		 struct live *lv)
{
	sqlite3_stmt *s;

	sqlite3_prepare_v2(state_db(st),
		"WITH kept AS (SELECT id FROM runs r WHERE"
		"  (SELECT count(*) FROM runs n WHERE n.pipeline = r.pipeline AND"
		"   n.id > r.id) < ?1 OR (?2 > 0 AND r.started > ?3))"
		" SELECT DISTINCT outputs FROM node_runs WHERE outputs IS NOT NULL AND"
		"  run_id IN (SELECT id FROM kept)"
		" UNION SELECT v.outputs FROM model_versions v JOIN aliases a ON"
		"  a.model = v.model AND a.version = v.version WHERE v.outputs IS NOT NULL",
		-1, &s, NULL);
	sqlite3_bind_int(s, 1, o->keep_last);
	sqlite3_bind_double(s, 2, o->keep_days);
	sqlite3_bind_double(s, 3, state_now() - o->keep_days * 86400.0);
	while (sqlite3_step(s) == SQLITE_ROW)
		mark_outputs(lv, store, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

struct sweep {
	long long objects, bytes, kept;
	sqlite3_stmt *forget;   /* deletes one row of 'objects' */
};

static void sweep_dir(const char *dir, const char *prefix, struct live *lv,
		      const struct gc_opts *o, struct sweep *sw)
{
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char hex[HASH_HEX_LEN], *path;
		if (de->d_name[0] == '.' || strlen(de->d_name) != HASH_HEX_LEN - 3)
			continue;   /* not an object name: a stray temp file */
		memcpy(hex, prefix, 2);
		memcpy(hex + 2, de->d_name, HASH_HEX_LEN - 2);
		if (strmap_get(&lv->set, hex) >= 0) {
			sw->kept++;
			continue;
		}
		path = fs_join(dir, de->d_name);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (o->dry_run || unlink(path) == 0) {
				sw->objects++;
				sw->bytes += (long long)sb.st_size;
			}
			if (!o->dry_run) {
				sqlite3_bind_text(sw->forget, 1, hex, -1, SQLITE_TRANSIENT);
				sqlite3_step(sw->forget);
				sqlite3_reset(sw->forget);
			}
		}
		free(path);
	}
	closedir(d);
}

static void sweep(struct state *st, struct store *store, struct live *lv,
		  const struct gc_opts *o, struct sweep *sw)
{
	struct dirent *de;
	DIR *d = opendir(store->dir);

	if (!d)
		return;
	sqlite3_exec(state_db(st), "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_prepare_v2(state_db(st), "DELETE FROM objects WHERE hash = ?1", -1,
			   &sw->forget, NULL);
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 2)
			continue;
		char *sub = fs_join(store->dir, de->d_name);
		sweep_dir(sub, de->d_name, lv, o, sw);
		free(sub);
	}
	closedir(d);
	sqlite3_finalize(sw->forget);
	sqlite3_exec(state_db(st), "COMMIT", NULL, NULL, NULL);
}

/* Cache rows whose outputs are gone, and logs of runs not kept. */
static long long drop_dangling(struct state *st, struct live *lv,
			       const struct gc_opts *o)
{
	sqlite3_stmt *s, *del;
	long long n = 0;

	sqlite3_exec(state_db(st), "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_prepare_v2(state_db(st), "SELECT key, outputs FROM cache", -1, &s, NULL);
	sqlite3_prepare_v2(state_db(st), "DELETE FROM cache WHERE key = ?1", -1, &del, NULL);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (strmap_get(&lv->set, (const char *)sqlite3_column_text(s, 1)) >= 0)
			continue;
		n++;
		if (o->dry_run)
			continue;
		sqlite3_bind_text(del, 1, (const char *)sqlite3_column_text(s, 0), -1,
				  SQLITE_TRANSIENT);
		sqlite3_step(del);
		sqlite3_reset(del);
	}
	sqlite3_finalize(s);
	sqlite3_finalize(del);
	sqlite3_exec(state_db(st), "COMMIT", NULL, NULL, NULL);
	return n;
}

static long long drop_logs(struct state *st, const struct gc_opts *o)
{
	sqlite3_stmt *s;
	long long n = 0;
	struct err e;

	sqlite3_prepare_v2(state_db(st), "SELECT id FROM runs r WHERE"
		" (SELECT count(*) FROM runs n WHERE n.pipeline = r.pipeline AND"
		"  n.id > r.id) >= ?1 AND NOT (?2 > 0 AND r.started > ?3)", -1, &s, NULL);
	sqlite3_bind_int(s, 1, o->keep_last);
	sqlite3_bind_double(s, 2, o->keep_days);
	sqlite3_bind_double(s, 3, state_now() - o->keep_days * 86400.0);
	while (sqlite3_step(s) == SQLITE_ROW) {
		char *dir = xasprintf("%s/logs/%lld", state_dir(st),
				      (long long)sqlite3_column_int64(s, 0));
		if (fs_exists(dir)) {
			n++;
			if (!o->dry_run)
				fs_remove_tree(dir, &e);
		}
		free(dir);
	}
	sqlite3_finalize(s);
	return n;
}

int gc_run(struct state *st, struct store *store, const struct gc_opts *o,
	   struct err *err)
{
	struct live lv = {0};
	struct sweep sw = {0, 0, 0, NULL};
	long long dangling, logs;
	size_t i;

	if (running_elsewhere(st)) {
		err_set(err, ERR_USER, "a dagrun run is in progress on %s; gc waits "
			"for it to finish (see 'dagrun runs --status running')",
			state_dir(st));
		return -1;
	}
	strmap_init(&lv.set);
	mark(st, store, o, &lv);
	sweep(st, store, &lv, o, &sw);
	dangling = drop_dangling(st, &lv, o);
	logs = drop_logs(st, o);
	if (!o->dry_run && (sw.objects > 0 || dangling > 0))
		state_bump_generation(st, err);   /* no plan survives a gc */
	if (o->json)
		printf("{\"dry_run\":%s,\"objects_removed\":%lld,\"bytes_freed\":%lld,"
		       "\"objects_kept\":%lld,\"cache_entries_dropped\":%lld,"
		       "\"log_folders_removed\":%lld}\n", o->dry_run ? "true" : "false",
		       sw.objects, sw.bytes, sw.kept, dangling, logs);
	else
		printf("gc%s: %s %lld objects (%.1f MB), kept %lld; dropped %lld cache "
		       "entries and %lld log folders\n", o->dry_run ? " (dry run)" : "",
		       o->dry_run ? "would remove" : "removed", sw.objects,
		       (double)sw.bytes / 1e6, sw.kept, dangling, logs);
	for (i = 0; i < lv.n; i++)
		free(lv.keys[i]);
	free(lv.keys);
	strmap_release(&lv.set);
	return 0;
}
