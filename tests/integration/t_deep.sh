#!/bin/sh
# train.tcn and train.encoder_lstm through the real binary on ETTh1
# (examples/data) loaded and windowed by data.load and data.preprocess:
# outputs, formats, state metrics, a forced rerun byte-identical, bad
# params refused (exit 2).  Then transfer learning: init_from + freeze
# keeps the frozen tensors byte for byte the parent's and changes the
# head; freeze: [] changes everything; an architecture that differs from
# the parent's fails with exit 2, naming both shapes.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/ETTh1.csv" data/

# pipeline FILE EXTRA-NODES: the data nodes, the two deep kernels, two
# parents for transfer, and whatever EXTRA-NODES adds; 'export' copies
# every training node's outputs to got/<node>.
pipeline() {
	cat > "$1" <<YAML
pipeline: deep
nodes:
  ingest:
    task: data.load
    params: {path: data/ETTh1.csv, target: OT, timestamp: date}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [], input_seq_len: 12, output_seq_len: 3,
             sample_train_rows: 480, sample_test_rows: 160}
  tcn:
    task: train.tcn
    needs: [features]
    params: {channels: [8, 8], kernel_size: 3, dropout: 0.1, epochs: 3,
             batch_size: 32, seed: 1}
  s2s:
    task: train.encoder_lstm
    needs: [features]
    params: {num_layers: 2, hidden_size: 8, dropout: 0.1, teacher_forcing: 0.5,
             epochs: 3, batch_size: 32, seed: 2}
  base_gru:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 8, epochs: 2, batch_size: 32, seed: 3}
$2
YAML
}
# tensor FILE NAME: the sha256 of a tensor's bytes in a safetensors file
# ("missing FILE" when there is no such file: never equal to another)
tensor() {
	[ -f "$1" ] || { echo "missing $1"; return; }
	len=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	set -- "$1" "$(head -c $((8 + len)) "$1" | tail -c "$len" |
		jq -r --arg n "$2" '.[$n].data_offsets | "\(.[0]) \(.[1])"')" "$len"
	begin=${2% *}
	end=${2#* }
	tail -c +$((9 + $3 + begin)) "$1" | head -c $((end - begin)) | sha256sum | cut -d' ' -f1
}
header() { # FILE: the JSON header of a safetensors file
	len=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	head -c $((8 + len)) "$1" | tail -c "$len"
}

TRANSFER='  tuned_gru:
    task: train.gru
    needs: [features, base_gru]
    params: {num_layers: 1, hidden_size: 8, epochs: 2, batch_size: 32, seed: 4,
             learning_rate: 0.01, init_from: base_gru, freeze: [recurrent], save_init: true}
  finetune_gru:
    task: train.gru
    needs: [base_gru, features]
    params: {num_layers: 1, hidden_size: 8, epochs: 2, batch_size: 32, seed: 4,
             learning_rate: 0.01, init_from: base_gru, freeze: []}
  tcn_head:
    task: train.tcn
    needs: [features, tcn]
    params: {channels: [8, 8], kernel_size: 3, epochs: 2, batch_size: 32,
             learning_rate: 0.01, weight_decay: 0.01, init_from: tcn, freeze: [conv]}
  s2s_head:
    task: train.encoder_lstm
    needs: [features, s2s]
    params: {num_layers: 2, hidden_size: 8, epochs: 2, batch_size: 32,
             init_from: s2s, freeze: [encoder, decoder]}
  export:
    needs: [tcn, s2s, base_gru, tuned_gru, finetune_gru, tcn_head, s2s_head]
    cmd: "rm -rf got && for n in tcn s2s base_gru tuned_gru finetune_gru tcn_head s2s_head; do mkdir -p got/$n && cp $DAGRUN_IN/$n/* got/$n/; done && echo ok > $DAGRUN_OUT/done"'
pipeline pipelines/deep.yaml "$TRANSFER"
git add -A && git commit -qm init

