/* rps.simulate: rock-paper-scissors games between a scripted AI and the
 * rule-based opponent bots of tasks/lib/rps.h: simulated game logs, for
 * want of real ones.
 *
 * Game g (from 0) is played against bots[g % len(bots)], with generators
 * seeded from ('seed', g) alone (rps_game_seed()), so that a game does not
 * change when 'games' does.  The game is legacy when its legacy coin falls
 * under 'legacy_share': then the AI plays uniformly at random, as the
 * legacy game version did; else it plays rps.h's heuristic (beat the
 * opponent's last move, a third of the time random).
 *
 * Output: a table in data.load's format (tasks/lib/table.h), one row per
 * round, games in order, rounds in order: game (number, from 0), bot
 * (string), round (number, from 0), ai_move, opp_move (strings rock, paper,
 * scissors), result (string win, lose, draw: the AI's), points (number +1,
 * -1, 0: the AI's), legacy (number 1 or 0). */
#include "kernel.h"
#include "rps.h"
#include "table.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* 5,000,000: the most rows a run writes; its string columns are JSON
 * lists held in memory whole */
#define MAX_ROWS 5000000

static const struct param_spec params[] = {
	{"games", PT_INT, "200", 1, 1000000, NULL, "games to play"},
	{"rounds", PT_INT, "50", 1, 100000, NULL,
	 "rounds per game (games x rounds at most 5,000,000)"},
	{"bots", PT_LIST, "null", 0, 0, NULL,
	 "the opponents, each once (" RPS_BOT_LIST "); game g plays "
	 "bots[g % len]; null: all, in that order"},
	{"legacy_share", PT_NUM, "0.5", 0, 1, NULL,
	 "the share of games (each by its own coin) recorded by the legacy game, "
	 "where the AI played uniformly at random; the others the AI plays the "
	 "heuristic: beat the opponent's last move, a third of the time random"},
	{"noise", PT_NUM, "0.1", 0, 1, NULL,
	 "the share of the bots' moves that are uniform random instead of "
	 "their rule"},
	{"seed", PT_INT, "0", 0, 0, NULL, "the games' generators"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

struct sim {
	struct kctx *ctx;
	struct err err;
	size_t games, rounds, rows, n_bots;
	int bots[RPS_BOTS];
	double legacy_share, noise;
	uint64_t seed;
	/* the columns, one entry per row */
	double *game, *round, *points, *legacy;
	const char **bot, **ai, **opp, **result;
	size_t legacy_games, ai_wins, ai_losses;
};

static int parse_params(struct sim *S)
{
	struct kctx *c = S->ctx;

	S->games = (size_t)kctx_int(c, "games");
	S->rounds = (size_t)kctx_int(c, "rounds");
	S->legacy_share = kctx_num(c, "legacy_share");
	S->noise = kctx_num(c, "noise");
	S->seed = (uint64_t)kctx_int(c, "seed");
	if ((double)S->games * (double)S->rounds > MAX_ROWS) {
		err_set(&S->err, ERR_USER, "games x rounds = %zu x %zu is more than "
			"%d rows (expected fewer games or rounds)", S->games, S->rounds,
			MAX_ROWS);
		return -1;
	}
	S->rows = S->games * S->rounds;
	return rps_bots_parse(json_object_get(kctx_params(c), "bots"), S->bots,
			      &S->n_bots, &S->err);
}

static void alloc_columns(struct sim *S)
{
	size_t n = S->rows;

	S->game = xcalloc(n, sizeof(double));
	S->round = xcalloc(n, sizeof(double));
	S->points = xcalloc(n, sizeof(double));
	S->legacy = xcalloc(n, sizeof(double));
	S->bot = xcalloc(n, sizeof(char *));
	S->ai = xcalloc(n, sizeof(char *));
	S->opp = xcalloc(n, sizeof(char *));
	S->result = xcalloc(n, sizeof(char *));
}

/* Game 'g' into rows g * rounds ..; its moves drawn as rps.h says. */
static void play_game(struct sim *S, size_t g)
{
	struct rps_game_seed gs;
	struct rng rb, ra;
	struct rps_state st;
	int bot = S->bots[g % S->n_bots], legacy;

	rps_game_seed(S->seed, g, &gs);
	legacy = gs.legacy_draw < S->legacy_share;
	rng_seed(&rb, gs.bot);
	rng_seed(&ra, gs.ai);
	rps_state_init(&st, legacy);
	S->legacy_games += (size_t)legacy;
	for (size_t t = 0; t < S->rounds; t++) {
		size_t i = g * S->rounds + t;
		int opp = rps_bot_move(bot, &st, S->noise, &rb);
		int ai = legacy ? rps_ai_legacy(&ra) : rps_ai_heuristic(&st, &ra);
		int res = rps_result(ai, opp);
		S->game[i] = (double)g;
		S->round[i] = (double)t;
		S->points[i] = rps_points(res);
		S->legacy[i] = legacy;
		S->bot[i] = rps_bot_name(bot);
		S->ai[i] = rps_move_name(ai);
		S->opp[i] = rps_move_name(opp);
		S->result[i] = rps_result_name(res);
		S->ai_wins += res == RPS_WIN;
		S->ai_losses += res == RPS_LOSE;
		rps_state_push(&st, (struct rps_round){(unsigned char)ai, (unsigned char)opp});
	}
}

static int write_table(struct sim *S)
{
	struct table_writer w;
	int rc;

	table_writer_init(&w, kctx_out_dir(S->ctx), S->rows, NULL);
	rc = table_write_numbers(&w, "game", S->game, &S->err);
	rc = rc ? rc : table_write_strings(&w, "bot", S->bot, &S->err);
	rc = rc ? rc : table_write_numbers(&w, "round", S->round, &S->err);
	rc = rc ? rc : table_write_strings(&w, "ai_move", S->ai, &S->err);
	rc = rc ? rc : table_write_strings(&w, "opp_move", S->opp, &S->err);
	rc = rc ? rc : table_write_strings(&w, "result", S->result, &S->err);
	rc = rc ? rc : table_write_numbers(&w, "points", S->points, &S->err);
	rc = rc ? rc : table_write_numbers(&w, "legacy", S->legacy, &S->err);
	rc = rc ? rc : table_writer_finish(&w, NULL, &S->err);
	if (rc)
		table_writer_remove(&w);
	table_writer_release(&w);
	return rc;
}

static void release(struct sim *S)
{
	free(S->game);
	free(S->round);
	free(S->points);
	free(S->legacy);
	free(S->bot);
	free(S->ai);
	free(S->opp);
	free(S->result);
}

static void report(struct sim *S)
{
	kctx_metric(S->ctx, "rows", -1, (double)S->rows);
	kctx_metric(S->ctx, "legacy_games", -1, (double)S->legacy_games);
	kctx_metric(S->ctx, "ai_win_rate", -1, (double)S->ai_wins / (double)S->rows);
	kctx_log(S->ctx, "%zu games of %zu rounds against %zu bots (%zu legacy): "
		 "the AI won %zu, lost %zu of %zu rounds", S->games, S->rounds,
		 S->n_bots, S->legacy_games, S->ai_wins, S->ai_losses, S->rows);
}

static int run(struct kctx *ctx)
{
	struct sim S;
	int rc;

	memset(&S, 0, sizeof(S));
	S.ctx = ctx;
	err_init(&S.err);
	rc = parse_params(&S);
	if (rc == 0) {
		alloc_columns(&S);
		for (size_t g = 0; g < S.games; g++)
			play_game(&S, g);
		rc = kctx_cancelled(ctx) ? -1 : write_table(&S);
		if (rc && S.err.kind == ERR_NONE)
			err_set(&S.err, ERR_IO, "cancelled");
	}
	if (rc == 0)
		report(&S);
	else
		rc = kctx_fail(ctx, S.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", S.err.msg);
	release(&S);
	return rc;
}

static const char doc[] =
	"Simulate rock-paper-scissors games between a scripted AI and rule-based "
	"opponent bots (cycler, repeater, wsls, copycat, counter, biased, beater; "
	"each with a share of random moves): simulated game logs, not real ones. "
	"In legacy games the AI plays uniformly at random, in the others a fixed "
	"heuristic. Writes a data.load-format table, one row per round: game, bot, "
	"round, ai_move, opp_move, result, points, legacy. Deterministic by seed.";

const struct kernel kernel_rps_simulate = {"rps.simulate", 1, params, doc, run};
