/* forecaster: a trained model applied to new raw data, for batch
 * inference (infer.batch) and `dagrun predict`.
 *
 * A model folder is what a training node leaves:
 *   model.safetensors  a network, told by its metadata 'format':
 *                      "dagrun.rnn.v1" of train.gru and train.lstm (rnn.h),
 *                      "dagrun.tcn.v1" of train.tcn (tcn.h),
 *                      "dagrun.encoder_lstm.v1" of train.encoder_lstm
 *                      (seq2seq.h); with data.preprocess's meta.json in
 *                      its metadata;
 *   model.json         train.prophet ("format": "dagrun.prophet",
 *                      prophet.h), or a baseline: {"type": "baseline",
 *                      "method": "persistence" | "seasonal_naive" | "mean",
 *                      "season": N | null, "mean": x | null, "target",
 *                      "input_seq_len", "output_seq_len", "meta": <the
 *                      preprocess meta.json>};
 * or an eval.promote output (promotion.json and model/), whose model/
 * folder is the model.
 *
 * New data is a table (struct forecaster_table): rising times in unix
 * seconds and named number columns, read from a CSV with the model's own
 * column names or from a data.load output.
 *
 * A window model (network or baseline) applies its stored preprocessing
 * exactly as data.preprocess did at training time, never refitting: X's
 * columns under meta's names and in meta's order (the number columns it
 * names; the time features, lags, rolling statistics, returns, RSI and
 * MACD recomputed by features.h over the whole table), the warm-up rows
 * dropped, each column scaled by the stored scaler, windows of
 * input_seq_len rows cut by window.h, the network's output unscaled by the
 * stored target scaler.  It predicts every window data.preprocess would
 * cut from the table (input_seq_len + output_seq_len rows, stride 1), then
 * the forecast past the data: the window of the last input_seq_len rows.
 * Prophet predicts at every row's time and one step past the last.
 * "One step" is the table's resolution: the median gap between rows.
 *
 * Derived columns are told from raw ones by their names: meta lists the
 * raw columns first and the derived ones after, so the longest tail of
 * names of the derived forms (<t>_sin, <t>_cos for a time feature t;
 * <target>_lag_<k>, _roll_mean_<w>, _roll_std_<w>, _return, _rsi_<p>,
 * _macd, _macd_signal, _macd_hist) is derived and the rest is read from
 * the table.
 *
 * Thread-safety: a loaded forecaster is only read by forecaster_predict(),
 * which runs forecaster_set_threads() threads of its own; two calls may
 * run at once on one forecaster (each thread of each call takes its own
 * workspace from a pool the forecaster keeps).  A window's prediction is
 * the same bits whatever the table around it and the thread count
 * (rnn_predict(), tcn_infer(), seq2seq_infer(): products of their own, not
 * OpenBLAS's, whose rounding of a row depends on the rows around it).  So
 * a TCN's or an encoder-decoder's prediction equals its trainer's
 * predictions.npy (tcn_predict(), seq2seq_predict(): OpenBLAS, in batches)
 * to a few 1e-7 of the target's scale, not to the bit; a GRU's or an
 * LSTM's is the same bits. */
#ifndef DAGRUN_FORECASTER_H
#define DAGRUN_FORECASTER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "features.h"

struct forecaster;

/* New kinds are added last. */
enum forecaster_kind {
	FORECASTER_GRU,
	FORECASTER_LSTM,
	FORECASTER_PROPHET,
	FORECASTER_BASELINE,
	FORECASTER_TCN,
	FORECASTER_ENCODER_LSTM
};

/* Load the model in folder 'dir' (or in 'dir'/model/ when 'dir' holds
 * promotion.json).  Returns a forecaster the caller frees with
 * forecaster_free(), or NULL with 'err' set: ERR_USER naming the file and
 * what is wrong (no model file, another format, a file that is not valid
 * safetensors (truncated, say), a tensor missing, extra or of another
 * shape than its metadata's architecture, a network whose shape or
 * decoder input disagrees with its meta, a meta without features or
 * scaler, an unknown baseline method), ERR_IO if a file cannot be read. */
struct forecaster *forecaster_load(const char *dir, struct err *err);
void forecaster_free(struct forecaster *f);

enum forecaster_kind forecaster_kind(const struct forecaster *f);
/* "gru", "lstm", "prophet", "baseline", "tcn", "encoder_lstm" (static). */
const char *forecaster_kind_name(const struct forecaster *f);
/* The folder the model was read from, and its target column (borrowed,
 * valid until forecaster_free). */
const char *forecaster_dir(const struct forecaster *f);
const char *forecaster_target(const struct forecaster *f);
/* input_seq_len (0 for Prophet) and output_seq_len (1 for Prophet). */
size_t forecaster_input_len(const struct forecaster *f);
size_t forecaster_horizon(const struct forecaster *f);
/* The fewest table rows forecaster_predict() accepts: the warm-up rows of
 * the derived columns + input_seq_len + output_seq_len; 2 for Prophet
 * (two times give the step). */
size_t forecaster_min_rows(const struct forecaster *f);
/* 1 if predictions come with interval bounds (Prophet with samples). */
int forecaster_has_intervals(const struct forecaster *f);
/* The number columns a table must hold, in meta's order (the target among
 * them when X or a derived column reads it); name 'i' of
 * forecaster_n_columns() (borrowed). */
