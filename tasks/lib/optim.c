/* optim: see optim.h. */
#include "optim.h"
#include "tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

TENSOR_FUSED_END

/* Adam's update of one element, as the rule in optim.h, every operation
 * one IEEE rounding in this order (no fused multiply-add), so that the
 * vector kernels below, which do the same operations lane by lane, give
 * the same bits.  The scalars come from adam_consts(). */
struct adam_consts {
	float b1, b2, a1, a2, wd, step_size, bc2_sqrt, eps;
};

/* The bias corrections are computed in double, as PyTorch does in
 * Python, then used as float scalars. */
static struct adam_consts adam_consts(const struct optim *o)
{
	struct adam_consts k = {
		(float)o->beta1, (float)o->beta2, (float)(1.0 - o->beta1),
		(float)(1.0 - o->beta2), (float)o->weight_decay,
		(float)(o->lr / (1.0 - pow(o->beta1, (double)o->step))),
		(float)sqrt(1.0 - pow(o->beta2, (double)o->step)), (float)o->eps,
	};
	return k;
}

/* Elements [from, to) one at a time: the portable kernel, and the tail of
 * the vector ones.  Outside TENSOR_FUSED_BEGIN, in ISO C11, where GCC does
 * not contract a * b + c into a fused multiply-add either. */
static void adam_scalar(const struct adam_consts *k, float *p, float *m,
			float *v, const float *g, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		float gi = g[i] + k->wd * p[i];
		m[i] = m[i] * k->b1 + gi * k->a1;
		v[i] = v[i] * k->b2 + k->a2 * gi * gi;
		p[i] -= k->step_size * (m[i] / (sqrtf(v[i]) / k->bc2_sqrt + k->eps));
	}
}

/* sqrtf() keeps errno semantics, which a pragma cannot turn off, so the
 * compiler leaves that loop scalar (a twentieth of an LSTM epoch); these
 * are the same operations with the square root as one vector
 * instruction, which rounds as sqrtf does. */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_ADAM 1

__attribute__((target("avx512f")))
static size_t adam_avx512(const struct adam_consts *k, float *p, float *m,
			  float *v, const float *g, size_t n)
{
	__m512 b1 = _mm512_set1_ps(k->b1), b2 = _mm512_set1_ps(k->b2);
	__m512 a1 = _mm512_set1_ps(k->a1), a2 = _mm512_set1_ps(k->a2);
	__m512 wd = _mm512_set1_ps(k->wd), ss = _mm512_set1_ps(k->step_size);
	__m512 bc = _mm512_set1_ps(k->bc2_sqrt), eps = _mm512_set1_ps(k->eps);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512 pi = _mm512_loadu_ps(p + i), gi = _mm512_loadu_ps(g + i);
		__m512 mi, vi, d;
		gi = _mm512_add_ps(gi, _mm512_mul_ps(wd, pi));
		mi = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), b1), _mm512_mul_ps(gi, a1));
		vi = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + i), b2),
				   _mm512_mul_ps(_mm512_mul_ps(a2, gi), gi));
		d = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc), eps);
		pi = _mm512_sub_ps(pi, _mm512_mul_ps(ss, _mm512_div_ps(mi, d)));
		_mm512_storeu_ps(m + i, mi);
		_mm512_storeu_ps(v + i, vi);
		_mm512_storeu_ps(p + i, pi);
	}
	return i;
}

__attribute__((target("avx2")))
static size_t adam_avx2(const struct adam_consts *k, float *p, float *m,
			float *v, const float *g, size_t n)
{
	__m256 b1 = _mm256_set1_ps(k->b1), b2 = _mm256_set1_ps(k->b2);
	__m256 a1 = _mm256_set1_ps(k->a1), a2 = _mm256_set1_ps(k->a2);
	__m256 wd = _mm256_set1_ps(k->wd), ss = _mm256_set1_ps(k->step_size);
	__m256 bc = _mm256_set1_ps(k->bc2_sqrt), eps = _mm256_set1_ps(k->eps);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 pi = _mm256_loadu_ps(p + i), gi = _mm256_loadu_ps(g + i);
		__m256 mi, vi, d;
		gi = _mm256_add_ps(gi, _mm256_mul_ps(wd, pi));
		mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(gi, a1));
		vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2),
				   _mm256_mul_ps(_mm256_mul_ps(a2, gi), gi));
		d = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc), eps);
		pi = _mm256_sub_ps(pi, _mm256_mul_ps(ss, _mm256_div_ps(mi, d)));
		_mm256_storeu_ps(m + i, mi);
		_mm256_storeu_ps(v + i, vi);
		_mm256_storeu_ps(p + i, pi);
	}
	return i;
}
#endif

/* The widest kernel the CPU runs, or the one the environment variable
 * DAGRUN_RNN_ISA names (avx512, avx2, generic; as rnn.h's inference). */
static void adam_step(struct optim *o, float *p, const float *g)
{
	struct adam_consts k = adam_consts(o);
	size_t done = 0;
#ifdef HAVE_X86_ADAM
	const char *want = getenv("DAGRUN_RNN_ISA");
	int any = !want || !*want;

	__builtin_cpu_init();
	if ((any || !strcmp(want, "avx512")) && __builtin_cpu_supports("avx512f"))
		done = adam_avx512(&k, p, o->m, o->v, g, o->n);
	else if ((any || strcmp(want, "generic")) && __builtin_cpu_supports("avx2"))
		done = adam_avx2(&k, p, o->m, o->v, g, o->n);
#endif
	adam_scalar(&k, p, o->m, o->v, g, done, o->n);
}


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
