#!/bin/sh
# infer.batch through the real binary: models trained here (LSTM, GRU,
# Prophet), a baseline model.json and an eval.promote-shaped folder,
# applied to the training table (a data.load node) and to the training CSV
# itself (param 'csv').  The predictions of the training file's test
# windows must equal the train node's predictions.npy bit for bit (so the
# stored preprocessing, with time features, lags, rolling statistics,
# returns, RSI and MACD, the fitted scaler and the windows, is applied
# exactly, and the forward pass does not depend on the batch or the thread
# count); Prophet's yhat must equal its forecast.npy on the same times; a
# persistence baseline forecasts the last value.  Bad input (too few rows,
# a missing column, garbage, a missing value, times out of order, a
# missing model) fails the node with exit 2 and a message naming it.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
new_project
mkdir -p data pipelines

# 600 hourly rows of two inputs and a target that follows them.
awk 'BEGIN { print "timestamp,a,b,OT";
	for (i = 0; i < 600; i++) {
		a = sin(i * 0.21); b = cos(i * 0.07) + 0.1 * sin(i * 1.3);
		printf "2024-01-%02d %02d:00:00,%.6f,%.6f,%.6f\n", 1 + int(i / 24), i % 24,
			a, b, 10 + 3 * a + 2 * b + 0.2 * sin(i * 2.9) }
}' > data/series.csv

NODES="infer_lstm infer_gru_csv infer_prophet infer_base infer_seasonal infer_promoted train_lstm train_gru train_prophet seasonal features"
# The nodes of both pipelines: the table, its windows (every kind of
# derived column), a GRU, a Prophet model and a persistence baseline
# written as model.json by hand, in the format forecaster.h documents.
models() {
	cat <<YAML
  ingest:
    task: data.load
    params: {path: data/series.csv, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [min_of_day, day_of_week], lags: [1, 3],
             rolling: [4], returns: true, rsi: true, macd: true,
             input_seq_len: 8, output_seq_len: 2}
  train_gru:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 6, batch_size: 16, epochs: 2, seed: 4, threads: 2}
  train_prophet:
    task: train.prophet
    needs: [ingest]
    params: {uncertainty_samples: 50, test_fraction: 0.1, country: null}
  persistence:
    needs: [features]
    cmd: >-
      jq '{type: "baseline", method: "persistence", season: null, mean: null,
      target: .target, input_seq_len: .input_seq_len, output_seq_len: .output_seq_len,
      meta: .}' \$DAGRUN_IN/features/meta.json > \$DAGRUN_OUT/model.json
