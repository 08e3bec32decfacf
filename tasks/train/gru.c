/* train.gru: a multi-layer GRU forecaster; the trainer is recurrent.c,
 * the cell is in tasks/lib/rnn.c. */
#include "recurrent.h"

static int run(struct kctx *ctx)
{
	return recurrent_run(ctx, RNN_GRU);
}

static const char doc[] =
	"Train a multi-layer GRU (PyTorch's torch.nn.GRU, batch-first) with a "
	"linear head on the last hidden state, on data.preprocess's windows. "
	"Writes model.safetensors (PyTorch names; architecture and preprocessing "
	"meta in its metadata), metrics.json (test rmse, mae, mse, r2 on "
	"inverse-scaled values) and predictions.npy.";

const struct kernel kernel_train_gru = {"train.gru", 2, recurrent_params, doc, run};
