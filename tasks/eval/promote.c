/* eval.promote: score every trained model it needs, check the winner
 * against the naive baselines, and name the model to register.
 *
 * Input: any number of needed nodes, each holding a metrics.json with the
 * scored test metrics (rmse, mae, mse, ...): train.* nodes are
 * candidates; baseline.* nodes (model.json {"type": "baseline"}) are the
 * bars a candidate must clear ('must_beat': every baseline node of each
 * named method).  Two rules score them:
 *   - rule 'score': score = sum of weight * metric over 'weights';
 *   - rule 'ztest': recorded outcomes, metrics 'successes' out of
 *     'trials' (wins out of rounds played); score = 1 - success rate.  The
 *     registry then moves the alias only when the winner's rate beats the
 *     holder's by a one-sided two-proportion z-test at 'alpha': a tie, or
 *     a difference that chance explains, keeps the incumbent.
 * Lower wins.  A tie between candidates goes to the one listed later in
 * 'needs', the newest addition.
 *
 * The decision: the best candidate that beats every baseline named in
 * 'must_beat' wins.  When none does, the pipeline says so plainly (a
 * warning in the log and an event) and the best baseline is kept as the
 * production forecaster: a model worse than "next hour = this hour" is
 * worse than no model.
 *
 * Output: promotion.json (the decision, the scoreboard, the rules the
 * registry applies: model name, alias, rule, min_improvement, challenger
 * and shadow aliases), scoreboard.csv, and model/, a copy of the winner's
 * files, so infer.batch can use the winner without the registry.  The
 * kernel never touches the registry: when an eval.promote node has run
 * (not when it is cached), the engine registers the winner as a new model
 * version and moves the aliases (engine/registry.h), in the transaction
 * that records the node.  Every output is a function of the inputs and
 * params; the run id and the time go into the registry only. */
