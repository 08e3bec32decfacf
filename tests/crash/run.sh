#!/bin/sh
# The crash test of issue 9: dagrun killed with SIGKILL at random moments.
#
#   tests/crash/run.sh [KILLS] [SEED]      (defaults: 200 kills, seed 1)
#
# A 50-node random DAG (gen.sh: node durations 0-0.3 s, each node writing
# files derived from its inputs) runs in a scratch project.  Each kill is
# one round with its own round.txt, so that every round writes new objects:
#   1. a reference run in a separate state, never interrupted (its nodes
#      skip their sleeps, which changes no output);
#   2. dagrun -j4 on the test state, killed with SIGKILL after a random
#      delay in [0, T), T being how long an uninterrupted run takes;
#   3. at once: no node process outlives dagrun; PRAGMA integrity_check is
#      ok; every cache row and done node run of the round names a manifest
#      object that exists and matches its SHA-256, and so does every file
#      object the manifest lists;
#   4. the next run completes (exit 0); afterwards no temp file of the
#      killed run is left (state/tmp empty, no *.tmp.* under objects/),
#      no claim is held, no run is still 'running', and every node's
#      outputs hash equals the reference's: byte-identical outputs.
# At the end, every object named by any cache row is checked again.
# Prints one ok/FAIL line per kill, a summary with timings, and
# "N passed, N failed".  CRASH_KEEP=1 keeps the scratch project.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DAGRUN=${DAGRUN:-$ROOT/dagrun}
KILLS=${1:-200}
SEED=${2:-1}
NODES=50
WORK=$ROOT/tests/tmp/crash.$$
pass=0
fail=0
landed=0        # kills that hit a live dagrun (exit status 137)
resumed=0       # nodes the resumed runs took from the killed runs' cache
strays=0        # rounds that left a temp file under objects/ for good

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
cleanup() { [ "${CRASH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in sqlite3 jq sha256sum; do
	command -v $tool >/dev/null 2>&1 || { echo "crash: $tool is needed"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$DAGRUN" ] || { echo "crash: no $DAGRUN (run make)"; echo "0 passed, 1 failed"; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
# a private copy: a 'make' elsewhere must not swap the binary mid-test
cp "$DAGRUN" "$WORK/dagrun" && DAGRUN=$WORK/dagrun
cd "$WORK" || exit 3
git init -q . && git config user.email t@example.com && git config user.name test
TAG=$$
sh "$ROOT/tests/crash/gen.sh" "$SEED" "$NODES" "$TAG" > pipeline.yaml
echo 0 > round.txt
printf 'st/\nref/\ntime/\n*.log\n*.out\nstrays.*\ndelays\ndagrun\n' > .gitignore
git add -A && git commit -qm "crash test pipeline"

db() { sqlite3 -cmd ".timeout 5000" "$1/dagrun.db" "$2"; }

# verify_objects STATE: reads manifest hashes on stdin; prints one line
# per manifest or file object that is missing or does not match its name.
verify_objects() {
	sort -u | sed '/^$/d' > "$WORK/m.list"
	sed "s|^\(..\)\(.*\)$|$1/objects/\1/\2|" "$WORK/m.list" > "$WORK/m.paths"
	hash_check "$WORK/m.paths"
	while read -r p; do [ -f "$p" ] && echo "$p"; done < "$WORK/m.paths" > "$WORK/m.present"
	if [ -s "$WORK/m.present" ]; then
		xargs jq -r '.files[].hash' < "$WORK/m.present" | sort -u |
			sed "s|^\(..\)\(.*\)$|$1/objects/\1/\2|" > "$WORK/f.paths"
		hash_check "$WORK/f.paths"
	fi
}

# hash_check FILE: every path in FILE exists and sha256sum == its name.
hash_check() {
	while read -r p; do [ -f "$p" ] || echo "missing object $p"; done < "$1"
	while read -r p; do [ -f "$p" ] && echo "$p"; done < "$1" |
		xargs -r sha256sum | awk '{ n = split($2, a, "/");
			if ($1 != a[n - 1] a[n]) print "object " $2 " does not match its hash" }'
}

# The manifests recorded as done in STATE from run FIRST on.
recorded() {
	db "$1" "SELECT outputs FROM cache WHERE run_id >= $2 UNION
		 SELECT outputs FROM node_runs WHERE run_id >= $2 AND
		 status IN ('done', 'cached') AND outputs IS NOT NULL"
}

# Each node's outputs as last recorded: the newest done or cached node run
# (a run with nothing to do may record none).
last_outputs() {
	db "$1" "SELECT node || ' ' || outputs FROM node_runs n WHERE id =
		 (SELECT max(id) FROM node_runs WHERE node = n.node AND
		  status IN ('done', 'cached')) ORDER BY node"
}

# The node processes of this test still alive (their commands carry TAG).
node_procs() { pgrep -f "dagrun-crash-node-$TAG " 2>/dev/null; }

# T: an uninterrupted run with the sleeps, on its own state.
t0=$(now)
"$DAGRUN" -q -j4 --state time pipeline.yaml >/dev/null 2>run.log ||
	{ echo "FAIL the uninterrupted timing run"; cat run.log; echo "0 passed, 1 failed"; exit 1; }
T=$(elapsed "$t0")
rm -rf time
echo "crash: $NODES nodes, seed $SEED, uninterrupted run ${T}s; $KILLS kills in [0, ${T}s)"
awk -v seed="$SEED" -v n="$KILLS" -v t="$T" 'BEGIN { srand(seed + 1000);
	for (i = 0; i < n; i++) printf "%.3f\n", rand() * t }' > delays

: > strays.seen
start=$(now)
k=0
while read -r delay; do
	k=$((k + 1))
	echo "$k" > round.txt
	problems=""
	if ! CRASH_NOSLEEP=1 "$DAGRUN" -q -j8 --state ref pipeline.yaml >/dev/null 2>ref.log; then
		fail=$((fail + 1)); echo "FAIL kill $k: the reference run failed"; cat ref.log; continue
	fi
	first=$(( $(db st "SELECT coalesce(max(id), 0) FROM runs" 2>/dev/null || echo 0) + 1 ))
	"$DAGRUN" -q -j4 --state st pipeline.yaml >/dev/null 2>kill.log &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	[ "$rc" -eq 137 ] && landed=$((landed + 1))
	[ "$rc" -eq 137 ] || [ "$rc" -eq 0 ] || problems="$problems; killed run exited $rc"
	i=0
	while [ -n "$(node_procs)" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
	[ -z "$(node_procs)" ] || { problems="$problems; node processes outlived dagrun"; kill -9 $(node_procs) 2>/dev/null; }
	if [ -f st/dagrun.db ]; then
		ic=$(db st "PRAGMA integrity_check" 2>&1)
		[ "$ic" = ok ] || problems="$problems; integrity_check: $ic"
		bad=$(recorded st "$first" | verify_objects st)
		[ -z "$bad" ] || problems="$problems; after the kill: $(echo "$bad" | head -n 3 | tr '\n' ' ')"
	fi
	if ! CRASH_NOSLEEP=1 "$DAGRUN" -q -j4 --state st pipeline.yaml >/dev/null 2>next.log; then
		problems="$problems; the next run failed: $(tail -n 3 next.log | tr '\n' ' ')"
	fi
	resumed=$((resumed + $(db st "SELECT count(*) FROM node_runs WHERE run_id =
		(SELECT max(id) FROM runs) AND status = 'cached'")))
	left=$(ls st/tmp 2>/dev/null | wc -l)
	[ "$left" -eq 0 ] || problems="$problems; $left folders left in state/tmp"
	# a stray temp file fails the round that left it, not every later one
	find st/objects -type f -name '*.tmp.*' 2>/dev/null | sort > strays.now
	stray=$(comm -13 strays.seen strays.now | head -n 3 | tr '\n' ' ')
	cp strays.now strays.seen
	[ -z "$stray" ] || { strays=$((strays + 1)); problems="$problems; temp files left in objects/: $stray"; }
	n=$(db st "SELECT count(*) FROM claims")
	[ "$n" -eq 0 ] || problems="$problems; $n claims left"
	n=$(db st "SELECT count(*) FROM runs WHERE status = 'running'")
	[ "$n" -eq 0 ] || problems="$problems; $n runs still 'running'"
	bad=$(recorded st "$first" | verify_objects st)
	[ -z "$bad" ] || problems="$problems; after the next run: $(echo "$bad" | head -n 3 | tr '\n' ' ')"
	last_outputs st > st.out
	last_outputs ref > ref.out
	[ "$(wc -l < st.out)" -eq "$NODES" ] || problems="$problems; the next run recorded $(wc -l < st.out) nodes"
	cmp -s st.out ref.out || problems="$problems; outputs differ from the uninterrupted run: $(diff st.out ref.out | head -n 2 | tr '\n' ' ')"
	if [ -z "$problems" ]; then
		pass=$((pass + 1))
		echo "ok   kill $k at ${delay}s (exit $rc)"
	else
		fail=$((fail + 1))
		echo "FAIL kill $k at ${delay}s (exit $rc)${problems#;}"
	fi
done < delays
took=$(elapsed "$start")

# Every object any cache row names, once more, and the database.
bad=$(db st "SELECT outputs FROM cache" | verify_objects st)
ic=$(db st "PRAGMA integrity_check" 2>&1)
if [ -z "$bad" ] && [ "$ic" = ok ]; then
	pass=$((pass + 1)); echo "ok   final check: every cached object of $k rounds is intact"
else
	fail=$((fail + 1)); echo "FAIL final check: $ic $(echo "$bad" | head -n 3)"
fi
echo "crash: $k kills ($landed hit a live dagrun), $resumed nodes taken from killed runs' cache, $strays rounds left a temp file in objects/, ${took}s in all ($(awk -v t="$took" -v k="$k" 'BEGIN { printf "%.2f", k ? t / k : 0 }')s per kill)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
