/* rps: see rps.h.  The feature order lives in two places that must agree:
 * 'feature_names' below and rps_state_features(); the unit test checks
 * both against the table in rps.h. */
#include "rps.h"

#include <stdlib.h>
#include <string.h>

static const char *const move_names[RPS_MOVES] = {"rock", "paper", "scissors"};
static const char *const result_names[RPS_RESULTS] = {"win", "lose", "draw"};
static const char *const bot_names[RPS_BOTS] = {
	[RPS_CYCLER] = "cycler", [RPS_REPEATER] = "repeater", [RPS_WSLS] = "wsls",
	[RPS_COPYCAT] = "copycat", [RPS_COUNTER] = "counter",
	[RPS_BIASED] = "biased", [RPS_BEATER] = "beater"
};
static const char *const policy_names[] = {
	[RPS_ARGMAX] = "argmax", [RPS_EXPECTED] = "expected", [RPS_SAMPLE] = "sample"
};

/* biased's skew: rock 0.5, paper 0.3, scissors 0.2, as a running sum */
static const double biased_cdf[RPS_MOVES] = {0.5, 0.8, 1.0};

#define LAG(k) \
	"opp_l" #k "_rock", "opp_l" #k "_paper", "opp_l" #k "_scissors", \
	"ai_l" #k "_rock", "ai_l" #k "_paper", "ai_l" #k "_scissors", \
	"res_l" #k "_win", "res_l" #k "_lose", "res_l" #k "_draw"

static const char *const feature_names[RPS_FEATURES] = {
	LAG(1), LAG(2), LAG(3),
	"points_l1", "points_l2", "points_l3",
	"opp_freq_rock", "opp_freq_paper", "opp_freq_scissors",
	"opp_recent_rock", "opp_recent_paper", "opp_recent_scissors",
	"opp_repeat_rate", "opp_beat_prev_rate", "opp_lose_prev_rate",
	"opp_win_stay_rate", "opp_lose_shift_rate",
	"ai_freq_rock", "ai_freq_paper", "ai_freq_scissors",
	"ai_score", "opp_score", "score_diff", "round_norm", "streak",
	"legacy"
};

