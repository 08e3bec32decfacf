/* loss: training losses and their gradients.
 *
 * A loss reads predictions and targets of 'n' floats and returns the mean
 * loss, summed in double in index order (deterministic).  When 'grad' is
 * not NULL it receives dLoss/dPred, ready for a model's backward pass. */
#ifndef DAGRUN_LOSS_H
#define DAGRUN_LOSS_H

#include <stddef.h>

/* Mean squared error: sum((p - y)^2) / n; grad = 2 (p - y) / n.
 * 'grad' may alias 'pred'.  n == 0 returns 0. */
double loss_mse(const float *pred, const float *target, size_t n, float *grad);

#endif