#include "fs.h"
#include "kernel.h"
#include "safetensors.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct param_spec params[] = {
	{"weights", PT_MAP, "{\"rmse\": 0.5, \"mae\": 0.3, \"mse\": 0.2}", 0, 0, NULL,
	 "metric name -> weight; score = sum of weight * test metric, lower wins"},
	{"model", PT_STR, "\"forecaster\"", 0, 0, NULL,
	 "the registry's model name the winner is registered under"},
	{"alias", PT_STR, "\"production\"", 0, 0, NULL,
	 "the alias the winner takes"},
	{"must_beat", PT_LIST, "[\"persistence\", \"seasonal_naive\"]", 0, 0, NULL,
	 "baseline methods (baseline.* nodes among the needs) a candidate must "
	 "beat on the score to be promoted; [] turns the check off"},
	{"min_improvement", PT_NUM, "0", 0, 1, NULL,
	 "the relative score improvement over the alias's current holder "
	 "needed to take the alias (0.05: 5% lower); else the holder keeps it"},
	{"challenger", PT_ANY, "\"challenger\"", 0, 0, NULL,
	 "the alias the runner-up takes (or the winner, when it does not clear "
	 "min_improvement or the z-test); a list of aliases ([B, shadow1, "
	 "shadow2]) goes to the runners-up in rank order; null: none"},
	{"rule", PT_ENUM, "\"score\"", 0, 0, "score|ztest",
	 "score: the weighted metrics; ztest: success rates (see successes, "
	 "trials, alpha), the winner taking the alias only when a one-sided "
	 "two-proportion z-test says it beats the holder"},
	{"successes", PT_STR, "\"wins\"", 0, 0, NULL,
	 "rule ztest: the metric counting successes (e.g. rps.play's wins)"},
	{"trials", PT_STR, "\"rounds\"", 0, 0, NULL,
	 "rule ztest: the metric counting trials (e.g. rps.play's rounds)"},
	{"alpha", PT_NUM, "0.05", 1e-9, 0.5, NULL,
	 "rule ztest: the significance level of the z-test"},
	{"shadow", PT_BOOL, "false", 0, 0, NULL,
	 "register the winner under the alias 'shadow' only, leaving 'alias' "
	 "with its holder: it serves beside production without taking over"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

struct entry {
	const char *node;        /* borrowed from the context */
	const char *dir;
	char *type;              /* gru, lstm, prophet, holt_winters, baseline */
	char *method;            /* the baseline's method, or NULL */
	char *config_hash;       /* the preprocessing's, when the model has it */
	json_t *metrics;
	double score;
	int order;               /* position in needs */
	int beats;               /* beats every must_beat baseline */
};

static json_t *load_json(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	json_t *j = fs_exists(path) ? json_load_file(path, 0, NULL) : NULL;

	free(path);
	return j;
}

/* "config_hash" of a JSON text (the preprocessing meta), or NULL. */
static char *meta_config_hash(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	const char *h = json_string_value(json_object_get(j, "config_hash"));
	char *out = h ? xstrdup(h) : NULL;

	json_decref(j);
	return out;
}

/* What kind of model the folder 'dir' holds: 1 when it holds one (e->type
 * set), 0 when it holds none, KERNEL_EUSER for a broken one. */
static int identify_dir(struct kctx *ctx, struct entry *e, const char *dir)
{
	json_t *meta = load_json(dir, "model_meta.json");
	json_t *model = meta ? NULL : load_json(dir, "model.json");
	char *st_path = xasprintf("%s/model.safetensors", dir);
	int rc = 1;

	if (json_is_object(meta)) {
		/* train.xgboost: model.json is XGBoost's own, the meta says */
		const char *f = json_string_value(json_object_get(meta, "format"));
		e->type = xstrdup(f && !strncmp(f, "dagrun-xgboost", 14) ? "xgboost" : "model");
	} else if (model) {
		const char *t = json_string_value(json_object_get(model, "type"));
		const char *m = json_string_value(json_object_get(model, "method"));
		const char *h = json_string_value(json_object_get(
			json_object_get(model, "meta"), "config_hash"));
		e->type = xstrdup(t ? t : "prophet");
		e->config_hash = h ? xstrdup(h) : NULL;
		if (t && !strcmp(t, "baseline"))
			e->method = m ? xstrdup(m) : NULL;
		if (t && !strcmp(t, "baseline") && !m)
			rc = kctx_fail(ctx, KERNEL_EUSER, "%s/model.json: a baseline "
				       "without a \"method\"", e->node);
	} else if (fs_exists(st_path)) {
		struct err err;
		struct safetensors *st;
		const char *cell, *kind;
		err_init(&err);
		st = safetensors_read(st_path, &err);
		if (!st)
			rc = kctx_fail(ctx, KERNEL_EUSER, "%s", err.msg);
		cell = st ? safetensors_meta(st, "cell") : NULL;
		kind = st ? safetensors_meta(st, "kind") : NULL;
		e->type = xstrdup(cell ? cell : kind ? kind : "model");
		e->config_hash = meta_config_hash(st ? safetensors_meta(st, "meta") : NULL);
		safetensors_free(st);
	} else {
		rc = 0;
	}
	json_decref(meta);
	json_decref(model);
	free(st_path);
	return rc;
}

/* What kind of model a node's outputs hold: at the top, or in model/ (a
 * node that used a model and recorded how it did, such as rps.play). */
static int identify(struct kctx *ctx, struct entry *e)
{
	char *sub = xasprintf("%s/model", e->dir);
	int rc = identify_dir(ctx, e, e->dir);

	if (rc == 0)
		rc = identify_dir(ctx, e, sub);
	if (rc == 0)
		e->type = xstrdup("model");
	free(sub);
	return rc == KERNEL_EUSER ? rc : 0;
}

/* Rule ztest: the count 'param' names in the metrics of 'e', a whole
 * number >= 0, into 'out'. */
static int count_metric(struct kctx *ctx, const struct entry *e, const char *param,
			double *out)
{
	const char *name = kctx_str(ctx, param);
	json_t *v = json_object_get(e->metrics, name);

	*out = json_number_value(v);
	if (!json_is_number(v) || !isfinite(*out) || *out < 0 || *out != floor(*out))
		return kctx_fail(ctx, KERNEL_EUSER, "%s/metrics.json has no '%s' "
				 "(%s): rule ztest expected a whole count >= 0",
				 e->node, name, param);
	return 0;
}

static int score_entry(struct kctx *ctx, struct entry *e, json_t *weights)
{
	const char *name;
	json_t *w;

	e->metrics = load_json(e->dir, "metrics.json");
	if (!json_is_object(e->metrics))
		return kctx_fail(ctx, KERNEL_EUSER, "needed node '%s' has no "
				 "metrics.json with its test metrics: eval.promote "
				 "needs trained models and baselines", e->node);
	if (!strcmp(kctx_str(ctx, "rule"), "ztest")) {
		double wins, trials;
		if (count_metric(ctx, e, "successes", &wins) ||
		    count_metric(ctx, e, "trials", &trials))
			return KERNEL_EUSER;
		if (trials < 1 || wins > trials)
			return kctx_fail(ctx, KERNEL_EUSER, "%s/metrics.json: %s = %.0f "
					 "of %s = %.0f: rule ztest expected at least one "
					 "trial and no more successes than trials", e->node,
					 kctx_str(ctx, "successes"), wins,
					 kctx_str(ctx, "trials"), trials);
		e->score = 1 - wins / trials;
		return 0;
	}
	e->score = 0;
	json_object_foreach(weights, name, w) {
		json_t *v = json_object_get(e->metrics, name);
		if (!json_is_number(w))
			return kctx_fail(ctx, KERNEL_EUSER, "weights.%s: expected a "
					 "number", name);
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			return kctx_fail(ctx, KERNEL_EUSER, "%s/metrics.json has no "
					 "finite '%s' to score", e->node, name);
		e->score += json_number_value(w) * json_number_value(v);
	}
	return 0;
}

/* Lower score first; a tie goes to the later need (the newest). */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return y->order - x->order;
}

