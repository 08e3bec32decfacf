#!/bin/sh
# The events outbox and webhooks through the real binary: a pipeline with a
# failing node and a 'webhooks:' list delivers node_failed, run_finished and
# a node's drift_detected line to a local receiver that answers 500 to the
# first attempt of each event (so the end-of-run retries are exercised),
# with one Idempotency-Key per event; `dagrun events` shows the delivery
# state; an unreachable webhook does not hold a run up, is retried by
# `dagrun events deliver` and ends as a dead letter; `dagrun webhooks`
# adds, lists and removes; bad 'webhooks:' entries exit 2 with
# file:line:col before anything runs.
. "$(dirname "$0")/lib.sh"
new_project
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

RECV_PID=
stop_receiver() { [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; wait 2>/dev/null; RECV_PID=; }
trap stop_receiver EXIT

# receiver FAIL_FIRST: start it, leaving PORT and LOG.
receiver() {
	LOG=$WORK/received.jsonl
	rm -f "$LOG" "$WORK/port"
	/usr/bin/python3 "$ROOT/tests/integration/webhook_receiver.py" \
		--port-file "$WORK/port" --log "$LOG" --fail-first "$1" &
	RECV_PID=$!
	for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
	PORT=$(cat "$WORK/port")
}
# A port nothing listens on (bound, then closed, by python).
closed_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
db() { sqlite3 state/dagrun.db "$1"; }
# got FILTER: jq over the received requests, one JSON document per line.
got() { jq -c "$1" "$LOG"; }

receiver 1
expect "the receiver started" [ -n "$PORT" ]
cat > p.yaml <<YAML
pipeline: hooks
webhooks:
  - url: http://127.0.0.1:$PORT/hook
    events: [node_failed, run_finished, drift_detected]
nodes:
  watch:
    cmd: >-
      echo '{"event":"drift_detected","node":"watch","details":{"psi":0.4}}'
      >> \$DAGRUN_EVENTS && echo ok > \$DAGRUN_OUT/x
  bad: {cmd: "echo broken; exit 3"}
  after: {needs: [bad], cmd: "true"}
YAML
git add -A && git commit -qm init
run_dagrun -k p.yaml
expect "the failing run exits 1" [ "$RC" -eq 1 ]
expect "nothing about delivery failed" [ "$(printf '%s' "$ERR" | grep -c webhook)" = 0 ]
expect "three events were written" [ "$(db "SELECT group_concat(name) FROM (SELECT name FROM events ORDER BY name)")" = "drift_detected,node_failed,run_finished" ]
expect "each was delivered after one 500" [ "$(got 'select(.status == 200) | .event' | sort | tr '\n' ' ')" = '"drift_detected" "node_failed" "run_finished" ' ]
expect "six requests in all" [ "$(wc -l < "$LOG")" -eq 6 ]
expect "the retry repeats the Idempotency-Key" [ "$(got '.key' | sort -u | wc -l)" -eq 3 ]
expect "the key is in the body too" [ "$(got 'select(.key != .body.idempotency_key)' | wc -l)" -eq 0 ]
key=$(got 'select(.event == "node_failed") | .key' | head -n 1 | tr -d '"')
expect "the key names the state and the event" contains "$key" "dagrun-"
expect "as JSON" [ "$(got 'select(.content_type != "application/json")' | wc -l)" -eq 0 ]
nf=$(got 'select(.status == 200 and .event == "node_failed") | .body')
expect "node_failed names the node" [ "$(echo "$nf" | jq -r .node)" = bad ]
expect "node_failed has the exit code" [ "$(echo "$nf" | jq .payload.exit_code)" = 3 ]
expect "node_failed has the error" [ "$(echo "$nf" | jq -r .payload.error)" = "exit code 3" ]
expect "node_failed has the run" [ "$(echo "$nf" | jq .run_id)" = 1 ]
rf=$(got 'select(.status == 200 and .event == "run_finished") | .body.payload')
expect "run_finished has the status" [ "$(echo "$rf" | jq -r .status)" = failed ]
expect "run_finished has the counts" [ "$(echo "$rf" | jq -c '[.nodes, .ran, .failed, .skipped]')" = "[3,1,1,1]" ]
expect "run_finished has the pipeline" [ "$(echo "$rf" | jq -r .pipeline)" = hooks ]
expect "run_finished has the seconds" [ "$(echo "$rf" | jq '.seconds >= 0')" = true ]
expect "drift_detected carries the node's details" [ "$(got 'select(.status == 200 and .event == "drift_detected") | .body.payload.psi')" = 0.4 ]

run_dagrun events --json
expect "events --json exits 0" [ "$RC" -eq 0 ]
expect "events lists three" [ "$(echo "$OUT" | jq length)" = 3 ]
expect "each delivered in two attempts" [ "$(echo "$OUT" | jq -c '[.[].deliveries[] | [.status, .attempts]] | unique')" = '[["delivered",2]]' ]
run_dagrun events --name node_failed
expect "events --name filters" [ "$(echo "$OUT" | grep -c node_failed)" = 1 ] 
expect "events shows the delivery" contains "$OUT" "delivered after 2 attempts"
run_dagrun events --pending
expect "nothing is pending" [ "$(echo "$OUT" | wc -l)" = 1 ]
run_dagrun webhooks list
expect "the pipeline's webhook is listed" contains "$OUT" "pipeline hooks"

# an unreachable webhook: the run ends quickly, the delivery waits
dead=$(closed_port)
run_dagrun webhooks add "http://127.0.0.1:$dead/x" --events run_finished
expect "webhooks add exits 0" [ "$RC" -eq 0 ]
expect "webhooks add says so" contains "$OUT" "webhook 2 added"
start=$(date +%s)
run_dagrun -k p.yaml
took=$(( $(date +%s) - start ))
expect "the run is not held up (${took}s)" [ "$took" -lt 5 ]
expect "the run still exits 1" [ "$RC" -eq 1 ]
expect "the failed webhook is reported" contains "$ERR" "webhook 2"
run_dagrun events --pending --json
expect "its run_finished is pending" [ "$(echo "$OUT" | jq -c '[.[] | .name, (.deliveries[] | select(.webhook == 2) | .status)]')" = '["run_finished","pending"]' ]
expect "after the run's quick tries" [ "$(echo "$OUT" | jq '.[0].deliveries[] | select(.webhook == 2) | .attempts')" = 3 ]
expect "the other webhook got the new events" [ "$(got 'select(.status == 200 and .body.run_id == 2) | .event' | wc -l)" -eq 2 ]
run_dagrun events deliver
expect "deliver respects the backoff" [ "$RC" -eq 0 ]
expect "deliver counts nothing due" contains "$OUT" "0 delivered, 0 to retry"
run_dagrun events deliver --now
expect "deliver --now retries and exits 1" [ "$RC" -eq 1 ]
expect "one more attempt" [ "$(db "SELECT attempts FROM deliveries WHERE webhook_id = 2")" = 4 ]
run_dagrun events deliver --now --max-attempts 5
expect "the last attempt makes a dead letter" contains "$OUT" "1 failed for good"
run_dagrun events --failed
expect "the dead letter is shown" contains "$OUT" "FAILED (dead letter) after 5 attempts"
run_dagrun events deliver --now
expect "a dead letter is not retried" [ "$(db "SELECT attempts FROM deliveries WHERE webhook_id = 2")" = 5 ]

run_dagrun webhooks rm 1
expect "a pipeline's webhook is not removed by hand" [ "$RC" -eq 2 ]
expect "and says where it comes from" contains "$ERR" "comes from pipeline 'hooks'"
run_dagrun webhooks rm 2
expect "webhooks rm exits 0" [ "$RC" -eq 0 ]
expect "with its deliveries" [ "$(db "SELECT count(*) FROM deliveries WHERE webhook_id = 2")" = 0 ]
run_dagrun webhooks add "ftp://example.com/x"
expect "a bad url exits 2" [ "$RC" -eq 2 ]
run_dagrun webhooks add "http://example.com/x" --events run_finish
expect "an unknown event exits 2" [ "$RC" -eq 2 ]
expect "and lists the known ones" contains "$ERR" "expected one of: run_finished"
run_dagrun events --bogus
expect "an unknown option exits 2" [ "$RC" -eq 2 ]

# bad webhooks: in a pipeline stop it before it runs
cat > bad.yaml <<'YAML'
pipeline: bad
webhooks:
  - url: ftp://example.com/x
    events: [node_failed, run_finish]
    retry: 3
nodes:
  a: {cmd: "touch ran"}
YAML
runs_before=$(db "SELECT count(*) FROM runs")
run_dagrun bad.yaml
expect "bad webhooks exit 2" [ "$RC" -eq 2 ]
expect "the url is named with file:line:col" contains "$ERR" "bad.yaml:3:10: bad webhook url"
expect "the event is named" contains "$ERR" "bad.yaml:4:27: unknown event 'run_finish'"
expect "unknown keys are refused" contains "$ERR" "bad.yaml:5:5: unknown field 'retry' in webhook 1"
expect "nothing ran" [ ! -e ran ]
expect "no run was recorded" [ "$(db "SELECT count(*) FROM runs")" = "$runs_before" ]
stop_receiver
finish