YAML
}
{
	printf 'pipeline: infer\nnodes:\n'
	models
	cat <<YAML
  train_lstm:
    task: train.lstm
    needs: [features]
    params: {num_layers: 2, hidden_size: 8, batch_size: 32, epochs: 2, seed: 3}
  seasonal:
    task: baseline.seasonal_naive
    needs: [features, ingest]
    params: {season: 24}
  promoted:
    needs: [train_lstm]
    cmd: >-
      mkdir \$DAGRUN_OUT/model && cp \$DAGRUN_IN/train_lstm/* \$DAGRUN_OUT/model/ &&
      echo '{"winner": "train_lstm"}' > \$DAGRUN_OUT/promotion.json
  infer_lstm:
    task: infer.batch
    needs: [train_lstm, ingest]
    params: {threads: 2}
  infer_gru_csv:
    task: infer.batch
    needs: [train_gru]
    params: {csv: data/series.csv}
  infer_prophet:
    task: infer.batch
    needs: [ingest, train_prophet]
  infer_base:
    task: infer.batch
    needs: [persistence, ingest]
  infer_seasonal:
    task: infer.batch
    needs: [seasonal, ingest]
  infer_promoted:
    task: infer.batch
    needs: [ingest, promoted]
    params: {model: promoted, data: ingest}
  export:
    needs: [$(echo $NODES | tr ' ' ',')]
    cmd: "rm -rf got && for n in $NODES; do mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/*.* got/\$n/; done && echo ok > \$DAGRUN_OUT/done"
YAML
} > pipelines/p.yaml
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "models train and infer.batch runs on each (exit 0)" [ "$RC" -eq 0 ]
expect "predictions.csv and metrics.json are written" \
	[ -f got/infer_lstm/predictions.csv -a -f got/infer_lstm/metrics.json ]
expect "a horizon of 2: yhat_1, yhat_2 and the actuals y_1, y_2" \
	[ "$(head -n 1 got/infer_lstm/predictions.csv)" = "timestamp,yhat_1,yhat_2,y_1,y_2" ]
expect "Prophet adds its interval" \
	[ "$(head -n 1 got/infer_prophet/predictions.csv)" = "timestamp,yhat,yhat_lower,yhat_upper,y" ]
# 600 rows - 14 warm-up rows (RSI 14) = 586; 586 - 8 - 2 + 1 windows + the forecast
expect "every window and the forecast past the end: 578 rows" \
	[ "$(($(wc -l < got/infer_lstm/predictions.csv) - 1))" = 578 ]
expect "the first window's time: row 14 + 8" \
	[ "$(sed -n 2p got/infer_lstm/predictions.csv | cut -d, -f1)" = 2024-01-01T22:00:00Z ]
expect "the forecast is one step past the last row (2024-01-25 23:00)" \
	contains "$(tail -n 1 got/infer_lstm/predictions.csv)" "2024-01-26T00:00:00Z,"
expect "... and its actuals are empty" [ "$(tail -n 1 got/infer_lstm/predictions.csv | cut -d, -f4-)" = "," ]
expect "metrics.json scores the 577 windows with actuals" \
	[ "$(jq -c '[.rows, .predictions, (.rmse > 0), (.mae > 0), (.mse > 0)]' got/infer_lstm/metrics.json)" = '[577,578,true,true,true]' ]
names=$(sqlite3 state/dagrun.db "select group_concat(name) from (select distinct name from metrics where node = 'infer_lstm' order by name)")
expect "the metrics are in the state" [ "$names" = "mae,mse,predictions,rmse" ]
expect "the log says what was predicted" \
	contains "$(cat state/logs/1/infer_lstm.log)" "lstm model of 'train_lstm' on 'ingest': 600 rows, 577 windows and the forecast for 2024-01-26T00:00:00Z"
expect "a promoted model (promotion.json + model/) predicts as the model itself, on 1 thread as on 2" \
	cmp -s got/infer_promoted/predictions.csv got/infer_lstm/predictions.csv

if "$PY" -c 'import numpy, pandas' 2>/dev/null; then
	check() { "$PY" - "$@" <<'PY'
import sys, numpy as np, pandas as pd
what = sys.argv[1]
def load(node):
    p = pd.read_csv(f"got/{node}/predictions.csv", float_precision="round_trip")
    p.index = pd.to_datetime(p.timestamp).astype("int64") // 10**9
    return p
src = pd.read_csv("data/series.csv", float_precision="round_trip")
src.index = pd.to_datetime(src.timestamp).astype("int64") // 10**9
if what in ("lstm", "gru_csv"):
    node = "infer_" + what
    p = load(node)
    T = np.load("got/features/T_test.npy")
    P = np.load(f"got/train_{what.split('_')[0]}/predictions.npy")
    got = p.loc[T, ["yhat_1", "yhat_2"]].to_numpy().astype(np.float32)
    print(got.shape == P.shape and bool((got == P).all()))
elif what == "actuals":
    p = load("infer_lstm").iloc[:-1]
    ok = (p.y_1.to_numpy() == src.loc[p.index, "OT"].to_numpy()).all()
    print(bool(ok and (np.diff(p.index) == 3600).all()))
elif what == "prophet":
    p = load("infer_prophet")
    T = np.load("got/train_prophet/T_test.npy"); F = np.load("got/train_prophet/forecast.npy")
    same = bool((p.loc[T, "yhat"].to_numpy() == F[:, 0]).all())
    inside = bool(((p.yhat_lower <= p.yhat) & (p.yhat <= p.yhat_upper)).all())
    print(same, inside, len(p) == 601, p.index[-1] - src.index[-1] == 3600)
elif what == "persistence":
    p = load("infer_base")
    # the last input of each window: rows 21 .. 597, then 599 (the forecast)
    prev = np.append(src.OT.to_numpy()[14 + 8 - 1:598], src.OT.iloc[-1])
    ok = (p.yhat_1.to_numpy() == prev).all() and (p.yhat_2.to_numpy() == prev).all()
    print(bool(ok), p.yhat_1.iloc[-1] == src.OT.iloc[-1])
elif what == "seasonal":
    p = load("infer_seasonal")
    T = np.load("got/features/T_test.npy"); P = np.load("got/seasonal/predictions.npy")
    got = p.loc[T, ["yhat_1", "yhat_2"]].to_numpy()
    # baseline.seasonal_naive reads the float32 target preprocess stored
    print(got.shape == P.shape and bool(np.allclose(got, P, rtol=1e-6, atol=0)),
          # the first window with a season behind it: its first step is row 24
          p.index[0] == src.index[24] and p.yhat_1.iloc[0] == src.OT.iloc[0])
PY
	}
	expect "LSTM: the test windows' predictions equal predictions.npy bit for bit" [ "$(check lstm)" = True ]
	expect "GRU through the CSV: the test windows' predictions equal predictions.npy" [ "$(check gru_csv)" = True ]
	expect "the actuals are the target of the predicted step" [ "$(check actuals)" = True ]
	expect "Prophet: yhat equals forecast.npy on its test times; lower <= yhat <= upper; 600 rows + 1" \
		[ "$(check prophet)" = "True True True True" ]
	expect "persistence: every step is the last input; the forecast is the last value" \
		[ "$(check persistence)" = "True True" ]
	expect "seasonal naive (24 rows) agrees with baseline.seasonal_naive's predictions.npy" \
		[ "$(check seasonal)" = "True True" ]
else
	ok "numerical checks (skipped: no numpy and pandas in $PY)"
fi

run_dagrun pipelines/p.yaml
expect "an unchanged rerun is cached" contains "$ERR" "0 ran,"

# Bad input: the node fails, the run exits 2, the message names the problem.
head -n 20 data/series.csv > data/short.csv
cut -d, -f1,2,4 data/series.csv > data/nocol.csv
awk -F, -v OFS=, 'NR == 30 { $2 = "abc" } { print }' data/series.csv > data/garbage.csv
awk -F, -v OFS=, 'NR == 40 { $4 = "" } { print }' data/series.csv > data/hole.csv
awk 'NR == 50 { held = $0; next } NR == 51 { print; print held; next } { print }' data/series.csv > data/unsorted.csv
head -n 2 data/series.csv > data/one.csv
cat > bad.txt <<'EOF'
train_gru|csv: data/short.csv|data/short.csv: 19 rows, fewer than the 24 the model needs (input_seq_len 8 + output_seq_len 2 + 14 warm-up rows
train_gru|csv: data/nocol.csv|data/nocol.csv:1:1: no column 'b' (the gru model reads a, b, OT)
train_gru|csv: data/garbage.csv|data/garbage.csv:30:21: expected a number in column 'a', found 'abc'
train_gru|csv: data/hole.csv|data/hole.csv:40:
train_gru|csv: data/hole.csv|missing value in column 'OT'
train_gru|csv: data/unsorted.csv|data/unsorted.csv:51:1: time 2024-01-03T00:00:00Z is not after 2024-01-03T01:00:00Z
train_prophet|csv: data/one.csv|data/one.csv: 1 rows, fewer than the 2 a forecast needs
persistence|csv: data/nocol.csv, timestamp: when|data/nocol.csv:1:1: no time column 'when'
train_gru|model: nosuch, csv: data/series.csv|param 'model' of task 'infer.batch' names 'nosuch', which node 'infer' does not need
train_gru|csv: data/series.csv, data: ingest|expected one source of data, found both
ingest|csv: data/series.csv|node 'infer': no need holds a model
EOF
while IFS='|' read -r need params what; do
	{
		printf 'pipeline: bad\nnodes:\n'
		models
		cat <<YAML
  infer:
    task: infer.batch
    needs: [$need, ingest]
    params: {$params}
YAML
	} > pipelines/bad.yaml
	git add -A >/dev/null && git commit -qm bad >/dev/null
	run_dagrun pipelines/bad.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$params: exit 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "FAILED  infer" || ! contains "$ERR" "$what"; then
		fail "$params: the node fails saying: $what" "err=[$ERR]"
	else
		ok "$params: exit 2, $what"
	fi
done < bad.txt

# --- train.tcn and train.encoder_lstm on a slice of ETTh1 (examples/data),
# each applied by infer.batch to the data.load node on 2 threads and to the
# CSV file itself on 1.  Their trainers predict in batches through OpenBLAS,
# whose rounding of a window depends on the batch around it; the
# forecaster's products are its own and batch-independent (tcn_infer(),
# seq2seq_infer()), so the test windows' predictions equal predictions.npy
# within 1e-5 relative, not to the bit, and the two infer.batch runs agree
# to the bit.  A truncated model file, one whose metadata disagrees with
# its tensors' shapes and one of an unknown format fail the node with
# exit 2, naming the file and what is wrong.
head -n 721 "$ROOT/examples/data/ETTh1.csv" > data/ett.csv
# set_meta.sh IN OUT KEY VALUE: IN with its metadata KEY set to VALUE, the
# header rewritten (padded with spaces to 8 bytes) and the data kept
cat > set_meta.sh <<'SH'
len=$(od -An -tu8 -N8 "$1" | tr -d ' ')
head -c $((8 + len)) "$1" | tail -c "$len" |
	jq -c --arg k "$3" --arg v "$4" '.__metadata__[$k] = $v' | tr -d '\n' > "$2.h"
n=$(wc -c < "$2.h")
while [ $((n % 8)) -ne 0 ]; do printf ' ' >> "$2.h"; n=$((n + 1)); done
printf "$(printf '\\%03o' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)) 0 0 0 0)" > "$2"
cat "$2.h" >> "$2" && rm "$2.h"
tail -c +$((9 + len)) "$1" >> "$2"
SH
DEEP="infer_tcn infer_tcn_csv infer_s2s infer_s2s_csv train_tcn train_s2s ett_features"
deep_models() {
	cat <<YAML
  ett:
    task: data.load
    params: {path: data/ett.csv, target: OT, timestamp: date}
  ett_features:
    task: data.preprocess
    needs: [ett]
    params: {target: OT, time_features: [min_of_day], lags: [1, 24], rolling: [6],
             input_seq_len: 12, output_seq_len: 2}
  train_tcn:
    task: train.tcn
    needs: [ett_features]
    params: {channels: [8, 6], kernel_size: 3, dropout: 0.1, epochs: 2,
             batch_size: 32, seed: 1}
  train_s2s:
    task: train.encoder_lstm
    needs: [ett_features]
    params: {num_layers: 2, hidden_size: 8, teacher_forcing: 0.5, epochs: 2,
             batch_size: 32, seed: 2}
  tcn_cut:
    needs: [train_tcn]
    cmd: head -c 6000 \$DAGRUN_IN/train_tcn/model.safetensors > \$DAGRUN_OUT/model.safetensors
  tcn_shape:
    needs: [train_tcn]
    cmd: sh set_meta.sh \$DAGRUN_IN/train_tcn/model.safetensors \$DAGRUN_OUT/model.safetensors channels '[8,5]'
  s2s_shape:
    needs: [train_s2s]
    cmd: sh set_meta.sh \$DAGRUN_IN/train_s2s/model.safetensors \$DAGRUN_OUT/model.safetensors hidden_size 6
  s2s_format:
    needs: [train_s2s]
    cmd: sh set_meta.sh \$DAGRUN_IN/train_s2s/model.safetensors \$DAGRUN_OUT/model.safetensors format dagrun.seq2seq.v2
YAML
}
{
	printf 'pipeline: deep\nnodes:\n'
	deep_models
	cat <<YAML
  infer_tcn:
    task: infer.batch
    needs: [train_tcn, ett]
    params: {threads: 2}
  infer_tcn_csv:
    task: infer.batch
    needs: [train_tcn]
    params: {csv: data/ett.csv}
  infer_s2s:
    task: infer.batch
    needs: [train_s2s, ett]
    params: {threads: 2}
  infer_s2s_csv:
    task: infer.batch
    needs: [train_s2s]
    params: {csv: data/ett.csv}
  export:
    needs: [$(echo $DEEP | tr ' ' ',')]
    cmd: "rm -rf got && for n in $DEEP; do mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/*.* got/\$n/; done && echo ok > \$DAGRUN_OUT/done"
YAML
} > pipelines/deep.yaml
git add -A && git commit -qm deep
run_dagrun pipelines/deep.yaml
expect "tcn and encoder_lstm train and infer.batch runs on each (exit 0)" [ "$RC" -eq 0 ]
for m in tcn s2s; do
	expect "$m: a horizon of 2: yhat_1, yhat_2 and the actuals" \
		[ "$(head -n 1 got/infer_$m/predictions.csv)" = "timestamp,yhat_1,yhat_2,y_1,y_2" ]
	# 720 rows - 24 warm-up rows (lag 24) = 696; 696 - 12 - 2 + 1 windows + the forecast
	expect "$m: every window and the forecast past the end: 684 rows" \
		[ "$(($(wc -l < got/infer_$m/predictions.csv) - 1))" = 684 ]
	expect "$m: the data.load node on 2 threads and the CSV on 1 give the same bytes" \
		cmp -s got/infer_$m/predictions.csv got/infer_${m}_csv/predictions.csv
done
expect "the log names the kind: tcn" \
	contains "$(cat state/logs/*/infer_tcn.log)" "tcn model of 'train_tcn' on 'ett': 720 rows, 683 windows and the forecast for 2016-07-31T00:00:00Z"
