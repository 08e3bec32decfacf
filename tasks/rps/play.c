/* rps.play: trained classifiers play rock-paper-scissors against the
 * bots of tasks/lib/rps.h, and their outcomes are recorded.
 *
 * Input: the needed classifier nodes named in 'models' (null: every need),
 * each a train.softmax, train.mlp or train.xgboost output trained on
 * rps.features (label next_move; its features any of the 50).
 *
 * Play (tasks/lib/rps_match.h): every model plays the same 'games' games
 * of 'rounds' rounds against the bots, a paired comparison: game g meets
 * bots[g % len(bots)] with the bot's and the AI's generators seeded from
 * ('seed', g).  In each round the model predicts the opponent's move from
 * the 50 features of the game so far (legacy 0: the AI plays a model) and
 * 'policy' picks the AI's move: argmax beats the most likely move,
 * expected takes the move of the highest expected points, sample beats a
 * move drawn from the prediction.  The first round, with no history, is a
 * uniform random move.
 *
 * Output: outcomes.json (the settings, and per model its kind, wins,
 * losses, draws, rounds, win_rate = wins / rounds, points = wins -
 * losses, and the same per bot), outcomes.csv (one row per model, game
 * and round: model, game, bot, round, ai_move, opp_move, result,
 * predicted: the most likely opponent move, empty in the first round) and
 * metrics.json: for one model its figures at the top level (wins, rounds,
 * win_rate ...: what eval.promote's rule ztest reads), for several
 * {"models": {name: figures}}.  The metric sink gets the same: wins,
 * losses, draws, rounds, win_rate and <bot>/win_rate for one model, each
 * prefixed "<model>/" for several.  With one model, model/ is a copy of
 * its node's files: the outcomes travel with the model they judge, so an
 * eval.promote of play nodes (rule ztest) registers a model that can be
 * used, not just its record. */
#include "classifier.h"
#include "csv.h"
#include "fs.h"
#include "kernel.h"
#include "rps_match.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 5,000,000: the most rows of outcomes.csv (models x games x rounds) */
#define MAX_ROWS 5000000

