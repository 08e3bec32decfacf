#!/bin/sh
# Fault injection: dagrun on a full or failing disk (issue 9).
#
#   tests/fault/run.sh [POINTS]        (default 12 injection points per scenario)
#
# FAULT_ONLY="name ..." runs only those scenarios; FAULT_KEEP=1 keeps the
# scratch project (tests/tmp/fault.PID) for a look.
#
# Builds faultfs.so (an LD_PRELOAD shim, see faultfs.c) and runs a
# 4-node pipeline under it.  Each scenario picks the calls to fail
# (writes, fsyncs or renames; of objects under state/objects and their
# temp files state/tmp/PID-obj-HASH, of work
# files under state/tmp, or of the SQLite files state/dagrun.db*) and the
# errno (ENOSPC, EIO).  A traced run without faults counts the M matching
# calls; then, like SQLite's faultsim, dagrun runs again with the first N
# calls let through and every later one failed, for POINTS values of N
# spread over 0..M-1, each from a copy of the same starting state.  For
# each injection:
#   - dagrun exits 1, 2 or 3 with a message naming the disk error (not a
#     crash, not a sanitizer report); an exit 0 is accepted only when the
#     failed call was harmless, which is proven by the state: the run is
#     recorded 'ok' with every node's correct outputs present;
#   - PRAGMA integrity_check is ok, no claim is left, and every cache row
#     and done node run names a manifest whose objects all exist and match
#     their hashes (nothing is recorded as done without its objects);
#   - a later run without the shim exits 0 with outputs identical to a
#     run that never met a fault, and leaves no temp file behind.
# Prints one line per injection and "N passed, N failed".
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DAGRUN=${DAGRUN:-$ROOT/dagrun}
POINTS=${1:-12}
WORK=$ROOT/tests/tmp/fault.$$
SHIM=$WORK/faultfs.so
pass=0
fail=0
injected=0      # runs in which at least one call was failed
calls=0         # calls failed in all
absorbed=0      # injections dagrun survived with exit 0 and a complete state
cleanup() { [ "${FAULT_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in sqlite3 jq sha256sum cc; do
	command -v $tool >/dev/null 2>&1 || { echo "fault: $tool is needed"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$DAGRUN" ] || { echo "fault: no $DAGRUN (run make)"; echo "0 passed, 1 failed"; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
# a private copy: a 'make' elsewhere must not swap the binary mid-test
cp "$DAGRUN" "$WORK/dagrun" && DAGRUN=$WORK/dagrun
if ! cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -o "$SHIM" \
	"$ROOT/tests/fault/faultfs.c" -ldl; then
	echo "FAIL faultfs.c does not build"; echo "0 passed, 1 failed"; exit 1
fi
cd "$WORK" || exit 3
git init -q . && git config user.email t@example.com && git config user.name test
# The nodes write their small files with the shell's builtin echo, which
# calls write(2) and so meets the shim in node-write-ENOSPC; seq and sort
# write through stdio, which the shim does not see (see faultfs.c).
cat > p.yaml <<'YAML'
pipeline: fault
nodes:
  a:
    deps: [round.txt]
    cmd: "set -e; echo $(cat round.txt) > $DAGRUN_OUT/a.txt; seq 1 5000 > $DAGRUN_OUT/big.txt"
  b: {needs: [a], cmd: "set -e; sort -r $DAGRUN_IN/a/big.txt > $DAGRUN_OUT/b.txt"}
  c: {needs: [a], cmd: "set -e; echo $(wc -l < $DAGRUN_IN/a/big.txt) > $DAGRUN_OUT/c.txt; mkdir $DAGRUN_OUT/sub; echo $(cat round.txt) > $DAGRUN_OUT/sub/r"}
  d: {needs: [b, c], cmd: "set -e; echo $(cat $DAGRUN_IN/b/b.txt $DAGRUN_IN/c/c.txt | sha256sum) > $DAGRUN_OUT/d.txt"}
YAML
printf 'st*/\nbase*/\nref*/\n*.log\n*.so\ntrace*\ndagrun\n' > .gitignore
echo 0 > round.txt
git add -A && git commit -qm "fault test pipeline"

db() { sqlite3 -cmd ".timeout 5000" "$1/dagrun.db" "$2"; }
# Each node's outputs as last recorded (a run with nothing to do may record
# no node runs at all: the newest done or cached one is what a run serves).
outputs() { db "$1" "SELECT node || ' ' || outputs FROM node_runs n WHERE id =
	(SELECT max(id) FROM node_runs WHERE node = n.node AND
	 status IN ('done', 'cached')) ORDER BY node" 2>/dev/null; }

# Starting states and the reference outputs of round 1, never faulted.
"$DAGRUN" -q --state base p.yaml >/dev/null 2>&1 || { echo "FAIL clean run"; echo "0 passed, 1 failed"; exit 1; }
echo 1 > round.txt
"$DAGRUN" -q --state ref p.yaml >/dev/null 2>&1 || { echo "FAIL reference run"; echo "0 passed, 1 failed"; exit 1; }
outputs ref > ref.out

# Every object that a cache row or a done/cached node run of STATE names is
# present and matches its hash; prints what is wrong.
check_objects() {
	db 2>/dev/null "$1" "SELECT outputs FROM cache UNION SELECT outputs FROM node_runs
		 WHERE status IN ('done', 'cached') AND outputs IS NOT NULL" |
		sort -u | sed "s|^\(..\)\(.*\)$|$1/objects/\1/\2|" > objs.list
	if [ -s objs.list ]; then
		while read -r p; do [ -f "$p" ] || echo "missing manifest $p"; done < objs.list
		while read -r p; do [ -f "$p" ] && echo "$p"; done < objs.list > objs.have
		[ -s objs.have ] && xargs jq -r '.files[].hash' < objs.have |
			sed "s|^\(..\)\(.*\)$|$1/objects/\1/\2|" >> objs.list
		while read -r p; do [ -f "$p" ] || echo "missing object $p"; done < objs.list
		while read -r p; do [ -f "$p" ] && echo "$p"; done < objs.list |
			xargs -r sha256sum | awk '{ n = split($2, a, "/");
				if ($1 != a[n - 1] a[n]) print "object " $2 " does not match its hash" }'
	fi
}

# prepare KIND: a fresh state 'st' for a run of round 1.
prepare() {
	rm -rf st
	[ "$1" = existing ] && cp -a base st
	return 0
}

# faulted TRACE AFTER: run dagrun under the shim (scenario variables set).
faulted() {
	rm -f "$1"
	env LD_PRELOAD="$SHIM" FAULTFS_PATH="$F_PATH" FAULTFS_OPS="$F_OPS" \
		FAULTFS_ERRNO="$F_ERRNO" FAULTFS_AFTER="$2" FAULTFS_SHORT="$F_SHORT" \
		FAULTFS_EXE="$F_EXE" FAULTFS_LOG="$1" \
		"$DAGRUN" -q -j1 --state st p.yaml >run.out 2>run.err
}

# inject N: one injection of the current scenario; sets 'problems'.
inject() {
	n=$1
	problems=""
	prepare "$F_STATE"
	faulted trace "$n"
	rc=$?
	nf=$(grep -c ' ENOSPC$\| EIO$' trace 2>/dev/null)
	nf=${nf:-0}
	if [ "$nf" -eq 0 ]; then
		verdict="no call failed (the run made fewer calls)"
		return 1
	fi
	injected=$((injected + 1))
	calls=$((calls + nf))
	what=$(grep -m 1 ' ENOSPC$\| EIO$' trace | awk '{ print $3 }')
	where=$(grep -m 1 ' ENOSPC$\| EIO$' trace | awk '{ print $4 }' | sed "s|^$WORK/||")
	verdict="$what $where -> exit $rc"
	msg=$(cat run.err)
	case $rc in
	1|2|3)
		# dagrun's own error names the disk error; a node that failed
		# (exit 1) is named with its log's tail, in the shell's words
		case $rc:$msg in
		*"No space left on device"*|*"Input/output error"*|*"disk is full"*|*"disk I/O error"*) ;;
		1:*FAILED*"exit code"*"I/O error"*) ;;
		*) problems="$problems; no message naming the disk error: [$(echo "$msg" | head -n 3 | tr '\n' ' ')]" ;;
		esac
		[ "$(db st "SELECT count(*) FROM runs WHERE status = 'ok'" 2>/dev/null || echo 0)" -le "$([ "$F_STATE" = existing ] && echo 1 || echo 0)" ] ||
			problems="$problems; a failed run is recorded as 'ok'"
		;;
	0)
		outputs st > st.out
		if cmp -s st.out ref.out && [ "$(db st "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" = ok ]; then
			absorbed=$((absorbed + 1))
			verdict="$verdict (harmless: everything recorded)"
		else
			problems="$problems; exit 0 although the state is incomplete"
		fi
		;;
	*)
		problems="$problems; crashed (exit $rc): $(tail -n 2 run.err | tr '\n' ' ')"
		;;
	esac
	case $msg in *Sanitizer*|*"runtime error"*) problems="$problems; sanitizer report" ;; esac
	if [ -f st/dagrun.db ]; then
		ic=$(db st "PRAGMA integrity_check" 2>&1)
		[ "$ic" = ok ] || problems="$problems; integrity_check: $ic"
		bad=$(check_objects st)
		[ -z "$bad" ] || problems="$problems; recorded without its objects: $(echo "$bad" | head -n 2 | tr '\n' ' ')"
	fi
	# a later run without the shim
	if ! "$DAGRUN" -q -j1 --state st p.yaml >/dev/null 2>next.err; then
		problems="$problems; the run after it failed: $(tail -n 2 next.err | tr '\n' ' ')"
	else
		outputs st > st.out
		cmp -s st.out ref.out || problems="$problems; outputs differ from a run without faults"
		[ "$(db st "SELECT count(*) FROM claims")" -eq 0 ] || problems="$problems; claims left"
		[ "$(ls st/tmp | wc -l)" -eq 0 ] || problems="$problems; state/tmp not empty"
		stray=$(find st/objects -type f -name '*.tmp.*' | head -n 2)
		[ -z "$stray" ] || problems="$problems; temp files left in objects/: $(echo $stray)"
		bad=$(check_objects st)
		[ -z "$bad" ] || problems="$problems; after the later run: $(echo "$bad" | head -n 2 | tr '\n' ' ')"
	fi
	return 0
}