size_t forecaster_n_columns(const struct forecaster *f);
const char *forecaster_column(const struct forecaster *f, size_t i);
/* Threads for the network's forward pass (>= 1; default 1).  Not to be
 * called while a forecaster_predict() on 'f' runs. */
void forecaster_set_threads(struct forecaster *f, int threads);

/* New raw data.  Invariant: 't' has 'rows' strictly rising values and
 * every column of 'cols' 'rows' values. */
struct forecaster_table {
	size_t rows;
	int64_t *t;                  /* unix seconds */
	struct features_set cols;    /* number columns by name */
	char *source;                /* the file or folder, for messages */
};

/* Read the CSV 'path' for 'f': the time column 'time_col' (NULL: a column
 * named "timestamp", else the first of ISO 8601 times), every column of
 * forecaster_column(), and the target when present (its actuals; missing
 * values there are unknown actuals).  Sub-second parts are cut, as
 * data.load does.  'tb' is the caller's to release with
 * forecaster_table_release(), on failure too.  Returns 0, or -1 with
 * 'err' set, ERR_USER "path:line:col: ..." for a missing column (all of
 * them named), a value that is not a number or a time, a missing input
 * value, times that do not rise; ERR_IO if it cannot be read. */
int forecaster_read_csv(const struct forecaster *f, const char *path,
			const char *time_col, struct forecaster_table *tb,
			struct err *err);

/* Read a data.load output folder 'dir' (features_read_table()): its time
 * column and every number column.  Release 'tb' as above. */
int forecaster_read_dir(const char *dir, struct forecaster_table *tb,
			struct err *err);

void forecaster_table_release(struct forecaster_table *tb);

/* Predictions, 'n' rows in time order; 'windows' of them are of windows
 * inside the data, the last one is the forecast past its end.  Arrays of
 * n x horizon values, row-major; 'lower'/'upper' NULL without intervals;
 * 'y' the actuals, NAN where unknown (past the table's end, or no target
 * column).  Row i predicts the horizon rows that follow its inputs; 't[i]'
 * is the time of the first (past the data: one 'step' after the last). */
struct forecaster_result {
	size_t n, windows, horizon;
	int64_t step;                /* the table's resolution, seconds */
	int64_t *t;
	double *yhat, *lower, *upper, *y;
};

/* Predict 'tb' with 'f' into 'r' (caller releases with
 * forecaster_result_release() on success; nothing to release on failure).
 * Returns 0, or -1 with 'err' set (ERR_USER naming the table: fewer rows
 * than forecaster_min_rows(), saying how many are needed and why; a column
 * of the model missing from it; a derived value that is not finite). */
int forecaster_predict(const struct forecaster *f,
		       const struct forecaster_table *tb,
		       struct forecaster_result *r, struct err *err);
void forecaster_result_release(struct forecaster_result *r);

/* Predict each of the 'n' tables 'tb[i]' into 'r[i]', 'rc[i]' 0 (release
 * 'r[i]' as above) or -1 with 'err[i]' set: the same results and errors
 * as n calls of forecaster_predict(), to the bit, but a network runs the
 * windows of every table in one pass, which costs less than n passes of a
 * few windows each (`dagrun serve` batches the requests that wait for
 * one model so). */
void forecaster_predict_many(const struct forecaster *f,
			     const struct forecaster_table *const *tb, size_t n,
			     struct forecaster_result *r, int *rc, struct err *err);

/* The windows a network model runs on for 'tb': float32 [n, input_seq_len,
 * features], scaled, one per row of forecaster_predict()'s result, in its
 * order; '*n' gets their number.  For tests and benches (what did the
 * model see?).  Returns an array the caller frees with free(3), or NULL
 * with 'err' set as forecaster_predict() (ERR_USER too for a model that is
 * not a network). */
float *forecaster_windows(const struct forecaster *f,
			  const struct forecaster_table *tb, size_t *n,
			  struct err *err);

/* Flags of forecaster_csv(). */
enum {
	FORECASTER_CSV_ACTUALS = 1   /* add the actuals: y, or y_1..y_k */
};

/* The result as CSV text (caller frees): a header "timestamp,yhat" (or
 * yhat_1..yhat_k for a horizon k > 1), ",yhat_lower,yhat_upper" with
 * intervals; then a row per prediction, the time as ISO 8601 UTC
 * ("2024-01-01T00:00:00Z"), numbers as %.17g (they read back to the same
 * double), an unknown value as an empty field. */
char *forecaster_csv(const struct forecaster_result *r, int flags);

/* `dagrun predict`: load the model in 'model_dir', read 'csv_path' with
 * its column names (the time column found as forecaster_read_csv() does),
 * predict on every core, and write the CSV above to 'out_path'
 * (atomically), or to stdout when 'out_path' is NULL.  Returns 0, or -1
 * with 'err' set (ERR_USER for a bad model folder or input, which the
 * message names; ERR_IO). */
int forecaster_predict_csv(const char *model_dir, const char *csv_path,
			   const char *out_path, struct err *err);

#endif
