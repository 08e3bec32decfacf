/* serve_models: loaded model versions and their snapshots (see
 * serve_models.h).
 *
 * Invariants:
 *   - a snapshot never changes after it is published; 'cur' is replaced
 *     under 'snap_lock', and a reader takes its reference under the same
 *     lock, so no snapshot is freed between being read and being held;
 *   - a struct loaded is shared: each snapshot slot that serves it holds
 *     one reference, and it is freed with the last;
 *   - the database handle, the object store and 'tmp' are used only under
 *     'lock' (state.c opens SQLite without its own mutex). */
#include "serve_models.h"
#include "fs.h"
#include "hash.h"
#include "registry.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One model version in memory. */
struct loaded {
	atomic_int refs;
	char *model;
	int64_t version;
	struct hash outputs;
	struct forecaster *f;
	double loaded_at;
};

/* One alias of a snapshot. */
struct slot {
	char *model, *alias;
	struct loaded *l;        /* the version served, or NULL */
	int64_t want;            /* the registry's version */
	struct hash want_outputs;
	char *error;             /* why 'want' is not the version served */
	struct serve_entry view;
};

struct serve_snapshot {
	atomic_int refs;
	size_t n;
	struct slot *s;
	char **names;            /* every model of the registry */
	size_t n_names;
	char *models_json;
};

struct serve_models {
	struct state *st;
	struct store store;
	char *tmp;               /* STATE/tmp/<pid>-serve: links while loading */
	FILE *log;
	pthread_mutex_t lock;    /* reloads: database, store, tmp */
	pthread_mutex_t snap_lock;
	struct serve_snapshot *cur;
	sqlite3_stmt *data_version;
	int64_t seen_version;    /* data_version at the last read */
	int failing;             /* the last read left a version unloaded */
	double retry_at;
	unsigned long n_loads;
};

/* One alias as the registry has it. */
struct row {
	char *model, *alias;
	int64_t version;
	struct hash outputs;
};

/* ---- loaded versions --------------------------------------------------- */

static struct loaded *loaded_hold(struct loaded *l)
{
	if (l)
		atomic_fetch_add(&l->refs, 1);
	return l;
}

static void loaded_release(struct loaded *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	forecaster_free(l->f);
	free(l->model);
	free(l);
}

/* Cut every "'dir'/" out of the message: the links are gone by the time
 * anyone reads it, and the file names inside the version are what count. */
static void cut_dir(struct err *err, const char *dir)
{
	size_t n = strlen(dir);
	char *at;

	for (at = strstr(err->msg, dir); at; at = strstr(err->msg, dir)) {
		size_t cut = n + (at[n] == '/');
		memmove(at, at + cut, strlen(at + cut) + 1);
	}
}

/* Link the version's outputs out of the store, load them, remove the
 * links (the forecaster keeps what it read in memory). */
static struct loaded *load_version(struct serve_models *m, const struct row *rw,
				   struct err *err)
{
	char name[32], *dir;
	struct forecaster *f = NULL;
	struct loaded *l;
	struct err ignored;

	snprintf(name, sizeof(name), "%lu", ++m->n_loads);
	dir = fs_join(m->tmp, name);
	if (store_link_dir(&m->store, &rw->outputs, dir, err) == 0)
		f = forecaster_load(dir, err);
	fs_remove_tree(dir, &ignored);
	if (!f)
		cut_dir(err, dir);
	free(dir);
	if (!f)
		return NULL;
	/* the workers are the parallelism: one thread per prediction */
	forecaster_set_threads(f, 1);
	l = xcalloc(1, sizeof(*l));
	atomic_init(&l->refs, 1);
	l->model = xstrdup(rw->model);
	l->version = rw->version;
	l->outputs = rw->outputs;
	l->f = f;
	l->loaded_at = state_now();
	return l;
}

/* ---- snapshots --------------------------------------------------------- */

static void snapshot_free(struct serve_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->s[i].model);
		free(s->s[i].alias);
		free(s->s[i].error);
		loaded_release(s->s[i].l);
	}
	for (size_t i = 0; i < s->n_names; i++)
		free(s->names[i]);
	free(s->names);
	free(s->s);
	free(s->models_json);
	free(s);
}

