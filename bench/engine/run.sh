#!/bin/sh
# The engine benchmark: dagrun against ninja, make and snakemake on the same
# layered DAG of trivial shell nodes (bench/engine/gen.py), at N=1000 and
# N=10000 nodes: cold build, no-op rerun, rerun after one input changed, and
# dagrun's planning time.  Results: bench/out/engine/results.md (+ .json).
#
# Knobs: BENCH_NS="1000 10000" and those listed in bench/engine/measure.py.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/engine
PY=/usr/bin/python3            # the python that sees Debian's packages
NS=${BENCH_NS:-1000 10000}

for t in ninja make snakemake git; do
	command -v "$t" >/dev/null 2>&1 || { echo "engine bench: '$t' is missing (bench/run.sh installs it)" >&2; exit 2; }
done

# Build dagrun.  Teammates may be mid-edit: retry a few times before giving up.
mkdir -p "$ROOT/bench/out"
tries=0
until make -C "$ROOT" -s dagrun >"$OUT.build.log" 2>&1; do
	tries=$((tries + 1))
	if [ $tries -ge 4 ]; then
		echo "engine bench: 'make dagrun' keeps failing (see $OUT.build.log)" >&2
		[ -x "$ROOT/dagrun" ] || exit 3
		echo "engine bench: benchmarking the existing ./dagrun" >&2
		break
	fi
	echo "engine bench: build failed, retrying in 30 s" >&2
	sleep 30
done

rm -rf "$OUT"
mkdir -p "$OUT"
mv "$OUT.build.log" "$OUT/build.log" 2>/dev/null
# Pin the binary: a rebuild by someone else mid-bench must not change it.
cp "$ROOT/dagrun" "$OUT/dagrun"

# shellcheck disable=SC2086
$PY "$HERE/gen.py" "$OUT" $NS || exit 3
# shellcheck disable=SC2086
exec $PY "$HERE/measure.py" "$OUT" "$OUT/dagrun" $NS
