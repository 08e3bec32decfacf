/* recurrent: train.gru and train.lstm, the recurrent engine (rnn.h) in
 * the sequence trainer (seqtrain.h).
 *
 * The two kernels are one with another cell: the same params, inputs,
 * outputs and loop.  See seqtrain.c for the contract. */
#ifndef DAGRUN_TRAIN_RECURRENT_H
#define DAGRUN_TRAIN_RECURRENT_H

#include "kernel.h"
#include "rnn.h"

/* The params schema of every recurrent kernel; ends with {NULL}. */
extern const struct param_spec recurrent_params[];

/* The whole kernel run for cell 'cell': KERNEL_OK, KERNEL_EUSER or
 * KERNEL_EFAIL, with the reason logged through 'ctx'. */
int recurrent_run(struct kctx *ctx, enum rnn_cell_kind cell);

#endif
