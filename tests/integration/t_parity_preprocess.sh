#!/bin/sh
# data.preprocess against pandas/numpy (tests/parity/preprocess.py): for
# each case, dagrun loads and preprocesses a CSV, and the script recomputes
# features, scaling and windows from the same CSV and compares them with
# the .npy files to 1e-6.  Skipped (one pass, with a note) where
# /usr/bin/python3 cannot import pandas and numpy; CI installs them.
. "$(dirname "$0")/lib.sh"
PY=${PARITY_PYTHON:-/usr/bin/python3}   # override to test the skip
if ! "$PY" -c 'import pandas, numpy' 2>/dev/null; then
	echo "ok   skipped: no pandas (install python3-pandas to run the parity test)"
	echo "1 passed, 0 failed"
	exit 0
fi
new_project
mkdir -p data pipelines
cp "$ROOT/examples/data/ETTh1.csv" "$ROOT/examples/data/example_wp_log_peyton_manning.csv" data/
# A daily price series that never reaches zero: returns need that.
"$PY" - > data/prices.csv <<'EOF'
import datetime, math
print("day,close,volume")
for i in range(600):
    d = datetime.date(2010, 1, 1) + datetime.timedelta(days=i)
    print(f"{d},{100 + 20 * math.sin(i / 9) + i * 0.05 + (i * 7919 % 13) / 10:.4f},{1000 + i * 37 % 500}")
EOF
git add -A && git commit -qm data

# case NAME CSV TIMESTAMP PARAMS(JSON): preprocess, then compare.
case_() {
	cat > pipelines/p.yaml <<YAML
pipeline: parity
nodes:
  ingest:
    task: data.load
    params: {path: $2, timestamp: $3}
  features:
    task: data.preprocess
    needs: [ingest]
    params: $4
  copy:
    needs: [features]
    cmd: "rm -rf got && mkdir got && cp \$DAGRUN_IN/features/* got/"
YAML
	run_dagrun pipelines/p.yaml
	if [ "$RC" -ne 0 ]; then
		fail "$1: dagrun runs" "rc=$RC err=[$ERR]"
		return
	fi
	"$PY" "$ROOT/tests/parity/preprocess.py" "$2" "$3" "$4" got > parity.log 2>&1
	prc=$?
	while read -r word rest; do
		case $word in
		ok) ok "$1: $rest" ;;
		FAIL) fail "$1: $rest" ;;
		esac
	done < parity.log
	grep -qE '^[0-9]+ passed, 0 failed$' parity.log && [ "$prc" -eq 0 ] ||
		fail "$1: the parity script ends cleanly" "$(tail -n 5 parity.log)"
}

case_ etth1-defaults data/ETTh1.csv date '{"target": "OT"}'
case_ etth1-derived data/ETTh1.csv date '{"target": "OT", "lags": [1, 24, 168], "rolling": [6, 24], "rsi": true, "macd": true, "scaler": "minmax", "input_seq_len": 24, "output_seq_len": 6, "split": [0.6, 0.2, 0.2], "sample_train_rows": 1000, "sample_test_rows": 77}'
case_ peyton-fallback data/example_wp_log_peyton_manning.csv ds '{"scaler": "none", "time_features": ["day_of_week", "day_of_year"], "lags": [7], "split": [0.8, 0, 0.2], "input_seq_len": 14, "output_seq_len": 7}'
case_ prices-returns data/prices.csv day '{"target": "close", "features": ["close"], "time_features": [], "returns": true, "rsi": true, "macd": true, "rolling": [20], "input_seq_len": 5}'
finish
