#!/bin/sh
# Failing nodes, timeouts, retries, keep-going, a killed dagrun and two
# dagruns at once on one state.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p pipelines
export WORK_LOG=$WORK/ran.log
cat > pipelines/f.yaml <<'YAML'
pipeline: failing
nodes:
  ok1: {cmd: "echo ok1 > $DAGRUN_OUT/x; echo ok1 >> $WORK_LOG"}
  exits1: {cmd: "echo about to fail; exit 1"}
  killed: {cmd: "kill -9 $$"}
  slow: {cmd: "sleep 30", timeout: 0.5}
  after_exit: {needs: [exits1], cmd: "echo after >> $WORK_LOG"}
  after_kill: {needs: [killed], cmd: "echo after >> $WORK_LOG"}
  after_slow: {needs: [slow], cmd: "echo after >> $WORK_LOG"}
YAML
git add -A && git commit -qm init
: > "$WORK_LOG"
start=$(date +%s)
run_dagrun -k -j4 pipelines/f.yaml
took=$(( $(date +%s) - start ))
expect "failures exit 1" [ "$RC" -eq 1 ]
expect "timeout is enforced (took ${took}s)" [ "$took" -lt 10 ]
expect "no dependent of a failure ran" [ "$(grep -c after "$WORK_LOG")" = "0" ]
expect "exit code is reported" contains "$ERR" "exit code 1"
expect "signal is reported" contains "$ERR" "killed by signal 9"
expect "timeout is reported" contains "$ERR" "timed out after 0.5s"
expect "log tail is shown" contains "$ERR" "about to fail"
db() { sqlite3 state/dagrun.db "$1"; }
expect "three failed nodes recorded" [ "$(db "SELECT count(*) FROM node_runs WHERE run_id=1 AND status='failed'")" = "3" ]
expect "three skipped dependents recorded" [ "$(db "SELECT count(*) FROM node_runs WHERE run_id=1 AND status='skipped'")" = "3" ]
expect "only ok1 is cached" [ "$(db "SELECT group_concat(node) FROM cache")" = "ok1" ]
expect "no claim outlives the run" [ "$(db "SELECT count(*) FROM claims")" = "0" ]
run_dagrun -k -j4 pipelines/f.yaml
expect "next run retries the failed nodes" [ "$(db "SELECT count(*) FROM node_runs WHERE run_id=2 AND status='failed'")" = "3" ]
expect "and keeps ok1 cached" [ "$(db "SELECT status FROM node_runs WHERE run_id=2 AND node='ok1'")" = "cached" ]

# without -k, a failure stops new starts
cat > pipelines/stop.yaml <<'YAML'
nodes:
  bad: {cmd: "exit 3"}
  later: {needs: [bad], cmd: "true"}
  other: {needs: [gate], cmd: "echo other >> $WORK_LOG"}
  gate: {cmd: "sleep 0.3"}
YAML
: > "$WORK_LOG"
run_dagrun -j1 pipelines/stop.yaml
expect "stop on failure exits 1" [ "$RC" -eq 1 ]
expect "nothing new starts after a failure" [ "$(cat "$WORK_LOG")" = "" ]

# retries with backoff: fails twice, then succeeds
cat > pipelines/retry.yaml <<'YAML'
nodes:
  flaky:
    retries: 2
    cmd: "n=$(cat $WORK_COUNT 2>/dev/null || echo 0); n=$((n+1)); echo $n > $WORK_COUNT; [ $n -ge 3 ]"
YAML
export WORK_COUNT=$WORK/count
rm -f "$WORK_COUNT"
run_dagrun pipelines/retry.yaml
expect "retried node succeeds" [ "$RC" -eq 0 ]
expect "after three attempts" [ "$(cat "$WORK_COUNT")" = "3" ]
expect "attempts recorded" [ "$(db "SELECT attempts FROM node_runs WHERE node='flaky' ORDER BY id DESC LIMIT 1")" = "3" ]

# dagrun itself killed with SIGKILL mid-run
cat > pipelines/long.yaml <<'YAML'
nodes:
  n1: {cmd: "sleep 0.2; echo 1 > $DAGRUN_OUT/o"}
  n2: {needs: [n1], cmd: "sleep 0.2; cat $DAGRUN_IN/n1/o > $DAGRUN_OUT/o; echo 2 >> $DAGRUN_OUT/o"}
  n3: {needs: [n2], cmd: "sleep 5.123; cat $DAGRUN_IN/n2/o > $DAGRUN_OUT/o"}
  n4: {needs: [n3], cmd: "cat $DAGRUN_IN/n3/o > $DAGRUN_OUT/o; echo 4 >> $DAGRUN_OUT/o"}