static json_t *board_row(const struct entry *e, int rank)
{
	json_t *row = json_pack("{s:s, s:s, s:b, s:f, s:i, s:O}", "node", e->node,
				"model_type", e->type, "baseline", e->method != NULL,
				"score", e->score, "rank", rank, "metrics", e->metrics);

	if (e->method)
		json_object_set_new(row, "method", json_string(e->method));
	else
		json_object_set_new(row, "beats_baselines", json_boolean(e->beats));
	return row;
}

static int write_outputs(struct kctx *ctx, struct entry **board, int n,
			 const struct entry *win, const struct entry *runner_up,
			 const char *decision, const char *reason)
{
	json_t *p = kctx_params(ctx), *rows = json_array(), *doc;
	char *path = xasprintf("%s/promotion.json", kctx_out_dir(ctx));
	char *csv = xasprintf("%s/scoreboard.csv", kctx_out_dir(ctx));
	char *model = xasprintf("%s/model", kctx_out_dir(ctx));
	struct err err;
	FILE *f;
	int i, rc = KERNEL_OK, ztest = !strcmp(kctx_str(ctx, "rule"), "ztest");

	for (i = 0; i < n; i++)
		json_array_append_new(rows, board_row(board[i], i + 1));
	doc = json_pack("{s:O, s:O, s:s, s:s?, s:s, s:s, s:s, s:f, s:O, s:o}",
			"model", json_object_get(p, "model"),
			"alias", json_object_get(p, "alias"),
			"winner", win->node, "runner_up", runner_up ? runner_up->node : NULL,
			"model_type", win->type, "decision", decision, "reason", reason,
			"score", win->score, "weights", json_object_get(p, "weights"),
			"scoreboard", rows);
	json_object_set(doc, "must_beat", json_object_get(p, "must_beat"));
	json_object_set(doc, "min_improvement", json_object_get(p, "min_improvement"));
	json_object_set(doc, "challenger", json_object_get(p, "challenger"));
	json_object_set(doc, "rule", json_object_get(p, "rule"));
	if (ztest) {
		json_object_set(doc, "successes", json_object_get(p, "successes"));
		json_object_set(doc, "trials", json_object_get(p, "trials"));
		json_object_set(doc, "alpha", json_object_get(p, "alpha"));
	}
	{
		json_t *runners = json_array();
		for (i = 0; i < n; i++)
			if (board[i] != win && !board[i]->method && board[i]->beats)
				json_array_append_new(runners, json_string(board[i]->node));
		json_object_set_new(doc, "runners_up", runners);
	}
	json_object_set(doc, "shadow", json_object_get(p, "shadow"));
	json_object_set_new(doc, "identifier", json_sprintf("%s/%s",
			    kctx_str(ctx, "model"), win->node));
	json_object_set_new(doc, "model_uri", json_string("model/"));
	json_object_set_new(doc, "is_baseline", json_boolean(win->method != NULL));
	for (i = 0; i < 3; i++) {
		static const char *const m[] = {"rmse", "mae", "mse"};
		json_t *v = json_object_get(win->metrics, m[i]);
		json_object_set(doc, m[i], v ? v : json_null());
	}
	json_object_set_new(doc, "config_hash", win->config_hash ?
			    json_string(win->config_hash) : json_null());
	if (json_dump_file(doc, path, JSON_INDENT(2) | JSON_SORT_KEYS |
			   JSON_REAL_PRECISION(17)) < 0)
		rc = kctx_fail(ctx, KERNEL_EFAIL, "cannot write %s", path);
	json_decref(doc);
	f = rc == KERNEL_OK ? fopen(csv, "w") : NULL;
	if (rc == KERNEL_OK && !f)
		rc = kctx_fail(ctx, KERNEL_EFAIL, "cannot write %s", csv);
	if (f) {
		const char *m[3] = {"rmse", "mae", "mse"};
		if (ztest) {
			m[0] = kctx_str(ctx, "successes");
			m[1] = kctx_str(ctx, "trials");
			m[2] = "win_rate";
		}
		fprintf(f, "rank,node,model_type,baseline,score,%s,%s,%s\n", m[0], m[1], m[2]);
		for (i = 0; i < n; i++) {
			const struct entry *e = board[i];
			fprintf(f, "%d,%s,%s,%d,%.9g,%.9g,%.9g,%.9g\n", i + 1, e->node,
				e->type, e->method != NULL, e->score,
				json_number_value(json_object_get(e->metrics, m[0])),
				json_number_value(json_object_get(e->metrics, m[1])),
				ztest ? 1 - e->score :
				json_number_value(json_object_get(e->metrics, m[2])));
		}
		if (fclose(f) != 0)
			rc = kctx_fail(ctx, KERNEL_EFAIL, "cannot write %s", csv);
	}
	err_init(&err);
	if (rc == KERNEL_OK && fs_copy_tree(win->dir, model, &err) < 0)
		rc = kctx_fail(ctx, KERNEL_EFAIL, "%s", err.msg);
	free(path);
	free(csv);
	free(model);
	return rc;
}

