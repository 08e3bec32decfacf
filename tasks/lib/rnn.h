/* rnn: the recurrent engine behind train.gru and train.lstm, and the
 * load-and-predict API for batch inference.
 *
 * One engine, several cells.  A model is a stack of 'num_layers'
 * recurrent layers read batch-first ([batch, seq_len, input_size], as
 * PyTorch's batch_first=True), dropout between layers while training, and
 * a linear head on the last layer's final hidden state that produces
 * 'output_size' values, to which an optional residual skip adds the last
 * step's value of one input feature (struct rnn_residual).  The cells (GRU, LSTM) differ only in their
 * elementwise gate code; the time loop, the matrix products and the
 * backward pass through time are shared.
 *
 * Math and layout are PyTorch's (torch.nn.GRU / LSTM + nn.Linear), so a
 * model saved here loads there and back:
 *   GRU   r = s(W_ir x + b_ir + W_hr h + b_hr), z likewise,
 *         n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
 *         h' = (1 - z) * n + z * h;       gate rows ordered r, z, n
 *   LSTM  i, f, o = s(...), g = tanh(...), c' = f * c + i * g,
 *         h' = o * tanh(c');              gate rows ordered i, f, g, o
 * Parameters, in this order: rnn.weight_ih_l<k> [G*H, in],
 * rnn.weight_hh_l<k> [G*H, H], rnn.bias_ih_l<k> [G*H], rnn.bias_hh_l<k>
 * [G*H] for each layer k, then head.weight [out, H] and head.bias [out].
 *
 * Cost: per layer, one product for the input projections of all time
 * steps and, per time step, one [batch, H] x [H, G*H] product; backward
 * mirrors it, with the weight gradients as one product each over all time
 * steps.  The products are pgemm.h's, against weights packed once per
 * call (not OpenBLAS's, which packs both sides of every call); everything
 * else is fused elementwise code.
 *
 * Determinism: for a seed, data and thread count the results are the same
 * bytes on every run (fixed summation orders, a fixed split of each batch
 * into slices; the one atomic only hands out slices).  Functions are not thread-safe on the same
 * model or workspace; a workspace runs its own threads inside a call. */
#ifndef DAGRUN_RNN_H
#define DAGRUN_RNN_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "rng.h"
#include "tensor.h"

enum rnn_cell_kind { RNN_GRU, RNN_LSTM };

struct rnn_config {
	enum rnn_cell_kind cell;
	int num_layers;      /* >= 1 */
	int hidden_size;     /* H >= 1 */
	int input_size;      /* features per time step */
	int output_size;     /* values the head produces */
	int seq_len;         /* time steps per window (metadata; the most a
				workspace holds) */
	float dropout;       /* between layers while training, in [0, 1) */
};

struct rnn;        /* a model: config and parameters */
struct rnn_work;   /* activations of one batch, for the backward pass */

/* The residual skip: when on, every output k of a window is
 *   y_k = head(h)_k + scale * x[last step][index] + shift,
 * so the network learns the change from the last observed value of input
 * feature 'index' (the target, for a forecaster), and scale and shift
 * turn that feature's scaled units into the outputs' (1 and 0 when one
 * scaler scales both).  The skip has no parameters: backward is the same
 * with or without it.  Kept out of 'struct rnn_config' so that the
 * config's positional initialisers elsewhere stay complete. */
struct rnn_residual {
	int index;           /* the input feature added, in [0, input_size) */
	float scale, shift;
};

/* "gru" / "lstm"; rnn_cell_parse returns -1 for other names. */
const char *rnn_cell_name(enum rnn_cell_kind k);
int rnn_cell_parse(const char *name, enum rnn_cell_kind *out);

/* A model with zeroed parameters; free with rnn_free(). */
struct rnn *rnn_new(const struct rnn_config *cfg);
void rnn_free(struct rnn *m);
const struct rnn_config *rnn_config(const struct rnn *m);
/* The parameters and their gradients (borrowed, valid until free). */
struct tensor_set *rnn_params(struct rnn *m);
/* Turn the residual skip on with 'r' (copied; its index must be a feature
 * of the model: assert), or off with NULL; a new model has it off.
 * rnn_residual() returns it (borrowed, valid until the next set or free),
 * or NULL when off. */
void rnn_set_residual(struct rnn *m, const struct rnn_residual *r);
const struct rnn_residual *rnn_residual(const struct rnn *m);
/* PyTorch's default initialisation: every parameter, head included,
 * uniform in [-1/sqrt(H), 1/sqrt(H)), drawn in parameter order. */
void rnn_init(struct rnn *m, struct rng *r);

/* A workspace for batches of up to 'max_batch' windows of the model's
 * seq_len steps, run on 'threads' threads (>= 1): a batch is cut into
 * slices of contiguous rows (one on one thread, two per thread on more),
 * the threads take the slices one at a time through the whole forward and
 * backward pass, and the slices' gradients are summed in slice order.  So
 * a result depends on the thread count (a sum split differently rounds
 * differently) but never on timing or on which thread ran what; and a
 * thread held back by the machine's load delays a slice, not a fixed share
 * of the batch.  The caller sets OpenBLAS to one thread
 * (blas_set_threads(1)) for the few small products left to it.  Free with
 * rnn_work_free(). */
struct rnn_work *rnn_work_new(const struct rnn *m, int max_batch, int threads);
/* A workspace for rnn_predict() only: none of the buffers of training
 * (the activations of every step, gradients, dropout masks), so a few
 * times less memory; rnn_forward() and rnn_backward() refuse it (assert). */
