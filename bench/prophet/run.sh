#!/bin/sh
# The Prophet bench: dagrun's train.prophet against R's prophet (Debian's
# r-cran-prophet, the reference implementation) and statsmodels'
# ExponentialSmoothing, on the same series, split and settings (Prophet's
# defaults, US holidays, the last 20% held out): the Peyton Manning log
# page views and ETTh1's oil temperature OT (the flagship series).
# Reports the fit-time ratio, the RMSE between the forecasts of dagrun and
# R relative to the series' sd, each one's held-out RMSE and coverage.
# R is also fitted with Stan's Newton optimizer (the exact optimum, which
# R's default L-BFGS stops short of) for the series in PROPHET_NEWTON.
# Results: bench/out/prophet/results.md (+ results.json).
#
# Knobs: PROPHET_SERIES="peyton etth1", PROPHET_REPS=3 (timed fits of
# each tool; the median counts), PROPHET_NEWTON="peyton" ("" for none;
# Newton in R takes minutes: about 3 on Peyton, 9 on ETTh1).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/prophet
PY=/usr/bin/python3            # the python that sees Debian's packages
SERIES=${PROPHET_SERIES:-peyton etth1}
REPS=${PROPHET_REPS:-3}
NEWTON=${PROPHET_NEWTON-peyton}

if ! dpkg -s r-cran-prophet python3-statsmodels >/dev/null 2>&1; then
	echo "prophet bench: installing r-cran-prophet python3-statsmodels"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q r-cran-prophet \
		python3-statsmodels >/dev/null || { echo "prophet bench: install failed" >&2; exit 3; }
fi

# Build dagrun.  Teammates may be mid-edit: retry a few times.
mkdir -p "$ROOT/bench/out"
tries=0
until make -C "$ROOT" -s dagrun >"$OUT.build.log" 2>&1; do
	tries=$((tries + 1))
	if [ $tries -ge 4 ]; then
		[ -x "$ROOT/dagrun" ] || { echo "prophet bench: cannot build dagrun" >&2; exit 3; }
		echo "prophet bench: benchmarking the existing ./dagrun" >&2
		break
	fi
	sleep 30
done
rm -rf "$OUT"
mkdir -p "$OUT"
mv "$OUT.build.log" "$OUT/build.log" 2>/dev/null
cp "$ROOT/dagrun" "$OUT/dagrun"   # pinned: a rebuild mid-bench must not change it

# series NAME -> "CSV TIME_COLUMN VALUE_COLUMN ETS_PERIOD"
series() {
	case $1 in
	peyton) echo "examples/data/example_wp_log_peyton_manning.csv ds y 7" ;;
	etth1) echo "examples/data/ETTh1.csv date OT 24" ;;
	*) echo "prophet bench: unknown series '$1'" >&2; exit 2 ;;
	esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# dagrun NAME CSV TIME VALUE: fit REPS times in a scratch project; leaves