static const struct param_spec params[] = {
	{"models", PT_LIST, "null", 0, 0, NULL,
	 "the needed classifier nodes (train.softmax, train.mlp, train.xgboost) "
	 "to play; null: every need"},
	{"games", PT_INT, "100", 1, 100000, NULL, "games per model"},
	{"rounds", PT_INT, "50", 1, 100000, NULL,
	 "rounds per game (models x games x rounds at most 5,000,000)"},
	{"bots", PT_LIST, "null", 0, 0, NULL,
	 "the opponents, each once (" RPS_BOT_LIST "); game g plays "
	 "bots[g % len]; null: all, in that order"},
	{"noise", PT_NUM, "0.1", 0, 1, NULL,
	 "the share of the bots' moves that are uniform random"},
	{"policy", PT_ENUM, "\"argmax\"", 0, 0, "argmax|expected|sample",
	 "argmax: beat the most likely opponent move; expected: the move of the "
	 "highest expected points; sample: beat a move drawn from the prediction"},
	{"seed", PT_INT, "0", 0, 0, NULL,
	 "the games' generators: the same for every model"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

struct player {
	const char *name;             /* the need; borrowed */
	struct classifier *c;
	int move_of[RPS_MOVES];       /* class k's move (classes <= 3) */
	float *proba;                 /* a round's class probabilities */
	struct kctx *ctx;             /* for cancellation */
	struct rps_tally total, bot[RPS_BOTS];
};

struct play {
	struct kctx *ctx;
	struct err err;
	size_t games, rounds, n_players, n_bots;
	int bots[RPS_BOTS], policy;
	double noise;
	uint64_t seed;
	struct player *players;
	struct rps_match match;
	FILE *csv;
	char *csv_path;
};

/* --- params and models */

/* Classes of 'P''s model to moves: each a move, at most one each. */
static int map_classes(struct play *S, struct player *P)
{
	int n = classifier_classes(P->c);

	for (int k = 0; k < n && k < RPS_MOVES + 1; k++) {
		int m = k < RPS_MOVES ? rps_move_parse(classifier_class_name(P->c, k)) : -1;
		if (m < 0) {
			err_set(&S->err, ERR_USER, "node '%s': class '%s' is not a move "
				"(expected a model trained on rps.features with label "
				"next_move)", P->name, classifier_class_name(P->c, k));
			return -1;
		}
		P->move_of[k] = m;
	}
	return 0;
}

/* Open the model of need 'name' into 'P', bound to the 50 features. */
static int open_player(struct play *S, struct player *P, const char *name)
{
	const char *dir = kctx_input(S->ctx, name);
	const char *names[RPS_FEATURES];

	P->name = name;
	if (!dir) {
		err_set(&S->err, ERR_USER, "param 'models' names '%s', which this node "
			"does not need (expected one of its needs)", name);
		return -1;
	}
	for (int k = 0; k < RPS_FEATURES; k++)
		names[k] = rps_feature_name(k);
	if (classifier_open(dir, &P->c, &S->err) ||
	    classifier_bind(P->c, names, RPS_FEATURES, &S->err)) {
		char *where = xasprintf("node '%s'", name);
		err_prefix(&S->err, where);
		free(where);
		return -1;
	}
	return map_classes(S, P);
}

static int open_players(struct play *S)
{
	json_t *list = json_object_get(kctx_params(S->ctx), "models"), *v;
	size_t i, n = json_is_array(list) ? json_array_size(list) :
		      (size_t)kctx_n_inputs(S->ctx);

	if (n == 0) {
		err_set(&S->err, ERR_USER, json_is_array(list) ? "param 'models' is "
			"empty (expected needed classifier nodes)" : "no input (expected "
			"needs on trained classifiers)");
		return -1;
	}
	S->players = xcalloc(n, sizeof(*S->players));
	if (!json_is_array(list)) {
		for (i = 0; i < n; i++)
			if (open_player(S, &S->players[S->n_players++], kctx_input_name(S->ctx, (int)i)))
				return -1;
		return 0;
	}
	json_array_foreach(list, i, v) {
		if (!json_is_string(v)) {
			err_set(&S->err, ERR_USER, "param 'models': expected need names");
			return -1;
		}
		if (open_player(S, &S->players[S->n_players++], json_string_value(v)))
			return -1;
	}
	return 0;
}

static int parse_params(struct play *S)
{
	struct kctx *c = S->ctx;

	S->games = (size_t)kctx_int(c, "games");
	S->rounds = (size_t)kctx_int(c, "rounds");
	S->noise = kctx_num(c, "noise");
	S->policy = rps_policy_parse(kctx_str(c, "policy"));
	S->seed = (uint64_t)kctx_int(c, "seed");
	if (rps_bots_parse(json_object_get(kctx_params(c), "bots"), S->bots,
			   &S->n_bots, &S->err) || open_players(S))
		return -1;
	if ((double)S->n_players * (double)S->games * (double)S->rounds > MAX_ROWS) {
		err_set(&S->err, ERR_USER, "models x games x rounds = %zu x %zu x %zu "
			"is more than %d rounds (expected fewer)", S->n_players, S->games,
			S->rounds, MAX_ROWS);
		return -1;
	}
	return 0;
}

/* --- playing */

/* The predictor of a match (rps_match.h): the classes' probabilities
 * summed into the moves'. */
static int predict(void *arg, const double *x, size_t n, float *p, struct err *err)
{
	struct player *P = arg;
	size_t C = (size_t)classifier_classes(P->c);

	if (kctx_cancelled(P->ctx)) {
		err_set(err, ERR_IO, "cancelled");
		return -1;
	}
	if (classifier_predict(P->c, x, n, P->proba, err))
		return -1;
	memset(p, 0, n * RPS_MOVES * sizeof(float));
	for (size_t g = 0; g < n; g++)
		for (size_t k = 0; k < C; k++)
			p[g * RPS_MOVES + (size_t)P->move_of[k]] += P->proba[g * C + k];
	return 0;
}

/* The match of 'P'; its tallies kept in 'P'. */
static int play_model(struct play *S, struct player *P)
{
	struct rps_predictor pr = {predict, P};
	int rc;

	P->ctx = S->ctx;
	P->proba = xcalloc(S->games * (size_t)classifier_classes(P->c) + 1, sizeof(float));
	rc = rps_match_play(&S->match, &pr, &S->err);
	free(P->proba);
	P->proba = NULL;
	P->total = S->match.total;
	memcpy(P->bot, S->match.bot, sizeof(P->bot));
	return rc;
}

/* --- outputs */

/* The rows of 'P' in outcomes.csv, game by game, round by round. */
static void put_rows(struct play *S, const struct player *P)
{
	for (size_t g = 0; g < S->games; g++) {
		for (size_t t = 0; t < S->rounds; t++) {
			size_t at = g * S->rounds + t;
			int ai = S->match.ai[at], opp = S->match.opp[at];
			int pred = S->match.pred[at];
			csv_write_field(S->csv, P->name);
			fprintf(S->csv, ",%zu,%s,%zu,%s,%s,%s,%s\n", g,
				rps_bot_name(S->bots[g % S->n_bots]), t, rps_move_name(ai),
				rps_move_name(opp), rps_result_name(rps_result(ai, opp)),
				pred < RPS_MOVES ? rps_move_name(pred) : "");
		}
	}
}

static json_t *tally_json(const struct rps_tally *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:f, s:I}", "wins", (json_int_t)t->wins,
			 "losses", (json_int_t)t->losses, "draws", (json_int_t)t->draws,
			 "rounds", (json_int_t)t->rounds,
			 "win_rate", rps_tally_win_rate(t),
			 "points", (json_int_t)t->wins - (json_int_t)t->losses);
}

