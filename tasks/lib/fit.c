/* fit: see fit.h. */
#include "fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Record epoch 'e' (from 1); keep the weights in 'best' if they are the
 * best so far.  Returns 1 when patience has run out. */
static int end_epoch(struct fit *f, struct kctx *ctx, float *best, int e,
		     double train, double val, double dt)
{
	double sel = f->has_val ? val : train;

	f->epochs_run = e;
	kctx_metric(ctx, "train_loss", e, train);
	if (f->has_val)
		kctx_metric(ctx, "val_loss", e, val);
	kctx_metric(ctx, "epoch_seconds", e, dt);
	kctx_progress(ctx, (double)e / f->epochs, "epoch %d/%d train_loss %.6g "
		      "val_loss %.6g (%.3f s)", e, f->epochs, train, val, dt);
	if (sel < f->best_loss) {
		f->best_loss = sel;
		f->best_epoch = e;
		memcpy(best, f->params->value, f->params->total * sizeof(float));
	}
	return f->patience > 0 && e - f->best_epoch >= f->patience;
}

/* The epochs; -1 with 'err' set at the first that cannot go on. */
static int epochs(struct fit *f, struct kctx *ctx, float *best, struct err *err)
{
	for (int e = 1; e <= f->epochs; e++) {
		double t0 = seconds(), train, val;
		if (kctx_cancelled(ctx)) {
			err_set(err, ERR_IO, "cancelled before epoch %d", e);
			return -1;
		}
		train = f->train_epoch(f->arg);
		if (!isfinite(train)) {
			err_set(err, ERR_USER, "the training loss diverged to %g in epoch %d "
				"(expected a finite loss: %s)", train, e, f->diverged_hint);
			return -1;
		}
		val = f->has_val ? f->val_loss(f->arg) : NAN;
		if (end_epoch(f, ctx, best, e, train, val, seconds() - t0)) {
			kctx_log(ctx, "early stop after epoch %d: no better loss since "
				 "epoch %d (patience %d)", e, f->best_epoch, f->patience);
			break;
		}
	}
	return 0;
}

int fit_run(struct fit *f, struct kctx *ctx, struct err *err)
{
	float *best = tensor_alloc(f->params->total);
	int rc;

	f->best_loss = INFINITY;
	f->best_epoch = f->epochs_run = 0;
	if (!f->has_val)
		kctx_log(ctx, "note: no validation part: the best epoch is chosen by "
			 "the training loss and val_loss is not reported");
	rc = epochs(f, ctx, best, err);
	if (rc == 0 && f->best_epoch > 0)
		memcpy(f->params->value, best, f->params->total * sizeof(float));
	tensor_free(best);
	return rc;
}
