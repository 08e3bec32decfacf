#!/bin/sh
# baseline.persistence, baseline.seasonal_naive and baseline.mean through
# the real binary, on 60 hourly rows y = 10 (t mod 4) + t windowed by
# data.preprocess (the first 36 rows train, the last 24 test): metrics
# against values worked out by hand from that formula (awk below, never
# the kernels' code), a given and a detected season, multi-step windows,
# history from a data.load need when the windows lack it, and every
# refusal exits 2 with a message that says what to do.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines

series() {   # series FILE STEP_SECONDS OFFSET: 60 rows from 2024-01-01
	awk -v step="$2" -v off="$3" 'BEGIN { print "time,y";
		for (t = 0; t < 60; t++) { s = t * step;
			printf "2024-01-%02d %02d:%02d:%02d,%d\n", 1 + int(s / 86400),
				int(s % 86400 / 3600), int(s % 3600 / 60), s % 60,
				10 * (t % 4) + t + off } }' > "$1"
}
series data/s.csv 3600 0
series data/shifted.csv 3600 1     # the same times, other values
series data/odd.csv 5000 0         # a step that suggests no season

# pipeline FILE PREPROCESS-PARAMS NODE-LINES...: data.load and
# data.preprocess, then the nodes given ("name task needs params"), then
# a copy of every node's outputs to got/<node>/.
pipeline() {
	file=$1 pre=$2
	shift 2
	{
		printf 'pipeline: baseline\nnodes:\n'
		for src in s shifted odd; do
			printf '  %s:\n    task: data.load\n    params: {path: data/%s.csv, timestamp: time, target: y}\n' "$src" "$src"
		done
		printf '  features:\n    task: data.preprocess\n    needs: [s]\n'
		printf '    params: {target: y, split: [0.6, 0, 0.4], %s}\n' "$pre"
		names=""
		for line in "$@"; do
			set -- $line
			name=$1 task=$2 needs=$3
			shift 3
			printf '  %s:\n    task: %s\n    needs: [%s]\n    params: {%s}\n' "$name" "$task" "$needs" "$*"
			names="$names $name"
		done
		printf '  copy:\n    needs: [features,%s]\n' "$(echo $names | tr ' ' ',')"
		printf '    cmd: "rm -rf got && mkdir got && for n in features%s; do mkdir got/$n && cp $DAGRUN_IN/$n/* got/$n/; done"\n' "$names"
	} > "$file"
}

# want EXPR: awk over the 21 test windows' first target rows r = 39 .. 59
# of y(t) = 10 (t mod 4) + t, with p(r) the forecast; prints rmse mae mse.
want() {
	awk "function y(t) { return 10 * (t % 4) + t }
	BEGIN { m = 0; for (t = 0; t < 36; t++) m += y(t) / 36;
		for (r = 39; r <= 59; r++) { e = y(r) - ($1); se += e * e; ae += (e < 0 ? -e : e) }
		printf \"%.10g %.10g %.10g\", sqrt(se / 21), ae / 21, se / 21 }"
}
got_metrics() { jq -r '"\(.rmse) \(.mae) \(.mse)"' "got/$1/metrics.json" 2>/dev/null; }
# agree A B: three numbers each, equal within 1e-5 relative (float32 history)
agree() {
	echo "$1 $2" | awk '{ for (i = 1; i <= 3; i++) { d = $i - $(i + 3); if (d < 0) d = -d;
		if (d > 1e-5 * ($i < 0 ? -$i : $i) + 1e-9) exit 1 } }'
}
PRE="time_features: [], input_seq_len: 3, output_seq_len: 1"

pipeline pipelines/p.yaml "$PRE" "persist baseline.persistence features" \
	"snaive baseline.seasonal_naive features season: 4" \
	"sdetect baseline.seasonal_naive features" "mean baseline.mean features"
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "the three baselines run (exit 0)" [ "$RC" -eq 0 ]
expect "persistence: y(r - 1), by hand" agree "$(got_metrics persist)" "$(want 'y(r - 1)')"
expect "... which is rmse sqrt(6141 / 21), mae 321 / 21" agree "$(got_metrics persist)" \
	"$(awk 'BEGIN { printf "%.10g %.10g %.10g", sqrt(6141 / 21), 321 / 21, 6141 / 21 }')"
