/* test_rps: the game (results, points, names), the 50 features on a
 * hand-made history, exactly, and without leakage, the bots' rules and
 * determinism, the AI's policies, the 'bots' param, and a match (rps_match.h):
 * an oracle predictor wins, the games are paired and replay the same. */
#include "test.h"

#include "rps.h"
#include "rps_match.h"

#include <math.h>

/* 1e-12: the features are shares of small counts, exact to rounding */
#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

static struct rps_round R(int ai, int opp)
{
	return (struct rps_round){(unsigned char)ai, (unsigned char)opp};
}

TEST(results_and_points)
{
	/* paper beats rock, scissors beat paper, rock beats scissors */
	ASSERT_EQ(rps_beats(RPS_ROCK), RPS_PAPER);
	ASSERT_EQ(rps_beats(RPS_PAPER), RPS_SCISSORS);
	ASSERT_EQ(rps_beats(RPS_SCISSORS), RPS_ROCK);
	ASSERT_EQ(rps_result(RPS_PAPER, RPS_ROCK), RPS_WIN);
	ASSERT_EQ(rps_result(RPS_SCISSORS, RPS_PAPER), RPS_WIN);
	ASSERT_EQ(rps_result(RPS_ROCK, RPS_SCISSORS), RPS_WIN);
	ASSERT_EQ(rps_result(RPS_ROCK, RPS_PAPER), RPS_LOSE);
	ASSERT_EQ(rps_result(RPS_PAPER, RPS_SCISSORS), RPS_LOSE);
	ASSERT_EQ(rps_result(RPS_SCISSORS, RPS_ROCK), RPS_LOSE);
	for (int m = 0; m < RPS_MOVES; m++)
		ASSERT_EQ(rps_result(m, m), RPS_DRAW);
	ASSERT_EQ(rps_points(RPS_WIN), 1);
	ASSERT_EQ(rps_points(RPS_LOSE), -1);
	ASSERT_EQ(rps_points(RPS_DRAW), 0);
}

TEST(names)
{
	ASSERT_STREQ(rps_move_name(RPS_SCISSORS), "scissors");
	ASSERT_EQ(rps_move_parse("paper"), RPS_PAPER);
	ASSERT_EQ(rps_move_parse("Paper"), -1);
	ASSERT_EQ(rps_move_parse(NULL), -1);
	ASSERT_STREQ(rps_result_name(RPS_LOSE), "lose");
	ASSERT_EQ(rps_result_parse("draw"), RPS_DRAW);
	ASSERT_EQ(rps_bot_parse("wsls"), RPS_WSLS);
	ASSERT_EQ(rps_bot_parse("human"), -1);
	for (int b = 0; b < RPS_BOTS; b++)
		ASSERT_EQ(rps_bot_parse(rps_bot_name(b)), b);
	ASSERT_EQ(rps_policy_parse("expected"), RPS_EXPECTED);
}

TEST(feature_names)
{
	static const struct { int i; const char *name; } want[] = {
		{0, "opp_l1_rock"}, {5, "ai_l1_scissors"}, {8, "res_l1_draw"},
		{9, "opp_l2_rock"}, {26, "res_l3_draw"}, {27, "points_l1"},
		{29, "points_l3"}, {30, "opp_freq_rock"}, {33, "opp_recent_rock"},
		{36, "opp_repeat_rate"}, {37, "opp_beat_prev_rate"},
		{38, "opp_lose_prev_rate"}, {39, "opp_win_stay_rate"},
		{40, "opp_lose_shift_rate"}, {41, "ai_freq_rock"}, {44, "ai_score"},
		{45, "opp_score"}, {46, "score_diff"}, {47, "round_norm"},
		{48, "streak"}, {49, "legacy"}
	};

	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		ASSERT_STREQ(rps_feature_name(want[k].i), want[k].name);
	for (int i = 0; i < RPS_FEATURES; i++)
		for (int j = 0; j < i; j++)
			ASSERT(strcmp(rps_feature_name(i), rps_feature_name(j)));
}

/* Four rounds, worked out by hand:
 *   0: AI rock, opp paper       lose
 *   1: AI scissors, opp paper   win
 *   2: AI paper, opp scissors   lose
 *   3: AI rock, opp rock        draw */
