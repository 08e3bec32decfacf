/* Unit tests for tasks/lib/timeparse.c.  Expected values were computed
 * with Python's datetime (fromisoformat(...).timestamp(), UTC). */
#include "test.h"
#include "timeparse.h"

#include <stdint.h>
#include <string.h>

/* Parse NUL-terminated 's' as ISO 8601; -1 on failure, else 0. */
static int iso(const char *s, struct timeparse_time *t)
{
	return timeparse_iso8601(s, strlen(s), t);
}

static long long iso_sec(const char *s)
{
	struct timeparse_time t = {INT64_MIN, -1};

	if (iso(s, &t))
		return INT64_MIN;
	return t.sec;
}

TEST(date_only)
{
	ASSERT_EQ(iso_sec("1970-01-01"), 0);
	ASSERT_EQ(iso_sec("2004-08-19"), 1092873600);
	ASSERT_EQ(iso_sec("1900-03-01"), -2203891200LL);
	ASSERT_EQ(iso_sec("0001-01-01"), -62135596800LL);
}

TEST(date_time_separators)
{
	ASSERT_EQ(iso_sec("2016-07-01 00:00:00"), 1467331200);
	ASSERT_EQ(iso_sec("2016-07-01T00:00:00"), 1467331200);
	ASSERT_EQ(iso_sec("2016-07-01t00:00:00"), 1467331200);
	ASSERT_EQ(iso_sec("2016-07-01T00:00"), 1467331200);
	ASSERT_EQ(iso_sec("2000-02-29T12:34:56"), 951827696);
	ASSERT_EQ(iso_sec("1969-12-31T23:59:59"), -1);
	ASSERT_EQ(iso_sec("9999-12-31T23:59:59"), 253402300799LL);
}

TEST(leap_years)
{
	ASSERT_EQ(iso_sec("2024-02-29 00:00:00"), 1709164800);
	ASSERT_EQ(iso_sec("2000-02-29"), 951782400);
	ASSERT_EQ(iso_sec("2023-02-29"), INT64_MIN);
	ASSERT_EQ(iso_sec("1900-02-29"), INT64_MIN);   /* 100: not leap */
	ASSERT_EQ(iso_sec("2100-02-29"), INT64_MIN);
	ASSERT(timeparse_is_leap(2000) && timeparse_is_leap(2024));
	ASSERT(!timeparse_is_leap(1900) && !timeparse_is_leap(2023));
	ASSERT_EQ(timeparse_month_days(2024, 2), 29);
	ASSERT_EQ(timeparse_month_days(2023, 2), 28);
	ASSERT_EQ(timeparse_month_days(2023, 4), 30);
	ASSERT_EQ(timeparse_month_days(2023, 12), 31);
}

TEST(zones)
{
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00Z"), 1706708700);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00z"), 1706708700);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00+00:00"), 1706708700);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00+05:30"), 1706688900);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00+0530"), 1706688900);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00-0800"), 1706737500);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00-08:00"), 1706737500);
	ASSERT_EQ(iso_sec("2024-01-31T13:45:00+02"), 1706701500);
	ASSERT_EQ(iso_sec("2024-01-31 13:45+01:00"), 1706705100);
	/* a zone pushes the instant across the epoch's day boundary */
	ASSERT_EQ(iso_sec("1970-01-01T00:30:00+01:00"), -1800);
}

TEST(fractional_seconds)
{
	struct timeparse_time t;

	ASSERT_EQ(iso("2024-01-31T13:45:00.5Z", &t), 0);
	ASSERT_EQ(t.sec, 1706708700);
	ASSERT_EQ(t.nsec, 500000000);
	ASSERT_EQ(iso("2024-01-31 13:45:00.123456789", &t), 0);
	ASSERT_EQ(t.nsec, 123456789);
	ASSERT_EQ(iso("2024-01-31 13:45:00.1234567891234", &t), 0);  /* cut at ns */
	ASSERT_EQ(t.nsec, 123456789);
	ASSERT_EQ(iso("2024-01-31 13:45:00.000001+01:00", &t), 0);
	ASSERT_EQ(t.sec, 1706705100);
	ASSERT_EQ(t.nsec, 1000);
	ASSERT(timeparse_seconds(&t) > 1706705100.0);
	/* before the epoch: sec is the floor, nsec stays positive */
	ASSERT_EQ(iso("1969-12-31T23:59:59.25", &t), 0);
	ASSERT_EQ(t.sec, -1);
	ASSERT_EQ(t.nsec, 250000000);
	ASSERT(timeparse_seconds(&t) == -0.75);
}

