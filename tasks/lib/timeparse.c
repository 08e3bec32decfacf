/* timeparse: see timeparse.h.
 *
 * Every reader below checks its index against 'n' before touching s[i]:
 * the input is a CSV field, not a C string, and may end anywhere. */
#include "timeparse.h"

#include <stdio.h>

/* 86400: seconds in a day (no leap seconds in unix time) */
#define DAY_SECONDS 86400

static int is_digit(char c)
{
	return (unsigned)(c - '0') < 10u;
}

/* Read exactly 'count' digits at s[*i] into '*v'; advance '*i'. */
static int read_digits(const char *s, size_t n, size_t *i, int count, int *v)
{
	int x = 0;

	if (n - *i < (size_t)count)
		return -1;
	for (int k = 0; k < count; k++) {
		char c = s[*i + (size_t)k];
		if (!is_digit(c))
			return -1;
		x = x * 10 + (c - '0');
	}
	*i += (size_t)count;
	*v = x;
	return 0;
}

static int expect_char(const char *s, size_t n, size_t *i, char c)
{
	if (*i >= n || s[*i] != c)
		return -1;
	(*i)++;
	return 0;
}

int timeparse_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int timeparse_month_days(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && timeparse_is_leap(y))
		return 29;
	return days[(m - 1) % 12];
}

int64_t timeparse_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                            /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;   /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void timeparse_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* YYYY-MM-DD at s[0]; sets '*days' since the epoch. */
static int read_date(const char *s, size_t n, size_t *i, int64_t *days)
{
	int y, m, d;

	if (read_digits(s, n, i, 4, &y) || expect_char(s, n, i, '-') ||
	    read_digits(s, n, i, 2, &m) || expect_char(s, n, i, '-') ||
	    read_digits(s, n, i, 2, &d))
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > timeparse_month_days(y, m))
		return -1;
	*days = timeparse_days_from_civil(y, m, d);
	return 0;
}

/* '.' and 1+ digits; the first 9 make nanoseconds, the rest are cut. */
static int read_fraction(const char *s, size_t n, size_t *i, int32_t *nsec)
{
	int32_t v = 0;
	int k = 0;

	if (expect_char(s, n, i, '.') || *i >= n || !is_digit(s[*i]))
		return -1;
	for (; *i < n && is_digit(s[*i]); (*i)++, k++) {
		if (k < 9)
			v = v * 10 + (s[*i] - '0');
	}
	for (; k < 9; k++)
		v *= 10;
	*nsec = v;
	return 0;
}

/* hh:mm[:ss[.f]]; sets seconds of the day and nanoseconds. */
static int read_clock(const char *s, size_t n, size_t *i, int64_t *sod,
		      int32_t *nsec)
{
	int hh, mm, ss = 0;

	if (read_digits(s, n, i, 2, &hh) || expect_char(s, n, i, ':') ||
	    read_digits(s, n, i, 2, &mm) || hh > 23 || mm > 59)
		return -1;
	if (*i < n && s[*i] == ':') {
		(*i)++;
		if (read_digits(s, n, i, 2, &ss) || ss > 59)
			return -1;
		if (*i < n && s[*i] == '.' && read_fraction(s, n, i, nsec))
			return -1;
	}
	*sod = hh * 3600 + mm * 60 + ss;
	return 0;
}

/* Z | (+|-)hh[[:]mm]; sets the zone's offset east of UTC in seconds. */
static int read_zone(const char *s, size_t n, size_t *i, int64_t *off)
{
	int hh, mm = 0, sign;

	if (s[*i] == 'Z' || s[*i] == 'z') {
		(*i)++;
		*off = 0;
		return 0;
	}
	if (s[*i] != '+' && s[*i] != '-')
		return -1;
	sign = s[*i] == '-' ? -1 : 1;
	(*i)++;
	if (read_digits(s, n, i, 2, &hh) || hh > 23)
		return -1;
	if (*i < n && s[*i] == ':') {
		(*i)++;
		if (*i == n)  /* "+05:" has lost its minutes */
			return -1;
	}
	if (*i < n && (read_digits(s, n, i, 2, &mm) || mm > 59))
		return -1;
	*off = sign * (hh * 3600 + mm * 60);
	return 0;
}

int timeparse_iso8601(const char *s, size_t n, struct timeparse_time *t)
{
	size_t i = 0;
	int64_t days, sod = 0, off = 0;
	int32_t nsec = 0;

	if (read_date(s, n, &i, &days))
		return -1;
	if (i < n) {
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return -1;
		i++;
		if (read_clock(s, n, &i, &sod, &nsec))
			return -1;
		if (i < n && read_zone(s, n, &i, &off))
			return -1;
	}
	if (i != n)
		return -1;
	t->sec = days * DAY_SECONDS + sod - off;
	t->nsec = nsec;
	return 0;
}

int timeparse_is_unix(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_digit(s[i]))
		i++;
	if (i == 0)
		return 0;
	if (i == n)
		return 1;
	if (s[i++] != '.' || i == n)
		return 0;
	while (i < n && is_digit(s[i]))
		i++;
	return i == n;
}

int timeparse_unix(const char *s, size_t n, struct timeparse_time *t)
{
	int64_t v = 0;
	int32_t nsec = 0;
	size_t i = 0;

	if (!timeparse_is_unix(s, n))
		return -1;
	for (; i < n && is_digit(s[i]); i++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i < n && read_fraction(s, n, &i, &nsec))
		return -1;
	t->sec = v;
	t->nsec = nsec;
	return 0;
}

double timeparse_seconds(const struct timeparse_time *t)
{
	return (double)t->sec + t->nsec * 1e-9;
}

char *timeparse_format(int64_t sec, char out[TIMEPARSE_TEXT_MAX])
{
	int64_t days = sec / DAY_SECONDS, sod = sec % DAY_SECONDS, y;
	int m, d;

	if (sod < 0) {  /* C division truncates; we want floor */
		sod += DAY_SECONDS;
		days--;
	}
	timeparse_civil_from_days(days, &y, &m, &d);
	snprintf(out, TIMEPARSE_TEXT_MAX, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
		 (long long)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
		 (int)(sod % 60));
	return out;
}
