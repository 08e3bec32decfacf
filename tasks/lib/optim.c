/* optim: see optim.h. */
#include "optim.h"
#include "tensor.h"

#include <math.h>
#include <string.h>

void optim_init(struct optim *o, enum optim_kind kind, size_t n, double lr,
		double weight_decay)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->lr = lr;
	o->weight_decay = weight_decay;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->eps = 1e-8;
	o->n = n;
	if (kind == OPTIM_ADAM) {
		o->m = tensor_alloc(n);
		o->v = tensor_alloc(n);
	}
}

void optim_release(struct optim *o)
{
	tensor_free(o->m);
	tensor_free(o->v);
	memset(o, 0, sizeof(*o));
}

/* The update loops are fused code: see TENSOR_FUSED_BEGIN in tensor.h. */
TENSOR_FUSED_BEGIN

TENSOR_CLONES static void sgd_step(struct optim *o, float *restrict p, const float *restrict g)
{
	float lr = (float)o->lr, wd = (float)o->weight_decay;

	for (size_t i = 0; i < o->n; i++)
		p[i] -= lr * (g[i] + wd * p[i]);
}

/* The bias corrections are computed in double, as PyTorch does in
 * Python, then used as float scalars. */
TENSOR_CLONES static void adam_step(struct optim *o, float *restrict p, const float *restrict g)
{
	float *restrict m = o->m, *restrict v = o->v;
	float b1 = (float)o->beta1, b2 = (float)o->beta2, wd = (float)o->weight_decay;
	float a1 = (float)(1.0 - o->beta1), a2 = (float)(1.0 - o->beta2);
	float step_size = (float)(o->lr / (1.0 - pow(o->beta1, (double)o->step)));
	float bc2_sqrt = (float)sqrt(1.0 - pow(o->beta2, (double)o->step));
	float eps = (float)o->eps;

	for (size_t i = 0; i < o->n; i++) {
		float gi = g[i] + wd * p[i];
		m[i] = m[i] * b1 + gi * a1;
		v[i] = v[i] * b2 + a2 * gi * gi;
		p[i] -= step_size * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
	}
}

TENSOR_FUSED_END

void optim_step(struct optim *o, float *param, const float *grad)
{
	o->step++;
	if (o->kind == OPTIM_ADAM)
		adam_step(o, param, grad);
	else
		sgd_step(o, param, grad);
}

double optim_norm(const float *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	return sqrt(s);
}

double optim_clip_norm(float *grad, size_t n, double max_norm)
{
	double norm = optim_norm(grad, n), coef = max_norm / (norm + 1e-6);

	if (coef < 1.0) {
		float c = (float)coef;
		for (size_t i = 0; i < n; i++)
			grad[i] *= c;
	}
	return norm;
}