run_dagrun pipelines/deep.yaml
expect "the deep kernels and the transfers train (exit 0)" [ "$RC" -eq 0 ]
for n in tcn s2s; do
	expect "$n: model, metrics and predictions are written" \
		[ -f got/$n/model.safetensors -a -f got/$n/metrics.json -a -f got/$n/predictions.npy ]
	expect "$n: metrics.json has the test metrics" \
		[ "$(jq -r '[has("rmse","mae","mse","r2","val_loss")] | all' got/$n/metrics.json)" = true ]
	expect "$n: three epochs ran" [ "$(jq .epochs_run got/$n/metrics.json)" = 3 ]
	expect "$n: predictions.npy is float32 [160, 3]" \
		contains "$(head -c 128 got/$n/predictions.npy)" "'descr': '<f4', 'fortran_order': False, 'shape': (160, 3)"
	expect "$n: predictions are unscaled (near OT's level)" \
		[ "$(jq '.rmse > 0.1 and .rmse < 30' got/$n/metrics.json)" = true ]
	expect "$n: metadata carries preprocess's meta.json" \
		[ "$(header got/$n/model.safetensors | jq -r '.__metadata__.meta | fromjson | .target')" = OT ]
	names=$(sqlite3 state/dagrun.db "select name, count(*) from metrics where node = '$n' group by name order by name" | tr '\n' ' ')
	expect "$n: per-epoch and final metrics are in the state" \
		[ "$names" = "epoch_seconds|3 mae|1 mse|1 r2|1 rmse|1 train_loss|3 val_loss|3 " ]
	expect "$n: a progress line per epoch in the log" \
		[ "$(grep -c 'epoch [0-9]/3 train_loss' state/logs/1/$n.log)" = 3 ]
done
expect "tcn: format, channels and receptive field in the metadata" \
	[ "$(header got/tcn/model.safetensors | jq -r '.__metadata__ | .format + " " + .channels + " " + .kernel_size + " " + .receptive_field')" = "dagrun.tcn.v1 [8,8] 3 13" ]
expect "tcn: PyTorch Conv1d names and shapes (7 features to 8 channels: a 1x1 residual)" \
	[ "$(header got/tcn/model.safetensors | jq -c '[.["blocks.0.conv1.weight"].shape, .["blocks.0.downsample.weight"].shape, .["blocks.1.conv2.weight"].shape, .["head.weight"].shape, has("blocks.1.downsample.weight")]')" = '[[8,7,3],[8,7,1],[8,8,3],[3,8],false]' ]
expect "s2s: format, horizon and the target's place in the metadata" \
	[ "$(header got/s2s/model.safetensors | jq -r '.__metadata__ | .format + " " + .output_size + " " + .target_index')" = "dagrun.encoder_lstm.v1 3 6" ]
expect "s2s: encoder over 7 features, decoder over 1 value, a head of 1" \
	[ "$(header got/s2s/model.safetensors | jq -c '[.["encoder.weight_ih_l0"].shape, .["decoder.weight_ih_l0"].shape, .["decoder.weight_hh_l1"].shape, .["head.weight"].shape]')" = '[[32,7],[32,1],[32,8],[1,8]]' ]
for n in tcn s2s; do
	for f in model.safetensors metrics.json predictions.npy; do
		cp got/$n/$f "$WORK/$n.$f"
	done
done

run_dagrun --force tcn --force s2s pipelines/deep.yaml
expect "a forced rerun trains again" [ "$RC" -eq 0 ]
for n in tcn s2s; do
	for f in model.safetensors metrics.json predictions.npy; do
		expect "$n: forced rerun, same $f bytes" cmp -s "$WORK/$n.$f" got/$n/$f
	done
done

# transfer: tuned_gru froze the GRU, finetune_gru trained everything
for t in rnn.weight_ih_l0 rnn.weight_hh_l0 rnn.bias_ih_l0 rnn.bias_hh_l0; do
	expect "freeze [recurrent]: $t is the parent's, byte for byte" \
		[ "$(tensor got/tuned_gru/model.safetensors $t)" = "$(tensor got/base_gru/model.safetensors $t)" ]
	expect "freeze []: $t trained on" \
		[ "$(tensor got/finetune_gru/model.safetensors $t)" != "$(tensor got/base_gru/model.safetensors $t)" ]
done
for t in head.weight head.bias; do
	expect "freeze [recurrent]: $t trained on" \
		[ "$(tensor got/tuned_gru/model.safetensors $t)" != "$(tensor got/base_gru/model.safetensors $t)" ]
done
expect "init_from: init.safetensors is the parent's model" \
	[ "$(tensor got/tuned_gru/init.safetensors head.weight)" = "$(tensor got/base_gru/model.safetensors head.weight)" ]
expect "init_from first in needs: data is the other need" \
	contains "$(cat state/logs/1/finetune_gru.log)" "windows of 12 x 7 from 'features'"
frozen=0
for t in $(header got/tcn/model.safetensors | jq -r 'del(.__metadata__) | keys[] | select(startswith("blocks."))'); do
	[ "$(tensor got/tcn_head/model.safetensors $t)" = "$(tensor got/tcn/model.safetensors $t)" ] &&
		frozen=$((frozen + 1))
