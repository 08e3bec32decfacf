#!/bin/sh
# The training benchmark: dagrun's train.gru and train.lstm against
# PyTorch on the CPU, side by side in one run, on ETTh1 windowed by
# data.load and data.preprocess (7 columns, sequence 10, about 14,000
# training windows): 2 layers, hidden 128, batch 64, Adam.  Reports seconds
# per epoch, the GFLOP/s of the matrix products against OpenBLAS's sgemm
# peak measured in the same run, peak RSS and test RMSE of both.
# Results: bench/out/train/results.md (+ results.jsonl).
#
# PyTorch runs at its best here: always OPENBLAS_NUM_THREADS=1 (Debian's
# torch calls OpenBLAS, whose own thread pool otherwise fights PyTorch's),
# and of torch.set_num_threads(THREADS), the same with
# OMP_WAIT_POLICY=PASSIVE (OpenMP threads that sleep instead of spinning:
# far faster on a machine shared with other work) and set_num_threads(1),
# the fastest on 30 probe batches, measured just before.  Both sides start
# from the same weights (dagrun's save_init), so the test RMSE differs only
# by shuffling order and rounding.  dagrun runs with threads: THREADS (one
# slice of each batch per thread, OpenBLAS on one thread per slice), and on
# one thread for reference.
# Knobs: BENCH_TRAIN_EPOCHS (3), BENCH_TRAIN_THREADS (2: this machine's cores).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/train
PY=/usr/bin/python3            # the python that sees Debian's packages
EPOCHS=${BENCH_TRAIN_EPOCHS:-3}
THREADS=${BENCH_TRAIN_THREADS:-2}

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "train bench: installing python3-torch"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch >/dev/null ||
		{ echo "train bench: no PyTorch to compare with" >&2; exit 2; }
fi
rm -rf "$OUT" && mkdir -p "$OUT/proj/data" "$OUT/proj/pipelines"
make -C "$ROOT" -s dagrun >"$OUT/build.log" 2>&1 || [ -x "$ROOT/dagrun" ] ||
	{ echo "train bench: cannot build dagrun (see $OUT/build.log)" >&2; exit 3; }
cc -O2 -o "$OUT/peak" "$HERE/peak.c" $(pkg-config --cflags --libs openblas) || exit 3

cd "$OUT/proj" || exit 3
git init -q . && git config user.email b@example.com && git config user.name bench
cp "$ROOT/examples/data/ETTh1.csv" data/
train_node() { # NAME TASK THREADS
	cat <<YAML
  $1:
    task: $2
    needs: [features]
    params: {num_layers: 2, hidden_size: 128, batch_size: 64, epochs: $EPOCHS,
             learning_rate: 0.001, threads: $3, seed: 1, save_init: true}
YAML
}
{
	cat <<YAML
pipeline: bench_train
nodes:
  ingest:
    task: data.load
    params: {path: data/ETTh1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [], input_seq_len: 10, output_seq_len: 1,
             split: [0.8, 0.1, 0.1]}
  windows:
    needs: [features]
    cmd: "rm -rf windows && mkdir windows && cp \$DAGRUN_IN/features/* windows/ && echo ok > \$DAGRUN_OUT/done"
YAML
	for c in gru lstm; do
		train_node ${c}_t$THREADS train.$c $THREADS
		[ "$THREADS" -ne 1 ] && train_node ${c}_t1 train.$c 1
	done
	cat <<YAML
  inits:
    needs: [gru_t$THREADS, lstm_t$THREADS]
    cmd: "rm -rf inits && mkdir inits && cp \$DAGRUN_IN/gru_t$THREADS/init.safetensors inits/gru.safetensors && cp \$DAGRUN_IN/lstm_t$THREADS/init.safetensors inits/lstm.safetensors && echo ok > \$DAGRUN_OUT/done"
YAML
} > pipelines/bench.yaml
git add -A && git commit -qm bench
"$ROOT/dagrun" -q pipelines/bench.yaml windows || { echo "train bench: preprocessing failed" >&2; exit 1; }

