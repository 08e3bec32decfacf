/* registry: model versions, aliases and promotions (see registry.h). */
#include "registry.h"
#include "events.h"
#include "inspect.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small SQL helpers --------------------------------------------- */

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;

	sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	return s;
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static int done(sqlite3 *db, sqlite3_stmt *s, struct err *err, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	err_set(err, ERR_IO, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* The int64 of a one-value query with one text parameter pair, or 'dflt'. */
static int64_t query_int(sqlite3 *db, const char *sql, const char *a,
			 const char *b, int64_t dflt)
{
	sqlite3_stmt *s = prep(db, sql);
	int64_t v = dflt;

	bind_str(s, 1, a);
	bind_str(s, 2, b);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int64_t alias_holder(sqlite3 *db, const char *model, const char *alias)
{
	return query_int(db, "SELECT version FROM aliases WHERE model = ?1 AND "
			 "alias = ?2", model, alias, 0);
}

static double version_score(sqlite3 *db, const char *model, int64_t v)
{
	sqlite3_stmt *s = prep(db, "SELECT score FROM model_versions WHERE "
			       "model = ?1 AND version = ?2");
	double score = NAN;

	bind_str(s, 1, model);
	sqlite3_bind_int64(s, 2, v);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		score = sqlite3_column_double(s, 0);
	sqlite3_finalize(s);
	return score;
}

/* ---- moves ----------------------------------------------------------- */

/* Point 'alias' of 'model' at 'version' and write the history row and the
 * event.  'decision': promote, keep_baseline, challenger, shadow, manual,
 * rollback. */
static int move_alias(sqlite3 *db, int64_t run_id, const char *node,
		      const char *model, const char *alias, int64_t version,
		      const char *decision, const char *reason, struct strbuf *out,
		      struct err *err)
{
	int64_t previous = alias_holder(db, model, alias);
	double now = state_now();
	sqlite3_stmt *s;

	s = prep(db, "INSERT OR REPLACE INTO aliases(model, alias, version, updated)"
		 " VALUES (?1, ?2, ?3, ?4)");
	bind_str(s, 1, model);
	bind_str(s, 2, alias);
	sqlite3_bind_int64(s, 3, version);
	sqlite3_bind_double(s, 4, now);
	if (done(db, s, err, "cannot move an alias") < 0)
		return -1;
	s = prep(db, "INSERT INTO promotions(model, alias, version, previous, run_id,"
		 " reason, created, decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	bind_str(s, 1, model);
	bind_str(s, 2, alias);
	sqlite3_bind_int64(s, 3, version);
	if (previous > 0)
		sqlite3_bind_int64(s, 4, previous);
	if (run_id > 0)
		sqlite3_bind_int64(s, 5, run_id);
	bind_str(s, 6, reason);
	sqlite3_bind_double(s, 7, now);
	bind_str(s, 8, decision);
	if (done(db, s, err, "cannot record a promotion") < 0)
		return -1;
	if (out) {
		if (previous > 0)
			sb_addf(out, "%s@%s: v%lld (was v%lld, %s)\n", model, alias,
				    (long long)version, (long long)previous, decision);
		else
			sb_addf(out, "%s@%s: v%lld (%s)\n", model, alias,
				    (long long)version, decision);
	}
	return events_emit(db, run_id, node, "model_promoted", json_pack(
		"{s:s, s:s, s:I, s:o, s:s, s:s?}", "model", model, "alias", alias,
		"version", (json_int_t)version, "previous", previous > 0 ?
		json_integer(previous) : json_null(), "decision", decision,
		"reason", reason), err);
}

/* A scoreboard row of 'promotion' for node 'node', or NULL. */
static json_t *board_row(const json_t *promotion, const char *node)
{
	json_t *rows = json_object_get(promotion, "scoreboard"), *r;
	size_t i;

	json_array_foreach(rows, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "node")) ?
			    json_string_value(json_object_get(r, "node")) : "", node))
			return r;
	return NULL;
}

/* Register node 'node' of 'promotion' as the next version of its model. */
static int add_version(sqlite3 *db, int64_t run_id, const json_t *promotion,
		       const char *node, int64_t *version, struct err *err)
{
	const char *model = json_string_value(json_object_get(promotion, "model"));
	json_t *cand = json_object_get(json_object_get(promotion, "candidates"), node);
	json_t *row = board_row(promotion, node), *record;
	const char *outputs = json_string_value(json_object_get(cand, "outputs"));
	char *metrics, *rec;
	sqlite3_stmt *s;
	double score;

	if (!outputs || !row) {
		err_set(err, ERR_INTERNAL, "eval.promote names '%s', which is not among "
			"its scored needs", node);
		return -1;
	}
	score = json_number_value(json_object_get(row, "score"));
	s = prep(db, "INSERT OR IGNORE INTO models(name, created) VALUES (?1, ?2)");
	bind_str(s, 1, model);
	sqlite3_bind_double(s, 2, state_now());
	if (done(db, s, err, "cannot register a model") < 0)
		return -1;
	*version = query_int(db, "SELECT max(version) FROM model_versions WHERE "
			     "model = ?1", model, NULL, 0) + 1;
	/* the reference system's promotion record, with the lineage */
	record = json_pack("{s:s, s:O, s:I, s:O, s:s, s:O, s:O, s:O, s:f, s:f, "
			   "s:O, s:s, s:I, s:O, s:O}",
		"identifier", node,
		"config_hash", json_object_get(promotion, "config_hash") ?
			json_object_get(promotion, "config_hash") : json_null(),
		"run_id", (json_int_t)run_id,
		"model_type", json_object_get(row, "model_type"),
		"model_uri", outputs,
		"rmse", json_object_get(json_object_get(row, "metrics"), "rmse") ?
			json_object_get(json_object_get(row, "metrics"), "rmse") : json_null(),
		"mae", json_object_get(json_object_get(row, "metrics"), "mae") ?
			json_object_get(json_object_get(row, "metrics"), "mae") : json_null(),
		"mse", json_object_get(json_object_get(row, "metrics"), "mse") ?
			json_object_get(json_object_get(row, "metrics"), "mse") : json_null(),
		"score", score, "timestamp", state_now(),
		"weights", json_object_get(promotion, "weights"),
		"evaluated_by", json_string_value(json_object_get(promotion, "node")) ?
			json_string_value(json_object_get(promotion, "node")) : "",
		"version", (json_int_t)*version,
		"decision", json_object_get(promotion, "decision"),
		"reason", json_object_get(promotion, "reason"));
	metrics = json_dumps(json_object_get(row, "metrics"), JSON_COMPACT | JSON_SORT_KEYS);
	rec = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	json_decref(record);
	s = prep(db, "INSERT INTO model_versions(model, version, run_id, node, "
		 "outputs, metrics, created, key, model_type, score, record) VALUES "
		 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	bind_str(s, 1, model);
	sqlite3_bind_int64(s, 2, *version);
	sqlite3_bind_int64(s, 3, run_id);
	bind_str(s, 4, node);
	bind_str(s, 5, outputs);
	bind_str(s, 6, metrics);
	sqlite3_bind_double(s, 7, state_now());
	bind_str(s, 8, json_string_value(json_object_get(cand, "key")));
	bind_str(s, 9, json_string_value(json_object_get(row, "model_type")));
	sqlite3_bind_double(s, 10, score);
	bind_str(s, 11, rec);
	free(metrics);
	free(rec);
	return done(db, s, err, "cannot register a model version");
}

/* Metric 'name' of version 'v' (its metrics JSON), or NAN. */
static double version_metric(sqlite3 *db, const char *model, int64_t v,
			     const char *name)
{
	sqlite3_stmt *s = prep(db, "SELECT metrics FROM model_versions WHERE "
			       "model = ?1 AND version = ?2");
	double x = NAN;

	bind_str(s, 1, model);
	sqlite3_bind_int64(s, 2, v);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
		json_t *m = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
		json_t *j = json_object_get(m, name ? name : "");
		if (json_is_number(j))
			x = json_number_value(j);
		json_decref(m);
	}
	sqlite3_finalize(s);
	return x;
}

/* The one-sided p-value that a rate of w1/n1 beats w2/n2 by chance alone:
 * the two-proportion z-test with the pooled rate; 'z' gets the statistic.
 * Equal rates, or a pooled rate of 0 or 1, give z = 0 and p = 0.5. */
static double ztest_p(double w1, double n1, double w2, double n2, double *z)
{
	double pool = (w1 + w2) / (n1 + n2);
	double se = sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2));

	*z = se > 0 ? (w1 / n1 - w2 / n2) / se : 0;
	return 0.5 * erfc(*z / sqrt(2.0));
}