expect "seasonal naive, season 4: y(r - 4), every error 4" agree "$(got_metrics snaive)" "4 4 16"
expect "seasonal naive, detected: hourly rows give 24, every error 24" \
	agree "$(got_metrics sdetect)" "24 24 576"
expect "... model.json records the season detected" [ "$(jq .season got/sdetect/model.json)" = 24 ]
expect "... and the log says it was detected" contains "$(cat state/logs/1/sdetect.log)" \
	"season 24 rows (detected from the time step)"
expect "mean: the training rows' mean, 32.5" [ "$(jq .mean got/mean/model.json)" = 32.5 ]
expect "... and its metrics, by hand" agree "$(got_metrics mean)" "$(want 'm')"
expect "model.json: type, method, season, target, window lengths" [ "$(jq -c \
	'[.type, .method, .season, .mean, .target, .input_seq_len, .output_seq_len]' \
	got/snaive/model.json)" = '["baseline","seasonal_naive",4,null,"y",3,1]' ]
expect "model.json: persistence has no season and no mean" \
	[ "$(jq -c '[.method, .season, .mean]' got/persist/model.json)" = '["persistence",null,null]' ]
expect "model.json: meta is preprocess's meta.json verbatim" \
	[ "$(jq -S .meta got/mean/model.json)" = "$(jq -S . got/features/meta.json)" ]
expect "metrics.json has exactly rmse, mae, mse, r2" \
	[ "$(jq -c keys got/persist/metrics.json)" = '["mae","mse","r2","rmse"]' ]
expect "predictions.npy is float32 [21, 1]" contains "$(head -c 128 got/persist/predictions.npy)" \
	"'descr': '<f4', 'fortran_order': False, 'shape': (21, 1), }"
cp got/persist/predictions.npy persist_in_x.npy
v=$(sqlite3 state/dagrun.db "select round(value, 6) from metrics where node = 'snaive' and name = 'rmse'")
expect "the metrics reach the state" [ "$v" = 4.0 ]

if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	# The truth the train kernels score against: Y_test * std + mean in
	# float32 (recurrent.c); the metrics must be computed on exactly it.
	v=$(/usr/bin/python3 - <<'EOF'
import json, numpy as np
meta = json.load(open("got/features/meta.json"))
p = meta["target_scaler"]["params"]["y"]
truth = (np.load("got/features/Y_test.npy").astype(np.float64) * p["std"] + p["mean"]).astype(np.float32)
ok = True
for n in ("persist", "snaive", "sdetect", "mean"):
    pred = np.load("got/%s/predictions.npy" % n)
    d = truth.astype(np.float64) - pred
    m = json.load(open("got/%s/metrics.json" % n))
    ok &= abs(m["mse"] - (d * d).mean()) <= 1e-12 * m["mse"] and abs(m["mae"] - abs(d).mean()) <= 1e-12 * m["mae"]
    r = np.arange(39, 60)
    y = lambda t: 10 * (t % 4) + t
    want = {"persist": y(r - 1), "snaive": y(r - 4), "sdetect": y(r - 24), "mean": np.full(21, 32.5)}[n]
    ok &= np.allclose(pred[:, 0], want, rtol=1e-6)
print(ok)
EOF
)
	expect "numpy: metrics on Y_test unscaled as train.gru does; predictions by hand" [ "$v" = True ]
else
	echo "skip numpy checks: /usr/bin/python3 has no numpy"
fi

# Multi-step windows: persistence repeats the last value; a season of 2
# shorter than the horizon of 3 takes the latest value of each phase.
pipeline pipelines/multi.yaml "time_features: [], input_seq_len: 3, output_seq_len: 3" \
	"persist baseline.persistence features" "snaive baseline.seasonal_naive features season: 2"
