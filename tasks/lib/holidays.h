/* holidays: public holidays computed by rule, for any year.
 *
 * A country is a code: "US" (the federal holidays of 5 U.S.C. 6103), or
 * none (NULL or ""), which has no holidays.  Each holiday is a calendar
 * date (days since 1970-01-01, proleptic Gregorian) and a name.  A
 * holiday that falls on a Saturday is also observed on the Friday before,
 * on a Sunday on the Monday after; the observed day is a holiday of its
 * own, named "<name> (Observed)", as in Prophet's country holidays (the
 * Python 'holidays' package), so that a model can give it its own effect.
 * A year's list holds the dates that fall in that year: the Friday
 * December 31 observed for the next New Year's Day belongs to the year it
 * falls in.
 *
 * Rules follow the law's history where it changed a date: Monday holidays
 * from 1971 (Washington's Birthday, Memorial Day, Columbus Day; Veterans
 * Day on the fourth Monday of October 1971-1977), Martin Luther King Jr.
 * Day from 1986, Juneteenth from 2021.
 *
 * Pure functions: no global state, thread-safe; names are static strings. */
#ifndef DAGRUN_HOLIDAYS_H
#define DAGRUN_HOLIDAYS_H

#include <stddef.h>
#include <stdint.h>

/* 24: the most holidays one year of any supported country can hold
 * (US: 11 holidays, at most 4 observed days, an early New Year's) */
#define HOLIDAYS_MAX_PER_YEAR 24

struct holiday {
	int64_t day;         /* days since 1970-01-01 */
	const char *name;    /* static, e.g. "Independence Day (Observed)" */
};

/* 1 if 'country' is supported: "US", or none (NULL or ""); else 0. */
int holidays_known(const char *country);

/* The countries holidays_known() accepts, for messages: "US". */
const char *holidays_countries(void);

/* Fill 'out' with the holidays of 'country' whose date falls in 'year',
 * sorted by date (then by name).  Returns how many: 0 for none or an
 * unknown country. */
size_t holidays_of_year(const char *country, int64_t year,
			struct holiday out[HOLIDAYS_MAX_PER_YEAR]);

/* The holidays of years 'y0' to 'y1' (inclusive), sorted by date, in a
 * fresh array the caller frees (never NULL); '*n' gets the count. */
struct holiday *holidays_between(const char *country, int64_t y0, int64_t y1,
				 size_t *n);

/* The day of the week of 'day' (days since 1970-01-01): 0 Monday ... 6
 * Sunday. */
int holidays_weekday(int64_t day);

#endif