/* Why version 'v' does not take 'target' from 'holder' under the
 * promotion's rule (written to 'why'), or 0 when it does. */
static int declined(sqlite3 *db, const json_t *promotion, const char *model,
		    const char *target, int64_t v, int64_t holder, char *why,
		    size_t size)
{
	const char *rule = json_string_value(json_object_get(promotion, "rule"));
	double min_imp = json_number_value(json_object_get(promotion, "min_improvement"));
	double score = version_score(db, model, v), held;

	if (holder <= 0)
		return 0;
	if (rule && !strcmp(rule, "ztest")) {
		const char *sn = json_string_value(json_object_get(promotion, "successes"));
		const char *tn = json_string_value(json_object_get(promotion, "trials"));
		double alpha = json_number_value(json_object_get(promotion, "alpha"));
		double w1 = version_metric(db, model, v, sn), n1 = version_metric(db, model, v, tn);
		double w2 = version_metric(db, model, holder, sn);
		double n2 = version_metric(db, model, holder, tn), z, pv;
		if (!(n2 >= 1) || !(w2 >= 0) || !(n1 >= 1)) {
			snprintf(why, size, "v%lld has no recorded %s and %s to test "
				 "against; %s@%s moves on the rates alone",
				 (long long)holder, sn ? sn : "?", tn ? tn : "?", model, target);
			return 0;
		}
		pv = ztest_p(w1, n1, w2, n2, &z);
		if (pv < alpha)
			return 0;
		snprintf(why, size, "v%lld (%.0f/%.0f = %.4g) does not beat v%lld "
			 "(%.0f/%.0f = %.4g) by the two-proportion z-test (z = %.3f, "
			 "one-sided p = %.4g, alpha %.3g); %s@%s stays v%lld",
			 (long long)v, w1, n1, w1 / n1, (long long)holder, w2, n2,
			 w2 / n2, z, pv, alpha, model, target, (long long)holder);
		return 1;
	}
	held = version_score(db, model, holder);
	if (!(min_imp > 0) || !isfinite(held) || score <= held * (1 - min_imp))
		return 0;
	snprintf(why, size, "v%lld (score %.6g) does not improve on v%lld (score "
		 "%.6g) by min_improvement %.3g; %s@%s stays v%lld", (long long)v,
		 score, (long long)holder, held, min_imp, model, target,
		 (long long)holder);
	return 1;
}

