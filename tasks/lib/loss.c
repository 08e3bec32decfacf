/* loss: see loss.h. */
#include "loss.h"

double loss_mse(const float *pred, const float *target, size_t n, float *grad)
{
	double sum = 0;
	float scale = n ? 2.0f / (float)n : 0;

	for (size_t i = 0; i < n; i++) {
		float d = pred[i] - target[i];
		sum += (double)d * d;
		if (grad)
			grad[i] = scale * d;
	}
	return n ? sum / (double)n : 0;
}
