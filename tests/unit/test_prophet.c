/* Unit tests of holidays (known dates) and prophet (the objective's
 * gradient against finite differences, the objective against the
 * forecast, recovery of a known trend and seasonality, auto seasonality,
 * changepoint placement, determinism, the JSON round trip, and the
 * errors). */
#include "holidays.h"
#include "prophet.h"
#include "test.h"
#include "timeparse.h"

#include <math.h>
#include <stdlib.h>

#define DAY 86400

/* --- helpers ------------------------------------------------------- */

static int64_t ymd(int y, int m, int d)
{
	return timeparse_days_from_civil(y, m, d);
}

/* The name of the holiday of 'country' on y-m-d, or NULL. */
static const char *holiday_on(const char *country, int y, int m, int d)
{
	struct holiday h[HOLIDAYS_MAX_PER_YEAR];
	size_t n = holidays_of_year(country, y, h);

	for (size_t i = 0; i < n; i++)
		if (h[i].day == ymd(y, m, d))
			return h[i].name;
	return NULL;
}

/* A deterministic uniform in [0, 1) for test data (LCG). */
static double test_uniform(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) * 0x1.0p-53;
}

static double test_normal(unsigned long long *s)
{
	double u = test_uniform(s) + 1e-12, v = test_uniform(s);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* 'n' daily rows from 2021-01-01: level 10, slope 0.01 a day that turns
 * to -0.02 at day 'turn', a weekly wave of amplitude 'amp' (peak on the
 * Monday phase), Gaussian noise 'noise'. */
static void synth(int64_t *ts, double *y, size_t n, size_t turn, double amp,
		  double noise)
{
	unsigned long long s = 42;
	int64_t t0 = ymd(2021, 1, 1) * DAY;

	for (size_t i = 0; i < n; i++) {
		double d = (double)i, trend = 10 + 0.01 * d;
		if (i >= turn)
			trend -= 0.03 * (d - (double)turn);
		ts[i] = t0 + (int64_t)i * DAY;
		y[i] = trend + amp * sin(2 * M_PI * (double)ts[i] / DAY / 7) +
		       noise * test_normal(&s);
	}
}

/* --- holidays ------------------------------------------------------ */

TEST(holidays_fixed_rules)
{
	ASSERT_STREQ(holiday_on("US", 2024, 11, 28), "Thanksgiving");
	ASSERT_STREQ(holiday_on("US", 2024, 5, 27), "Memorial Day");
	ASSERT_STREQ(holiday_on("US", 2024, 1, 15), "Martin Luther King Jr. Day");
	ASSERT_STREQ(holiday_on("US", 2024, 2, 19), "Washington's Birthday");
	ASSERT_STREQ(holiday_on("US", 2024, 9, 2), "Labor Day");
	ASSERT_STREQ(holiday_on("US", 2024, 10, 14), "Columbus Day");
	ASSERT_STREQ(holiday_on("US", 2023, 11, 23), "Thanksgiving");
	ASSERT_STREQ(holiday_on("US", 2015, 5, 25), "Memorial Day");
	ASSERT_EQ(holidays_weekday(ymd(2024, 11, 28)), 3);
	ASSERT_EQ(holidays_weekday(ymd(1970, 1, 1)), 3);
	ASSERT_EQ(holidays_weekday(ymd(1969, 12, 29)), 0);
}

TEST(holidays_observed_on_weekends)
{
	/* July 4th 2020 was a Saturday, 2021 a Sunday */
	ASSERT_STREQ(holiday_on("US", 2020, 7, 3), "Independence Day (Observed)");
	ASSERT_STREQ(holiday_on("US", 2020, 7, 4), "Independence Day");
	ASSERT_STREQ(holiday_on("US", 2021, 7, 5), "Independence Day (Observed)");
	/* Christmas 2022 a Sunday; New Year 2022 a Saturday: observed in 2021 */
	ASSERT_STREQ(holiday_on("US", 2022, 12, 26), "Christmas Day (Observed)");
	ASSERT_STREQ(holiday_on("US", 2021, 12, 31), "New Year's Day (Observed)");
	ASSERT(holiday_on("US", 2022, 1, 3) == NULL);
	/* Veterans Day 2023 a Saturday */
	ASSERT_STREQ(holiday_on("US", 2023, 11, 10), "Veterans Day (Observed)");
	ASSERT(holiday_on("US", 2024, 7, 5) == NULL);
}

TEST(holidays_follow_the_law_by_year)
{
	ASSERT(holiday_on("US", 2020, 6, 19) == NULL);
	ASSERT_STREQ(holiday_on("US", 2021, 6, 18),
		     "Juneteenth National Independence Day (Observed)");
	ASSERT_STREQ(holiday_on("US", 2022, 6, 20),
		     "Juneteenth National Independence Day (Observed)");
	ASSERT(holiday_on("US", 1985, 1, 21) == NULL);
	ASSERT_STREQ(holiday_on("US", 1986, 1, 20), "Martin Luther King Jr. Day");
	ASSERT_STREQ(holiday_on("US", 1975, 10, 27), "Veterans Day");
	ASSERT_STREQ(holiday_on("US", 1965, 5, 30), "Memorial Day");
	ASSERT_STREQ(holiday_on("US", 2400, 12, 25), "Christmas Day");
}

TEST(holidays_by_country)
{
	struct holiday h[HOLIDAYS_MAX_PER_YEAR];
	size_t n;
	struct holiday *all;

	ASSERT(holidays_known("US"));
	ASSERT(holidays_known(""));
	ASSERT(holidays_known(NULL));
	ASSERT(!holidays_known("FR"));
	ASSERT_EQ(holidays_of_year("", 2024, h), 0);
	ASSERT_EQ(holidays_of_year(NULL, 2024, h), 0);
	ASSERT_EQ(holidays_of_year("FR", 2024, h), 0);
	/* 2024: 11 holidays, Juneteenth on a Wednesday, none observed but
	 * Christmas? No: Dec 25 2024 is a Wednesday; New Year 2025 too */
	ASSERT_EQ(holidays_of_year("US", 2024, h), 11);
	for (size_t i = 1; i < 11; i++)
		ASSERT(h[i - 1].day < h[i].day);
	all = holidays_between("US", 2020, 2022, &n);
	ASSERT_EQ(n, holidays_of_year("US", 2020, h) + holidays_of_year("US", 2021, h) +
		  holidays_of_year("US", 2022, h));
	free(all);
}

/* R prophet 1.0's US holidays for 1995-2020 (prophet:::make_holidays_df,
 * from the Python 'holidays' package) are these 288 dates, 28 of them
 * observed days; the lists were compared line by line when this was
 * written, and agree for every year until 2044 but for Juneteenth, which
 * that package's data predates. */
TEST(holidays_agree_with_prophets_list)
{
	size_t n, observed = 0;
	struct holiday *h = holidays_between("US", 1995, 2020, &n);

	for (size_t i = 0; i < n; i++)
		observed += strstr(h[i].name, "(Observed)") != NULL;
	free(h);
	ASSERT_EQ(n, 288);
	ASSERT_EQ(observed, 28);
}

/* --- the objective ------------------------------------------------- */

/* Central differences against the analytic gradient at a point with
 * every delta away from its kink at 0. */
static int gradient_matches(enum prophet_growth growth, enum prophet_mode mode)
{
	enum { N = 200 };
	int64_t ts[N];
	double y[N], *x, *g, worst = 0;
	struct prophet_config cfg;
	struct prophet_model pm;
	struct prophet_problem *p;
	struct err err;
	unsigned long long s = 7;
	size_t dim;

	synth(ts, y, N, 120, 1.5, 0.3);
	prophet_config_init(&cfg);
	cfg.growth = growth;
	cfg.mode = mode;
	cfg.cap = 30;
	cfg.n_changepoints = 8;
	err_init(&err);
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	if (!p)
		return 0;
	dim = prophet_problem_dim(p);
	x = calloc(dim, sizeof(double));
	g = calloc(dim, sizeof(double));
	prophet_problem_start(p, x);
	for (size_t j = 0; j < dim; j++)
		x[j] += 0.05 * (test_uniform(&s) - 0.5) + (j >= 2 && j < 2 + pm.n_cp ? 0.02 : 0);
	x[2 + pm.n_cp] = log(0.4);
	prophet_problem_eval(p, x, g);
	for (size_t j = 0; j < dim; j++) {
		double h = 1e-6 * fmax(1, fabs(x[j])), keep = x[j], fp, fm, fd;
		x[j] = keep + h;
		fp = prophet_problem_eval(p, x, NULL);
		x[j] = keep - h;
		fm = prophet_problem_eval(p, x, NULL);
		x[j] = keep;
		fd = (fp - fm) / (2 * h);
		worst = fmax(worst, fabs(fd - g[j]) / fmax(1, fabs(g[j])));
	}
	free(x);
	free(g);
	prophet_problem_free(p);
	prophet_release(&pm);
	if (worst > 1e-5)
		fprintf(stderr, "worst relative gradient error %g\n", worst);
	return worst <= 1e-5;
}

TEST(gradient_linear_additive)
{
	ASSERT(gradient_matches(PROPHET_LINEAR, PROPHET_ADDITIVE));
}

TEST(gradient_linear_multiplicative)
{
	ASSERT(gradient_matches(PROPHET_LINEAR, PROPHET_MULTIPLICATIVE));
}

TEST(gradient_logistic_additive)
{
	ASSERT(gradient_matches(PROPHET_LOGISTIC, PROPHET_ADDITIVE));
}

TEST(gradient_logistic_multiplicative)
{
	ASSERT(gradient_matches(PROPHET_LOGISTIC, PROPHET_MULTIPLICATIVE));
}

/* The objective equals the negative log posterior computed here from
 * the forecast at the training rows: both evaluation paths and predict
 * agree on the model. */
static double objective_gap(enum prophet_growth growth, enum prophet_mode mode)
{
	enum { N = 150 };
	int64_t ts[N];
	double y[N], yhat[N], *x, f, nlp = 0, sse = 0, sigma;
	struct prophet_config cfg;
	struct prophet_model pm;
	struct prophet_problem *p;
	struct err err;
	unsigned long long s = 3;

	synth(ts, y, N, 90, 1.0, 0.2);
	prophet_config_init(&cfg);
	cfg.growth = growth;
	cfg.mode = mode;
	cfg.cap = 25;
	cfg.n_changepoints = 5;
	err_init(&err);
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	if (!p)
		return INFINITY;
	x = calloc(prophet_problem_dim(p), sizeof(double));
	prophet_problem_start(p, x);
	for (size_t j = 0; j < prophet_problem_dim(p); j++)
		x[j] += 0.02 * (test_uniform(&s) - 0.5);
	f = prophet_problem_eval(p, x, NULL);
	prophet_problem_set(p, x, &pm);
	prophet_predict(&pm, ts, N, yhat, NULL, NULL);
	for (size_t i = 0; i < N; i++) {
		double r = (y[i] - yhat[i]) / pm.y_scale;
		sse += r * r;
	}
	sigma = pm.sigma_obs;
	nlp = N * log(sigma) + sse / (2 * sigma * sigma) + (pm.k * pm.k + pm.m * pm.m) / 50 +
	      sigma * sigma / 0.5;
	for (size_t j = 0; j < pm.n_cp; j++)
		nlp += fabs(pm.delta[j]) / cfg.changepoint_prior_scale;
	for (size_t j = 0; j < pm.n_beta; j++) {
		double sc = j < pm.n_beta - pm.n_holidays ? cfg.seasonality_prior_scale :
			    cfg.holidays_prior_scale;
		nlp += pm.beta[j] * pm.beta[j] / (2 * sc * sc);
	}
	free(x);
	prophet_problem_free(p);
	prophet_release(&pm);
	return fabs(f - nlp) / fmax(1, fabs(nlp));
}

TEST(objective_matches_forecast)
{
	ASSERT(objective_gap(PROPHET_LINEAR, PROPHET_ADDITIVE) < 1e-10);
	ASSERT(objective_gap(PROPHET_LINEAR, PROPHET_MULTIPLICATIVE) < 1e-10);
	ASSERT(objective_gap(PROPHET_LOGISTIC, PROPHET_ADDITIVE) < 1e-10);
	ASSERT(objective_gap(PROPHET_LOGISTIC, PROPHET_MULTIPLICATIVE) < 1e-10);
}

/* --- the fit ------------------------------------------------------- */

/* Fit a default model with 'cfg' changes; 0 or -1. */
static int fit(struct prophet_model *pm, struct prophet_config *cfg,
	       const int64_t *ts, const double *y, size_t n)
{
	struct err err;

	err_init(&err);
	if (prophet_fit(pm, cfg, ts, y, n, &err)) {
		fprintf(stderr, "fit: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* The trend's slope in original units per day after 'day' days. */
static double slope_at(const struct prophet_model *pm, double day)
{
	double t = day * DAY / pm->t_scale, rate = pm->k;

	for (size_t j = 0; j < pm->n_cp; j++)
		if (pm->cp_t[j] <= t)
			rate += pm->delta[j];
	return rate * pm->y_scale / pm->t_scale * DAY;
}

TEST(recovers_trend_and_weekly_amplitude)
{
	enum { N = 600, TURN = 300 };
	int64_t ts[N];
	double y[N], amp, future[60], yhat[60], err_max = 0;
	int64_t tf[60];
	struct prophet_config cfg;
	struct prophet_model pm;

	synth(ts, y, N, TURN, 2.0, 0.1);
	prophet_config_init(&cfg);
	cfg.country[0] = '\0';
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	ASSERT_EQ(pm.n_seasons, 1);           /* 600 days: weekly only */
	ASSERT_STREQ(pm.seasons[0].name, "weekly");
	/* the first Fourier pair carries the wave: amplitude 2 */
	amp = hypot(pm.beta[0], pm.beta[1]) * pm.y_scale;
	ASSERT(fabs(amp - 2.0) < 0.05);
	ASSERT(hypot(pm.beta[2], pm.beta[3]) * pm.y_scale < 0.05);
	ASSERT(fabs(slope_at(&pm, 100) - 0.01) < 0.002);
	ASSERT(fabs(slope_at(&pm, 450) + 0.02) < 0.002);
	/* the next 60 days follow the line and the wave */
	for (int i = 0; i < 60; i++) {
		tf[i] = ts[N - 1] + (int64_t)(i + 1) * DAY;
		future[i] = 10 + 0.01 * (N + i) - 0.03 * (N + i - TURN) +
			    2.0 * sin(2 * M_PI * (double)tf[i] / DAY / 7);
	}
	prophet_predict(&pm, tf, 60, yhat, NULL, NULL);
	for (int i = 0; i < 60; i++)
		err_max = fmax(err_max, fabs(yhat[i] - future[i]));
	ASSERT(err_max < 0.25);
	ASSERT(pm.sigma_obs * pm.y_scale > 0.08 && pm.sigma_obs * pm.y_scale < 0.12);
	prophet_release(&pm);
}

/* The exact path ends at a minimum: the gradient vanishes but for the
 * deltas at 0, whose smooth gradient is within the L1 weight 1/tau. */
TEST(exact_fit_meets_the_optimality_conditions)
{
	enum { N = 700 };
	int64_t ts[N];
	double y[N], *x, *g, scale = 0;
	struct prophet_config cfg;
	struct prophet_model pm, fitted;
	struct prophet_problem *p;
	struct err err;
	size_t S, zeros = 0;

	synth(ts, y, N, 400, 1.5, 0.4);
	prophet_config_init(&cfg);
	ASSERT_EQ(fit(&fitted, &cfg, ts, y, N), 0);
	err_init(&err);
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	ASSERT(p != NULL);
	S = pm.n_cp;
	x = calloc(prophet_problem_dim(p), sizeof(double));
	g = calloc(prophet_problem_dim(p), sizeof(double));
	x[0] = fitted.k;
	x[1] = fitted.m;
	memcpy(x + 2, fitted.delta, S * sizeof(double));
	x[2 + S] = log(fitted.sigma_obs);
	memcpy(x + 3 + S, fitted.beta, fitted.n_beta * sizeof(double));
	ASSERT(fabs(prophet_problem_eval(p, x, g) - fitted.objective) < 1e-9);
	for (size_t j = 0; j < prophet_problem_dim(p); j++)
		scale = fmax(scale, fabs(g[j]));
	for (size_t j = 0; j < prophet_problem_dim(p); j++) {
		if (j >= 2 && j < 2 + S && x[j] == 0) {
			zeros++;
			ASSERT(fabs(g[j]) <= 1 / cfg.changepoint_prior_scale * (1 + 1e-6));
		} else {
			ASSERT(fabs(g[j]) < 1e-5 * (1 + N / 0.16));
		}
	}
	ASSERT(zeros > 5);    /* the Laplace prior makes the changes sparse */
	ASSERT(fitted.iterations < 100);
	free(x);
	free(g);
	prophet_problem_free(p);
	prophet_release(&pm);
	prophet_release(&fitted);
}

/* No changepoints: the dummy's change is folded into k, as Prophet does. */
TEST(no_changepoints_fold_into_the_rate)
{
	enum { N = 200 };
	int64_t ts[N];
	double y[N];
	struct prophet_config cfg;
	struct prophet_model pm;

	synth(ts, y, N, N, 1.0, 0.2);
	prophet_config_init(&cfg);
	cfg.n_changepoints = 0;
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	ASSERT_EQ(pm.n_cp, 1);
	ASSERT(pm.delta[0] == 0);
	ASSERT(fabs(slope_at(&pm, 100) - 0.01) < 0.002);
	prophet_release(&pm);
}

TEST(intervals_cover_about_their_width)
{
	enum { N = 400, H = 100 };
	int64_t ts[N + H];
	double y[N + H], yhat[H], lo[H], hi[H];
	struct prophet_config cfg;
	struct prophet_model pm;
	int inside = 0;

	synth(ts, y, N + H, N + H, 1.0, 0.5);   /* no turn: a steady trend */
	prophet_config_init(&cfg);
	cfg.country[0] = '\0';
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	prophet_predict(&pm, ts + N, H, yhat, lo, hi);
	for (int i = 0; i < H; i++) {
		ASSERT(lo[i] < yhat[i] && yhat[i] < hi[i]);
		inside += lo[i] <= y[N + i] && y[N + i] <= hi[i];
	}
	ASSERT(inside >= 65 && inside <= 97);
	/* the band widens with the horizon: trend uncertainty grows */
	ASSERT(hi[H - 1] - lo[H - 1] > hi[0] - lo[0]);
	prophet_release(&pm);
}

TEST(logistic_growth_stays_under_cap)
{
	enum { N = 300 };
	int64_t ts[N], tf[50];
	double y[N], yhat[50];
	struct prophet_config cfg;
	struct prophet_model pm;

	for (int i = 0; i < N; i++) {
		ts[i] = ymd(2020, 1, 1) * DAY + (int64_t)i * DAY;
		y[i] = 100 / (1 + exp(-0.03 * (i - 150)));
	}
	for (int i = 0; i < 50; i++)
		tf[i] = ts[N - 1] + (int64_t)(i + 1) * 30 * DAY;
	prophet_config_init(&cfg);
	cfg.growth = PROPHET_LOGISTIC;
	cfg.cap = 100;
	cfg.country[0] = '\0';
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	prophet_predict(&pm, tf, 50, yhat, NULL, NULL);
	for (int i = 0; i < 50; i++)
		ASSERT(yhat[i] < 101 && yhat[i] > 95);
	prophet_release(&pm);
}

TEST(auto_seasonality_follows_span_and_step)
{
	enum { N = 240 };
	int64_t ts[N];
	double y[N];
	struct prophet_config cfg;
	struct prophet_model pm;
	struct prophet_problem *p;
	struct err err;

	for (int i = 0; i < N; i++) {   /* 10 days of hours */
		ts[i] = 1700000000 + (int64_t)i * 3600;
		y[i] = sin(i / 24.0 * 2 * M_PI) + 0.01 * i;
	}
	prophet_config_init(&cfg);
	err_init(&err);
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	ASSERT(p != NULL);
	ASSERT_EQ(pm.cfg.yearly, 0);
	ASSERT_EQ(pm.cfg.weekly, 0);
	ASSERT_EQ(pm.cfg.daily, 4);
	prophet_problem_free(p);
	prophet_release(&pm);
	for (int i = 0; i < N; i++)    /* 240 weeks */
		ts[i] = 1700000000 + (int64_t)i * 7 * DAY;
	cfg.weekly = 2;                /* an explicit order wins over auto */
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	ASSERT(p != NULL);
	ASSERT_EQ(pm.cfg.yearly, 10);
	ASSERT_EQ(pm.cfg.weekly, 2);
	ASSERT_EQ(pm.cfg.daily, 0);
	ASSERT_EQ(pm.n_beta, 24 + pm.n_holidays);
	prophet_problem_free(p);
	prophet_release(&pm);
}

TEST(changepoints_as_prophet_places_them)
{
	enum { N = 100 };
	int64_t ts[N];
	double y[N];
	struct prophet_config cfg;
	struct prophet_model pm;
	struct prophet_problem *p;
	struct err err;

	synth(ts, y, N, N, 0, 0.1);
	prophet_config_init(&cfg);
	cfg.n_changepoints = 4;        /* rows 0, 19.75, 39.5, 59.25, 79 */
	err_init(&err);
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	ASSERT(p != NULL);
	ASSERT_EQ(pm.n_cp, 4);
	ASSERT(fabs(pm.cp_t[0] - 20.0 / 99) < 1e-12);
	ASSERT(fabs(pm.cp_t[1] - 40.0 / 99) < 1e-12);   /* half to even */
	ASSERT(fabs(pm.cp_t[2] - 59.0 / 99) < 1e-12);
	ASSERT(fabs(pm.cp_t[3] - 79.0 / 99) < 1e-12);
	prophet_problem_free(p);
	prophet_release(&pm);
	cfg.n_changepoints = 500;      /* more than rows: one per row */
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	ASSERT(p != NULL);
	ASSERT_EQ(pm.n_cp, 79);
	prophet_problem_free(p);
	prophet_release(&pm);
	cfg.n_changepoints = 0;        /* none: one dummy at t = 0 */
	p = prophet_problem_new(&pm, &cfg, ts, y, N, &err);
	ASSERT(p != NULL);
	ASSERT_EQ(pm.n_cp, 1);
	ASSERT(pm.cp_t[0] == 0);
	prophet_problem_free(p);
	prophet_release(&pm);
}

TEST(holidays_become_columns)
{
	enum { N = 400 };
	int64_t ts[N];
	double y[N];
	struct prophet_config cfg;
	struct prophet_model pm;
	unsigned long long s = 5;

	for (int i = 0; i < N; i++) {   /* 2021-01-01 on: a jump on Thanksgiving */
		ts[i] = ymd(2021, 1, 1) * DAY + (int64_t)i * DAY;
		y[i] = 5 + 0.1 * test_normal(&s) +
		       (ts[i] / DAY == ymd(2021, 11, 25) ? 3 : 0);
	}
	prophet_config_init(&cfg);
	cfg.weekly = 0;
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	ASSERT_EQ(pm.n_beta, pm.n_holidays);
	for (size_t h = 0; h < pm.n_holidays; h++) {
		double effect = pm.beta[h] * pm.y_scale;
		if (!strcmp(pm.holidays[h], "Thanksgiving"))
			ASSERT(effect > 2.5 && effect < 3.1);
		else
			ASSERT(fabs(effect) < 0.4);
		if (h)
			ASSERT(strcmp(pm.holidays[h - 1], pm.holidays[h]) < 0);
	}
	prophet_release(&pm);
}

/* A flat series (Prophet special-cases it): the forecast is the level. */
TEST(constant_series_forecasts_the_level)
{
	enum { N = 100 };
	int64_t ts[N], tf[10];
	double y[N], yhat[10];
	struct prophet_config cfg;
	struct prophet_model pm;

	for (int i = 0; i < N; i++) {
		ts[i] = ymd(2022, 3, 1) * DAY + (int64_t)i * DAY;
		y[i] = 42;
	}
	for (int i = 0; i < 10; i++)
		tf[i] = ts[N - 1] + (int64_t)(i + 1) * DAY;
	prophet_config_init(&cfg);
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	prophet_predict(&pm, tf, 10, yhat, NULL, NULL);
	for (int i = 0; i < 10; i++)
		ASSERT(fabs(yhat[i] - 42) < 0.01);
	prophet_release(&pm);
}

/* --- determinism and persistence ----------------------------------- */

TEST(deterministic_for_a_seed)
{
	enum { N = 300, H = 30 };
	int64_t ts[N + H];
	double y[N + H], a[3][H], b[3][H];
	struct prophet_config cfg;
	struct prophet_model p1, p2;
	json_t *m1, *m2;
	char *j1, *j2;

	synth(ts, y, N + H, 200, 1.0, 0.3);
	prophet_config_init(&cfg);
	cfg.seed = 11;
	ASSERT_EQ(fit(&p1, &cfg, ts, y, N), 0);
	ASSERT_EQ(fit(&p2, &cfg, ts, y, N), 0);
	m1 = prophet_to_json(&p1);
	m2 = prophet_to_json(&p2);
	j1 = json_dumps(m1, JSON_COMPACT | JSON_REAL_PRECISION(17));
	j2 = json_dumps(m2, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(m1);
	json_decref(m2);
	ASSERT_STREQ(j1, j2);
	free(j1);
	free(j2);
	prophet_predict(&p1, ts + N, H, a[0], a[1], a[2]);
	prophet_predict(&p2, ts + N, H, b[0], b[1], b[2]);
	ASSERT(!memcmp(a, b, sizeof(a)));
	p2.cfg.seed = 12;
	prophet_predict(&p2, ts + N, H, b[0], b[1], b[2]);
	ASSERT(!memcmp(a[0], b[0], sizeof(a[0])));   /* yhat does not sample */
	ASSERT(memcmp(a[1], b[1], sizeof(a[1])));
	prophet_release(&p1);
	prophet_release(&p2);
}

TEST(json_round_trip_predicts_the_same)
{
	enum { N = 300, H = 20 };
	int64_t ts[N + H];
	double y[N + H], a[3][H], b[3][H];
	struct prophet_config cfg;
	struct prophet_model pm, back;
	struct err err;
	json_t *j, *again;
	char *text;

	synth(ts, y, N + H, 150, 1.0, 0.3);
	prophet_config_init(&cfg);
	cfg.mode = PROPHET_MULTIPLICATIVE;
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	j = prophet_to_json(&pm);
	text = json_dumps(j, JSON_REAL_PRECISION(17));
	json_decref(j);
	j = json_loads(text, 0, NULL);
	err_init(&err);
	ASSERT_EQ(prophet_from_json(&back, j, &err), 0);
	prophet_predict(&pm, ts + N, H, a[0], a[1], a[2]);
	prophet_predict(&back, ts + N, H, b[0], b[1], b[2]);
	prophet_release(&back);
	ASSERT(!memcmp(a, b, sizeof(a)));
	json_object_del(json_object_get(j, "params"), "beta");
	ASSERT_EQ(prophet_from_json(&back, j, &err), -1);
	ASSERT_CONTAINS(err.msg, "model: expected a list at 'beta'");
	again = json_pack("{s:I}", "t_start", (json_int_t)1);
	ASSERT_EQ(prophet_from_json(&back, again, &err), -1);
	json_decref(again);
	json_decref(j);
	free(text);
	prophet_release(&pm);
}

/* Regression: without holidays prophet_to_json() writes "country": null,
 * which prophet_from_json() used to refuse as a bad optional string (so
 * train.prophet's model.json with country null could not be read back). */
TEST(json_round_trip_without_holidays)
{
	enum { N = 120, H = 5 };
	int64_t ts[N + H];
	double y[N + H], a[H], b[H];
	struct prophet_config cfg;
	struct prophet_model pm, back;
	struct err err;
	json_t *j;

	synth(ts, y, N + H, 60, 1.0, 0.3);
	prophet_config_init(&cfg);
	cfg.country[0] = '\0';
	cfg.uncertainty_samples = 0;
	ASSERT_EQ(fit(&pm, &cfg, ts, y, N), 0);
	j = prophet_to_json(&pm);
	ASSERT(json_is_null(json_object_get(json_object_get(j, "config"), "country")));
	err_init(&err);
	ASSERT_EQ(prophet_from_json(&back, j, &err), 0);
	ASSERT_STREQ(back.cfg.country, "");
	ASSERT_EQ(back.n_holidays, 0);
	prophet_predict(&pm, ts + N, H, a, NULL, NULL);
	prophet_predict(&back, ts + N, H, b, NULL, NULL);
	ASSERT(!memcmp(a, b, sizeof(a)));
	prophet_release(&back);
	/* absent and "" mean none too; anything else is refused */
	json_object_del(json_object_get(j, "config"), "country");
	ASSERT_EQ(prophet_from_json(&back, j, &err), 0);
	ASSERT_STREQ(back.cfg.country, "");
	prophet_release(&back);
	json_object_set_new(json_object_get(j, "config"), "country", json_integer(5));
	ASSERT_EQ(prophet_from_json(&back, j, &err), -1);
	ASSERT_CONTAINS(err.msg, "country");
	json_decref(j);
	prophet_release(&pm);
}

/* --- errors -------------------------------------------------------- */

/* The message of a failed fit, if of kind 'kind'. */
static const char *fit_error(struct prophet_config *cfg, const int64_t *ts,
			     const double *y, size_t n, enum err_kind kind)
{
	static struct err err;
	struct prophet_model pm;

	err_init(&err);
	if (prophet_fit(&pm, cfg, ts, y, n, &err) == 0) {
		prophet_release(&pm);
		return "(no error)";
	}
	return err.kind == kind ? err.msg : "(another kind of error)";
}

TEST(errors_are_user_errors)
{
	int64_t ts[4] = {0, DAY, 2 * DAY, 3 * DAY}, same[3] = {5, 5, 5};
	int64_t back[3] = {0, 2 * DAY, DAY};
	double y[4] = {1, 2, 3, 4}, bad[3] = {1, NAN, 2};
	struct prophet_config cfg;

	prophet_config_init(&cfg);
	ASSERT_CONTAINS(fit_error(&cfg, ts, y, 1, ERR_USER), "expected at least 2 rows");
	ASSERT_CONTAINS(fit_error(&cfg, same, y, 3, ERR_USER), "same time");
	ASSERT_CONTAINS(fit_error(&cfg, back, y, 3, ERR_USER), "row 3: time goes back");
	ASSERT_CONTAINS(fit_error(&cfg, ts, bad, 3, ERR_USER), "row 2: expected a finite value");
	cfg.growth = PROPHET_LOGISTIC;
	ASSERT_CONTAINS(fit_error(&cfg, ts, y, 4, ERR_USER), "logistic growth needs 'cap'");
	cfg.growth = PROPHET_LINEAR;
	strcpy(cfg.country, "FR");
	ASSERT_CONTAINS(fit_error(&cfg, ts, y, 4, ERR_USER), "country: no holidays for 'FR'");
	strcpy(cfg.country, "US");
	cfg.daily = 1000;
	ASSERT_CONTAINS(fit_error(&cfg, ts, y, 4, ERR_USER), "daily_seasonality");
	cfg.daily = PROPHET_AUTO;
	ASSERT_STREQ(fit_error(&cfg, ts, y, 4, ERR_USER), "(no error)");
}

static int stop_now(void *arg)
{
	return ++*(int *)arg > 3;
}

TEST(cancel_stops_the_fit)
{
	enum { N = 300 };
	int64_t ts[N];
	double y[N];
	struct prophet_config cfg;
	int polls = 0;

	synth(ts, y, N, 200, 1.0, 0.3);
	prophet_config_init(&cfg);
	cfg.cancelled = stop_now;
	cfg.cancel_arg = &polls;
	cfg.growth = PROPHET_LOGISTIC;              /* L-BFGS: polled each step */
	cfg.cap = 30;
	ASSERT_CONTAINS(fit_error(&cfg, ts, y, N, ERR_IO), "cancelled after 4 iterations");
	polls = 1;
	cfg.growth = PROPHET_LINEAR;                /* Gauss-Newton: each round */
	ASSERT_CONTAINS(fit_error(&cfg, ts, y, N, ERR_IO), "cancelled after 2 iterations");
}

TEST_LIST(
	T(holidays_fixed_rules),
	T(holidays_observed_on_weekends),
	T(holidays_follow_the_law_by_year),
	T(holidays_by_country),
	T(holidays_agree_with_prophets_list),
	T(gradient_linear_additive),
	T(gradient_linear_multiplicative),
	T(gradient_logistic_additive),
	T(gradient_logistic_multiplicative),
	T(objective_matches_forecast),
	T(recovers_trend_and_weekly_amplitude),
	T(exact_fit_meets_the_optimality_conditions),
	T(no_changepoints_fold_into_the_rate),
	T(intervals_cover_about_their_width),
	T(logistic_growth_stays_under_cap),
	T(auto_seasonality_follows_span_and_step),
	T(changepoints_as_prophet_places_them),
	T(holidays_become_columns),
	T(constant_series_forecasts_the_level),
	T(deterministic_for_a_seed),
	T(json_round_trip_predicts_the_same),
	T(json_round_trip_without_holidays),
	T(errors_are_user_errors),
	T(cancel_stops_the_fit)
)
