#!/bin/sh
# dagrun serve through the real binary, on models trained here: a GRU and
# an LSTM on ETTh1 (data.load -> data.preprocess -> train.* ->
# eval.promote with the two baselines among the needs), so that
# forecaster v1 is production and v2 challenger; and a model 'broken'
# whose version cannot be loaded.  Checked: /healthz, /models, /metrics
# in the Prometheus text format; predictions from JSON and from CSV equal
# to infer.batch's and dagrun predict's on the same rows, to the last
# bit; a 4xx with a JSON error for each kind of bad request, the server
# alive after them; 401 without the bearer token; 429 (with Retry-After) from a tiny queue and
# 503 past the deadline, both counted; promote and rollback picked up
# while requests run, with no failed request; the traffic split's shares
# and its stickiness per X-Request-Key; the shadow alias counted, never
# returned; predictions that wait together answered by one model pass,
# each equal to infer.batch's; a clean exit on SIGTERM.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines

if ! "$DAGRUN" serve --help >/dev/null 2>&1; then
	fail "dagrun has a serve command" "engine/cli.c does not wire serve_main() yet"
	finish
	exit 1
fi

cp "$ROOT/examples/data/ETTh1.csv" data/
# the rows the server is asked about: 40 hours of ETTh1, as CSV and JSON
sed -n '1p;5001,5040p' data/ETTh1.csv > data/req.csv
to_json() { # CSV of ETTh1's columns -> {"rows": [...]}
	awk -F, 'BEGIN { printf "{\"rows\":[" } NR > 1 {
		printf "%s{\"timestamp\":\"%s\",\"HUFL\":%s,\"HULL\":%s,\"MUFL\":%s,\"MULL\":%s,\"LUFL\":%s,\"LULL\":%s,\"OT\":%s}",
			(NR > 2 ? "," : ""), $1, $2, $3, $4, $5, $6, $7, $8 }
		END { print "]}" }' "$1"
}
to_json data/req.csv > data/req.json

cat > pipelines/serve.yaml <<'YAML'
pipeline: serve
nodes:
  ingest:
    task: data.load
    params: {path: data/ETTh1.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, time_features: [min_of_day, day_of_week], input_seq_len: 8,
             output_seq_len: 1, sample_train_rows: 2000, sample_test_rows: 500}
  train_gru:
    task: train.gru
    needs: [features]
    params: {num_layers: 1, hidden_size: 8, batch_size: 64, epochs: 2, seed: 1}
  train_lstm:
    task: train.lstm
    needs: [features]
    params: {num_layers: 1, hidden_size: 8, batch_size: 64, epochs: 2, seed: 2}
  persistence: {task: baseline.persistence, needs: [features]}
  seasonal_naive: {task: baseline.seasonal_naive, needs: [features]}
  evaluate:
    task: eval.promote
    needs: [train_gru, train_lstm, persistence, seasonal_naive]
    params: {model: forecaster, alias: production, must_beat: []}
  expected:
    task: infer.batch
    needs: [evaluate]
    params: {csv: data/req.csv}
  # a version no forecaster can load: its model.json has an unknown type
  bad_model:
    cmd: >-
      echo '{"rmse": 1, "mae": 1, "mse": 1}' > $DAGRUN_OUT/metrics.json &&
      echo '{"type": "test"}' > $DAGRUN_OUT/model.json
  evaluate_broken:
    task: eval.promote
    needs: [bad_model]
    params: {model: broken, must_beat: []}
  export:
    needs: [expected]
    cmd: "rm -rf got && cp -r $DAGRUN_IN/expected got && echo ok > $DAGRUN_OUT/done"
YAML
git add -A && git commit -qm init
run_dagrun pipelines/serve.yaml
expect "the pipeline trains, registers and predicts (exit 0)" [ "$RC" -eq 0 ] || { finish; exit 1; }
q() { sqlite3 state/dagrun.db "$1"; }
expect "forecaster v1 is production, v2 challenger" \
	[ "$(q "SELECT group_concat(alias || '=' || version) FROM (SELECT * FROM aliases WHERE model = 'forecaster' ORDER BY alias)")" = "challenger=2,production=1" ]

TOKEN=s3cret-$$
echo "$TOKEN" > token.txt

