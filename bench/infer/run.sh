#!/bin/sh
# The batch-inference benchmark: every window of 4,000 rows of ETTh1
# through an LSTM of the flagship's size (2 layers, hidden 128,
# input_seq_len 10, the flagship's features: 7 columns and 6 time
# features), dagrun beside PyTorch, forward pass only, both timed inside
# their own process on the same windows and weights.
#
# dagrun: bench/infer/infer_bench.c (the forecaster and rnn_predict, built
# here from the sources with the Makefile's flags), on 1 and on THREADS
# threads; PyTorch: torch_infer.py under inference_mode, always
# OPENBLAS_NUM_THREADS=1, with set_num_threads(1), (THREADS) and
# (THREADS) with OMP_WAIT_POLICY=PASSIVE; the fastest is its figure.  Both
# run all windows in one call (batch of all) and one call per window.
# The compute bound is the FLOPs of the forward pass (report.py) over
# the fused multiply-add peak measured by infer_bench, and over OpenBLAS's
# sgemm peak (bench/train/peak.c), both on the threads used.
# Results: bench/out/infer/results.md (+ results.jsonl).
# Knobs: BENCH_INFER_THREADS (2: this machine's cores), BENCH_INFER_REPS (10).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/infer
PY=/usr/bin/python3
THREADS=${BENCH_INFER_THREADS:-2}
REPS=${BENCH_INFER_REPS:-10}

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "infer bench: no PyTorch to compare with (apt-get install python3-torch)" >&2
	exit 2
fi
rm -rf "$OUT" && mkdir -p "$OUT/proj/data" "$OUT/proj/pipelines"
make -C "$ROOT" -s dagrun >"$OUT/build.log" 2>&1 || [ -x "$ROOT/dagrun" ] ||
	{ echo "infer bench: cannot build dagrun (see $OUT/build.log)" >&2; exit 3; }
LIB=$ROOT/tasks/lib
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	-iquote "$ROOT/engine" -iquote "$LIB" $(pkg-config --cflags jansson openblas xgboost) \
	-o "$OUT/infer_bench" "$HERE/infer_bench.c" "$LIB"/*.c \
	"$ROOT/engine/err.c" "$ROOT/engine/xalloc.c" "$ROOT/engine/fs.c" "$ROOT/engine/strbuf.c" \
	"$ROOT/engine/kctx.c" \
	$(pkg-config --libs jansson openblas liblbfgs xgboost) -lm -lpthread >>"$OUT/build.log" 2>&1 ||
	{ echo "infer bench: cannot build infer_bench (see $OUT/build.log)" >&2; exit 3; }
cc -O2 -o "$OUT/peak" "$ROOT/bench/train/peak.c" $(pkg-config --cflags --libs openblas) || exit 3

cd "$OUT/proj" || exit 3
git init -q . && git config user.email b@example.com && git config user.name bench
head -n 4001 "$ROOT/examples/data/ETTh1.csv" > data/etth1_4000.csv
cat > pipelines/bench.yaml <<'YAML'
pipeline: bench_infer
nodes:
  ingest:
    task: data.load
    params: {path: data/etth1_4000.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [min_of_day, day_of_week, day_of_year],
             input_seq_len: 10, output_seq_len: 1, split: [0.7, 0.1, 0.2]}
  train_lstm:
    task: train.lstm
    needs: [features]
    params: {num_layers: 2, hidden_size: 128, batch_size: 64, epochs: 1, seed: 1}
  predict:
    task: infer.batch
    needs: [train_lstm, ingest]
  model:
    needs: [train_lstm, predict]
    cmd: "rm -rf model && mkdir model && cp $DAGRUN_IN/train_lstm/model.safetensors model/ && echo ok > $DAGRUN_OUT/done"
YAML
git add -A && git commit -qm bench
"$ROOT/dagrun" -q pipelines/bench.yaml || { echo "infer bench: the pipeline failed" >&2; exit 1; }

: >"$OUT/results.jsonl"
for t in 1 "$THREADS"; do
	[ "$t" = 1 ] || [ "$THREADS" != 1 ] || continue
	echo "infer bench: dagrun on $t thread(s)"
	"$OUT/infer_bench" model data/etth1_4000.csv "$OUT" "$t" "$REPS" >>"$OUT/results.jsonl" ||
		{ echo "infer bench: infer_bench failed" >&2; exit 1; }
	echo "{\"side\": \"sgemm_peak\", \"threads\": $t, \"gflops\": $("$OUT/peak" "$t" 1024)}" >>"$OUT/results.jsonl"
done
for cfg in "1 OMP_WAIT_POLICY=ACTIVE" "$THREADS OMP_WAIT_POLICY=ACTIVE" "$THREADS OMP_WAIT_POLICY=PASSIVE"; do
	echo "infer bench: PyTorch, set_num_threads(${cfg%% *}) ${cfg#* }"
	env OPENBLAS_NUM_THREADS=1 ${cfg#* } "$PY" "$HERE/torch_infer.py" model/model.safetensors \
		"$OUT/windows.npy" "$OUT/pred.npy" "${cfg%% *}" "$REPS" |
		sed "s|}\$|, \"config\": \"OPENBLAS_NUM_THREADS=1 ${cfg#* }\"}|" >>"$OUT/results.jsonl" ||
		{ echo "infer bench: PyTorch failed" >&2; exit 1; }
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
echo "{\"side\": \"machine\", \"cpu\": \"$CPU, $(nproc) cores, OpenBLAS $(pkg-config --modversion openblas), load average $LOAD at the end\", \"node_log\": \"$(grep -o 'lstm model.*' state/logs/1/predict.log)\"}" >>"$OUT/results.jsonl"
"$PY" "$HERE/report.py" "$OUT/results.jsonl" "$OUT/results.md"