/* The i-th alias of 'challenger' (a name or a list of names), or NULL. */
static const char *challenger_alias(const json_t *promotion, size_t i)
{
	json_t *ch = json_object_get(promotion, "challenger");

	if (json_is_string(ch))
		return i == 0 ? json_string_value(ch) : NULL;
	return json_string_value(json_array_get(ch, i));
}

/* The i-th runner-up node ("runners_up", or the older "runner_up"). */
static const char *runner_node(const json_t *promotion, size_t i)
{
	json_t *rs = json_object_get(promotion, "runners_up");

	if (json_is_array(rs))
		return json_string_value(json_array_get(rs, i));
	return i == 0 ? json_string_value(json_object_get(promotion, "runner_up")) : NULL;
}

int registry_record(sqlite3 *db, int64_t run_id, const json_t *promotion,
		    char **report, struct err *err)
{
	const char *model = json_string_value(json_object_get(promotion, "model"));
	const char *alias = json_string_value(json_object_get(promotion, "alias"));
	const char *winner = json_string_value(json_object_get(promotion, "winner"));
	const char *decision = json_string_value(json_object_get(promotion, "decision"));
	const char *reason = json_string_value(json_object_get(promotion, "reason"));
	const char *node = json_string_value(json_object_get(promotion, "node"));
	int shadow = json_is_true(json_object_get(promotion, "shadow"));
	const char *target, *chal, *runner;
	struct strbuf out;
	int64_t v, holder, v2;
	char why[768];
	size_t a = 0, r = 0;

	if (!model || !*model || !alias || !*alias || !winner || !decision) {
		err_set(err, ERR_INTERNAL, "promotion.json of '%s' lacks model, alias, "
			"winner or decision", node ? node : "?");
		return -1;
	}
	sb_init(&out);
	if (add_version(db, run_id, promotion, winner, &v, err) < 0)
		goto fail;
	target = shadow ? "shadow" : alias;
	holder = alias_holder(db, model, target);
	why[0] = 0;
	if (declined(db, promotion, model, target, v, holder, why, sizeof(why))) {
		sb_addf(&out, "%s@%s: kept v%lld; v%lld declined: %s\n", model,
			    target, (long long)holder, (long long)v, why);
		if (events_emit(db, run_id, node, "promotion_declined", json_pack(
			"{s:s, s:s, s:I, s:I, s:s}", "model", model, "alias", target,
			"version", (json_int_t)v, "holder", (json_int_t)holder,
			"reason", why), err) < 0)
			goto fail;
		/* the declined winner takes the first challenger alias */
		if ((chal = challenger_alias(promotion, a++)) &&
		    move_alias(db, run_id, node, model, chal, v, "challenger", why,
			       &out, err) < 0)
			goto fail;
	} else {
		if (why[0])
			sb_addf(&out, "%s@%s: %s\n", model, target, why);
		if (move_alias(db, run_id, node, model, target, v,
			       shadow ? "shadow" : decision, reason, &out, err) < 0)
			goto fail;
	}
	/* the runners-up take the remaining challenger aliases, in rank order */
	while (!shadow && (chal = challenger_alias(promotion, a)) &&
	       (runner = runner_node(promotion, r))) {
		char what[64];
		snprintf(what, sizeof(what), "number %zu of the evaluation", r + 2);
		if (add_version(db, run_id, promotion, runner, &v2, err) < 0 ||
		    move_alias(db, run_id, node, model, chal, v2, "challenger",
			       r == 0 ? "the runner-up of the evaluation" : what,
			       &out, err) < 0)
			goto fail;
		a++;
		r++;
	}
	if (report)
		*report = sb_detach(&out);
	else
		sb_release(&out);
	return 0;
fail:
	sb_release(&out);
	return -1;
}

