#!/bin/sh
# drift.report through the real binary, on ETTh1 (hourly, 2016-07-01 to
# 2018-06-26): the default windows (the last 30 days against the 150
# before) are Healthy, with every drift.json field and metric, and no
# event; the same windows set by rows and by spans give the same scores; a
# level shift injected into the last 30 days is Critical and records a
# drift_detected event; a constant reference column gives an infinite
# shift; the output is byte-identical on a forced rerun; bad params exit 2
# and name the problem.  Where /usr/bin/python3 has scipy, every statistic
# is checked against numpy/pandas/scipy on random samples (skipped with a
# note otherwise).
. "$(dirname "$0")/lib.sh"
PY=${PARITY_PYTHON:-/usr/bin/python3}
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/ETTh1.csv" data/etth1.csv
# The last 30 days (rows after 2018-05-27 19:00) moved up by 50: about 6
# reference stds for HUFL, much more for the smaller columns.
awk -F, 'BEGIN { OFS = "," } NR > 1 && $1 > "2018-05-27 19:00:00" {
	for (i = 2; i <= NF; i++) $i += 50 } { print }' data/etth1.csv > data/shifted.csv
# 40 hourly rows in unix seconds: 'x' moves a little, 'flag' is 0 for the
# first 30 and 1 for the last 10.
awk 'BEGIN { print "t,x,flag"; for (i = 0; i < 40; i++)
	printf "%d,%d,%d\n", 1600000000 + i * 3600, 10 + i % 3, (i >= 30) }' > data/flag.csv

