/* train.softmax: multinomial logistic regression with an L2 penalty: the
 * dense trainer (dense.c) with no hidden layer. */
#include "dense.h"

static const struct param_spec params[] = {
	DENSE_DATA_PARAMS,
	{"l2", PT_NUM, "0.0001", 0, 1000, NULL,
	 "adds 0.5 * l2 * sum(W^2) over the weights (not the biases) to the "
	 "training loss"},
	DENSE_FIT_PARAMS,
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static int run(struct kctx *ctx)
{
	return dense_run(ctx, DENSE_SOFTMAX);
}

static const char doc[] =
	"Train a multinomial logistic regression (one linear layer, softmax "
	"cross-entropy over the label's sorted distinct values, plus an L2 "
	"penalty on the weights) on a data.load table, by mini-batch Adam or "
	"SGD. Inputs are standardised on the training rows; the last rows are "
	"the test set unless shuffle_split. Writes model.safetensors (PyTorch "
	"names layers.0.weight/bias), metrics.json (accuracy, log_loss, per-class "
	"and macro precision, recall, f1, confusion matrix) and predictions.csv "
	"for the test rows.";

const struct kernel kernel_train_softmax = {"train.softmax", 1, params, doc, run};