/* The baseline of method 'm' among the entries, or NULL. */
static struct entry *find_baseline(struct entry *es, int n, const char *m)
{
	int i;

	for (i = 0; i < n; i++)
		if (es[i].method && !strcmp(es[i].method, m))
			return &es[i];
	return NULL;
}

static int decide(struct kctx *ctx, struct entry *es, int n, struct entry **board)
{
	json_t *must = json_object_get(kctx_params(ctx), "must_beat"), *v;
	const struct entry *win = NULL, *runner_up = NULL, *best_base = NULL;
	char reason[512];
	const char *decision;
	size_t k;
	int i, n_cand = 0, rc;

	json_array_foreach(must, k, v) {
		if (!json_is_string(v))
			return kctx_fail(ctx, KERNEL_EUSER, "must_beat[%zu]: expected a "
					 "baseline method name", k);
		if (!find_baseline(es, n, json_string_value(v)))
			return kctx_fail(ctx, KERNEL_EUSER, "must_beat names '%s', but no "
					 "baseline.%s node is among the needs: add one, or "
					 "set must_beat: []", json_string_value(v),
					 json_string_value(v));
	}
	for (i = 0; i < n; i++) {
		struct entry *e = &es[i];
		if (e->method)
			continue;
		n_cand++;
		e->beats = 1;
		/* every baseline node of each named method: a sweep may hold
		 * one per window length */
		json_array_foreach(must, k, v) {
			int j;
			for (j = 0; j < n; j++)
				if (es[j].method && !strcmp(es[j].method, json_string_value(v)) &&
				    !(e->score < es[j].score))
					e->beats = 0;
		}
	}
	if (n_cand == 0)
		return kctx_fail(ctx, KERNEL_EUSER, "no trained model among the needs, "
				 "only baselines: eval.promote needs a candidate");
	for (i = 0; i < n; i++) {
		const struct entry *e = board[i];
		if (e->method && !best_base)
			best_base = e;
		if (e->method || !e->beats)
			continue;
		if (!win)
			win = e;
		else if (!runner_up)
			runner_up = e;
	}
	if (win) {
		decision = "promote";
		if (!strcmp(kctx_str(ctx, "rule"), "ztest"))
			snprintf(reason, sizeof(reason), "%s has the highest success "
				 "rate (%.6g)%s", win->node, 1 - win->score,
				 json_array_size(must) ?
				 " and beats every must_beat baseline" : "");
		else
			snprintf(reason, sizeof(reason), "%s has the lowest score (%.6g)%s",
				 win->node, win->score, json_array_size(must) ?
				 " and beats every must_beat baseline" : "");
	} else {
		const struct entry *best = NULL;
		for (i = 0; i < n && !best; i++)
			if (!board[i]->method)
				best = board[i];
		win = best_base;
		decision = "keep_baseline";
		snprintf(reason, sizeof(reason), "no candidate beats every must_beat "
			 "baseline: the best, %s (score %.6g), does not beat %s (%.6g); "
			 "the baseline %s stays the forecaster", best->node, best->score,
			 best_base->node, best_base->score, best_base->node);
		kctx_log(ctx, "warning: %s", reason);
		kctx_event(ctx, "promotion_refused", json_pack("{s:s, s:s, s:f}",
			   "reason", reason, "best", best->node, "score", best->score));
	}
	kctx_log(ctx, "%s: %s", decision, reason);
	rc = write_outputs(ctx, board, n, win, runner_up, decision, reason);
	return rc;
}