TEST(features_by_hand)
{
	struct rps_round h[4] = {R(0, 1), R(2, 1), R(1, 2), R(0, 0)};
	double want[RPS_FEATURES] = {0}, got[RPS_FEATURES];

	want[0] = want[3] = want[8] = 1;           /* lag 1: rock, rock, draw */
	want[9 + 2] = want[9 + 3 + 1] = want[9 + 6 + 1] = 1;   /* lag 2 */
	want[18 + 1] = want[18 + 3 + 2] = want[18 + 6 + 0] = 1; /* lag 3 */
	want[27] = 0;
	want[28] = -1;
	want[29] = 1;
	want[30] = 0.25, want[31] = 0.5, want[32] = 0.25;
	want[33] = 0.25, want[34] = 0.5, want[35] = 0.25;
	/* P->P repeat, P->S beats its previous, S->R beats its previous */
	want[36] = 1.0 / 3, want[37] = 2.0 / 3, want[38] = 0;
	want[39] = 0.5;   /* won rounds 0 and 2: stayed after 0 only */
	want[40] = 1;     /* lost round 1: shifted after it */
	want[41] = 0.5, want[42] = 0.25, want[43] = 0.25;
	want[44] = 0.25, want[45] = 0.5, want[46] = -0.25;
	want[47] = 0.04;
	want[48] = 0;     /* the last round a draw */
	want[49] = 1;
	rps_features(h, 4, 1, got);
	for (int i = 0; i < RPS_FEATURES; i++) {
		if (!NEAR(got[i], want[i]))
			fprintf(stderr, "feature %d (%s): %.17g, expected %.17g\n", i,
				rps_feature_name(i), got[i], want[i]);
		ASSERT(NEAR(got[i], want[i]));
	}
}

TEST(features_before_any_round)
{
	double got[RPS_FEATURES];

	rps_features(NULL, 0, 0, got);
	for (int i = 0; i < RPS_FEATURES; i++)
		ASSERT(got[i] == 0);
	rps_features(NULL, 0, 1, got);
	ASSERT(got[49] == 1);
}

TEST(features_recent_window_and_streak)
{
	/* seven AI wins: paper against rock, then scissors against paper */
	struct rps_round h[9] = {R(1, 0), R(1, 0), R(1, 0), R(1, 0), R(1, 0),
				 R(2, 1), R(2, 1), R(0, 1), R(1, 2)};
	double f[RPS_FEATURES];

	rps_features(h, 7, 0, f);
	ASSERT(NEAR(f[48], 1));                 /* 7 wins: capped at 5 */
	ASSERT(NEAR(f[33], 3.0 / 5));           /* last five: rock x3, paper x2 */
	ASSERT(NEAR(f[34], 2.0 / 5));
	ASSERT(NEAR(f[30], 5.0 / 7));           /* whole game: rock 5 of 7 */
	ASSERT(NEAR(f[39], 0));                 /* the opponent never won */
	ASSERT(NEAR(f[40], 1.0 / 6));           /* shifted once after 6 losses */
	ASSERT(NEAR(f[44], 1));
	ASSERT(NEAR(f[46], 1));
	rps_features(h, 9, 0, f);
	ASSERT(NEAR(f[48], -0.4));              /* two losses */
	ASSERT(NEAR(f[47], 0.09));
}

/* Round t's features depend on rounds before t only: rewriting every
 * round from t on changes nothing. */
TEST(features_no_leakage)
{
	struct rps_round h[40], g[40];
	struct rng r;
	double a[RPS_FEATURES], b[RPS_FEATURES];

	rng_seed(&r, 11);
	for (int i = 0; i < 40; i++)
		h[i] = R((int)rng_below(&r, 3), (int)rng_below(&r, 3));
	for (size_t t = 0; t <= 40; t++) {
		memcpy(g, h, sizeof(h));
		for (size_t i = t; i < 40; i++)
			g[i] = R((h[i].ai + 1) % 3, (h[i].opp + 2) % 3);
		rps_features(h, t, 0, a);
		rps_features(g, t, 0, b);
		ASSERT(memcmp(a, b, sizeof(a)) == 0);
	}
	/* and the incremental state gives the same as the whole history */
	{
		struct rps_state s;
		rps_state_init(&s, 0);
		for (int i = 0; i < 40; i++) {
			rps_features(h, (size_t)i, 0, a);
			rps_state_features(&s, b);
			ASSERT(memcmp(a, b, sizeof(a)) == 0);
			rps_state_push(&s, h[i]);
		}
	}
}