# start_server ARGS...: dagrun serve on a free port; sets SERVER and URL.
start_server() {
	"$DAGRUN" serve --port 0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
	SERVER=$!
	PORT=
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\) .*/\1/p' "$WORK/serve.err")
		[ -n "$PORT" ] && break
		sleep 0.1
	done
	URL=http://127.0.0.1:$PORT
}
stop_server() { # every server must end cleanly (under ASan: no leak either)
	kill -TERM "$SERVER"
	for _ in $(seq 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SERVER" 2>/dev/null; then
		fail "the server stops on SIGTERM" "still running 10 s later: $(tail -n 5 "$WORK/serve.err")"
		kill -KILL "$SERVER"
	fi
	wait "$SERVER"
	SERVER_RC=$?
	[ "$SERVER_RC" -eq 0 ] || fail "the server exits 0 on SIGTERM" "exit $SERVER_RC: $(tail -n 20 "$WORK/serve.err")"
}
# post PATH FILE [TYPE [CURL ARGS...]]: BODY, CODE, HDRS
post() {
	path=$1 file=$2 type=${3:-application/json}
	if [ $# -ge 3 ]; then shift 3; else shift $#; fi
	CODE=$(curl -s -o "$WORK/.body" -D "$WORK/.hdrs" -w '%{http_code}' -XPOST \
		-H "Content-Type: $type" -H "Authorization: Bearer $TOKEN" "$@" \
		--data-binary @"$file" "$URL$path")
	BODY=$(cat "$WORK/.body")
	HDRS=$(cat "$WORK/.hdrs")
}
get() { CODE=$(curl -s -o "$WORK/.body" -w '%{http_code}' "$URL$1"); BODY=$(cat "$WORK/.body"); }

start_server --token-file token.txt --poll-ms 100
expect "the server starts and prints its port" [ -n "$PORT" ] || { cat "$WORK/serve.err"; finish; exit 1; }
expect "... bound to 127.0.0.1 by default" contains "$(cat "$WORK/serve.err")" "http://127.0.0.1:"
expect "... and logs the versions it put in service" contains "$(cat "$WORK/serve.err")" "forecaster@production: v1"

# ---- /healthz, /models, /metrics
get /healthz
expect "GET /healthz: 200" [ "$CODE" = 200 ]
expect "... degraded: broken@production cannot be loaded" \
	[ "$(echo "$BODY" | jq -c '[.status, .aliases_serving, .aliases_failing]')" = '["degraded",2,1]' ]
get /models
expect "GET /models: 200, the registry's models" \
	[ "$CODE" = 200 -a "$(echo "$BODY" | jq -c '[.models[].name]')" = '["broken","forecaster"]' ]
expect "... aliases and the versions they serve" \
	[ "$(echo "$BODY" | jq -c '.models[1] | [.aliases.production, .aliases.challenger, .served.production.version, (.versions | length)]')" = '[1,2,1,2]' ]
expect "... the type of each version" \
	[ "$(echo "$BODY" | jq -r '.models[1].versions | map(.model_type) | sort | join(",")')" = "gru,lstm" ]
expect "... why broken is not served" contains "$(echo "$BODY" | jq -r '.models[0].served.production.error')" "cannot load v1"
KIND=$(echo "$BODY" | jq -r '.models[1].served.production.kind')

post /predict/forecaster data/req.json
get /metrics
echo "$BODY" > "$WORK/metrics.txt"
expect "GET /metrics: 200" [ "$CODE" = 200 ]
# every line a comment or 'name{labels} value'; every family has HELP and TYPE
bad=$(awk '/^#/ { next } !/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$/' "$WORK/metrics.txt")
expect "metrics: every sample line is 'name{labels} value'" [ -z "$bad" ]
missing=$(awk '/^# HELP/ { h[$3] = 1 } /^# TYPE/ { t[$3] = 1 }
	/^[a-z]/ { n = $1; sub(/\{.*/, "", n); sub(/_(bucket|sum|count)$/, "", n); if (!(n in h) || !(n in t)) print n }' "$WORK/metrics.txt")
expect "metrics: every family has # HELP and # TYPE" [ -z "$missing" ]
expect "metrics: requests by endpoint and status" \
	grep -q '^dagrun_serve_requests_total{endpoint="predict",code="200"} 1$' "$WORK/metrics.txt"
expect "metrics: the latency histogram, cumulative, +Inf = count" \
	awk '/^dagrun_serve_request_duration_seconds_bucket\{endpoint="predict"/ { if ($2 < last) bad = 1; last = $2; inf = $2 }
	     /^dagrun_serve_request_duration_seconds_count\{endpoint="predict"/ { count = $2 }
	     END { exit !(count == 1 && inf == count && !bad) }' "$WORK/metrics.txt"
expect "metrics: the version each model@alias serves" \
	grep -q "^dagrun_serve_model_version{model=\"forecaster\",alias=\"production\",kind=\"$KIND\"} 1$" "$WORK/metrics.txt"
expect "metrics: queue rejections and timeouts" \
	grep -q '^dagrun_serve_queue_rejections_total 0$' "$WORK/metrics.txt"
expect "... and the split's per-alias counters" grep -q '^# TYPE dagrun_serve_split_requests_total counter' "$WORK/metrics.txt"

# ---- predictions equal infer.batch's on the same rows
same_as_batch() { # the answer in BODY against got/predictions.csv (or $1)
	echo "$BODY" > "$WORK/answer.json"
	jq -n --rawfile csv "${1:-got/predictions.csv}" --slurpfile a "$WORK/answer.json" '
		[$csv | split("\n")[1:][] | select(length > 0) | split(",") | [.[0], (.[1] | tonumber)]] as $want
		| [$a[0].predictions[] | [.timestamp, .yhat]] as $got
		| ($want | length) > 1 and $want == $got' | grep -q true
}
post /predict/forecaster data/req.json
expect "POST JSON rows: 200" [ "$CODE" = 200 ]
expect "... answered by forecaster@production v1" \
	[ "$(echo "$BODY" | jq -c '[.model, .alias, .version, .horizon, .step_seconds]')" = '["forecaster","production",1,1,3600]' ]
expect "... every window and the forecast, timestamped, equal to infer.batch's" same_as_batch
expect "... the actuals where known, none past the data" \
	[ "$(echo "$BODY" | jq -c '[.predictions[0] | has("y")], [.predictions[-1] | has("y")]' | tr -d '\n')" = "[true][false]" ]
post /predict/forecaster data/req.csv text/csv
expect "POST CSV rows: 200, equal to infer.batch's too" same_as_batch
"$DAGRUN" predict forecaster@production data/req.csv > "$WORK/predict.csv" 2>"$WORK/.err"
expect "... and to dagrun predict's on the same file" same_as_batch "$WORK/predict.csv"
post "/predict/forecaster@production" data/req.json
expect "NAME@ALIAS names the alias" [ "$CODE" = 200 ] && same_as_batch
post "/predict/forecaster@challenger" data/req.json
expect "... another alias answers with its own model" \
	[ "$CODE" = 200 -a "$(echo "$BODY" | jq .version)" = 2 ]
post "/predict/forecaster@v2" data/req.json
expect "... or NAME@vN, a version an alias serves" [ "$CODE" = 200 -a "$(echo "$BODY" | jq .version)" = 2 ]

# ---- bad requests: a 4xx and {"error": ...} each, the server unharmed
printf '{"rows": [' > bad_json.txt
echo '[1, 2]' > bad_shape.json
echo '{"rows": [{"timestamp": "2017-01-01 00:00:00", "HUFL": 1}]}' > bad_cols.json
sed -n '1p;5001,5005p' data/ETTh1.csv > few.csv
to_json few.csv > few.json
sed -n '1p;5001,5040p' data/ETTh1.csv | sed '3s/,[^,]*$/,oops/' > bad_value.csv
sed -n '1p;5001,5020p' data/ETTh1.csv | cut -d, -f1-7 > no_ot.csv
sed -n '1p;5001,5020p' data/ETTh1.csv | awk 'NR == 3 { held = $0; next } { print } NR == 4 { print held }' > unsorted.csv
to_json unsorted.csv > unsorted.json
head -c 1100000 /dev/zero | tr '\0' ' ' > big.json
bad() { # NAME CODE WORDS PATH FILE [TYPE [CURL ARGS]]
	name=$1 want=$2 words=$3
	shift 3
	post "$@"
	if [ "$CODE" = "$want" ] && echo "$BODY" | jq -e '.error | type == "string"' >/dev/null &&
	   contains "$BODY" "$words"; then ok "$name: $want"; else fail "$name: $want" "got $CODE: $BODY"; fi
}
bad "malformed JSON" 400 "not JSON" /predict/forecaster bad_json.txt
bad "JSON of the wrong shape" 400 "rows" /predict/forecaster bad_shape.json
bad "missing columns, all named" 400 "no column 'HULL', 'MUFL'" /predict/forecaster bad_cols.json
bad "too few rows" 400 "fewer than the 9" /predict/forecaster few.json
bad "too few rows (CSV)" 400 "fewer than the 9" /predict/forecaster few.csv text/csv
bad "a value that is not a number (CSV, line and column)" 400 "body:3:" /predict/forecaster bad_value.csv text/csv
bad "a CSV without a column the model reads" 400 "no column 'OT'" /predict/forecaster no_ot.csv text/csv
bad "times out of order" 400 "not after" /predict/forecaster unsorted.json
bad "an unknown model" 404 "no model 'nosuch'" /predict/nosuch data/req.json
bad "an unknown alias" 404 "no alias 'staging'" "/predict/forecaster@staging" data/req.json
bad "a model that cannot be loaded" 503 "cannot load v1" /predict/broken data/req.json
bad "a body over --max-body" 413 "larger than the limit" /predict/forecaster big.json
bad "an unsupported Content-Type" 415 "Content-Type 'text/plain'" /predict/forecaster data/req.json text/plain
bad "an unknown path" 404 "no such endpoint" /predict data/req.json
bad "an empty model name" 404 "bad model reference" /predict/ data/req.json
bad "a wrong method" 405 "takes POST" /predict/forecaster data/req.json application/json -XGET
expect "... 405 says which methods (Allow: POST)" contains "$HDRS" "Allow: POST"
bad "POST to a GET endpoint" 405 "takes GET" /models data/req.json
get /nowhere
expect "GET of an unknown path: 404" [ "$CODE" = 404 ]
expect "the server is still up after every bad request" kill -0 "$SERVER"
get /healthz
expect "... and answers" [ "$CODE" = 200 ]

# ---- the bearer token
CODE=$(curl -s -o "$WORK/.body" -D "$WORK/.hdrs" -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
	--data-binary @data/req.json "$URL/predict/forecaster")
expect "POST without the token: 401" [ "$CODE" = 401 ]
expect "... with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$WORK/.hdrs"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H "Authorization: Bearer ${TOKEN}x" \
	--data-binary @data/req.json "$URL/predict/forecaster")
expect "POST with a wrong token: 401" [ "$CODE" = 401 ]
CODE=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H "Authorization: Bearer ${TOKEN%?}" \
	--data-binary @data/req.json "$URL/predict/forecaster")
expect "POST with a prefix of the token: 401" [ "$CODE" = 401 ]
CODE=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$URL/reload")
expect "POST /reload without the token: 401" [ "$CODE" = 401 ]
get /metrics
expect "GET endpoints need no token" [ "$CODE" = 200 ]

# ---- hot reload: promote and roll back while requests run
loop() { # OUT: one "code version" line per request until 'stop' exists
	while [ ! -e "$WORK/stop" ]; do
		code=$(curl -s -o "$1.body" -w '%{http_code}' -XPOST -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' --data-binary @data/req.json \
			"$URL/predict/forecaster")
		echo "$code $(jq .version "$1.body" 2>/dev/null)"
	done > "$1"
}
served() { get /models; echo "$BODY" | jq '.models[1].served.production.version'; }
wait_served() { # VERSION: until /models says production serves it (5 s)
	for _ in $(seq 50); do [ "$(served)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
rm -f "$WORK/stop"
loop "$WORK/loop1" & L1=$!
loop "$WORK/loop2" & L2=$!
sleep 1
run_dagrun promote forecaster 2 production
expect "dagrun promote while requests run: exit 0" [ "$RC" -eq 0 ]
expect "... the server serves v2 at production, without a restart" wait_served 2
sleep 1
run_dagrun rollback forecaster production
expect "dagrun rollback: exit 0" [ "$RC" -eq 0 ]
expect "... the server serves v1 again" wait_served 1
sleep 1
touch "$WORK/stop"
wait $L1 $L2
cat "$WORK/loop1" "$WORK/loop2" > "$WORK/loops"
expect "requests ran throughout ($(wc -l < "$WORK/loops") of them)" [ "$(wc -l < "$WORK/loops")" -ge 10 ]
expect "... not one failed" [ -z "$(grep -v '^200 ' "$WORK/loops")" ]
expect "... answered by v1, then v2, then v1" \
	[ "$(cut -d' ' -f2 "$WORK/loop1" | uniq | tr '\n' ' ')" = "1 2 1 " ]
expect "the log names both swaps" \
	[ "$(grep -c 'forecaster@production: v[12] (.*) in service, was v[12]' "$WORK/serve.err")" -eq 2 ]
get /metrics
expect "metrics: both swaps are counted" \
	[ "$(echo "$BODY" | sed -n 's/^dagrun_serve_model_swaps_total //p')" -eq 2 ]
expect "... and the reloads" \
	[ "$(echo "$BODY" | sed -n 's/^dagrun_serve_reloads_total{result="error"} //p')" -ge 2 ]
post /reload /dev/null
expect "POST /reload: the registry is read, nothing to swap" \
	[ "$(echo "$BODY" | jq -c '[.reloaded, .swapped, .failed]')" = '[true,0,1]' ]
expect "... 500: a version the registry names cannot be loaded, and which" \
	[ "$CODE" = 500 -a "$(echo "$BODY" | jq -r .error)" = "broken@production: cannot load v1: model.json: a model of type 'test' (expected train.prophet's model.json or a baseline's)" ]
stop_server
expect "SIGTERM: the server exits 0" [ "$SERVER_RC" -eq 0 ]
expect "... after finishing the requests in flight" contains "$(cat "$WORK/serve.err")" "finishing the requests in flight"

# ---- backpressure: a tiny queue answers 429, a deadline 503
TOKEN=
start_server --workers 1 --queue-max 2 --debug-delay-ms 300 --timeout-ms 10000
for i in $(seq 10); do
	curl -s -o /dev/null -D "$WORK/h$i" -w '%{http_code}\n' -XPOST -H 'Content-Type: application/json' \
		--data-binary @data/req.json "$URL/predict/forecaster" > "$WORK/c$i" &
done
wait_curls() { for _ in $(seq 100); do [ "$(cat "$WORK"/c* 2>/dev/null | wc -l)" -ge "$1" ] && return; sleep 0.1; done; }
wait_curls 10
n429=$(cat "$WORK"/c* | grep -c 429)
n200=$(cat "$WORK"/c* | grep -c 200)
expect "10 concurrent slow requests, 1 worker, queue of 2: some get 429 ($n429)" [ "$n429" -ge 1 ]
expect "... the others 200 ($n200), nothing else" [ $((n429 + n200)) -eq 10 -a "$n200" -ge 1 ]
expect "... 429 comes with Retry-After" grep -qi '^Retry-After: 1' $(grep -l ' 429' "$WORK"/h*)
get /metrics
expect "... each counted in dagrun_serve_queue_rejections_total" \
	[ "$(echo "$BODY" | sed -n 's/^dagrun_serve_queue_rejections_total //p')" = "$n429" ]
stop_server
rm -f "$WORK"/c* "$WORK"/h*

# ---- predictions that wait together run as one model pass, same answers
start_server --workers 1 --debug-delay-ms 150 --timeout-ms 20000
for i in $(seq 8); do
	curl -s -o "$WORK/b$i" -w '%{http_code}\n' -XPOST -H 'Content-Type: application/json' \
		--data-binary @data/req.json "$URL/predict/forecaster" > "$WORK/c$i" &
done
wait_curls 8
expect "8 concurrent predictions on 1 loop: all 200" [ "$(cat "$WORK"/c* | grep -c '^200$')" -eq 8 ]
nsame=0
for i in $(seq 8); do BODY=$(cat "$WORK/b$i"); same_as_batch && nsame=$((nsame + 1)); done
expect "... each equal to infer.batch's, to the last bit ($nsame of 8)" [ "$nsame" -eq 8 ]
get /metrics
passes=$(echo "$BODY" | sed -n 's/^dagrun_serve_passes_total //p')
preq=$(echo "$BODY" | sed -n 's/^dagrun_serve_pass_requests_total //p')
expect "... those that waited shared a model pass ($preq predictions in $passes passes)" \
	[ "$preq" -eq 8 -a "$passes" -ge 1 -a "$passes" -lt 8 ]
stop_server
rm -f "$WORK"/c* "$WORK"/b*

start_server --workers 1 --debug-delay-ms 400 --timeout-ms 100
post /predict/forecaster data/req.json
expect "a prediction past --timeout-ms: 503" [ "$CODE" = 503 ]
expect "... saying so, with Retry-After" \
	[ "$(echo "$BODY" | jq -r .error | grep -c timeout-ms)" = 1 ] && expect "... (header)" contains "$HDRS" "Retry-After"
get /metrics
expect "... counted in dagrun_serve_timeouts_total" \
	[ "$(echo "$BODY" | sed -n 's/^dagrun_serve_timeouts_total //p')" = 1 ]
sleep 0.4
get /healthz
expect "... and the server goes on" [ "$CODE" = 200 ]
for i in 1 2 3; do   # clients that give up while their request waits
	curl -s -m 0.05 -XPOST -H 'Content-Type: application/json' --data-binary @data/req.json \
		"$URL/predict/forecaster" >/dev/null
done
stop_server
expect "clients gone while their requests waited: SIGTERM still ends the server (exit $SERVER_RC)" \
	[ "$SERVER_RC" -eq 0 ]

# ---- the traffic split and the shadow
start_server --split production=90,challenger=10 --shadow challenger
: > "$WORK/split"
for i in $(seq 200); do
	curl -s -XPOST -H 'Content-Type: application/json' --data-binary @data/req.json \
		"$URL/predict/forecaster" | jq -r .alias >> "$WORK/split"
done
np=$(grep -c '^production$' "$WORK/split")
nc=$(grep -c '^challenger$' "$WORK/split")
expect "split 90/10 over 200 requests: $np production, $nc challenger" \
	[ $((np + nc)) -eq 200 -a "$nc" -ge 8 -a "$nc" -le 35 ]
: > "$WORK/sticky"
for i in $(seq 10); do
	curl -s -XPOST -H 'Content-Type: application/json' -H 'X-Request-Key: customer-42' \
		--data-binary @data/req.json "$URL/predict/forecaster" | jq -r .alias >> "$WORK/sticky"
done
expect "the same X-Request-Key always goes to the same alias" [ "$(sort -u "$WORK/sticky" | wc -l)" -eq 1 ]
: > "$WORK/keys"
for i in $(seq 60); do
	a=$(curl -s -XPOST -H 'Content-Type: application/json' -H "X-Request-Key: user-$i" \
		--data-binary @data/req.json "$URL/predict/forecaster" | jq -r .alias)
	b=$(curl -s -XPOST -H 'Content-Type: application/json' -H "X-Request-Key: user-$i" \
		--data-binary @data/req.json "$URL/predict/forecaster" | jq -r .alias)
	echo "$a $b" >> "$WORK/keys"
done
expect "... every key twice to one alias, and keys spread over both" \
	[ "$(awk '$1 != $2' "$WORK/keys" | wc -l)" -eq 0 -a "$(cut -d' ' -f1 "$WORK/keys" | sort -u | wc -l)" -eq 2 ]
get /metrics
sp=$(echo "$BODY" | sed -n 's/^dagrun_serve_split_requests_total{model="forecaster",alias="production"} //p')
sc=$(echo "$BODY" | sed -n 's/^dagrun_serve_split_requests_total{model="forecaster",alias="challenger"} //p')
expect "metrics: per-alias split counters add up ($sp + $sc = 330)" [ $((sp + sc)) -eq 330 ]
post /predict/forecaster@production data/req.json
expect "NAME@ALIAS bypasses the split" [ "$(echo "$BODY" | jq -r .alias)" = production ]
for _ in $(seq 30); do   # the shadow runs after the answer: let the last one end
	get /metrics
	so=$(echo "$BODY" | sed -n 's/^dagrun_serve_shadow_requests_total{model="forecaster",alias="challenger",result="ok"} //p')
	[ "${so:-0}" -eq $((sp + 1)) ] && break
	sleep 0.1
done
expect "shadow: every request production answered also ran through challenger ($so)" [ "$so" -eq $((sp + 1)) ]
expect "... logged, with how far its answer is from production's" \
	contains "$(cat "$WORK/serve.err")" "shadow forecaster@challenger v2"
stop_server

run_dagrun serve --port 0 --split production=x
expect "a bad --split: exit 2, named" [ "$RC" -eq 2 ] && expect "... (message)" contains "$ERR" "--split"
run_dagrun serve --port 0 --workers 0
expect "a bad --workers: exit 2" [ "$RC" -eq 2 ]
run_dagrun serve --port 0 --state "$WORK/nostate"
expect "a state without a registry: exit 2" [ "$RC" -eq 2 ] && expect "... (message)" contains "$ERR" "no state"
finish
