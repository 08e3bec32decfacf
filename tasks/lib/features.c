/* features: see features.h.
 *
 * The rolling std slides its mean and sum of squared deviations from
 * window to window in O(1) (Welford's update for a value in, a value out)
 * and recomputes them exactly every 'w' windows: the whole series costs
 * O(2n) for any window, and rounding drift is bounded by 'w' updates.
 * Like pandas' own rolling var, a value far larger than its neighbours
 * leaves an error of about 1e-16 times its square in the w - 1 windows
 * after it leaves; for prices, loads and temperatures that is nothing. */
#include "features.h"
#include "fs.h"
#include "npy.h"
#include "timeparse.h"
#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2 pi, to double precision */
#define TAU 6.283185307179586
/* 86400: seconds in a day (no leap seconds in unix time) */
#define DAY 86400

static const char *const time_names[] = {"min_of_day", "day_of_week",
					  "day_of_year"};

int features_time_parse(const char *name, enum features_time *k)
{
	for (int i = 0; i < 3; i++) {
		if (!strcmp(name, time_names[i])) {
			*k = (enum features_time)i;
			return 0;
		}
	}
	return -1;
}

const char *features_time_name(enum features_time k)
{
	return time_names[k];
}

void features_time_cycle(enum features_time k, int64_t t, double *v, double *p)
{
	int64_t day = t / DAY - (t % DAY < 0), y;
	int64_t sec = t - day * DAY;
	int m, d;

	switch (k) {
	case FEATURES_MIN_OF_DAY:
		*v = (double)(sec / 60);
		*p = 1440;
		break;
	case FEATURES_DAY_OF_WEEK:   /* 1970-01-01 was a Thursday: 3 */
		*v = (double)(((day + 3) % 7 + 7) % 7);
		*p = 7;
		break;
	default:
		timeparse_civil_from_days(day, &y, &m, &d);
		*v = (double)(day - timeparse_days_from_civil(y, 1, 1));
		*p = 365 + timeparse_is_leap(y);
	}
}

void features_time(enum features_time k, const int64_t *t, size_t n,
		   double *sin_out, double *cos_out)
{
	double v, p;

	for (size_t i = 0; i < n; i++) {
		features_time_cycle(k, t[i], &v, &p);
		sin_out[i] = sin(TAU * v / p);
		cos_out[i] = cos(TAU * v / p);
	}
}

/* NAN into out[0 .. min(first, n)); returns 'first'. */
static size_t undefined(double *out, size_t n, size_t first)
{
	for (size_t i = 0; i < first && i < n; i++)
		out[i] = NAN;
	return first;
}

size_t features_lag(const double *x, size_t n, size_t k, double *out)
{
	for (size_t i = k; i < n; i++)
		out[i] = x[i - k];
	return undefined(out, n, k);
}

/* The mean and the sum of squared deviations of x[a .. a + w), exactly. */
static void moments(const double *x, size_t a, size_t w, double *mean,
		    double *m2)
{
	double s = 0, q = 0;

	for (size_t i = a; i < a + w; i++)
		s += x[i];
	s /= (double)w;
	for (size_t i = a; i < a + w; i++)
		q += (x[i] - s) * (x[i] - s);
	*mean = s;
	*m2 = q;
}

size_t features_rolling(const double *x, size_t n, size_t w, double *mean,
			double *std)
{
	double m = 0, m2 = 0;

	assert(w >= 2);
	for (size_t i = w - 1; i < n; i++) {
		size_t a = i + 1 - w;
		if (a % w == 0) {
			moments(x, a, w, &m, &m2);
		} else {   /* x[a - 1] leaves, x[i] enters */
			double out = x[a - 1], in = x[i], d = in - out, before = m;
			m += d / (double)w;
			m2 += d * (in - m + out - before);
			if (m2 < 0)
				m2 = 0;
		}
		mean[i] = m;
		std[i] = sqrt(m2 / (double)(w - 1));
	}
	undefined(std, n, w - 1);
	return undefined(mean, n, w - 1);
}

size_t features_returns(const double *x, size_t n, double *out)
{
	for (size_t i = 1; i < n; i++)
		out[i] = x[i] / x[i - 1] - 1.0;
	return undefined(out, n, 1);
}

