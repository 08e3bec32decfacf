#!/bin/sh
# train.holt_winters through the real binary: a noiseless daily series
# (level 20, trend 0.5 a day, a weekly season) is recovered and its
# held-out 28 days forecast to rounding, the season detected from the step;
# the outputs and their shapes; a cached rerun and byte-identical forced
# rerun; refusals exit 2 with the reason.  Then, when /usr/bin/python3 has
# statsmodels, parity on the Peyton Manning series: statsmodels'
# recursion from our initial states and params gives our SSE and
# forecasts, its heuristic our initial season, and no start of scipy's
# L-BFGS-B on its SSE finds a lower one than our fit.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/example_wp_log_peyton_manning.csv" data/pm.csv

# 140 days from 2024-01-01 (days of month computed by hand: Jan 31, Feb 29...)
awk 'BEGIN { split("31 29 31 30 31", len, " "); split("3 -1 4 -2 0 1 -5", s, " ");
	print "ds,y"; mo = 1; d = 1;
	for (t = 0; t < 140; t++) {
		printf "2024-%02d-%02d,%.10g\n", mo, d, 20 + 0.5 * t + s[t % 7 + 1];
		if (++d > len[mo]) { d = 1; mo++ } } }' > data/lin.csv
awk -F, 'NR == 31 { print $1 ",0"; next } { print }' data/lin.csv > data/zero.csv   # data row 30
awk 'BEGIN { print "ds,y"; for (t = 0; t < 100; t++) { s = t * 5000;
	printf "2024-01-%02d %02d:%02d:%02d,%d\n", 1 + int(s / 86400), int(s % 86400 / 3600),
		int(s % 3600 / 60), s % 60, 10 + t % 3 } }' > data/odd.csv

# pipeline FILE CSV PARAMS
pipeline() {
	cat > "$1" <<YAML
pipeline: hw
nodes:
  ingest:
    task: data.load
    params: {path: $2, timestamp: ds, target: y}
  fit:
    task: train.holt_winters
    needs: [ingest]
    params: {$3}
  copy:
    needs: [fit]
    cmd: "rm -rf got && mkdir got && cp \$DAGRUN_IN/fit/* got/"
YAML
}
model() { jq -r "$1" got/model.json 2>/dev/null; }

pipeline pipelines/p.yaml data/lin.csv "trend: add, seasonal: add"
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "a noiseless trend and season fit (exit 0)" [ "$RC" -eq 0 ]
expect "the season is detected from the daily step: 7" [ "$(model .seasonal_periods)" = 7 ]
expect "the initial states are the true ones (level 19.5 before day 0, trend 0.5)" \
	[ "$(model '[.initial.level, .initial.trend, .initial.season[0]] | map(. * 1e6 | round) | join(",")')" = "19500000,500000,3000000" ]
expect "the fit has no error (sse below 1e-18)" [ "$(model '.sse < 1e-18')" = true ]
expect "the final trend is 0.5 and the final level the last fitted day's" \
	[ "$(model '[.final.trend, .final.level] | map(. * 1e6 | round) | join(",")')" = "500000,75500000" ]
expect "the 28 held-out days are forecast to rounding (rmse < 1e-9)" \
	[ "$(jq '.rmse < 1e-9' got/metrics.json)" = true ]
expect "metrics.json has exactly rmse, mae, mse, r2" \
	[ "$(jq -c keys got/metrics.json)" = '["mae","mse","r2","rmse"]' ]
expect "forecast.npy is float64 [28, 2]" contains "$(head -c 128 got/forecast.npy)" \
	"'descr': '<f8', 'fortran_order': False, 'shape': (28, 2), }"
expect "T_test.npy is int64 [28]" [ "$(wc -c < got/T_test.npy)" -eq $((128 + 28 * 8)) ]
expect "model.json: type, components, target, step, t_last" [ "$(model \
	'[.type, .trend, .seasonal, .damped, .target, .step, .t_last, .n_train, .n_test] | map(tostring) | join(",")')" = \
	"holt_winters,add,add,false,y,86400,$(date -u -d 2024-04-21 +%s),112,28" ]
expect "the log reports the fit" contains "$(cat state/logs/1/fit.log)" "fitted 'y' on 112 rows in"
v=$(sqlite3 state/dagrun.db "select count(*) from metrics where node = 'fit' and name in ('rmse', 'mae', 'mse', 'r2')")
expect "the metrics reach the state" [ "$v" = 4 ]

# test_mode one_step: the same model, each held-out day forecast from the
# true days before it; on the noiseless series that is exact too, and its
# first forecast is multi_step's first (both from the end of the fit)
cp got/model.json "$WORK/multi.json"
cp got/forecast.npy "$WORK/multi.npy"
pipeline pipelines/one.yaml data/lin.csv "trend: add, seasonal: add, test_mode: one_step"
git add -A && git commit -qm one
run_dagrun pipelines/one.yaml
expect "test_mode one_step runs (exit 0)" [ "$RC" -eq 0 ]
expect "... writes the same model.json as multi_step" cmp -s got/model.json "$WORK/multi.json"
expect "... forecasts the noiseless held-out days to rounding (rmse < 1e-9)" \
	[ "$(jq '.rmse < 1e-9' got/metrics.json)" = true ]
