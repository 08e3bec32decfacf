#!/bin/sh
# --log-format json: one JSON object per line on stderr with ts, level,
# service and event; the run's life (run_started, node_started, node_done,
# skip_idempotent for cached nodes, node_failed, run_finished), a kernel's
# own events (target_fallback), and the fast path's run_finished too.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
{ echo "ts,temp,other"; i=0; while [ $i -lt 60 ]; do
	printf '2024-01-01T%02d:00:00Z,%d,%d\n' $((i % 24)) $((i * 3 % 17)) $((i % 5)); i=$((i + 1)); done; } |
	awk -F, 'NR == 1 { print; next } { d = 1 + int((NR - 2) / 24); sub(/01T/, sprintf("%02dT", d), $1); print $1 "," $2 "," $3 }' OFS=, > data/s.csv
cat > pipelines/p.yaml <<'YAML'
pipeline: logs
nodes:
  ingest:
    task: data.load
    params: {path: data/s.csv, timestamp: ts}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {input_seq_len: 4, output_seq_len: 1, split: [0.6, 0.2, 0.2]}
  tail:
    needs: [features]
    cmd: "echo 1 > $DAGRUN_OUT/x"
YAML
git add -A && git commit -qm init
events() { echo "$ERR" | jq -r .event | tr '\n' ' '; }
run_dagrun pipelines/p.yaml --log-format json
expect "the run succeeds (exit 0)" [ "$RC" -eq 0 ]
expect "every stderr line is a JSON object with ts, level, service dagrun and event" \
	[ "$(echo "$ERR" | jq -c 'select(.service == "dagrun" and (.ts | test("^[0-9-]+T[0-9:.]+Z$")) and .level and .event and .run)' | wc -l)" -eq "$(echo "$ERR" | wc -l)" ]
expect "run_started first, run_finished last" contains "$(events)" "run_started node_started"
expect "... run_finished last" [ "$(echo "$ERR" | tail -n 1 | jq -r .event)" = run_finished ]
expect "the kernel's target_fallback event is logged, with its node" \
	[ "$(echo "$ERR" | jq -r 'select(.event == "target_fallback") | .node')" = features ]
expect "node_done carries seconds as a number" \
	[ "$(echo "$ERR" | jq -r 'select(.event == "node_done" and .node == "ingest") | .seconds | type')" = number ]
expect "nothing on stdout" [ -z "$OUT" ]

sed -i 's/echo 1/echo 2/' pipelines/p.yaml
run_dagrun pipelines/p.yaml --log-format json
expect "cached nodes are skip_idempotent" \
	[ "$(echo "$ERR" | jq -r 'select(.event == "skip_idempotent") | .node' | sort | tr '\n' ' ')" = "features ingest " ]
run_dagrun pipelines/p.yaml --log-format json
expect "the no-op fast path logs run_finished with same_as" \
	[ "$(echo "$ERR" | jq -r 'select(.event == "run_finished") | .same_as')" -gt 0 ]

sed -i 's/echo 2 > $DAGRUN_OUT\/x/exit 7/' pipelines/p.yaml
run_dagrun pipelines/p.yaml --log-format json
expect "a failing node: node_failed at level error" \
	[ "$(echo "$ERR" | jq -r 'select(.event == "node_failed") | .level + " " + .node')" = "error tail" ]
expect "... run_finished says failed" [ "$(echo "$ERR" | jq -r 'select(.event == "run_finished") | .status')" = failed ]
run_dagrun pipelines/p.yaml --log-format yaml
expect "a bad --log-format: exit 2" [ "$RC" -eq 2 ]
finish
