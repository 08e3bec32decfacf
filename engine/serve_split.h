/* serve_split: the traffic split of `dagrun serve --split
 * production=90,challenger=10` for requests that name a model without an
 * alias.
 *
 * Weights are whole numbers; a request's point on [0, total) picks the
 * alias whose share covers it, in the order given.  The point comes from
 * the request key (X-Request-Key) when there is one, hashed, so the same
 * key always lands on the same alias (sticky); without a key from a
 * sequence number, mixed, so that over many requests each alias gets its
 * share.  When the picked alias is not there for the model (no challenger
 * yet), the next alias in the list that is takes its place, so keys that
 * land on a present alias never move.
 *
 * Thread-safety: a parsed split is read-only; serve_split_pick() may run
 * on many threads at once. */
#ifndef DAGRUN_SERVE_SPLIT_H
#define DAGRUN_SERVE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* 10000: the largest total weight; percentages need 100 */
#define SERVE_SPLIT_MAX_TOTAL 10000
/* 16: aliases in one split */
#define SERVE_SPLIT_MAX 16

struct serve_split {
	size_t n;                        /* 0: no split */
	char *alias[SERVE_SPLIT_MAX];    /* owned */
	unsigned weight[SERVE_SPLIT_MAX];
	unsigned total;
};

/* Parse "ALIAS=WEIGHT,ALIAS=WEIGHT,..." into 's' (caller releases with
 * serve_split_release(), on failure too).  ERR_USER for a malformed list,
 * an alias given twice, a weight that is not a whole number, a total of 0
 * or above SERVE_SPLIT_MAX_TOTAL. */
int serve_split_parse(const char *text, struct serve_split *s, struct err *err);
void serve_split_release(struct serve_split *s);

/* The point of a request on [0, total): from 'key' ('key_len' bytes) when
 * 'key' is not NULL, else from 'seq'. */
unsigned serve_split_point(const struct serve_split *s, const char *key,
			   size_t key_len, uint64_t seq);

/* The alias for 'point': the one whose share covers it if 'present' says
 * it is there (present(arg, alias) returns 1), else the next present one
 * in order (wrapping).  NULL when none is present.  Borrowed from 's'. */
const char *serve_split_pick(const struct serve_split *s, unsigned point,
			     int (*present)(void *arg, const char *alias),
			     void *arg);

#endif