peak() { "$OUT/peak" "$1" 1024; }
P1=$(peak 1) && P2=$(peak "$THREADS")
metric() { sqlite3 state/dagrun.db "select value from metrics where node = '$1' and name = '$2' order by step" | paste -sd, -; }
dagrun_side() { # CELL THREADS
	node=${1}_t$2
	"$PY" "$HERE/maxrss.py" "$OUT/rss" "$ROOT/dagrun" -q -j1 pipelines/bench.yaml "$node" ||
		{ echo "train bench: $node failed" >&2; return 1; }
	echo "{\"side\": \"dagrun\", \"cell\": \"$1\", \"threads\": $2, \"epoch_seconds\": [$(metric "$node" epoch_seconds)], \"rss_kb\": $(cat "$OUT/rss"), \"rmse\": $(metric "$node" rmse), \"mae\": $(metric "$node" mae)}" >>"$OUT/results.jsonl"
}
# The fastest way to run PyTorch here, now: "THREADS ENV" on stdout.
torch_config() { # CELL
	best=""
	for cfg in "$THREADS OMP_WAIT_POLICY=ACTIVE" "$THREADS OMP_WAIT_POLICY=PASSIVE" "1 OMP_WAIT_POLICY=ACTIVE"; do
		ms=$(env OPENBLAS_NUM_THREADS=1 ${cfg#* } "$PY" "$HERE/torch_rnn.py" probe "$1" windows "${cfg%% *}")
		echo "train bench: PyTorch $1 with set_num_threads(${cfg%% *}) ${cfg#* }: $ms ms per batch" >&2
		if [ -z "$best" ] || awk -v a="$ms" -v b="$best_ms" 'BEGIN { exit !(a < b) }'; then best=$cfg; best_ms=$ms; fi
	done
	echo "$best"
}
torch_side() { # CELL
	cfg=$(torch_config "$1")
	env OPENBLAS_NUM_THREADS=1 ${cfg#* } "$PY" "$HERE/maxrss.py" "$OUT/rss" "$PY" "$HERE/torch_rnn.py" \
		"$1" windows "$EPOCHS" "${cfg%% *}" 1 "inits/$1.safetensors" >"$OUT/torch.json" ||
		{ echo "train bench: torch $1 failed" >&2; return 1; }
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(side="torch", threads=int(sys.argv[2]), config=sys.argv[3], rss_kb=int(open(sys.argv[4]).read())); print(json.dumps(r))' \
		"$OUT/torch.json" "${cfg%% *}" "OPENBLAS_NUM_THREADS=1 ${cfg#* }" "$OUT/rss" >>"$OUT/results.jsonl"
}
: >"$OUT/results.jsonl"
for c in gru lstm; do
	echo "train bench: dagrun $c, $EPOCHS epochs on $THREADS thread(s)$([ "$THREADS" -ne 1 ] && echo ", then on 1")"
	dagrun_side $c "$THREADS" || exit 1
	if [ "$THREADS" -ne 1 ]; then dagrun_side $c 1 || exit 1; fi
done
"$ROOT/dagrun" -q pipelines/bench.yaml inits || exit 1
for c in gru lstm; do
	echo "train bench: PyTorch $c, $EPOCHS epochs from the same initial weights"
	torch_side $c || exit 1
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
P1b=$(peak 1) && P2b=$(peak "$THREADS")
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
"$PY" -c 'import json,sys; a=sys.argv; print(json.dumps({"peak": {"1": max(float(a[1]), float(a[2])), a[5]: max(float(a[3]), float(a[4]))}, "n_train": int(a[6]), "n_val": int(a[7]), "features": 7, "seq_len": 10, "hidden": 128, "layers": 2, "epochs": int(a[8]), "cpu": a[9] + ", " + a[10] + " cores, OpenBLAS " + a[11] + ", load average " + a[12] + " at the end"}))' \
	"$P1" "$P1b" "$P2" "$P2b" "$THREADS" \
	"$(sqlite3 state/dagrun.db "select value from metrics where node = 'features' and name = 'train_windows'" | cut -d. -f1)" \
	"$(sqlite3 state/dagrun.db "select value from metrics where node = 'features' and name = 'val_windows'" | cut -d. -f1)" \
	"$EPOCHS" "$CPU" "$(nproc)" "$(pkg-config --modversion openblas)" "$LOAD" >>"$OUT/results.jsonl"
"$PY" "$HERE/report.py" "$OUT/results.jsonl" "$OUT/results.md"