/* ---- lookups ----------------------------------------------------------- */

static int parse_version(const char *s, int64_t *v)
{
	char *end;
	long long n;

	if (*s == 'v')
		s++;
	if (!*s)
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end || n <= 0)
		return -1;
	*v = n;
	return 0;
}

int registry_resolve(sqlite3 *db, const char *ref, char **model,
		     int64_t *version, struct hash *outputs, struct err *err)
{
	const char *at = strchr(ref, '@');
	char *name = at ? xstrndup(ref, (size_t)(at - ref)) : xstrdup(ref);
	const char *alias = at ? at + 1 : "production";
	sqlite3_stmt *s;
	int64_t v = 0;
	int rc = -1;

	if (!query_int(db, "SELECT count(*) FROM models WHERE name = ?1", name, NULL, 0)) {
		err_set(err, ERR_USER, "no model '%s' in the registry (see dagrun "
			"models)", name);
		goto out;
	}
	if (parse_version(alias, &v) < 0) {
		v = alias_holder(db, name, alias);
		if (v <= 0) {
			err_set(err, ERR_USER, "model '%s' has no alias '%s' (see dagrun "
				"models %s)", name, alias, name);
			goto out;
		}
	}
	s = prep(db, "SELECT outputs FROM model_versions WHERE model = ?1 AND "
		 "version = ?2");
	bind_str(s, 1, name);
	sqlite3_bind_int64(s, 2, v);
	if (sqlite3_step(s) != SQLITE_ROW ||
	    hash_from_hex((const char *)sqlite3_column_text(s, 0), outputs) < 0)
		err_set(err, ERR_USER, "model '%s' has no version %lld", name,
			(long long)v);
	else
		rc = 0;
	sqlite3_finalize(s);
out:
	if (rc == 0) {
		*model = name;
		*version = v;
	} else {
		free(name);
	}
	return rc;
}

