/* recurrent: train.gru and train.lstm, the recurrent engine (rnn.h) behind
 * the sequence trainer (seqtrain.h).
 *
 * The two kernels share the params and everything but the cell.  The
 * model is a 'struct rnn' and a workspace of 'threads' slices; its
 * initial weights come from the generator seeded with 'seed' (rnn_init),
 * shuffling and dropout from seqtrain's.  'freeze: [recurrent]' keeps
 * every rnn.* tensor (all layers) and trains the head only.
 *
 * 'residual: true' turns on the model's skip (rnn.h: rnn_residual): the
 * network predicts the change from the target's value at the window's
 * last step, converted from X's scaling to Y's (seqtrain_shape's x_scale,
 * x_shift).  The skip is saved with the model, so whatever loads it
 * (forecaster, infer.batch, serve) applies it; off, nothing changes. */
#include "recurrent.h"
#include "blas.h"
#include "seqtrain.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>

const struct param_spec recurrent_params[] = {
	SEQTRAIN_DATA_PARAM,
	{"num_layers", PT_INT, "2", 1, 8, NULL, "stacked recurrent layers"},
	{"hidden_size", PT_INT, "64", 1, 4096, NULL, "units per layer"},
	{"dropout", PT_NUM, "0", 0, 0.9, NULL,
	 "dropout between recurrent layers while training (PyTorch's)"},
	{"residual", PT_BOOL, "false", 0, 0, NULL,
	 "predict the change from the last observed target: output = head(h) + "
	 "the target's value at the window's last step (in the target scaler's "
	 "units); needs the target among the data's features"},
	SEQTRAIN_FIT_PARAMS,
	{"threads", PT_INT, "0", 0, 256, NULL,
	 "threads, each taking a slice of every batch (OpenBLAS is set to 1 "
	 "thread per slice); 0: the node's cpus, which the engine does not pass "
	 "to kernels yet, so 1; results are reproducible per thread count"},
	SEQTRAIN_RUN_PARAMS,
	SEQTRAIN_INIT_FROM_PARAM,
	{"freeze", PT_LIST, "[]", 0, 0, NULL,
	 "parts that keep their initial weights: [recurrent] trains the head "
	 "only (with init_from: fine-tuning the head of a trained model); []: "
	 "everything trains"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

/* The model the trainer sees: the network and its workspace. */
struct model {
	struct rnn *m;
	struct rnn_work *w;
};

static struct tensor_set *model_params(void *p)
{
	return rnn_params(((struct model *)p)->m);
}

static void model_forward(void *p, const float *x, const float *y, int batch,
			  struct rng *drop, float *pred)
{
	struct model *M = p;

	(void)y;
	rnn_forward(M->m, M->w, x, batch, drop, pred);
}

static void model_backward(void *p, const float *dy)
{
	struct model *M = p;

	rnn_backward(M->m, M->w, dy);
}

static void model_predict(void *p, const float *x, size_t n, float *pred)
{
	struct model *M = p;

	rnn_predict(M->m, M->w, x, n, pred);
}

static int model_save(void *p, const char *path, json_t *meta, struct err *err)
{
	return rnn_save(((struct model *)p)->m, path, meta, err);
}

static void model_free(void *p)
{
	struct model *M = p;

	rnn_work_free(M->w);
	rnn_free(M->m);
	free(M);
}

static const struct seqtrain_ops ops = {
	"dagrun.rnn.v1", model_params, model_forward, model_backward,
	model_predict, model_save, model_free
};

static const struct seqtrain_group groups[] = {
	{"recurrent", "rnn."},
	{NULL, NULL}
};

/* The residual skip the params ask for into 'm', or an ERR_USER. */
static int set_residual(struct kctx *ctx, const struct seqtrain_shape *s,
			struct rnn *m, struct err *err)
{
	struct rnn_residual r = {s->target_index, s->x_scale, s->x_shift};

	if (!kctx_bool(ctx, "residual"))
		return 0;
	if (s->target_index < 0) {
		err_set(err, ERR_USER, "param 'residual': the target is not among the "
			"features of the data (expected the target in data.preprocess's "
			"'features', or residual: false)");
		return -1;
	}
	if (!isfinite(r.scale) || !isfinite(r.shift)) {
		err_set(err, ERR_USER, "param 'residual': meta.json's 'scaler' does not "
			"scale the target's column (expected data.preprocess's meta.json)");
		return -1;
	}
	rnn_set_residual(m, &r);
	kctx_log(ctx, "residual: + %.9g * x[last step][%d] + %.9g", (double)r.scale,
		 r.index, (double)r.shift);
	return 0;
}

/* The network of 'shape' for the cell 'cell', from the params. */
static int build(struct kctx *ctx, const struct seqtrain_shape *s,
		 enum rnn_cell_kind cell, void **out, struct err *err)
{
	struct rnn_config cfg = {cell, (int)kctx_int(ctx, "num_layers"),
				 (int)kctx_int(ctx, "hidden_size"), s->features,
				 s->outputs, s->seq_len, (float)kctx_num(ctx, "dropout")};
	struct model *M = xcalloc(1, sizeof(*M));
	int threads = seqtrain_threads(ctx);
	struct rng init;

	blas_set_threads(1);
	M->m = rnn_new(&cfg);
	if (set_residual(ctx, s, M->m, err)) {
		rnn_free(M->m);
		free(M);
		return -1;
	}
	rng_seed(&init, s->seed);
	rnn_init(M->m, &init);
	M->w = rnn_work_new(M->m, s->max_batch, threads);
	kctx_log(ctx, "%s: %d layers of %d, %d threads (OpenBLAS %s, 1 thread each)",
		 rnn_cell_name(cell), cfg.num_layers, cfg.hidden_size, threads, blas_core());
	*out = M;
	return 0;
}

static int build_gru(struct kctx *ctx, const struct seqtrain_shape *s, void **m,
		     struct err *err)
{
	return build(ctx, s, RNN_GRU, m, err);
}

static int build_lstm(struct kctx *ctx, const struct seqtrain_shape *s, void **m,
		      struct err *err)
{
	return build(ctx, s, RNN_LSTM, m, err);
}

static const struct seqtrain_kernel kernels[] = {
	[RNN_GRU] = {&ops, groups, build_gru},
	[RNN_LSTM] = {&ops, groups, build_lstm},
};

int recurrent_run(struct kctx *ctx, enum rnn_cell_kind cell)
{
	return seqtrain_run(ctx, &kernels[cell]);
}
