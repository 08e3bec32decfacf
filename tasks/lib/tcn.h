/* tcn: a temporal convolutional network (Bai, Kolter and Koltun, 2018),
 * the engine behind train.tcn.
 *
 * A model is 'levels' residual blocks over windows read batch-first
 * ([batch, seq_len, input_size]) and a linear head on the last block's
 * last time step that produces 'output_size' values.  Block i, of
 * dilation d = 2^i, maps c_in channels (the input's, or block i-1's) to
 * c_out = channels[i]:
 *   a = dropout(relu(conv1(x))),  b = dropout(relu(conv2(a))),
 *   y = relu(b + (c_in == c_out ? x : downsample(x)))
 * where conv1 and conv2 are causal dilated convolutions of 'kernel_size'
 * taps (output step t reads steps t - (k-1-j) d for j < k, zeros before
 * the window starts) and downsample a 1x1 convolution.  The paper's
 * weight normalisation is left out: plain convolutions.  A block sees
 * 1 + 2 (k-1) d steps back; the whole network tcn_receptive_field().
 *
 * Math and layout are those of the common PyTorch TCN (nn.Conv1d with
 * padding (k-1) d and the last (k-1) d outputs dropped; nn.Linear), so a
 * model saved here loads there (with x.transpose(1, 2) before the first
 * block).  Parameters, in this order, for each block i:
 * blocks.<i>.conv1.weight [c_out, c_in, k], blocks.<i>.conv1.bias [c_out],
 * blocks.<i>.conv2.weight [c_out, c_out, k], blocks.<i>.conv2.bias, and
 * when c_in != c_out blocks.<i>.downsample.weight [c_out, c_in, 1],
 * blocks.<i>.downsample.bias; then head.weight [out, c_last], head.bias.
 *
 * Cost: a convolution is im2col (a row per (window, step), the k steps it
 * reads side by side, each a contiguous row of channels) and one sgemm
 * [B*T, c_in*k] x [c_in*k, c_out], with the weights permuted to that
 * order once per call; backward is two sgemm (the weight gradient and the
 * columns' gradient) and col2im.  Activations are channels-last [B][T][C],
 * the windows' own layout; bias, ReLU, dropout and the residual sum are
 * fused elementwise loops.  OpenBLAS's thread count (the caller's
 * blas_set_threads) splits the products.
 *
 * Determinism: for a seed, data and OpenBLAS thread count the results are
 * the same bytes on every run (fixed summation orders, no atomics).
 * Functions are not thread-safe on the same model or workspace.
 *
 * Inference (tcn_infer(), for the forecaster): OpenBLAS rounds a row of a
 * product differently with other rows around it, so tcn_predict()'s value
 * for a window may differ in the last bits with the batch around it.
 * tcn_infer() computes the same network with products of its own, every
 * element one chain of multiply-adds in a fixed order, so a window's
 * prediction is the same bits alone or among any others, on any CPU.  It
 * differs from tcn_predict()'s by a few 1e-7 of the outputs' magnitude
 * (measured: 2e-7 at most on outputs up to 1.3); neither fused
 * multiply-adds nor any fixed order reproduces OpenBLAS's bits, which
 * change with its thread count.  It only reads the model: calls with
 * distinct scratch may run at once. */
#ifndef DAGRUN_TCN_H
#define DAGRUN_TCN_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "rng.h"
#include "tensor.h"

/* 16 blocks: a dilation of 2^15, past any window dagrun makes */
#define TCN_MAX_LEVELS 16

struct tcn_config {
	int input_size;      /* features per step, >= 1 */
	int output_size;     /* values the head produces, >= 1 */
	int seq_len;         /* steps per window (the most a workspace holds) */
	int kernel_size;     /* taps per convolution, >= 1 */
	int levels;          /* blocks, 1 .. TCN_MAX_LEVELS */
	int channels[TCN_MAX_LEVELS];   /* each block's output channels, >= 1 */
	float dropout;       /* after each ReLU of conv1 and conv2, in [0, 1) */
};