/* ---- the command line ------------------------------------------------- */

/* A model_versions row, its JSON text columns parsed. */
static json_t *version_json(sqlite3_stmt *s)
{
	json_t *o = inspect_row_json(s);
	static const char *const cols[] = {"metrics", "record"};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *t = json_string_value(json_object_get(o, cols[i]));
		json_t *j = t ? json_loads(t, 0, NULL) : NULL;
		if (j)
			json_object_set_new(o, cols[i], j);
	}
	return o;
}

int registry_cmd_models(sqlite3 *db, const char *name, int json, struct err *err)
{
	sqlite3_stmt *s;
	json_t *all = json_array();
	int n = 0;

	if (name && !query_int(db, "SELECT count(*) FROM models WHERE name = ?1",
			       name, NULL, 0)) {
		json_decref(all);
		err_set(err, ERR_USER, "no model '%s' in the registry", name);
		return ERR_USER;
	}
	s = prep(db, "SELECT v.model, v.version, v.model_type, v.node, v.run_id, "
		 "v.score, v.created, v.outputs, v.key, v.metrics, v.record, "
		 "(SELECT group_concat(alias, ',') FROM (SELECT alias FROM aliases a "
		 "WHERE a.model = v.model AND a.version = v.version ORDER BY alias))"
		 " AS aliases FROM model_versions v WHERE ?1 IS NULL OR v.model = ?1 "
		 "ORDER BY v.model, v.version");
	bind_str(s, 1, name);
	if (!json)
		printf("%-16s %5s  %-14s %-26s %5s %12s  %-19s  %s\n", "MODEL", "VER",
		       "TYPE", "NODE", "RUN", "SCORE", "CREATED", "ALIASES");
	while (sqlite3_step(s) == SQLITE_ROW) {
		n++;
		if (json) {
			json_array_append_new(all, version_json(s));
			continue;
		}
		{
			char when[32];
			const char *al = (const char *)sqlite3_column_text(s, 11);
			inspect_time(sqlite3_column_double(s, 6), when, sizeof(when));
			printf("%-16s %5lld  %-14s %-26s %5lld %12.6g  %-19s  %s\n",
			       sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			       sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "-",
			       sqlite3_column_text(s, 3), sqlite3_column_int64(s, 4),
			       sqlite3_column_double(s, 5), when, al ? al : "");
		}
	}
	sqlite3_finalize(s);
	if (json)
		inspect_print_json(all);
	else {
		json_decref(all);
		if (n == 0)
			printf("(no model versions yet: an eval.promote node registers them)\n");
	}
	return 0;
}

