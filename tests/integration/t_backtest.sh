#!/bin/sh
# eval.backtest through the real binary on the Peyton Manning series:
# train.prophet refitted at Prophet's documented cutoffs (initial 730 days,
# period 180, horizon 365: 11 cutoffs, 2010-02-15 to 2015-01-20), the same
# model through an eval.promote-shaped folder, train.holt_winters refitted
# at the same cutoffs, a persistence baseline applied without a refit (one
# step ahead, and from a fixed origin) on row counts, a GRU (its one-step
# forecasts equal its own test predictions), and a gap wider than the
# horizon.  Outputs and their shapes, the rows each cutoff forecasts, the
# overall figures recomputed from cv.csv, the metrics in the state, a
# cached rerun and a byte-identical forced one; bad params exit 2 with the
# reason.  With R's prophet installed: the cutoffs equal its
# generate_cutoffs() (also over the gap) and performance.csv equals its
# performance_metrics() on our cv.csv.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/example_wp_log_peyton_manning.csv" data/pm.csv
# 200 daily rows, a gap of 100 days, 200 more (unix seconds): a cutoff
# whose horizon falls in the gap jumps back before it
awk 'BEGIN { print "ds,y"; for (d = 0; d < 500; d++) if (d < 200 || d >= 300)
	printf "%d,%.6f\n", 1577836800 + d * 86400, 10 + sin(6.2831853 * d / 7) + 0.01 * d }' \
	> data/gap.csv