# scenario NAME STATE PATH OPS ERRNO SHORT EXE
scenario() {
	F_NAME=$1 F_STATE=$2 F_PATH=$3 F_OPS=$4 F_ERRNO=$5 F_SHORT=$6 F_EXE=$7
	case " ${FAULT_ONLY:-$1} " in *" $1 "*) ;; *) return ;; esac
	prepare "$F_STATE"
	F_AFTER_COUNT=1000000000
	faulted count.trace "$F_AFTER_COUNT" || { fail=$((fail + 1)); echo "FAIL $F_NAME: the counting run failed: $(tail -n 2 run.err)"; return; }
	m=$(wc -l < count.trace 2>/dev/null || echo 0)
	if [ "$m" -eq 0 ]; then
		fail=$((fail + 1)); echo "FAIL $F_NAME: no call matches $F_OPS on $F_PATH"; return
	fi
	last=-1
	i=0
	while [ "$i" -lt "$POINTS" ]; do
		n=$((i * m / POINTS))
		i=$((i + 1))
		[ "$n" -eq "$last" ] && continue
		last=$n
		if ! inject "$n"; then
			echo "skip $F_NAME after $n of $m calls: $verdict"
			continue
		fi
		if [ -z "$problems" ]; then
			pass=$((pass + 1)); echo "ok   $F_NAME after $n of $m calls: $verdict"
		else
			fail=$((fail + 1)); echo "FAIL $F_NAME after $n of $m calls: $verdict${problems#;}"
		fi
	done
}