expect "the log names the kind: encoder_lstm" \
	contains "$(cat state/logs/*/infer_s2s.log)" "encoder_lstm model of 'train_s2s' on 'ett'"

if "$PY" -c 'import numpy, pandas' 2>/dev/null; then
	near() { "$PY" - "$@" <<'PY'
import sys, numpy as np, pandas as pd
node, train = sys.argv[1], sys.argv[2]
p = pd.read_csv(f"got/{node}/predictions.csv", float_precision="round_trip")
p.index = pd.to_datetime(p.timestamp).astype("int64") // 10**9
T = np.load("got/ett_features/T_test.npy")
P = np.load(f"got/{train}/predictions.npy").astype(np.float64)
got = p.loc[T, ["yhat_1", "yhat_2"]].to_numpy()
rel = np.abs(got - P) / np.abs(P)
print(got.shape == P.shape and len(P) > 50 and bool((rel <= 1e-5).all()))
print(f"{train}: max relative difference {rel.max():.2e} over {P.size} values, "
      f"{int((got.astype(np.float32) == P.astype(np.float32)).sum())} equal as float32",
      file=sys.stderr)
PY
	}
	expect "tcn: the test windows' predictions equal predictions.npy within 1e-5 relative" \
		[ "$(near infer_tcn train_tcn)" = True ]
	expect "encoder_lstm: the test windows' predictions equal predictions.npy within 1e-5 relative" \
		[ "$(near infer_s2s train_s2s)" = True ]
