/* optim: first-order optimizers over a flat parameter block, and
 * gradient clipping by global norm.
 *
 * The update rules are PyTorch's (torch.optim.Adam and SGD without
 * momentum, 1.13), so that a model trained here and one trained there
 * from the same weights on the same batches follow the same path:
 *   weight decay is L2 added to the gradient: g += wd * p (not AdamW);
 *   Adam:  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *          p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps);
 *   SGD:   p -= lr * g;
 *   clip:  g *= min(1, max_norm / (||g||_2 + 1e-6)) over all parameters.
 * A 'struct optim' is caller-owned: optim_init() then optim_release(). */
#ifndef DAGRUN_OPTIM_H
#define DAGRUN_OPTIM_H

#include <stddef.h>

enum optim_kind { OPTIM_SGD, OPTIM_ADAM };

struct optim {
	enum optim_kind kind;
	double lr, weight_decay;
	double beta1, beta2, eps;   /* Adam: 0.9, 0.999, 1e-8 by default */
	size_t n;                   /* floats in the parameter block */
	long step;                  /* updates done */
	float *m, *v;               /* Adam moments; NULL for SGD */
};

/* Set up for 'n' parameters with PyTorch's defaults for the rest. */
void optim_init(struct optim *o, enum optim_kind kind, size_t n, double lr,
		double weight_decay);
void optim_release(struct optim *o);

/* One update of 'param' from 'grad' (both 'n' floats; 'grad' is read
 * only).  Deterministic: the same bits whatever the CPU: Adam runs in the
 * widest kernel the CPU has (AVX-512, AVX2, portable C), each doing the
 * rule's operations in the same order with no fused multiply-add (the
 * environment variable DAGRUN_RNN_ISA, as in rnn.h, picks one for tests). */
void optim_step(struct optim *o, float *param, const float *grad);

/* Scale 'grad' so its L2 norm is at most 'max_norm' (> 0), as
 * torch.nn.utils.clip_grad_norm_ does.  Returns the norm before. */
double optim_clip_norm(float *grad, size_t n, double max_norm);

/* The L2 norm, summed in double in index order. */
double optim_norm(const float *v, size_t n);

#endif
