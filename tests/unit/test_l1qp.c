/* Unit tests of l1qp: closed forms in one dimension, the optimality
 * conditions on a random problem from any start, exact zeros, and a
 * matrix that is not positive definite. */
#include "l1qp.h"
#include "test.h"

#include <math.h>

/* A deterministic uniform in [-1, 1) (LCG). */
static double uniform(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) * 0x1.0p-52 - 1;
}

TEST(one_unknown_is_soft_thresholding)
{
	struct l1qp Q;

	l1qp_init(&Q, 1, 0, 1, 1.0);
	Q.H[0] = 2;
	Q.c[0] = 3;
	ASSERT(l1qp_solve(&Q) >= 0);
	ASSERT(fabs(Q.x[0] - 1.0) < 1e-15);    /* (3 - 1) / 2 */
	Q.c[0] = -3;
	ASSERT(l1qp_solve(&Q) >= 0);
	ASSERT(fabs(Q.x[0] + 1.0) < 1e-15);
	Q.lambda = 5;                            /* |c| <= lambda: exactly 0 */
	ASSERT(l1qp_solve(&Q) >= 0);
	ASSERT(Q.x[0] == 0);
	l1qp_release(&Q);
	l1qp_init(&Q, 1, 0, 0, 1.0);             /* none penalised */
	Q.H[0] = 2;
	Q.c[0] = 3;
	ASSERT(l1qp_solve(&Q) >= 0);
	ASSERT(fabs(Q.x[0] - 1.5) < 1e-15);
	l1qp_release(&Q);
}

/* H = A'A + I for a random 12 x 8 A: positive definite. */
static void random_problem(struct l1qp *Q, unsigned long long seed)
{
	double A[12][8];

	for (int i = 0; i < 12; i++)
		for (int j = 0; j < 8; j++)
			A[i][j] = uniform(&seed);
	for (int a = 0; a < 8; a++) {
		for (int b = 0; b < 8; b++) {
			double s = a == b;
			for (int i = 0; i < 12; i++)
				s += A[i][a] * A[i][b];
			Q->H[a * 8 + b] = s;
		}
		Q->c[a] = 3 * uniform(&seed);
	}
}

/* The optimality conditions at Q->x, to 'tol'. */
static int optimal(const struct l1qp *Q, double tol)
{
	for (size_t a = 0; a < Q->q; a++) {
		double g = -Q->c[a];
		int pen = a >= Q->p0 && a < Q->p1;
		for (size_t b = 0; b < Q->q; b++)
			g += Q->H[a * Q->q + b] * Q->x[b];
		if (!pen && fabs(g) > tol)
			return 0;
		if (pen && Q->x[a] != 0 && fabs(g + Q->lambda * (Q->x[a] > 0 ? 1 : -1)) > tol)
			return 0;
		if (pen && Q->x[a] == 0 && fabs(g) > Q->lambda + tol)
			return 0;
	}
	return 1;
}

TEST(random_problems_reach_the_optimum_from_any_start)
{
	for (unsigned long long seed = 1; seed <= 20; seed++) {
		struct l1qp Q;
		double first[8], f;
		int zeros = 0;
		l1qp_init(&Q, 8, 2, 7, 2.0);
		random_problem(&Q, seed);
		ASSERT(l1qp_solve(&Q) >= 0);
		ASSERT(optimal(&Q, 1e-9));
		memcpy(first, Q.x, sizeof(first));
		f = l1qp_value(&Q, Q.x);
		for (int j = 0; j < 8; j++) {
			zeros += j >= 2 && j < 7 && Q.x[j] == 0;
			Q.x[j] = 5 * uniform(&seed);     /* a far start */
		}
		ASSERT(l1qp_solve(&Q) >= 0);
		ASSERT(optimal(&Q, 1e-9));
		for (int j = 0; j < 8; j++)
			ASSERT(fabs(Q.x[j] - first[j]) < 1e-9);
		ASSERT(fabs(l1qp_value(&Q, Q.x) - f) < 1e-12 * (1 + fabs(f)));
		ASSERT(zeros <= 5);
		l1qp_release(&Q);
	}
}

TEST(a_large_lambda_zeroes_every_penalised_unknown)
{
	struct l1qp Q;

	l1qp_init(&Q, 8, 0, 8, 1e6);
	random_problem(&Q, 3);
	ASSERT(l1qp_solve(&Q) >= 0);
	for (int j = 0; j < 8; j++)
		ASSERT(Q.x[j] == 0);
	l1qp_release(&Q);
}

TEST(not_positive_definite_is_refused)
{
	struct l1qp Q;

	l1qp_init(&Q, 2, 0, 0, 0);
	Q.H[0] = 1, Q.H[1] = 2, Q.H[2] = 2, Q.H[3] = 1;
	Q.c[0] = 1;
	ASSERT_EQ(l1qp_solve(&Q), -1);
	l1qp_release(&Q);
}

TEST_LIST(
	T(one_unknown_is_soft_thresholding),
	T(random_problems_reach_the_optimum_from_any_start),
	T(a_large_lambda_zeroes_every_penalised_unknown),
	T(not_positive_definite_is_refused)
)