done
expect "freeze [conv], with weight decay: all 10 block tensors are the parent's" [ "$frozen" = 10 ]
expect "freeze [conv]: the head trained on" \
	[ "$(tensor got/tcn_head/model.safetensors head.weight)" != "$(tensor got/tcn/model.safetensors head.weight)" ]
expect "freeze [encoder, decoder]: the decoder is the parent's" \
	[ "$(tensor got/s2s_head/model.safetensors decoder.weight_hh_l1)" = "$(tensor got/s2s/model.safetensors decoder.weight_hh_l1)" ]
expect "freeze [encoder, decoder]: the head trained on" \
	[ "$(tensor got/s2s_head/model.safetensors head.weight)" != "$(tensor got/s2s/model.safetensors head.weight)" ]

check_bad() { # NAME NODES MESSAGE: a pipeline with NODES must exit 2 saying MESSAGE
	pipeline pipelines/bad.yaml "$2"
	run_dagrun pipelines/bad.yaml
	expect "$1: exit 2" [ "$RC" -eq 2 ]
	expect "$1: the message says what is wrong" contains "$ERR" "$3"
}
bad_node() { # TASK PARAMS [NEEDS]
	printf '  bad:\n    task: %s\n    needs: [%s]\n    params: {%s}\n' "$1" "${3:-features}" "$2"
}
check_bad "tcn: no channels" "$(bad_node train.tcn 'channels: []')" \
	"param 'channels' of task 'train.tcn' must be a list of 1 to 16 integers from 1 to 4096"
check_bad "tcn: a channel of 0" "$(bad_node train.tcn 'channels: [8, 0]')" \
	"param 'channels' of task 'train.tcn' must be a list of 1 to 16 integers from 1 to 4096"
check_bad "tcn: kernel_size 0" "$(bad_node train.tcn 'kernel_size: 0')" \
	"param 'kernel_size' of task 'train.tcn' must be between 1 and 64"
check_bad "tcn: freeze a part it lacks" "$(bad_node train.tcn 'freeze: [recurrent]')" \
	"param 'freeze': item 1 is not a part of this model (expected a list of: conv)"
check_bad "encoder_lstm: teacher_forcing 2" "$(bad_node train.encoder_lstm 'teacher_forcing: 2')" \
	"param 'teacher_forcing' of task 'train.encoder_lstm' must be between 0 and 1"
check_bad "encoder_lstm: unknown param" "$(bad_node train.encoder_lstm 'layers: 2')" \
	"unknown param 'layers' for task 'train.encoder_lstm'"
check_bad "encoder_lstm: freeze the decoder alone" "$(bad_node train.encoder_lstm 'freeze: [decoder]')" \
	"param 'freeze': 'encoder.weight_ih_l0' would train while 'decoder.weight_ih_l0' after it is frozen"
check_bad "init_from a node not needed" "$(bad_node train.gru 'init_from: tcn')" \
	"param 'init_from' names 'tcn', which this node does not need"
check_bad "gru from a wider gru: both shapes named" \
	"$(bad_node train.gru 'num_layers: 1, hidden_size: 16, init_from: base_gru' 'features, base_gru')" \
	"param 'init_from': tensor 'rnn.weight_ih_l0' is [24, 7] in the model of 'base_gru' but [48, 7] in this node (expected the same architecture)"
check_bad "lstm from a gru: both shapes named" \
	"$(bad_node train.lstm 'num_layers: 1, hidden_size: 8, init_from: base_gru' 'features, base_gru')" \
	"tensor 'rnn.weight_ih_l0' is [24, 7] in the model of 'base_gru' but [32, 7] in this node"
check_bad "tcn of another kernel_size: both shapes named" \
	"$(bad_node train.tcn 'channels: [8, 8], kernel_size: 2, init_from: tcn' 'features, tcn')" \
	"tensor 'blocks.0.conv1.weight' is [8, 7, 3] in the model of 'tcn' but [8, 7, 2] in this node"
check_bad "tcn from a gru: another format" \
	"$(bad_node train.tcn 'init_from: base_gru' 'features, base_gru')" \
	"param 'init_from': the model of 'base_gru' is a 'dagrun.rnn.v1' model (expected 'dagrun.tcn.v1')"
check_bad "init_from a node without a model" \
	"$(bad_node train.gru 'init_from: ingest' 'features, ingest')" \
	"param 'init_from': 'ingest' has no model.safetensors"
finish