git add -A && git commit -qm multi
run_dagrun pipelines/multi.yaml
expect "three-step windows run (exit 0)" [ "$RC" -eq 0 ]
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	v=$(/usr/bin/python3 - <<'EOF'
import numpy as np
y = lambda t: 10 * (t % 4) + t
r = 36 + 3 + np.arange(19)           # first target rows of the 19 test windows
p = np.load("got/persist/predictions.npy"); s = np.load("got/snaive/predictions.npy")
want_p = np.stack([y(r - 1)] * 3, axis=1)
want_s = np.stack([y(r - 2), y(r - 1), y(r - 2)], axis=1)   # h = 0, 1: one season back; h = 2: two
print(p.shape == (19, 3), np.allclose(p, want_p, rtol=1e-6), np.allclose(s, want_s, rtol=1e-6))
EOF
)
	expect "persistence and seasonal naive over 3 steps, by hand" [ "$v" = "True True True" ]
fi

# The target not among X's features: the windows lack the input rows, so
# persistence needs the data.load node, and then gives the same bytes.
pipeline pipelines/nox.yaml "features: [], time_features: [min_of_day], input_seq_len: 3, output_seq_len: 1" \
	"persist baseline.persistence features,s"
git add -A && git commit -qm nox
run_dagrun pipelines/nox.yaml
expect "target not in X, data.load among the needs (exit 0)" [ "$RC" -eq 0 ]
expect "... the same predictions, byte for byte, as from the windows" \
	cmp -s persist_in_x.npy got/persist/predictions.npy
pipeline pipelines/nox.yaml "features: [], time_features: [min_of_day], input_seq_len: 3, output_seq_len: 1" \
	"snaive baseline.seasonal_naive features,s season: 4" "mean baseline.mean features,s"
git add -A && git commit -qm nox2
run_dagrun pipelines/nox.yaml
expect "... seasonal naive from the table, by hand" agree "$(got_metrics snaive)" "4 4 16"
expect "... mean from the table, by hand" agree "$(got_metrics mean)" "$(want 'm')"

# Refusals: exit 2, the node named, the reason and the way out.
NOX="features: [], time_features: [min_of_day], input_seq_len: 3, output_seq_len: 1"
check_refusal() {   # NAME PRE NODE-LINE WHAT
	pipeline pipelines/bad.yaml "$2" "$3"
	git add -A && git commit -qm bad >/dev/null
	rm -rf got
	run_dagrun pipelines/bad.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$1 exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$4"; then
		fail "$1: says '$4'" "err=[$ERR]"
	else
		ok "$1: exit 2, '$4'"
	fi
}
check_refusal "persistence without the history" "$NOX" "b baseline.persistence features" \
	"which no window holds (the target is not among X's features"
check_refusal "... and the message names the way out" "$NOX" "b baseline.persistence features" \
	"expected the data.load node in 'needs', or param 'data'"
check_refusal "mean without the training rows" "$NOX" "b baseline.mean features" \
	"do not hold every training row"
check_refusal "a season reaching before the first row" "$PRE" \
	"b baseline.seasonal_naive features,s season: 50" "before the first row of the table"
check_refusal "a table preprocess did not read" "$PRE" \
	"b baseline.seasonal_naive features,shifted season: 4, data: shifted" "disagrees with the windows"
check_refusal "a season of 0" "$PRE" "b baseline.seasonal_naive features season: 0" \
	"param 'season' of task 'baseline.seasonal_naive' must be between 1 and"
check_refusal "an unknown param" "$PRE" "b baseline.mean features season: 4" \
	"unknown param 'season' for task 'baseline.mean'"
check_refusal "features naming no need" "$PRE" "b baseline.persistence features features: nope" \
	"param 'features' of task 'baseline.persistence': no needed node 'nope'"
check_refusal "data naming no need" "$PRE" "b baseline.persistence features data: nope" \
	"param 'data' of task 'baseline.persistence': no needed node 'nope'"
check_refusal "no data.preprocess among the needs" "$PRE" "b baseline.mean s" \
	"no need holds a meta.json (expected a data.preprocess node in 'needs')"

# A step that suggests no season: detection refuses, a given season runs.
pipeline pipelines/odd.yaml "$PRE" "b baseline.seasonal_naive features"
sed -i 's|needs: \[s\]$|needs: [odd]|' pipelines/odd.yaml
git add -A && git commit -qm odd >/dev/null
run_dagrun pipelines/odd.yaml
expect "a 5000 s step: no season detected (exit 2)" [ "$RC" -eq 2 ]
expect "... the message says to set season" contains "$ERR" \
	"a median step of 5000 s suggests no season"
finish
