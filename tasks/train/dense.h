/* dense: the trainer shared by train.mlp and train.softmax.
 *
 * The two kernels are this trainer with another network: train.mlp any
 * stack of hidden layers (tasks/lib/mlp.h) for either objective,
 * train.softmax none, with an L2 penalty, for classification.  The input,
 * the split, the loop and the outputs are the same.  See dense.c for the
 * contract. */
#ifndef DAGRUN_TRAIN_DENSE_H
#define DAGRUN_TRAIN_DENSE_H

#include "kernel.h"
#include "tabular.h"

enum dense_kind { DENSE_MLP, DENSE_SOFTMAX };

/* The params every dense kernel takes, spliced into its table: what to
 * learn from (DENSE_DATA_PARAMS: the table and its split, DENSE_SPLIT_PARAMS,
 * then 'standardize'), then, after the kernel's own, how to fit
 * (DENSE_FIT_PARAMS).  Other tabular trainers (train.xgboost) take
 * DENSE_SPLIT_PARAMS alone.  Macros, because a kernel's table is one
 * constant array. */
#define DENSE_SPLIT_PARAMS \
	{"data", PT_STR, "null", 0, 0, NULL, \
	 "the needed data.load node; null: the first need"}, \
	{"label", PT_STR, NULL, 0, 0, NULL, \
	 "the column to predict: for classify a string or integer column " \
	 "whose distinct values, sorted, are the classes; for regress a " \
	 "number column"}, \
	{"features", PT_LIST, "null", 0, 0, NULL, \
	 "the number columns to learn from; null: every number column except " \
	 "the label"}, \
	{"test_fraction", PT_NUM, "0.2", 0, 0.9, NULL, \
	 "the share of rows held out for the test metrics: the last ones " \
	 "unless shuffle_split (at least one row)"}, \
	{"val_fraction", PT_NUM, "0.1", 0, 0.9, NULL, \
	 "the share of rows just before the test rows for the validation loss " \
	 "(best epoch, early stopping); 0: none"}, \
	{"shuffle_split", PT_BOOL, "false", 0, 0, NULL, \
	 "shuffle the rows by the seed before splitting; false keeps the " \
	 "table's (time) order, so the test rows are the latest"}, \
	{"group", PT_STR, "null", 0, 0, NULL, \
	 "a column (numbers or strings, e.g. a game id) whose rows always " \
	 "land in the same part; shuffle_split then shuffles the groups; never " \
	 "a feature; null: none"}, \
	{"folds", PT_INT, "0", 0, 10000, NULL, \
	 "k-fold cross-validation: the groups (or rows) cut into this many " \
	 "folds of consecutive groups, balanced by rows; the test part is fold " \
	 "'fold' (test_fraction unused), val_fraction of the rest is the " \
	 "validation part; 0: off, else at least 2"}, \
	{"fold", PT_INT, "0", 0, 9999, NULL, \
	 "the test fold, from 0 to folds-1"}

#define DENSE_DATA_PARAMS \
	DENSE_SPLIT_PARAMS, \
	{"standardize", PT_BOOL, "true", 0, 0, NULL, \
	 "scale every feature (and a regress target) to mean 0 and std 1, " \
	 "fitted on the training rows only; stored in the model"}

#define DENSE_FIT_PARAMS \
	{"batch_size", PT_INT, "64", 1, 65536, NULL, "rows per optimizer step"}, \
	{"epochs", PT_INT, "20", 1, 100000, NULL, "passes over the training rows"}, \
	{"learning_rate", PT_NUM, "0.001", 1e-9, 10, NULL, "step size"}, \
	{"optimizer", PT_ENUM, "\"adam\"", 0, 0, "adam|sgd", \
	 "Adam (betas 0.9, 0.999, eps 1e-8) or plain SGD, as PyTorch's"}, \
	{"patience", PT_INT, "0", 0, 100000, NULL, \
	 "stop after this many epochs without a lower val_loss; 0: off"}, \
	{"seed", PT_INT, "0", 0, 0, NULL, \
	 "initial weights, shuffling, dropout (train.mlp) and a shuffled split"}, \
	{"threads", PT_INT, "0", 0, 256, NULL, \
	 "OpenBLAS threads for the matrix products; 0: the node's cpus, which " \
	 "the engine does not pass to kernels yet, so 1; results are " \
	 "reproducible per thread count"}, \
	{"shuffle", PT_BOOL, "true", 0, 0, NULL, \
	 "shuffle the training rows each epoch"}, \
	{"save_init", PT_BOOL, "false", 0, 0, NULL, \
	 "also write init.safetensors, the weights before training"}

/* Fill 'spec' from the node's DENSE_SPLIT_PARAMS (and 'standardize' when
 * the kernel has it, else SCALER_NONE), with 'objective' and the split's
 * 'seed'.  The strings and JSON are borrowed from the params. */
void dense_read_spec(struct kctx *ctx, enum tabular_objective objective,
		     uint64_t seed, struct tabular_spec *spec);

/* Build 't' from the node's input that param 'data' names (default: the
 * first need); '*need' is set to its name (borrowed).  Release 't' with
 * tabular_release() even on failure.  Returns 0, or -1 with 'err' set
 * (ERR_USER for a missing input and tabular_build()'s errors). */
int dense_load(struct kctx *ctx, const struct tabular_spec *spec, struct tabular *t,
	       const char **need, struct err *err);

/* The whole kernel run for 'kind': KERNEL_OK, KERNEL_EUSER or
 * KERNEL_EFAIL, with the reason logged through 'ctx'. */
int dense_run(struct kctx *ctx, enum dense_kind kind);

#endif
