/* l1qp: the exact minimum of a convex quadratic with an L1 term,
 *
 *   minimise  f(x) = 1/2 x'H x - c'x + lambda sum_{p0 <= j < p1} |x_j|
 *
 * for a symmetric positive definite H, by feature-sign search (Lee,
 * Battle, Raina and Ng, "Efficient sparse coding algorithms", NIPS 2007):
 * guess the signs of the penalised unknowns, solve the linear system on
 * the unknowns not held at zero (Cholesky), walk towards its solution but
 * stop where a sign would flip if that is lower, and repeat until the
 * optimality conditions hold: the gradient H x - c is 0 on the free
 * unknowns, -lambda sign(x_j) on the nonzero penalised ones, and within
 * [-lambda, lambda] on the zero ones.  Every step lowers f, so it ends;
 * each step costs a Cholesky of at most q^3 / 3 flops.  Zeros are exact
 * zeros: the L1 term makes the solution sparse.
 *
 * Used by prophet.c, whose Laplace prior on the trend's rate changes is
 * the L1 term.  No global state; a 'struct l1qp' is one problem, not
 * thread-safe. */
#ifndef DAGRUN_L1QP_H
#define DAGRUN_L1QP_H

#include <stddef.h>

struct l1qp {
	size_t q;              /* unknowns */
	size_t p0, p1;         /* the penalised ones: [p0, p1) */
	double lambda;         /* >= 0 */
	double *H;             /* q x q, row-major: the caller fills it */
	double *c;             /* q: the caller fills it */
	double *x;             /* q: the start (any), then the minimum */
	/* scratch, private */
	double *grad, *sol, *chol, *rhs;
	size_t *active;
	signed char *sign;
};

/* Allocate a problem of 'q' unknowns, penalised [p0, p1); H, c, x are
 * zero.  Release it with l1qp_release(). */
void l1qp_init(struct l1qp *Q, size_t q, size_t p0, size_t p1, double lambda);
void l1qp_release(struct l1qp *Q);

/* f at 'x' (q values). */
double l1qp_value(const struct l1qp *Q, const double *x);

/* Move Q->x from where it is to the minimum.  Returns the steps taken (at
 * most L1QP_MAX_STEPS(q), after which x is the best point reached), or -1
 * if H restricted to the free unknowns is not positive definite (x then
 * holds the last point reached, which is no worse than the start). */
int l1qp_solve(struct l1qp *Q);

/* 10 q + 100: steps allowed; ends far sooner in practice (about twice
 * the number of sign changes) */
#define L1QP_MAX_STEPS(q) (10 * (int)(q) + 100)

#endif
