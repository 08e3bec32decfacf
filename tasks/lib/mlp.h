/* mlp: a feed-forward network of dense layers, the engine behind
 * train.mlp and train.softmax, and the load-and-predict API for batch
 * inference.
 *
 * A model is 'n_hidden' hidden layers, each a linear map followed by an
 * activation (relu or tanh) and, while training, inverted dropout, then a
 * linear output layer with no activation: its outputs are the logits of a
 * classifier or the values of a regressor.  With no hidden layer it is a
 * linear model (multinomial logistic regression under mlp_xent).
 *
 * Math and layout are PyTorch's (a torch.nn.ModuleList 'layers' of
 * nn.Linear, with the activation and nn.Dropout between them), so a model
 * saved here loads there and back.  Parameters, in this order, for each
 * layer k from the input: layers.<k>.weight [out_k, in_k] and
 * layers.<k>.bias [out_k].
 *
 * Cost: per layer and batch one sgemm forward ([B, in] x [in, out]) and
 * two backward (the weight gradient and the gradient of the layer's
 * input; the first layer skips the second); bias, activation and dropout
 * are fused elementwise loops.  The thread count is OpenBLAS's
 * (blas_set_threads(), set by the caller): the products of a tabular
 * network are the only work worth splitting.
 *
 * Determinism: for a seed, data and OpenBLAS thread count the results are
 * the same bytes on every run (fixed summation orders, no atomics).
 * OpenBLAS rounds differently on another thread count.  Functions are not
 * thread-safe on the same model or workspace. */
#ifndef DAGRUN_MLP_H
#define DAGRUN_MLP_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "rng.h"
#include "safetensors.h"
#include "tensor.h"

/* 16: more hidden layers than a tabular model uses; bounds the metadata */
#define MLP_MAX_HIDDEN 16
/* 65536: the widest layer (and the most inputs or outputs) a file may claim */
#define MLP_MAX_WIDTH 65536

enum mlp_activation { MLP_RELU, MLP_TANH };

struct mlp_config {
	int input_size;               /* features, >= 1 */
	int output_size;              /* classes or values, >= 1 */
	int n_hidden;                 /* 0 .. MLP_MAX_HIDDEN */
	int hidden[MLP_MAX_HIDDEN];   /* widths, each >= 1 */
	enum mlp_activation act;
	float dropout;                /* after each hidden layer, in [0, 1) */
};

struct mlp;        /* a model: config and parameters */
struct mlp_work;   /* activations of one batch, for the backward pass */

/* "relu" / "tanh"; mlp_activation_parse returns -1 for other names. */
const char *mlp_activation_name(enum mlp_activation a);
int mlp_activation_parse(const char *name, enum mlp_activation *out);

/* A model with zeroed parameters; free with mlp_free().  The config must
 * be valid (asserted). */
struct mlp *mlp_new(const struct mlp_config *cfg);
void mlp_free(struct mlp *m);
const struct mlp_config *mlp_config(const struct mlp *m);
/* The parameters and their gradients (borrowed, valid until free). */
struct tensor_set *mlp_params(struct mlp *m);
/* PyTorch's default for nn.Linear: layer k's weight, then its bias,
 * uniform in [-1/sqrt(in_k), 1/sqrt(in_k)), drawn in parameter order. */
void mlp_init(struct mlp *m, struct rng *r);

/* A workspace for batches of up to 'max_batch' rows; free with
 * mlp_work_free(). */
struct mlp_work *mlp_work_new(const struct mlp *m, int max_batch);
void mlp_work_free(struct mlp_work *w);

/* Forward 'batch' rows 'x' [batch, input_size] into 'y' [batch,
 * output_size], keeping what backward needs in 'w'.  'drop' is the
 * dropout generator while training (each hidden layer's mask drawn in
 * row-major order, layer by layer), NULL for inference (no dropout).
 * 'x' is copied: it need not outlive the call. */
void mlp_forward(struct mlp *m, struct mlp_work *w, const float *x, int batch,
		 struct rng *drop, float *y);
/* Backward from dLoss/dy 'dy' [batch, output_size] of the last forward:
 * sets (does not add to) every parameter gradient of 'm'. */
void mlp_backward(struct mlp *m, struct mlp_work *w, const float *dy);
/* Predict 'n' rows (any number) with 'w', batch by batch, no dropout. */
void mlp_predict(struct mlp *m, struct mlp_work *w, const float *x, size_t n,
		 float *y);

/* The L2 penalty 0.5 * l2 * sum(w^2) over the weights (not the biases),
 * summed in double in parameter order; adds its gradient l2 * w to the
 * weight gradients.  Call after mlp_backward().  Returns the penalty. */
double mlp_l2(struct mlp *m, double l2);

/* --- losses for the output layer */

/* Softmax cross-entropy of 'n' rows of 'classes' logits against the class
 * indices 'label' (each in [0, classes)): the mean of log(sum(exp(z))) -
 * z[label], each row computed in double after subtracting its largest
 * logit, so no logit overflows or underflows it (PyTorch's
 * F.cross_entropy).  When 'grad' is not NULL it receives dLoss/dLogits,
 * (softmax(z) - onehot) / n.  n == 0 returns 0. */
double mlp_xent(const float *logits, const int *label, size_t n, int classes,
		float *grad);
/* Turn 'n' rows of 'classes' logits into probabilities, in place (the
 * same stable form). */
void mlp_softmax(float *v, size_t n, int classes);

/* --- files */

/* Save to 'path' as safetensors in PyTorch's names, with the metadata
 * format "dagrun.mlp.v1", input_size, output_size, hidden (JSON text such
 * as "[64,32]"), activation and dropout, plus one entry per key of 'meta'
 * (a JSON object, may be NULL): strings as they are, other values as
 * compact JSON text.  'meta' must not use the keys above (asserted).
 * Returns 0, or -1 with 'err' set (ERR_IO). */
int mlp_save(const struct mlp *m, const char *path, json_t *meta,
	     struct err *err);
/* Load a model saved by mlp_save().  '*file' (if not NULL) gets the
 * parsed file, whose other metadata the caller reads with
 * safetensors_meta() and frees with safetensors_free().  Returns the
 * model, or NULL with 'err' set (ERR_IO, or ERR_USER naming the file and
 * what is wrong: another format, a bad architecture, a missing tensor, a
 * wrong shape); then '*file' is NULL. */
struct mlp *mlp_load(const char *path, struct safetensors **file,
		     struct err *err);

#endif
