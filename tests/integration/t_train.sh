#!/bin/sh
# train.gru and train.lstm through the real binary, on a small series
# loaded and windowed by data.load and data.preprocess: the outputs and
# their formats, the metrics in the state, caching, byte-identical
# retraining, and bad params refused before anything runs (exit 2).
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines

# 600 hourly rows of two inputs and a target that follows them.
awk 'BEGIN { print "timestamp,a,b,OT";
	for (i = 0; i < 600; i++) {
		a = sin(i * 0.21); b = cos(i * 0.07) + 0.1 * sin(i * 1.3);
		printf "2024-01-%02d %02d:00:00,%.6f,%.6f,%.6f\n", 1 + int(i / 24), i % 24,
			a, b, 10 + 3 * a + 2 * b + 0.2 * sin(i * 2.9) }
}' > data/series.csv

# pipeline FILE 'GRU PARAMS' ['LSTM PARAMS']
pipeline() {
	cat > "$1" <<YAML
pipeline: train
nodes:
  ingest:
    task: data.load
    params: {path: data/series.csv, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [], input_seq_len: 8, output_seq_len: 2}
  train_gru:
    task: train.gru
    needs: [features]
    params: {$2}
  train_lstm:
    task: train.lstm
    needs: [features]
    params: {${3:-$2}}
  export:
    needs: [train_gru, train_lstm]
    cmd: "rm -rf got && mkdir -p got/gru got/lstm && cp \$DAGRUN_IN/train_gru/* got/gru/ && cp \$DAGRUN_IN/train_lstm/* got/lstm/ && echo ok > \$DAGRUN_OUT/done"
YAML
}
SMALL="num_layers: 2, hidden_size: 8, batch_size: 32, seed: 5"
pipeline pipelines/train.yaml "$SMALL, epochs: 3" "$SMALL, epochs: 3, dropout: 0.2, threads: 2"
git add -A && git commit -qm init

run_dagrun pipelines/train.yaml
expect "GRU and LSTM train (exit 0)" [ "$RC" -eq 0 ]
for c in gru lstm; do
	expect "$c: model, metrics and predictions are written" \
		[ -f got/$c/model.safetensors -a -f got/$c/metrics.json -a -f got/$c/predictions.npy ]
	expect "$c: no init.safetensors unless asked" [ ! -e got/$c/init.safetensors ]
	expect "$c: metrics.json has the test metrics" \
		[ "$(jq -r '[has("rmse","mae","mse","r2","val_loss")] | all' got/$c/metrics.json)" = true ]
	expect "$c: three epochs ran" [ "$(jq .epochs_run got/$c/metrics.json)" = 3 ]
	# the safetensors header: 8-byte length, then JSON
	len=$(od -An -tu8 -N8 got/$c/model.safetensors | tr -d ' ')
	tail -c +9 got/$c/model.safetensors | head -c "$len" > "$WORK/$c.header"
	expect "$c: metadata names the format and cell" \
		[ "$(jq -r '.__metadata__ | .format + " " + .cell + " " + .num_layers + " " + .hidden_size + " " + .input_seq_len' "$WORK/$c.header")" = "dagrun.rnn.v1 $c 2 8 8" ]
	expect "$c: metadata carries preprocess's meta.json" \
		[ "$(jq -r '.__metadata__.meta | fromjson | .target' "$WORK/$c.header")" = OT ]
	expect "$c: tensors have PyTorch's names" \
		[ "$(jq -r 'del(.__metadata__) | keys | join(" ")' "$WORK/$c.header")" = \
		  "head.bias head.weight rnn.bias_hh_l0 rnn.bias_hh_l1 rnn.bias_ih_l0 rnn.bias_ih_l1 rnn.weight_hh_l0 rnn.weight_hh_l1 rnn.weight_ih_l0 rnn.weight_ih_l1" ]
	expect "$c: predictions.npy is float32 [n_test, 2]" \
		contains "$(head -c 128 got/$c/predictions.npy)" "'descr': '<f4', 'fortran_order': False, 'shape': ("
	expect "$c: predictions are unscaled (near the target's level of 10)" \
		[ "$(jq '.rmse < 5' got/$c/metrics.json)" = true ]
