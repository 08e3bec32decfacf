/* rps_match: see rps_match.h.  One pass per round over every game: the
 * features of all games, one predictor call, then each game's moves. */
#include "rps_match.h"
#include "xalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void rps_match_init(struct rps_match *m, size_t games, size_t rounds,
		    const int *bots, size_t n_bots, double noise, int policy,
		    uint64_t seed)
{
	assert(n_bots >= 1 && n_bots <= RPS_BOTS);
	memset(m, 0, sizeof(*m));
	m->games = games;
	m->rounds = rounds;
	m->n_bots = n_bots;
	memcpy(m->bots, bots, n_bots * sizeof(int));
	m->noise = noise;
	m->policy = policy;
	m->seed = seed;
	m->ai = xcalloc(games * rounds + 1, 1);
	m->opp = xcalloc(games * rounds + 1, 1);
	m->pred = xcalloc(games * rounds + 1, 1);
}

void rps_match_release(struct rps_match *m)
{
	free(m->ai);
	free(m->opp);
	free(m->pred);
	memset(m, 0, sizeof(*m));
}

double rps_tally_win_rate(const struct rps_tally *t)
{
	return t->rounds ? (double)t->wins / (double)t->rounds : 0;
}

static void count(struct rps_tally *t, int result)
{
	t->rounds++;
	t->wins += result == RPS_WIN;
	t->losses += result == RPS_LOSE;
	t->draws += result == RPS_DRAW;
}

/* The games in play: a state and two generators each. */
struct games {
	struct rps_state *st;
	struct rng *bot_rng, *ai_rng;
};

/* Round 't' of every game; 'p' holds the predictions (t > 0). */
static void play_round(struct rps_match *m, struct games *G, size_t t,
		       const float *p)
{
	for (size_t g = 0; g < m->games; g++) {
		size_t at = g * m->rounds + t;
		int bot = m->bots[g % m->n_bots], ai, opp, pred = RPS_MOVES, res;
		if (t == 0) {
			ai = rps_ai_legacy(&G->ai_rng[g]);
		} else {
			const float *pg = p + g * RPS_MOVES;
			pred = 0;
			for (int k = 1; k < RPS_MOVES; k++)
				pred = pg[k] > pg[pred] ? k : pred;
			ai = rps_choose(pg, m->policy, &G->ai_rng[g]);
		}
		opp = rps_bot_move(bot, &G->st[g], m->noise, &G->bot_rng[g]);
		res = rps_result(ai, opp);
		count(&m->total, res);
		count(&m->bot[bot], res);
		m->ai[at] = (unsigned char)ai;
		m->opp[at] = (unsigned char)opp;
		m->pred[at] = (unsigned char)pred;
		rps_state_push(&G->st[g], (struct rps_round){(unsigned char)ai,
							     (unsigned char)opp});
	}
}

int rps_match_play(struct rps_match *m, const struct rps_predictor *pr,
		   struct err *err)
{
	size_t n = m->games;
	struct games G = {xcalloc(n + 1, sizeof(*G.st)),
				   xcalloc(n + 1, sizeof(struct rng)),
				   xcalloc(n + 1, sizeof(struct rng))};
	double *x = xcalloc(n * RPS_FEATURES + 1, sizeof(double));
	float *p = xcalloc(n * RPS_MOVES + 1, sizeof(float));
	int rc = 0;

	memset(&m->total, 0, sizeof(m->total));
	memset(m->bot, 0, sizeof(m->bot));
	for (size_t g = 0; g < n; g++) {
		struct rps_game_seed gs;
		rps_game_seed(m->seed, g, &gs);
		rng_seed(&G.bot_rng[g], gs.bot);
		rng_seed(&G.ai_rng[g], gs.ai);
		rps_state_init(&G.st[g], 0);
	}
	for (size_t t = 0; t < m->rounds && rc == 0; t++) {
		for (size_t g = 0; g < n && t > 0; g++)
			rps_state_features(&G.st[g], x + g * RPS_FEATURES);
		if (t > 0)
			rc = pr->predict(pr->arg, x, n, p, err);
		if (rc == 0)
			play_round(m, &G, t, p);
	}
	free(G.st);
	free(G.bot_rng);
	free(G.ai_rng);
	free(x);
	free(p);
	return rc;
}
