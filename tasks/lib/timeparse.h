/* timeparse: timestamps as text to unix seconds, and back.
 *
 * Accepted forms (ISO 8601 profile, as written by pandas, Python, SQL and
 * most loggers):
 *   YYYY-MM-DD
 *   YYYY-MM-DD[T|t| ]hh:mm[:ss[.f...]][zone]
 *   zone: Z, z, +hh, +hh:mm, +hhmm (or '-')
 * and unix seconds: digits with an optional fraction ("1700000000.25").
 * A time without a zone is UTC.  Fractions keep up to 9 digits
 * (nanoseconds); more digits are accepted and cut.  Field ranges are
 * checked against the proleptic Gregorian calendar (Feb 29 only in leap
 * years, hh 00-23, mm 00-59, ss 00-59: no leap seconds).
 *
 * Pure functions: no locale, no strptime/mktime/timegm, no global state,
 * thread-safe.  Inputs are (pointer, length) and need no NUL; nothing is
 * read past 's + n'. */
#ifndef DAGRUN_TIMEPARSE_H
#define DAGRUN_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* A point in time: 'sec' is floor(unix seconds), 'nsec' in [0, 1e9). */
struct timeparse_time {
	int64_t sec;
	int32_t nsec;
};

/* 40: "yyyy-mm-ddThh:mm:ssZ" for any int64 year (up to 20 digits) + NUL */
#define TIMEPARSE_TEXT_MAX 40

/* Parse an ISO 8601 timestamp (the forms above) filling the whole of
 * s[0..n).  Returns 0, or -1 if it is not one (then '*t' is untouched). */
int timeparse_iso8601(const char *s, size_t n, struct timeparse_time *t);

/* Parse unix seconds: one or more digits, optionally '.' and digits.
 * Returns 0, or -1 (also when the value does not fit in int64). */
int timeparse_unix(const char *s, size_t n, struct timeparse_time *t);

/* 1 if s[0..n) is the unix-seconds form above, else 0; the test by which
 * a column of digits is read as unix seconds rather than ISO dates. */
int timeparse_is_unix(const char *s, size_t n);

/* 't' as seconds (fraction kept, to double precision). */
double timeparse_seconds(const struct timeparse_time *t);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back
 * (Howard Hinnant's algorithms; valid far beyond years 0-9999).
 * 'm' is 1-12, 'd' 1-31; no range check here. */
int64_t timeparse_days_from_civil(int64_t y, int m, int d);
void timeparse_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* 1 if 'y' is a Gregorian leap year; the number of days in month 'm'. */
int timeparse_is_leap(int64_t y);
int timeparse_month_days(int64_t y, int m);

/* Format unix seconds as "YYYY-MM-DDThh:mm:ssZ" into 'out'; for error
 * messages and tests.  Returns 'out'. */
char *timeparse_format(int64_t sec, char out[TIMEPARSE_TEXT_MAX]);

#endif
