#!/bin/sh
# The training benchmark: dagrun's train.gru, train.lstm, train.tcn and
# train.encoder_lstm against PyTorch on the CPU, side by side in one run,
# on ETTh1 windowed by data.load and data.preprocess (7 columns).
#   gru, lstm: sequence 10, horizon 1 (about 14,000 training windows),
#     2 layers of 128 and a linear head;
#   tcn: channels [32, 32, 32], kernel 3; encoder_lstm: 2 x 64 each side;
#     both on sequence 24, horizon 3 (about 12,000 windows), as
#     tests/parity/tcn.py and seq2seq.py build them in PyTorch.
# Batch 64, Adam, lr 1e-3.  Reports seconds per epoch, the GFLOP/s of the
# recurrent models' matrix products against the sgemm peak measured in the
# same run, peak RSS, and test RMSE of both sides over the same seeds.
# Results: bench/out/train/results.md (+ results.jsonl).
#
# PyTorch runs at its best here: always OPENBLAS_NUM_THREADS=1 (Debian's
# torch calls OpenBLAS, whose own thread pool otherwise fights PyTorch's),
# and, per model, the fastest on 30 probe batches just before of:
# set_num_threads(THREADS) with OMP_WAIT_POLICY=ACTIVE or PASSIVE (OpenMP
# threads that sleep instead of spinning: far faster on a machine shared
# with other work), set_num_threads(1); each with OpenBLAS's own choice of
# kernel and with OPENBLAS_CORETYPE=SkylakeX (its AVX-512 kernels, which
# Debian's 0.3.21 does not pick on every CPU that has them).  The sgemm
# peak is the best of both kernels, too.  Both sides start from the same
# weights (dagrun's save_init), so the test RMSE differs only by shuffling
# order and rounding; with BENCH_TRAIN_SEEDS, gru and lstm train once per
# seed on both sides (same initial weights per seed) and the report gives
# the mean and spread.  dagrun's gru and lstm run with threads: THREADS
# (one slice of each batch per thread), and on one thread for reference;
# tcn and encoder_lstm on one thread (see threads_of).
# Knobs: BENCH_TRAIN_EPOCHS (3), BENCH_TRAIN_THREADS (2: this machine's
# cores), BENCH_TRAIN_SEEDS ("1 2 3"; the speed rows are the first seed's),
# BENCH_TRAIN_MODELS ("gru lstm tcn encoder_lstm").
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/train
PY=/usr/bin/python3            # the python that sees Debian's packages
EPOCHS=${BENCH_TRAIN_EPOCHS:-3}
THREADS=${BENCH_TRAIN_THREADS:-2}
SEEDS=${BENCH_TRAIN_SEEDS:-1 2 3}
MODELS=${BENCH_TRAIN_MODELS:-gru lstm tcn encoder_lstm}
SEED1=${SEEDS%% *}

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
# The data node of a model, and its model params.
data_of() { case $1 in gru|lstm) echo features ;; *) echo features24 ;; esac; }
arch_of() {
	case $1 in
	gru|lstm) echo "num_layers: 2, hidden_size: 128" ;;
	tcn) echo "channels: [32, 32, 32], kernel_size: 3" ;;
	encoder_lstm) echo "num_layers: 2, hidden_size: 64" ;;
	esac
}
train_node() { # MODEL THREADS SEED
	cat <<YAML
  ${1}_t${2}_s$3:
    task: train.$1
    needs: [$(data_of "$1")]
    params: {$(arch_of "$1"), batch_size: 64, epochs: $EPOCHS,
             learning_rate: 0.001, threads: $2, seed: $3, save_init: true}
YAML
}
# The thread count of a model's main runs: THREADS for gru and lstm;
# 1 for tcn and encoder_lstm, whose 'threads' are OpenBLAS's, which on
# products this small spin more than they compute (on this shared machine,
# 10x slower on 2 threads than on 1: a 2-thread row would only say that).
threads_of() { case $1 in gru|lstm) echo "$THREADS" ;; *) echo 1 ;; esac; }
# The runs of a model: "THREADS SEED" lines, the speed runs first.
runs_of() {
	t=$(threads_of "$1")
	echo "$t $SEED1"
	[ "$t" -ne 1 ] && echo "1 $SEED1"
	case $1 in gru|lstm) for s in $SEEDS; do [ "$s" = "$SEED1" ] || echo "$t $s"; done ;; esac
}
# The seeds a model trains with on its main thread count.
seeds_of() { runs_of "$1" | awk -v t="$(threads_of "$1")" '$1 == t { print $2 }'; }
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
  features24:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [], input_seq_len: 24, output_seq_len: 3,
             split: [0.8, 0.1, 0.1]}
  windows:
    needs: [features, features24]
    cmd: "rm -rf windows windows24 && mkdir windows windows24 && cp \$DAGRUN_IN/features/* windows/ && cp \$DAGRUN_IN/features24/* windows24/ && echo ok > \$DAGRUN_OUT/done"
