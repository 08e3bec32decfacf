#!/bin/sh
# Parity with PyTorch: train.encoder_lstm through the real binary from the
# weights it dumps (save_init), and the same encoder-decoder in PyTorch
# from those weights, 20 steps each (4 batches in order x 5 epochs, no
# dropout, no shuffle, no teacher forcing: the gradient flows through the
# fed-back predictions): every epoch's training and validation loss must
# agree within 1e-4 relative (tests/parity/seq2seq.py).  The decoder
# starts from 0 (the target is not a feature) and from a feature's last
# value (target_index 2).
# Skipped, as one passing check, where /usr/bin/python3 cannot import torch.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "skipped: no torch (apt-get install python3-torch)"
	ok "parity with PyTorch (skipped: no torch)"
	finish
	exit 0
fi
export OPENBLAS_NUM_THREADS=1
new_project
mkdir -p windows windows_t pipelines
"$PY" "$ROOT/tests/parity/rnn_torch.py" gen windows || exit 3
cp windows/* windows_t/
jq '.target_index = 2' windows/meta.json > windows_t/meta.json
cat > pipelines/parity.yaml <<'YAML'
pipeline: parity
nodes:
  windows:
    cmd: "cp windows/* $DAGRUN_OUT/"
    deps: [windows/X_train.npy, windows/Y_train.npy, windows/meta.json]
  windows_t:
    cmd: "cp windows_t/* $DAGRUN_OUT/"
    deps: [windows_t/X_train.npy, windows_t/Y_train.npy, windows_t/meta.json]
  s2s_zero:
    task: train.encoder_lstm
    needs: [windows]
    params: {num_layers: 1, hidden_size: 12, batch_size: 64, epochs: 5,
             learning_rate: 0.01, shuffle: false, save_init: true, threads: 1}
  s2s_stack:
    task: train.encoder_lstm
    needs: [windows_t]
    params: {num_layers: 2, hidden_size: 8, batch_size: 64, epochs: 5,
             learning_rate: 0.01, weight_decay: 0.001, clip_norm: 1.0,
             shuffle: false, save_init: true, threads: 1}
  s2s_sgd:
    task: train.encoder_lstm
    needs: [windows_t]
    params: {num_layers: 1, hidden_size: 10, batch_size: 64, epochs: 5,
             learning_rate: 0.3, optimizer: sgd, clip_norm: 0.5,
             shuffle: false, save_init: true, threads: 1}
  export:
    needs: [s2s_zero, s2s_stack, s2s_sgd]
    cmd: "rm -rf got && for n in s2s_zero s2s_stack s2s_sgd; do mkdir -p got/$n && cp $DAGRUN_IN/$n/* got/$n/; done && echo ok > $DAGRUN_OUT/done"
YAML
git add -A && git commit -qm parity
run_dagrun pipelines/parity.yaml
expect "the encoder-decoders train (exit 0)" [ "$RC" -eq 0 ]
# node data | batch epochs lr [optimizer weight_decay clip_norm]
while read -r node data args; do
	if "$PY" "$ROOT/tests/parity/seq2seq.py" check $node got/$node $data \
		state/dagrun.db $args >"$WORK/$node.txt" 2>&1; then
		ok "$node: losses agree with PyTorch within 1e-4 relative"
	else
		fail "$node: losses agree with PyTorch within 1e-4 relative" "$(cat "$WORK/$node.txt")"
	fi
	cat "$WORK/$node.txt"
done <<'LIST'
s2s_zero windows 64 5 0.01
s2s_stack windows_t 64 5 0.01 adam 0.001 1.0
s2s_sgd windows_t 64 5 0.3 sgd 0 0.5
LIST
finish