void serve_snapshot_release(struct serve_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

struct serve_snapshot *serve_models_acquire(struct serve_models *m)
{
	struct serve_snapshot *s;

	pthread_mutex_lock(&m->snap_lock);
	s = m->cur;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&m->snap_lock);
	return s;
}

size_t serve_snapshot_size(const struct serve_snapshot *s)
{
	return s->n;
}

const struct serve_entry *serve_snapshot_entry(const struct serve_snapshot *s,
					       size_t i)
{
	return i < s->n ? &s->s[i].view : NULL;
}

/* "3" or "v3" as a version, else 0. */
static int64_t as_version(const char *s)
{
	int64_t v = 0;

	if (*s == 'v')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > INT64_MAX / 10 - 9)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v;
}

const struct serve_entry *serve_snapshot_find(const struct serve_snapshot *s,
					      const char *model, const char *alias)
{
	int64_t v = as_version(alias);

	for (size_t i = 0; i < s->n; i++) {
		const struct slot *sl = &s->s[i];
		if (strcmp(sl->model, model))
			continue;
		if (!strcmp(sl->alias, alias) || (v > 0 && sl->l && sl->l->version == v))
			return &sl->view;
	}
	return NULL;
}

int serve_snapshot_has_model(const struct serve_snapshot *s, const char *model)
{
	for (size_t i = 0; i < s->n_names; i++)
		if (!strcmp(s->names[i], model))
			return 1;
	return 0;
}

const char *serve_snapshot_models_json(const struct serve_snapshot *s)
{
	return s->models_json;
}

static void set_view(struct slot *sl)
{
	sl->view.model = sl->model;
	sl->view.alias = sl->alias;
	sl->view.version = sl->l ? sl->l->version : sl->want;
	sl->view.f = sl->l ? sl->l->f : NULL;
	sl->view.kind = sl->l ? forecaster_kind_name(sl->l->f) : "";
	sl->view.error = sl->error;
	sl->view.loaded_at = sl->l ? sl->l->loaded_at : 0;
}

/* ---- reading the registry ---------------------------------------------- */

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].model);
		free(rows[i].alias);
	}
	free(rows);
}

/* Every alias, resolved by the registry, in (model, alias) order.  An
 * alias the registry cannot resolve (it names a version that is not
 * there) is logged and left out, so it cannot hold up the others. */
static int read_aliases(struct serve_models *m, struct row **out, size_t *n,
			struct err *err)
{
	sqlite3 *db = state_db(m->st);
	sqlite3_stmt *q = NULL;
	struct row *rows = NULL;
	struct err e;
	size_t cap = 0;
	int step;

	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT model, alias FROM aliases ORDER BY model, "
			       "alias", -1, &q, NULL) != SQLITE_OK) {
		err_set(err, ERR_IO, "cannot read the registry's aliases: %s",
			sqlite3_errmsg(db));
		return -1;
	}
	for (step = sqlite3_step(q); step == SQLITE_ROW; step = sqlite3_step(q)) {
		const char *model = (const char *)sqlite3_column_text(q, 0);
		const char *alias = (const char *)sqlite3_column_text(q, 1);
		char *ref = xasprintf("%s@%s", model ? model : "", alias ? alias : "");
		struct row *rw;
		xgrow((void **)&rows, sizeof(*rows), &cap, *n + 1);
		rw = &rows[*n];
		err_init(&e);
		if (registry_resolve(db, ref, &rw->model, &rw->version, &rw->outputs, &e) == 0) {
			rw->alias = xstrdup(alias ? alias : "");
			(*n)++;
		} else if (m->log) {
			fprintf(m->log, "dagrun serve: %s: %s; left out\n", ref, e.msg);
		}
		free(ref);
	}
	sqlite3_finalize(q);
	if (step != SQLITE_DONE) {   /* a partial list would take aliases away */
		err_set(err, ERR_IO, "cannot read the registry's aliases: %s",
			sqlite3_errmsg(db));
		rows_free(rows, *n);
		return -1;
	}
	*out = rows;
	return 0;
}

