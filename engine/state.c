/* state: see state.h.
 *
 * Statements that run once per node are prepared once and kept; the rest
 * are prepared where used.  synchronous=NORMAL in WAL mode: a commit
 * survives a crash of dagrun (not necessarily of the machine), and an
 * interrupted transaction leaves no trace, which is what the cache needs:
 * a lost cache row only means a node runs again. */
#include "state.h"
#include "events.h"
#include "registry.h"
#include "fs.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
	Q_CACHE_GET, Q_CACHE_PUT, Q_KEY_PUT, Q_NODE_RUN, Q_OBJECT, Q_METRIC,
	Q_EVENT, Q_MEMO_GET, Q_MEMO_PUT, Q_CLAIM_GET, Q_CLAIM_PUT, Q_CLAIM_DEL,
	Q_BUMP, Q_COUNT
};

static const char *const queries[Q_COUNT] = {
	"SELECT outputs FROM cache WHERE key = ?1",
	"INSERT OR REPLACE INTO cache(key, outputs, node, run_id, created) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	"INSERT OR IGNORE INTO keys(key, doc) VALUES (?1, ?2)",
	"INSERT INTO node_runs(run_id, pipeline, node, task, key, status, reason, "
		"outputs, attempts, exit_code, started, ended, cpu, maxrss_kb, log, "
		"error) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
	"INSERT OR IGNORE INTO objects(hash, size, created) VALUES (?1, ?2, ?3)",
	"INSERT INTO metrics(run_id, node, name, step, value) VALUES (?1,?2,?3,?4,?5)",
	"INSERT INTO events(run_id, node, name, payload, created) VALUES (?1,?2,?3,?4,?5)",
	"SELECT hash FROM file_memo WHERE path = ?1 AND size = ?2 AND "
		"mtime_ns = ?3 AND inode = ?4",
	"INSERT OR REPLACE INTO file_memo(path, size, mtime_ns, inode, hash) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	"SELECT pid, host, heartbeat FROM claims WHERE key = ?1",
	"INSERT OR REPLACE INTO claims(key, pid, host, run_id, heartbeat) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	"DELETE FROM claims WHERE key = ?1 AND pid = ?2 AND host = ?3",
	"UPDATE meta SET value = value + 1 WHERE key = 'cache_generation'",
};

