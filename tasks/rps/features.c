/* rps.features: the 50 features of tasks/lib/rps.h for every round of a
 * game log, with the opponent's move in that round as the label.
 *
 * Input: the needed node 'data' (default: the first need), rps.simulate's
 * table or any data.load table with its columns: game and round (numbers),
 * ai_move and opp_move (strings rock, paper, scissors), legacy (number 0
 * or 1), and optionally bot (string).  A game's rows must come together,
 * rounds in increasing order, as rps.simulate writes them.
 *
 * Output: a table in data.load's format, one row per round that has at
 * least one earlier round in its game (the first round of a game has no
 * history to predict from), in the input's order: the 50 feature columns
 * (numbers, in rps.h's order), then game, round and bot as strings (so
 * that a trainer's features: null, every number column, is exactly the
 * 50 features; bot is null when the input has none) and the label
 * next_move (string: the opponent's move in that round).  The features of
 * a row come only from the rounds before it (rps_state_features()). */
#include "fs.h"
#include "kernel.h"
#include "rps.h"
#include "table.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct param_spec params[] = {
	{"data", PT_STR, "null", 0, 0, NULL,
	 "the needed rps.simulate (or data.load) node; null: the first need"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

/* The input's columns: names and types, by index (bot is optional) */
enum { C_GAME, C_ROUND, C_AI, C_OPP, C_LEGACY, C_BOT, N_COLS };
static const char *const col_names[N_COLS] = {
	"game", "round", "ai_move", "opp_move", "legacy", "bot"
};
static const enum table_type col_types[N_COLS] = {
	TABLE_NUMBER, TABLE_NUMBER, TABLE_STRING, TABLE_STRING, TABLE_NUMBER,
	TABLE_STRING
};

struct feat {
	struct kctx *ctx;
	struct err err;
	const char *need;
	struct table in;
	size_t rows;                 /* input rows */
	double *game, *round, *legacy;
	char **ai, **opp, **bot;     /* bot may be NULL */
	unsigned char *ai_m, *opp_m; /* the moves, parsed */
	size_t out_rows;
	double *x[RPS_FEATURES];     /* the output's feature columns */
	char **o_game, **o_round;    /* owned strings */
	const char **o_bot, **o_label;
};

/* Column 'k' of the input: its index, or -1 with 'err' set (an absent
 * optional column is -1 without an error). */
static long find_column(struct feat *F, int k)
{
	long c = table_find(&F->in, col_names[k]);
	char *names;

	if (c >= 0 && F->in.cols[c].type == col_types[k])
		return c;
	if (c < 0 && k == C_BOT)
		return -1;
	names = table_names(&F->in);
	if (c < 0)
		err_set(&F->err, ERR_USER, "node '%s': no column '%s' (expected "
			"rps.simulate's columns game, round, ai_move, opp_move, legacy; "
			"found: %s)", F->need, col_names[k], names);
	else
		err_set(&F->err, ERR_USER, "node '%s': column '%s' is of type %s "
			"(expected %s)", F->need, col_names[k],
			table_type_name(F->in.cols[c].type), table_type_name(col_types[k]));
	free(names);
	return -1;
}

static int read_columns(struct feat *F)
{
	long c[N_COLS];

	for (int k = 0; k < N_COLS; k++) {
		c[k] = find_column(F, k);
		if (c[k] < 0 && F->err.kind != ERR_NONE)
			return -1;
	}
	F->rows = F->in.rows;
	F->game = table_numbers(&F->in, (size_t)c[C_GAME], &F->err);
	F->round = F->game ? table_numbers(&F->in, (size_t)c[C_ROUND], &F->err) : NULL;
	F->legacy = F->round ? table_numbers(&F->in, (size_t)c[C_LEGACY], &F->err) : NULL;
	F->ai = F->legacy ? table_strings(&F->in, (size_t)c[C_AI], &F->err) : NULL;
	F->opp = F->ai ? table_strings(&F->in, (size_t)c[C_OPP], &F->err) : NULL;
	if (F->opp && c[C_BOT] >= 0)
		F->bot = table_strings(&F->in, (size_t)c[C_BOT], &F->err);
	return F->opp && (c[C_BOT] < 0 || F->bot) ? 0 : -1;
}

/* Move 'i' of column 'k' ('s' its text), or -1 with 'err' set. */
static int parse_move(struct feat *F, size_t i, int k, const char *s)
{
	int m = rps_move_parse(s);

	if (m < 0)
		err_set(&F->err, ERR_USER, "node '%s': row %zu: %s '%s' (expected "
			"rock, paper or scissors)", F->need, i + 1, col_names[k],
			s ? s : "(missing)");
	return m;
}

/* Row 'i' against row i - 1: moves known, legacy 0 or 1, numbers finite,
 * a game's rounds increasing. */
static int check_row(struct feat *F, size_t i)
{
	int a = parse_move(F, i, C_AI, F->ai[i]);
	int o = a < 0 ? -1 : parse_move(F, i, C_OPP, F->opp[i]);

	if (o < 0)
		return -1;
	F->ai_m[i] = (unsigned char)a;
	F->opp_m[i] = (unsigned char)o;
	if (F->legacy[i] != 0 && F->legacy[i] != 1) {
		err_set(&F->err, ERR_USER, "node '%s': row %zu: legacy %g (expected 0 "
			"or 1)", F->need, i + 1, F->legacy[i]);
		return -1;
	}
	if (!isfinite(F->game[i]) || !isfinite(F->round[i])) {
		err_set(&F->err, ERR_USER, "node '%s': row %zu: game or round is not "
			"a finite number", F->need, i + 1);
		return -1;
	}
	if (i > 0 && F->game[i] == F->game[i - 1] && F->round[i] <= F->round[i - 1]) {
		err_set(&F->err, ERR_USER, "node '%s': row %zu: round %g after round "
			"%g of game %g (expected each game's rounds in increasing order)",
			F->need, i + 1, F->round[i], F->round[i - 1], F->game[i]);
		return -1;
	}
	return 0;
}

/* A game's first row: its game number and row, for finding a game whose
 * rows do not come together. */
struct run {
	double game;
	size_t row;
};

static int cmp_run(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	if (x->game != y->game)
		return x->game < y->game ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Every row checked, then every game's rows together: sorted by game,
 * two runs of one game sit side by side. */
static int check_rows(struct feat *F)
{
	struct run *runs = xcalloc(F->rows + 1, sizeof(*runs));
	size_t n = 0;
	int rc = 0;

	F->ai_m = xcalloc(F->rows + 1, 1);
	F->opp_m = xcalloc(F->rows + 1, 1);
	for (size_t i = 0; i < F->rows && rc == 0; i++) {
		rc = check_row(F, i);
		if (i == 0 || F->game[i] != F->game[i - 1])
			runs[n++] = (struct run){F->game[i], i};
	}
	qsort(runs, n, sizeof(*runs), cmp_run);
	for (size_t k = 1; k < n && rc == 0; k++) {
		if (runs[k].game == runs[k - 1].game) {
			err_set(&F->err, ERR_USER, "node '%s': row %zu: game %g again "
				"after other games (expected each game's rows together)",
				F->need, runs[k].row + 1, runs[k].game);
			rc = -1;
		}
	}
	free(runs);
	return rc;
}

static char *number_text(double v)
{
	return xasprintf("%.15g", v);
}

/* Output row 'o' from input row 'i' and the state of its game before it. */
static void put_row(struct feat *F, size_t o, size_t i, const struct rps_state *st)
{
	double v[RPS_FEATURES];

	rps_state_features(st, v);
	for (int k = 0; k < RPS_FEATURES; k++)
		F->x[k][o] = v[k];
	F->o_game[o] = number_text(F->game[i]);
	F->o_round[o] = number_text(F->round[i]);
	F->o_bot[o] = F->bot ? F->bot[i] : NULL;
	F->o_label[o] = rps_move_name(F->opp_m[i]);
}

/* Walk the games, a state per game, a row per round after the first. */
static void compute(struct feat *F)
{
	struct rps_state st;
	size_t n = F->rows, o = 0;

	for (int k = 0; k < RPS_FEATURES; k++)
		F->x[k] = xcalloc(n + 1, sizeof(double));
	F->o_game = xcalloc(n + 1, sizeof(char *));
	F->o_round = xcalloc(n + 1, sizeof(char *));
	F->o_bot = xcalloc(n + 1, sizeof(char *));
	F->o_label = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || F->game[i] != F->game[i - 1])
			rps_state_init(&st, 0);
		st.legacy = F->legacy[i] != 0;   /* the row's game version: known */
		if (st.n > 0)
			put_row(F, o++, i, &st);
		rps_state_push(&st, (struct rps_round){F->ai_m[i], F->opp_m[i]});
	}
	F->out_rows = o;
}

