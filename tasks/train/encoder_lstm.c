/* train.encoder_lstm: a sequence-to-sequence LSTM forecaster; the trainer
 * is seqtrain.c, the network tasks/lib/seq2seq.c.
 *
 * The decoder's first input is the window's last value of the target
 * (meta.json's target_index): data.preprocess fits that feature's scaler
 * and Y's on the same training rows, so it is on the scale of Y.
 * 'threads' goes to OpenBLAS (the per-step products are small: 1 is
 * usually fastest).  'freeze' may name [encoder] or [encoder, decoder]:
 * a leading part of the parameters. */
#include "blas.h"
#include "seq2seq.h"
#include "seqtrain.h"
#include "xalloc.h"

#include <stdlib.h>

static const struct param_spec params[] = {
	SEQTRAIN_DATA_PARAM,
	{"num_layers", PT_INT, "2", 1, 8, NULL,
	 "stacked LSTM layers, in the encoder and in the decoder"},
	{"hidden_size", PT_INT, "64", 1, 4096, NULL,
	 "units per layer; the decoder starts from the encoder's final state"},
	{"dropout", PT_NUM, "0", 0, 0.9, NULL,
	 "dropout between stacked layers while training (PyTorch's)"},
	{"teacher_forcing", PT_NUM, "0", 0, 1, NULL,
	 "while training, the chance that a decoder step is fed the true value "
	 "of the step before instead of its own prediction (one draw per step "
	 "and batch); 0: always its own prediction, as when forecasting"},
	SEQTRAIN_FIT_PARAMS,
	{"threads", PT_INT, "0", 0, 256, NULL,
	 "OpenBLAS threads for the matrix products; 0: the node's cpus, which "
	 "the engine does not pass to kernels yet, so 1; results are "
	 "reproducible per thread count"},
	SEQTRAIN_RUN_PARAMS,
	SEQTRAIN_INIT_FROM_PARAM,
	{"freeze", PT_LIST, "[]", 0, 0, NULL,
	 "parts that keep their initial weights: [encoder], or [encoder, "
	 "decoder] to train the head only (with init_from: fine-tuning); []: "
	 "everything trains"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

struct model {
	struct seq2seq *m;
	struct seq2seq_work *w;
};

static struct tensor_set *model_params(void *p)
{
	return seq2seq_params(((struct model *)p)->m);
}

static void model_forward(void *p, const float *x, const float *y, int batch,
			  struct rng *drop, float *pred)
{
	struct model *M = p;

	seq2seq_forward(M->m, M->w, x, y, batch, drop, pred);
}

static void model_backward(void *p, const float *dy)
{
	struct model *M = p;

	seq2seq_backward(M->m, M->w, dy);
}

static void model_predict(void *p, const float *x, size_t n, float *pred)
{
	struct model *M = p;

	seq2seq_predict(M->m, M->w, x, n, pred);
}

static int model_save(void *p, const char *path, json_t *meta, struct err *err)
{
	return seq2seq_save(((struct model *)p)->m, path, meta, err);
}

static void model_free(void *p)
{
	struct model *M = p;

	seq2seq_work_free(M->w);
	seq2seq_free(M->m);
	free(M);
}

static const struct seqtrain_ops ops = {
	"dagrun.encoder_lstm.v1", model_params, model_forward, model_backward,
	model_predict, model_save, model_free
};

static const struct seqtrain_group groups[] = {
	{"encoder", "encoder."},
	{"decoder", "decoder."},
	{NULL, NULL}
};

static int build(struct kctx *ctx, const struct seqtrain_shape *s, void **out,
		 struct err *err)
{
	struct seq2seq_config cfg = {(int)kctx_int(ctx, "num_layers"),
				     (int)kctx_int(ctx, "hidden_size"), s->features,
				     s->seq_len, s->outputs, s->target_index,
				     (float)kctx_num(ctx, "dropout"),
				     (float)kctx_num(ctx, "teacher_forcing")};
	struct model *M = xcalloc(1, sizeof(*M));
	struct rng init;

	(void)err;
	blas_set_threads(seqtrain_threads(ctx));
	M->m = seq2seq_new(&cfg);
	rng_seed(&init, s->seed);
	seq2seq_init(M->m, &init);
	M->w = seq2seq_work_new(M->m, s->max_batch);
	kctx_log(ctx, "encoder_lstm: %d layers of %d each side, %d decoder steps, "
		 "teacher forcing %g, %d OpenBLAS threads (%s)", cfg.num_layers,
		 cfg.hidden_size, cfg.horizon, (double)cfg.teacher_forcing,
		 blas_threads(), blas_core());
	if (cfg.target_index < 0)
		kctx_log(ctx, "note: the target is not among the features: the "
			 "decoder's first input is 0 (the target's training mean when "
			 "standard-scaled)");
	*out = M;
	return 0;
}

static const struct seqtrain_kernel kernel = {&ops, groups, build};

static int run(struct kctx *ctx)
{
	return seqtrain_run(ctx, &kernel);
}

static const char doc[] =
	"Train an encoder-decoder LSTM (sequence to sequence): an LSTM encoder "
	"over the window, an LSTM decoder run for output_seq_len steps from the "
	"encoder's final state, fed the last observed target and then its own "
	"previous prediction (or, with teacher_forcing, the true one while "
	"training), and a linear head per step, on data.preprocess's windows. "
	"Writes model.safetensors (PyTorch nn.LSTM/nn.Linear names; architecture "
	"and preprocessing meta in its metadata), metrics.json (test rmse, mae, "
	"mse, r2 on inverse-scaled values) and predictions.npy.";

const struct kernel kernel_train_encoder_lstm = {"train.encoder_lstm", 1, params,
						 doc, run};
