/* rps: rock-paper-scissors, the game of the move-predictor example: moves,
 * results, points, the simulated opponent bots and the 50-feature
 * contract that every model of the example is trained and played on.
 *
 * The two sides are the AI (the side a model plays) and the opponent.
 * Moves are 0 rock, 1 paper, 2 scissors; (m + 1) % 3 beats m.  A round's
 * result is told from the AI's side: win, lose or draw, worth +1, -1 and
 * 0 points (so a game's points are the AI's wins minus its losses).
 *
 * Bots: there are no real game logs, so every opponent is one of the
 * rule-based bots below, each a deterministic function of the game so far
 * and its own generator, with a 'noise' share of uniform random moves so
 * that none is perfectly predictable:
 *   cycler    its own last move's successor: rock, paper, scissors, rock...
 *   repeater  its own last move again
 *   wsls      win-stay, lose-shift: its last move again after it won;
 *             after a loss or a draw, the move that beats the AI's last
 *   copycat   the AI's last move
 *   counter   the move that beats the AI's most frequent move so far
 *             (ties: the lowest move, rock before paper before scissors)
 *   biased    a fixed skew every round: rock 0.5, paper 0.3, scissors 0.2
 *   beater    the move that beats the AI's last move
 * A bot's first move, which has no history to follow, is uniform random
 * (biased's is its skew).
 *
 * The features: rps_state holds what a game's rounds so far add up to;
 * rps_state_features() turns it into the 50 numbers below, in this order
 * (the names are the table columns of rps.features).  Each is computed
 * only from the rounds already played, never from the round predicted.
 * n is the number of rounds played so far; "lag k" is the k-th latest
 * round (lag 1 the previous one); an absent lag is all zeros; a share with
 * nothing to count is 0.
 *    0- 8  lag 1: opp_l1_rock, opp_l1_paper, opp_l1_scissors (the
 *          opponent's move, one-hot), ai_l1_rock, ai_l1_paper,
 *          ai_l1_scissors (the AI's), res_l1_win, res_l1_lose, res_l1_draw
 *          (the result, one-hot)
 *    9-17  lag 2: the same, opp_l2_rock ... res_l2_draw
 *   18-26  lag 3: the same, opp_l3_rock ... res_l3_draw
 *   27-29  points_l1, points_l2, points_l3: the lag's points (+1, -1, 0)
 *   30-32  opp_freq_rock, opp_freq_paper, opp_freq_scissors: the share of
 *          each move among the opponent's n moves
 *   33-35  opp_recent_rock, opp_recent_paper, opp_recent_scissors: the
 *          same over the last min(n, 5) rounds
 *   36-38  opp_repeat_rate, opp_beat_prev_rate, opp_lose_prev_rate: of the
 *          opponent's n - 1 changes from one round to the next, the share
 *          where it played its previous move again, the move that beats
 *          its previous move, the move that loses to it (they sum to 1)
 *   39     opp_win_stay_rate: after the rounds the opponent won (and
 *          another round followed), the share where it repeated its move
 *   40     opp_lose_shift_rate: after the rounds the opponent lost, the
 *          share where it changed its move
 *   41-43  ai_freq_rock, ai_freq_paper, ai_freq_scissors: the share of each
 *          move among the AI's n moves
 *   44     ai_score: the AI's wins / n
 *   45     opp_score: the opponent's wins / n
 *   46     score_diff: the AI's points / n (ai_score - opp_score)
 *   47     round_norm: min(n, 100) / 100
 *   48     streak: the AI's current run of one result, +k after k wins in
 *          a row, -k after k losses, 0 after a draw or before any round,
 *          capped at 5 either way, divided by 5
 *   49     legacy: 1 for a game of the legacy game version, where the AI
 *          played uniformly at random; 0 where it played a model or the
 *          heuristic
 *
 * Every function is pure or works on caller-owned values; thread-safe for
 * distinct values. */
#ifndef DAGRUN_RPS_H
#define DAGRUN_RPS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rng.h"

enum rps_move { RPS_ROCK, RPS_PAPER, RPS_SCISSORS };
#define RPS_MOVES 3

enum rps_result { RPS_WIN, RPS_LOSE, RPS_DRAW };   /* the AI's side */
#define RPS_RESULTS 3

enum rps_bot {
	RPS_CYCLER, RPS_REPEATER, RPS_WSLS, RPS_COPYCAT, RPS_COUNTER,
	RPS_BIASED, RPS_BEATER
};
#define RPS_BOTS 7
/* The bots' names in order, for messages and docs. */
#define RPS_BOT_LIST "cycler, repeater, wsls, copycat, counter, biased, beater"

