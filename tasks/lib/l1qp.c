/* l1qp: see l1qp.h.  'sign' holds -1, 0 or +1 for each penalised
 * unknown (0: held at zero) and 0 for the others; the active set is every
 * unpenalised unknown and the penalised ones with a sign. */
#include "l1qp.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int penalised(const struct l1qp *Q, size_t j)
{
	return j >= Q->p0 && j < Q->p1;
}

static signed char sign_of(double v)
{
	return (signed char)((v > 0) - (v < 0));
}

void l1qp_init(struct l1qp *Q, size_t q, size_t p0, size_t p1, double lambda)
{
	Q->q = q;
	Q->p0 = p0;
	Q->p1 = p1;
	Q->lambda = lambda;
	Q->H = xcalloc(q * q + 1, sizeof(double));
	Q->chol = xcalloc(q * q + 1, sizeof(double));
	Q->c = xcalloc(q + 1, sizeof(double));
	Q->x = xcalloc(q + 1, sizeof(double));
	Q->grad = xcalloc(q + 1, sizeof(double));
	Q->sol = xcalloc(q + 1, sizeof(double));
	Q->rhs = xcalloc(q + 1, sizeof(double));
	Q->active = xcalloc(q + 1, sizeof(size_t));
	Q->sign = xcalloc(q + 1, 1);
}

void l1qp_release(struct l1qp *Q)
{
	free(Q->H);
	free(Q->chol);
	free(Q->c);
	free(Q->x);
	free(Q->grad);
	free(Q->sol);
	free(Q->rhs);
	free(Q->active);
	free(Q->sign);
	memset(Q, 0, sizeof(*Q));
}

double l1qp_value(const struct l1qp *Q, const double *x)
{
	double f = 0;

	for (size_t a = 0; a < Q->q; a++) {
		double hx = 0;
		for (size_t b = 0; b < Q->q; b++)
			hx += Q->H[a * Q->q + b] * x[b];
		f += x[a] * (0.5 * hx - Q->c[a]);
		if (penalised(Q, a))
			f += Q->lambda * fabs(x[a]);
	}
	return f;
}

/* grad = H x - c */
static void gradient(struct l1qp *Q)
{
	for (size_t a = 0; a < Q->q; a++) {
		double g = -Q->c[a];
		for (size_t b = 0; b < Q->q; b++)
			g += Q->H[a * Q->q + b] * Q->x[b];
		Q->grad[a] = g;
	}
}

/* Solve H_AA y = rhs on the 'na' active unknowns by Cholesky, in place of
 * 'rhs'.  Returns -1 if H_AA is not positive definite. */
static int solve_active(struct l1qp *Q, size_t na)
{
	double *L = Q->chol, *r = Q->rhs;

	for (size_t i = 0; i < na; i++) {
		for (size_t j = 0; j <= i; j++) {
			double v = Q->H[Q->active[i] * Q->q + Q->active[j]];
			for (size_t k = 0; k < j; k++)
				v -= L[i * na + k] * L[j * na + k];
			if (i == j && !(v > 0))
				return -1;
			L[i * na + j] = i == j ? sqrt(v) : v / L[j * na + j];
		}
	}
	for (size_t i = 0; i < na; i++) {
		for (size_t k = 0; k < i; k++)
			r[i] -= L[i * na + k] * r[k];
		r[i] /= L[i * na + i];
	}
	for (size_t i = na; i-- > 0;) {
		for (size_t k = i + 1; k < na; k++)
			r[i] -= L[k * na + i] * r[k];
		r[i] /= L[i * na + i];
	}
	return 0;
}

/* The active set into Q->active; returns its size. */
static size_t find_active(struct l1qp *Q)
{
	size_t na = 0;

	for (size_t j = 0; j < Q->q; j++) {
		if (!penalised(Q, j) || Q->sign[j])
			Q->active[na++] = j;
	}
	return na;
}