/* The model names of the registry. */
static void read_names(struct serve_models *m, struct serve_snapshot *s)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;

	sqlite3_prepare_v2(state_db(m->st), "SELECT name FROM models ORDER BY name",
			   -1, &q, NULL);
	while (q && sqlite3_step(q) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		xgrow((void **)&s->names, sizeof(char *), &cap, s->n_names + 1);
		s->names[s->n_names++] = xstrdup(name ? name : "");
	}
	sqlite3_finalize(q);
}

static json_t *column_json(sqlite3_stmt *q, int i)
{
	switch (sqlite3_column_type(q, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(q, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(q, i));
	case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(q, i));
	default: return json_null();
	}
}

/* What an alias serves, for /models. */
static json_t *served_json(const struct slot *sl)
{
	json_t *o = json_object();

	json_object_set_new(o, "version", sl->l ? json_integer(sl->l->version) :
			    json_null());
	json_object_set_new(o, "kind", json_string(sl->view.kind));
	json_object_set_new(o, "loaded_at", sl->l ? json_real(sl->l->loaded_at) :
			    json_null());
	if (sl->error) {
		json_object_set_new(o, "wanted", json_integer(sl->want));
		json_object_set_new(o, "error", json_string(sl->error));
	}
	return o;
}

/* The /models document of snapshot 's' (its slots and names filled). */
static char *models_doc(struct serve_models *m, const struct serve_snapshot *s)
{
	json_t *models = json_array(), *by = json_object(), *doc;
	sqlite3_stmt *q = NULL;
	char *text;

	for (size_t i = 0; i < s->n_names; i++) {
		json_t *o = json_pack("{s:s, s:{}, s:{}, s:[]}", "name", s->names[i],
				      "aliases", "served", "versions");
		json_array_append_new(models, o);
		json_object_set(by, s->names[i], o);
	}
	for (size_t i = 0; i < s->n; i++) {
		json_t *o = json_object_get(by, s->s[i].model);
		json_object_set_new(json_object_get(o, "aliases"), s->s[i].alias,
				    json_integer(s->s[i].want));
		json_object_set_new(json_object_get(o, "served"), s->s[i].alias,
				    served_json(&s->s[i]));
	}
	sqlite3_prepare_v2(state_db(m->st), "SELECT v.model, v.version, v.model_type, "
			   "v.node, v.run_id, v.score, v.created, (SELECT group_concat("
			   "alias, ',') FROM (SELECT alias FROM aliases a WHERE a.model = "
			   "v.model AND a.version = v.version ORDER BY alias)) FROM "
			   "model_versions v ORDER BY v.model, v.version", -1, &q, NULL);
	while (q && sqlite3_step(q) == SQLITE_ROW) {
		json_t *o = json_object_get(by, (const char *)sqlite3_column_text(q, 0));
		const char *al = (const char *)sqlite3_column_text(q, 7);
		json_t *v = json_object(), *aliases = json_array();
		static const char *const cols[] = {NULL, "version", "model_type", "node",
						   "run_id", "score", "created"};
		for (int c = 1; c < 7; c++)
			json_object_set_new(v, cols[c], column_json(q, c));
		while (al && *al) {
			size_t n = strcspn(al, ",");
			json_array_append_new(aliases, json_stringn(al, n));
			al += n + (al[n] == ',');
		}
		json_object_set_new(v, "aliases", aliases);
		json_array_append_new(json_object_get(o, "versions"), v);
	}
	sqlite3_finalize(q);
	doc = json_pack("{s:o}", "models", models);
	text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(doc);
	json_decref(by);
	return text;
}

/* ---- reloading --------------------------------------------------------- */

static const struct slot *find_slot(const struct serve_snapshot *s,
				    const char *model, const char *alias)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->s[i].model, model) && !strcmp(s->s[i].alias, alias))
			return &s->s[i];
	return NULL;
}

/* A version already in memory, in 'a' or in the first 'n' slots of 'b'. */
static struct loaded *find_loaded(const struct serve_snapshot *a,
				  const struct serve_snapshot *b, size_t n,
				  const struct row *rw)
{
	size_t na = a ? a->n : 0;

	for (size_t i = 0; i < na + n; i++) {
		const struct slot *sl = i < na ? &a->s[i] : &b->s[i - na];
		if (sl->l && sl->l->version == rw->version &&
		    !strcmp(sl->l->model, rw->model) &&
		    !memcmp(&sl->l->outputs, &rw->outputs, sizeof(rw->outputs)))
			return sl->l;
	}
	return NULL;
}

