#!/bin/sh
# Inspection: metrics and their diff, explain --diff, dag formats.
. "$(dirname "$0")/lib.sh"
new_project
cat > p.yaml <<'YAML'
nodes:
  a:
    deps: [v]
    cmd: 'echo "{\"name\":\"rmse\",\"value\":$(cat v)}" >> $DAGRUN_METRICS; for e in 1 2 3; do echo "{\"name\":\"loss\",\"step\":$e,\"value\":$e.5}" >> $DAGRUN_METRICS; done; echo x > $DAGRUN_OUT/o'
  b: {needs: [a], cmd: "true", matrix: {lr: [0.1, 0.01]}}
YAML
echo 1.5 > v
git add -A && git commit -qm init
run_dagrun -q p.yaml
echo 1.25 > v
run_dagrun -q p.yaml
run_dagrun metrics last --json
expect "metrics: final value" sh -c "printf '%s' '$OUT' | jq -e '.[\"a/rmse\"].value == 1.25' >/dev/null"
expect "metrics: last step of a curve" sh -c "printf '%s' '$OUT' | jq -e '.[\"a/loss\"].value == 3.5 and .[\"a/loss\"].steps == 3' >/dev/null"
run_dagrun metrics diff 1 2 --json
expect "metrics diff: the numeric change" sh -c "printf '%s' '$OUT' | jq -e '.metrics[] | select(.name == \"rmse\") | .change == -0.25' >/dev/null"
run_dagrun metrics diff 1 2
expect "metrics diff: a table" contains "$OUT" "-0.25"
run_dagrun explain p.yaml a --diff 1 2
expect "explain --diff names the changed dep" contains "$OUT" "dep file v changed"
expect "explain --diff marks deps" contains "$OUT" "* deps"
run_dagrun explain p.yaml 'b[lr=0.1]' --diff 1 2
expect "explain --diff of an unchanged node" contains "$OUT" "the same key"
run_dagrun explain p.yaml a --diff 1 99
expect "explain --diff of an unknown run exits 2" [ "$RC" -eq 2 ]
run_dagrun metrics 42
expect "metrics of an unknown run exits 2" [ "$RC" -eq 2 ]
# a run where 'a' is cached still shows a's metrics, from the run that made it
run_dagrun -q p.yaml --force 'b[lr=0.1]'
run_dagrun metrics last --json
expect "metrics of a cached node come from the run that made its outputs" sh -c \
	"printf '%s' '$OUT' | jq -e '.[\"a/rmse\"].value == 1.25 and .[\"a/rmse\"].run == 2' >/dev/null"
run_dagrun -q p.yaml
run_dagrun metrics last --json
expect "... also for a run served by the no-op fast path" sh -c \
	"printf '%s' '$OUT' | jq -e '.[\"a/rmse\"].value == 1.25' >/dev/null"
run_dagrun dag --dot p.yaml
expect "dag --dot has the edges" contains "$OUT" '"a" -> "b[lr=0.1]";'
run_dagrun dag --mermaid p.yaml
expect "dag --mermaid has the edges" contains "$OUT" "n0 --> n2"
run_dagrun dag p.yaml
expect "dag shows layers" contains "$OUT" "3 nodes in 2 layers"
# runs filtered by date: --since/--until take ISO 8601 (UTC) or an age
all=$("$DAGRUN" runs --json | jq length)
run_dagrun runs --since 1h --json
expect "runs --since 1h lists every run of this test" [ "$(echo "$OUT" | jq length)" = "$all" ]
run_dagrun runs --until 2000-01-01 --json
expect "runs --until 2000-01-01 lists none" [ "$(echo "$OUT" | jq length)" = 0 ]
first=$("$DAGRUN" runs --json | jq -r 'min_by(.id) | .started')
since=$(date -u -d "@$(echo "$first" | cut -d. -f1)" +%Y-%m-%dT%H:%M:%S)
run_dagrun runs --since 2100-01-01T00:00:00Z --json
expect "runs --since a future time lists none" [ "$(echo "$OUT" | jq length)" = 0 ]
run_dagrun runs --since "$since" --until 2100-01-01 --json
expect "runs --since the first run's second lists them all" [ "$(echo "$OUT" | jq length)" = "$all" ]
run_dagrun runs --since lastweek
expect "a bad --since: exit 2, saying what is expected" [ "$RC" -eq 2 ] && expect "... the forms" contains "$ERR" "ISO 8601"
finish