static double rsi(double gain, double loss)
{
	return gain + loss > 0 ? 100.0 * gain / (gain + loss) : 50.0;
}

size_t features_rsi(const double *x, size_t n, size_t p, double *out)
{
	double g = 0, l = 0;

	assert(p >= 1);
	for (size_t i = 1; i < n; i++) {
		double d = x[i] - x[i - 1], up = d > 0 ? d : 0, down = d < 0 ? -d : 0;
		if (i < p) {
			g += up;
			l += down;
			continue;
		}
		if (i == p) {
			g = (g + up) / (double)p;
			l = (l + down) / (double)p;
		} else {
			g = (g * (double)(p - 1) + up) / (double)p;
			l = (l * (double)(p - 1) + down) / (double)p;
		}
		out[i] = rsi(g, l);
	}
	return undefined(out, n, p);
}

size_t features_ema(const double *x, size_t n, size_t span, double *out)
{
	double a = 2.0 / ((double)span + 1.0);

	for (size_t i = 0; i < n; i++)
		out[i] = i == 0 ? x[0] : a * x[i] + (1.0 - a) * out[i - 1];
	return 0;
}

size_t features_macd(const double *x, size_t n, size_t fast, size_t slow,
		     size_t signal, double *line, double *sig, double *hist)
{
	double *slow_ema = xmalloc((n ? n : 1) * sizeof(double));

	features_ema(x, n, fast, line);
	features_ema(x, n, slow, slow_ema);
	for (size_t i = 0; i < n; i++)
		line[i] -= slow_ema[i];
	features_ema(line, n, signal, sig);
	for (size_t i = 0; i < n; i++)
		hist[i] = line[i] - sig[i];
	free(slow_ema);
	return 0;
}

/* --- the set */

void features_init(struct features_set *fs, size_t rows)
{
	memset(fs, 0, sizeof(*fs));
	fs->rows = rows;
}

void features_release(struct features_set *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->names[i]);
		free(fs->cols[i]);
	}
	free(fs->names);
	free(fs->cols);
	features_init(fs, fs->rows);
}

void features_add(struct features_set *fs, char *name, double *col,
		  size_t warmup)
{
	size_t cap = fs->cap;   /* both arrays grow alike: one capacity */

	xgrow((void **)&fs->names, sizeof(char *), &cap, fs->n + 1);
	xgrow((void **)&fs->cols, sizeof(double *), &fs->cap, fs->n + 1);
	fs->names[fs->n] = name;
	fs->cols[fs->n++] = col;
	if (warmup > fs->warmup)
		fs->warmup = warmup;
}

long features_find(const struct features_set *fs, const char *name)
{
	for (size_t i = 0; i < fs->n; i++) {
		if (!strcmp(fs->names[i], name))
			return (long)i;
	}
	return -1;
}

int features_find_nonfinite(const struct features_set *fs, size_t from,
			    size_t *col, size_t *row)
{
	for (size_t j = 0; j < fs->n; j++) {
		for (size_t i = from; i < fs->rows; i++) {
			if (!isfinite(fs->cols[j][i])) {
				*col = j;
				*row = i;
				return 1;
			}
		}
	}
	return 0;
}

/* A fresh column of the set's length. */
static double *column(const struct features_set *fs)
{
	return xmalloc((fs->rows ? fs->rows : 1) * sizeof(double));
}

void features_add_copy(struct features_set *fs, const char *name,
		       const double *x)
{
	double *v = column(fs);

	memcpy(v, x, fs->rows * sizeof(double));
	features_add(fs, xstrdup(name), v, 0);
}

void features_add_time(struct features_set *fs, enum features_time k,
		       const int64_t *t)
{
	double *s = column(fs), *c = column(fs);

	features_time(k, t, fs->rows, s, c);
	features_add(fs, xasprintf("%s_sin", time_names[k]), s, 0);
	features_add(fs, xasprintf("%s_cos", time_names[k]), c, 0);
}

void features_add_lag(struct features_set *fs, const char *base,
		      const double *x, size_t k)
{
	double *v = column(fs);
	size_t w = features_lag(x, fs->rows, k, v);

	features_add(fs, xasprintf("%s_lag_%zu", base, k), v, w);
}