# pipeline FILE BT_PARAMS [BT_MODEL]: every model, and the node 'bt'
# backtesting BT_MODEL (default train) with BT_PARAMS; outputs copied to
# got/<node>/.
pipeline() {
	cat > "$1" <<YAML
pipeline: backtest
nodes:
  ingest:
    task: data.load
    params: {path: data/pm.csv, timestamp: ds, target: y}
  bt:
    task: eval.backtest
    needs: [${3:-train}, ingest]
    params: {$2}
  train:
    task: train.prophet
    needs: [ingest]
    params: {uncertainty_samples: 100, seed: 3}
  hw:
    task: train.holt_winters
    needs: [ingest]
    params: {trend: add, seasonal: add}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: y, input_seq_len: 7, output_seq_len: 3}
  persistence:
    task: baseline.persistence
    needs: [features]
  gru:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 4, epochs: 1, batch_size: 64, seed: 1}
  bt_gru:
    task: eval.backtest
    needs: [gru, ingest]
    params: {initial: 2300, period: 100, horizon: 50}
  promoted:
    needs: [train]
    cmd: >-
      mkdir \$DAGRUN_OUT/model && cp \$DAGRUN_IN/train/* \$DAGRUN_OUT/model/ &&
      echo '{"winner": "train"}' > \$DAGRUN_OUT/promotion.json
  bt_promoted:
    task: eval.backtest
    needs: [promoted, ingest]
    params: {initial: "730 days", period: "180 days", horizon: "365 days"}
  odd:
    cmd: "echo '{\"type\": \"xyz\", \"target\": \"y\"}' > \$DAGRUN_OUT/model.json"
  bt_hw:
    task: eval.backtest
    needs: [hw, ingest]
    params: {initial: "730 days", period: "180 days", horizon: "365 days"}
  bt_step:
    task: eval.backtest
    needs: [persistence, ingest]
    params: {initial: 730, period: 180, horizon: 30, rolling_window: 0}
  bt_fixed:
    task: eval.backtest
    needs: [persistence, ingest]
    params: {initial: 730, period: 180, horizon: 3}
  gap:
    task: data.load
    params: {path: data/gap.csv, timestamp: ds, target: y}
  hw_gap:
    task: train.holt_winters
    needs: [gap]
    params: {trend: add, seasonal: add}
  bt_gap:
    task: eval.backtest
    needs: [hw_gap, gap]
    params: {initial: "60 days", period: "20 days", horizon: "30 days"}
  copy:
    needs: [bt, bt_hw, bt_step, bt_fixed, bt_gap, bt_gru, gru, features, bt_promoted]
    cmd: >-
      rm -rf got && for n in bt bt_hw bt_step bt_fixed bt_gap bt_gru bt_promoted; do
      mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/* got/\$n/; done &&
      cp \$DAGRUN_IN/gru/predictions.npy \$DAGRUN_IN/features/T_test.npy got/bt_gru/
YAML
}
DOC='initial: "730 days", period: "180 days", horizon: "365 days"'
pipeline pipelines/p.yaml "$DOC"
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "every backtest runs (exit 0)" [ "$RC" -eq 0 ]
expect "cv.csv, performance.csv, metrics.json are written" [ -f got/bt/cv.csv -a \
	-f got/bt/performance.csv -a -f got/bt/metrics.json ]
expect "... and no model.json or model.safetensors (eval.promote tells models by them)" \
	[ "$(ls got/bt | tr '\n' ' ')" = "cv.csv metrics.json performance.csv " ]
cutoffs() { tail -n +2 "$1" | cut -d, -f1 | uniq; }
expect "Prophet's documented example: 11 cutoffs from 2010-02-15 to 2015-01-20" \
	[ "$(cutoffs got/bt/cv.csv | wc -l)" -eq 11 -a \
	"$(cutoffs got/bt/cv.csv | head -1)" = 2010-02-15T00:00:00Z -a \
	"$(cutoffs got/bt/cv.csv | tail -1)" = 2015-01-20T00:00:00Z ]
expect "cv.csv has Prophet's columns" \
	[ "$(head -1 got/bt/cv.csv)" = "cutoff,ds,y,yhat,yhat_lower,yhat_upper" ]
expect "performance.csv has Prophet's columns" \
	[ "$(head -1 got/bt/performance.csv)" = "horizon,mse,rmse,mae,mape,mdape,smape,coverage" ]
expect "performance.csv starts at 37 days, as in Prophet's documentation, and ends at 365" \
	[ "$(sed -n 2p got/bt/performance.csv | cut -d, -f1)" = "37 days 00:00:00" -a \
	"$(tail -1 got/bt/performance.csv | cut -d, -f1)" = "365 days 00:00:00" ]
expect "metrics.json has the overall figures" [ "$(jq -c 'keys' got/bt/metrics.json)" = \
	'["coverage","mae","mape","mdape","mse","rmse","smape"]' ]
expect "... sane for log views (sd about 1)" \
	[ "$(jq '.rmse > 0.4 and .rmse < 1.5 and .coverage > 0.3 and .coverage < 0.95' got/bt/metrics.json)" = true ]
expect "the log sums it up" contains "$(cat state/logs/1/bt.log)" \
	"prophet model 'train' (prophet, refit at each cutoff) on 'y': 11 cutoffs from 2010-02-15T00:00:00Z to 2015-01-20T00:00:00Z"
v=$(sqlite3 state/dagrun.db "select group_concat(name) from (select name from metrics
	where node = 'bt' and step is null order by name)")
expect "the overall figures are in the state (step -1)" \
	[ "$v" = "coverage,mae,mape,mdape,mse,rmse,smape" ]
v=$(sqlite3 state/dagrun.db "select count(*) || ',' || min(step) || ',' || max(step)
	from metrics where node = 'bt' and name = 'rmse' and step is not null")
expect "rmse by horizon is a curve, one point per performance row, step in days" \
	[ "$v" = "$(($(wc -l < got/bt/performance.csv) - 1)),37,365" ]

if $PY -c 'import numpy, pandas' 2>/dev/null; then
	v=$($PY - <<'EOF' 2>&1
import json
import numpy as np, pandas as pd
rt = {"float_precision": "round_trip"}
data = pd.read_csv("data/pm.csv", parse_dates=["ds"], **rt)
out = []
for node, intervals in (("bt", True), ("bt_hw", False)):
    cv = pd.read_csv(f"got/{node}/cv.csv", **rt)
    cv["ds"] = pd.to_datetime(cv["ds"]).dt.tz_localize(None)
    cv["cutoff"] = pd.to_datetime(cv["cutoff"]).dt.tz_localize(None)
    h = pd.Timedelta("365 days")
    rows = all((g["ds"].tolist() == data.loc[(data.ds > c) & (data.ds <= c + h), "ds"].tolist())
               for c, g in cv.groupby("cutoff"))
    truth = cv["y"].to_numpy() == data.set_index("ds").loc[cv["ds"], "y"].to_numpy()
    e = cv["y"] - cv["yhat"]
    ape = (e / cv["y"]).abs()
    want = {"mse": (e ** 2).mean(), "rmse": np.sqrt((e ** 2).mean()), "mae": e.abs().mean(),
            "mape": ape.mean(), "mdape": ape.median(),
            "smape": (e.abs() / ((cv["y"].abs() + cv["yhat"].abs()) / 2)).mean()}
    if intervals:
        want["coverage"] = ((cv["y"] >= cv["yhat_lower"]) & (cv["y"] <= cv["yhat_upper"])).mean()
    got = json.load(open(f"got/{node}/metrics.json"))
    same = all(abs(got[k] - v) <= 1e-12 * abs(v) for k, v in want.items())
    bounds = ((cv["yhat_lower"] <= cv["yhat"]) & (cv["yhat"] <= cv["yhat_upper"])).all() \
        if intervals else (cv["yhat_lower"].isna().all() and got["coverage"] is None)
    out.append(f"{rows} {truth.all()} {same} {bounds}")
print(" ".join(out))
EOF
)
	OUT=$v
	expect "numpy: each cutoff forecasts the rows in (cutoff, cutoff + 365 days], y is the data's, metrics.json recomputes from cv.csv, intervals hold yhat (prophet; none for holt_winters)" \
		[ "$v" = "True True True True True True True True" ]
	v=$($PY - <<'EOF' 2>&1
import numpy as np, pandas as pd
cv = pd.read_csv("got/bt_gru/cv.csv", float_precision="round_trip")
t = pd.to_datetime(cv.ds).dt.tz_localize(None).astype("int64") // 10**9
pred = np.load("got/bt_gru/predictions.npy")[:, 0]
at = dict(zip(np.load("got/bt_gru/T_test.npy").tolist(), pred.tolist()))
both = [(np.float32(y), np.float32(at[k])) for k, y in zip(t, cv.yhat) if k in at]
print(len(both), all(a == b for a, b in both))
EOF
)
	OUT=$v
	expect "gru, no refit: one step ahead equals train.gru's own test predictions (first step) bit for bit (6 cutoffs of 50 rows in its test part, but for the last 2 rows, which no 3-step test window starts at)" \
		[ "$v" = "298 True" ]
	v=$($PY - <<'EOF' 2>&1
import pandas as pd
rt = {"float_precision": "round_trip"}
y = pd.read_csv("data/pm.csv", **rt)["y"].to_numpy()
step = pd.read_csv("got/bt_step/cv.csv", **rt); fixed = pd.read_csv("got/bt_fixed/cv.csv", **rt)
ds = pd.read_csv("data/pm.csv")["ds"].tolist()
row = {d + "T00:00:00Z": i for i, d in enumerate(ds)}
one = all(r.yhat == y[row[r.ds] - 1] for r in step.itertuples())
orig = all(r.yhat == y[row[r.cutoff]] for r in fixed.itertuples())
gaps = step.groupby("cutoff").size().tolist()
print(one, orig, len(gaps), set(gaps), len(fixed) // 3, set(fixed.groupby("cutoff").size()))
EOF
)
	OUT=$v
	expect "persistence, no refit: one step ahead is the previous row; a fixed origin repeats the cutoff's row; 12 cutoffs of 30 rows (row counts: (2904 - 30 - 730) / 180 = 11.9), 13 of 3" \
		[ "$v" = "True True 12 {30} 13 {3}" ]
else
	echo "skip numpy checks: /usr/bin/python3 has no numpy or pandas"
fi
expect "an eval.promote folder backtests its model/: the same cv.csv as the model's node" \
	cmp -s got/bt/cv.csv got/bt_promoted/cv.csv
expect "holt_winters: refit at the same 11 cutoffs" [ "$(cutoffs got/bt_hw/cv.csv | tr '\n' ' ')" = \
	"$(cutoffs got/bt/cv.csv | tr '\n' ' ')" ]
expect "... without intervals: coverage is null" [ "$(jq .coverage got/bt_hw/metrics.json)" = null ]
expect "persistence with a 3-row model and a 30-row horizon rolls one step ahead" \
	contains "$(cat state/logs/1/bt_step.log)" "(no refit, one step ahead: each row from the observed rows before it)"
expect "... and with a 3-row horizon forecasts from the cutoff" \
	contains "$(cat state/logs/1/bt_fixed.log)" "(no refit, fixed origin"
expect "rolling_window 0: one performance row per horizon, 1 to 30 rows" \
	[ "$(tail -n +2 got/bt_step/performance.csv | cut -d, -f1 | tr '\n' ' ')" = \
	"$(seq 1 30 | tr '\n' ' ')" ]
expect "a gap wider than the horizon: the cutoff in it jumps back to 30 days before the last row before it" \
	[ "$(cutoffs got/bt_gap/cv.csv | tr '\n' ' ')" = "2020-03-10T00:00:00Z 2020-03-30T00:00:00Z \
2020-04-19T00:00:00Z 2020-05-09T00:00:00Z 2020-05-29T00:00:00Z 2020-06-18T00:00:00Z \
2020-10-16T00:00:00Z 2020-11-05T00:00:00Z 2020-11-25T00:00:00Z 2020-12-15T00:00:00Z \
2021-01-04T00:00:00Z 2021-01-24T00:00:00Z 2021-02-13T00:00:00Z 2021-03-05T00:00:00Z \
2021-03-25T00:00:00Z 2021-04-14T00:00:00Z " ]

run_dagrun pipelines/p.yaml
expect "an unchanged pipeline is cached" contains "$ERR" "18 cached"
mv got got1
run_dagrun --force bt --force copy pipelines/p.yaml
same=1
for f in got1/bt/*; do cmp -s "$f" "got/bt/${f#got1/bt/}" || same=0; done
expect "a forced rerun writes byte-identical outputs" [ "$RC" -eq 0 -a "$same" -eq 1 ]

# Bad params: the schema's with file:line before anything runs, the rest
# fail the node with exit 2 and the reason.
cat > bad.txt <<'EOF'
horizon: "4000 days"|train|param 'horizon' of task 'eval.backtest': 4000 days 00:00:00 is longer than the data, 2905 rows from 2007-12-10T00:00:00Z to 2016-01-20T00:00:00Z
initial: "3000 days", horizon: "365 days"|train|no cutoff fits: initial 3000 days 00:00:00 and horizon 365 days 00:00:00 need more than the data's span
horizon: "7 dayz"|train|param 'horizon' of task 'eval.backtest': bad duration "7 dayz" (expected a number and a unit
horizon: "30"|train|bad duration "30"
horizon: 30, period: "10 days"|train|params 'horizon' and 'period' of task 'eval.backtest': one is a duration, the other a row count
horizon: 2.5|train|bad duration 2.5
horizon: 0|train|p.yaml:9:23: param 'horizon' of task 'eval.backtest' must be between 1 and 1e+09
period: "10 days"|train|task 'eval.backtest' needs param 'horizon'
horizon: 10, rolling_window: 2|train|param 'rolling_window' of task 'eval.backtest' must be between 0 and 1
horizon: 10, rollout: sideways|train|must be one of auto|one_step|fixed_origin
horizon: "1 days", initial: "0 days", period: "1 s"|train|param 'period' of task 'eval.backtest': 0 days 00:00:01 places more than 10000 cutoffs
horizon: 10, model: nope|train|param 'model' of task 'eval.backtest': no needed node 'nope'
horizon: 10, data: nope|train|param 'data' of task 'eval.backtest': no needed node 'nope'
horizon: 10|features|needed node 'features' holds no model.json or model.safetensors (expected the output of train.prophet, train.holt_winters, baseline.*, train.gru or train.lstm)
horizon: 10|odd|needed node 'odd' holds a model.json of an unknown type
horizon: "10 days", initial: "10 days"|hw|initial 10 days 00:00:00 is too short for the holt_winters model: the first cutoff, 2007-12-20T00:00:00Z, leaves 11 rows of history to refit on, and it needs 16
horizon: 30, period: 1, initial: 0|persistence|initial 0 rows is too short for the baseline model: the first cutoff, 2007-12-10T00:00:00Z, leaves 1 rows of history, and its first forecast needs 7
horizon: 30, rollout: fixed_origin|persistence|param 'rollout' of task 'eval.backtest': fixed_origin needs output_seq_len to cover the horizon's 30 rows, but the baseline model forecasts 3
EOF
git add -A && git commit -qm bad
while IFS='|' read -r params model what; do
	pipeline pipelines/p.yaml "$params" "$model"
	rm -rf got
	run_dagrun pipelines/p.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$params ($model) exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$what"; then
		fail "$params ($model): $what" "err=[$ERR]"
	elif [ -e got ]; then
		fail "$params ($model) leaves no outputs" "got/ exists"
	else
		ok "$params ($model): exit 2, $what"
	fi
done < bad.txt

# Parity with R's prophet, when installed: its generate_cutoffs() on the
# same data and spans, and its performance_metrics() on our cv.csv.
if ! Rscript -e 'suppressMessages(library(prophet))' >/dev/null 2>&1; then
	echo "skip R parity: no Rscript with the prophet package (apt-get install r-cran-prophet)"
	finish
	exit $?
fi
pipeline pipelines/p.yaml "$DOC"
run_dagrun --force copy pipelines/p.yaml
v=$(Rscript - <<'EOF' 2>&1
suppressMessages(library(prophet))
utc <- function(x) format(x, "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
days <- function(n) as.difftime(n, units = "days")
cuts <- function(file, h, i, p) {
  df <- read.csv(file)
  df$ds <- if (is.numeric(df$ds)) as.POSIXct(df$ds, origin = "1970-01-01", tz = "UTC") else
    as.POSIXct(df$ds, tz = "UTC")
  paste(utc(suppressMessages(prophet:::generate_cutoffs(df, days(h), days(i), days(p)))),
        collapse = " ")
}
ours <- function(node) paste(unique(read.csv(file.path("got", node, "cv.csv"))$cutoff), collapse = " ")
cv <- read.csv("got/bt/cv.csv")
cv$ds <- as.POSIXct(cv$ds, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
cv$cutoff <- as.POSIXct(cv$cutoff, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
r <- performance_metrics(cv, rolling_window = 0.1)
p <- read.csv("got/bt/performance.csv")
hd <- as.numeric(r$horizon, units = "days")
same <- length(hd) == nrow(p) && all(hd == as.numeric(sub(" days.*", "", p$horizon)))
for (m in c("mse", "rmse", "mae", "mape", "mdape", "smape", "coverage"))
  same <- same && isTRUE(all(abs(r[[m]] - p[[m]]) <= 1e-9 * abs(p[[m]])))
cat(ours("bt") == cuts("data/pm.csv", 365, 730, 180),
    ours("bt_gap") == cuts("data/gap.csv", 30, 60, 20), same, "\n")
EOF
)
OUT=$v
expect "R's generate_cutoffs places the same cutoffs (Peyton Manning; over a gap); its performance_metrics on our cv.csv gives our performance.csv" \
	[ "$v" = "TRUE TRUE TRUE " ]
finish