/* 'challenger': null, an alias name, or a list of distinct alias names,
 * none of them 'alias' itself. */
static int check_challenger(struct kctx *ctx)
{
	json_t *ch = json_object_get(kctx_params(ctx), "challenger"), *v, *w;
	const char *alias = kctx_str(ctx, "alias");
	size_t i, j;

	if (json_is_null(ch))
		return 0;
	if (json_is_string(ch) && json_string_length(ch) &&
	    strcmp(json_string_value(ch), alias))
		return 0;
	if (!json_is_array(ch) || json_array_size(ch) == 0) {
		kctx_fail(ctx, KERNEL_EUSER, "challenger: expected an alias name other "
			  "than '%s', a list of them, or null (no challenger)", alias);
		return -1;
	}
	json_array_foreach(ch, i, v) {
		if (!json_is_string(v) || !json_string_length(v) ||
		    !strcmp(json_string_value(v), alias)) {
			kctx_fail(ctx, KERNEL_EUSER, "challenger[%zu]: expected an alias "
				  "name other than '%s'", i, alias);
			return -1;
		}
		for (j = 0; j < i; j++)
			if ((w = json_array_get(ch, j)) && json_equal(v, w)) {
				kctx_fail(ctx, KERNEL_EUSER, "challenger[%zu]: '%s' is "
					  "listed twice", i, json_string_value(v));
				return -1;
			}
	}
	return 0;
}

static int run(struct kctx *ctx)
{
	int n = kctx_n_inputs(ctx), i, rc = KERNEL_OK;
	json_t *weights = json_object_get(kctx_params(ctx), "weights");
	struct entry *es;
	struct entry **board;

	if (n == 0)
		return kctx_fail(ctx, KERNEL_EUSER, "eval.promote needs the trained "
				 "models to compare (needs: [...])");
	if (check_challenger(ctx) < 0)
		return KERNEL_EUSER;
	if (strcmp(kctx_str(ctx, "rule"), "ztest") && json_object_size(weights) == 0)
		return kctx_fail(ctx, KERNEL_EUSER, "weights: expected at least one "
				 "metric, e.g. {rmse: 0.5, mae: 0.3, mse: 0.2}");
	es = xcalloc((size_t)n, sizeof(*es));
	board = xcalloc((size_t)n, sizeof(*board));
	for (i = 0; i < n && rc == KERNEL_OK; i++) {
		es[i].node = kctx_input_name(ctx, i);
		es[i].dir = kctx_input_dir(ctx, i);
		es[i].order = i;
		board[i] = &es[i];
		rc = identify(ctx, &es[i]);
		if (rc == KERNEL_OK)
			rc = score_entry(ctx, &es[i], weights);
	}
	if (rc == KERNEL_OK) {
		qsort(board, (size_t)n, sizeof(*board), cmp_entry);
		for (i = 0; i < n; i++) {
			char *name = xasprintf("score.%s", board[i]->node);
			kctx_metric(ctx, name, -1, board[i]->score);
			kctx_log(ctx, "%2d. %-28s %-12s score %.6g", i + 1, board[i]->node,
				 board[i]->method ? board[i]->method : board[i]->type,
				 board[i]->score);
			free(name);
		}
		rc = decide(ctx, es, n, board);
	}
	for (i = 0; i < n; i++) {
		free(es[i].type);
		free(es[i].method);
		free(es[i].config_hash);
		json_decref(es[i].metrics);
	}
	free(es);
	free(board);
	return rc;
}

const struct kernel kernel_eval_promote = {
	.name = "eval.promote",
	.version = 2,
	.params = params,
	.doc = "Scores every needed trained model by a weighted sum of its test "
	       "metrics (lower wins) or, with rule ztest, by its recorded success "
	       "rate (wins out of rounds), checks the best against the naive baselines "
	       "named in must_beat, and writes promotion.json, scoreboard.csv and "
	       "model/ (the winner's files).  When it runs, the engine registers "
	       "the winner as a new version of 'model' and moves 'alias' (see "
	       "dagrun models).  If no candidate beats the baselines, the best "
	       "baseline is kept as the forecaster and the log says so.",
	.run = run,
};