struct tcn;        /* a model: config and parameters */
struct tcn_work;   /* activations of one batch, for the backward pass */
struct tcn_infer;  /* scratch of tcn_infer(): one caller's at a time */

/* A model with zeroed parameters; free with tcn_free().  The config must
 * be valid (asserted). */
struct tcn *tcn_new(const struct tcn_config *cfg);
void tcn_free(struct tcn *m);
const struct tcn_config *tcn_config(const struct tcn *m);
/* The parameters and their gradients (borrowed, valid until free). */
struct tensor_set *tcn_params(struct tcn *m);
/* PyTorch's defaults, drawn in parameter order: each weight and its bias
 * uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = c_in * k for a
 * convolution (c_in for downsample), c_last for the head. */
void tcn_init(struct tcn *m, struct rng *r);
/* The steps the last output sees: 1 + 2 (k-1) (2^levels - 1). */
long tcn_receptive_field(const struct tcn_config *cfg);

/* A workspace for batches of up to 'max_batch' windows; free with
 * tcn_work_free(). */
struct tcn_work *tcn_work_new(const struct tcn *m, int max_batch);
void tcn_work_free(struct tcn_work *w);

/* Forward 'batch' windows 'x' [batch, seq_len, input_size] into 'y'
 * [batch, output_size], keeping what backward needs in 'w'.  'drop' is
 * the dropout generator while training (the masks are drawn from it block
 * by block), NULL for inference. */
void tcn_forward(struct tcn *m, struct tcn_work *w, const float *x, int batch,
		 struct rng *drop, float *y);
/* Backward from dLoss/dy 'dy' [batch, output_size] of the last forward:
 * sets (does not add to) every parameter gradient of 'm'. */
void tcn_backward(struct tcn *m, struct tcn_work *w, const float *dy);
/* Predict 'n' windows (any number), max_batch at a time, no dropout. */
void tcn_predict(struct tcn *m, struct tcn_work *w, const float *x, size_t n,
		 float *y);

/* Scratch of tcn_infer() for up to 'max_batch' windows at a time (>= 1),
 * with the weights laid out for its products (packed here, and again by
 * tcn_infer() when the model's parameters have changed since).  Free with
 * tcn_infer_free(). */
struct tcn_infer *tcn_infer_new(const struct tcn *m, int max_batch);
void tcn_infer_free(struct tcn_infer *s);
/* Predict 'n' windows 'x' [n, seq_len, input_size] into 'y' [n,
 * output_size], no dropout, max_batch at a time.  A window's prediction
 * does not depend on 'n', its place among the windows, max_batch or the
 * CPU's vector width (see the top of this file). */
void tcn_infer(const struct tcn *m, struct tcn_infer *s, const float *x, size_t n,
	       float *y);

/* Save to 'path' as safetensors in the names above, with the metadata
 * format "dagrun.tcn.v1", input_size, output_size, input_seq_len,
 * kernel_size, receptive_field (decimal strings), channels (JSON text, as
 * "[32,32]"), dropout and "meta" (the JSON text of 'meta'; may be NULL).
 * Returns 0, or -1 with 'err' set (ERR_IO). */
int tcn_save(const struct tcn *m, const char *path, json_t *meta,
	     struct err *err);
/* Load a model saved by tcn_save().  Nothing is trusted: the format, every
 * metadata field (integers in range, channels a list of 1 to
 * TCN_MAX_LEVELS, receptive_field and dropout consistent), the weight count
 * before anything is allocated, then every tensor by name, dtype and shape,
 * and no tensor besides.  '*meta' (if not NULL) gets the "meta" object
 * (caller decrefs; JSON null when absent or not JSON).  Returns the model
 * (free with tcn_free()), or NULL with 'err' set: ERR_IO when the file
 * cannot be read, ERR_USER naming the file and what is wrong. */
struct tcn *tcn_load(const char *path, json_t **meta, struct err *err);

#endif
