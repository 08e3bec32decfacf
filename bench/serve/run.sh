#!/bin/sh
# The serving benchmark: `dagrun serve` on loopback under wrk, answering
# single-window predictions of an LSTM of the flagship's size (2 layers,
# hidden 128, input_seq_len 10, the flagship's features: 7 columns of
# ETTh1 and 6 time features).  A request is the fewest rows the model
# accepts (input_seq_len + output_seq_len = 11) as JSON, so each answer is
# one window inside the rows and the forecast past them.
#
# Measured: requests/s and the p50/p95/p99 latency that wrk sees, for a
# few connection counts; then a run during which the production alias is
# promoted to another version and rolled back (`dagrun promote`,
# `dagrun rollback`), which must end with zero failed requests (wrk's
# non-2xx, connect, read, write and timeout errors) and both swaps seen
# by the server.  Targets: p95 under 2 ms, over 5,000 requests/s on 2
# cores.  wrk runs on the same machine and takes CPU from the server; the
# load average (1 minute) is recorded with each run, and the mean batch
# (predictions per model pass: requests that wait together share one).
#
# Results: bench/out/serve/results.md (+ results.jsonl).
# Knobs: BENCH_SERVE_SECONDS (15), BENCH_SERVE_CONNECTIONS ("1 16 64"),
# BENCH_SERVE_WORKERS (cores), DAGRUN (the binary; default ./dagrun).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/bench/out/serve
DAGRUN=${DAGRUN:-$ROOT/dagrun}
SECS=${BENCH_SERVE_SECONDS:-15}
CONNS=${BENCH_SERVE_CONNECTIONS:-"1 16 64"}
WORKERS=${BENCH_SERVE_WORKERS:-$(nproc)}

if ! command -v wrk >/dev/null 2>&1; then
	echo "serve bench: installing wrk"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
		  apt-get install -y -q wrk >/dev/null; } ||
		{ echo "serve bench: no wrk (apt-get install wrk)" >&2; exit 2; }
fi
rm -rf "$OUT" && mkdir -p "$OUT/proj/data" "$OUT/proj/pipelines"
if [ "$DAGRUN" = "$ROOT/dagrun" ]; then
	make -C "$ROOT" -s dagrun >"$OUT/build.log" 2>&1 ||
		{ echo "serve bench: cannot build dagrun (see $OUT/build.log)" >&2; exit 3; }
fi
"$DAGRUN" serve --help >/dev/null 2>&1 ||
	{ echo "serve bench: '$DAGRUN' has no serve command" >&2; exit 3; }

cd "$OUT/proj" || exit 3
git init -q . && git config user.email b@example.com && git config user.name bench
head -n 4001 "$ROOT/examples/data/ETTh1.csv" > data/etth1_4000.csv
# Two LSTMs of the flagship's size (seeds 1 and 2): v1 production, v2
# challenger, so that a promotion has another version to swap in.
cat > pipelines/bench.yaml <<'YAML'
pipeline: bench_serve
nodes:
  ingest:
    task: data.load
    params: {path: data/etth1_4000.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [min_of_day, day_of_week, day_of_year],
             input_seq_len: 10, output_seq_len: 1, split: [0.7, 0.1, 0.2]}
  lstm_a:
    task: train.lstm
    needs: [features]
    params: {num_layers: 2, hidden_size: 128, batch_size: 64, epochs: 1, seed: 1}
  lstm_b:
    task: train.lstm
    needs: [features]
    params: {num_layers: 2, hidden_size: 128, batch_size: 64, epochs: 1, seed: 2}
  evaluate:
    task: eval.promote
    needs: [lstm_a, lstm_b]
    params: {model: forecaster, alias: production, must_beat: []}
YAML
git add -A && git commit -qm bench
"$DAGRUN" -q pipelines/bench.yaml || { echo "serve bench: the pipeline failed" >&2; exit 1; }

# The request: the last 11 rows of the file as JSON.
tail -n 11 data/etth1_4000.csv | awk -F, 'BEGIN { printf "{\"rows\":[" }
	{ printf "%s{\"timestamp\":\"%s\",\"HUFL\":%s,\"HULL\":%s,\"MUFL\":%s,\"MULL\":%s,\"LUFL\":%s,\"LULL\":%s,\"OT\":%s}",
	  (NR > 1 ? "," : ""), $1, $2, $3, $4, $5, $6, $7, $8 }
	END { print "]}" }' > "$OUT/request.json"
cat > "$OUT/post.lua" <<LUA
local f = io.open("$OUT/request.json"); local body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

"$DAGRUN" serve --port 0 --workers "$WORKERS" --queue-max 256 --poll-ms 100 -q \
	>"$OUT/serve.out" 2>"$OUT/serve.err" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null' EXIT
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\) .*/\1/p' "$OUT/serve.err")
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "$PORT" ] || { echo "serve bench: the server did not start" >&2; cat "$OUT/serve.err" >&2; exit 1; }
URL=http://127.0.0.1:$PORT/predict/forecaster
curl -sf -XPOST -H 'Content-Type: application/json' --data-binary @"$OUT/request.json" \
	"$URL" >"$OUT/answer.json" || { echo "serve bench: the request fails" >&2; exit 1; }