/* The index of 'name' in 'names[n]', or -1. */
static int find_name(const char *const *names, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

const char *rps_move_name(int move)
{
	return move_names[move];
}

int rps_move_parse(const char *name)
{
	return find_name(move_names, RPS_MOVES, name);
}

const char *rps_result_name(int result)
{
	return result_names[result];
}

int rps_result_parse(const char *name)
{
	return find_name(result_names, RPS_RESULTS, name);
}

const char *rps_bot_name(int bot)
{
	return bot_names[bot];
}

int rps_bot_parse(const char *name)
{
	return find_name(bot_names, RPS_BOTS, name);
}

const char *rps_policy_name(int policy)
{
	return policy_names[policy];
}

int rps_policy_parse(const char *name)
{
	return find_name(policy_names, 3, name);
}

const char *rps_feature_name(int i)
{
	return feature_names[i];
}

int rps_beats(int move)
{
	return (move + 1) % RPS_MOVES;
}

int rps_result(int ai, int opp)
{
	if (ai == opp)
		return RPS_DRAW;
	return rps_beats(opp) == ai ? RPS_WIN : RPS_LOSE;
}

int rps_points(int result)
{
	return result == RPS_WIN ? 1 : result == RPS_LOSE ? -1 : 0;
}

int rps_bots_parse(json_t *list, int *bots, size_t *n, struct err *err)
{
	json_t *v;
	size_t i;

	*n = 0;
	if (json_is_null(list) || !list) {
		for (int b = 0; b < RPS_BOTS; b++)
			bots[(*n)++] = b;
		return 0;
	}
	if (!json_is_array(list) || json_array_size(list) == 0) {
		err_set(err, ERR_USER, "param 'bots': expected a list of bot names "
			"(" RPS_BOT_LIST ") or null for all");
		return -1;
	}
	json_array_foreach(list, i, v) {
		int b = rps_bot_parse(json_string_value(v));
		for (size_t j = 0; b >= 0 && j < *n; j++)
			if (bots[j] == b) {
				err_set(err, ERR_USER, "param 'bots': '%s' is listed "
					"twice (expected each bot once)", rps_bot_name(b));
				return -1;
			}
		if (b < 0) {
			char *text = json_dumps(v, JSON_ENCODE_ANY);
			err_set(err, ERR_USER, "param 'bots': %s is not a bot (expected "
				"one of: " RPS_BOT_LIST ")", text ? text : "?");
			free(text);
			return -1;
		}
		bots[(*n)++] = b;
	}
	return 0;
}

/* --- the state of a game */

void rps_state_init(struct rps_state *s, int legacy)
{
	memset(s, 0, sizeof(*s));
	s->legacy = legacy;
}

/* The opponent's change from round 'prev' to round 'r', and whether it
 * stayed after a win or shifted after a loss (rounds seen from its side:
 * the AI's lose is its win). */
static void count_change(struct rps_state *s, struct rps_round prev, struct rps_round r)
{
	int res = rps_result(prev.ai, prev.opp);
	int same = r.opp == prev.opp;

	s->change[(r.opp - prev.opp + RPS_MOVES) % RPS_MOVES]++;
	if (res == RPS_LOSE) {
		s->won_then++;
		s->won_stay += (size_t)same;
	} else if (res == RPS_WIN) {
		s->lost_then++;
		s->lost_shift += (size_t)!same;
	}
}

void rps_state_push(struct rps_state *s, struct rps_round r)
{
	int res = rps_result(r.ai, r.opp);

	if (s->n > 0)
		count_change(s, s->last[0], r);
	memmove(s->last + 1, s->last, (RPS_RECENT - 1) * sizeof(s->last[0]));
	s->last[0] = r;
	s->n++;
	s->opp_count[r.opp]++;
	s->ai_count[r.ai]++;
	s->ai_wins += res == RPS_WIN;
	s->opp_wins += res == RPS_LOSE;
	if (res == RPS_DRAW)
		s->streak = 0;
	else if (res == RPS_WIN)
		s->streak = s->streak > 0 ? s->streak + 1 : 1;
	else
		s->streak = s->streak < 0 ? s->streak - 1 : -1;
}

/* a / b, or 0 when there is nothing to count */
static double share(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0;
}

/* Features 0-29: the one-hots and points of lags 1..3. */
static void lag_features(const struct rps_state *s, double *out)
{
	for (size_t k = 0; k < 3 && k < s->n; k++) {
		struct rps_round r = s->last[k];
		int res = rps_result(r.ai, r.opp);
		out[k * 9 + r.opp] = 1;
		out[k * 9 + 3 + r.ai] = 1;
		out[k * 9 + 6 + (size_t)res] = 1;
		out[27 + k] = rps_points(res);
	}
}

void rps_state_features(const struct rps_state *s, double out[RPS_FEATURES])
{
	size_t recent = s->n < RPS_RECENT ? s->n : RPS_RECENT;
	size_t changes = s->n ? s->n - 1 : 0;
	long streak = s->streak;

	memset(out, 0, RPS_FEATURES * sizeof(double));
	lag_features(s, out);
	for (size_t k = 0; k < recent; k++)
		out[33 + s->last[k].opp] += 1.0 / (double)recent;
	for (int m = 0; m < RPS_MOVES; m++) {
		out[30 + m] = share(s->opp_count[m], s->n);
		out[36 + m] = share(s->change[m], changes);
		out[41 + m] = share(s->ai_count[m], s->n);
	}
	out[39] = share(s->won_stay, s->won_then);
	out[40] = share(s->lost_shift, s->lost_then);
	out[44] = share(s->ai_wins, s->n);
	out[45] = share(s->opp_wins, s->n);
	out[46] = s->n ? ((double)s->ai_wins - (double)s->opp_wins) / (double)s->n : 0;
	out[47] = (double)(s->n < RPS_ROUND_SCALE ? s->n : RPS_ROUND_SCALE) / RPS_ROUND_SCALE;
	streak = streak > RPS_STREAK_CAP ? RPS_STREAK_CAP :
		 streak < -RPS_STREAK_CAP ? -RPS_STREAK_CAP : streak;
	out[48] = (double)streak / RPS_STREAK_CAP;
	out[49] = s->legacy ? 1 : 0;
}

void rps_features(const struct rps_round *h, size_t n, int legacy,
		  double out[RPS_FEATURES])
{
	struct rps_state s;

	rps_state_init(&s, legacy);
	for (size_t i = 0; i < n; i++)
		rps_state_push(&s, h[i]);
	rps_state_features(&s, out);
}

/* --- the players */

/* A move from a uniform draw 'v' in [0, 1). */
static int uniform_move(float v)
{
	int m = (int)(v * RPS_MOVES);

	return m < RPS_MOVES ? m : RPS_MOVES - 1;
}

/* The AI's most frequent move so far (ties: the lowest). */
static int ai_favourite(const struct rps_state *s)
{
	int best = 0;

	for (int m = 1; m < RPS_MOVES; m++)
		best = s->ai_count[m] > s->ai_count[best] ? m : best;
	return best;
}

/* What 'bot' plays by its rule after at least one round. */
static int bot_rule(int bot, const struct rps_state *s)
{
	struct rps_round last = s->last[0];

	switch (bot) {
	case RPS_CYCLER:
		return rps_beats(last.opp);
	case RPS_REPEATER:
		return last.opp;
	case RPS_WSLS:
		return rps_result(last.ai, last.opp) == RPS_LOSE ? last.opp :
		       rps_beats(last.ai);
	case RPS_COPYCAT:
		return last.ai;
	case RPS_COUNTER:
		return rps_beats(ai_favourite(s));
	default:   /* RPS_BEATER */
		return rps_beats(last.ai);
	}
}

int rps_bot_move(int bot, const struct rps_state *s, double noise, struct rng *r)
{
	float u = rng_float(r), v = rng_float(r);
	int m = 0;

	if (u < noise || (s->n == 0 && bot != RPS_BIASED))
		return uniform_move(v);
	if (bot != RPS_BIASED)
		return bot_rule(bot, s);
	while (m < RPS_MOVES - 1 && v >= biased_cdf[m])
		m++;
	return m;
}

int rps_ai_legacy(struct rng *r)
{
	return uniform_move(rng_float(r));
}

int rps_ai_heuristic(const struct rps_state *s, struct rng *r)
{
	float u = rng_float(r), v = rng_float(r);

	if (s->n == 0 || u < RPS_HEURISTIC_RANDOM)
		return uniform_move(v);
	return rps_beats(s->last[0].opp);
}

int rps_choose(const float p[RPS_MOVES], int policy, struct rng *r)
{
	int best = 0;

	if (policy == RPS_SAMPLE) {
		float sum = p[0] + p[1] + p[2], v = rng_float(r) * sum;
		while (best < RPS_MOVES - 1 && v >= p[best]) {
			v -= p[best];
			best++;
		}
		return rps_beats(best);
	}
	if (policy == RPS_EXPECTED) {
		/* move m wins against m - 1 and loses against m + 1 */
		float ev[RPS_MOVES];
		for (int m = 0; m < RPS_MOVES; m++)
			ev[m] = p[(m + 2) % RPS_MOVES] - p[(m + 1) % RPS_MOVES];
		for (int m = 1; m < RPS_MOVES; m++)
			best = ev[m] > ev[best] ? m : best;
		return best;
	}
	for (int m = 1; m < RPS_MOVES; m++)
		best = p[m] > p[best] ? m : best;
	return rps_beats(best);
}

/* 0x9E3779B97F4A7C15: the golden-ratio step of splitmix64; it spreads
 * consecutive games over the seed space before rng_seed() mixes them */
#define GAME_STEP 0x9E3779B97F4A7C15ULL

void rps_game_seed(uint64_t seed, size_t game, struct rps_game_seed *out)
{
	struct rng r;

	rng_seed(&r, seed + GAME_STEP * ((uint64_t)game + 1));
	out->bot = rng_next(&r);
	out->ai = rng_next(&r);
	out->legacy_draw = rng_float(&r);
}