static int begin(sqlite3 *db, struct err *err)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		err_set(err, ERR_IO, "cannot start a transaction: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int finish(sqlite3 *db, int rc, struct err *err)
{
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		err_set(err, ERR_IO, "cannot commit: %s", sqlite3_errmsg(db));
		rc = -1;
	}
	if (rc < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int print_move(const char *model, const char *alias, int64_t version,
		      int64_t previous, int json)
{
	if (json)
		inspect_print_json(json_pack("{s:s, s:s, s:I, s:o}", "model", model, "alias",
				     alias, "version", (json_int_t)version, "previous",
				     previous > 0 ? json_integer(previous) : json_null()));
	else if (previous > 0)
		printf("%s@%s: v%lld (was v%lld)\n", model, alias, (long long)version,
		       (long long)previous);
	else
		printf("%s@%s: v%lld\n", model, alias, (long long)version);
	return 0;
}

static int valid_alias(const char *alias, struct err *err)
{
	int64_t v;
	const char *p;

	if (!*alias || parse_version(alias, &v) == 0) {
		err_set(err, ERR_USER, "'%s' is not a valid alias: a name such as "
			"production, not a version number", alias);
		return 0;
	}
	for (p = alias; *p; p++)
		if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
			err_set(err, ERR_USER, "'%s' is not a valid alias: letters, "
				"digits, '_', '-' and '.' only", alias);
			return 0;
		}
	return 1;
}

int registry_cmd_promote(sqlite3 *db, const char *name, const char *version,
			 const char *alias, int json, struct err *err)
{
	int64_t v, previous;
	char reason[64];
	int rc;

	if (!valid_alias(alias, err))
		return ERR_USER;
	if (parse_version(version, &v) < 0) {
		err_set(err, ERR_USER, "'%s' is not a version: expected a number such "
			"as 3 or v3", version);
		return ERR_USER;
	}
	if (begin(db, err) < 0)
		return ERR_IO;
	if (!query_int(db, "SELECT count(*) FROM models WHERE name = ?1", name, NULL, 0)) {
		finish(db, -1, err);
		err_set(err, ERR_USER, "no model '%s' in the registry", name);
		return ERR_USER;
	}
	{
		sqlite3_stmt *s = prep(db, "SELECT 1 FROM model_versions WHERE "
				       "model = ?1 AND version = ?2");
		int found;
		bind_str(s, 1, name);
		sqlite3_bind_int64(s, 2, v);
		found = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
		if (!found) {
			finish(db, -1, err);
			err_set(err, ERR_USER, "model '%s' has no version %lld", name,
				(long long)v);
			return ERR_USER;
		}
	}
	previous = alias_holder(db, name, alias);
	snprintf(reason, sizeof(reason), "by hand (dagrun promote)");
	rc = move_alias(db, 0, NULL, name, alias, v, "manual", reason, NULL, err);
	if (finish(db, rc, err) < 0)
		return err->kind ? err->kind : ERR_IO;
	return print_move(name, alias, v, previous, json);
}

int registry_cmd_rollback(sqlite3 *db, const char *name, const char *alias,
			  int json, struct err *err)
{
	int64_t current, previous;
	sqlite3_stmt *s;
	char reason[128];
	int rc;

	if (begin(db, err) < 0)
		return ERR_IO;
	current = alias_holder(db, name, alias);
	if (current <= 0) {
		finish(db, -1, err);
		err_set(err, ERR_USER, "model '%s' has no alias '%s' to roll back",
			name, alias);
		return ERR_USER;
	}
	/* the promotion that installed the current holder, a rollback aside:
	 * its 'previous' is where the alias goes back to */
	s = prep(db, "SELECT previous FROM promotions WHERE model = ?1 AND alias = ?2"
		 " AND version = ?3 AND decision <> 'rollback' ORDER BY id DESC LIMIT 1");
	bind_str(s, 1, name);
	bind_str(s, 2, alias);
	sqlite3_bind_int64(s, 3, current);
	previous = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) !=
		SQLITE_NULL ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (previous <= 0) {
		finish(db, -1, err);
		err_set(err, ERR_USER, "%s@%s (v%lld) has no previous holder to roll "
			"back to", name, alias, (long long)current);
		return ERR_USER;
	}
	snprintf(reason, sizeof(reason), "rolled back from v%lld", (long long)current);
	rc = move_alias(db, 0, NULL, name, alias, previous, "rollback", reason, NULL, err);
	if (finish(db, rc, err) < 0)
		return ERR_IO;
	return print_move(name, alias, previous, current, json);
}