static int write_table(struct feat *F)
{
	struct table_writer w;
	int rc = 0;

	table_writer_init(&w, kctx_out_dir(F->ctx), F->out_rows, NULL);
	for (int k = 0; k < RPS_FEATURES && rc == 0; k++)
		rc = table_write_numbers(&w, rps_feature_name(k), F->x[k], &F->err);
	rc = rc ? rc : table_write_strings(&w, "game", (const char *const *)F->o_game,
					   &F->err);
	rc = rc ? rc : table_write_strings(&w, "round", (const char *const *)F->o_round,
					   &F->err);
	rc = rc ? rc : table_write_strings(&w, "bot", F->o_bot, &F->err);
	rc = rc ? rc : table_write_strings(&w, "next_move", F->o_label, &F->err);
	rc = rc ? rc : table_writer_finish(&w, NULL, &F->err);
	if (rc)
		table_writer_remove(&w);
	table_writer_release(&w);
	return rc;
}

static int load_input(struct feat *F)
{
	const char *data = kctx_str(F->ctx, "data");
	const char *dir;

	F->need = data ? data : kctx_n_inputs(F->ctx) > 0 ?
		  kctx_input_name(F->ctx, 0) : NULL;
	dir = F->need ? kctx_input(F->ctx, F->need) : NULL;
	if (!dir && data) {
		err_set(&F->err, ERR_USER, "param 'data' names '%s', which this node "
			"does not need (expected one of its needs)", data);
		return -1;
	}
	if (!dir) {
		err_set(&F->err, ERR_USER, "no input (expected a need on an "
			"rps.simulate node)");
		return -1;
	}
	if (table_open(dir, &F->in, &F->err) || read_columns(F))
		return -1;
	return check_rows(F);
}

