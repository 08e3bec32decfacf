#!/bin/sh
# Parity with PyTorch: train.gru and train.lstm through the real binary
# from weights they dump (save_init), and the same models in PyTorch from
# those weights, 20 steps each (4 batches in order x 5 epochs, no dropout,
# no shuffle): every epoch's training and validation loss must agree
# within 1e-4 relative (tests/parity/rnn_torch.py).  Plain Adam for both
# cells, then SGD and Adam with weight decay and gradient clipping; then
# both cells with residual: true on windows whose target is a feature
# scaled otherwise than Y (so the skip converts units).
# Skipped, as one passing check, where /usr/bin/python3 cannot import torch.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "skipped: no torch (apt-get install python3-torch)"
	ok "parity with PyTorch (skipped: no torch)"
	finish
	exit 0
fi
new_project
mkdir -p windows rwindows pipelines
"$PY" "$ROOT/tests/parity/rnn_torch.py" gen windows || exit 3
"$PY" "$ROOT/tests/parity/rnn_torch.py" gen-residual rwindows || exit 3
cat > pipelines/parity.yaml <<'YAML'
pipeline: parity
nodes:
  windows:
    cmd: "cp windows/* $DAGRUN_OUT/"
    deps: [windows/X_train.npy, windows/Y_train.npy, windows/meta.json]
  train_gru:
    task: train.gru
    needs: [windows]
    params: {num_layers: 2, hidden_size: 16, batch_size: 64, epochs: 5,
             learning_rate: 0.01, shuffle: false, save_init: true, threads: 1}
  train_lstm:
    task: train.lstm
    needs: [windows]
    params: {num_layers: 2, hidden_size: 16, batch_size: 64, epochs: 5,
             learning_rate: 0.01, shuffle: false, save_init: true, threads: 1}
  gru_sgd:
    task: train.gru
    needs: [windows]
    params: {num_layers: 1, hidden_size: 12, batch_size: 64, epochs: 5,
             learning_rate: 0.05, optimizer: sgd, weight_decay: 0.01,
             clip_norm: 0.5, shuffle: false, save_init: true, threads: 1}
  lstm_decay:
    task: train.lstm
    needs: [windows]
    params: {num_layers: 3, hidden_size: 8, batch_size: 64, epochs: 5,
             learning_rate: 0.01, weight_decay: 0.001, clip_norm: 1.0,
             shuffle: false, save_init: true, threads: 1}
  rwindows:
    cmd: "cp rwindows/* $DAGRUN_OUT/"
    deps: [rwindows/X_train.npy, rwindows/Y_train.npy, rwindows/meta.json]
  gru_residual:
    task: train.gru
    needs: [rwindows]
    params: {num_layers: 2, hidden_size: 16, batch_size: 64, epochs: 5, residual: true,
             learning_rate: 0.01, shuffle: false, save_init: true, threads: 1}
  lstm_residual:
    task: train.lstm
    needs: [rwindows]
    params: {num_layers: 1, hidden_size: 12, batch_size: 64, epochs: 5, residual: true,
             learning_rate: 0.01, clip_norm: 1.0, shuffle: false, save_init: true, threads: 1}
  export:
    needs: [train_gru, train_lstm, gru_sgd, lstm_decay, gru_residual, lstm_residual]
    cmd: "rm -rf got && for n in train_gru train_lstm gru_sgd lstm_decay gru_residual lstm_residual; do mkdir -p got/$n && cp $DAGRUN_IN/$n/* got/$n/; done && echo ok > $DAGRUN_OUT/done"
YAML
git add -A && git commit -qm parity
run_dagrun pipelines/parity.yaml
expect "the models train (exit 0)" [ "$RC" -eq 0 ]
# node data | cell layers hidden batch epochs lr [optimizer weight_decay clip_norm]
while read -r node data args; do
	if "$PY" "$ROOT/tests/parity/rnn_torch.py" check ${args%% *} $node got/$node \
		$data state/dagrun.db ${args#* } >"$WORK/$node.txt" 2>&1; then
		ok "$node: losses agree with PyTorch within 1e-4 relative"
	else
		fail "$node: losses agree with PyTorch within 1e-4 relative" "$(cat "$WORK/$node.txt")"
	fi
	cat "$WORK/$node.txt"
done <<'EOF'
train_gru windows gru 2 16 64 5 0.01
train_lstm windows lstm 2 16 64 5 0.01
gru_sgd windows gru 1 12 64 5 0.05 sgd 0.01 0.5
lstm_decay windows lstm 3 8 64 5 0.01 adam 0.001 1.0
gru_residual rwindows gru 2 16 64 5 0.01
lstm_residual rwindows lstm 1 12 64 5 0.01 adam 0 1.0
EOF
finish
