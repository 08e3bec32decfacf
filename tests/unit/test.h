/* test: the unit-test harness.  A test file defines TEST(name) functions,
 * lists them with TEST_LIST, and gets a main() that runs each one and
 * prints "N passed, N failed".  An ASSERT that fails prints file:line and
 * the expression, marks the test failed and leaves the test function. */
#ifndef DAGRUN_TEST_H
#define DAGRUN_TEST_H

#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

static int test_cur_failed;

#define TEST(name) static void name(void)
#define T(name) { #name, name }

#define ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
	test_cur_failed = 1; return; } } while (0)
#define ASSERT_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
	__FILE__, __LINE__, #a, #b, a_, b_); test_cur_failed = 1; return; } } while (0)
#define ASSERT_STREQ(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) { fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
	__FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	test_cur_failed = 1; return; } } while (0)
#define ASSERT_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); \
	if (!h_ || !strstr(h_, n_)) { fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", \
	__FILE__, __LINE__, h_ ? h_ : "(null)", n_); test_cur_failed = 1; return; } } while (0)

#define TEST_LIST(...) \
	static const struct test_case test_cases_[] = { __VA_ARGS__ }; \
	int main(void) { \
		int pass = 0, fail = 0; \
		size_t i; \
		setvbuf(stdout, NULL, _IOLBF, 0); \
		for (i = 0; i < sizeof(test_cases_) / sizeof(test_cases_[0]); i++) { \
			test_cur_failed = 0; \
			test_cases_[i].fn(); \
			if (test_cur_failed) { fail++; printf("FAIL %s\n", test_cases_[i].name); } \
			else { pass++; printf("ok   %s\n", test_cases_[i].name); } \
		} \
		printf("%d passed, %d failed\n", pass, fail); \
		return fail ? 1 : 0; \
	}

#endif