void features_add_rolling(struct features_set *fs, const char *base,
			  const double *x, size_t w)
{
	double *m = column(fs), *s = column(fs);
	size_t warm = features_rolling(x, fs->rows, w, m, s);

	features_add(fs, xasprintf("%s_roll_mean_%zu", base, w), m, warm);
	features_add(fs, xasprintf("%s_roll_std_%zu", base, w), s, warm);
}

void features_add_returns(struct features_set *fs, const char *base,
			  const double *x)
{
	double *v = column(fs);
	size_t w = features_returns(x, fs->rows, v);

	features_add(fs, xasprintf("%s_return", base), v, w);
}

void features_add_rsi(struct features_set *fs, const char *base,
		      const double *x, size_t p)
{
	double *v = column(fs);
	size_t w = features_rsi(x, fs->rows, p, v);

	features_add(fs, xasprintf("%s_rsi_%zu", base, p), v, w);
}

void features_add_macd(struct features_set *fs, const char *base,
		       const double *x, size_t fast, size_t slow, size_t signal)
{
	double *l = column(fs), *s = column(fs), *h = column(fs);

	features_macd(x, fs->rows, fast, slow, signal, l, s, h);
	features_add(fs, xasprintf("%s_macd", base), l, 0);
	features_add(fs, xasprintf("%s_macd_signal", base), s, 0);
	features_add(fs, xasprintf("%s_macd_hist", base), h, 0);
}

/* One 1-D column 'file' of 'dt' with 'rows' values from 'dir'; NULL with
 * 'err' set if it is not one. */
static void *read_column(const char *dir, const char *file, enum npy_dtype dt,
			 size_t rows, struct err *err)
{
	char *path = fs_join(dir, file);
	struct npy_array a;
	void *data = NULL;

	if (npy_read(path, &a, err) == 0) {
		if (a.dtype == dt && a.ndim == 1 && a.count == rows)
			data = a.data;
		else
			err_set(err, ERR_USER, "%s: expected %zu values of %s, as "
				"schema.json says", path, rows, npy_dtype_descr(dt));
		if (!data)
			npy_release(&a);
	}
	free(path);
	return data;
}

/* Column 'c' of the schema, if it is the time column 'ts' or a number
 * column: read into '*t' or added to 'fs'.  Other columns are skipped. */
static int read_entry(const char *dir, json_t *c, const char *ts,
		      struct features_set *fs, int64_t **t, struct err *err)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *type = json_string_value(json_object_get(c, "type"));
	const char *file = json_string_value(json_object_get(c, "file"));
	int is_time = type && !strcmp(type, "timestamp") && name && !strcmp(name, ts);
	void *v;

	if (!name || !type || !file || strchr(file, '/') || (*t && is_time) ||
	    (!is_time && strcmp(type, "number")))
		return 0;   /* a slash: never read outside 'dir' */
	v = read_column(dir, file, is_time ? NPY_I8 : NPY_F8, fs->rows, err);
	if (!v)
		return -1;
	if (is_time)
		*t = v;
	else
		features_add(fs, xstrdup(name), v, 0);
	return 0;
}

int features_read_table(const char *dir, struct features_set *fs, int64_t **t,
			json_t **schema, struct err *err)
{
	char *path = fs_join(dir, "schema.json");
	json_t *cols, *c;
	const char *ts;
	size_t i, rows;

	*t = NULL;
	*schema = json_load_file(path, 0, NULL);
	cols = json_object_get(*schema, "columns");
	ts = json_string_value(json_object_get(*schema, "timestamp"));
	rows = (size_t)json_integer_value(json_object_get(*schema, "rows"));
	features_init(fs, rows);
	json_array_foreach(cols, i, c) {
		if (ts && read_entry(dir, c, ts, fs, t, err)) {
			free(path);
			return -1;
		}
	}
	for (i = 1; *t && i < rows && (*t)[i] > (*t)[i - 1]; i++)
		;
	if (*t && i >= rows && rows > 0 && fs->n > 0) {
		free(path);
		return 0;
	}
	err_set(err, ERR_USER, "%s: expected the schema of a data.load output with "
		"rows, a rising timestamp column and a number column", path);
	free(path);
	free(*t);
	*t = NULL;
	return -1;
}
