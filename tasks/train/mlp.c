/* train.mlp: a feed-forward network for tabular data; the trainer is
 * dense.c, the network tasks/lib/mlp.c. */
#include "dense.h"

static const struct param_spec params[] = {
	DENSE_DATA_PARAMS,
	{"objective", PT_ENUM, "\"classify\"", 0, 0, "classify|regress",
	 "classify: one logit per class, softmax cross-entropy; regress: one "
	 "value, mean squared error"},
	{"hidden", PT_LIST, "[64, 32]", 0, 0, NULL,
	 "the widths of the hidden layers, input side first (at most 16, each "
	 "1 to 65536); []: a linear model"},
	{"activation", PT_ENUM, "\"relu\"", 0, 0, "relu|tanh",
	 "after each hidden layer"},
	{"dropout", PT_NUM, "0", 0, 0.9, NULL,
	 "dropout after each hidden layer while training (PyTorch's nn.Dropout)"},
	{"weight_decay", PT_NUM, "0", 0, 1, NULL,
	 "L2 penalty added to the gradient of every parameter (torch.optim's)"},
	DENSE_FIT_PARAMS,
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

static int run(struct kctx *ctx)
{
	return dense_run(ctx, DENSE_MLP);
}

static const char doc[] =
	"Train a feed-forward network (PyTorch's nn.Linear layers with relu or "
	"tanh and dropout between them) on a data.load table: a classifier "
	"(softmax cross-entropy over the label's sorted distinct values) or a "
	"regressor (MSE). Inputs are standardised on the training rows; the last "
	"rows are the test set unless shuffle_split. Writes model.safetensors "
	"(PyTorch names layers.<k>.weight/bias; architecture, features, classes "
	"and scaler in its metadata), metrics.json (classify: accuracy, log_loss, "
	"per-class and macro precision, recall, f1, confusion matrix; regress: "
	"rmse, mae, mse, r2) and predictions.csv for the test rows.";

const struct kernel kernel_train_mlp = {"train.mlp", 1, params, doc, run};