static void release(struct feat *F)
{
	size_t n = F->rows;

	free(F->game);
	free(F->round);
	free(F->legacy);
	table_strings_free(F->ai, n);
	table_strings_free(F->opp, n);
	table_strings_free(F->bot, n);
	free(F->ai_m);
	free(F->opp_m);
	for (int k = 0; k < RPS_FEATURES; k++)
		free(F->x[k]);
	table_strings_free(F->o_game, F->out_rows);
	table_strings_free(F->o_round, F->out_rows);
	free(F->o_bot);
	free(F->o_label);
	table_close(&F->in);
}

static int run(struct kctx *ctx)
{
	struct feat F;
	int rc;

	memset(&F, 0, sizeof(F));
	F.ctx = ctx;
	err_init(&F.err);
	rc = load_input(&F);
	if (rc == 0) {
		compute(&F);
		rc = write_table(&F);
	}
	if (rc) {
		rc = kctx_fail(ctx, F.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", F.err.msg);
	} else {
		kctx_metric(ctx, "rows", -1, (double)F.out_rows);
		kctx_log(ctx, "%zu feature rows from %zu rounds of '%s'", F.out_rows,
			 F.rows, F.need);
	}
	release(&F);
	return rc;
}

static const char doc[] =
	"Compute the 50 rock-paper-scissors features (docs/rps.md) of every round "
	"after a game's first, from the rounds before it only, with the label "
	"next_move, the opponent's move in that round. Input: rps.simulate's "
	"table (game, round, ai_move, opp_move, legacy; bot optional). Writes a "
	"data.load-format table: the 50 feature columns (numbers), then game, "
	"round and bot as strings and next_move, so that train.softmax, train.mlp "
	"and train.xgboost take label: next_move with features: null.";

const struct kernel kernel_rps_features = {"rps.features", 1, params, doc, run};