else
	ok "numerical checks of tcn and encoder_lstm (skipped: no numpy and pandas in $PY)"
fi

cat > bad.txt <<'EOF'
tcn_cut|tcn_cut/model.safetensors: not a valid safetensors file
tcn_shape|tcn_shape/model.safetensors: tensor 'blocks.1.conv1.weight' is F32 [6, 8, 3] (expected F32 [5, 8, 3], from the architecture in its metadata)
s2s_shape|s2s_shape/model.safetensors: tensor 'encoder.weight_ih_l0' is F32 [32, 13] (expected F32 [24, 13], from the architecture in its metadata)
s2s_format|s2s_format/model.safetensors: metadata 'format' is 'dagrun.seq2seq.v2' (expected dagrun.rnn.v1 of train.gru, train.lstm, dagrun.tcn.v1 of train.tcn or dagrun.encoder_lstm.v1 of train.encoder_lstm)
EOF
while IFS='|' read -r need what; do
	{
		printf 'pipeline: bad\nnodes:\n'
		deep_models
		cat <<YAML
  infer:
    task: infer.batch
    needs: [$need, ett]
YAML
	} > pipelines/bad.yaml
	git add -A >/dev/null && git commit -qm bad >/dev/null
	run_dagrun pipelines/bad.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$need: exit 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "FAILED  infer" || ! contains "$ERR" "$what"; then
		fail "$need: the node fails saying: $what" "err=[$ERR]"
	else
		ok "$need: exit 2, $what"
	fi
done < bad.txt
finish