YAML
	for m in $MODELS; do
		runs_of "$m" | while read -r t s; do
			train_node "$m" "$t" "$s"
			# its initial weights, for PyTorch's side
			cat <<YAML
  init_${m}_t${t}_s$s:
    needs: [${m}_t${t}_s$s]
    cmd: "mkdir -p inits && cp \$DAGRUN_IN/${m}_t${t}_s$s/init.safetensors inits/${m}_s$s.safetensors && echo ok > \$DAGRUN_OUT/done"
YAML
		done
	done
} > pipelines/bench.yaml
git add -A && git commit -qm bench
"$ROOT/dagrun" -q pipelines/bench.yaml windows || { echo "train bench: preprocessing failed" >&2; exit 1; }

# sgemm GFLOP/s on THREADS threads: the best of OpenBLAS's own kernel and
# its AVX-512 one.
peak() {
	a=$("$OUT/peak" "$1" 1024) && b=$(OPENBLAS_CORETYPE=SkylakeX "$OUT/peak" "$1" 1024) &&
		awk -v a="$a" -v b="$b" 'BEGIN { print (a > b ? a : b) }'
}
P1=$(peak 1) && P2=$(peak "$THREADS")
metric() { sqlite3 state/dagrun.db "select value from metrics where node = '$1' and name = '$2' order by step" | paste -sd, -; }
dagrun_side() { # MODEL THREADS SEED
	node=${1}_t${2}_s$3
	"$PY" "$HERE/maxrss.py" "$OUT/rss" "$ROOT/dagrun" -q -j1 pipelines/bench.yaml "$node" ||
		{ echo "train bench: $node failed" >&2; return 1; }
	"$ROOT/dagrun" -q pipelines/bench.yaml "init_$node" || return 1
	# the CPU time of the whole run (start, data, test predictions, model
	# file) per epoch: a little more than an epoch's
	echo "{\"side\": \"dagrun\", \"cell\": \"$1\", \"threads\": $2, \"seed\": $3, \"epoch_seconds\": [$(metric "$node" epoch_seconds)], \"run_cpu_per_epoch\": $(awk -v e="$EPOCHS" '{ print $2 / e }' "$OUT/rss"), \"rss_kb\": $(cut -d' ' -f1 "$OUT/rss"), \"rmse\": $(metric "$node" rmse), \"mae\": $(metric "$node" mae)}" >>"$OUT/results.jsonl"
}
win_of() { case $1 in gru|lstm) echo windows ;; *) echo windows24 ;; esac; }
# The fastest way to run PyTorch here, now: "THREADS ENV..." on stdout.
torch_config() { # MODEL INIT
	best=""
	for cfg in "$THREADS OMP_WAIT_POLICY=ACTIVE" "$THREADS OMP_WAIT_POLICY=PASSIVE" "1 OMP_WAIT_POLICY=ACTIVE"; do
		[ "$THREADS" -eq 1 ] && [ "${cfg%% *}" = "$THREADS" ] && [ "$cfg" != "1 OMP_WAIT_POLICY=ACTIVE" ] && continue
		for core in "" " OPENBLAS_CORETYPE=SkylakeX"; do
			c="$cfg$core"
			ms=$(env OPENBLAS_NUM_THREADS=1 ${c#* } "$PY" "$HERE/torch_rnn.py" probe "$1" "$(win_of "$1")" "${c%% *}" "$2")
			echo "train bench: PyTorch $1 with set_num_threads(${c%% *}) ${c#* }: $ms ms per batch" >&2
			if [ -z "$best" ] || awk -v a="$ms" -v b="$best_ms" 'BEGIN { exit !(a < b) }'; then best=$c; best_ms=$ms; fi
		done
	done
	echo "$best"
}
torch_side() { # MODEL SEED CONFIG
	env OPENBLAS_NUM_THREADS=1 ${3#* } "$PY" "$HERE/maxrss.py" "$OUT/rss" "$PY" "$HERE/torch_rnn.py" \
		"$1" "$(win_of "$1")" "$EPOCHS" "${3%% *}" "$2" "inits/${1}_s$2.safetensors" >"$OUT/torch.json" ||
		{ echo "train bench: torch $1 failed" >&2; return 1; }
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(side="torch", threads=int(sys.argv[2]), config=sys.argv[3], rss_kb=int(open(sys.argv[4]).read().split()[0])); print(json.dumps(r))' \
		"$OUT/torch.json" "${3%% *}" "OPENBLAS_NUM_THREADS=1 ${3#* }" "$OUT/rss" >>"$OUT/results.jsonl"
}
# Per model, the two sides interleaved, so that the machine's load, which
# moves by minutes, hits both alike: dagrun's first run, PyTorch's probes
# and its run of that seed, dagrun on one thread, then each other seed on
# both sides.
: >"$OUT/results.jsonl"
for m in $MODELS; do
	echo "train bench: $m, $EPOCHS epochs, dagrun and PyTorch from the same initial weights: $(runs_of "$m" | awk '{ printf "%s%s threads seed %s", (NR > 1 ? ", " : ""), $1, $2 }')"
	t=$(threads_of "$m")
	dagrun_side "$m" "$t" "$SEED1" || exit 1
	cfg=$(torch_config "$m" "inits/${m}_s$SEED1.safetensors")
	torch_side "$m" "$SEED1" "$cfg" || exit 1
	[ "$t" -ne 1 ] && { dagrun_side "$m" 1 "$SEED1" || exit 1; }
	for s in $(seeds_of "$m"); do
		[ "$s" = "$SEED1" ] && continue
		dagrun_side "$m" "$t" "$s" && torch_side "$m" "$s" "$cfg" || exit 1
	done
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
P1b=$(peak 1) && P2b=$(peak "$THREADS")
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
count() { sqlite3 state/dagrun.db "select value from metrics where node = '$1' and name = '$2'" | cut -d. -f1; }
"$PY" -c 'import json,sys; a=sys.argv; print(json.dumps({"peak": {"1": max(float(a[1]), float(a[2])), a[5]: max(float(a[3]), float(a[4]))}, "n_train": int(a[6]), "n_val": int(a[7]), "n_train24": int(a[13]), "features": 7, "seq_len": 10, "hidden": 128, "layers": 2, "epochs": int(a[8]), "cpu": a[9] + ", " + a[10] + " cores, OpenBLAS " + a[11] + " (" + a[14] + " kernels by default), load average " + a[12] + " at the end"}))' \
	"$P1" "$P1b" "$P2" "$P2b" "$THREADS" "$(count features train_windows)" "$(count features val_windows)" \
	"$EPOCHS" "$CPU" "$(nproc)" "$(pkg-config --modversion openblas)" "$LOAD" \
	"$(count features24 train_windows)" "$("$OUT/peak" core)" >>"$OUT/results.jsonl"
"$PY" "$HERE/report.py" "$OUT/results.jsonl" "$OUT/results.md"