expect "... its first forecast is multi_step's (the same 16 bytes: yhat, y)" \
	[ "$(od -An -tx1 -j128 -N16 got/forecast.npy)" = "$(od -An -tx1 -j128 -N16 "$WORK/multi.npy")" ]
run_dagrun pipelines/p.yaml

run_dagrun pipelines/p.yaml
expect "an unchanged pipeline is cached" contains "$ERR" "3 cached"
mv got got1
run_dagrun --force fit --force copy pipelines/p.yaml
same=1
for f in got1/*; do cmp -s "$f" "got/${f#got1/}" || same=0; done
expect "a forced rerun writes byte-identical outputs" [ "$RC" -eq 0 -a "$same" -eq 1 ]

pipeline pipelines/p.yaml data/pm.csv "trend: mul, damped: true, seasonal: mul"
git add -A && git commit -qm mul
run_dagrun pipelines/p.yaml
expect "multiplicative and damped on Peyton Manning (exit 0)" [ "$RC" -eq 0 ]
expect "... phi is inside [0.8, 0.995]" [ "$(model '.params.phi >= 0.8 and .params.phi <= 0.995')" = true ]
expect "... and the held-out rmse is sane (log views, sd about 1)" \
	[ "$(jq '.rmse > 0.3 and .rmse < 1.5' got/metrics.json)" = true ]
pipeline pipelines/p.yaml data/pm.csv ""
run_dagrun pipelines/p.yaml
expect "the defaults, no trend and no season, are simple smoothing" \
	[ "$RC" -eq 0 -a "$(model '[.trend, .seasonal, .params.beta, .seasonal_periods] | map(tostring) | join(",")')" = "null,null,null,null" ]

while IFS='|' read -r csv params what; do
	pipeline pipelines/p.yaml "$csv" "$params"
	git add -A && git commit -qm bad >/dev/null
	rm -rf got
	run_dagrun pipelines/p.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$params exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$what"; then
		fail "$params: $what" "err=[$ERR]"
	else
		ok "$params: exit 2, $what"
	fi
done <<'EOF'
data/lin.csv|damped: true|param 'damped' of task 'train.holt_winters': there is no trend to damp
data/zero.csv|seasonal: mul|row 30 is 0: a multiplicative trend or season needs values above 0
data/odd.csv|seasonal: add|a median step of 5000 s suggests no season
data/lin.csv|seasonal: add, seasonal_periods: 100|112 training rows are too few for a season of 100
data/lin.csv|trend: exp|p.yaml:9:
data/lin.csv|seasonal_periods: 1|must be between 2 and 100000
data/lin.csv|target: nope|no number column 'nope'
data/lin.csv|test_fraction: 0.99|too few rows: 140, of which 139 held out
EOF

if ! /usr/bin/python3 -c 'import statsmodels, scipy' 2>/dev/null; then
	echo "skip statsmodels parity: /usr/bin/python3 has no statsmodels (apt-get install python3-statsmodels)"
	finish
	exit $?
fi
pipeline pipelines/p.yaml data/pm.csv "trend: add, seasonal: add"
git add -A && git commit -qm parity >/dev/null
run_dagrun pipelines/p.yaml
v=$(/usr/bin/python3 - <<'EOF' 2>&1
import csv, json, warnings
import numpy as np
from scipy.optimize import minimize
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.exponential_smoothing.initialization import _initialization_heuristic
warnings.simplefilter("ignore")
m = json.load(open("got/model.json"))
y = np.array([float(r["y"]) for r in csv.DictReader(open("data/pm.csv"))])[:m["n_train"]]
fc = np.load("got/forecast.npy")[:, 0]
s0 = np.array(m["initial"]["season"])
ini = m["initial"]
mod = ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=7,
                           initialization_method="known", initial_level=ini["level"],
                           initial_trend=ini["trend"], initial_seasonal=s0)
p = m["params"]
fit = mod.fit(smoothing_level=p["alpha"], smoothing_trend=p["beta"],
              smoothing_seasonal=p["gamma"], optimized=False)
checks = []
checks.append(np.allclose(_initialization_heuristic(y, "add", "add", 7)[2], s0, rtol=0, atol=1e-9))
checks.append(abs(fit.sse - m["sse"]) <= 1e-9 * m["sse"])
checks.append(np.allclose(fit.forecast(6), fc[:6], rtol=1e-10, atol=0))   # h < m: no issue 9538
def sse(u):
    a, bf, gf = u
    return mod.fit(smoothing_level=a, smoothing_trend=bf * a, smoothing_seasonal=gf * (1 - a),
                   optimized=False).sse
best = min(minimize(sse, [a, 0.1, g], bounds=[(1e-6, 1 - 1e-6), (0, 1), (0, 1)],
                    method="L-BFGS-B").fun for a in (0.2, 0.5, 0.8) for g in (0.05, 0.3))
checks.append(best >= m["sse"] * (1 - 1e-7))
print(" ".join(str(bool(c)) for c in checks), "scipy %.10g dagrun %.10g" % (best, m["sse"]))
EOF
)
expect "statsmodels parity: season, SSE, forecast, no lower SSE ($v)" contains "$v" "True True True True"
finish
