#!/bin/sh
# data.preprocess through the real binary, on ETTh1 (examples/data): the
# shapes in meta.json agree with the .npy files' sizes; a forced rerun
# writes the same bytes; the scaler never sees validation or test rows;
# a missing target falls back to 'value' with an event in the state; bad
# params exit 2 with file:line (schema) or the param's name (cross-field).
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/ETTh1.csv" data/ETTh1.csv

# pipeline FILE CSV PARAMS: load CSV, preprocess with PARAMS, and copy the
# outputs to got/ in the project, where this test looks.
pipeline() {
	cat > "$1" <<YAML
pipeline: prep
nodes:
  ingest:
    task: data.load
    params: {path: $2, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {$3}
  copy:
    needs: [features]
    cmd: "rm -rf got && mkdir got && cp \$DAGRUN_IN/features/* got/"
YAML
}
meta() { jq -r "$1" got/meta.json 2>/dev/null; }
size() { wc -c < "got/$1" 2>/dev/null || echo 0; }

pipeline pipelines/p.yaml data/ETTh1.csv "target: OT, lags: [1, 24], rolling: [24], input_seq_len: 24, output_seq_len: 2"
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "ETTh1 preprocesses (exit 0)" [ "$RC" -eq 0 ]
expect "every output is written" [ -f got/X_train.npy -a -f got/Y_val.npy -a -f got/T_test.npy \
	-a -f got/meta.json -a -f got/scaler.json ]
F=$(meta '.features | length')
expect "features: 7 columns, 6 time, 2 lags, 2 rolling" [ "$F" = 17 ]
expect "the target is OT, at its column" [ "$(meta .target)" = OT -a "$(meta .target_index)" = 6 ]
expect "derived names" [ "$(meta '.features[7,14,15,16]' | tr '\n' ' ')" = \
	"min_of_day_sin OT_lag_24 OT_roll_mean_24 OT_roll_std_24 " ]
rows=$(meta '.rows.train + .rows.val + .rows.test')
expect "the 24 warm-up rows of lag 24 are dropped" [ "$rows" = $((17420 - 24)) ]
expect "the split is 0.7 / 0.1 / 0.2 of the rows" \
	[ "$(meta '[.rows.train, .rows.val, .rows.test] | join(",")')" = "12177,1739,3480" ]
ok_sizes=1
for part in train val test; do
	n=$(meta ".splits.$part")
	r=$(meta ".rows.$part")
	[ "$n" -eq $((r - 24 - 2 + 1)) ] || ok_sizes=0
	[ "$(size X_$part.npy)" -eq $((128 + n * 24 * F * 4)) ] || ok_sizes=0
	[ "$(size Y_$part.npy)" -eq $((128 + n * 2 * 4)) ] || ok_sizes=0
	[ "$(size T_$part.npy)" -eq $((128 + n * 8)) ] || ok_sizes=0
done
expect "windows per part and file sizes agree with meta.json" [ "$ok_sizes" -eq 1 ]
expect "X is float32 [n, 24, 17]" contains "$(head -c 128 got/X_val.npy)" \
	"'descr': '<f4', 'fortran_order': False, 'shape': ($(meta .splits.val), 24, 17), }"
expect "scaler.json holds the scalers of meta.json" \
	[ "$(jq -c '[.scaler, .target_scaler]' got/scaler.json)" = "$(meta '[.scaler, .target_scaler]' | jq -c .)" ]
expect "standard scaler params per feature" [ "$(meta '.scaler.params.OT | keys | join(",")')" = "mean,std" ]
expect "config_hash is a SHA-256" [ "$(meta .config_hash | grep -cE '^[0-9a-f]{64}$')" = 1 ]
expect "source is the CSV" [ "$(meta .source)" = data/ETTh1.csv ]
v=$(sqlite3 state/dagrun.db "select name || '=' || value from metrics where node = 'features' order by name" | tr '\n' ' ')
expect "metrics: rows, n_features, windows" [ "$v" = "n_features=17.0 rows=17396.0 test_windows=3455.0 train_windows=12152.0 val_windows=1714.0 " ]

# Byte-identical output, run after run.
mv got got1
run_dagrun --force features --force copy pipelines/p.yaml
expect "a forced rerun succeeds" [ "$RC" -eq 0 ]
same=1
for f in got1/*; do cmp -s "$f" "got/${f#got1/}" || same=0; done
expect "a forced rerun writes byte-identical outputs" [ "$same" -eq 1 -a "$(ls got | wc -l)" -eq 11 ]

# No leakage: change only rows in the test part; the scalers and the
# training windows keep their bytes, the test windows do not.
awk -F, 'BEGIN { OFS = "," } NR > 17000 { $2 = $2 * 3; $8 = $8 + 50 } { print }' \
	data/ETTh1.csv > data/ETTh1_late.csv
pipeline pipelines/late.yaml data/ETTh1_late.csv "target: OT, lags: [1, 24], rolling: [24], input_seq_len: 24, output_seq_len: 2"
git add -A && git commit -qm late
run_dagrun pipelines/late.yaml
expect "the changed CSV preprocesses" [ "$RC" -eq 0 ]
expect "scaler.json is unchanged by test rows" cmp -s got/scaler.json got1/scaler.json
expect "X_train and Y_val are unchanged" sh -c 'cmp -s got/X_train.npy got1/X_train.npy && cmp -s got/Y_val.npy got1/Y_val.npy'
expect "X_test and Y_test did change" sh -c '! cmp -s got/X_test.npy got1/X_test.npy && ! cmp -s got/Y_test.npy got1/Y_test.npy'

# Sampling, minmax, and features chosen by name.
pipeline pipelines/s.yaml data/ETTh1.csv "target: OT, features: [HUFL], time_features: [day_of_week], scaler: minmax, sample_train_rows: 100, sample_test_rows: 7, split: [0.8, 0, 0.2], rsi: true, macd: true"
git add -A && git commit -qm sample
run_dagrun pipelines/s.yaml
expect "sampled windows" [ "$RC" -eq 0 -a "$(meta '[.splits.train, .splits.val, .splits.test] | join(",")')" = "100,0,7" ]
expect "features by name; the target is no input" [ "$(meta '.features | join(",")')" = \
	"HUFL,day_of_week_sin,day_of_week_cos,OT_rsi_14,OT_macd,OT_macd_signal,OT_macd_hist" -a "$(meta .target_index)" = -1 ]
expect "minmax params" [ "$(meta '.target_scaler | .kind + ":" + (.params.OT | keys | join(","))')" = "minmax:max,min" ]
expect "an empty val part is a [0, 10, 7] array" contains "$(head -c 128 got/X_val.npy)" "'shape': (0, 10, 7), }"
expect "the config hash follows the params" [ "$(meta .config_hash)" != "$(jq -r .config_hash got1/meta.json)" ]

# The target fallback: no column 'value', so HUFL, the first number
# column, becomes 'value'; an event is recorded.
pipeline pipelines/fb.yaml data/ETTh1.csv "input_seq_len: 4"
git add -A && git commit -qm fallback
run_dagrun pipelines/fb.yaml
expect "a missing target falls back (exit 0)" [ "$RC" -eq 0 ]
expect "the event target_fallback is in the state" \
	[ "$(sqlite3 state/dagrun.db "select name from events where node = 'features'")" = target_fallback ]
expect "the event names the column" contains \
	"$(sqlite3 state/dagrun.db "select payload from events where name = 'target_fallback'")" '"column":"HUFL"'
expect "the target is 'value' in HUFL's place" [ "$(meta .target)" = value -a \
	"$(meta '.features[0:2] | join(",")')" = "value,HULL" -a "$(meta .target_index)" = 0 ]

# Bad params: the schema's refusals name file:line:col before anything
# runs; cross-field refusals name the param.  Each exits 2.
cat > bad.txt <<'EOF'
scaler: robust|pipelines/bad.yaml:9:|must be one of standard|minmax|none
input_seq_len: 0|pipelines/bad.yaml:9:|between 1 and 10000
lag: [1]|pipelines/bad.yaml:9:|unknown param 'lag'
returns: 1|pipelines/bad.yaml:9:|must be a boolean
split: [0.5, 0.5, 0.5]|error:|param 'split'
split: 0.8|pipelines/bad.yaml:9:|must be a list
lags: [0]|error:|param 'lags'
rolling: [1]|error:|param 'rolling'
features: [nope]|error:|param 'features' of task 'data.preprocess': item 1
time_features: [hour]|error:|param 'time_features'
target: OT, returns: true|error:|'OT_return' is -inf at
input_seq_len: 9000|error:|the val part has 1742 of 17420 rows, fewer than
data: nope|error:|param 'data'
EOF
git add -A && git commit -qm bad
while IFS='|' read -r params where what; do
	pipeline pipelines/bad.yaml data/ETTh1.csv "$params"
	rm -rf got
	run_dagrun pipelines/bad.yaml
	if [ "$RC" -ne 2 ]; then
		fail "'$params' exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$where" || ! contains "$ERR" "$what"; then
		fail "'$params': $where $what" "err=[$ERR]"
	elif [ -e got ]; then
		fail "'$params' leaves nothing behind" "got/ exists"
	else
		ok "'$params': $where ... $what"
	fi
done < bad.txt
finish
