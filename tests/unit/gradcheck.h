/* gradcheck: a model's analytic gradients against central finite
 * differences, for the unit tests of the models (test_tcn.c,
 * test_seq2seq.c).
 *
 * The caller's 'loss' runs the float forward pass at the current weights
 * and returns the loss summed in double; with 'grads' set it also runs
 * backward, filling the parameter set's gradients.  Each element is moved
 * by steps 1e-2 and 5e-3; it mismatches when |analytic - numeric| > 2e-4 +
 * 2e-2 |numeric| at both (a real bug fails both, rounding neither): the
 * truncation error (~1e-5) and the rounding (~1e-6) stay far below. */
#ifndef DAGRUN_TEST_GRADCHECK_H
#define DAGRUN_TEST_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "xalloc.h"

typedef double gradcheck_loss_fn(void *ctx, int grads);

/* The central difference of the loss along 'v[i]'. */
static double gradcheck_numeric(gradcheck_loss_fn *loss, void *ctx, float *v,
				size_t i, float h)
{
	float keep = v[i];
	double up, down;

	v[i] = keep + h;
	up = loss(ctx, 0);
	v[i] = keep - h;
	down = loss(ctx, 0);
	v[i] = keep;
	return (up - down) / ((double)(keep + h) - (double)(keep - h));
}

/* Check every element of the tensors of 'p' whose names start with
 * 'prefix'.  Returns the mismatches and prints the first few; '*checked'
 * gets the elements checked and '*live' those whose gradient is not 0. */
__attribute__((unused))
static int gradcheck(struct tensor_set *p, gradcheck_loss_fn *loss, void *ctx,
		     const char *prefix, int *checked, int *live)
{
	float *grad = xmalloc(p->total * sizeof(float));
	int bad = 0;

	*checked = *live = 0;
	loss(ctx, 1);
	memcpy(grad, p->grad, p->total * sizeof(float));
	for (int k = 0; k < p->n; k++) {
		struct tensor *t = &p->t[k];
		if (strncmp(t->name, prefix, strlen(prefix)))
			continue;
		for (size_t i = 0; i < t->count; i++, (*checked)++) {
			double a = grad[t->offset + i];
			double n1 = gradcheck_numeric(loss, ctx, t->v, i, 1e-2f);
			double n2 = gradcheck_numeric(loss, ctx, t->v, i, 5e-3f);
			int off1 = fabs(a - n1) > 2e-4 + 2e-2 * fabs(n1);
			int off2 = fabs(a - n2) > 2e-4 + 2e-2 * fabs(n2);
			*live += fabs(a) > 1e-6;
			if (off1 && off2 && bad++ < 5)
				fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g / %.6g\n",
					t->name, i, a, n1, n2);
		}
	}
	free(grad);
	if (*checked == 0) {
		fprintf(stderr, "  no tensor named %s*\n", prefix);
		return 1;
	}
	return bad;
}

#endif