/* The bot's rule move after 'h' (noise 0); -1 if it is not one move. */
static int rule_move(int bot, const struct rps_round *h, size_t n)
{
	struct rps_state s;
	struct rng r;
	int first;

	rps_state_init(&s, 0);
	for (size_t i = 0; i < n; i++)
		rps_state_push(&s, h[i]);
	rng_seed(&r, 1);
	first = rps_bot_move(bot, &s, 0, &r);
	for (uint64_t seed = 2; seed < 20; seed++) {
		rng_seed(&r, seed);
		if (rps_bot_move(bot, &s, 0, &r) != first)
			return -1;
	}
	return first;
}

TEST(bot_rules)
{
	/* AI rock vs opp scissors (AI won), AI rock vs opp paper (AI lost) */
	struct rps_round h[2] = {R(0, 2), R(0, 1)};
	struct rps_round won[1] = {R(2, 0)};    /* the opponent won: rock > scissors */
	struct rps_round tie[3] = {R(0, 0), R(1, 1), R(2, 2)};

	ASSERT_EQ(rule_move(RPS_CYCLER, h, 2), RPS_SCISSORS);    /* after paper */
	ASSERT_EQ(rule_move(RPS_REPEATER, h, 2), RPS_PAPER);
	ASSERT_EQ(rule_move(RPS_WSLS, h, 2), RPS_PAPER);         /* won: stay */
	ASSERT_EQ(rule_move(RPS_WSLS, h, 1), RPS_PAPER);         /* lost: beat rock */
	ASSERT_EQ(rule_move(RPS_WSLS, won, 1), RPS_ROCK);
	ASSERT_EQ(rule_move(RPS_COPYCAT, won, 1), RPS_SCISSORS);
	ASSERT_EQ(rule_move(RPS_COUNTER, h, 2), RPS_PAPER);      /* AI: rock twice */
	ASSERT_EQ(rule_move(RPS_COUNTER, tie, 3), RPS_PAPER);    /* tie: rock */
	ASSERT_EQ(rule_move(RPS_BEATER, won, 1), RPS_ROCK);      /* beats scissors */
	/* the first move is random, and so is biased's every move */
	ASSERT_EQ(rule_move(RPS_CYCLER, h, 0), -1);
	ASSERT_EQ(rule_move(RPS_BIASED, h, 2), -1);
}

/* The share of each move of 'bot' after 'h' over 30,000 generators. */
static void move_shares(int bot, const struct rps_round *h, size_t n, double noise,
			double share[RPS_MOVES])
{
	struct rps_state s;
	struct rng r;
	size_t count[RPS_MOVES] = {0};

	rps_state_init(&s, 0);
	for (size_t i = 0; i < n; i++)
		rps_state_push(&s, h[i]);
	rng_seed(&r, 5);
	for (int i = 0; i < 30000; i++)
		count[rps_bot_move(bot, &s, noise, &r)]++;
	for (int m = 0; m < RPS_MOVES; m++)
		share[m] = count[m] / 30000.0;
}

TEST(bot_noise_and_bias)
{
	struct rps_round h[1] = {R(0, 2)};
	double s[RPS_MOVES];

	move_shares(RPS_BIASED, h, 1, 0, s);      /* 0.5, 0.3, 0.2 */
	ASSERT(fabs(s[0] - 0.5) < 0.02 && fabs(s[1] - 0.3) < 0.02 && fabs(s[2] - 0.2) < 0.02);
	move_shares(RPS_REPEATER, h, 1, 0.3, s);  /* 0.7 + 0.3 / 3 scissors */
	ASSERT(fabs(s[2] - 0.8) < 0.02 && fabs(s[0] - 0.1) < 0.02);
	move_shares(RPS_CYCLER, h, 1, 1, s);      /* all noise: uniform */
	for (int m = 0; m < RPS_MOVES; m++)
		ASSERT(fabs(s[m] - 1.0 / 3) < 0.02);
	move_shares(RPS_COPYCAT, NULL, 0, 0, s);  /* the first move: uniform */
	for (int m = 0; m < RPS_MOVES; m++)
		ASSERT(fabs(s[m] - 1.0 / 3) < 0.02);
}

