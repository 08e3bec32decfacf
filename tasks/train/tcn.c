/* train.tcn: a temporal convolutional network forecaster; the trainer is
 * seqtrain.c, the network tasks/lib/tcn.c.
 *
 * The products are large ([batch * seq_len, channels * kernel_size] by
 * channels), so 'threads' goes to OpenBLAS.  'freeze: [conv]' keeps every
 * block (blocks.*) and trains the head only. */
#include "blas.h"
#include "seqtrain.h"
#include "tcn.h"
#include "xalloc.h"

#include <stdlib.h>

/* 4096: the widest block; bounds the workspace a typo can ask for */
#define MAX_CHANNELS 4096

static const struct param_spec params[] = {
	SEQTRAIN_DATA_PARAM,
	{"channels", PT_LIST, "[32, 32, 32]", 0, 0, NULL,
	 "output channels of each residual block, input side first; block i "
	 "has dilation 2^i (1 to 16 blocks, each 1 to 4096)"},
	{"kernel_size", PT_INT, "3", 1, 64, NULL,
	 "taps of every causal convolution; the network sees 1 + 2 "
	 "(kernel_size - 1) (2^blocks - 1) steps back"},
	{"dropout", PT_NUM, "0", 0, 0.9, NULL,
	 "dropout after each convolution's ReLU while training"},
	SEQTRAIN_FIT_PARAMS,
	{"threads", PT_INT, "0", 0, 256, NULL,
	 "OpenBLAS threads for the convolutions' matrix products; 0: the node's "
	 "cpus, which the engine does not pass to kernels yet, so 1; results "
	 "are reproducible per thread count"},
	SEQTRAIN_RUN_PARAMS,
	SEQTRAIN_INIT_FROM_PARAM,
	{"freeze", PT_LIST, "[]", 0, 0, NULL,
	 "parts that keep their initial weights: [conv] trains the head only "
	 "(with init_from: fine-tuning the head of a trained model); []: "
	 "everything trains"},
	{NULL, 0, NULL, 0, 0, NULL, NULL}
};

struct model {
	struct tcn *m;
	struct tcn_work *w;
};

static struct tensor_set *model_params(void *p)
{
	return tcn_params(((struct model *)p)->m);
}

static void model_forward(void *p, const float *x, const float *y, int batch,
			  struct rng *drop, float *pred)
{
	struct model *M = p;

	(void)y;
	tcn_forward(M->m, M->w, x, batch, drop, pred);
}

static void model_backward(void *p, const float *dy)
{
	struct model *M = p;

	tcn_backward(M->m, M->w, dy);
}

static void model_predict(void *p, const float *x, size_t n, float *pred)
{
	struct model *M = p;

	tcn_predict(M->m, M->w, x, n, pred);
}

static int model_save(void *p, const char *path, json_t *meta, struct err *err)
{
	return tcn_save(((struct model *)p)->m, path, meta, err);
}

static void model_free(void *p)
{
	struct model *M = p;

	tcn_work_free(M->w);
	tcn_free(M->m);
	free(M);
}

static const struct seqtrain_ops ops = {
	"dagrun.tcn.v1", model_params, model_forward, model_backward,
	model_predict, model_save, model_free
};

static const struct seqtrain_group groups[] = {
	{"conv", "blocks."},
	{NULL, NULL}
};

/* cfg->levels and cfg->channels from param 'channels'. */
static int read_channels(struct kctx *ctx, struct tcn_config *cfg, struct err *err)
{
	json_t *ch = json_object_get(kctx_params(ctx), "channels"), *v;
	size_t i;

	if (!json_is_array(ch) || json_array_size(ch) < 1 ||
	    json_array_size(ch) > TCN_MAX_LEVELS)
		goto bad;
	json_array_foreach(ch, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > MAX_CHANNELS)
			goto bad;
		cfg->channels[i] = (int)json_integer_value(v);
	}
	cfg->levels = (int)json_array_size(ch);
	return 0;
bad:
	err_set(err, ERR_USER, "param 'channels' of task 'train.tcn' must be a "
		"list of 1 to %d integers from 1 to %d", TCN_MAX_LEVELS, MAX_CHANNELS);
	return -1;
}

static int build(struct kctx *ctx, const struct seqtrain_shape *s, void **out,
		 struct err *err)
{
	struct tcn_config cfg = {s->features, s->outputs, s->seq_len,
				 (int)kctx_int(ctx, "kernel_size"), 0, {0},
				 (float)kctx_num(ctx, "dropout")};
	struct model *M;
	struct rng init;
	long rf;

	if (read_channels(ctx, &cfg, err))
		return -1;
	blas_set_threads(seqtrain_threads(ctx));
	M = xcalloc(1, sizeof(*M));
	M->m = tcn_new(&cfg);
	rng_seed(&init, s->seed);
	tcn_init(M->m, &init);
	M->w = tcn_work_new(M->m, s->max_batch);
	rf = tcn_receptive_field(&cfg);
	kctx_log(ctx, "tcn: %d blocks, kernel %d, receptive field %ld steps, %d "
		 "OpenBLAS threads (%s)", cfg.levels, cfg.kernel_size, rf,
		 blas_threads(), blas_core());
	if (rf < s->seq_len)
		kctx_log(ctx, "note: the receptive field (%ld steps) is shorter than "
			 "the windows (%d): their first %ld steps never reach the "
			 "forecast (raise kernel_size or add blocks)", rf, s->seq_len,
			 s->seq_len - rf);
	*out = M;
	return 0;
}

static const struct seqtrain_kernel kernel = {&ops, groups, build};

static int run(struct kctx *ctx)
{
	return seqtrain_run(ctx, &kernel);
}

static const char doc[] =
	"Train a temporal convolutional network (Bai et al. 2018: residual "
	"blocks of two dilated causal convolutions with ReLU and dropout, a 1x1 "
	"convolution on the residual when the channels change, dilation 2^i) "
	"with a linear head on the last time step, on data.preprocess's "
	"windows. Writes model.safetensors (PyTorch Conv1d/Linear names and "
	"layouts; architecture and preprocessing meta in its metadata), "
	"metrics.json (test rmse, mae, mse, r2 on inverse-scaled values) and "
	"predictions.npy.";

const struct kernel kernel_train_tcn = {"train.tcn", 1, params, doc, run};
