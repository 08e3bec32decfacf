#!/bin/sh
# Runs every test and ends with one line "N passed, N failed".
# Arguments: the unit-test binaries (built under ASan+UBSan by make).
# Integration tests are tests/integration/t*.sh; each prints its own
# "N passed, N failed" line, which is summed here.
cd "$(dirname "$0")/.." || exit 3
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0
fail=0
tally() { # $1: name, $2: log file, $3: exit code (and $T0, the start)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n 1)
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	if [ -z "$line" ]; then p=0; f=1; fi
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		echo "--- $1 failed:"
		grep -v '^ok ' "$2" | tail -n 40
	else
		echo "$1: $p passed ($(( $(date +%s) - T0 ))s)"
	fi
}
mkdir -p tests/tmp
for t in "$@"; do
	log=tests/tmp/$(basename "$t").log
	T0=$(date +%s)
	"$t" >"$log" 2>&1
	tally "$(basename "$t")" "$log" $?
done
for t in tests/integration/t*.sh; do
	[ -f "$t" ] || continue
	log=tests/tmp/$(basename "$t").log
	T0=$(date +%s)
	sh "$t" >"$log" 2>&1
	tally "$(basename "$t")" "$log" $?
done
# Reliability: dagrun killed at random moments (CRASH_KILLS rounds; the
# full figure in docs/reliability.md uses 200), injected disk faults, and
# 4 processes on one state (CONC_ROUNDS rounds, 50 by default).
for t in "tests/crash/run.sh ${CRASH_KILLS:-10}" tests/fault/run.sh \
	 "tests/concurrency/run.sh ${CONC_ROUNDS:-50}" \
	 ${FUZZ_SECONDS:+"tests/fuzz/run.sh $FUZZ_SECONDS"}; do
	name=$(echo "$t" | cut -d' ' -f1 | sed 's|tests/||; s|/run.sh||')
	log=tests/tmp/$name.log
	T0=$(date +%s)
	sh $t >"$log" 2>&1
	tally "$name" "$log" $?
done
# The Slurm executor on a real one-host cluster (root; installs slurm-wlm
# and munge when missing): only with SLURM_TEST=1.
if [ "${SLURM_TEST:-0}" = 1 ]; then
	sh tests/slurm/run.sh >tests/tmp/slurm.log 2>&1
	tally slurm tests/tmp/slurm.log $?
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
