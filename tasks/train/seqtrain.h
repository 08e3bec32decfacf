/* seqtrain: the trainer of every model of data.preprocess's windows:
 * train.gru and train.lstm (recurrent.c), train.tcn (tcn.c) and
 * train.encoder_lstm (encoder_lstm.c).
 *
 * A kernel brings a model behind 'struct seqtrain_ops' (a flat
 * tensor_set, forward, backward, predict, save) and its own params;
 * seqtrain does the rest, the same for all: the inputs, the loop, early
 * stopping, transfer learning (init_from, freeze) and the outputs.  See
 * seqtrain.c for the contract. */
#ifndef DAGRUN_TRAIN_SEQTRAIN_H
#define DAGRUN_TRAIN_SEQTRAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kernel.h"
#include "rng.h"
#include "tensor.h"

/* The params every sequence kernel takes, spliced into its table around
 * its own (the model's, 'threads' and 'freeze', whose meaning differs).
 * Macros, because a kernel's table is one constant array. */
#define SEQTRAIN_DATA_PARAM \
	{"data", PT_STR, "null", 0, 0, NULL, \
	 "the needed data.preprocess node; null: the first need (other than " \
	 "init_from)"}

#define SEQTRAIN_FIT_PARAMS \
	{"batch_size", PT_INT, "64", 1, 65536, NULL, "windows per optimizer step"}, \
	{"epochs", PT_INT, "10", 1, 100000, NULL, "passes over the training windows"}, \
	{"learning_rate", PT_NUM, "0.001", 1e-9, 10, NULL, "step size"}, \
	{"optimizer", PT_ENUM, "\"adam\"", 0, 0, "adam|sgd", \
	 "Adam (betas 0.9, 0.999, eps 1e-8) or plain SGD, as PyTorch's"}, \
	{"weight_decay", PT_NUM, "0", 0, 1, NULL, "L2 penalty added to the gradient"}, \
	{"clip_norm", PT_NUM, "0", 0, 1e6, NULL, \
	 "clip the gradient's global L2 norm to this; 0: off"}, \
	{"patience", PT_INT, "0", 0, 100000, NULL, \
	 "stop after this many epochs without a lower val_loss; 0: off"}, \
	{"seed", PT_INT, "0", 0, 0, NULL, "initial weights, shuffling and dropout"}

#define SEQTRAIN_RUN_PARAMS \
	{"input_seq_len", PT_INT, "null", 1, 100000, NULL, \
	 "when given, must equal the window length of the data"}, \
	{"shuffle", PT_BOOL, "true", 0, 0, NULL, "shuffle the training windows each epoch"}, \
	{"save_init", PT_BOOL, "false", 0, 0, NULL, \
	 "also write init.safetensors, the weights before training"}

#define SEQTRAIN_INIT_FROM_PARAM \
	{"init_from", PT_STR, "null", 0, 0, NULL, \
	 "a needed node of the same task whose model.safetensors has this " \
	 "node's architecture: training starts from its weights instead of " \
	 "random ones; null: off"}

/* What a kernel's model is built for. */
struct seqtrain_shape {
	int seq_len;         /* T: steps per window */
	int features;        /* F: values per step */
	int outputs;         /* values per window to predict (the horizon) */
	int target_index;    /* the target's place among the features; -1: absent */
	int max_batch;       /* the param batch_size */
	uint64_t seed;       /* the param seed: the initial weights' generator */
	/* The target's column of X in Y's units: y = x * x_scale + x_shift
	 * (from meta's scaler and target_scaler; 1 and 0 when they agree, as
	 * data.preprocess's do); NAN when the target is not in X or meta's
	 * scaler does not scale its column.  What a residual skip adds. */
	float x_scale, x_shift;
};

/* A model, as the trainer sees it; 'm' is the kernel's.  None of these
 * can fail but save. */
struct seqtrain_ops {
	const char *format;   /* the 'format' metadata of its files */
	/* The parameters and gradients (borrowed, valid until free). */
	struct tensor_set *(*params)(void *m);
	/* Forward 'batch' windows 'x' [batch, T, F] into 'pred' [batch,
	 * outputs], keeping what backward needs; 'y' [batch, outputs] are
	 * their targets (for teacher forcing; a model may ignore them) and
	 * 'drop' the training generator (dropout). */
	void (*forward)(void *m, const float *x, const float *y, int batch,
			struct rng *drop, float *pred);
	/* Set every gradient from dLoss/dpred of the last forward. */
	void (*backward)(void *m, const float *dy);
	/* Predict 'n' windows, no dropout, no teacher. */
	void (*predict)(void *m, const float *x, size_t n, float *pred);
	/* Write the model file; 0, or -1 with 'err' set (ERR_IO). */
	int (*save)(void *m, const char *path, json_t *meta, struct err *err);
	void (*free)(void *m);
};

/* A part of a model that 'freeze' can name: the tensors whose names start
 * with 'prefix'. */
struct seqtrain_group {
	const char *name, *prefix;
};

struct seqtrain_kernel {
	const struct seqtrain_ops *ops;
	/* The parts 'freeze' may name, in parameter order; ends with {NULL}.
	 * Only a leading run of the parameters can be frozen (the optimizer
	 * then steps over one block), which every model here satisfies: the
	 * head comes last. */
	const struct seqtrain_group *groups;
	/* Read the kernel's own params from 'ctx', build the model for
	 * 'shape' with its initial weights and log what it is.  Returns 0
	 * and the model in '*m', or -1 with 'err' set (ERR_USER: a param). */
	int (*build)(struct kctx *ctx, const struct seqtrain_shape *shape,
		     void **m, struct err *err);
};

/* The whole kernel run: KERNEL_OK, KERNEL_EUSER or KERNEL_EFAIL, with
 * the reason logged through 'ctx'. */
int seqtrain_run(struct kctx *ctx, const struct seqtrain_kernel *k);

/* The OpenBLAS threads a kernel's 'threads' param asks for: 0 means the
 * node's cpus, which the engine does not pass to kernels yet, so 1. */
int seqtrain_threads(struct kctx *ctx);

#endif