static json_t *player_json(const struct play *S, const struct player *P)
{
	json_t *j = tally_json(&P->total), *per = json_object();

	for (size_t b = 0; b < S->n_bots; b++)
		json_object_set_new(per, rps_bot_name(S->bots[b]),
				    tally_json(&P->bot[S->bots[b]]));
	json_object_set_new(j, "kind", json_string(classifier_kind(P->c)));
	json_object_set_new(j, "per_bot", per);
	return j;
}

/* The sink's metrics of 'P': 'prefix' is "" or "<model>/". */
static void sink_metrics(struct play *S, const struct player *P, const char *prefix)
{
	const struct rps_tally *t = &P->total;
	const char *const names[] = {"wins", "losses", "draws", "rounds"};
	const size_t v[] = {t->wins, t->losses, t->draws, t->rounds};

	for (size_t k = 0; k < 4; k++) {
		char *name = xasprintf("%s%s", prefix, names[k]);
		kctx_metric(S->ctx, name, -1, (double)v[k]);
		free(name);
	}
	for (size_t b = 0; b <= S->n_bots; b++) {
		const struct rps_tally *bt = b < S->n_bots ? &P->bot[S->bots[b]] : t;
		char *name = b < S->n_bots ? xasprintf("%s%s/win_rate", prefix,
			     rps_bot_name(S->bots[b])) : xasprintf("%swin_rate", prefix);
		kctx_metric(S->ctx, name, -1, rps_tally_win_rate(bt));
		free(name);
	}
	kctx_log(S->ctx, "%s: %s won %zu, lost %zu, drew %zu of %zu rounds "
		 "(win rate %.4f)", P->name, classifier_kind(P->c), t->wins, t->losses,
		 t->draws, t->rounds, rps_tally_win_rate(t));
}

static int dump(struct play *S, json_t *j, const char *file)
{
	char *path = fs_join(kctx_out_dir(S->ctx), file);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));

	if (rc)
		err_set(&S->err, ERR_IO, "cannot write '%s'", path);
	free(path);
	return rc ? -1 : 0;
}

