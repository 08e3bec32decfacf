/* Unit tests for tasks/lib/scaler.c: each kind fitted by hand, apply and
 * inverse, no leakage from rows outside the fitted range, the JSON form
 * and its refusals. */
#include "test.h"
#include "scaler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * (1 + fabs(b));
}

TEST(standard_by_hand)
{
	double x[6] = {100, 1, 2, 3, 4, -100};
	struct scaler s;

	scaler_init(&s, SCALER_STANDARD);
	ASSERT_EQ(scaler_fit(&s, "v", x, 1, 5), 0);   /* rows 1..4 only */
	ASSERT(near(s.a[0], 2.5));
	ASSERT(near(s.b[0], sqrt(1.25)));            /* population std, ddof 0 */
	ASSERT(near(scaler_apply(&s, 0, 2.5), 0));
	ASSERT(near(scaler_apply(&s, 0, 4), 1.5 / sqrt(1.25)));
	for (int i = 0; i < 6; i++)
		ASSERT(near(scaler_inverse(&s, 0, scaler_apply(&s, 0, x[i])), x[i]));
	scaler_release(&s);
}

TEST(minmax_and_none)
{
	double x[5] = {3, -1, 7, 5, 1};
	struct scaler s;

	scaler_init(&s, SCALER_MINMAX);
	scaler_fit(&s, "v", x, 0, 5);
	ASSERT(s.a[0] == -1 && s.b[0] == 7);
	ASSERT(scaler_apply(&s, 0, -1) == 0 && scaler_apply(&s, 0, 7) == 1);
	ASSERT(scaler_apply(&s, 0, 3) == 0.5);
	ASSERT(scaler_inverse(&s, 0, 0.25) == 1);
	scaler_release(&s);
	scaler_init(&s, SCALER_NONE);
	scaler_fit(&s, "v", x, 0, 5);
	for (int i = 0; i < 5; i++)
		ASSERT(scaler_apply(&s, 0, x[i]) == x[i] && scaler_inverse(&s, 0, x[i]) == x[i]);
	scaler_release(&s);
}

/* A constant column: std 1 (max = min + 1), so values stay finite. */
TEST(no_spread)
{
	double x[3] = {4, 4, 4};
	struct scaler s;

	scaler_init(&s, SCALER_STANDARD);
	scaler_fit(&s, "c", x, 0, 3);
	ASSERT(s.a[0] == 4 && s.b[0] == 1 && scaler_apply(&s, 0, 6) == 2);
	scaler_release(&s);
	scaler_init(&s, SCALER_MINMAX);
	scaler_fit(&s, "c", x, 0, 3);
	ASSERT(s.a[0] == 4 && s.b[0] == 5 && scaler_apply(&s, 0, 6) == 2);
	scaler_release(&s);
}

/* The leakage test: fit on the training rows, then change every other row
 * (validation and test, and rows before the range); the fitted params are
 * the same bits. */
TEST(fit_reads_only_its_rows)
{
	enum scaler_kind kinds[2] = {SCALER_STANDARD, SCALER_MINMAX};
	double x[100];

	for (int k = 0; k < 2; k++) {
		struct scaler before, after;
		for (int i = 0; i < 100; i++)
			x[i] = sin(i * 0.3) * 10 + i * 0.1;
		scaler_init(&before, kinds[k]);
		scaler_fit(&before, "v", x, 10, 70);
		for (int i = 0; i < 100; i++) {
			if (i < 10 || i >= 70)
				x[i] = i % 2 ? 1e9 : -1e9;
		}
		scaler_init(&after, kinds[k]);
		scaler_fit(&after, "v", x, 10, 70);
		int same = memcmp(before.a, after.a, sizeof(double)) == 0 &&
			   memcmp(before.b, after.b, sizeof(double)) == 0;
		scaler_release(&before);
		scaler_release(&after);
		ASSERT(same);
	}
}

