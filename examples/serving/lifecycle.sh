#!/bin/sh
# The model-serving lifecycle under load (examples/serving/README.md):
#   1. train: the pipeline trains a GRU and an LSTM and promotes the better
#      one to forecaster@production (a new version in the registry);
#   2. serve: `dagrun serve` answers POST /predict/forecaster from it;
#   3. load: wrk posts predictions on CONNECTIONS connections, and keeps
#      going through everything below;
#   4. retrain and promote: the pipeline runs again with --salt (a fresh
#      lineage: every node reruns) and promotes its winner, a new version;
#      the server swaps it in without a restart;
#   5. roll back: `dagrun rollback forecaster production` gives the alias
#      back to the version before; the server swaps again;
#   6. summary: requests, failures, latency, and the versions served over
#      time.  Exit 0 only when no request failed (wrk's non-2xx and socket
#      errors) and the server was seen serving each new version.
#
# Usage: examples/serving/lifecycle.sh
# Knobs (environment):
#   LIFECYCLE_SECONDS      load before, between and after the moves (5)
#   LIFECYCLE_CONNECTIONS  wrk connections (8)
#   LIFECYCLE_DIR          scratch folder: state, logs, request (state/lifecycle,
#                          git-ignored like all of state/)
#   LIFECYCLE_WAIT         seconds to wait for the server to see a move (60)
#   DAGRUN                 the binary (./dagrun of this repository)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DAGRUN=${DAGRUN:-$ROOT/dagrun}
SECS=${LIFECYCLE_SECONDS:-5}
CONNS=${LIFECYCLE_CONNECTIONS:-8}
OUT=${LIFECYCLE_DIR:-$ROOT/state/lifecycle}
WAIT=${LIFECYCLE_WAIT:-60}
PIPELINE=$HERE/pipeline.yaml

say() { echo "lifecycle: $*"; }
die() { echo "lifecycle: $*" >&2; exit 1; }

command -v wrk >/dev/null 2>&1 || die "wrk is not installed (apt-get install wrk)"
command -v jq >/dev/null 2>&1 || die "jq is not installed (apt-get install jq)"
[ -x "$DAGRUN" ] || die "no dagrun binary at $DAGRUN (run make first, or set DAGRUN)"
rm -rf "$OUT" && mkdir -p "$OUT" || die "cannot make $OUT"
# Every command below uses this state, not the repository's state/.
DAGRUN_STATE=$OUT/state
export DAGRUN_STATE
T0=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) $T0" | awk '{ printf "%.1f", $1 - $2 }'; }

# ---- 1. train
say "1. training: dagrun $PIPELINE"
"$DAGRUN" -q "$PIPELINE" >"$OUT/train1.log" 2>&1 || { cat "$OUT/train1.log" >&2; die "the pipeline failed"; }
"$DAGRUN" models forecaster | sed 's/^/    /'

# The request: the last 11 hours of ETTh1 (10 in, 1 out: one window and the
# forecast past it) as {"rows": [...]}.
tail -n 11 "$ROOT/examples/data/ETTh1.csv" | awk -F, 'BEGIN { printf "{\"rows\":[" }
	{ printf "%s{\"timestamp\":\"%s\",\"HUFL\":%s,\"HULL\":%s,\"MUFL\":%s,\"MULL\":%s,\"LUFL\":%s,\"LULL\":%s,\"OT\":%s}",
	  (NR > 1 ? "," : ""), $1, $2, $3, $4, $5, $6, $7, $8 }
	END { print "]}" }' >"$OUT/request.json"

# ---- 2. serve
"$DAGRUN" serve --port 0 --poll-ms 100 >"$OUT/serve.out" 2>"$OUT/serve.err" &
SERVER=$!
WRK=
SAMPLER=
cleanup() {
	[ -n "$WRK" ] && kill -INT "$WRK" 2>/dev/null
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	kill -TERM "$SERVER" 2>/dev/null
}
trap cleanup EXIT
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\) .*/\1/p' "$OUT/serve.err")
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "$PORT" ] || { cat "$OUT/serve.err" >&2; die "the server did not start"; }
URL=http://127.0.0.1:$PORT
say "2. serving on $URL"
curl -sf -XPOST -H 'Content-Type: application/json' --data-binary @"$OUT/request.json" \
	"$URL/predict/forecaster" >"$OUT/answer.json" || die "the first prediction failed"
say "   one prediction: $(jq -c '{model, alias, version, kind, forecast: .predictions[-1]}' "$OUT/answer.json")"

