#!/bin/sh
# train.prophet through the real binary: data.load on the Peyton Manning
# series, then train.prophet; every output is written with the shapes
# promised, the metrics reach the state, a rerun is cached and a forced
# rerun writes the same bytes; logistic growth runs with a cap; bad params
# exit 2 with file:line (schema) or the param's name (checked at run time).
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/example_wp_log_peyton_manning.csv" data/pm.csv

# pipeline FILE CSV PARAMS: load CSV, fit with PARAMS, copy the outputs to
# got/ in the project, where this test looks.
pipeline() {
	cat > "$1" <<YAML
pipeline: prophet
nodes:
  ingest:
    task: data.load
    params: {path: $2, timestamp: ds, target: y}
  train:
    task: train.prophet
    needs: [ingest]
    params: {$3}
  copy:
    needs: [train]
    cmd: "rm -rf got && mkdir got && cp \$DAGRUN_IN/train/* got/"
YAML
}
model() { jq -r "$1" got/model.json 2>/dev/null; }

pipeline pipelines/p.yaml data/pm.csv "uncertainty_samples: 300, seed: 7"
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "Peyton Manning fits (exit 0)" [ "$RC" -eq 0 ]
expect "every output is written" [ -f got/model.json -a -f got/forecast.npy \
	-a -f got/T_test.npy -a -f got/metrics.json ]
expect "forecast.npy is float64 [581, 4]: the last 20% of 2905 rows" contains \
	"$(head -c 128 got/forecast.npy)" "'descr': '<f8', 'fortran_order': False, 'shape': (581, 4), }"
expect "T_test.npy is int64 [581]" [ "$(wc -c < got/T_test.npy)" -eq $((128 + 581 * 8)) ]
expect "metrics.json has rmse, mae, mse, r2, coverage" \
	[ "$(jq -c 'keys' got/metrics.json)" = '["coverage","mae","mse","r2","rmse"]' ]
expect "the held-out rmse is sane (log views, sd about 1)" \
	[ "$(jq '.rmse > 0.3 and .rmse < 1.2' got/metrics.json)" = true ]
v=$(sqlite3 state/dagrun.db "select group_concat(name) from (select name from metrics where node = 'train' order by name)")
expect "the metrics are in the state" [ "$v" = "coverage,mae,mr2,mse,rmse" -o "$v" = "coverage,mae,mse,r2,rmse" ]
expect "model.json: 8 years of days give yearly 10 and weekly 3" \
	[ "$(model '[.seasonalities[] | "\(.name)=\(.order)"] | join(",")')" = "yearly=10,weekly=3" ]
expect "model.json: 25 changepoints and their rate changes" \
	[ "$(model '[(.changepoints | length), (.params.delta | length)] | join(",")')" = "25,25" ]
expect "model.json: US holidays with observed days" \
	[ "$(model '.holidays | index("Independence Day (Observed)") != null')" = true ]
expect "model.json: beta has one entry per column" \
	[ "$(model '.params.beta | length')" = "$(model '(.seasonalities | map(.order * 2) | add) + (.holidays | length)')" ]
expect "model.json: y scale is max |y| of the training rows" \
	[ "$(model '.y_scale > 12 and .y_scale < 13')" = true ]
expect "the node log reports the fit" contains "$(cat state/logs/1/train.log)" "fitted 'y' on 2324 rows"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	v=$(/usr/bin/python3 -c '
import numpy as n, csv
f = n.load("got/forecast.npy"); t = n.load("got/T_test.npy")
y = [float(r["y"]) for r in csv.DictReader(open("data/pm.csv"))][-581:]
ok = (f[:, 1] <= f[:, 0]).all() and (f[:, 0] <= f[:, 2]).all()
print(ok, n.allclose(f[:, 3], y), (n.diff(t) > 0).all(), t[0] > 1.3e9)')
	expect "numpy reads lower <= yhat <= upper, y, rising times" [ "$v" = "True True True True" ]
fi

run_dagrun pipelines/p.yaml
expect "an unchanged pipeline is cached" contains "$ERR" "3 cached"
mv got got1
run_dagrun --force train --force copy pipelines/p.yaml
same=1
for f in got1/*; do cmp -s "$f" "got/${f#got1/}" || same=0; done
expect "a forced rerun writes byte-identical outputs" [ "$RC" -eq 0 -a "$same" -eq 1 ]

pipeline pipelines/seed.yaml data/pm.csv "uncertainty_samples: 300, seed: 8"
git add -A && git commit -qm seed
run_dagrun pipelines/seed.yaml
expect "another seed reruns and moves only the intervals" [ "$RC" -eq 0 ]
expect "... the fitted model stays" [ "$(jq -S 'del(.config.seed)' got/model.json)" = \
	"$(jq -S 'del(.config.seed)' got1/model.json)" ]
expect "... the forecast bytes differ" sh -c '! cmp -s got/forecast.npy got1/forecast.npy'

pipeline pipelines/logistic.yaml data/pm.csv "growth: logistic, cap: 14, seasonality_mode: multiplicative, uncertainty_samples: 0, country: null, n_changepoints: 10"
git add -A && git commit -qm logistic
run_dagrun pipelines/logistic.yaml
expect "logistic growth with a cap, multiplicative, no holidays (exit 0)" [ "$RC" -eq 0 ]
expect "... without intervals, coverage is null" [ "$(jq .coverage got/metrics.json)" = null ]
expect "... and no holiday columns" [ "$(model '.holidays | length')" = 0 ]

# Bad params: schema errors name file:line before anything runs; the
# rest fail the node with exit 2 and the param's name.
printf 'ds,y\n2020-01-01,1\n2020-01-02,2\n' > data/tiny.csv
cat > bad.txt <<'EOF'
n_changepoints: -1|p.yaml:9:|param 'n_changepoints' of task 'train.prophet' must be between 0 and 1000
growth: exponential|p.yaml:9:|must be one of linear|logistic
interval_width: 1.5|p.yaml:9:|param 'interval_width'
n_changepoint: 5|p.yaml:9:|unknown param 'n_changepoint' for task 'train.prophet'
growth: logistic|train|logistic growth needs a capacity
weekly_seasonality: maybe|train|param 'weekly_seasonality' of task 'train.prophet': expected "auto", true, false or a Fourier order
yearly_seasonality: 101|train|expected "auto", true, false or a Fourier order 0 to 100, found 101
country: FR|train|no holidays for 'FR'
country: 5|train|param 'country' of task 'train.prophet': expected a country code (US), or null
target: nope|train|no number column 'nope'
data: elsewhere|train|no needed node 'elsewhere'
EOF
git add -A && git commit -qm bad
while IFS='|' read -r params where what; do
	pipeline pipelines/p.yaml data/pm.csv "$params"
	rm -rf got
	run_dagrun pipelines/p.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$params exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$where" || ! contains "$ERR" "$what"; then
		fail "$params: $where ... $what" "err=[$ERR]"
	elif [ -e got ]; then
		fail "$params leaves no outputs" "got/ exists"
	else
		ok "$params: exit 2, $where ... $what"
	fi
done < bad.txt
pipeline pipelines/p.yaml data/tiny.csv ""
run_dagrun pipelines/p.yaml
expect "two rows are too few (exit 2)" [ "$RC" -eq 2 ]
expect "... and the message says why" contains "$ERR" "too few rows: 2, of which 0 held out"
finish