TEST(many_columns_row_major)
{
	double c0[4] = {0, 2, 4, 6}, c1[4] = {10, 10, 20, 20};
	double *cols[2] = {c0, c1}, *m;
	char *names[2] = {"b", "a"};
	struct scaler s;

	scaler_init(&s, SCALER_MINMAX);
	scaler_fit_all(&s, names, cols, 2, 0, 4);
	ASSERT_EQ(scaler_find(&s, "a"), 1);
	ASSERT_EQ(scaler_find(&s, "z"), -1);
	m = scaler_apply_rows(&s, cols, 1, 4);   /* rows 1..3 */
	ASSERT(near(m[0], 2.0 / 6) && m[1] == 0);
	ASSERT(near(m[2], 4.0 / 6) && m[3] == 1);
	ASSERT(m[4] == 1 && m[5] == 1);
	free(m);
	scaler_release(&s);
}

/* To JSON and back: the same bits, in the fitted order (not sorted). */
TEST(json_round_trip)
{
	double x[5] = {0.1, 0.7, 1.0 / 3, 2e-9, 12345.678};
	enum scaler_kind kinds[3] = {SCALER_STANDARD, SCALER_MINMAX, SCALER_NONE};
	const char *names[3] = {"zeta", "alpha", "mid"};

	for (int k = 0; k < 3; k++) {
		struct scaler s, back;
		struct err err;
		char *text;
		json_t *j;
		int ok;
		scaler_init(&s, kinds[k]);
		for (int c = 0; c < 3; c++)
			scaler_fit(&s, names[c], x, (size_t)c, 5);
		text = json_dumps(j = scaler_to_json(&s), JSON_COMPACT | JSON_REAL_PRECISION(17));
		json_decref(j);
		j = json_loads(text, 0, NULL);
		free(text);
		err_init(&err);
		ok = scaler_from_json(j, &back, &err) == 0 && back.kind == s.kind &&
		     back.n == 3;
		for (size_t c = 0; ok && c < 3; c++)
			ok = !strcmp(back.names[c], names[c]) && back.a[c] == s.a[c] &&
			     back.b[c] == s.b[c];
		json_decref(j);
		scaler_release(&s);
		scaler_release(&back);
		ASSERT(ok);
	}
}

TEST(json_refusals)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{"{\"kind\": \"robust\", \"params\": {}}", "expected {\"kind\""},
		{"{\"kind\": \"standard\"}", "expected {\"kind\""},
		{"{\"kind\": \"standard\", \"params\": {\"v\": {\"mean\": 1}}}", "no number 'std'"},
		{"{\"kind\": \"standard\", \"params\": {\"v\": {\"mean\": 1, \"std\": 0}}}", "std > 0"},
		{"{\"kind\": \"minmax\", \"params\": {\"v\": {\"min\": 1, \"max\": 1}}}", "max > min"},
		{"{\"kind\": \"minmax\", \"params\": {\"v\": {\"min\": \"1\", \"max\": 2}}}", "no number 'min'"},
	};
	struct scaler s;
	struct err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		int rc;
		err_init(&err);
		rc = scaler_from_json(j, &s, &err);
		json_decref(j);
		scaler_release(&s);
		ASSERT_EQ(rc, -1);
		ASSERT_EQ(err.kind, ERR_USER);
		ASSERT_CONTAINS(err.msg, cases[i].msg);
	}
}

TEST(kind_names)
{
	enum scaler_kind k;

	ASSERT_EQ(scaler_kind_parse("minmax", &k), 0);
	ASSERT_EQ(k, SCALER_MINMAX);
	ASSERT_STREQ(scaler_kind_name(SCALER_STANDARD), "standard");
	ASSERT_EQ(scaler_kind_parse("Standard", &k), -1);
	ASSERT_EQ(scaler_kind_parse(NULL, &k), -1);
}

TEST_LIST(T(standard_by_hand), T(minmax_and_none), T(no_spread),
	  T(fit_reads_only_its_rows), T(many_columns_row_major), T(json_round_trip),
	  T(json_refusals), T(kind_names))
