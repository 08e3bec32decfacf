#!/bin/sh
# Parity with PyTorch: train.mlp (classify and regress) and train.softmax
# through the real binary from weights they dump (save_init), and the same
# networks in PyTorch from those weights and the features, classes and
# scaling stored with them, 20 steps each (4 batches in order x 5 epochs,
# no dropout, no shuffle): every epoch's training and validation loss must
# agree within 1e-4 relative (tests/parity/mlp.py).  Adam for each, then
# SGD with tanh and integer classes, and Adam with weight decay.
# Skipped, with 'skip' lines, where /usr/bin/python3 cannot import torch.
. "$(dirname "$0")/lib.sh"
PY=${PARITY_PYTHON:-/usr/bin/python3}   # override to test the skip
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "skip parity of train.mlp and train.softmax with PyTorch: no torch (apt-get install python3-torch)"
	finish
	exit 0
fi
export OPENBLAS_NUM_THREADS=1
new_project
mkdir -p data pipelines
"$PY" "$ROOT/tests/parity/mlp.py" gen data || exit 3
# 400 rows: 80 test (0.2), 64 validation (0.16), 256 training = 4 batches of 64
COMMON="test_fraction: 0.2, val_fraction: 0.16, batch_size: 64, epochs: 5,
             shuffle: false, save_init: true, threads: 1"
cat > pipelines/parity.yaml <<YAML
pipeline: parity
nodes:
  table:
    task: data.load
    params: {path: data/table.csv, timestamp: t}
  mlp_classify:
    task: train.mlp
    needs: [table]
    params: {label: kind, features: [a, b, c, d], hidden: [16, 8],
             learning_rate: 0.01, $COMMON}
  mlp_regress:
    task: train.mlp
    needs: [table]
    params: {label: y, objective: regress, features: [a, b, c, d], hidden: [12],
             activation: tanh, learning_rate: 0.01, weight_decay: 0.001, $COMMON}
  mlp_sgd:
    task: train.mlp
    needs: [table]
    params: {label: level, features: [a, b, c, d], hidden: [10, 10, 6],
             activation: tanh, optimizer: sgd, learning_rate: 0.1, $COMMON}
  softmax:
    task: train.softmax
    needs: [table]
    params: {label: kind, features: [a, b, c, d], l2: 0.01, learning_rate: 0.05,
             $COMMON}
  export:
    needs: [mlp_classify, mlp_regress, mlp_sgd, softmax]
    cmd: "rm -rf got && for n in mlp_classify mlp_regress mlp_sgd softmax; do mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/* got/\$n/; done && echo ok > \$DAGRUN_OUT/done"
YAML
git add -A && git commit -qm parity
run_dagrun pipelines/parity.yaml
expect "the models train (exit 0)" [ "$RC" -eq 0 ]
# node | epochs batch lr [optimizer weight_decay]
while read -r node args; do
	if "$PY" "$ROOT/tests/parity/mlp.py" check $node got/$node data/table.csv \
		state/dagrun.db $args >"$WORK/$node.txt" 2>&1; then
		ok "$node: losses agree with PyTorch within 1e-4 relative"
	else
		fail "$node: losses agree with PyTorch within 1e-4 relative" "$(cat "$WORK/$node.txt")"
	fi
	cat "$WORK/$node.txt"
done <<'EOF'
mlp_classify 5 64 0.01
mlp_regress 5 64 0.01 adam 0.001
mlp_sgd 5 64 0.1 sgd 0
softmax 5 64 0.05
EOF
finish