# The version forecaster@production serves now, from GET /models.
served() {
	curl -s "$URL/models" | jq -r '.models[] | select(.name == "forecaster") | .served.production.version'
}
# wait_served V: until the server serves version V (LIFECYCLE_WAIT seconds)
wait_served() {
	n=$((WAIT * 10))
	while [ "$n" -gt 0 ]; do
		[ "$(served)" = "$1" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
# The version the registry gives forecaster@production.
registry() {
	"$DAGRUN" models forecaster --json |
		jq -r '.[] | select((.aliases // "") | split(",") | index("production")) | .version'
}

# ---- 3. load, and the versions served over time
cat >"$OUT/post.lua" <<LUA
local f = io.open("$OUT/request.json"); local body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
threads=2
[ "$CONNS" -ge 2 ] || threads=1
wrk -t"$threads" -c"$CONNS" -d3600s --timeout 5s -s "$OUT/post.lua" "$URL/predict/forecaster" \
	>"$OUT/wrk.txt" 2>&1 &
WRK=$!
( while :; do echo "$(elapsed) $(served)"; sleep 0.2; done ) >"$OUT/versions.log" 2>/dev/null &
SAMPLER=$!
V1=$(served)
say "3. load: wrk, $CONNS connections, on v$V1; ${SECS} s"
sleep "$SECS"

# ---- 4. retrain with a fresh lineage: its winner is a new version
say "4. retraining under load: dagrun --salt retrain-$$ (a new version takes production)"
"$DAGRUN" -q --salt "retrain-$$" "$PIPELINE" >"$OUT/train2.log" 2>&1 ||
	{ cat "$OUT/train2.log" >&2; die "the second run failed"; }
V2=$(registry)
[ -n "$V2" ] && [ "$V2" != "$V1" ] || die "the second run promoted no new version (registry says v$V2)"
T_PROMOTE=$(elapsed)
SEEN2=no
wait_served "$V2" && SEEN2=yes
say "   the registry: v$V2 at production; the server serves it: $SEEN2 ($(elapsed) s)"
sleep "$SECS"

# ---- 5. roll back
say "5. rolling back: dagrun rollback forecaster production"
"$DAGRUN" rollback forecaster production >"$OUT/rollback.log" 2>&1 ||
	{ cat "$OUT/rollback.log" >&2; die "the rollback failed"; }
V3=$(registry)
SEEN3=no
wait_served "$V3" && SEEN3=yes
say "   the registry: v$V3 at production; the server serves it: $SEEN3 ($(elapsed) s)"
sleep "$SECS"

# ---- 6. stop, and the summary
kill -INT "$WRK"
wait "$WRK"
WRK=
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
SAMPLER=
curl -s "$URL/metrics" >"$OUT/metrics.txt"
kill -TERM "$SERVER"
wait "$SERVER"
SERVER_RC=$?
trap - EXIT
line=$(grep '^{"requests"' "$OUT/wrk.txt")
[ -n "$line" ] || { cat "$OUT/wrk.txt" >&2; die "wrk printed no summary"; }
echo "$line" >"$OUT/wrk.json"
REQS=$(jq .requests "$OUT/wrk.json")
NON2XX=$(jq .non2xx "$OUT/wrk.json")
SOCKERR=$(jq .socket_errors "$OUT/wrk.json")
FAILED=$((NON2XX + SOCKERR))
SWAPS=$(sed -n 's/^dagrun_serve_model_swaps_total //p' "$OUT/metrics.txt")
echo
echo "summary"
echo "  requests      $REQS in $(jq .seconds "$OUT/wrk.json") s ($(jq .rps "$OUT/wrk.json") per second, $CONNS connections)"
echo "  latency       p50 $(jq .p50_ms "$OUT/wrk.json") ms, p99 $(jq .p99_ms "$OUT/wrk.json") ms, max $(jq .max_ms "$OUT/wrk.json") ms"
echo "  failed        $FAILED ($NON2XX non-2xx, $SOCKERR socket errors)"
echo "  swaps         $SWAPS (dagrun_serve_model_swaps_total)"
echo "  served        $(awk 'NF == 2 && $2 != last { printf "%sv%s from %s s", (n++ ? ", " : ""), $2, $1; last = $2 } END { print "" }' "$OUT/versions.log")"
echo "                (seconds since the start; sampled from GET /models every 0.2 s)"
echo "  server exit   $SERVER_RC (SIGTERM)"
echo "  files         $OUT"
status=0
[ "$FAILED" -eq 0 ] || { echo "lifecycle: FAILED: $FAILED requests failed" >&2; status=1; }
[ "$SEEN2" = yes ] || { echo "lifecycle: FAILED: the server never served v$V2" >&2; status=1; }
[ "$SEEN3" = yes ] || { echo "lifecycle: FAILED: the server never served v$V3 after the rollback" >&2; status=1; }
[ "$SERVER_RC" -eq 0 ] || { echo "lifecycle: FAILED: the server exited $SERVER_RC" >&2; status=1; }
exit $status