static int write_json(struct play *S)
{
	json_t *models = json_object(), *bots = json_array(), *out, *metrics;
	int rc;

	for (size_t b = 0; b < S->n_bots; b++)
		json_array_append_new(bots, json_string(rps_bot_name(S->bots[b])));
	for (size_t i = 0; i < S->n_players; i++) {
		struct player *P = &S->players[i];
		char *prefix = S->n_players > 1 ? xasprintf("%s/", P->name) : xstrdup("");
		json_object_set_new(models, P->name, player_json(S, P));
		sink_metrics(S, P, prefix);
		free(prefix);
	}
	out = json_pack("{s:I, s:I, s:o, s:f, s:s, s:I, s:O}", "games",
			(json_int_t)S->games, "rounds_per_game", (json_int_t)S->rounds,
			"bots", bots, "noise", S->noise, "policy", rps_policy_name(S->policy),
			"seed", (json_int_t)S->seed, "models", models);
	if (S->n_players == 1) {
		metrics = player_json(S, &S->players[0]);
		json_object_set_new(metrics, "model", json_string(S->players[0].name));
	} else {
		metrics = json_pack("{s:O}", "models", models);
	}
	rc = dump(S, out, "outcomes.json");
	rc = rc ? rc : dump(S, metrics, "metrics.json");
	json_decref(models);
	json_decref(out);
	json_decref(metrics);
	return rc;
}

/* Play every model, writing outcomes.csv as each finishes. */
static int play_all(struct play *S)
{
	int rc = 0;

	S->csv_path = fs_join(kctx_out_dir(S->ctx), "outcomes.csv");
	S->csv = fopen(S->csv_path, "w");
	if (!S->csv) {
		err_set(&S->err, ERR_IO, "cannot write '%s'", S->csv_path);
		return -1;
	}
	fputs("model,game,bot,round,ai_move,opp_move,result,predicted\n", S->csv);
	rps_match_init(&S->match, S->games, S->rounds, S->bots, S->n_bots,
		       S->noise, S->policy, S->seed);
	for (size_t i = 0; i < S->n_players && rc == 0; i++) {
		rc = play_model(S, &S->players[i]);
		if (rc == 0)
			put_rows(S, &S->players[i]);
	}
	if ((ferror(S->csv) | fclose(S->csv)) && rc == 0) {
		err_set(&S->err, ERR_IO, "cannot write '%s'", S->csv_path);
		rc = -1;
	}
	S->csv = NULL;
	return rc;
}

static void release(struct play *S)
{
	for (size_t i = 0; i < S->n_players; i++)
		classifier_free(S->players[i].c);
	free(S->players);
	rps_match_release(&S->match);
	free(S->csv_path);
}

/* Remove whatever this run wrote: a failed node leaves no outputs. */
static void remove_outputs(struct play *S)
{
	static const char *const files[] = {"outcomes.csv", "outcomes.json",
					    "metrics.json"};
	char *model = fs_join(kctx_out_dir(S->ctx), "model");
	struct err ignored;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = fs_join(kctx_out_dir(S->ctx), files[i]);
		remove(path);
		free(path);
	}
	err_init(&ignored);
	fs_remove_tree(model, &ignored);
	free(model);
}

/* One model: copy its node's files into model/. */
static int copy_model(struct play *S)
{
	char *to;
	int rc;

	if (S->n_players != 1)
		return 0;
	to = fs_join(kctx_out_dir(S->ctx), "model");
	rc = fs_copy_tree(kctx_input(S->ctx, S->players[0].name), to, &S->err);
	free(to);
	return rc;
}

static int run(struct kctx *ctx)
{
	struct play S;
	int rc;

	memset(&S, 0, sizeof(S));
	S.ctx = ctx;
	err_init(&S.err);
	rc = parse_params(&S);
	rc = rc ? rc : play_all(&S);
	rc = rc ? rc : write_json(&S);
	rc = rc ? rc : copy_model(&S);
	if (rc) {
		remove_outputs(&S);
		rc = kctx_fail(ctx, S.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", S.err.msg);
	}
	release(&S);
	return rc;
}

static const char doc[] =
	"Play trained rock-paper-scissors move predictors (train.softmax, "
	"train.mlp, train.xgboost on rps.features) against the simulated bots: "
	"every model the same seeded games, the AI playing what beats the "
	"predicted opponent move (policy). Writes outcomes.json (per model and "
	"per bot: wins, losses, draws, rounds, win_rate, points), outcomes.csv "
	"(every round) and metrics.json (one model: wins, rounds, win_rate at the "
	"top, as eval.promote's rule ztest reads them, and model/, a copy of the "
	"model's node).";

const struct kernel kernel_rps_play = {"rps.play", 1, params, doc, run};