YAML
"$DAGRUN" -q pipelines/long.yaml >/dev/null 2>&1 &
pid=$!
# kill it while n3 runs, once n1 and n2 are recorded
for i in $(seq 100); do
	[ "$(db "SELECT count(*) FROM node_runs WHERE status='done' AND node IN ('n1','n2') AND run_id=(SELECT max(id) FROM runs)" 2>/dev/null)" = "2" ] && pgrep -f 'sleep 5.123' >/dev/null && break
	sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null
for i in $(seq 30); do pgrep -f 'sleep 5.123' >/dev/null || break; sleep 0.1; done
expect "no node process outlives a killed dagrun" [ -z "$(pgrep -f 'sleep 5.123' )" ]
expect "integrity check ok after kill" [ "$(db 'PRAGMA integrity_check')" = "ok" ]
run_dagrun pipelines/long.yaml
expect "next run completes" [ "$RC" -eq 0 ]
expect "n1 and n2 were kept from the killed run" contains "$ERR" "2 cached"
run_dagrun show last n4
obj=$(echo "$OUT" | awk '$1=="o"{print $3}')
expect "outputs are complete" [ "$(cat "$obj" | tr '\n' ' ')" = "1 2 4 " ]
expect "stale work folders are removed" [ "$(ls state/tmp | wc -l)" -le 0 ]
expect "every cached object exists" [ "$(db "SELECT outputs FROM cache" | while read h; do [ -f state/objects/$(echo $h | cut -c1-2)/$(echo $h | cut -c3-) ] || echo missing; done)" = "" ]

# two dagruns at once: every node executed exactly once
cat > pipelines/par.yaml <<'YAML'
nodes:
  p1: {cmd: "echo p1 >> $WORK_LOG; sleep 0.3; echo 1 > $DAGRUN_OUT/o"}
  p2: {cmd: "echo p2 >> $WORK_LOG; sleep 0.3; echo 2 > $DAGRUN_OUT/o"}
  p3: {needs: [p1, p2], cmd: "echo p3 >> $WORK_LOG; sleep 0.3; cat $DAGRUN_IN/*/o > $DAGRUN_OUT/o"}
  p4: {needs: [p3], cmd: "echo p4 >> $WORK_LOG; cat $DAGRUN_IN/p3/o > $DAGRUN_OUT/o"}
YAML
: > "$WORK_LOG"
"$DAGRUN" -q pipelines/par.yaml & a=$!
"$DAGRUN" -q pipelines/par.yaml & b=$!
wait $a; ra=$?
wait $b; rb=$?
expect "both concurrent runs exit 0" [ "$ra$rb" = "00" ]
expect "each node ran exactly once" [ "$(sort "$WORK_LOG" | tr '\n' ' ')" = "p1 p2 p3 p4 " ]

# Ctrl-C: running nodes are ended, recorded as failed, nothing cached
cat > pipelines/int.yaml <<'YAML'
nodes:
  sleeper: {cmd: "echo started >> $WORK_LOG; sleep 30.7; echo never > $DAGRUN_OUT/o"}
  after: {needs: [sleeper], cmd: "echo after >> $WORK_LOG"}
YAML
: > "$WORK_LOG"
"$DAGRUN" pipelines/int.yaml >/dev/null 2>"$WORK/.int" & pid=$!
for i in 1 2 3 4 5 6 7 8 9 10; do grep -q started "$WORK_LOG" && break; sleep 0.2; done
kill -INT $pid
wait $pid; rc=$?
expect "Ctrl-C exits 130" [ "$rc" -eq 130 ]
expect "Ctrl-C ends the node's processes" [ -z "$(pgrep -f 'sleep 30.7')" ]
expect "the interrupted node is recorded as failed" [ "$(db "SELECT status || ':' || error FROM node_runs WHERE node='sleeper' ORDER BY id DESC LIMIT 1")" = "failed:interrupted" ]
expect "the run is recorded as interrupted" [ "$(db "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" = "interrupted" ]
expect "nothing of it is cached" [ "$(db "SELECT count(*) FROM cache WHERE node IN ('sleeper','after')")" = "0" ]
expect "no claim is left" [ "$(db "SELECT count(*) FROM claims")" = "0" ]
finish
