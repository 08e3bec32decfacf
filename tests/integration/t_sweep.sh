#!/bin/sh
# Sweeps: a matrix over the window length pairs each training expansion
# with the preprocessing expansion of the same window (an axis that is not
# a param of the kernel selects the need's expansions), learning rate and
# hidden size multiply the candidates, every combination is scored by
# eval.promote against baselines of the same windows, and
# `dagrun metrics RUN --rank rmse` ranks them.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
head -n 1501 "$ROOT/examples/data/ETTh1.csv" > data/etth1.csv
cat > pipelines/sweep.yaml <<'YAML'
pipeline: sweep
nodes:
  ingest:
    task: data.load
    params: {path: data/etth1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    matrix: {input_seq_len: [6, 12]}
    params: {target: OT, output_seq_len: 1, split: [0.7, 0.1, 0.2]}
  gru:
    task: train.gru
    needs: [features]
    matrix: {input_seq_len: [6, 12], learning_rate: [0.01, 0.003], hidden_size: [8]}
    params: {epochs: 2, batch_size: 64, num_layers: 1, seed: 1}
  persistence:
    task: baseline.persistence
    needs: [features]
    matrix: {input_seq_len: [6, 12]}
  seasonal_naive:
    task: baseline.seasonal_naive
    needs: [features, ingest]
    matrix: {input_seq_len: [6, 12]}
    params: {data: ingest}
  evaluate:
    task: eval.promote
    needs: [gru, persistence, seasonal_naive]
    params: {model: sweep}
YAML
git add -A && git commit -qm init
run_dagrun -j2 pipelines/sweep.yaml
expect "the sweep runs (exit 0)" [ "$RC" -eq 0 ]
key_inputs() { # node: the names of the inputs in its key
	sqlite3 state/dagrun.db "SELECT k.doc FROM node_runs n JOIN keys k ON k.key = n.key WHERE n.node = '$1' ORDER BY n.id DESC LIMIT 1" |
		jq -r '[.inputs[].name] | join(",")'
}
expect "gru[input_seq_len=6,...] needs only features[input_seq_len=6]" \
	[ "$(key_inputs 'gru[input_seq_len=6,learning_rate=0.01,hidden_size=8]')" = "features[input_seq_len=6]" ]
expect "gru[input_seq_len=12,...] needs only features[input_seq_len=12]" \
	[ "$(key_inputs 'gru[input_seq_len=12,learning_rate=0.003,hidden_size=8]')" = "features[input_seq_len=12]" ]
expect "seasonal_naive pairs by window and keeps its other need" \
	[ "$(key_inputs 'seasonal_naive[input_seq_len=12]')" = "features[input_seq_len=12],ingest" ]
expect "the pairing axis is not a param of baseline.persistence: not in its key" \
	[ "$(sqlite3 state/dagrun.db "SELECT k.doc FROM node_runs n JOIN keys k ON k.key = n.key WHERE n.node = 'persistence[input_seq_len=6]'" | jq '.params | has("input_seq_len")')" = false ]
expect "evaluate needs every expansion: 4 candidates and 4 baselines" \
	[ "$(sqlite3 state/dagrun.db "SELECT k.doc FROM node_runs n JOIN keys k ON k.key = n.key WHERE n.node = 'evaluate'" | jq '.inputs | length')" -eq 8 ]
run_dagrun metrics last --rank rmse --json
expect "metrics --rank rmse lists the 8 scored nodes" [ "$(echo "$OUT" | jq length)" -eq 8 ]
expect "... lowest rmse first" [ "$(echo "$OUT" | jq '[.[].value] | . == sort')" = true ]
expect "... ranks 1..8" [ "$(echo "$OUT" | jq -c '[.[].rank]')" = "[1,2,3,4,5,6,7,8]" ]
run_dagrun metrics last --rank r2 --desc
expect "metrics --rank r2 --desc: a table, highest first" contains "$OUT" "RANK"
run_dagrun metrics last --rank nosuch
expect "ranking by a metric nobody recorded: exit 2" [ "$RC" -eq 2 ]
expect "the registry has a version of sweep" [ "$(sqlite3 state/dagrun.db "SELECT count(*) FROM model_versions WHERE model = 'sweep'")" -ge 1 ]

# a matrix over input columns: list values, shown joined by '+' in ids
cat > pipelines/cols.yaml <<'YAML'
pipeline: cols
nodes:
  ingest:
    task: data.load
    params: {path: data/etth1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    matrix: {features: [[OT], [OT, HUFL], null]}
    params: {target: OT, input_seq_len: 4, output_seq_len: 1, split: [0.7, 0.1, 0.2]}
YAML
run_dagrun -n pipelines/cols.yaml
expect "a matrix of column lists expands (one node per list, and null)" [ "$RC" -eq 0 ]
expect "... ids join a list with '+'" contains "$ERR$OUT" "features[features=OT+HUFL]"
expect "... and show null" contains "$ERR$OUT" "features[features=null]"
run_dagrun pipelines/cols.yaml
expect "... the list reaches the kernel as a list" \
	[ "$(sqlite3 state/dagrun.db "SELECT k.doc FROM node_runs n JOIN keys k ON k.key = n.key WHERE n.node = 'features[features=OT+HUFL]'" | jq -c .params.features)" = '["OT","HUFL"]' ]

# a matrix value with '/' (a file path) stays one folder name in the id
cat > pipelines/paths.yaml <<'YAML'
pipeline: paths
nodes:
  a:
    matrix: {path: [data/etth1.csv, "50%/x"]}
    cmd: "jq -r .path $DAGRUN_PARAMS > $DAGRUN_OUT/p"
  b:
    needs: [a]
    cmd: "ls $DAGRUN_IN > got.txt && cat $DAGRUN_IN/*/p >> got.txt"
YAML
run_dagrun pipelines/paths.yaml
expect "a path in a matrix value: the run works" [ "$RC" -eq 0 ]
expect "... '/' and '%' are escaped in the id" contains "$(cat got.txt)" "a[path=data%2Fetth1.csv]"
expect "... the param keeps the real value" contains "$(cat got.txt)" "data/etth1.csv"
expect "... each expansion has its log" [ -f "state/logs/$(sqlite3 state/dagrun.db 'SELECT max(id) FROM runs')/a[path=50%25%2Fx].log" ]

# a matrix axis that is neither a param nor a need's axis is an error
sed 's/matrix: {input_seq_len: \[6, 12\]}$/matrix: {input_seq_len: [6, 12]}/; s/hidden_size: \[8\]}/hidden_size: [8], windw: [1]}/' pipelines/sweep.yaml > pipelines/bad.yaml
run_dagrun pipelines/bad.yaml
expect "an unknown matrix axis: exit 2" [ "$RC" -eq 2 ]
expect "... named once, with the file and line" [ "$(echo "$ERR" | grep -c "matrix axis 'windw'")" -eq 1 ]
expect "... and where" contains "$ERR" "bad.yaml:14:"
# a need whose expansions share no value is an error
sed 's/matrix: {input_seq_len: \[6, 12\], learning_rate/matrix: {input_seq_len: [7], learning_rate/' pipelines/sweep.yaml > pipelines/none.yaml
run_dagrun pipelines/none.yaml
expect "no expansion of the need matches: exit 2" [ "$RC" -eq 2 ]
expect "... saying so" contains "$ERR" "no expansion of 'features' has the same values"
finish
