/* seq2seq: an encoder-decoder LSTM, the engine behind train.encoder_lstm.
 *
 * A model reads a window batch-first ([batch, seq_len, input_size]) with
 * an encoder, a stack of 'num_layers' LSTM layers from a zero state; a
 * decoder, a stack of the same shape over inputs of one value, starts
 * from the encoder's final (h, c) of each layer and runs 'horizon' steps;
 * after each step a linear head on the top layer's h gives that step's
 * prediction.  The decoder's first input is the last observed target
 * (the window's last step of feature 'target_index'; 0 when it is -1);
 * each later input is the step before's prediction, or while training
 * with teacher forcing the step before's true value.  Dropout between
 * stacked layers while training, as PyTorch's nn.LSTM(dropout=p).
 *
 * Math and layout are PyTorch's: the model is
 *   _, (h, c) = encoder(x);  v = x[:, -1, target_index:target_index+1]
 *   for t in range(horizon):
 *       o, (h, c) = decoder(v.unsqueeze(1), (h, c)); p = head(o[:, -1])
 *       v = y[:, t:t+1] if teacher else p
 * with nn.LSTM(batch_first=True) encoder and decoder and an nn.Linear(H,
 * 1) head; gradients flow through the fed-back predictions as autograd's
 * do.  Parameters, in this order: encoder.weight_ih_l<k> [4H, in],
 * encoder.weight_hh_l<k> [4H, H], encoder.bias_ih_l<k> [4H],
 * encoder.bias_hh_l<k> [4H] for each layer k, the same for decoder.*
 * (layer 0's input size 1), then head.weight [1, H] and head.bias [1].
 *
 * Cost: the encoder as rnn.c's layers (one sgemm for the input
 * projections of all steps, one product per step); the decoder one step
 * at a time, since each step's input comes from the step before (rnn_seq
 * in rnn.h).  Single-threaded but for OpenBLAS's own threads (the
 * caller's blas_set_threads).
 *
 * Determinism: for a seed, data and OpenBLAS thread count the results are
 * the same bytes on every run.  Not thread-safe on the same model or
 * workspace.
 *
 * Inference (seq2seq_infer(), for the forecaster): OpenBLAS rounds a row
 * of a product differently with other rows around it, so
 * seq2seq_predict()'s value for a window may differ in the last bits with
 * the batch around it.  seq2seq_infer() runs the same model step by step
 * with products of its own, every element one chain of multiply-adds in a
 * fixed order, and the training cells' arithmetic, so a window's
 * prediction is the same bits alone or among any others, on any CPU.  It
 * differs from seq2seq_predict()'s by a few 1e-7 of the outputs'
 * magnitude (the rounding of the products, carried through the steps).
 * It only reads the model: calls with distinct scratch may run at once. */
#ifndef DAGRUN_SEQ2SEQ_H
#define DAGRUN_SEQ2SEQ_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "rng.h"
#include "tensor.h"

struct seq2seq_config {
	int num_layers;        /* >= 1: the encoder's and the decoder's */
	int hidden_size;       /* H >= 1 */
	int input_size;        /* features per input step, >= 1 */
	int seq_len;           /* input steps per window, >= 1 */
	int horizon;           /* decoder steps: values per window, >= 1 */
	int target_index;      /* the feature that is the target, or -1 */
	float dropout;         /* between stacked layers while training, [0, 1) */
	float teacher_forcing; /* while training: the chance that a decoder step
				  (after the first) is fed the true value, [0, 1];
				  one draw per step for the whole batch */
};

struct seq2seq;        /* a model: config and parameters */
struct seq2seq_work;   /* activations of one batch, for the backward pass */
struct seq2seq_infer;  /* scratch of seq2seq_infer(): one caller's at a time */

/* A model with zeroed parameters; free with seq2seq_free().  The config
 * must be valid (asserted). */
struct seq2seq *seq2seq_new(const struct seq2seq_config *cfg);
void seq2seq_free(struct seq2seq *m);
const struct seq2seq_config *seq2seq_config(const struct seq2seq *m);
/* The parameters and their gradients (borrowed, valid until free). */
struct tensor_set *seq2seq_params(struct seq2seq *m);
/* PyTorch's default initialisation: every parameter, head included,
 * uniform in [-1/sqrt(H), 1/sqrt(H)), drawn in parameter order. */
void seq2seq_init(struct seq2seq *m, struct rng *r);

/* A workspace for batches of up to 'max_batch' windows; free with
 * seq2seq_work_free(). */
struct seq2seq_work *seq2seq_work_new(const struct seq2seq *m, int max_batch);
void seq2seq_work_free(struct seq2seq_work *w);

/* Forward 'batch' windows 'x' [batch, seq_len, input_size] into 'pred'
 * [batch, horizon], keeping what backward needs in 'w'.  'drop' is the
 * training generator (dropout masks and teacher-forcing draws), NULL for
 * inference; 'y' [batch, horizon] the true values teacher forcing feeds
 * (NULL: none). */
void seq2seq_forward(struct seq2seq *m, struct seq2seq_work *w, const float *x,
		     const float *y, int batch, struct rng *drop, float *pred);
/* Backward from dLoss/dpred 'dy' [batch, horizon] of the last forward:
 * sets (does not add to) every parameter gradient of 'm'. */
void seq2seq_backward(struct seq2seq *m, struct seq2seq_work *w, const float *dy);
/* Predict 'n' windows (any number), max_batch at a time: no dropout, no
 * teacher. */
void seq2seq_predict(struct seq2seq *m, struct seq2seq_work *w, const float *x,
		     size_t n, float *pred);

/* Scratch of seq2seq_infer() for up to 'max_batch' windows at a time
 * (>= 1), with the weights laid out for its products (packed here, and
 * again by seq2seq_infer() when the model's parameters have changed
 * since): a few steps of state, not the sequences.  Free with
 * seq2seq_infer_free(). */
struct seq2seq_infer *seq2seq_infer_new(const struct seq2seq *m, int max_batch);
void seq2seq_infer_free(struct seq2seq_infer *s);
/* Predict 'n' windows 'x' [n, seq_len, input_size] into 'pred' [n,
 * horizon] (no dropout, no teacher), max_batch at a time.  A window's
 * prediction does not depend on 'n', its place among the windows,
 * max_batch or the CPU's vector width (see the top of this file). */
void seq2seq_infer(const struct seq2seq *m, struct seq2seq_infer *s, const float *x,
		   size_t n, float *pred);

/* Save to 'path' as safetensors in the names above, with the metadata
 * format "dagrun.encoder_lstm.v1", num_layers, hidden_size, input_size,
 * input_seq_len, output_size (the horizon), target_index (decimal
 * strings), dropout, teacher_forcing and "meta" (the JSON text of 'meta';
 * may be NULL).  Returns 0, or -1 with 'err' set (ERR_IO). */
int seq2seq_save(const struct seq2seq *m, const char *path, json_t *meta,
		 struct err *err);
/* Load a model saved by seq2seq_save().  Nothing is trusted: the format,
 * every metadata field (integers in range, target_index -1 or a feature,
 * dropout and teacher_forcing in their ranges), then every tensor by name,
 * dtype and shape, checked before anything is allocated, and no tensor
 * besides.  '*meta' (if not NULL) gets the "meta" object (caller decrefs;
 * JSON null when absent or not JSON).  Returns the model (free with
 * seq2seq_free()), or NULL with 'err' set: ERR_IO when the file cannot be
 * read, ERR_USER naming the file and what is wrong. */
struct seq2seq *seq2seq_load(const char *path, json_t **meta, struct err *err);

#endif
