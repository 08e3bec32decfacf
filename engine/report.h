/* report: `dagrun report RUN -o FILE`, one self-contained HTML page about
 * a run, drawn from the state alone.
 *
 * Sections, each present when the run has the data for it:
 *   - the run: pipeline, run id, status, start, duration, git commit,
 *     branch and dirty flag, node counts;
 *   - the graph: a layered SVG picture of the run's nodes (longest-path
 *     layers over the needs, read from each node's key document, and from
 *     the pipeline file for skipped nodes, which have no key), coloured by
 *     status, with wall times; then a table of every node: status, reason
 *     or error, wall, CPU, peak RSS, attempts;
 *   - training curves: each node's train_loss and val_loss per step;
 *   - promotion: each eval.promote node's promotion.json (scoreboard,
 *     decision, reason) and the registry's versions and aliases of that
 *     model as they are now;
 *   - forecasts, each against the actuals: forecast.npy + T_test.npy
 *     (train.prophet's, with the interval band, or train.holt_winters'),
 *     infer.batch's predictions.csv (the first step ahead, with its
 *     interval when it has one), and the predictions.npy of train.gru,
 *     train.lstm and baseline.* against their features node's test
 *     targets (Y_test.npy unscaled by its meta.json);
 *   - residuals: actual - forecast over time, and their histogram;
 *   - drift: each drift.report node's drift.json, a bar per feature of
 *     its shift with the thresholds, the health badge, and the numbers;
 *   - metrics: every final metric (recorded without a step).
 * A section finds its files by name among a node's top-level outputs,
 * whatever the node's task (a shell node that writes a drift.json is
 * shown as drift); a predictions.csv without timestamp and yhat columns
 * (a classifier's) is not a forecast and is left out.
 * A cached node's outputs are its cache entry's; its metrics are those of
 * the run that produced them.  A no-op run (runs.same_as) shows the run it
 * repeated, every node cached.
 *
 * The page needs no network and runs no script: CSS and SVG are inline,
 * nothing refers to a URL.  Every text from the state (node names,
 * reasons, errors, file contents) is escaped.  Series longer than
 * SVG_MAX_POINTS are thinned for drawing (svg.h).  The same state gives
 * the same bytes: nothing reads the clock (times shown are the run's own,
 * in local time as `dagrun show` prints them).  An artifact that cannot be
 * read (a missing object, a malformed file) becomes a note in its section,
 * not a failure.
 *
 * Reads the state and the object store only; writes nothing but
 * 'out_path'.  Not thread-safe with other users of the same 'st'. */
#ifndef DAGRUN_REPORT_H
#define DAGRUN_REPORT_H

#include <stdint.h>

#include "err.h"

struct state;
struct store;

/* Write the report of run 'run' (an id from inspect_run_id()) to
 * 'out_path', atomically (a temp file beside it, then rename).
 * Returns 0, or -1 with 'err' set: ERR_USER when there is no such run,
 * ERR_IO when 'out_path' cannot be written. */
int report_write(struct state *st, struct store *store, int64_t run,
		 const char *out_path, struct err *err);

#endif
