/* prophet_json: a fitted prophet model as JSON and back (prophet.h).
 *
 * The document holds everything prediction needs: the config (orders
 * resolved), the scaling, the seasonalities, the holiday names, the
 * changepoints and the MAP parameters, plus the fit report.  Doubles
 * round-trip exactly at JSON_REAL_PRECISION(17).  The reader checks every
 * field it needs, and that the parameters fit the parts. */
#include "prophet.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static json_t *num_array(const double *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *config_json(const struct prophet_config *c)
{
	int logistic = c->growth == PROPHET_LOGISTIC;

	return json_pack("{s:s, s:o, s:i, s:f, s:f, s:s, s:f, s:f, s:s?, s:i, s:i, "
			 "s:i, s:f, s:i, s:I}",
			 "growth", logistic ? "logistic" : "linear",
			 "cap", logistic ? json_real(c->cap) : json_null(),
			 "n_changepoints", c->n_changepoints,
			 "changepoint_range", c->changepoint_range,
			 "changepoint_prior_scale", c->changepoint_prior_scale,
			 "seasonality_mode", c->mode == PROPHET_MULTIPLICATIVE ?
			 "multiplicative" : "additive",
			 "seasonality_prior_scale", c->seasonality_prior_scale,
			 "holidays_prior_scale", c->holidays_prior_scale,
			 "country", c->country[0] ? c->country : NULL,
			 "yearly_seasonality", c->yearly, "weekly_seasonality", c->weekly,
			 "daily_seasonality", c->daily,
			 "interval_width", c->interval_width,
			 "uncertainty_samples", c->uncertainty_samples,
			 "seed", (json_int_t)c->seed);
}

json_t *prophet_to_json(const struct prophet_model *pm)
{
	json_t *seasons = json_array(), *names = json_array(), *cps = json_array();

	for (size_t s = 0; s < pm->n_seasons; s++)
		json_array_append_new(seasons, json_pack("{s:s, s:f, s:i}",
			"name", pm->seasons[s].name, "period", pm->seasons[s].period,
			"order", pm->seasons[s].order));
	for (size_t h = 0; h < pm->n_holidays; h++)
		json_array_append_new(names, json_string(pm->holidays[h]));
	for (size_t j = 0; j < pm->n_cp; j++)
		json_array_append_new(cps, json_integer((json_int_t)pm->t_start +
			(json_int_t)llround(pm->cp_t[j] * pm->t_scale)));
	return json_pack("{s:s, s:i, s:o, s:I, s:f, s:f, s:I, s:o, s:o, s:o, s:o, "
			 "s:{s:f, s:f, s:o, s:f, s:o}, s:{s:f, s:i, s:i}}",
			 "format", "dagrun.prophet", "version", 1,
			 "config", config_json(&pm->cfg),
			 "t_start", (json_int_t)pm->t_start, "t_scale", pm->t_scale,
			 "y_scale", pm->y_scale, "n_train", (json_int_t)pm->n_train,
			 "seasonalities", seasons, "holidays", names,
			 "changepoints", cps,
			 "changepoints_t", num_array(pm->cp_t, pm->n_cp),
			 "params", "k", pm->k, "m", pm->m,
			 "delta", num_array(pm->delta, pm->n_cp),
			 "sigma_obs", pm->sigma_obs,
			 "beta", num_array(pm->beta, pm->n_beta),
			 "fit", "objective", pm->objective, "iterations", pm->iterations,
			 "status", pm->status);
}

/* A JSON array of numbers at 'key' of 'o' into a fresh array ('*n' its
 * length; at least one slot is allocated). */
static int read_numbers(json_t *o, const char *key, double **out, size_t *n,
			struct err *err)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	if (!json_is_array(a)) {
		err_set(err, ERR_USER, "model: expected a list at '%s'", key);
		return -1;
	}
	*n = json_array_size(a);
	*out = xmalloc((*n + 1) * sizeof(double));
	json_array_foreach(a, i, v) {
		if (!json_is_number(v)) {
			err_set(err, ERR_USER, "model: expected numbers in '%s'", key);
			return -1;
		}
		(*out)[i] = json_number_value(v);
	}
	return 0;
}

/* config_json()'s form back.  "country" is a code, or null (what
 * config_json() writes for none), "" or absent for none. */