/* A whole game of 'bot' against the heuristic AI, as rps.simulate plays
 * it, into 'h'. */
static void play(int bot, uint64_t seed, struct rps_round *h, size_t n)
{
	struct rps_game_seed gs;
	struct rps_state s;
	struct rng rb, ra;

	rps_game_seed(seed, 3, &gs);
	rng_seed(&rb, gs.bot);
	rng_seed(&ra, gs.ai);
	rps_state_init(&s, 0);
	for (size_t i = 0; i < n; i++) {
		int opp = rps_bot_move(bot, &s, 0.1, &rb);
		h[i] = R(rps_ai_heuristic(&s, &ra), opp);
		rps_state_push(&s, h[i]);
	}
}

TEST(bots_deterministic_by_seed)
{
	struct rps_round a[200], b[200];
	struct rps_game_seed x, y;

	for (int bot = 0; bot < RPS_BOTS; bot++) {
		play(bot, 42, a, 200);
		play(bot, 42, b, 200);
		ASSERT(memcmp(a, b, sizeof(a)) == 0);
		play(bot, 43, b, 200);
		ASSERT(memcmp(a, b, sizeof(a)) != 0);
	}
	rps_game_seed(7, 10, &x);
	rps_game_seed(7, 10, &y);
	ASSERT(x.bot == y.bot && x.ai == y.ai && x.legacy_draw == y.legacy_draw);
	rps_game_seed(7, 11, &y);
	ASSERT(x.bot != y.bot && x.ai != y.ai);
	ASSERT(x.legacy_draw >= 0 && x.legacy_draw < 1);
}

TEST(heuristic_beats_last_move)
{
	struct rps_round h[1] = {R(0, 2)};      /* the opponent played scissors */
	struct rps_state s;
	struct rng r;
	int rock = 0;

	rps_state_init(&s, 0);
	rps_state_push(&s, h[0]);
	rng_seed(&r, 9);
	for (int i = 0; i < 30000; i++)
		rock += rps_ai_heuristic(&s, &r) == RPS_ROCK;
	/* 2/3 by the rule plus 1/3 of the random third */
	ASSERT(fabs(rock / 30000.0 - 7.0 / 9) < 0.02);
}

TEST(choose_policies)
{
	float p[RPS_MOVES] = {0.2f, 0.5f, 0.3f};
	float even[RPS_MOVES] = {0.4f, 0.2f, 0.4f};
	struct rng r;
	int n[RPS_MOVES] = {0};

	rng_seed(&r, 1);
	ASSERT_EQ(rps_choose(p, RPS_ARGMAX, &r), RPS_SCISSORS);   /* beats paper */
	/* expected points: rock 0.3 - 0.5, paper 0.2 - 0.3, scissors 0.5 - 0.2 */
	ASSERT_EQ(rps_choose(p, RPS_EXPECTED, &r), RPS_SCISSORS);
	/* rock 0.4 - 0.2, paper 0.4 - 0.4, scissors 0.2 - 0.4: rock, where
	 * argmax (the first of the two likeliest, rock) plays paper */
	ASSERT_EQ(rps_choose(even, RPS_EXPECTED, &r), RPS_ROCK);
	ASSERT_EQ(rps_choose(even, RPS_ARGMAX, &r), RPS_PAPER);
	for (int i = 0; i < 30000; i++)
		n[rps_choose(p, RPS_SAMPLE, &r)]++;
	ASSERT(fabs(n[RPS_PAPER] / 30000.0 - 0.2) < 0.02);      /* beats rock */
	ASSERT(fabs(n[RPS_SCISSORS] / 30000.0 - 0.5) < 0.02);
	ASSERT(fabs(n[RPS_ROCK] / 30000.0 - 0.3) < 0.02);
}

TEST(bots_param)
{
	int bots[RPS_BOTS];
	size_t n;
	struct err err;
	json_t *j;

	err_init(&err);
	ASSERT_EQ(rps_bots_parse(json_null(), bots, &n, &err), 0);
	ASSERT_EQ(n, RPS_BOTS);
	ASSERT_EQ(bots[6], RPS_BEATER);
	j = json_pack("[s,s]", "counter", "cycler");
	ASSERT_EQ(rps_bots_parse(j, bots, &n, &err), 0);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(bots[0], RPS_COUNTER);
	json_decref(j);
	j = json_pack("[s,s]", "cycler", "robot");
	ASSERT_EQ(rps_bots_parse(j, bots, &n, &err), -1);
	ASSERT_CONTAINS(err.msg, "\"robot\" is not a bot");
	json_decref(j);
	j = json_pack("[s,s]", "cycler", "cycler");
	ASSERT_EQ(rps_bots_parse(j, bots, &n, &err), -1);
	ASSERT_CONTAINS(err.msg, "'cycler' is listed twice");
	json_decref(j);
	j = json_array();
	ASSERT_EQ(rps_bots_parse(j, bots, &n, &err), -1);
	json_decref(j);
}