start=$(date +%s)
#        name                 state     path                    ops     errno  short exe
scenario obj-write-ENOSPC     fresh     "*/st/objects/*:*/st/tmp/*-obj-*" write   ENOSPC 0 dagrun
scenario obj-write-short      existing  "*/st/objects/*:*/st/tmp/*-obj-*" write   ENOSPC 1 dagrun
scenario obj-fsync-EIO        fresh     "*/st/objects/*:*/st/tmp/*-obj-*" fsync   EIO    0 dagrun
scenario obj-rename-EIO       existing  "*/st/objects/*"        rename  EIO    0 dagrun
scenario tmp-fsync-EIO        fresh     "*/st/tmp/*"            fsync   EIO    0 dagrun
scenario node-write-ENOSPC    existing  "*/st/tmp/*/out/*"      write   ENOSPC 0 ""
scenario db-write-ENOSPC      fresh     "*/st/dagrun.db*"       write   ENOSPC 0 dagrun
scenario db-write-EIO         existing  "*/st/dagrun.db*"       write   EIO    0 dagrun
scenario db-write-short       existing  "*/st/dagrun.db*"       write   ENOSPC 1 dagrun
scenario db-fsync-EIO         existing  "*/st/dagrun.db*"       fsync   EIO    0 dagrun
scenario all-state-ENOSPC     existing  "*/st/*"                write,fsync,rename ENOSPC 0 dagrun
took=$(( $(date +%s) - start ))
echo "fault: $injected runs with faults injected ($calls calls failed), $absorbed harmless (exit 0, state complete), ${took}s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