done
expect "LSTM weights: 4 gates x 8 rows, 3 features (a, b, OT)" \
	[ "$(jq -c '.["rnn.weight_ih_l0"].shape' "$WORK/lstm.header")" = "[32,3]" ]
expect "GRU weights: 3 gates x 8 rows" \
	[ "$(jq -c '.["rnn.weight_hh_l1"].shape' "$WORK/gru.header")" = "[24,8]" ]
names=$(sqlite3 state/dagrun.db "select distinct name from metrics where node = 'train_gru' order by name" | tr '\n' ' ')
expect "per-epoch and final metrics are in the state" \
	[ "$names" = "epoch_seconds mae mse r2 rmse train_loss val_loss " ]
expect "train_loss has one value per epoch" \
	[ "$(sqlite3 state/dagrun.db "select count(*) from metrics where node = 'train_lstm' and name = 'train_loss'")" = 3 ]
expect "a progress line per epoch in the log" \
	[ "$(grep -c 'epoch [0-9]/3 train_loss' state/logs/1/train_gru.log)" = 3 ]
cp got/gru/model.safetensors "$WORK/gru1" && cp got/lstm/model.safetensors "$WORK/lstm1"

run_dagrun pipelines/train.yaml
expect "an unchanged rerun is cached" contains "$ERR" "0 ran, 5 cached"
run_dagrun --salt again pipelines/train.yaml
expect "a salted rerun trains again" [ "$RC" -eq 0 ]
expect "GRU: same seed, same bytes" cmp -s "$WORK/gru1" got/gru/model.safetensors
expect "LSTM on 2 threads with dropout: same seed, same bytes" cmp -s "$WORK/lstm1" got/lstm/model.safetensors

pipeline pipelines/stop.yaml "$SMALL, epochs: 40, patience: 2, learning_rate: 0.05, save_init: true" \
	"$SMALL, epochs: 3, input_seq_len: 8, optimizer: sgd, clip_norm: 1, weight_decay: 0.01"
git add -A && git commit -qm stop
run_dagrun pipelines/stop.yaml
expect "early stopping, sgd, clipping (exit 0)" [ "$RC" -eq 0 ]
ran=$(jq .epochs_run got/gru/metrics.json)
best=$(jq .best_epoch got/gru/metrics.json)
expect "patience: training ends at most 2 epochs after the best" \
	[ "$ran" -le 40 -a $((ran - best)) -le 2 ]
expect "save_init writes init.safetensors" [ -f got/gru/init.safetensors ]

check_bad() { # NAME PARAMS MESSAGE
	pipeline pipelines/bad.yaml "$2"
	run_dagrun pipelines/bad.yaml
	expect "$1: exit 2" [ "$RC" -eq 2 ]
	expect "$1: the message says what is wrong" contains "$ERR" "$3"
}
check_bad "hidden_size 0" "hidden_size: 0" "param 'hidden_size' of task 'train.gru' must be between 1 and 4096"
check_bad "unknown optimizer" "optimizer: rmsprop" "must be one of adam|sgd, found 'rmsprop'"
check_bad "dropout 1" "dropout: 1" "param 'dropout' of task 'train.gru' must be between 0 and 0.9"
check_bad "unknown param" "layers: 2" "unknown param 'layers' for task 'train.gru'"
check_bad "a string for a number" "learning_rate: fast" "param 'learning_rate' of task 'train.gru' must be a number"
pipeline pipelines/bad.yaml "$SMALL, input_seq_len: 5"
run_dagrun pipelines/bad.yaml
expect "input_seq_len that disagrees with the data fails the node" contains "$ERR" "FAILED  train_gru"
expect "... and says why" contains "$ERR" \
	"error: param 'input_seq_len' is 5 but the windows of 'features' are 8 steps long"
finish