/* A predictor that expects the opponent's last move again (features 0-2,
 * lag 1's one-hot): perfect against a noiseless repeater. */
static int predict_repeat(void *arg, const double *x, size_t n, float *p,
			  struct err *err)
{
	(void)arg;
	(void)err;
	for (size_t g = 0; g < n; g++)
		for (int m = 0; m < RPS_MOVES; m++)
			p[g * RPS_MOVES + m] = (float)x[g * RPS_FEATURES + m];
	return 0;
}

/* A predictor that always says rock. */
static int predict_rock(void *arg, const double *x, size_t n, float *p,
			struct err *err)
{
	(void)arg;
	(void)x;
	(void)err;
	for (size_t g = 0; g < n; g++) {
		p[g * RPS_MOVES] = 1;
		p[g * RPS_MOVES + 1] = p[g * RPS_MOVES + 2] = 0;
	}
	return 0;
}

TEST(match_oracle_paired_deterministic)
{
	int bots[2] = {RPS_REPEATER, RPS_CYCLER};
	struct rps_predictor rep = {predict_repeat, NULL}, rock = {predict_rock, NULL};
	struct rps_match a, b;
	struct err err;
	unsigned char first[6];
	size_t first_wins = 0;

	err_init(&err);
	rps_match_init(&a, 6, 20, bots, 2, 0, RPS_ARGMAX, 9);
	rps_match_init(&b, 6, 20, bots, 2, 0, RPS_ARGMAX, 9);
	ASSERT_EQ(rps_match_play(&a, &rep, &err), 0);
	/* against the repeater (games 0, 2, 4) every round after the first is
	 * won, the first by chance */
	ASSERT_EQ(a.bot[RPS_REPEATER].rounds, 60);
	for (int g = 0; g < 6; g += 2)
		first_wins += rps_result(a.ai[g * 20], a.opp[g * 20]) == RPS_WIN;
	ASSERT_EQ(a.bot[RPS_REPEATER].wins, 57 + first_wins);
	ASSERT_EQ(a.total.rounds, 120);
	ASSERT_EQ(a.total.wins + a.total.losses + a.total.draws, 120);
	ASSERT_EQ(a.pred[0], RPS_MOVES);           /* no prediction in round 0 */
	ASSERT_EQ(a.pred[1], a.opp[0]);            /* then the last move */
	ASSERT_EQ(a.ai[1], rps_beats(a.opp[0]));
	for (int g = 0; g < 6; g++)
		first[g] = a.opp[g * 20];
	/* the same settings: the same games, whatever the predictor */
	ASSERT_EQ(rps_match_play(&b, &rock, &err), 0);
	for (int g = 0; g < 6; g++)
		ASSERT_EQ(b.opp[g * 20], first[g]);
	ASSERT_EQ(b.ai[5], RPS_PAPER);            /* beats rock */
	ASSERT_EQ(rps_match_play(&b, &rep, &err), 0);
	ASSERT(memcmp(a.ai, b.ai, 120) == 0 && memcmp(a.opp, b.opp, 120) == 0);
	ASSERT(memcmp(&a.total, &b.total, sizeof(a.total)) == 0);
	ASSERT(fabs(rps_tally_win_rate(&a.total) - a.total.wins / 120.0) < 1e-15);
	rps_match_release(&a);
	rps_match_release(&b);
}

TEST_LIST(T(results_and_points), T(names), T(feature_names), T(features_by_hand),
	  T(features_before_any_round), T(features_recent_window_and_streak),
	  T(features_no_leakage), T(bot_rules), T(bot_noise_and_bias),
	  T(bots_deterministic_by_seed), T(heuristic_beats_last_move),
	  T(choose_policies), T(bots_param), T(match_oracle_paired_deterministic))
