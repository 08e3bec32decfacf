#!/bin/sh
# Parity with PyTorch: train.tcn through the real binary from the weights
# it dumps (save_init), and the same network in PyTorch from those
# weights, 20 steps each (4 batches in order x 5 epochs, no dropout, no
# shuffle): every epoch's training and validation loss must agree within
# 1e-4 relative (tests/parity/tcn.py).  Adam; a stack with 1x1 residuals
# and a dilation past the window's start under SGD with weight decay and
# clipping; Adam with weight decay on 2 OpenBLAS threads.
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
mkdir -p windows pipelines
"$PY" "$ROOT/tests/parity/rnn_torch.py" gen windows || exit 3
cat > pipelines/parity.yaml <<'YAML'
pipeline: parity
nodes:
  windows:
    cmd: "cp windows/* $DAGRUN_OUT/"
    deps: [windows/X_train.npy, windows/Y_train.npy, windows/meta.json]
  tcn_adam:
    task: train.tcn
    needs: [windows]
    params: {channels: [8, 8], kernel_size: 3, batch_size: 64, epochs: 5,
             learning_rate: 0.01, shuffle: false, save_init: true, threads: 1}
  tcn_sgd:
    task: train.tcn
    needs: [windows]
    params: {channels: [6, 4, 4], kernel_size: 2, batch_size: 64, epochs: 5,
             learning_rate: 0.05, optimizer: sgd, weight_decay: 0.01,
             clip_norm: 0.5, shuffle: false, save_init: true, threads: 1}
  tcn_decay:
    task: train.tcn
    needs: [windows]
    params: {channels: [16, 16, 8], kernel_size: 3, batch_size: 64, epochs: 5,
             learning_rate: 0.005, weight_decay: 0.001, clip_norm: 1.0,
             shuffle: false, save_init: true, threads: 2}
  export:
    needs: [tcn_adam, tcn_sgd, tcn_decay]
    cmd: "rm -rf got && for n in tcn_adam tcn_sgd tcn_decay; do mkdir -p got/$n && cp $DAGRUN_IN/$n/* got/$n/; done && echo ok > $DAGRUN_OUT/done"
YAML
git add -A && git commit -qm parity
run_dagrun pipelines/parity.yaml
expect "the networks train (exit 0)" [ "$RC" -eq 0 ]
# node | batch epochs lr [optimizer weight_decay clip_norm]
while read -r node args; do
	if "$PY" "$ROOT/tests/parity/tcn.py" check $node got/$node windows \
		state/dagrun.db $args >"$WORK/$node.txt" 2>&1; then
		ok "$node: losses agree with PyTorch within 1e-4 relative"
	else
		fail "$node: losses agree with PyTorch within 1e-4 relative" "$(cat "$WORK/$node.txt")"
	fi
	cat "$WORK/$node.txt"
done <<'LIST'
tcn_adam 64 5 0.01
tcn_sgd 64 5 0.05 sgd 0.01 0.5
tcn_decay 64 5 0.005 adam 0.001 1.0
LIST
finish
