/* rps_match: a predictor plays 'games' games of 'rounds' rounds against
 * the bots of rps.h, and every round is recorded; rps.play runs one match
 * per model.
 *
 * Game g (from 0) is played against bots[g % n_bots], the bot's and the
 * AI's generators seeded from ('seed', g) by rps_game_seed(), so that two
 * matches of the same settings meet the same bots with the same random
 * streams: a paired comparison of their predictors.  The games run side
 * by side, a round at a time, so the predictor sees every game's features
 * of a round in one call.  In the first round of a game, with no history,
 * the AI plays a uniform random move; after it, the predictor's opponent
 * move probabilities and 'policy' (rps_choose()) pick the AI's move, and
 * the bot's move comes from the game before the round (neither side sees
 * the other's move of the round).  Legacy is 0: the AI plays a model.
 *
 * A 'struct rps_match' is caller-owned: rps_match_init(), then
 * rps_match_play() (any number of times: each replays from scratch), then
 * rps_match_release().  Not thread-safe. */
#ifndef DAGRUN_RPS_MATCH_H
#define DAGRUN_RPS_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rps.h"

/* What a match records of a series of rounds (the AI's side). */
struct rps_tally {
	size_t wins, losses, draws, rounds;
};

struct rps_match {
	/* the settings, as given to rps_match_init() */
	size_t games, rounds, n_bots;
	int bots[RPS_BOTS];
	double noise;
	int policy;
	uint64_t seed;
	/* the last play: game g's round t is entry g * rounds + t */
	unsigned char *ai, *opp;     /* moves */
	unsigned char *pred;         /* the most likely opponent move, or
					RPS_MOVES in a game's first round */
	struct rps_tally total;
	struct rps_tally bot[RPS_BOTS];   /* by bot (enum rps_bot) */
};

/* The opponent move probabilities of 'n' games, whose features are the
 * rows of 'x' [n, RPS_FEATURES], into 'p' [n, RPS_MOVES] (rock, paper,
 * scissors).  Returns 0, or -1 with 'err' set (the match stops). */
struct rps_predictor {
	int (*predict)(void *arg, const double *x, size_t n, float *p,
		       struct err *err);
	void *arg;
};

/* Settings: 'bots' (n_bots of them, 1 to RPS_BOTS, copied), the bots'
 * 'noise', the AI's 'policy' (enum rps_policy), the games' 'seed'. */
void rps_match_init(struct rps_match *m, size_t games, size_t rounds,
		    const int *bots, size_t n_bots, double noise, int policy,
		    uint64_t seed);
/* Play every game, recording moves and tallies (reset first).  Returns
 * 0, or -1 with 'err' set by the predictor. */
int rps_match_play(struct rps_match *m, const struct rps_predictor *pr,
		   struct err *err);
void rps_match_release(struct rps_match *m);

/* wins / rounds; 0 for no rounds. */
double rps_tally_win_rate(const struct rps_tally *t);

#endif