static int config_from_json(struct prophet_config *c, json_t *j, struct err *err)
{
	const char *growth, *mode;
	json_t *cap = NULL, *country = NULL;
	json_int_t seed;

	prophet_config_init(c);
	if (json_unpack(j, "{s:s, s?o, s:i, s:F, s:F, s:s, s:F, s:F, s?o, s:i, s:i, "
			"s:i, s:F, s:i, s:I}", "growth", &growth, "cap", &cap,
			"n_changepoints", &c->n_changepoints,
			"changepoint_range", &c->changepoint_range,
			"changepoint_prior_scale", &c->changepoint_prior_scale,
			"seasonality_mode", &mode,
			"seasonality_prior_scale", &c->seasonality_prior_scale,
			"holidays_prior_scale", &c->holidays_prior_scale, "country", &country,
			"yearly_seasonality", &c->yearly, "weekly_seasonality", &c->weekly,
			"daily_seasonality", &c->daily, "interval_width", &c->interval_width,
			"uncertainty_samples", &c->uncertainty_samples, "seed", &seed)) {
		err_set(err, ERR_USER, "model: 'config' lacks a field or has a bad one");
		return -1;
	}
	if (country && !json_is_null(country) && !json_is_string(country)) {
		err_set(err, ERR_USER, "model: 'config.country' is not a country code "
			"(expected a string, or null for none)");
		return -1;
	}
	c->growth = !strcmp(growth, "logistic") ? PROPHET_LOGISTIC : PROPHET_LINEAR;
	c->mode = !strcmp(mode, "multiplicative") ? PROPHET_MULTIPLICATIVE :
		  PROPHET_ADDITIVE;
	c->cap = json_is_number(cap) ? json_number_value(cap) : NAN;
	c->seed = (uint64_t)seed;
	snprintf(c->country, sizeof(c->country), "%s",
		 json_is_string(country) ? json_string_value(country) : "");
	return prophet_config_check(c, err);
}

static int seasons_from_json(struct prophet_model *pm, json_t *a, struct err *err)
{
	static const char *const names[3] = {"yearly", "weekly", "daily"};
	json_t *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > 3) {
		err_set(err, ERR_USER, "model: expected at most 3 'seasonalities'");
		return -1;
	}
	json_array_foreach(a, i, v) {
		struct prophet_season *s = &pm->seasons[i];
		const char *name;
		int k;
		if (json_unpack(v, "{s:s, s:F, s:i}", "name", &name, "period", &s->period,
				"order", &s->order) || s->order < 1 ||
		    s->order > PROPHET_MAX_ORDER || !(s->period > 0)) {
			err_set(err, ERR_USER, "model: bad seasonality %zu", i + 1);
			return -1;
		}
		for (k = 0; k < 3 && strcmp(name, names[k]); k++)
			;
		if (k == 3) {
			err_set(err, ERR_USER, "model: unknown seasonality '%s'", name);
			return -1;
		}
		s->name = names[k];
		pm->n_beta += 2 * (size_t)s->order;
	}
	pm->n_seasons = json_array_size(a);
	return 0;
}

static int holidays_from_json(struct prophet_model *pm, json_t *a, struct err *err)
{
	json_t *v;
	size_t i;

	if (!json_is_array(a)) {
		err_set(err, ERR_USER, "model: expected a list at 'holidays'");
		return -1;
	}
	pm->holidays = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || (i && strcmp(json_string_value(v),
						       pm->holidays[i - 1]) <= 0)) {
			err_set(err, ERR_USER, "model: expected sorted names in 'holidays'");
			return -1;
		}
		pm->holidays[i] = xstrdup(json_string_value(v));
		pm->n_holidays = i + 1;
	}
	pm->n_beta += pm->n_holidays;
	return 0;
}

/* The MAP estimate; lengths must match the model's parts. */
static int params_from_json(struct prophet_model *pm, json_t *j, struct err *err)
{
	json_t *p = json_object_get(j, "params");
	size_t n_delta, n_beta, n_cp;

	if (read_numbers(j, "changepoints_t", &pm->cp_t, &n_cp, err) ||
	    read_numbers(p, "delta", &pm->delta, &n_delta, err) ||
	    read_numbers(p, "beta", &pm->beta, &n_beta, err))
		return -1;
	pm->n_cp = n_cp;
	if (n_cp == 0 || n_delta != n_cp || n_beta != pm->n_beta ||
	    json_unpack(p, "{s:F, s:F, s:F}", "k", &pm->k, "m", &pm->m,
			"sigma_obs", &pm->sigma_obs)) {
		err_set(err, ERR_USER, "model: 'params' do not fit the model (expected "
			"k, m, sigma_obs, %zu delta and %zu beta)", n_cp, pm->n_beta);
		return -1;
	}
	return 0;
}

int prophet_from_json(struct prophet_model *pm, json_t *j, struct err *err)
{
	json_int_t t_start, n_train = 0;
	int rc;

	memset(pm, 0, sizeof(*pm));
	if (json_unpack(j, "{s:I, s:F, s:F, s?I}", "t_start", &t_start, "t_scale",
			&pm->t_scale, "y_scale", &pm->y_scale, "n_train", &n_train) ||
	    !(pm->t_scale > 0) || !(pm->y_scale > 0)) {
		err_set(err, ERR_USER, "model: expected t_start, t_scale and y_scale");
		return -1;
	}
	pm->t_start = (int64_t)t_start;
	pm->n_train = (size_t)n_train;
	rc = config_from_json(&pm->cfg, json_object_get(j, "config"), err);
	if (rc == 0)
		rc = seasons_from_json(pm, json_object_get(j, "seasonalities"), err);
	if (rc == 0)
		rc = holidays_from_json(pm, json_object_get(j, "holidays"), err);
	if (rc == 0)
		rc = params_from_json(pm, j, err);
	if (rc)
		prophet_release(pm);
	return rc;
}