/* Migrations: append only; user_version counts the ones applied. */
static const char *const migrations[] = {
	/* 1: the core */
	"CREATE TABLE runs(id INTEGER PRIMARY KEY, pipeline TEXT NOT NULL, "
	"  pipeline_path TEXT, pipeline_hash TEXT, root TEXT, salt TEXT, argv TEXT,"
	"  started REAL, ended REAL, status TEXT NOT NULL, pid INTEGER, host TEXT,"
	"  git_commit TEXT, git_branch TEXT, git_dirty INTEGER, lineage TEXT,"
	"  n_nodes INTEGER, n_ran INTEGER DEFAULT 0, n_cached INTEGER DEFAULT 0,"
	"  n_failed INTEGER DEFAULT 0);"
	"CREATE INDEX runs_by_pipeline ON runs(pipeline, id);"
	"CREATE TABLE keys(key TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE node_runs(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL,"
	"  pipeline TEXT NOT NULL, node TEXT NOT NULL, task TEXT, key TEXT,"
	"  status TEXT NOT NULL, reason TEXT, outputs TEXT, attempts INTEGER,"
	"  exit_code INTEGER, started REAL, ended REAL, cpu REAL, maxrss_kb INTEGER,"
	"  log TEXT, error TEXT);"
	"CREATE INDEX node_runs_by_node ON node_runs(pipeline, node, id);"
	"CREATE INDEX node_runs_by_run ON node_runs(run_id);"
	"CREATE TABLE cache(key TEXT PRIMARY KEY, outputs TEXT NOT NULL, node TEXT,"
	"  run_id INTEGER, created REAL) WITHOUT ROWID;"
	"CREATE TABLE objects(hash TEXT PRIMARY KEY, size INTEGER, created REAL)"
	"  WITHOUT ROWID;"
	"CREATE TABLE file_memo(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
	"  inode INTEGER, hash TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE claims(key TEXT PRIMARY KEY, pid INTEGER, host TEXT,"
	"  run_id INTEGER, heartbeat REAL) WITHOUT ROWID;"
	"CREATE TABLE metrics(run_id INTEGER, node TEXT, name TEXT, step INTEGER,"
	"  value REAL);"
	"CREATE INDEX metrics_by_run ON metrics(run_id, node, name);"
	"CREATE TABLE events(id INTEGER PRIMARY KEY, run_id INTEGER, node TEXT,"
	"  name TEXT NOT NULL, payload TEXT, created REAL, delivered INTEGER DEFAULT 0,"
	"  attempts INTEGER DEFAULT 0);"
	"CREATE TABLE models(name TEXT PRIMARY KEY, created REAL) WITHOUT ROWID;"
	"CREATE TABLE model_versions(model TEXT, version INTEGER, run_id INTEGER,"
	"  node TEXT, outputs TEXT, metrics TEXT, created REAL,"
	"  PRIMARY KEY(model, version));"
	"CREATE TABLE aliases(model TEXT, alias TEXT, version INTEGER, updated REAL,"
	"  PRIMARY KEY(model, alias));"
	"CREATE TABLE promotions(id INTEGER PRIMARY KEY, model TEXT, alias TEXT,"
	"  version INTEGER, previous INTEGER, run_id INTEGER, reason TEXT,"
	"  created REAL);",
	/* 2: the no-op fast path (quick.c) and the cache generation */
	"ALTER TABLE runs ADD COLUMN same_as INTEGER;"
	"CREATE TABLE plans(key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
	"  generation INTEGER NOT NULL, run_id INTEGER NOT NULL, files TEXT NOT NULL,"
	"  n_nodes INTEGER) WITHOUT ROWID;"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;"
	"INSERT INTO meta VALUES ('cache_generation', 0);",
	/* 3: the model registry's lineage (registry.c) */
	"ALTER TABLE model_versions ADD COLUMN key TEXT;"
	"ALTER TABLE model_versions ADD COLUMN model_type TEXT;"
	"ALTER TABLE model_versions ADD COLUMN score REAL;"
	"ALTER TABLE model_versions ADD COLUMN record TEXT;"
	"ALTER TABLE promotions ADD COLUMN decision TEXT;",
	/* 4: webhooks and the deliveries of events to them (events.c,
	 * webhook.c); the state id makes idempotency keys */
	"CREATE TABLE webhooks(id INTEGER PRIMARY KEY, url TEXT NOT NULL,"
	"  events TEXT, secret_env TEXT, pipeline TEXT NOT NULL DEFAULT '',"
	"  seen_event INTEGER NOT NULL DEFAULT 0, created REAL,"
	"  UNIQUE(pipeline, url));"
	"CREATE TABLE deliveries(event_id INTEGER NOT NULL, webhook_id INTEGER NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt REAL NOT NULL DEFAULT 0, last_attempt REAL, http_status INTEGER,"
	"  error TEXT, delivered REAL, PRIMARY KEY(event_id, webhook_id)) WITHOUT ROWID;"
	"CREATE INDEX deliveries_due ON deliveries(status, next_attempt);"
	"CREATE INDEX deliveries_by_webhook ON deliveries(webhook_id);"
	"CREATE TRIGGER webhooks_gone AFTER DELETE ON webhooks BEGIN"
	"  DELETE FROM deliveries WHERE webhook_id = old.id; END;"
	"CREATE INDEX events_by_run ON events(run_id);"
	"CREATE TABLE meta_text(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta_text VALUES ('state_id', lower(hex(randomblob(16))));",
};

struct state {
	char *dir;
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	int batch;         /* inside state_batch_begin */
};

