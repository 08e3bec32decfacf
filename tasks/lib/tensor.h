/* tensor: float32 buffers for the numeric kernels, and the named
 * parameter sets that models train.
 *
 * A buffer from tensor_alloc() is zeroed and 64-byte aligned (one cache
 * line, one AVX-512 register) so that the fused elementwise loops and
 * OpenBLAS see aligned rows.  Running out of memory aborts, as xmalloc
 * does.
 *
 * A 'struct tensor_set' holds a model's parameters: named tensors declared
 * first (tensor_set_add), then laid out back to back in one value block and
 * one gradient block (tensor_set_alloc).  Everything that treats the
 * parameters as a whole (the optimizer, gradient clipping, keeping the
 * best weights) then works on two flat arrays of 'total' floats, and the
 * order of the tensors is the order of the file they are saved to.
 *
 * The inline functions at the end are the activations of the fused gate
 * loops: branch-free, so the compiler vectorises the loops that call them.
 * Nothing here is thread-safe beyond what plain memory is. */
#ifndef DAGRUN_TENSOR_H
#define DAGRUN_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 8: enough for any layer dagrun trains (and what safetensors allows) */
#define TENSOR_MAX_DIMS 8
/* 64: a cache line */
#define TENSOR_ALIGN 64

/* 'n' zeroed floats, TENSOR_ALIGN-aligned; never NULL (n == 0 gives a
 * valid one-float buffer).  Release with tensor_free(). */
float *tensor_alloc(size_t n);
void tensor_free(float *p);

/* One named tensor in a set: a view into the set's blocks. */
struct tensor {
	char *name;                      /* owned by the set */
	int ndim;
	size_t shape[TENSOR_MAX_DIMS];
	size_t count;                    /* product of shape */
	size_t offset;                   /* first float in the set's blocks */
	float *v, *g;                    /* value and gradient; NULL before alloc */
};

struct tensor_set {
	struct tensor *t;
	int n, cap;
	size_t total;                    /* floats in each block */
	float *value, *grad;             /* NULL before tensor_set_alloc() */
};

void tensor_set_init(struct tensor_set *s);
/* Frees the names and both blocks; 's' may then be initialised again. */
void tensor_set_release(struct tensor_set *s);
/* Declare a tensor of 'ndim' (1..TENSOR_MAX_DIMS) dimensions; only before
 * tensor_set_alloc().  'name' is copied.  Returns its index. */
int tensor_set_add(struct tensor_set *s, const char *name, int ndim,
		   const size_t *shape);
/* Allocate the zeroed value and gradient blocks and point each tensor's
 * 'v' and 'g' into them. */
void tensor_set_alloc(struct tensor_set *s);
/* The tensor called 'name', or NULL. */
struct tensor *tensor_set_find(const struct tensor_set *s, const char *name);

/* --- activations for fused loops (float in, float out, no branches) ---
 *
 * Fused loops go between TENSOR_FUSED_BEGIN and TENSOR_FUSED_END, as the
 * activations below do: O3 vectorises loops of any trip count (GCC's -O2
 * only those whose count is a known multiple of the vector width), and
 * no-trapping-math lets it compute both sides of a select, which changes
 * no value, only the floating-point flags nobody reads; fp-contract=off
 * keeps a * b + c two roundings in every copy (see TENSOR_CLONES), even in
 * a GNU C build, where GCC would otherwise fuse them.  (no-math-errno
 * would let sqrtf vectorise too, but GCC ignores it in a pragma.)  GCC
 * inlines only between functions of the same options, hence one macro.
 * Other compilers get plain functions. */
#if defined(__GNUC__) && !defined(__clang__)
#define TENSOR_FUSED_BEGIN _Pragma("GCC push_options") \
	_Pragma("GCC optimize(\"O3\", \"no-trapping-math\", \"fp-contract=off\")")
#define TENSOR_FUSED_END _Pragma("GCC pop_options")
#else
#define TENSOR_FUSED_BEGIN
#define TENSOR_FUSED_END
#endif

/* On a fused loop's function: one copy per vector width, the widest the
 * CPU has picked at load time (GCC's function multiversioning).  The
 * copies compute the same IEEE operations in the same order (no
 * contraction into FMA, see above), so results do not depend on the CPU's
 * vector width. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TENSOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TENSOR_CLONES
#endif

TENSOR_FUSED_BEGIN

/* e^x within 2 ulp for x in [-87, 88]; clamped outside (never inf or 0
 * from overflow, never a denormal).  Cephes' expf, written with a rounding
 * constant and an integer exponent so that it vectorises. */
static inline float tensor_expf(float x)
{
	/* 1.5 * 2^23: adding it rounds a float to an integer */
	const float round = 12582912.0f;
	float n, r, p;
	int32_t bits;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	n = (x * 1.44269504088896341f + round) - round;
	r = x - n * 0.693359375f;
	r = r - n * -2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	bits = ((int32_t)n + 127) << 23;
	memcpy(&n, &bits, sizeof(n));
	return p * n;
}

static inline float tensor_sigmoid(float x)
{
	return 1.0f / (1.0f + tensor_expf(-x));
}

/* tanh: Cephes' odd polynomial below |x| = 0.625 (where 1 - 2/(e^2x + 1)
 * would lose digits), the exponential form above. */
static inline float tensor_tanh(float x)
{
	float a = x < 0 ? -x : x, z = x * x, p, e, big;

	p = -5.70498872745e-3f;
	p = p * z + 2.06390887954e-2f;
	p = p * z - 5.37397155531e-2f;
	p = p * z + 1.33314422036e-1f;
	p = p * z - 3.33332819422e-1f;
	p = p * z * x + x;
	e = tensor_expf(2.0f * a);
	big = 1.0f - 2.0f / (e + 1.0f);
	big = x < 0 ? -big : big;
	return a < 0.625f ? p : big;
}

TENSOR_FUSED_END

#endif
