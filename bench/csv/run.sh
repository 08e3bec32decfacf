#!/bin/sh
# bench/csv/run.sh: data.load's CSV reader against pandas.read_csv on a
# 1,000,000-row (timestamp, value) CSV, side by side in one run.
#
# Each side is timed inside its own process: reading the file, splitting
# it, parsing the numbers and the timestamps (not the process start, not
# `import pandas`).  Best of 3 runs each, as wall time and as CPU time of
# the process; CPU time is the steadier figure on a loaded machine.
# Prints both and the ratios (pandas / dagrun).  Needs cc and
# /usr/bin/python3 with python3-pandas (Debian: apt-get install python3-pandas).
# ROWS=n changes the size; RUNS=n the number of runs.
set -eu
cd "$(dirname "$0")/../.."
OUT=bench/out
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
CSV=$OUT/csv_${ROWS}.csv
mkdir -p "$OUT"

if ! $PY -c 'import pandas' 2>/dev/null; then
	echo "bench/csv: python3-pandas is missing (apt-get install -y python3-pandas)" >&2
	exit 3
fi

# The data: one row a minute from 2020-01-01, values with 6 decimals.
if [ ! -s "$CSV" ]; then
	$PY - "$CSV" "$ROWS" <<'PYEOF'
import datetime, random, sys
path, rows = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
t0 = datetime.datetime(2020, 1, 1)
step = datetime.timedelta(minutes=1)
with open(path, "w") as f:
    f.write("timestamp,value\n")
    for i in range(rows):
        f.write("%s,%.6f\n" % ((t0 + i * step).strftime("%Y-%m-%d %H:%M:%S"),
                                rnd.gauss(100.0, 15.0)))
PYEOF
fi

cc -O2 -std=c11 -D_GNU_SOURCE -iquote engine -iquote tasks/lib -o "$OUT/csv_bench" \
	bench/csv/csv_bench.c tasks/lib/csv.c tasks/lib/timeparse.c \
	engine/err.c engine/xalloc.c engine/strbuf.c -lm

# best CMD...: runs CMD (which prints "wall cpu") RUNS times; prints the
# smallest wall and the smallest cpu.
best() {
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		"$@"
		i=$((i + 1))
	done | awk 'NR == 1 || $1 < w { w = $1 } NR == 1 || $2 < c { c = $2 }
		END { printf "%.3f %.3f\n", w, c }'
}

pandas_once() {
	$PY -c '
import sys, time, pandas
t0, c0 = time.perf_counter(), time.process_time()
df = pandas.read_csv(sys.argv[1], parse_dates=["timestamp"])
w, c = time.perf_counter() - t0, time.process_time() - c0
assert len(df) == int(sys.argv[2]) and str(df["timestamp"].dtype).startswith("datetime64")
print("%.6f %.6f" % (w, c))' "$CSV" "$ROWS"
}

c_once() { "$OUT/csv_bench" "$CSV" 2>/dev/null; }

C=$(best c_once)
P=$(best pandas_once)
PV=$($PY -c 'import pandas; print(pandas.__version__)')
echo "rows:   $ROWS ($(wc -c <"$CSV") bytes, $CSV)"
echo "$C" | awk '{ printf "dagrun: %s s wall, %s s cpu (csv reader + number and timestamp parse, best of '"$RUNS"')\n", $1, $2 }'
echo "$P" | awk '{ printf "pandas: %s s wall, %s s cpu (pandas '"$PV"' read_csv, parse_dates, best of '"$RUNS"')\n", $1, $2 }'
echo "$P $C" | awk '{ printf "ratio:  %.1fx faster than pandas (wall), %.1fx (cpu)\n", $1 / $3, $2 / $4 }'
