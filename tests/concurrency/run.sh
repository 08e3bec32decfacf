#!/bin/sh
# Concurrency: several dagrun processes on one pipeline and one state.
#
#   tests/concurrency/run.sh [ROUNDS] [PROCS]     (default 50 rounds of 4)
#
# Each round gives the pipeline a new salt, so every key is new, and
# starts PROCS dagrun processes on it at once.  Per round:
#   - every process exits 0;
#   - every key was executed exactly once over all processes: each node
#     appends a line to a side log (outside the state) when it really
#     runs, and node_runs holds one 'done' per key;
#   - every process's run records the same outputs for every node, equal
#     to those of a single process run with the same salt elsewhere.
# Then two different pipelines that share nodes (the same task, params and
# inputs, so the same keys) run at the same time against one state: the
# shared keys run once, and both runs succeed.
# PRAGMA integrity_check is ok at the end.  Prints "N passed, N failed".
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DAGRUN=${DAGRUN:-$ROOT/dagrun}
ROUNDS=${1:-50}
PROCS=${2:-4}
WORK=$ROOT/tests/tmp/concurrency.$$
pass=0
fail=0
cleanup() { [ "${CONC_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

[ -x "$DAGRUN" ] || { echo "concurrency: no $DAGRUN (run make)"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$WORK/p" && cd "$WORK/p" || exit 3
cp "$DAGRUN" "$WORK/dagrun" && DAGRUN=$WORK/dagrun
git init -q . && git config user.email t@example.com && git config user.name test
# 12 nodes in 4 layers; each records that it ran, then writes a function
# of its inputs.  The side log is written with one O_APPEND write per line.
node() { # name needs
	printf '  %s:\n    needs: [%s]\n    cmd: "echo %s >> %s/ran.log; sleep 0.02; cat $DAGRUN_IN/*/o 2>/dev/null | sha256sum > $DAGRUN_OUT/o; echo %s >> $DAGRUN_OUT/o"\n' \
		"$1" "$2" "$1" "$WORK" "$1"
}
{
	echo "pipeline: conc"; echo "nodes:"
	node a ""; node b ""; node c ""
	node d "a, b"; node e "b, c"; node f "a, c"
	node g "d, e"; node h "e, f"; node i "d, f"
	node j "g, h"; node k "h, i"; node l "g, i"
} > p.yaml
git add -A && git commit -qm init

outputs() { # state run: node=outputs lines
	sqlite3 -cmd ".timeout 10000" "$1/dagrun.db" "SELECT node || '=' || outputs FROM node_runs WHERE run_id = $2 AND status IN ('done', 'cached') ORDER BY node"
}
round=1
while [ "$round" -le "$ROUNDS" ]; do
	: > "$WORK/ran.log"
	pids=""
	k=1
	while [ "$k" -le "$PROCS" ]; do
		"$DAGRUN" -q -j2 p.yaml --salt "r$round" > "$WORK/out.$k" 2>&1 &
		pids="$pids $!"
		k=$((k + 1))
	done
	codes=""
	for p in $pids; do wait "$p"; codes="$codes$?"; done
	problems=""
	[ "$codes" = "$(printf '0%.0s' $(seq 1 "$PROCS"))" ] || problems="$problems exit codes $codes;"
	dup=$(sort "$WORK/ran.log" | uniq -d | tr '\n' ' ')
	[ -z "$dup" ] || problems="$problems ran twice: $dup;"
	[ "$(sort -u "$WORK/ran.log" | wc -l)" -eq 12 ] || problems="$problems not every node ran;"
	twice=$(sqlite3 -cmd ".timeout 10000" state/dagrun.db "SELECT count(*) FROM (SELECT key FROM node_runs WHERE status = 'done' GROUP BY key HAVING count(*) > 1)")
	[ "$twice" = 0 ] || problems="$problems $twice keys done twice in the state;"
	# every process's run names the same outputs
	last=$(sqlite3 -cmd ".timeout 10000" state/dagrun.db "SELECT max(id) FROM runs")
	ref=""
	r=$((last - PROCS + 1))
	while [ "$r" -le "$last" ]; do
		o=$(outputs state "$r" | md5sum)
		[ -z "$ref" ] && ref=$o
		[ "$o" = "$ref" ] || problems="$problems run $r has other outputs;"
		r=$((r + 1))
	done
	# ... equal to a lone process's with the same salt in another state
	if [ "$round" -le 3 ]; then
		"$DAGRUN" -q p.yaml --salt "r$round" --state "$WORK/lone" >/dev/null 2>&1
		lone=$(outputs "$WORK/lone" "$(sqlite3 "$WORK/lone/dagrun.db" "SELECT max(id) FROM runs")" | md5sum)
		[ "$lone" = "$ref" ] || problems="$problems outputs differ from a lone run;"
	fi
	if [ -z "$problems" ]; then ok "round $round: $PROCS processes, every key once, same outputs"
	else bad "round $round:$problems"; cat "$WORK"/out.* | head -n 20; fi
	round=$((round + 1))
done

# two pipelines sharing nodes a..f (same commands and inputs: same keys)
sed 's/^pipeline: conc/pipeline: other/' p.yaml | sed '/^  j:/,$d' > q.yaml
git add -A && git commit -qm q
: > "$WORK/ran.log"
"$DAGRUN" -q -j2 p.yaml --salt shared > "$WORK/out.p" 2>&1 & p1=$!
"$DAGRUN" -q -j2 q.yaml --salt shared > "$WORK/out.q" 2>&1 & p2=$!
wait $p1; c1=$?
wait $p2; c2=$?
dup=$(sort "$WORK/ran.log" | uniq -d | tr '\n' ' ')
if [ $c1 -eq 0 ] && [ $c2 -eq 0 ] && [ -z "$dup" ] && [ "$(sort -u "$WORK/ran.log" | wc -l)" -eq 12 ]; then
	ok "two pipelines sharing 9 nodes: both exit 0, shared keys ran once"
else
	bad "two pipelines sharing nodes: exits $c1 $c2, ran twice: [$dup]"
fi
if [ "$(sqlite3 state/dagrun.db 'PRAGMA integrity_check')" = ok ]; then ok "integrity_check ok"
else bad "integrity_check"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
