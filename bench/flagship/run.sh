#!/bin/sh
# The flagship end to end: pipelines/full.yaml (ingest, features, GRU,
# LSTM, TCN, encoder-decoder LSTM, Prophet-style and Holt-Winters models,
# two baselines, evaluation and promotion, batch inference, drift) on the
# bundled ETTh1 series, in a fresh project, with -j 2.
#
# Measured: the wall time of the cold run (nothing cached), each node's
# wall and CPU time from the state, the slowest deep model, the peak RSS of
# any node, and the no-op rerun.  The peer is the reference stack the
# flagship replaces (Kafka, MinIO, MLflow, Docker Compose and Python
# trainers), which cannot run here: its published figures are about 7.5
# minutes end to end and 4-5 minutes per deep model on 2 cores, and the
# ratios below are against those figures, not a side-by-side run.
#
# Results: bench/out/flagship/results.md.
# Knobs: BENCH_FLAGSHIP_REPS (1: cold runs, each in a fresh project),
# DAGRUN (the binary; default ./dagrun, built if missing).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/flagship
DAGRUN=${DAGRUN:-$ROOT/dagrun}
REPS=${BENCH_FLAGSHIP_REPS:-1}
REF_TOTAL=450     # seconds: the reference stack end to end
REF_DEEP=240      # seconds: its fastest deep model (4-5 minutes each)

[ -x "$DAGRUN" ] || make -C "$ROOT" dagrun >/dev/null || exit 1
mkdir -p "$OUT"
now() { date +%s.%N; }
best_cold=
i=0
while [ $i -lt "$REPS" ]; do
	i=$((i + 1))
	P=$OUT/proj
	rm -rf "$P"
	mkdir -p "$P/pipelines" "$P/lua" "$P/examples/data"
	cp "$ROOT/pipelines/full.yaml" "$P/pipelines/"
	cp "$ROOT"/lua/*.lua "$P/lua/"
	cp "$ROOT/examples/data/ETTh1.csv" "$P/examples/data/"
	(cd "$P" && git init -q . && git config user.email b@example.com &&
	 git config user.name b && git add -A && git commit -qm flagship) || exit 1
	t0=$(now)
	(cd "$P" && "$DAGRUN" -q -j 2 pipelines/full.yaml) || { echo "flagship: the cold run failed" >&2; exit 1; }
	t1=$(now)
	cold=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
	echo "cold run $i: $cold s"
	if [ -z "$best_cold" ] || [ "$(echo "$cold < $best_cold" | bc)" = 1 ]; then best_cold=$cold; fi
done
t0=$(now)
(cd "$P" && "$DAGRUN" -q pipelines/full.yaml) || exit 1
t1=$(now)
noop=$(printf '%.2f' "$(echo "$t1 - $t0" | bc)")
DB=$P/state/dagrun.db
sqlite3 -separator ' | ' "$DB" "SELECT node, printf('%.2f', ended - started), printf('%.2f', cpu), maxrss_kb / 1024 FROM node_runs WHERE run_id = 1 AND status = 'done' ORDER BY ended - started DESC" >"$OUT/nodes.txt"
deep=$(sqlite3 "$DB" "SELECT printf('%.2f', max(ended - started)) FROM node_runs WHERE run_id = 1 AND node IN ('train_gru', 'train_lstm', 'train_tcn', 'train_encoder_lstm')")
deep_node=$(sqlite3 "$DB" "SELECT node FROM node_runs WHERE run_id = 1 AND node IN ('train_gru', 'train_lstm', 'train_tcn', 'train_encoder_lstm') ORDER BY ended - started DESC LIMIT 1")
cpu=$(sqlite3 "$DB" "SELECT printf('%.1f', sum(cpu)) FROM node_runs WHERE run_id = 1")
rss=$(sqlite3 "$DB" "SELECT max(maxrss_kb) / 1024 FROM node_runs WHERE run_id = 1")
winner=$(cd "$P" && "$DAGRUN" models forecaster --json | jq -r '.[] | select(.aliases | index("production")) | "\(.node) (rmse \(.metrics.rmse))"')
{
	echo "# The flagship end to end"
	echo
	echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u +%Y-%m-%d)."
	echo "pipelines/full.yaml on examples/data/ETTh1.csv, -j 2, a fresh project; best of $REPS cold run(s)."
	echo
	echo "| measure | dagrun | reference stack (published) | ratio |"
	echo "|---|---|---|---|"
	echo "| end to end, cold | $best_cold s | about $REF_TOTAL s | $(echo "scale=1; $REF_TOTAL / $best_cold" | bc)x faster |"
	echo "| slowest deep model ($deep_node) | $deep s | 240-300 s each | $(echo "scale=1; $REF_DEEP / $deep" | bc)x faster (against 240 s) |"
	echo "| no-op rerun | $noop s | (reruns everything) | |"
	echo
	echo "CPU of all nodes: $cpu s (wall above CPU / 2 is waiting for a core: the load average says how busy the machine was); the largest node peak RSS: $rss MiB; promoted: $winner."
	echo
	echo "Per node (wall s | CPU s | peak RSS MiB), slowest first:"
	echo
	echo '```'
	cat "$OUT/nodes.txt"
	echo '```'
} >"$OUT/results.md"
cat "$OUT/results.md"
