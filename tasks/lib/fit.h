/* fit: the epoch loop of a trainer, with model selection and early
 * stopping.
 *
 * Every gradient trainer runs the same loop around its own batches: per
 * epoch, check cancellation, one pass over the training data, the
 * validation loss, report both (the metric sink: train_loss, val_loss,
 * epoch_seconds at step = epoch; a progress line), keep the weights of the
 * best epoch, and stop when 'patience' epochs brought no better one.  The
 * best epoch is the one of the lowest validation loss, or of the lowest
 * training loss when there is no validation part.  The trainer supplies
 * the two losses as callbacks; fit owns nothing.
 *
 * Timings go to the sink and the log only, never into a result, so that a
 * rerun gives the same bytes. */
#ifndef DAGRUN_FIT_H
#define DAGRUN_FIT_H

#include "err.h"
#include "kernel.h"
#include "tensor.h"

struct fit {
	/* set by the caller */
	struct tensor_set *params;   /* the weights the best epoch's come back to */
	int epochs;                  /* >= 1 */
	int patience;                /* 0: off */
	int has_val;                 /* 0: select by the training loss */
	const char *diverged_hint;   /* what to change when the loss is not
					finite, e.g. "lower learning_rate" */
	double (*train_epoch)(void *arg);   /* one pass: the mean training loss */
	double (*val_loss)(void *arg);      /* called only when has_val */
	void *arg;
	/* set by fit_run() */
	double best_loss;
	int best_epoch, epochs_run;
};

/* Run the loop.  On success the weights of the best epoch are back in
 * 'params' and 0 is returned; else -1 with 'err' set: ERR_IO when 'ctx' was
 * cancelled, ERR_USER when a training loss was not finite (the message
 * ends with the hint).  Not thread-safe; the callbacks run on this thread. */
int fit_run(struct fit *f, struct kctx *ctx, struct err *err);

#endif