/* Log a load failure of slot 'sl', unless 'was' failed the same way (a
 * retry every few seconds must not flood the log). */
static void log_failure(struct serve_models *m, const struct slot *sl,
			const struct slot *was)
{
	if (!m->log || (was && was->error && !strcmp(was->error, sl->error)))
		return;
	if (sl->l)
		fprintf(m->log, "dagrun serve: %s@%s: %s; still serving v%lld\n",
			sl->model, sl->alias, sl->error, (long long)sl->l->version);
	else
		fprintf(m->log, "dagrun serve: %s@%s: %s; not in service\n",
			sl->model, sl->alias, sl->error);
}

/* Fill slot 'i' of 'next' for registry row 'rw': the version from memory,
 * else loaded now, else (it failed) what 'old' served, with the error. */
static void fill_slot(struct serve_models *m, const struct serve_snapshot *old,
		      struct serve_snapshot *next, size_t i, const struct row *rw,
		      struct serve_reload *r, struct err *err)
{
	struct slot *sl = &next->s[i];
	const struct slot *was = find_slot(old, rw->model, rw->alias);
	struct err e;

	sl->model = xstrdup(rw->model);
	sl->alias = xstrdup(rw->alias);
	sl->want = rw->version;
	sl->want_outputs = rw->outputs;
	sl->l = loaded_hold(find_loaded(old, next, i, rw));
	if (!sl->l) {
		err_init(&e);
		sl->l = load_version(m, rw, &e);
		if (!sl->l) {
			r->failed++;
			sl->error = xasprintf("cannot load v%lld: %s", (long long)rw->version,
					      e.msg);
			err_append(err, ERR_USER, "%s@%s: %s", rw->model, rw->alias, sl->error);
			sl->l = loaded_hold(was ? was->l : NULL);
			log_failure(m, sl, was);
		}
	}
	set_view(sl);
}

/* Log what moved from 'old' to 'next' and count it into 'r'. */
static void report_moves(struct serve_models *m, const struct serve_snapshot *old,
			 const struct serve_snapshot *next, struct serve_reload *r)
{
	for (size_t i = 0; i < next->n; i++) {
		const struct slot *sl = &next->s[i], *was = find_slot(old, sl->model, sl->alias);
		if (!sl->l || (was && was->l == sl->l))
			continue;
		r->swapped++;
		if (!m->log)
			continue;
		if (was && was->l)
			fprintf(m->log, "dagrun serve: %s@%s: v%lld (%s) in service, was v%lld\n",
				sl->model, sl->alias, (long long)sl->l->version,
				sl->view.kind, (long long)was->l->version);
		else
			fprintf(m->log, "dagrun serve: %s@%s: v%lld (%s) in service\n",
				sl->model, sl->alias, (long long)sl->l->version, sl->view.kind);
	}
	for (size_t i = 0; old && i < old->n; i++)
		if (!find_slot(next, old->s[i].model, old->s[i].alias)) {
			r->removed++;
			if (m->log)
				fprintf(m->log, "dagrun serve: %s@%s: no longer in the "
					"registry, out of service\n", old->s[i].model,
					old->s[i].alias);
		}
}

/* 1 if 'a' and 'b' serve the same versions with the same errors and the
 * same /models document. */
static int same_snapshot(const struct serve_snapshot *a, const struct serve_snapshot *b)
{
	if (!a || a->n != b->n || strcmp(a->models_json, b->models_json))
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->s[i].l != b->s[i].l || strcmp(a->s[i].model, b->s[i].model) ||
		    strcmp(a->s[i].alias, b->s[i].alias) ||
		    !a->s[i].error != !b->s[i].error ||
		    (a->s[i].error && strcmp(a->s[i].error, b->s[i].error)))
			return 0;
	return 1;
}

/* 1 when the registry should be read: the database moved since the last
 * read, or a failed load is due for a retry. */
