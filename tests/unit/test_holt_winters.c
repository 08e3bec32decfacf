/* test_holt_winters: the Holt-Winters library (tasks/lib/holt_winters.h):
 * the heuristic initial states on series whose states are known, the
 * recursion against statsmodels 0.13.5's numbers for fixed params (the
 * constants below came from ExponentialSmoothing(initialization_method=
 * "known").fit(optimized=False)), noiseless series fitted and forecast
 * exactly, the fit's optimum, failures, the JSON round trip and the season
 * a time step suggests. */
#include "test.h"
#include "holt_winters.h"

#include <math.h>
#include <stdlib.h>

/* 1e-9: what exact arithmetic may lose over a few hundred rows */
#define TIGHT 1e-9

static int close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol * fmax(1, fmax(fabs(a), fabs(b)));
}

static const struct hw_config ADD_ADD7 = {HW_ADD, HW_ADD, 0, 7};

/* 20 + 0.5 t plus a season of 7 summing to 0: every state is known. */
static const double pattern7[7] = {3, -1, 4, -2, 0, 1, -5};

static double *linear_seasonal(size_t n)
{
	double *y = malloc(n * sizeof(double));

	for (size_t t = 0; t < n; t++)
		y[t] = 20 + 0.5 * (double)t + pattern7[t % 7];
	return y;
}

TEST(initial_without_season_is_the_line_through_the_first_ten)
{
	struct hw_config cfg = {HW_ADD, HW_NONE, 0, 0};
	double y[12], l0, b0;
	struct err err;

	err_init(&err);
	for (int t = 0; t < 12; t++)
		y[t] = 2 + 3 * t;
	ASSERT_EQ(hw_initial(&cfg, y, 12, &l0, &b0, NULL, &err), 0);
	ASSERT(close_to(l0, -1, TIGHT));   /* the row before the first */
	ASSERT(close_to(b0, 3, TIGHT));
	cfg.trend = HW_MUL;
	for (int t = 0; t < 12; t++)
		y[t] = 10 + t;
	ASSERT_EQ(hw_initial(&cfg, y, 12, &l0, &b0, NULL, &err), 0);
	ASSERT(close_to(l0, 9, TIGHT));
	ASSERT(close_to(b0, 1 + 1.0 / 9, TIGHT));
}

TEST(initial_season_and_level_are_exact_on_a_noiseless_series)
{
	struct hw_config cfg = {HW_ADD, HW_ADD, 0, 4};
	static const double pat[4] = {2, -1, 0, -1};
	double y[20], l0, b0, s0[4];
	struct err err;

	err_init(&err);
	for (int t = 0; t < 20; t++)
		y[t] = 10 + t + pat[t % 4];
	ASSERT_EQ(hw_initial(&cfg, y, 20, &l0, &b0, s0, &err), 0);
	for (int j = 0; j < 4; j++)
		ASSERT(close_to(s0[j], pat[j], TIGHT));
	/* statsmodels would say 11: the trend two rows (m / 2) late */
	ASSERT(close_to(l0, 9, TIGHT));
	ASSERT(close_to(b0, 1, TIGHT));
}

TEST(initial_multiplicative_season_matches_statsmodels)
{
	struct hw_config cfg = {HW_NONE, HW_MUL, 0, 4};
	static const double pat[4] = {1.2, 0.8, 1.1, 0.9};
	static const double want[4] = {1.20167422, 0.80106055, 1.09845229, 0.89881294};
	double y[20], l0, b0, s0[4];
	struct err err;

	err_init(&err);
	for (int t = 0; t < 20; t++)
		y[t] = (10 + t) * pat[t % 4];
	ASSERT_EQ(hw_initial(&cfg, y, 20, &l0, &b0, s0, &err), 0);
	for (int j = 0; j < 4; j++)
		ASSERT(close_to(s0[j], want[j], 1e-8));
}

