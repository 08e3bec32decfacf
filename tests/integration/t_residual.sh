#!/bin/sh
# residual: true for train.gru and train.lstm, through the real binary on
# the first 2,000 rows of ETTh1: the skip is stored in the model (metadata
# residual_index, _scale, _shift; absent without it), infer.batch (the
# forecaster, reading the model file alone) predicts the test windows bit
# for bit as the trainer did, a residual model whose data lacks the target
# among its features exits 2 with the reason, and on this subset the
# residual GRU beats its non-residual twin (same seed and settings) and
# lands near persistence, where the twin is far off.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
new_project
mkdir -p data pipelines
head -n 2001 "$ROOT/examples/data/ETTh1.csv" > data/etth1.csv
cat > pipelines/res.yaml <<'YAML'
pipeline: res
nodes:
  ingest:
    task: data.load
    params: {path: data/etth1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, input_seq_len: 12, output_seq_len: 1, split: [0.7, 0.1, 0.2]}
  gru_res:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 16, epochs: 5, seed: 1, residual: true}
  gru_plain:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 16, epochs: 5, seed: 1}
  lstm_res:
    task: train.lstm
    needs: [features]
    params: {num_layers: 2, hidden_size: 8, epochs: 3, seed: 2, residual: true, threads: 2}
  persistence:
    task: baseline.persistence
    needs: [features]
  infer_gru:
    task: infer.batch
    needs: [gru_res, ingest]
  infer_lstm:
    task: infer.batch
    needs: [lstm_res, ingest]
    params: {threads: 2}
  export:
    needs: [features, gru_res, gru_plain, lstm_res, persistence, infer_gru, infer_lstm]
    cmd: "rm -rf got && for n in features gru_res gru_plain lstm_res persistence infer_gru infer_lstm; do mkdir -p got/$n && cp $DAGRUN_IN/$n/*.* got/$n/; done && echo ok > $DAGRUN_OUT/done"
YAML
cat > pipelines/noot.yaml <<'YAML'
pipeline: noot
nodes:
  ingest:
    task: data.load
    params: {path: data/etth1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, features: [HUFL, HULL], input_seq_len: 12, output_seq_len: 1}
  gru:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 8, epochs: 1, residual: true}
YAML
git add -A && git commit -qm init
run_dagrun pipelines/res.yaml
expect "residual models train and infer.batch runs on them (exit 0)" [ "$RC" -eq 0 ]

run_dagrun pipelines/noot.yaml
expect "residual without the target among the features: exit 2" [ "$RC" -eq 2 ]
expect "... saying why" contains "$ERR$OUT" "param 'residual': the target is not among the features"
expect "... the node fails" [ "$(sqlite3 state/dagrun.db "SELECT status FROM node_runs WHERE node = 'gru' ORDER BY id DESC LIMIT 1")" = failed ]

run_dagrun help train.lstm
expect "help train.lstm documents residual" contains "$OUT" "residual"

if ! "$PY" -c 'import numpy, pandas' 2>/dev/null; then
	ok "numerical checks (skipped: no numpy and pandas in $PY)"
	finish
	exit $?
fi
check() { "$PY" - "$@" <<'PY'
import json, struct, sys
import numpy as np, pandas as pd
what = sys.argv[1]
def meta(node):
    buf = open(f"got/{node}/model.safetensors", "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    return json.loads(buf[8:8 + n]).get("__metadata__", {})
def rmse(node):
    return json.load(open(f"got/{node}/metrics.json"))["rmse"]
if what == "meta":
    pre = json.load(open("got/features/meta.json"))
    r, p = meta("gru_res"), meta("gru_plain")
    print(r.get("residual_index") == str(pre["target_index"]),
          r.get("residual_scale") == "1", r.get("residual_shift") == "0",
          not any(k.startswith("residual") for k in p))
elif what in ("gru", "lstm"):
    p = pd.read_csv(f"got/infer_{what}/predictions.csv", float_precision="round_trip")
    p.index = pd.to_datetime(p.timestamp).astype("int64") // 10**9
    T = np.load("got/features/T_test.npy")
    P = np.load(f"got/{what}_res/predictions.npy")
    got = p.loc[T, ["yhat"]].to_numpy().astype(np.float32)
    print(got.shape == P.shape and bool((got == P).all()))
elif what == "beats":
    res, plain, pers = rmse("gru_res"), rmse("gru_plain"), rmse("persistence")
    print(f"residual {res:.4f}, plain {plain:.4f}, persistence {pers:.4f}", file=sys.stderr)
    print(res < plain and res < 1.2 * pers and plain > 1.2 * pers)
PY
}
expect "the skip is in the metadata (target_index, 1, 0: one scaler), and only with residual" \
	[ "$(check meta)" = "True True True True" ]
expect "GRU: infer.batch predicts the test windows bit for bit as the trainer" [ "$(check gru)" = True ]
expect "LSTM (2 threads): the same" [ "$(check lstm)" = True ]
expect "residual GRU beats its non-residual twin and lands near persistence" [ "$(check beats)" = True ]
finish
