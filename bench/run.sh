#!/bin/sh
# `make bench`: installs the peer tools the benchmarks compare against (if
# missing), then runs every bench/*/run.sh in order, going on after a failure.
# BENCH_ONLY="engine csv" limits the run to those folders.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)

# command -> Debian package
need="ninja:ninja-build make:make snakemake:snakemake hyperfine:hyperfine git:git"
missing=""
for pair in $need; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
[ -x /usr/bin/python3 ] || missing="$missing python3"
if [ -n "$missing" ]; then
	echo "bench: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null ||
		echo "bench: could not install$missing; the benchmarks that need them will fail" >&2
fi

failed=""
for run in "$BENCH"/*/run.sh; do
	[ -f "$run" ] || continue
	name=$(basename "$(dirname "$run")")
	if [ -n "${BENCH_ONLY:-}" ]; then
		case " $BENCH_ONLY " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "== bench/$name"
	if [ -x "$run" ]; then "$run"; else sh "$run"; fi
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "== bench/$name: ok"
	else
		echo "== bench/$name: FAILED (exit $rc)"
		failed="$failed $name"
	fi
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed"
	exit 1
fi
echo "bench: all done"