static int due(struct serve_models *m)
{
	int64_t v = m->seen_version;

	if (sqlite3_step(m->data_version) == SQLITE_ROW)
		v = sqlite3_column_int64(m->data_version, 0);
	sqlite3_reset(m->data_version);
	if (v != m->seen_version) {
		m->seen_version = v;
		return 1;
	}
	return m->failing && state_now() >= m->retry_at;
}

static void publish(struct serve_models *m, struct serve_snapshot *next)
{
	struct serve_snapshot *old;

	pthread_mutex_lock(&m->snap_lock);
	old = m->cur;
	m->cur = next;
	pthread_mutex_unlock(&m->snap_lock);
	serve_snapshot_release(old);
}

/* Build the next snapshot from the registry and publish it if it differs.
 * Called with 'lock' held. */
static int reload_locked(struct serve_models *m, struct serve_reload *r,
			 struct err *err)
{
	struct serve_snapshot *old = m->cur, *next;
	struct row *rows = NULL;
	size_t n = 0;

	if (read_aliases(m, &rows, &n, err) < 0)
		return -1;
	r->read = 1;
	next = xcalloc(1, sizeof(*next));
	atomic_init(&next->refs, 1);
	next->s = xcalloc(n ? n : 1, sizeof(*next->s));
	for (size_t i = 0; i < n; i++, next->n++)
		fill_slot(m, old, next, i, &rows[i], r, err);
	rows_free(rows, n);
	read_names(m, next);
	next->models_json = models_doc(m, next);
	m->failing = r->failed > 0;
	m->retry_at = state_now() + SERVE_MODELS_RETRY;
	if (same_snapshot(old, next)) {
		snapshot_free(next);
	} else {
		report_moves(m, old, next, r);
		publish(m, next);
	}
	return r->failed ? -1 : 0;
}

int serve_models_reload(struct serve_models *m, int force,
			struct serve_reload *r, struct err *err)
{
	struct serve_reload ignored;
	int rc = 0;

	r = r ? r : &ignored;
	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&m->lock);
	if (due(m) || force)
		rc = reload_locked(m, r, err);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* ---- the set ------------------------------------------------------------ */

struct serve_models *serve_models_open(const char *state_dir, FILE *log,
				       struct err *err)
{
	struct serve_models *m = xcalloc(1, sizeof(*m));
	char *db = fs_join(state_dir, "dagrun.db"), pid[32];
	struct serve_reload r;
	struct err load_err;
	int exists = fs_exists(db);

	free(db);
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->snap_lock, NULL);
	m->log = log;
	if (!exists) {
		err_set(err, ERR_USER, "no state in '%s' (expected dagrun.db there: run "
			"a pipeline that registers a model first, or pass --state)",
			state_dir);
		goto fail;
	}
	if (state_open(state_dir, &m->st, err) < 0)
		goto fail;
	if (store_open(&m->store, state_dir, err) < 0)
		goto fail;
	snprintf(pid, sizeof(pid), "tmp/%ld-serve", (long)getpid());
	m->tmp = fs_join(state_dir, pid);
	if (sqlite3_prepare_v2(state_db(m->st), "PRAGMA data_version", -1,
			       &m->data_version, NULL) != SQLITE_OK) {
		err_set(err, ERR_IO, "cannot watch the registry: %s",
			sqlite3_errmsg(state_db(m->st)));
		goto fail;
	}
	due(m);
	err_init(&load_err);
	memset(&r, 0, sizeof(r));
	if (reload_locked(m, &r, &load_err) < 0 && !r.read) {
		*err = load_err;
		goto fail;
	}
	if (!m->cur) {   /* an empty registry: an empty snapshot */
		m->cur = xcalloc(1, sizeof(*m->cur));
		atomic_init(&m->cur->refs, 1);
		m->cur->models_json = xstrdup("{\"models\":[]}");
	}
	return m;
fail:
	serve_models_close(m);
	return NULL;
}

void serve_models_close(struct serve_models *m)
{
	struct err ignored;

	if (!m)
		return;
	serve_snapshot_release(m->cur);
	sqlite3_finalize(m->data_version);
	if (m->tmp)
		fs_remove_tree(m->tmp, &ignored);
	free(m->tmp);
	store_close(&m->store);
	state_close(m->st);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->snap_lock);
	free(m);
}