double state_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *state_host(void)
{
	static char host[256];

	if (!host[0] && gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	return host;
}

static int db_fail(struct state *st, struct err *err, const char *what)
{
	err_set(err, ERR_IO, "%s/dagrun.db: %s: %s", st->dir, what,
		sqlite3_errmsg(st->db));
	return -1;
}

static int exec_sql(struct state *st, const char *sql, struct err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, ERR_IO, "%s/dagrun.db: %s", st->dir, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int migrate(struct state *st, struct err *err)
{
	int have = 0, want = (int)(sizeof(migrations) / sizeof(migrations[0]));
	sqlite3_stmt *s;
	char sql[64];

	if (exec_sql(st, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		have = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (have > want) {
		exec_sql(st, "ROLLBACK", err);
		err_set(err, ERR_USER, "%s/dagrun.db has schema version %d, newer "
			"than this dagrun knows (%d): upgrade dagrun", st->dir, have, want);
		return -1;
	}
	for (; have < want; have++)
		if (exec_sql(st, migrations[have], err) < 0) {
			exec_sql(st, "ROLLBACK", err);
			return -1;
		}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", want);
	if (exec_sql(st, sql, err) < 0 || exec_sql(st, "COMMIT", err) < 0)
		return -1;
	return 0;
}

/* Mark run 'id' interrupted with its run_finished event (events.h), once:
 * of two processes that find it dead, only the one that marks it emits. */
static void mark_dead_run(struct state *st, sqlite3_stmt *u, int64_t id)
{
	struct err e;

	if (state_batch_begin(st, &e) < 0)
		return;
	sqlite3_bind_int64(u, 1, id);
	sqlite3_step(u);
	sqlite3_reset(u);
	if (sqlite3_changes(st->db) == 1 && events_run_finished(st->db, id, &e) < 0) {
		exec_sql(st, "ROLLBACK", &e);
		st->batch = 0;
		return;
	}
	state_batch_end(st, &e);
}

/* Runs left 'running' by a process of this host that is gone. */
static void mark_dead_runs(struct state *st)
{
	sqlite3_stmt *s, *u;
	int64_t *dead = NULL;
	size_t n = 0, cap = 0, i;

	if (sqlite3_prepare_v2(st->db, "SELECT id, pid FROM runs WHERE status = "
			       "'running' AND host = ?1", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, state_host(), -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		pid_t pid = (pid_t)sqlite3_column_int(s, 1);
		if (kill(pid, 0) == 0 || errno == EPERM)
			continue;
		xgrow((void **)&dead, sizeof(*dead), &cap, n + 1);
		dead[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	sqlite3_prepare_v2(st->db, "UPDATE runs SET status = 'interrupted' "
			   "WHERE id = ?1 AND status = 'running'", -1, &u, NULL);
	for (i = 0; i < n; i++)
		mark_dead_run(st, u, dead[i]);
	sqlite3_finalize(u);
	free(dead);
}

int state_open(const char *dir, struct state **out, struct err *err)
{
	struct state *st = xcalloc(1, sizeof(*st));
	char *path;
	int i;

	st->dir = xstrdup(dir);
	if (fs_mkdirs(dir, err) < 0)
		goto fail;
	path = fs_join(dir, "dagrun.db");
	i = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	free(path);
	if (i != SQLITE_OK) {
		db_fail(st, err, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 30000);
	if (exec_sql(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		     "PRAGMA foreign_keys=OFF", err) < 0 || migrate(st, err) < 0)
		goto fail;
	for (i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->q[i], NULL) != SQLITE_OK) {
			db_fail(st, err, queries[i]);
			goto fail;
		}
	mark_dead_runs(st);
	*out = st;
	return 0;
fail:
	state_close(st);
	return -1;
}

void state_close(struct state *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	if (st->db)
		sqlite3_close(st->db);
	free(st->dir);
	free(st);
}

const char *state_dir(const struct state *st)
{
	return st->dir;
}

sqlite3 *state_db(struct state *st)
{
	return st->db;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static int step_done(struct state *st, sqlite3_stmt *s, struct err *err,
		     const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(st, err, what);
	return 0;
}

int state_run_begin(struct state *st, const struct run_info *ri,
		    int64_t *run_id, struct err *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT INTO runs(pipeline, pipeline_path,"
		" pipeline_hash, root, salt, argv, started, status, pid, host,"
		" git_commit, git_branch, git_dirty, lineage, n_nodes, same_as) VALUES"
		" (?1,?2,?3,?4,?5,?6,?7,'running',?8,?9,?10,?11,?12,?13,?14,?15)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, err, "cannot record the run");
	bind_text(s, 1, ri->pipeline);
	bind_text(s, 2, ri->pipeline_path);
	bind_text(s, 3, ri->pipeline_hash);
	bind_text(s, 4, ri->root);
	bind_text(s, 5, ri->salt);
	bind_text(s, 6, ri->argv);
	sqlite3_bind_double(s, 7, state_now());
	sqlite3_bind_int(s, 8, (int)getpid());
	bind_text(s, 9, state_host());
	bind_text(s, 10, ri->git_commit);
	bind_text(s, 11, ri->git_branch);
	sqlite3_bind_int(s, 12, ri->git_dirty);
	bind_text(s, 13, ri->lineage);
	sqlite3_bind_int(s, 14, ri->n_nodes);
	if (ri->same_as > 0)
		sqlite3_bind_int64(s, 15, ri->same_as);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_fail(st, err, "cannot record the run");
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int state_run_end(struct state *st, int64_t run_id, const char *status,
		  int ran, int cached, int failed, struct err *err)
{
	sqlite3_stmt *s;
	int rc;

	/* the status and its run_finished event (events.h) in one transaction */
	if (state_batch_begin(st, err) < 0)
		return -1;
	sqlite3_prepare_v2(st->db, "UPDATE runs SET ended = ?2, status = ?3, "
			   "n_ran = ?4, n_cached = ?5, n_failed = ?6 WHERE id = ?1",
			   -1, &s, NULL);
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_double(s, 2, state_now());
	bind_text(s, 3, status);
	sqlite3_bind_int(s, 4, ran);
	sqlite3_bind_int(s, 5, cached);
	sqlite3_bind_int(s, 6, failed);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		db_fail(st, err, "cannot finish the run");
	if (rc != SQLITE_DONE || events_run_finished(st->db, run_id, err) < 0) {
		exec_sql(st, "ROLLBACK", err);
		st->batch = 0;
		return -1;
	}
	return state_batch_end(st, err);
}

int state_cache_get(struct state *st, const char *key, struct hash *outputs)
{
	sqlite3_stmt *s = st->q[Q_CACHE_GET];
	int hit = 0;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		hit = hash_from_hex((const char *)sqlite3_column_text(s, 0), outputs) == 0;
	sqlite3_reset(s);
	return hit;
}

int state_batch_begin(struct state *st, struct err *err)
{
	if (st->batch++ > 0)
		return 0;
	return exec_sql(st, "BEGIN IMMEDIATE", err);
}

int state_batch_end(struct state *st, struct err *err)
{
	if (st->batch == 0 || --st->batch > 0)
		return 0;
	return exec_sql(st, "COMMIT", err);
}

static int record_objects(struct state *st, const json_t *manifest,
			  const struct hash *outputs, struct err *err)
{
	sqlite3_stmt *s = st->q[Q_OBJECT];
	char hex[HASH_HEX_LEN];
	json_t *f;
	size_t i;
	double now = state_now();

	hash_to_hex(outputs, hex);
	bind_text(s, 1, hex);
	sqlite3_bind_double(s, 3, now);
	if (step_done(st, s, err, "cannot record an object") < 0)
		return -1;
	json_array_foreach(json_object_get(manifest, "files"), i, f) {
		bind_text(s, 1, json_string_value(json_object_get(f, "hash")));
		sqlite3_bind_int64(s, 2, json_integer_value(json_object_get(f, "size")));
		sqlite3_bind_double(s, 3, now);
		if (step_done(st, s, err, "cannot record an object") < 0)
			return -1;
	}
	return 0;
}

static int metric_line(struct state *st, int64_t run_id, const char *node,
		       const char *line, json_t *m, struct err *err)
{
	sqlite3_stmt *s = st->q[Q_METRIC];
	json_t *v = json_object_get(m, "value"), *step = json_object_get(m, "step");

	(void)line;
	if (!json_is_string(json_object_get(m, "name")) || !json_is_number(v))
		return 0;   /* not a metric: ignored, as documented */
	sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, node);
	bind_text(s, 3, json_string_value(json_object_get(m, "name")));
	if (json_is_integer(step) && json_integer_value(step) >= 0)
		sqlite3_bind_int64(s, 4, json_integer_value(step));
	sqlite3_bind_double(s, 5, json_number_value(v));
	return step_done(st, s, err, "cannot record a metric");
}

static int event_line(struct state *st, int64_t run_id, const char *node,
		      const char *line, json_t *e, struct err *err)
{
	sqlite3_stmt *s = st->q[Q_EVENT];

	if (!json_is_string(json_object_get(e, "event")))
		return 0;
	sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, node);
	bind_text(s, 3, json_string_value(json_object_get(e, "event")));
	bind_text(s, 4, line);
	sqlite3_bind_double(s, 5, state_now());
	return step_done(st, s, err, "cannot record an event");
}

/* Feed each JSON line of 'path' (metrics or events a node wrote) (may be NULL or missing) to 'fn'. */
static int import_lines(struct state *st, int64_t run_id, const char *node,
			const char *path,
			int (*fn)(struct state *, int64_t, const char *,
				  const char *, json_t *, struct err *),
			struct err *err)
{
	char *text, *line, *save = NULL;
	struct err ignored;
	size_t n;
	int rc = 0;

	if (!path || fs_read_file(path, &text, &n, &ignored) < 0)
		return 0;   /* the node wrote none */
	for (line = strtok_r(text, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *v = json_loads(line, 0, NULL);
		if (v)
			rc = fn(st, run_id, node, line, v, err);
		json_decref(v);
	}
	free(text);
	return rc;
}

static int insert_node_run(struct state *st, int64_t run_id,
			   const char *pipeline, const struct node_result *r,
			   struct err *err)
{
	sqlite3_stmt *s = st->q[Q_NODE_RUN];
	char out_hex[HASH_HEX_LEN];

	sqlite3_bind_int64(s, 1, run_id);
	bind_text(s, 2, pipeline);
	bind_text(s, 3, r->node);
	bind_text(s, 4, r->task);
	bind_text(s, 5, r->key);
	bind_text(s, 6, r->status);
	bind_text(s, 7, r->reason);
	if (r->outputs) {
		hash_to_hex(r->outputs, out_hex);
		bind_text(s, 8, out_hex);
	}
	sqlite3_bind_int(s, 9, r->attempts);
	sqlite3_bind_int(s, 10, r->exit_code);
	sqlite3_bind_double(s, 11, r->started);
	sqlite3_bind_double(s, 12, r->ended);
	sqlite3_bind_double(s, 13, r->cpu);
	sqlite3_bind_int64(s, 14, r->maxrss_kb);
	bind_text(s, 15, r->log_path);
	bind_text(s, 16, r->error);
	return step_done(st, s, err, "cannot record a node run");
}

static int record_done(struct state *st, int64_t run_id,
		       const struct node_result *r, struct err *err)
{
	sqlite3_stmt *s = st->q[Q_CACHE_PUT];
	char hex[HASH_HEX_LEN];

	hash_to_hex(r->outputs, hex);
	bind_text(s, 1, r->key);
	bind_text(s, 2, hex);
	bind_text(s, 3, r->node);
	sqlite3_bind_int64(s, 4, run_id);
	sqlite3_bind_double(s, 5, state_now());
	if (step_done(st, s, err, "cannot record the cache entry") < 0)
		return -1;
	if (step_done(st, st->q[Q_BUMP], err, "cannot record the cache entry") < 0)
		return -1;
	if (r->manifest && record_objects(st, r->manifest, r->outputs, err) < 0)
		return -1;
	if (import_lines(st, run_id, r->node, r->metrics_path, metric_line, err) < 0)
		return -1;
	return import_lines(st, run_id, r->node, r->events_path, event_line, err);
}

int state_cache_put(struct state *st, int64_t run_id, const char *node,
		    const char *key, const struct hash *outputs,
		    const json_t *manifest, struct err *err)
{
	struct node_result r;

	memset(&r, 0, sizeof(r));
	r.node = node;
	r.key = key;
	r.outputs = outputs;
	r.manifest = manifest;
	if (state_batch_begin(st, err) < 0)
		return -1;
	if (record_done(st, run_id, &r, err) < 0) {
		exec_sql(st, "ROLLBACK", err);
		st->batch = 0;
		return -1;
	}
	return state_batch_end(st, err);
}

static int release_claim(struct state *st, const char *key, struct err *err)
{
	sqlite3_stmt *s = st->q[Q_CLAIM_DEL];

	bind_text(s, 1, key);
	sqlite3_bind_int(s, 2, (int)getpid());
	bind_text(s, 3, state_host());
	return step_done(st, s, err, "cannot release a claim");
}

int state_record(struct state *st, int64_t run_id, const char *pipeline,
		 const struct node_result *r, struct err *err)
{
	int rc = 0;

	if (state_batch_begin(st, err) < 0)
		return -1;
	if (r->key && r->key_doc) {
		bind_text(st->q[Q_KEY_PUT], 1, r->key);
		bind_text(st->q[Q_KEY_PUT], 2, r->key_doc);
		rc = step_done(st, st->q[Q_KEY_PUT], err, "cannot record a key");
	}
	if (rc == 0)
		rc = insert_node_run(st, run_id, pipeline, r, err);
	if (rc == 0 && !strcmp(r->status, "done"))
		rc = record_done(st, run_id, r, err);
	if (rc == 0 && !strcmp(r->status, "done") && r->promotion)
		rc = registry_record(st->db, run_id, r->promotion, r->registry_report, err);
	else if (rc == 0 && !strcmp(r->status, "failed"))
		rc = import_lines(st, run_id, r->node, r->events_path, event_line, err);
	if (rc == 0 && r->key && strcmp(r->status, "cached"))
		rc = release_claim(st, r->key, err);
	if (rc < 0) {
		exec_sql(st, "ROLLBACK", err);
		st->batch = 0;
		return -1;
	}
	return state_batch_end(st, err);
}

static char *column_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

char *state_last_key_doc(struct state *st, const char *pipeline,
			 const char *node, int64_t before_run, int64_t *run)
{
	sqlite3_stmt *s;
	char *doc = NULL;

	sqlite3_prepare_v2(st->db, "SELECT k.doc, n.run_id FROM node_runs n JOIN "
		"keys k ON k.key = n.key WHERE n.pipeline = ?1 AND n.node = ?2 AND "
		"n.status IN ('done', 'cached') AND (?3 <= 0 OR n.run_id < ?3) "
		"ORDER BY n.id DESC LIMIT 1", -1, &s, NULL);
	bind_text(s, 1, pipeline);
	bind_text(s, 2, node);
	sqlite3_bind_int64(s, 3, before_run);
	if (sqlite3_step(s) == SQLITE_ROW) {
		doc = column_dup(s, 0);
		if (run)
			*run = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return doc;
}

char *state_key_doc(struct state *st, const char *key)
{
	sqlite3_stmt *s;
	char *doc = NULL;

	sqlite3_prepare_v2(st->db, "SELECT doc FROM keys WHERE key = ?1", -1, &s, NULL);
	bind_text(s, 1, key);
	if (sqlite3_step(s) == SQLITE_ROW)
		doc = column_dup(s, 0);
	sqlite3_finalize(s);
	return doc;
}

int state_memo_get(struct state *st, const char *path, int64_t size,
		   int64_t mtime_ns, int64_t inode, struct hash *h)
{
	sqlite3_stmt *s = st->q[Q_MEMO_GET];
	int hit = 0;

	bind_text(s, 1, path);
	sqlite3_bind_int64(s, 2, size);
	sqlite3_bind_int64(s, 3, mtime_ns);
	sqlite3_bind_int64(s, 4, inode);
	if (sqlite3_step(s) == SQLITE_ROW)
		hit = hash_from_hex((const char *)sqlite3_column_text(s, 0), h) == 0;
	sqlite3_reset(s);
	return hit;
}

int state_memo_put(struct state *st, const char *path, int64_t size,
		   int64_t mtime_ns, int64_t inode, const struct hash *h)
{
	sqlite3_stmt *s = st->q[Q_MEMO_PUT];
	char hex[HASH_HEX_LEN];
	struct err err;

	hash_to_hex(h, hex);
	bind_text(s, 1, path);
	sqlite3_bind_int64(s, 2, size);
	sqlite3_bind_int64(s, 3, mtime_ns);
	sqlite3_bind_int64(s, 4, inode);
	bind_text(s, 5, hex);
	return step_done(st, s, &err, "memo");
}

/* Is the claim holder (pid on host, last seen at 'beat') alive? */
static int holder_alive(int pid, const char *host, double beat)
{
	if (host && !strcmp(host, state_host())) {
		if (pid == (int)getpid())
			return 1;
		return kill((pid_t)pid, 0) == 0 || errno == EPERM;
	}
	return state_now() - beat < STATE_CLAIM_STALE;
}

int state_claim(struct state *st, const char *key, int64_t run_id,
		struct err *err)
{
	sqlite3_stmt *g = st->q[Q_CLAIM_GET], *p = st->q[Q_CLAIM_PUT];
	int busy = 0;

	if (state_batch_begin(st, err) < 0)
		return -1;
	bind_text(g, 1, key);
	if (sqlite3_step(g) == SQLITE_ROW)
		busy = holder_alive(sqlite3_column_int(g, 0),
				    (const char *)sqlite3_column_text(g, 1),
				    sqlite3_column_double(g, 2)) &&
		       sqlite3_column_int(g, 0) != (int)getpid();
	sqlite3_reset(g);
	if (!busy) {
		bind_text(p, 1, key);
		sqlite3_bind_int(p, 2, (int)getpid());
		bind_text(p, 3, state_host());
		sqlite3_bind_int64(p, 4, run_id);
		sqlite3_bind_double(p, 5, state_now());
		if (step_done(st, p, err, "cannot claim a key") < 0) {
			exec_sql(st, "ROLLBACK", err);
			st->batch = 0;
			return -1;
		}
	}
	if (state_batch_end(st, err) < 0)
		return -1;
	return busy ? CLAIM_BUSY : CLAIM_TAKEN;
}

int state_claim_release(struct state *st, const char *key, struct err *err)
{
	return release_claim(st, key, err);
}

int state_heartbeat(struct state *st, struct err *err)
{
	sqlite3_stmt *s;
	int rc;

	sqlite3_prepare_v2(st->db, "UPDATE claims SET heartbeat = ?1 WHERE "
			   "pid = ?2 AND host = ?3", -1, &s, NULL);
	sqlite3_bind_double(s, 1, state_now());
	sqlite3_bind_int(s, 2, (int)getpid());
	bind_text(s, 3, state_host());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(st, err, "cannot refresh claims");
}

int64_t state_generation(struct state *st)
{
	sqlite3_stmt *s;
	int64_t g = -1;

	sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = "
			   "'cache_generation'", -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		g = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return g;
}

int state_bump_generation(struct state *st, struct err *err)
{
	return step_done(st, st->q[Q_BUMP], err, "cannot bump the cache generation");
}

int state_plan_get(struct state *st, const char *key, struct state_plan *out)
{
	sqlite3_stmt *s;
	int found = 0;

	memset(out, 0, sizeof(*out));
	sqlite3_prepare_v2(st->db, "SELECT fingerprint, generation, run_id, files,"
			   " n_nodes FROM plans WHERE key = ?1", -1, &s, NULL);
	bind_text(s, 1, key);
	if (sqlite3_step(s) == SQLITE_ROW) {
		found = 1;
		snprintf(out->fingerprint, sizeof(out->fingerprint), "%s",
			 (const char *)sqlite3_column_text(s, 0));
		out->generation = sqlite3_column_int64(s, 1);
		out->run_id = sqlite3_column_int64(s, 2);
		out->files = column_dup(s, 3);
		out->n_nodes = sqlite3_column_int(s, 4);
	}
	sqlite3_finalize(s);
	return found;
}

int state_plan_put(struct state *st, const char *key,
		   const struct state_plan *plan, struct err *err)
{
	sqlite3_stmt *s;
	int rc;

	sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO plans(key, fingerprint,"
			   " generation, run_id, files, n_nodes) VALUES (?1,?2,?3,?4,?5,?6)",
			   -1, &s, NULL);
	bind_text(s, 1, key);
	bind_text(s, 2, plan->fingerprint);
	sqlite3_bind_int64(s, 3, plan->generation);
	sqlite3_bind_int64(s, 4, plan->run_id);
	bind_text(s, 5, plan->files);
	sqlite3_bind_int(s, 6, plan->n_nodes);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(st, err, "cannot record a plan");
}

int state_run_pipeline(struct state *st, int64_t run, char **name, char **path,
		       char hash[HASH_HEX_LEN])
{
	sqlite3_stmt *s;
	int found = 0;

	sqlite3_prepare_v2(st->db, "SELECT pipeline, pipeline_path, pipeline_hash"
			   " FROM runs WHERE id = ?1", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, run);
	if (sqlite3_step(s) == SQLITE_ROW) {
		found = 1;
		*name = column_dup(s, 0);
		*path = column_dup(s, 1);
		snprintf(hash, HASH_HEX_LEN, "%s", sqlite3_column_text(s, 2) ?
			 (const char *)sqlite3_column_text(s, 2) : "");
	}
	sqlite3_finalize(s);
	return found;
}