# the outputs in $OUT/NAME/dagrun and prints "FIT_SECONDS PREDICT_SECONDS".
run_dagrun() {
	proj=$OUT/$1/project
	mkdir -p "$proj/data" "$proj/pipelines"
	cp "$ROOT/$2" "$proj/data/series.csv"
	cat > "$proj/pipelines/p.yaml" <<YAML
pipeline: prophet_bench
nodes:
  ingest:
    task: data.load
    params: {path: data/series.csv, timestamp: $3, target: $4}
  train:
    task: train.prophet
    needs: [ingest]
  copy:
    needs: [train]
    cmd: "rm -rf out && mkdir out && cp \$DAGRUN_IN/train/* out/"
YAML
	(cd "$proj" && git init -q . && git add -A && git -c user.email=b@b -c user.name=b commit -qm bench) || exit 3
	(cd "$proj" && "$OUT/dagrun" -q pipelines/p.yaml) || { echo "prophet bench: dagrun failed on $1" >&2; exit 1; }
	i=1
	while [ $i -lt "$REPS" ]; do
		(cd "$proj" && "$OUT/dagrun" -q --force train pipelines/p.yaml) || exit 1
		i=$((i + 1))
	done
	mv "$proj/out" "$OUT/$1/dagrun"
	fit=$(cat "$proj"/state/logs/*/train.log | sed -n 's/.* rows in \([0-9.]*\) s (.*/\1/p' | median)
	pred=$(cat "$proj"/state/logs/*/train.log | sed -n 's/.*forecast [0-9]* rows in \([0-9.]*\) s$/\1/p' | median)
	echo "$fit $pred"
}

echo '[' > "$OUT/results.json"
sep=""
for name in $SERIES; do
	set -- $(series "$name")
	csv=$1 tcol=$2 ycol=$3 period=$4
	mkdir -p "$OUT/$name"
	echo "prophet bench: $name: dagrun"
	d=$(run_dagrun "$name" "$csv" "$tcol" "$ycol") || exit 1
	echo "prophet bench: $name: R prophet (L-BFGS, $REPS fits and a predict)"
	r=$(Rscript "$HERE/prophet.R" "$ROOT/$csv" "$tcol" "$ycol" 0.2 "$OUT/$name/r.csv" \
		"$REPS" LBFGS 2>"$OUT/$name/r.log" | tail -n 1)
	[ -n "$r" ] || { echo "prophet bench: R failed on $name (see $OUT/$name/r.log)" >&2; exit 1; }
	newton_csv=""
	case " $NEWTON " in *" $name "*)
		echo "prophet bench: $name: R prophet (Newton: minutes)"
		Rscript "$HERE/prophet.R" "$ROOT/$csv" "$tcol" "$ycol" 0.2 "$OUT/$name/r_newton.csv" \
			0 Newton 2>"$OUT/$name/r_newton.log" >"$OUT/$name/r_newton.json" &&
			newton_csv=$OUT/$name/r_newton.csv ;;
	esac
	echo "prophet bench: $name: statsmodels ExponentialSmoothing"
	e=$($PY "$HERE/ets.py" "$ROOT/$csv" "$tcol" "$ycol" 0.2 "$period" "$REPS") || exit 1
	c=$($PY "$HERE/compare.py" "$OUT/$name/dagrun" "$OUT/$name/r.csv" "$ROOT/$csv" "$ycol" \
		$newton_csv) || exit 1
	printf '%s{"series": "%s", "dagrun": {"fit": %s, "predict": %s}, "r": %s, "ets": %s, "compare": %s}\n' \
		"$sep" "$name" ${d% *} ${d#* } "$r" "$e" "$c" >> "$OUT/results.json"
	sep=","
done
echo ']' >> "$OUT/results.json"

$PY - "$OUT/results.json" > "$OUT/results.md" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
print("| series | rows (test) | dagrun fit | R fit (warm) | ratio | ETS fit | "
      "dagrun vs R, of sd | vs R Newton | R L-BFGS vs R Newton | RMSE dagrun | RMSE R | "
      "RMSE R Newton | RMSE ETS | coverage dagrun / R (80%) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
pct = lambda c, k: "%.2f%%" % (100 * c[k]) if k in c else "-"
num = lambda c, k: "%.4f" % c[k] if k in c else "-"
for r in rows:
    c = r["compare"]
    print("| %s | %d (%d) | %.3f s | %.2f s | %.0fx | %.2f s | %s | %s | %s | %.4f | %.4f | %s | %.4f | %.2f / %.2f |" % (
        r["series"], c["rows"], c["test_rows"], r["dagrun"]["fit"], r["r"]["fit_warm"],
        r["r"]["fit_warm"] / r["dagrun"]["fit"], r["ets"]["fit"], pct(c, "agreement"),
        pct(c, "agreement_newton"), pct(c, "r_lbfgs_vs_newton"), c["rmse_dagrun"],
        c["rmse_r"], num(c, "rmse_r_newton"), r["ets"]["rmse"], c["coverage_dagrun"],
        c["coverage_r"]))
EOF
cat "$OUT/results.md"
