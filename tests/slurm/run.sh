#!/bin/sh
# The Slurm executor against a real one-host Slurm cluster.
#
#   tests/slurm/run.sh           (or SLURM_TEST=1 tests/run.sh; needs root)
#
# Installs slurm-wlm and munge with apt-get if they are missing, then starts
# a private cluster for this host: its own munge key and socket, its own
# slurm.conf (the host's name, CPUs and memory from `slurmd -C`, ports
# 16817/16818, everything under one temporary folder), slurmctld and
# slurmd, and waits until sinfo shows the node idle.  Then:
#   - a pipeline of shell nodes and a data.load + data.preprocess pair on a
#     slice of examples/data/ETTh1.csv runs with --executor slurm in one
#     project and with the local executor in another: every node ran as a
#     job (job ids in `dagrun show`), a node with `executor: local` did
#     not, and the outputs are byte-identical;
#   - a rerun is cached and submits nothing; -j 1 keeps one job in flight;
#   - a failing node and a timed-out node fail with their job ids, a job
#     sbatch refuses fails its node with sbatch's message;
#   - `executor: slurm` on a node works without --executor;
#   - the flagship (pipelines/full.yaml) runs through Slurm with the same
#     outputs, node for node, as the local executor;
#   - Ctrl-C of dagrun, and dagrun killed by SIGKILL, cancel the job.
# Stops the daemons and removes the cluster's folder at the end, whatever
# happened.  Prints "N passed, N failed".
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DAGRUN=${DAGRUN:-$ROOT/dagrun}
WORK=$ROOT/tests/tmp/slurm
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "$2" ] && echo "     $2"; }
expect() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "rc=$RC err=[$ERR]"; fi; }
contains() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

# ---- the cluster ----------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	bad "the Slurm test needs root (it installs packages and runs slurmd)"
	finish
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
	echo "installing slurm-wlm and munge (this takes a minute or two)"
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q slurm-wlm munge; } >"$ROOT/tests/tmp/slurm-apt.log" 2>&1; then
		bad "apt-get install slurm-wlm munge" "see tests/tmp/slurm-apt.log"
		finish
	fi
fi
[ -x "$DAGRUN" ] || { bad "no dagrun binary at $DAGRUN (run make)"; finish; }