metric() { curl -s "http://127.0.0.1:$PORT/metrics" | sed -n "s/^$1 //p"; }
# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$SERVER/stat" | awk '{ print $12 + $13 }'; }
# wrk_run NAME CONNECTIONS SECONDS: one JSON line into results.jsonl
wrk_run() {
	threads=2
	[ "$2" -ge 2 ] || threads=1
	p0=$(metric dagrun_serve_passes_total)
	r0=$(metric dagrun_serve_pass_requests_total)
	c0=$(cpu_ticks)
	wrk -t"$threads" -c"$2" -d"$3"s --timeout 5s -s "$OUT/post.lua" "$URL" >"$OUT/wrk_$1.txt" 2>&1
	load=$(cut -d' ' -f1 /proc/loadavg)
	c1=$(cpu_ticks)
	batch=$(echo "$(metric dagrun_serve_passes_total) $p0 $(metric dagrun_serve_pass_requests_total) $r0" |
		awk '{ printf "%.2f", ($1 > $2 ? ($3 - $4) / ($1 - $2) : 0) }')
	line=$(grep '^{"requests"' "$OUT/wrk_$1.txt")
	[ -n "$line" ] || { echo "serve bench: wrk failed (see $OUT/wrk_$1.txt)" >&2; return 1; }
	cpu=$(echo "$c0 $c1 $(getconf CLK_TCK) $line" | sed 's/{"requests": \([0-9]*\),.*/\1/' |
		awk '{ printf "%.0f", ($4 > 0 ? ($2 - $1) / $3 * 1e6 / $4 : 0) }')
	echo "$line" | sed "s|^{|{\"run\": \"$1\", \"connections\": $2, \"load1\": $load, \"batch\": $batch, \"cpu_us\": $cpu, |" >>"$OUT/results.jsonl"
	echo "serve bench: $1: $line (load $load, mean batch $batch, server CPU $cpu us a request)"
}

: >"$OUT/results.jsonl"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
wrk -t2 -c16 -d3s -s "$OUT/post.lua" "$URL" >/dev/null 2>&1   # warm-up
for c in $CONNS; do
	wrk_run "c$c" "$c" "$SECS" || exit 1
done

# A promotion and a rollback during the load.
SWAPS0=$(curl -s "http://127.0.0.1:$PORT/metrics" | sed -n 's/^dagrun_serve_model_swaps_total //p')
( sleep $((SECS / 3)); "$DAGRUN" promote forecaster 2 production >"$OUT/promote.txt" 2>&1
  sleep $((SECS / 3)); "$DAGRUN" rollback forecaster production >>"$OUT/promote.txt" 2>&1 ) &
MOVER=$!
wrk_run promotion 16 "$SECS" || exit 1
wait $MOVER
SWAPS1=$(curl -s "http://127.0.0.1:$PORT/metrics" | sed -n 's/^dagrun_serve_model_swaps_total //p')
curl -s "http://127.0.0.1:$PORT/metrics" >"$OUT/metrics.txt"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
echo "{\"run\": \"machine\", \"cpu\": \"$CPU, $(nproc) cores\", \"load\": \"$LOAD\", \"workers\": $WORKERS, \"swaps\": $((SWAPS1 - SWAPS0))}" >>"$OUT/results.jsonl"

# The report.
{
	echo "Machine: $CPU, $(nproc) cores, shared with wrk (2 threads) and other work; load average $LOAD0 at the start, $LOAD at the end (1, 5, 15 minutes)."
	echo "Server: dagrun serve --workers $WORKERS --queue-max 256; model: LSTM 2 x 128, input_seq_len 10, 13 features; request: 11 rows of ETTh1 as JSON (one window + the forecast)."
	echo
	echo "| run | connections | requests/s | p50 ms | p90 ms | p95 ms | p99 ms | max ms | failed | mean batch | server CPU us/request | load (1 min) |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	grep '"rps"' "$OUT/results.jsonl" | sed 's/[{}"]//g; s/, /,/g' | awk -F, '{
		for (i = 1; i <= NF; i++) { split($i, kv, ": "); v[kv[1]] = kv[2] }
		printf "| %s | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %s | %s | %s |\n", v["run"],
			v["connections"], v["rps"], v["p50_ms"], v["p90_ms"], v["p95_ms"], v["p99_ms"],
			v["max_ms"], v["non2xx"] + v["socket_errors"], v["batch"], v["cpu_us"], v["load1"] }'
	echo
	echo "During 'promotion': dagrun promote forecaster 2 production, then dagrun rollback forecaster production; the server swapped models $((SWAPS1 - SWAPS0)) times (dagrun_serve_model_swaps_total)."
	echo "'failed': wrk's non-2xx responses plus its connect, read, write and timeout errors."
	echo "Targets: p95 < 2 ms and > 5,000 requests/s on 2 cores."
} >"$OUT/results.md"
cat "$OUT/results.md"
FAILED=$(grep '"run": "promotion"' "$OUT/results.jsonl" | sed 's/.*"non2xx": \([0-9]*\), "socket_errors": \([0-9]*\).*/\1 \2/' | awk '{ print $1 + $2 }')
if [ "${FAILED:-1}" -ne 0 ] || [ $((SWAPS1 - SWAPS0)) -lt 2 ]; then
	echo "serve bench: FAILED: $FAILED failed requests, $((SWAPS1 - SWAPS0)) swaps during the promotion run" >&2
	exit 1
fi