TEST(bad_inputs)
{
	static const char *bad[] = {
		"", "2024", "2024-01", "2024-1-01", "24-01-01", "2024/01/01",
		"2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32",
		"2024-04-31", "2024-01-01X00:00", "2024-01-01T", "2024-01-01T1",
		"2024-01-01T12", "2024-01-01T12:", "2024-01-01T12:3",
		"2024-01-01T24:00:00", "2024-01-01T12:60", "2024-01-01T12:00:60",
		"2024-01-01T12:00:00.", "2024-01-01T12:00:00.x",
		"2024-01-01T12:00:00Zx", "2024-01-01T12:00:00+", "2024-01-01T12:00:00+5",
		"2024-01-01T12:00:00+05:", "2024-01-01T12:00:00+05:3",
		"2024-01-01T12:00:00+24:00", "2024-01-01T12:00:00+05:60",
		"2024-01-01 ", " 2024-01-01", "2024-01-01T12:00:00 Z",
		"abcd-ef-gh", "2024-01-01T12:00.5", "2024-01-01T12:00:00,5",
	};
	struct timeparse_time t = {42, 7};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (iso(bad[i], &t) == 0)
			fprintf(stderr, "accepted bad timestamp '%s'\n", bad[i]);
		ASSERT_EQ(iso(bad[i], &t), -1);
	}
	ASSERT_EQ(t.sec, 42);   /* untouched on failure */
	ASSERT_EQ(t.nsec, 7);
}

TEST(length_is_respected)
{
	struct timeparse_time t;
	const char *s = "2024-01-31T13:45:00Z and more";

	ASSERT_EQ(timeparse_iso8601(s, 10, &t), 0);   /* only the date */
	ASSERT_EQ(t.sec, 1706659200);
	ASSERT_EQ(timeparse_iso8601(s, 20, &t), 0);
	ASSERT_EQ(t.sec, 1706708700);
	ASSERT_EQ(timeparse_iso8601(s, 9, &t), -1);
	ASSERT_EQ(timeparse_iso8601(s, 15, &t), -1);
}

TEST(unix_seconds)
{
	struct timeparse_time t;

	ASSERT(timeparse_is_unix("1700000000", 10));
	ASSERT(timeparse_is_unix("0", 1));
	ASSERT(timeparse_is_unix("17.5", 4));
	ASSERT(!timeparse_is_unix("", 0));
	ASSERT(!timeparse_is_unix("17.", 3));
	ASSERT(!timeparse_is_unix(".5", 2));
	ASSERT(!timeparse_is_unix("-5", 2));
	ASSERT(!timeparse_is_unix("2024-01-01", 10));
	ASSERT(!timeparse_is_unix("1e9", 3));
	ASSERT_EQ(timeparse_unix("1700000000", 10, &t), 0);
	ASSERT_EQ(t.sec, 1700000000);
	ASSERT_EQ(t.nsec, 0);
	ASSERT_EQ(timeparse_unix("1700000000.25", 13, &t), 0);
	ASSERT_EQ(t.nsec, 250000000);
	ASSERT_EQ(timeparse_unix("9223372036854775807", 19, &t), -1);  /* > bound */
	ASSERT_EQ(timeparse_unix("99999999999999999999", 20, &t), -1);
	ASSERT_EQ(timeparse_unix("12a", 3, &t), -1);
}

/* Every day of years 1..9999 maps to consecutive day numbers and back. */
TEST(civil_round_trip_every_day)
{
	int64_t expect = timeparse_days_from_civil(1, 1, 1);

	for (int64_t y = 1; y <= 9999; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= timeparse_month_days(y, m); d++) {
				int64_t days = timeparse_days_from_civil(y, m, d), yy;
				int mm, dd;
				ASSERT_EQ(days, expect);
				timeparse_civil_from_days(days, &yy, &mm, &dd);
				ASSERT(yy == y && mm == m && dd == d);
				expect++;
			}
		}
	}
	ASSERT_EQ(timeparse_days_from_civil(1970, 1, 1), 0);
	ASSERT_EQ(timeparse_days_from_civil(2000, 3, 1), 11017);
}

TEST(format_round_trip)
{
	char buf[TIMEPARSE_TEXT_MAX];
	struct timeparse_time t;
	uint64_t x = 88172645463325252ull;

	ASSERT_STREQ(timeparse_format(0, buf), "1970-01-01T00:00:00Z");
	ASSERT_STREQ(timeparse_format(-1, buf), "1969-12-31T23:59:59Z");
	ASSERT_STREQ(timeparse_format(1709164800, buf), "2024-02-29T00:00:00Z");
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;   /* xorshift64: a fixed, portable sequence */
		x ^= x >> 7;
		x ^= x << 17;
		int64_t sec = (int64_t)(x % 315537897600ull) - 62135596800LL;
		timeparse_format(sec, buf);
		ASSERT_EQ(iso(buf, &t), 0);
		ASSERT_EQ(t.sec, sec);
	}
}

TEST_LIST(T(date_only), T(date_time_separators), T(leap_years), T(zones),
	  T(fractional_seconds), T(bad_inputs), T(length_is_respected),
	  T(unix_seconds), T(civil_round_trip_every_day), T(format_round_trip))