RT=$(mktemp -d /tmp/dagrun-slurm.XXXXXX)
chmod 755 "$RT"
export SLURM_CONF=$RT/slurm.conf
MUNGED= CTLD= SLURMD=
cleanup() {
	if [ -n "$CTLD" ]; then
		scancel --full -u "$(id -un)" 2>/dev/null
		i=0
		while [ -n "$(squeue -h 2>/dev/null)" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	fi
	for p in $SLURMD $CTLD $MUNGED; do kill "$p" 2>/dev/null; done
	for p in $SLURMD $CTLD $MUNGED; do wait "$p" 2>/dev/null; done
	rm -rf "$RT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HOST=$(hostname -s)
mkdir -p "$RT/munge" "$RT/ctld" "$RT/spool"
chmod 711 "$RT/munge"
dd if=/dev/urandom of="$RT/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$RT/munge/munge.key"
munged -F --force --socket="$RT/munge/munge.sock" --key-file="$RT/munge/munge.key" \
	--pid-file="$RT/munge/munged.pid" --log-file="$RT/munge/munged.log" \
	--seed-file="$RT/munge/seed" >"$RT/munged.out" 2>&1 &
MUNGED=$!
NODE_LINE=$(slurmd -C | head -n 1 | sed 's/ UpTime=.*//')
cat >"$SLURM_CONF" <<EOF
ClusterName=dagruntest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$RT/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$RT/ctld
SlurmdSpoolDir=$RT/spool
SlurmctldPidFile=$RT/slurmctld.pid
SlurmdPidFile=$RT/slurmd.pid
SlurmctldLogFile=$RT/slurmctld.log
SlurmdLogFile=$RT/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillWait=5
$NODE_LINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
i=0
while [ ! -S "$RT/munge/munge.sock" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
slurmctld -D -f "$SLURM_CONF" >"$RT/slurmctld.out" 2>&1 &
CTLD=$!
slurmd -D -N "$HOST" -f "$SLURM_CONF" >"$RT/slurmd.out" 2>&1 &
SLURMD=$!
i=0
while [ "$(sinfo -h -o %t 2>/dev/null)" != idle ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
if [ "$(sinfo -h -o %t 2>/dev/null)" != idle ]; then
	bad "the cluster starts: sinfo shows $HOST idle" \
	    "$(tail -n 5 "$RT/slurmctld.log" "$RT/slurmd.log" "$RT"/*.out 2>&1)"
	finish
fi
ok "the cluster starts: sinfo shows $HOST idle"

# ---- the projects ---------------------------------------------------------

rm -rf "$WORK"
SIDE=$WORK/side
export SIDE
mkdir -p "$SIDE"
run() { # run DIR ARGS...: dagrun in DIR, leaving RC and ERR
	dir=$1
	shift
	(cd "$dir" && "$DAGRUN" "$@") >"$WORK/.out" 2>"$WORK/.err"
	RC=$?
	ERR=$(cat "$WORK/.err")
}
project() { # project NAME: a fresh project with the test pipelines
	d=$WORK/$1
	mkdir -p "$d/pipelines"
	(cd "$d" && git init -q . && git config user.email t@example.com &&
	 git config user.name t)
	head -n 301 "$ROOT/examples/data/ETTh1.csv" >"$d/etth1.csv"
	cat >"$d/pipelines/p.yaml" <<'YAML'
pipeline: slurm
nodes:
  numbers:
    cmd: |
      echo "job=$SLURM_JOB_ID host=$(hostname)" >> "$SIDE/numbers.$(basename "$DAGRUN_ROOT")"
      seq 1 1000 > "$DAGRUN_OUT/n.txt"
  sum:
    needs: [numbers]
    cmd: "awk '{s += $1} END {print s}' \"$DAGRUN_IN/numbers/n.txt\" > \"$DAGRUN_OUT/sum.txt\""
    resources: {cpus: 1, mem_mb: 64}
    timeout: 120
  reverse:
    needs: [numbers]
    cmd: "sort -rn \"$DAGRUN_IN/numbers/n.txt\" > \"$DAGRUN_OUT/rev.txt\""
  tiny:
    executor: local
    cmd: "echo \"slurm=x$SLURM_JOB_ID\" > \"$DAGRUN_OUT/where.txt\""
  ingest:
    task: data.load
    params: {path: etth1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, input_seq_len: 8, split: [0.7, 0.1, 0.2]}
  report:
    needs: [sum, reverse, features, tiny]
    cmd: "cat \"$DAGRUN_IN/sum/sum.txt\" \"$DAGRUN_IN/tiny/where.txt\" > \"$DAGRUN_OUT/report.txt\" && ls \"$DAGRUN_IN/features\" >> \"$DAGRUN_OUT/report.txt\""
YAML
	cat >"$d/pipelines/edge.yaml" <<'YAML'
pipeline: edge
nodes:
  bad:
    cmd: "echo oops; exit 3"
  slow:
    cmd: "sleep 60"
    timeout: 2
  nap:
    cmd: "sleep 300"
  huge:
    cmd: "true"
    resources: {mem_mb: 100000000}
  pinned:
    executor: slurm
    cmd: "test -n \"$SLURM_JOB_ID\" && echo yes > \"$DAGRUN_OUT/yes.txt\""
  one:
    cmd: "echo $(date +%s.%N) $(sleep 1; date +%s.%N) >> \"$SIDE/span\"; echo $DAGRUN_NODE > \"$DAGRUN_OUT/t\" # one"
  two:
    cmd: "echo $(date +%s.%N) $(sleep 1; date +%s.%N) >> \"$SIDE/span\"; echo $DAGRUN_NODE > \"$DAGRUN_OUT/t\" # two"
  three:
    cmd: "echo $(date +%s.%N) $(sleep 1; date +%s.%N) >> \"$SIDE/span\"; echo $DAGRUN_NODE > \"$DAGRUN_OUT/t\" # three"
YAML
}
outputs() { sqlite3 "$1/state/dagrun.db" "SELECT node || '=' || outputs FROM node_runs WHERE run_id = (SELECT max(run_id) FROM node_runs) ORDER BY node"; }
jobs_left() { squeue -h 2>/dev/null | wc -l; }
wait_running() { # until squeue shows a running job (at most 60 s)
	i=0
	while [ -z "$(squeue -h -t R 2>/dev/null)" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
	[ -n "$(squeue -h -t R 2>/dev/null)" ]
}
wait_empty() { # until squeue shows no job (at most 30 s)
	i=0
	while [ "$(jobs_left)" != 0 ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
	[ "$(jobs_left)" = 0 ]
}

project local
project slurm
run "$WORK/local" pipelines/p.yaml
expect "the local executor runs the pipeline (exit 0)" [ "$RC" -eq 0 ]
run "$WORK/slurm" --executor slurm -j 4 pipelines/p.yaml
expect "--executor slurm runs it too (exit 0)" [ "$RC" -eq 0 ] && contains "$ERR" "7 ran, 0 cached"
expect "... a node ran inside a Slurm job" grep -q 'job=[0-9]' "$SIDE/numbers.slurm"
expect "... the local run did not" grep -q 'job= ' "$SIDE/numbers.local"
expect "... the same outputs hashes as the local executor" \
	[ -n "$(outputs "$WORK/local")" -a "$(outputs "$WORK/slurm")" = "$(outputs "$WORK/local")" ]
same=yes
[ -d "$WORK/slurm/state/objects" ] || same=no
for f in $(cd "$WORK/slurm/state/objects" && find . -type f); do
	cmp -s "$WORK/slurm/state/objects/$f" "$WORK/local/state/objects/$f" || same=no
done
expect "... byte-identical outputs" [ "$same" = yes ]
(cd "$WORK/slurm" && "$DAGRUN" show last) >"$WORK/show.txt" 2>&1
expect "dagrun show gives each job id" [ "$(grep -c 'slurm job [0-9]' "$WORK/show.txt")" = 6 ]
expect "... and none for the node with executor: local" \
	sh -c "grep '^tiny ' '$WORK/show.txt' | grep -vq 'slurm job'"
expect "... the node with executor: local ran outside Slurm" \
	grep -q 'slurm=x$' "$WORK/slurm/state/objects"/*/* 2>/dev/null
expect "no job is left in the queue" [ "$(jobs_left)" = 0 ]
run "$WORK/slurm" --executor slurm pipelines/p.yaml
expect "a rerun is cached (exit 0, nothing submitted)" [ "$RC" -eq 0 ] && contains "$ERR" "0 ran, 7 cached"

run "$WORK/slurm" --executor slurm -k pipelines/edge.yaml bad slow
expect "a failing node fails the run (exit 1)" [ "$RC" -eq 1 ]
expect "... with its log tail" contains "$ERR" "| oops"
(cd "$WORK/slurm" && "$DAGRUN" show last) >"$WORK/show.txt" 2>&1
expect "... exit code and job id in dagrun show" grep -q 'exit code 3 (slurm job [0-9]' "$WORK/show.txt"
expect "a node past its timeout fails: timed out, with its job id" \
	grep -q 'timed out after 2s (slurm job [0-9]' "$WORK/show.txt"
expect "... and its job is gone" wait_empty

run "$WORK/slurm" --executor slurm pipelines/edge.yaml huge
expect "sbatch refuses a job: the node fails (exit 1)" [ "$RC" -eq 1 ]
expect "... with sbatch's message in the log tail" contains "$ERR" "sbatch failed"

run "$WORK/slurm" pipelines/edge.yaml pinned
expect "executor: slurm on a node, without --executor: a job" [ "$RC" -eq 0 ] &&
	(cd "$WORK/slurm" && "$DAGRUN" show last) | grep -q 'pinned .*slurm job'

run "$WORK/slurm" --executor slurm -j 1 pipelines/edge.yaml one two three
overlap=$(sort -n "$SIDE/span" | awk 'NR > 1 && $1 < end { o = 1 } { end = $2 } END { print o + 0 }')
expect "-j 1: one job in flight at a time" [ "$RC" -eq 0 -a "$(wc -l < "$SIDE/span")" = 3 -a "$overlap" = 0 ]

# the flagship, pipelines/full.yaml on the bundled ETTh1 series, through
# Slurm and locally: the same outputs, node for node
flagship() { # flagship NAME: a project holding the flagship and its data
	d=$WORK/$1
	mkdir -p "$d/pipelines" "$d/lua" "$d/examples/data"
	cp "$ROOT/pipelines/full.yaml" "$d/pipelines/"
	cp "$ROOT"/lua/*.lua "$d/lua/"
	cp "$ROOT/examples/data/ETTh1.csv" "$d/examples/data/"
	(cd "$d" && git init -q . && git config user.email t@example.com &&
	 git config user.name t && git add -A && git commit -qm flagship)
}
flagship flag_local
flagship flag_slurm
run "$WORK/flag_local" -j 2 pipelines/full.yaml
expect "the flagship runs locally (exit 0)" [ "$RC" -eq 0 ]
run "$WORK/flag_slurm" --executor slurm -j 2 pipelines/full.yaml
expect "the flagship runs through Slurm (exit 0)" [ "$RC" -eq 0 ]
n_flag=$(sqlite3 "$WORK/flag_local/state/dagrun.db" "SELECT count(*) FROM node_runs WHERE run_id = 1")
expect "... every one of its $n_flag nodes as a Slurm job" \
	[ "$n_flag" -gt 10 -a "$( (cd "$WORK/flag_slurm" && "$DAGRUN" show last) | grep -c 'slurm job [0-9]')" = "$n_flag" ]
expect "... with the same outputs as the local executor, node for node" \
	[ -n "$(outputs "$WORK/flag_local")" -a "$(outputs "$WORK/flag_slurm")" = "$(outputs "$WORK/flag_local")" ]
expect "... and the same model at forecaster@production" \
	[ "$(cd "$WORK/flag_slurm" && "$DAGRUN" models forecaster --json | jq -c '[.[] | select(.aliases | index("production")) | .outputs]')" = \
	  "$(cd "$WORK/flag_local" && "$DAGRUN" models forecaster --json | jq -c '[.[] | select(.aliases | index("production")) | .outputs]')" ]
expect "no job is left in the queue" [ "$(jobs_left)" = 0 ]

(cd "$WORK/slurm" && exec "$DAGRUN" --executor slurm pipelines/edge.yaml nap) >"$WORK/.err" 2>&1 &
HEAD=$!
wait_running
kill -INT "$HEAD"
wait "$HEAD"
RC=$?
expect "Ctrl-C: dagrun exits 130" [ "$RC" -eq 130 ]
expect "... and the job is cancelled" wait_empty

(cd "$WORK/slurm" && exec "$DAGRUN" --executor slurm pipelines/edge.yaml nap) >"$WORK/.err" 2>&1 &
HEAD=$!
wait_running
kill -KILL "$HEAD"
wait "$HEAD" 2>/dev/null
expect "dagrun killed by SIGKILL: its job is cancelled too" wait_empty
finish