# pipeline FILE CSV TIMESTAMP PARAMS: load CSV, report with PARAMS, copy
# drift.json to got/ in the project, where this test looks.
pipeline() {
	cat > "$1" <<YAML
pipeline: drift
nodes:
  ingest:
    task: data.load
    params: {path: $2, timestamp: $3}
  drift:
    task: drift.report
    needs: [ingest]
    params: {$4}
  copy:
    needs: [drift]
    cmd: "rm -rf got && mkdir got && cp \$DAGRUN_IN/drift/* got/"
YAML
}
field() { jq -r "$1" got/drift.json 2>/dev/null; }
# metric NAME: its value in the last run that recorded drift's metrics.
metric() { sqlite3 state/dagrun.db "select value from metrics where node = 'drift' and name = '$1'
	and run_id = (select max(run_id) from metrics where node = 'drift')"; }
events() { sqlite3 state/dagrun.db "select count(*) from events where name = 'drift_detected'"; }

pipeline pipelines/p.yaml data/etth1.csv date ""
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "default windows on ETTh1 run (exit 0)" [ "$RC" -eq 0 ]
expect "... and are Healthy" [ "$(field .health),$(field .health_code)" = "Healthy,0" ]
expect "drift.json has the reference system's fields" [ "$(field '[has("health"),
	has("drift_score"), has("volatility_index"), has("feature_metrics"), has("timestamp")] | all')" = true ]
expect "... per feature: means, stds, shift, vol ratio, psi, ks, wasserstein" \
	[ "$(field '[.feature_metrics[] | keys | join(",")] | unique | .[]')" = \
	"curr_mean,curr_std,ks,psi,ref_mean,ref_std,shift_score,vol_ratio,wasserstein,wasserstein_norm" ]
expect "... for every number column, in the CSV's order" \
	[ "$(field '.feature_metrics | keys_unsorted | join(",")')" = "HUFL,HULL,MUFL,MULL,LUFL,LULL,OT" ]
expect "... the timestamp is the last row's, not the clock" \
	[ "$(field .timestamp)" = "2018-06-26T19:00:00Z" ]
expect "... the windows: 150 days (3600 rows) then 30 days (720 rows)" \
	[ "$(field '[.windows.by, .windows.reference.start, .windows.reference.end, .windows.reference.rows,
	.windows.current.start, .windows.current.rows] | join(" ")')" = \
	"days 2017-12-28T20:00:00Z 2018-05-27T19:00:00Z 3600 2018-05-27T20:00:00Z 720" ]
# Worked out with pandas: |mean diff| / std (ddof 1) averaged over the 7
# columns, and pct_change stds' ratios averaged.
expect "... drift_score and volatility_index as pandas gives them" \
	[ "$(field '(.drift_score - 0.6634133507834468 | fabs) < 1e-9 and
	(.volatility_index - 0.7493475283044452 | fabs) < 1e-9')" = true ]
expect "... shift_score is |curr_mean - ref_mean| / ref_std" \
	[ "$(field '[.feature_metrics[] | ((.curr_mean - .ref_mean | fabs) / .ref_std - .shift_score | fabs) < 1e-12] | all')" = true ]
expect "the metrics are in the state" [ "$(metric health_code),$(metric psi.OT | cut -c1-6)" = "0.0,2.6990" ]
expect "... drift_score, volatility_index, ks.<col>, shift.<col>" \
	[ "$(sqlite3 state/dagrun.db "select count(*) from metrics where node = 'drift' and
	(name in ('drift_score', 'volatility_index') or name like 'ks.%' or name like 'shift.%')")" -eq 16 ]
expect "Healthy records no drift_detected event" [ "$(events)" -eq 0 ]
expect "the node log reports the verdict" contains "$(cat state/logs/1/drift.log)" \
	"7 columns, windows by days: reference 3600 rows, current 720 rows: Healthy"

run_dagrun pipelines/p.yaml
expect "an unchanged pipeline is cached" contains "$ERR" "3 cached"
mv got got1
run_dagrun --force drift --force copy pipelines/p.yaml
expect "a forced rerun runs again (exit 0)" [ "$RC" -eq 0 ]
expect "... and writes a byte-identical drift.json" cmp -s got/drift.json got1/drift.json

# The same rows, chosen three ways, give the same scores.
same() { [ "$(field '[.drift_score, .volatility_index, .windows.reference.rows, .windows.current.rows] | join(" ")')" = \
	"$(jq -r '[.drift_score, .volatility_index, .windows.reference.rows, .windows.current.rows] | join(" ")' got1/drift.json)" ]; }
pipeline pipelines/p.yaml data/etth1.csv date "reference_rows: 3600, current_rows: 720"
git add -A && git commit -qm rows
run_dagrun pipelines/p.yaml
expect "windows by rows (exit 0)" [ "$RC" -eq 0 -a "$(field .windows.by)" = rows ]
expect "... the same rows as 150 + 30 days, the same scores" same
pipeline pipelines/p.yaml data/etth1.csv date \
	'reference: ["2017-12-28T20:00:00", "2018-05-27 19:00:00"], current: ["2018-05-27T19:00:01Z", "2018-06-30"]'
git add -A && git commit -qm span
run_dagrun pipelines/p.yaml
expect "windows by spans, both ends included (exit 0)" [ "$RC" -eq 0 -a "$(field .windows.by)" = span ]
expect "... the same rows, the same scores" same
pipeline pipelines/p.yaml data/etth1.csv date "returns: diff, columns: [OT, HULL]"
git add -A && git commit -qm diff
run_dagrun pipelines/p.yaml
expect "columns: [OT, HULL] reports those, in that order" \
	[ "$(field '.feature_metrics | keys_unsorted | join(",")')" = "OT,HULL" ]
expect "... returns: diff gives vol ratios of first differences (0.83, 0.96)" \
	[ "$(field '.returns, (.feature_metrics | [.OT.vol_ratio, .HULL.vol_ratio] | map(. * 100 | round) | join(","))')" = "diff
83,96" ]

# Configurable thresholds: the stable pair is Degraded when 0.5 is.
pipeline pipelines/p.yaml data/etth1.csv date "drift_thresholds: [0.5, 5]"
git add -A && git commit -qm thresholds
run_dagrun pipelines/p.yaml
expect "drift_thresholds: [0.5, 5] makes the stable pair Degraded" \
	[ "$RC" -eq 0 -a "$(field .health)" = Degraded -a "$(field .thresholds.drift[0])" = 0.5 ]
expect "... and records a drift_detected event" [ "$(events)" -eq 1 ]

pipeline pipelines/p.yaml data/shifted.csv date ""
git add -A && git commit -qm shifted
run_dagrun pipelines/p.yaml
expect "a level shift in the last 30 days runs (exit 0)" [ "$RC" -eq 0 ]
expect "... and is Critical" [ "$(field .health),$(field .health_code),$(metric health_code)" = "Critical,2,2.0" ]
expect "... by the mean shift: drift_score above 2, OT's too" \
	[ "$(field '.drift_score > 2 and .feature_metrics.OT.shift_score > 2')" = true ]
expect "... KS sees two separate samples" [ "$(field '.feature_metrics.HUFL.ks > 0.9')" = true ]
expect "... a drift_detected event is in the state" [ "$(events)" -eq 2 ]
v=$(sqlite3 state/dagrun.db "select payload from events where name = 'drift_detected' order by id desc limit 1")
expect "... with health, scores and the 3 worst features, largest shift first" \
	[ "$(echo "$v" | jq -r '.details | [.health, (.drift_score > 2), (.volatility_index | type),
	(.worst_features | length), (.worst_features | map(.shift_score) | . == (sort | reverse))] | join(",")')" = \
	"Critical,true,number,3,true" ]

# A constant reference column that moves: infinite shift, written "inf";
# 'flag' has no pct return (every one follows a zero): vol_ratio null.
pipeline pipelines/p.yaml data/flag.csv t "reference_rows: 30, current_rows: 10"
git add -A && git commit -qm flag
run_dagrun pipelines/p.yaml
expect "a constant reference column runs (exit 0)" [ "$RC" -eq 0 ]
expect "... its shift is \"inf\", its vol_ratio null, the verdict Critical" \
	[ "$(field '[.feature_metrics.flag.shift_score, (.feature_metrics.flag.vol_ratio | tostring), .drift_score, .health] | join(",")')" = \
	"inf,null,inf,Critical" ]
expect "... volatility_index averages the defined ratios ('x' only)" \
	[ "$(field '.volatility_index == .feature_metrics.x.vol_ratio')" = true ]
expect "... and infinities are not recorded as metrics" \
	[ "$(metric shift.flag)" = "" -a "$(metric drift_score)" = "" -a -n "$(metric shift.x)" ]

# Bad params: schema errors name file:line before anything runs; the
# rest fail the node with exit 2 and say what is wrong.
cat > bad.txt <<'EOF'
returns: log|p.yaml:9:|param 'returns' of task 'drift.report' must be one of pct|diff
current_rows: 1, reference_rows: 10|p.yaml:9:|param 'current_rows' of task 'drift.report' must be between 2 and
windows: 3|p.yaml:9:|unknown param 'windows' for task 'drift.report'
columns: [nope]|drift|no number column 'nope' in the table of node 'ingest' (expected some of: HUFL, HULL
columns: [OT, OT]|drift|twice the column 'OT'
columns: []|drift|param 'columns' of task 'drift.report' is empty
reference_rows: 17000, current_rows: 720|drift|windows of 17000 reference and 720 current rows reach outside the data: the table has 17420 rows
reference_rows: 100|drift|param 'current_rows' of task 'drift.report' is missing
reference_days: 1000|drift|reach outside the data: back to 2015-08-31T19:00:00Z, before the first row at 2016-07-01T00:00:00Z (expected reference_days + current_days <= 725.792)
current_days: 0.01|drift|the current window, 2018-06-26T18:45:37Z to 2018-06-26T19:00:00Z, holds 1 row (expected at least 2)
reference: ["2018-05-01", "2018-06-01"], current: ["2018-05-31", "2018-06-30"]|drift|params 'reference' and 'current' of task 'drift.report' overlap
reference: ["2015-01-01", "2015-06-01"], current: ["2018-06-01", "2018-06-30"]|drift|param 'reference' of task 'drift.report': the window is outside the data
reference: ["2018-01-01", "soon"], current: ["2018-06-01", "2018-06-30"]|drift|param 'reference' of task 'drift.report': expected [start, end] as ISO 8601 times
reference: ["2018-02-01", "2018-01-01"], current: ["2018-06-01", "2018-06-30"]|drift|start '2018-02-01' is after end '2018-01-01'
reference: ["2018-01-01", "2018-02-01"]|drift|param 'current' of task 'drift.report' is missing
reference_rows: 100, current_rows: 10, reference_days: 10|drift|set the windows by rows and by days (expected one way
drift_thresholds: [2, 1]|drift|params 'drift_thresholds' [2, 1], 'vol_healthy' [0.6, 1.5], 'vol_critical' [0.4, 2.5] of task 'drift.report' are out of order
vol_critical: [0.7, 2.5]|drift|are out of order
vol_healthy: [0.6]|drift|param 'vol_healthy' of task 'drift.report': expected a list of two numbers
data: elsewhere|drift|no needed node 'elsewhere'
EOF
git add -A && git commit -qm bad
while IFS='|' read -r params where what; do
	pipeline pipelines/p.yaml data/etth1.csv date "$params"
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

# Parity: each statistic against numpy/pandas/scipy on random samples,
# through the binary: 1000 hourly rows, the last 300 current and the 500
# before them the reference.  Columns: normal, a shifted and wider normal
# current, lognormal rounded to give ties, and one with zeros (pct returns
# after a zero are left out).
if ! "$PY" -c 'import scipy.stats, numpy, pandas' 2>/dev/null; then
	echo "ok   skip: no scipy for the parity check (install python3-scipy to run it)"
	T_PASS=$((T_PASS + 1))
	finish
	exit $?
fi
"$PY" - > data/random.csv <<'EOF'
import numpy as np
rng = np.random.default_rng(7)
n, cur = 1000, 700
a = rng.normal(10, 2, n)
b = np.where(np.arange(n) >= cur, rng.normal(12, 3, n), rng.normal(10, 2, n))
c = np.round(rng.lognormal(1, 0.5, n), 1)
d = np.where(rng.random(n) < 0.1, 0.0, rng.normal(5, 1, n))
print("t,a,b,c,d")
for i in range(n):
    print(f"{1500000000 + 3600 * i},{a[i]!r},{b[i]!r},{c[i]!r},{d[i]!r}")
EOF
pipeline pipelines/p.yaml data/random.csv t "reference_rows: 500, current_rows: 300"
git add -A && git commit -qm parity
run_dagrun pipelines/p.yaml
expect "random samples run (exit 0)" [ "$RC" -eq 0 ]
v=$("$PY" - <<'EOF'
import json, numpy as np, pandas as pd
from scipy.stats import ks_2samp, wasserstein_distance
df = pd.read_csv("data/random.csv")
got = json.load(open("got/drift.json"))["feature_metrics"]
bad = []
def check(col, name, want):
    g = got[col][name]
    if not abs(g - want) <= 1e-9 * (1 + abs(want)):
        bad.append(f"{col}.{name}: {g!r} != {want!r}")
for col in "abcd":
    x = df[col].to_numpy()
    ref, cur = x[200:700], x[700:]
    r = {"ref_mean": ref.mean(), "curr_mean": cur.mean(),
         "ref_std": ref.std(ddof=1), "curr_std": cur.std(ddof=1)}
    r["shift_score"] = abs(r["curr_mean"] - r["ref_mean"]) / r["ref_std"]
    ret = lambda s: pd.Series(s).pct_change().replace([np.inf, -np.inf], np.nan).dropna()
    r["vol_ratio"] = ret(cur).std() / ret(ref).std()
    cuts = np.quantile(ref, np.arange(1, 10) / 10)
    pr = np.maximum(np.bincount(np.searchsorted(cuts, ref), minlength=10) / len(ref), 1e-4)
    pc = np.maximum(np.bincount(np.searchsorted(cuts, cur), minlength=10) / len(cur), 1e-4)
    r["psi"] = np.sum((pc - pr) * np.log(pc / pr))
    r["ks"] = ks_2samp(ref, cur).statistic
    r["wasserstein"] = wasserstein_distance(ref, cur)
    r["wasserstein_norm"] = r["wasserstein"] / r["ref_std"]
    for name, want in r.items():
        check(col, name, float(want))
print("; ".join(bad) if bad else "same")
EOF
)
expect "means, stds, shift, vol ratio, PSI, KS, Wasserstein match numpy/pandas/scipy to 1e-9" [ "$v" = same ]
finish