/* The best of the points on the segment from x to 'sol' where an active
 * penalised unknown reaches 0, and 'sol' itself (value 'best'): the step
 * along the segment, 1 for 'sol'.  Q->grad serves as scratch. */
static double best_step(struct l1qp *Q, double best)
{
	double step = 1, *mid = Q->grad;

	for (size_t j = Q->p0; j < Q->p1; j++) {
		double a, f;
		if (!Q->sign[j] || Q->x[j] == 0 || Q->x[j] * Q->sol[j] > 0)
			continue;
		a = Q->x[j] / (Q->x[j] - Q->sol[j]);
		for (size_t k = 0; k < Q->q; k++)
			mid[k] = Q->x[k] + a * (Q->sol[k] - Q->x[k]);
		mid[j] = 0;
		f = l1qp_value(Q, mid);
		if (f < best) {
			best = f;
			step = a;
		}
	}
	return step;
}

/* One feature-sign step: the solution on the active set for the current
 * signs, then the best point on the way to it.  Returns -1 if H_AA is not
 * positive definite. */
static int feature_sign_step(struct l1qp *Q)
{
	size_t na = find_active(Q);
	double step;

	for (size_t i = 0; i < na; i++)
		Q->rhs[i] = Q->c[Q->active[i]] - Q->lambda * Q->sign[Q->active[i]];
	if (solve_active(Q, na))
		return -1;
	memcpy(Q->sol, Q->x, Q->q * sizeof(double));
	for (size_t i = 0; i < na; i++)
		Q->sol[Q->active[i]] = Q->rhs[i];
	step = best_step(Q, l1qp_value(Q, Q->sol));
	for (size_t k = 0; k < Q->q; k++)
		Q->x[k] += step * (Q->sol[k] - Q->x[k]);
	for (size_t j = Q->p0; j < Q->p1; j++) {
		/* the unknown that stopped the step lands on 0 up to rounding */
		if (step < 1 && fabs(Q->x[j]) <= 1e-15 * (1 + fabs(Q->sol[j])))
			Q->x[j] = 0;
		Q->sign[j] = sign_of(Q->x[j]);
	}
	return 0;
}

/* The largest violation of the optimality conditions; '*enter' gets the
 * zero penalised unknown that violates most (q if none does). */
static double violation(struct l1qp *Q, size_t *enter)
{
	double worst = 0, worst_zero = 0;

	gradient(Q);
	*enter = Q->q;
	for (size_t j = 0; j < Q->q; j++) {
		double v;
		if (!penalised(Q, j)) {
			v = fabs(Q->grad[j]);
		} else if (Q->sign[j]) {
			v = fabs(Q->grad[j] + Q->lambda * Q->sign[j]);
		} else {
			v = fabs(Q->grad[j]) - Q->lambda;
			if (v > worst_zero) {
				worst_zero = v;
				*enter = j;
			}
		}
		worst = fmax(worst, v);
	}
	return worst;
}

int l1qp_solve(struct l1qp *Q)
{
	double tol = 0;
	int steps;

	/* 1e-11 of the largest of c and lambda: the optimality conditions
	 * hold to rounding, not beyond */
	for (size_t j = 0; j < Q->q; j++)
		tol = fmax(tol, fabs(Q->c[j]));
	tol = 1e-11 * (tol + Q->lambda);
	for (size_t j = 0; j < Q->q; j++)
		Q->sign[j] = penalised(Q, j) ? sign_of(Q->x[j]) : 0;
	for (steps = 0; steps < L1QP_MAX_STEPS(Q->q); steps++) {
		size_t enter;
		if (violation(Q, &enter) <= tol)
			break;
		if (enter < Q->q && fabs(Q->grad[enter]) - Q->lambda > tol)
			Q->sign[enter] = Q->grad[enter] > 0 ? -1 : 1;
		if (feature_sign_step(Q))
			return -1;
	}
	return steps;
}
