/* holidays: see holidays.h.
 *
 * A country is a table of rules; a rule gives one holiday's date in the
 * years it applies.  A year's list is built from the rules of that year
 * and its two neighbours, keeping the dates that fall inside it: that is
 * how an observed day crosses the new year (Friday December 31). */
#include "holidays.h"
#include "timeparse.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* 9999: the last year of a rule that still applies */
#define FOREVER 9999

enum { MON = 0, THU = 3, FRI = 4, SAT = 5, SUN = 6 };

/* A date rule: a fixed day of the month ('wday' < 0), or the 'nth'
 * weekday 'wday' of the month (nth -1: the last one). */
struct rule {
	const char *name;
	const char *observed;   /* NULL: never moved off a weekend */
	int month, mday;
	int wday, nth;
	int64_t from, to;       /* the years it applies, inclusive */
};

static const struct rule us_rules[] = {
	{"New Year's Day", "New Year's Day (Observed)", 1, 1, -1, 0, 1871, FOREVER},
	{"Martin Luther King Jr. Day", NULL, 1, 0, MON, 3, 1986, FOREVER},
	{"Washington's Birthday", NULL, 2, 22, -1, 0, 1879, 1970},
	{"Washington's Birthday", NULL, 2, 0, MON, 3, 1971, FOREVER},
	{"Memorial Day", NULL, 5, 30, -1, 0, 1888, 1970},
	{"Memorial Day", NULL, 5, 0, MON, -1, 1971, FOREVER},
	{"Juneteenth National Independence Day",
	 "Juneteenth National Independence Day (Observed)", 6, 19, -1, 0, 2021, FOREVER},
	{"Independence Day", "Independence Day (Observed)", 7, 4, -1, 0, 1871, FOREVER},
	{"Labor Day", NULL, 9, 0, MON, 1, 1894, FOREVER},
	{"Columbus Day", NULL, 10, 12, -1, 0, 1937, 1970},
	{"Columbus Day", NULL, 10, 0, MON, 2, 1971, FOREVER},
	{"Armistice Day", "Armistice Day (Observed)", 11, 11, -1, 0, 1938, 1953},
	{"Veterans Day", "Veterans Day (Observed)", 11, 11, -1, 0, 1954, 1970},
	{"Veterans Day", NULL, 10, 0, MON, 4, 1971, 1977},
	{"Veterans Day", "Veterans Day (Observed)", 11, 11, -1, 0, 1978, FOREVER},
	{"Thanksgiving", NULL, 11, 0, THU, 4, 1871, FOREVER},
	{"Christmas Day", "Christmas Day (Observed)", 12, 25, -1, 0, 1871, FOREVER},
};

int holidays_weekday(int64_t day)
{
	int64_t w = (day + 3) % 7;   /* 1970-01-01 was a Thursday (3) */

	return (int)(w < 0 ? w + 7 : w);
}

const char *holidays_countries(void)
{
	return "US";
}

int holidays_known(const char *country)
{
	return !country || !*country || !strcmp(country, "US");
}

/* The rules of 'country'; NULL with '*n' 0 for none or unknown. */
static const struct rule *rules_of(const char *country, size_t *n)
{
	if (country && !strcmp(country, "US")) {
		*n = sizeof(us_rules) / sizeof(us_rules[0]);
		return us_rules;
	}
	*n = 0;
	return NULL;
}

/* The day rule 'r' gives in 'year' (which it must apply to). */
static int64_t rule_day(const struct rule *r, int64_t year)
{
	int64_t first, last;
	int shift;

	if (r->wday < 0)
		return timeparse_days_from_civil(year, r->month, r->mday);
	if (r->nth > 0) {
		first = timeparse_days_from_civil(year, r->month, 1);
		shift = (r->wday - holidays_weekday(first) + 7) % 7;
		return first + shift + 7 * (r->nth - 1);
	}
	last = timeparse_days_from_civil(year, r->month,
					 timeparse_month_days(year, r->month));
	return last - (holidays_weekday(last) - r->wday + 7) % 7;
}

/* Append 'day' to 'out' if it falls in 'year'. */
static void keep_in_year(int64_t day, const char *name, int64_t year,
			 struct holiday *out, size_t *n)
{
	int64_t y;
	int m, d;

	timeparse_civil_from_days(day, &y, &m, &d);
	if (y != year || *n >= HOLIDAYS_MAX_PER_YEAR)
		return;
	out[*n].day = day;
	out[*n].name = name;
	(*n)++;
}

/* By date, then by name: the order every list is in. */
static int cmp_holiday(const void *a, const void *b)
{
	const struct holiday *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t holidays_of_year(const char *country, int64_t year,
			struct holiday out[HOLIDAYS_MAX_PER_YEAR])
{
	size_t n_rules, n = 0;
	const struct rule *rules = rules_of(country, &n_rules);

	for (size_t i = 0; i < n_rules; i++) {
		const struct rule *r = &rules[i];
		for (int64_t y = year - 1; y <= year + 1; y++) {
			int64_t day;
			int wd;
			if (y < r->from || y > r->to)
				continue;
			day = rule_day(r, y);
			keep_in_year(day, r->name, year, out, &n);
			wd = holidays_weekday(day);
			if (r->observed && (wd == SAT || wd == SUN))
				keep_in_year(day + (wd == SAT ? -1 : 1), r->observed,
					     year, out, &n);
		}
	}
	qsort(out, n, sizeof(*out), cmp_holiday);
	return n;
}

struct holiday *holidays_between(const char *country, int64_t y0, int64_t y1,
				 size_t *n)
{
	size_t cap = 0, count = 0;
	struct holiday *all = NULL, year[HOLIDAYS_MAX_PER_YEAR];

	for (int64_t y = y0; y <= y1; y++) {
		size_t k = holidays_of_year(country, y, year);
		xgrow((void **)&all, sizeof(*all), &cap, count + k + 1);
		memcpy(all + count, year, k * sizeof(*all));
		count += k;
	}
	if (!all)
		all = xmalloc(sizeof(*all));
	*n = count;
	return all;
}