/* How the AI turns predicted opponent probabilities into its move. */
enum rps_policy {
	RPS_ARGMAX,     /* beat the most likely move (ties: the lowest) */
	RPS_EXPECTED,   /* the move of the highest expected points */
	RPS_SAMPLE      /* beat a move drawn from the prediction */
};

#define RPS_FEATURES 50
/* 5: the rounds opp_recent_* looks back over */
#define RPS_RECENT 5
/* 100: the round at which round_norm reaches 1 */
#define RPS_ROUND_SCALE 100
/* 5: the longest streak the 'streak' feature tells apart */
#define RPS_STREAK_CAP 5

/* rock, paper, scissors / win, lose, draw; parse returns -1 for another
 * name. */
const char *rps_move_name(int move);
int rps_move_parse(const char *name);
const char *rps_result_name(int result);
int rps_result_parse(const char *name);
const char *rps_bot_name(int bot);
int rps_bot_parse(const char *name);
/* argmax, expected, sample */
const char *rps_policy_name(int policy);
int rps_policy_parse(const char *name);

/* The move that beats 'move'. */
int rps_beats(int move);
/* The result of a round for the AI. */
int rps_result(int ai, int opp);
/* A result's points: +1 win, -1 lose, 0 draw. */
int rps_points(int result);

struct rps_round {
	unsigned char ai, opp;      /* moves */
};

/* A game so far, as the features and the bots see it.  Initialise with
 * rps_state_init(), then rps_state_push() each round once it is played. */
struct rps_state {
	size_t n;                          /* rounds played */
	int legacy;                        /* the game's legacy flag */
	struct rps_round last[RPS_RECENT]; /* last[0]: the latest round */
	size_t opp_count[RPS_MOVES], ai_count[RPS_MOVES];
	size_t ai_wins, opp_wins;
	size_t change[3];                  /* the opponent's repeat, beat, lose */
	size_t won_then, won_stay;         /* rounds the opponent won; repeats */
	size_t lost_then, lost_shift;      /* rounds it lost; changes */
	long streak;                       /* signed, uncapped */
};

void rps_state_init(struct rps_state *s, int legacy);
void rps_state_push(struct rps_state *s, struct rps_round r);
/* The 50 features of the next round, in the order above. */
void rps_state_features(const struct rps_state *s, double out[RPS_FEATURES]);
/* The same from rounds h[0 .. n) of a game with flag 'legacy'. */
void rps_features(const struct rps_round *h, size_t n, int legacy,
		  double out[RPS_FEATURES]);
/* Feature 'i''s name (0 <= i < RPS_FEATURES); static storage. */
const char *rps_feature_name(int i);

/* The kernels' 'bots' param: a JSON list of distinct bot names into
 * 'bots' (room for RPS_BOTS) and '*n'; null: every bot, in the order
 * above.  Returns 0, or -1 with 'err' set (ERR_USER: not a list, an
 * unknown name, a name twice, an empty list). */
int rps_bots_parse(json_t *list, int *bots, size_t *n, struct err *err);

/* The bot's move in the next round of 's'.  Draws exactly two floats
 * from 'r' (a noise coin, then the random move's draw), so a bot's stream
 * does not depend on its decisions.  'noise' in [0, 1]. */
int rps_bot_move(int bot, const struct rps_state *s, double noise, struct rng *r);

/* The simulated AI of rps.simulate.  Legacy: uniform random, one float.
 * Heuristic: the move that beats the opponent's last one, or with
 * probability RPS_HEURISTIC_RANDOM (and in the first round) uniform
 * random; two floats. */
#define RPS_HEURISTIC_RANDOM (1.0 / 3.0)
int rps_ai_legacy(struct rng *r);
int rps_ai_heuristic(const struct rps_state *s, struct rng *r);

/* The AI's move from the predicted opponent move probabilities 'p' (three,
 * rock, paper, scissors; need not sum to 1) under 'policy'.  RPS_SAMPLE
 * draws one float from 'r'; the others draw none. */
int rps_choose(const float p[RPS_MOVES], int policy, struct rng *r);

/* The generators' seeds of game 'game' under the run's 'seed', and a
 * uniform draw in [0, 1) for the game's legacy coin: a function of the
 * two numbers alone, so that a game is the same whatever the number of
 * games, and every model plays the same games. */
struct rps_game_seed {
	uint64_t bot, ai;
	double legacy_draw;
};
void rps_game_seed(uint64_t seed, size_t game, struct rps_game_seed *out);

#endif