struct rnn_work *rnn_work_new_predict(const struct rnn *m, int max_batch,
				      int threads);
void rnn_work_free(struct rnn_work *w);

/* Forward 'batch' windows 'x' [batch, seq_len, input_size] into 'y'
 * [batch, output_size], keeping what backward needs in 'w'.  'drop' is
 * the dropout generator while training (each slice's masks come from a
 * seed drawn from it), NULL for inference (no dropout). */
void rnn_forward(struct rnn *m, struct rnn_work *w, const float *x, int batch,
		 struct rng *drop, float *y);
/* Backward from dLoss/dy 'dy' [batch, output_size] of the last forward:
 * sets (does not add to) every parameter gradient of 'm'. */
void rnn_backward(struct rnn *m, struct rnn_work *w, const float *dy);

/* Predict 'n' windows (any number) with 'w', no dropout: each of the
 * workspace's slices takes a contiguous share of the windows, a slice's
 * rows at a time, and its threads take the slices.  A window's prediction
 * is the same bits whatever 'n', its place among them, the workspace's
 * batch and its thread count: every element of the matrix products
 * (pgemm.h's) is one chain of fused multiply-adds in a fixed order
 * (OpenBLAS rounds a row differently with other rows around it); the
 * head's product is OpenBLAS's in rnn_forward(), so the two differ by
 * about 1e-7 relative.  The tile
 * kernel is the widest the CPU runs (AVX-512, AVX2 with FMA, else portable
 * C with fmaf, all the same bits), or the one the environment variable
 * DAGRUN_RNN_ISA names (avx512, avx2, generic).
 * Only reads 'm': calls with distinct workspaces may run at once. */
void rnn_predict(struct rnn *m, struct rnn_work *w, const float *x, size_t n,
		 float *y);

/* --- files */

/* Save to 'path' as safetensors in PyTorch's names, with the metadata
 * format "dagrun.rnn.v1", cell, num_layers, hidden_size, input_size,
 * output_size, input_seq_len (as decimal strings), dropout and "meta"
 * (the JSON text of 'meta', e.g. the preprocessing meta.json; may be
 * NULL); with the residual skip on, also residual_index, residual_scale
 * and residual_shift (absent when off: such a file is the same bytes as
 * before the skip existed).  Returns 0, or -1 with 'err' set (ERR_IO). */
int rnn_save(const struct rnn *m, const char *path, json_t *meta,
	     struct err *err);
/* Load a model saved by rnn_save(), the residual skip included.  '*meta'
 * (if not NULL) gets the "meta" object (caller decrefs; JSON null when
 * absent).  Returns the model, or NULL with 'err' set (ERR_IO, or ERR_USER
 * naming the file and what is wrong: another format, a missing tensor, a
 * wrong shape, a residual index that is not a feature or a scale or shift
 * that is not a finite number). */
struct rnn *rnn_load(const char *path, json_t **meta, struct err *err);

/* --- one layer over a sequence, from a given state
 *
 * For models that run a time loop of their own (seq2seq.h: an encoder
 * whose final state starts a decoder, and a decoder run one step at a
 * time because each step's input is the step before's prediction).  The
 * math and layouts are those of a layer of a 'struct rnn'; every buffer is
 * the caller's, time-major ([t][b][...]), and the products run on the
 * calling thread with OpenBLAS's current thread count. */

struct rnn_seq {
	enum rnn_cell_kind cell;
	int steps, batch, in, hidden;    /* T >= 1, B >= 1, input size, H */
	const float *w_ih, *w_hh;        /* [G*H, in], [G*H, H] (PyTorch's) */
	const float *b_ih, *b_hh;        /* [G*H] */
	float *g_ih, *g_hh, *g_bih, *g_bhh;   /* their gradients: backward adds */
	const float *x;                  /* [T][B][in] */
	float *gate;                     /* [T][B][G*H]: the activated gates */
	float *aux;                      /* [T][B][H]: what backward needs too */
	float *h;                        /* [T+1][B][H]: h[0] the initial state */
	float *c;                        /* [T+1][B][H], c[0] likewise: LSTM
					    only, NULL for GRU */
	float *work;                     /* rnn_seq_work_size() floats */
};

/* G: the gate blocks of H in a weight row (GRU 3, LSTM 4). */
int rnn_cell_gates(enum rnn_cell_kind k);
/* The floats of scratch 'work' must hold for these sizes. */
size_t rnn_seq_work_size(enum rnn_cell_kind cell, int steps, int batch,
			 int hidden);

/* Run the layer over its T steps from h[0] (and c[0]): fills gate, aux,
 * h[1..T] and c[1..T]. */
void rnn_seq_forward(const struct rnn_seq *s);
/* Backward through the last forward of 's' (its buffers unchanged since).
 * 'dH' [T][B][H] is dL/dh_t for t = 1..T from what reads the outputs;
 * 'dh' [B][H] is, in, dL/dh_T from what follows the sequence (a decoder)
 * and, out, dL/dh_0; 'dc' likewise for the cell state (LSTM; unused and
 * may be NULL for GRU).  Adds the weight gradients to g_*; writes dL/dx
 * [T][B][in] to 'dx' unless it is NULL. */
void rnn_seq_backward(const struct rnn_seq *s, const float *dH, float *dh,
		      float *dc, float *dx);

#endif