TEST(initial_refuses_short_series)
{
	struct hw_config cfg = {HW_ADD, HW_ADD, 0, 12};
	double y[20] = {0}, l0, b0, s0[12];
	struct err err;

	err_init(&err);
	ASSERT_EQ(hw_initial(&cfg, y, 9, &l0, &b0, s0, &err), -1);
	ASSERT_CONTAINS(err.msg, "9 training rows are too few");
	err_init(&err);
	ASSERT_EQ(hw_initial(&cfg, y, 20, &l0, &b0, s0, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "too few for a season of 12");
}

/* One case of statsmodels' recursion: fixed params (alpha .5, beta .3,
 * gamma .2, phi .9 when damped) and initial states, y below; what
 * ExponentialSmoothing(initialization_method="known").fit(optimized=False)
 * reported for the SSE, the last level and trend, the next row. */
struct known_case {
	struct hw_config cfg;
	double b0, s0[2];
	double sse, level, trend, next;
};

static const struct known_case known_cases[2] = {
	{{HW_ADD, HW_ADD, 0, 2}, 0.5, {1, -1},
	 28.362700956690755, 15.923430525195315, 0.8309208904882817, 16.57284725},
	/* next: the fit pass's own one-step forecast, fittedfcast[-1]; its
	 * forecast() reruns from initial_trend = b0 / phi, wrong when the
	 * trend is multiplicative */
	{{HW_MUL, HW_MUL, 1, 2}, 1.05, {1.1, 0.9},
	 32.12081191710828, 15.777996667576424, 1.0501416056019035, 16.4221436727986},
};

TEST(recursion_matches_statsmodels)
{
	static const double y[8] = {10, 12, 11, 14, 13, 15, 14, 17};

	for (int k = 0; k < 2; k++) {
		const struct known_case *c = &known_cases[k];
		struct hw_model hm;
		double fc;
		int ok;
		hw_model_init(&hm, &c->cfg);
		hm.alpha = 0.5, hm.beta = 0.3, hm.gamma = 0.2;
		hm.phi = c->cfg.damped ? 0.9 : 1;
		hm.l0 = 10, hm.b0 = c->b0, hm.s0[0] = c->s0[0], hm.s0[1] = c->s0[1];
		hw_smooth(&hm, y, 8);
		hw_forecast(&hm, 1, &fc);
		ok = close_to(hm.sse, c->sse, 1e-12) && close_to(hm.level, c->level, 1e-12) &&
		     close_to(hm.trend, c->trend, 1e-12) && close_to(fc, c->next, 1e-9);
		hw_release(&hm);
		ASSERT(ok);
	}
}

TEST(forecast_uses_the_latest_season_of_each_phase)
{
	/* after the last row, season[j] serves steps j + 1, j + 1 + m, ...;
	 * at h = m it is the season updated by the last row (statsmodels
	 * 0.13 reads one a cycle older there: its issue #9538) */
	struct hw_config cfg = {HW_NONE, HW_ADD, 0, 3};
	struct hw_model hm;
	double fc[7];

	hw_model_init(&hm, &cfg);
	hm.level = 10;
	hm.season[0] = 1;
	hm.season[1] = 2;
	hm.season[2] = 3;
	hw_forecast(&hm, 7, fc);
	ASSERT(fc[0] == 11 && fc[1] == 12 && fc[2] == 13 && fc[3] == 11 && fc[6] == 11);
	hw_release(&hm);
}

/* A model of 'cfg' with the given params and final states (phi 1). */
static void hand_model(struct hw_model *hm, struct hw_config cfg, double alpha,
		       double beta, double gamma, double level, double trend,
		       const double *season)
{
	hw_model_init(hm, &cfg);
	hm->alpha = alpha, hm->beta = beta, hm->gamma = gamma;
	hm->level = level, hm->trend = trend;
	for (size_t j = 0; j < cfg.m; j++)
		hm->season[j] = season[j];
}

TEST(one_step_filters_through_the_rows_multi_step_does_not)
{
	/* halves throughout, so every figure is exact and checkable by hand */
	struct hw_config plain = {HW_NONE, HW_NONE, 0, 0}, holt = {HW_ADD, HW_NONE, 0, 0};
	struct hw_config seas = {HW_NONE, HW_ADD, 0, 2};
	static const double s2[2] = {1, -1};
	struct hw_model hm;
	double y[3] = {12, 8, 10}, out[3];

	/* level 10, alpha 0.5: 10; then 0.5 * 12 + 0.5 * 10 = 11; then
	 * 0.5 * 8 + 0.5 * 11 = 9.5.  Multi-step: 10 throughout. */
	hand_model(&hm, plain, 0.5, 0, 0, 10, 0, NULL);
	hw_one_step(&hm, y, 3, out);
	ASSERT(out[0] == 10 && out[1] == 11 && out[2] == 9.5);
	hw_forecast(&hm, 3, out);
	ASSERT(out[0] == 10 && out[1] == 10 && out[2] == 10);
	ASSERT(hm.level == 10);   /* the model is not changed */
	hw_release(&hm);

	/* Holt, level 10, trend 1, alpha = beta = 0.5, y 12, 12: 11; then
	 * l = 0.5 * 12 + 0.5 * 11 = 11.5, b = 0.5 * 1.5 + 0.5 * 1 = 1.25:
	 * 12.75.  Multi-step: 11, 12. */
	y[0] = y[1] = 12;
	hand_model(&hm, holt, 0.5, 0.5, 0, 10, 1, NULL);
	hw_one_step(&hm, y, 2, out);
	ASSERT(out[0] == 11 && out[1] == 12.75);
	hw_forecast(&hm, 2, out);
	ASSERT(out[0] == 11 && out[1] == 12);
	hw_release(&hm);

	/* season of 2 {1, -1}, level 10, alpha = gamma = 0.5, y 13, 9, 12:
	 * 11; l = 0.5 * 12 + 5 = 11, s0 = 0.5 * 3 + 0.5 = 2; 11 - 1 = 10;
	 * l = 0.5 * 10 + 5.5 = 10.5, s1 = 0.5 * -2 - 0.5 = -1.5; 10.5 + 2.
	 * Multi-step: 11, 9, 11. */
	y[0] = 13, y[1] = 9, y[2] = 12;
	hand_model(&hm, seas, 0.5, 0, 0.5, 10, 0, s2);
	hw_one_step(&hm, y, 3, out);
	ASSERT(out[0] == 11 && out[1] == 10 && out[2] == 12.5);
	hw_forecast(&hm, 3, out);
	ASSERT(out[0] == 11 && out[1] == 9 && out[2] == 11);
	ASSERT(hm.season[0] == 1 && hm.season[1] == -1);
	hw_release(&hm);
}

TEST(one_step_continues_the_fitted_recursion)
{
	/* smoothing 0..n in one go gives the same one-step forecasts of the
	 * tail as smoothing 0..k and then filtering k..n */
	double *y = linear_seasonal(60), all[60], tail[20];
	struct hw_model hm;

	hw_model_init(&hm, &ADD_ADD7);
	hm.alpha = 0.3, hm.beta = 0.1, hm.gamma = 0.2, hm.phi = 1;
	hm.l0 = 19, hm.b0 = 0.4;
	for (int j = 0; j < 7; j++)
		hm.s0[j] = pattern7[j] + 0.1 * j;
	hw_smooth(&hm, y, 40);
	hw_one_step(&hm, y + 40, 20, tail);
	hw_smooth(&hm, y, 0);    /* back to the initial states */
	hm.level = hm.l0, hm.trend = hm.b0;
	for (int j = 0; j < 7; j++)
		hm.season[j] = hm.s0[j];
	hw_one_step(&hm, y, 60, all);
	for (int i = 0; i < 20; i++)
		ASSERT(close_to(tail[i], all[40 + i], TIGHT));
	hw_release(&hm);
	free(y);
}

TEST(noiseless_additive_series_is_fitted_and_forecast_exactly)
{
	double *y = linear_seasonal(140), fc[28];
	struct hw_model hm;
	struct err err;

	err_init(&err);
	ASSERT_EQ(hw_fit(&hm, &ADD_ADD7, y, 112, &err), 0);
	ASSERT(hm.sse < 1e-18);
	ASSERT(close_to(hm.level, 20 + 0.5 * 111, TIGHT));   /* the level of the last row */
	ASSERT(close_to(hm.trend, 0.5, TIGHT));
	for (size_t j = 0; j < 7; j++)
		ASSERT(close_to(hm.season[j], pattern7[(112 + j) % 7], TIGHT));
	hw_forecast(&hm, 28, fc);
	for (size_t h = 0; h < 28; h++)
		ASSERT(close_to(fc[h], y[112 + h], TIGHT));
	hw_release(&hm);
	free(y);
}

TEST(noiseless_multiplicative_series_is_forecast_closely)
{
	static const double pat[7] = {1.1, 0.9, 1.2, 0.8, 1.0, 1.05, 0.95};
	struct hw_config cfg = {HW_MUL, HW_MUL, 0, 7};
	double y[140], fc[28];
	struct hw_model hm;
	struct err err;

	err_init(&err);
	for (int t = 0; t < 140; t++)
		y[t] = 100 * pow(1.01, t) * pat[t % 7];
	ASSERT_EQ(hw_fit(&hm, &cfg, y, 112, &err), 0);
	ASSERT(fabs(hm.trend - 1.01) < 1e-4);
	hw_forecast(&hm, 28, fc);
	for (size_t h = 0; h < 28; h++)
		ASSERT(fabs(fc[h] / y[112 + h] - 1) < 1e-3);
	hw_release(&hm);
}

/* A noisy seasonal series from a fixed generator. */
static void noisy(double *y, size_t n)
{
	unsigned long long s = 12345;

	for (size_t t = 0; t < n; t++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		y[t] = 50 + 0.1 * (double)t + pattern7[t % 7] +
		       ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 3;
	}
}

/* The SSE of 'fit' with one param moved by 'd', kept inside the bounds. */
static double sse_moved(const struct hw_model *fit, const double *y, size_t n,
			int which, double d)
{
	struct hw_model hm = *fit;
	double *p[4] = {&hm.alpha, &hm.beta, &hm.gamma, &hm.phi}, lo[4], hi[4], v;

	lo[0] = 0, hi[0] = 1, lo[1] = 0, hi[1] = hm.alpha;
	lo[2] = 0, hi[2] = 1 - hm.alpha, lo[3] = 0.8, hi[3] = 0.995;
	v = *p[which] + d;
	*p[which] = v < lo[which] ? lo[which] : v > hi[which] ? hi[which] : v;
	hm.beta = fmin(hm.beta, hm.alpha);   /* stay feasible when alpha moves */
	hm.gamma = fmin(hm.gamma, 1 - hm.alpha);
	hm.season = malloc(hm.cfg.m * sizeof(double));
	hw_smooth(&hm, y, n);
	free(hm.season);
	return hm.sse;
}

TEST(the_fit_is_a_minimum_of_the_sse)
{
	struct hw_config cfg = {HW_ADD, HW_ADD, 1, 7};
	struct hw_model hm;
	struct err err;
	double y[300];

	err_init(&err);
	noisy(y, 300);
	ASSERT_EQ(hw_fit(&hm, &cfg, y, 300, &err), 0);
	ASSERT(hm.alpha > 0 && hm.alpha < 1 && hm.beta >= 0 && hm.beta <= hm.alpha);
	ASSERT(hm.gamma >= 0 && hm.gamma <= 1 - hm.alpha);
	ASSERT(hm.phi >= 0.8 && hm.phi <= 0.995);
	/* 1e-7: the logistic transform nears a bound (here beta = alpha and
	 * phi = 0.995) without reaching it; a point that is not a minimum
	 * loses far more to a step of 1e-3 */
	for (int k = 0; k < 4; k++) {
		ASSERT(sse_moved(&hm, y, 300, k, 1e-3) >= hm.sse * (1 - 1e-7));
		ASSERT(sse_moved(&hm, y, 300, k, -1e-3) >= hm.sse * (1 - 1e-7));
	}
	hw_release(&hm);
}

TEST(fit_refuses_what_does_not_suit)
{
	struct hw_config cfg = {HW_NONE, HW_MUL, 0, 7};
	double *y = linear_seasonal(140);
	struct hw_model hm;
	struct err err;

	err_init(&err);
	y[30] = 0;
	ASSERT_EQ(hw_fit(&hm, &cfg, y, 140, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "row 31 is 0: a multiplicative trend or season needs values above 0");
	hw_release(&hm);
	err_init(&err);
	ASSERT_EQ(hw_fit(&hm, &ADD_ADD7, y, 13, &err), -1);
	ASSERT_CONTAINS(err.msg, "13 training rows are too few for a season of 7");
	hw_release(&hm);
	free(y);
}

TEST(fit_is_deterministic)
{
	struct hw_model a, b;
	struct err err;
	double y[300];

	err_init(&err);
	noisy(y, 300);
	ASSERT_EQ(hw_fit(&a, &ADD_ADD7, y, 300, &err), 0);
	ASSERT_EQ(hw_fit(&b, &ADD_ADD7, y, 300, &err), 0);
	ASSERT(a.alpha == b.alpha && a.beta == b.beta && a.gamma == b.gamma && a.sse == b.sse);
	hw_release(&a);
	hw_release(&b);
}

TEST(json_round_trip_forecasts_the_same)
{
	struct hw_config cfg = {HW_ADD, HW_MUL, 1, 7};
	struct hw_model hm, back;
	double y[300], f1[10], f2[10];
	struct err err;
	json_t *j;

	err_init(&err);
	noisy(y, 300);
	ASSERT_EQ(hw_fit(&hm, &cfg, y, 300, &err), 0);
	j = hw_to_json(&hm);
	ASSERT_EQ(hw_from_json(j, &back, &err), 0);
	hw_forecast(&hm, 10, f1);
	hw_forecast(&back, 10, f2);
	for (int h = 0; h < 10; h++)
		ASSERT(f1[h] == f2[h]);
	ASSERT_STREQ(json_string_value(json_object_get(j, "seasonal")), "mul");
	ASSERT(json_is_null(json_object_get(json_object_get(j, "params"), "phi")) == 0);
	json_object_set_new(j, "seasonal_periods", json_integer(1));
	hw_release(&back);
	ASSERT_EQ(hw_from_json(j, &back, &err), -1);
	ASSERT_CONTAINS(err.msg, "not a holt_winters model");
	json_decref(j);
	hw_release(&back);
	hw_release(&hm);
}

TEST(season_of_step)
{
	int64_t v[5] = {7, 3, 5, 3, 9};

	ASSERT_EQ(hw_season_of_step(3600), 24);
	ASSERT_EQ(hw_season_of_step(1800), 48);
	ASSERT_EQ(hw_season_of_step(60), 1440);
	ASSERT_EQ(hw_season_of_step(86400), 7);
	ASSERT_EQ(hw_season_of_step(7 * 86400), 52);
	ASSERT_EQ(hw_season_of_step(30 * 86400), 12);
	ASSERT_EQ(hw_season_of_step(91 * 86400), 4);
	ASSERT_EQ(hw_season_of_step(7000), 0);
	ASSERT_EQ(hw_season_of_step(2 * 86400), 0);
	ASSERT_EQ(hw_season_of_step(0), 0);
	ASSERT_EQ(hw_median_i64(v, 5), 5);
}

TEST_LIST(T(initial_without_season_is_the_line_through_the_first_ten),
	  T(initial_season_and_level_are_exact_on_a_noiseless_series),
	  T(initial_multiplicative_season_matches_statsmodels),
	  T(initial_refuses_short_series),
	  T(recursion_matches_statsmodels),
	  T(forecast_uses_the_latest_season_of_each_phase),
	  T(one_step_filters_through_the_rows_multi_step_does_not),
	  T(one_step_continues_the_fitted_recursion),
	  T(noiseless_additive_series_is_fitted_and_forecast_exactly),
	  T(noiseless_multiplicative_series_is_forecast_closely),
	  T(the_fit_is_a_minimum_of_the_sse),
	  T(fit_refuses_what_does_not_suit),
	  T(fit_is_deterministic),
	  T(json_round_trip_forecasts_the_same),
	  T(season_of_step))
