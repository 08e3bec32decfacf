#!/bin/sh
# examples/stock (issue #11, example 2) through the real binary, at the size
# CI can afford: the example and its three CSVs are copied into a scratch
# project, hparams.lua's SMALL switch is turned on there, and the pipeline
# runs.  Checked on the outputs themselves: the shipped config is the
# reference's model; the parent's inputs are the children's; every
# freeze=recurrent child keeps every recurrent tensor of the parent byte for
# byte and retrains the head, every fine_tune child changes them all;
# rmse, mse and r2 for every model; a registry version per ticker, from
# that ticker's nodes; a drift.json per ticker on the 150/30-day windows;
# `dagrun report last` draws forecasts and residuals of every model; a
# rerun is fully cached and registers nothing; a child whose inputs are
# not the parent's is refused by init_from.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
new_project
mkdir -p examples/stock examples/data
cp "$ROOT"/examples/stock/pipeline.yaml "$ROOT"/examples/stock/hparams.lua examples/stock/
for f in GSPC_2000-2017 AAPL_2004-2018 GOOG_2004-2018; do
	cp "$ROOT/examples/data/$f.csv" examples/data/
done
echo state/ > .gitignore
TICKERS="AAPL GOOG"
CHILDREN="child_AAPL[freeze=recurrent] child_AAPL[freeze=[]] child_GOOG[freeze=recurrent] child_GOOG[freeze=[]]"
MODELS="parent $CHILDREN persistence_AAPL persistence_GOOG"

# params NODE: the node's resolved params, as `dagrun explain` computes them
# (known once the nodes it needs have run)
params() { "$DAGRUN" explain examples/stock/pipeline.yaml "$1" --json 2>/dev/null | jq -c .parts.params; }

# ---- the example as shipped: full size, the reference system's model -----
# Only the cheap data nodes run, in a state of their own, so that explain
# can resolve the trainers' keys.
git add -A && git commit -qm "the example as shipped"
expect "the shipped config is full size (SMALL = false)" \
	[ "$(grep -c '^local SMALL = false$' examples/stock/hparams.lua)" = 1 ]
export DAGRUN_STATE="$WORK/state-full"
run_dagrun examples/stock/pipeline.yaml features_GSPC features_AAPL features_GOOG
expect "full size: the data nodes run" [ "$RC" -eq 0 ]
expect "full size: the parent is the reference's LSTM (3 x 128, dropout 0.2, 60 days in)" \
	[ "$(params parent | jq -c '[.num_layers, .hidden_size, .dropout, .input_seq_len, .epochs > 10]')" = '[3,128,0.2,60,true]' ]
# the children's key needs the trained parent: read their settings from
# the config through a shell node instead
cat > config.yaml <<'YAML'
pipeline: config
params: examples/stock/hparams.lua
nodes:
  dump:
    params: {parent: "${parent}", child: "${child}"}
    cmd: "cp $DAGRUN_PARAMS $DAGRUN_OUT/params.json"
YAML
run_dagrun config.yaml
expect "full size: the children are the parent's network" \
	[ "$(jq -c '[.parent, .child] | map([.num_layers, .hidden_size, .dropout, .input_seq_len]) | unique' \
		"$("$DAGRUN" show last dump --json | jq -r '.nodes[0].files[0].object')")" = '[[3,128,0.2,60]]' ]
expect "full size: every window is used, 60 days in, 5 out" \
	[ "$(params features_AAPL | jq -c '[.sample_train_rows, .sample_test_rows, .input_seq_len, .output_seq_len]')" = '[0,0,60,5]' ]
unset DAGRUN_STATE

# ---- CI: the same example, SMALL ----------------------------------------
sed 's/^local SMALL = false$/local SMALL = true/' examples/stock/hparams.lua > hp.tmp && mv hp.tmp examples/stock/hparams.lua
expect "one line switches the example to SMALL" \
	[ "$(git diff --numstat examples/stock/hparams.lua | cut -f1,2)" = "$(printf '1\t1')" ]
git commit -qam "SMALL for CI"

t0=$(date +%s)
run_dagrun -j2 examples/stock/pipeline.yaml
t1=$(date +%s)
echo "     (small run: $((t1 - t0)) s)"
expect "the small pipeline runs (exit 0)" [ "$RC" -eq 0 ]
expect "... all 18 nodes (3 tickers, parent, 4 children, 2 baselines, 2 promotions, 3 drift reports)" \
	contains "$ERR$OUT" "18 nodes, 18 ran"
expect "... in under 60 s" [ $((t1 - t0)) -lt 60 ]
expect "small: a 2 x 8 LSTM on a sample of the windows, same 60/5 days" \
	[ "$(params parent | jq -c '[.num_layers, .hidden_size, .input_seq_len]')$(params features_GOOG | jq -c '[.sample_train_rows > 0, .input_seq_len, .output_seq_len]')" = '[2,8,60][true,60,5]' ]
expect "the children start from the parent, one per strategy" \
	[ "$(params 'child_AAPL[freeze=recurrent]' | jq -c '[.init_from, .freeze]')$(params 'child_GOOG[freeze=[]]' | jq -c '[.init_from, .freeze]')" = '["parent",["recurrent"]]["parent",[]]' ]

# out NODE FILE: the stored object of one output file of NODE in the last run
out() {
	"$DAGRUN" show last "$1" --json | jq -r --arg n "$1" --arg f "$2" \
		'.nodes[] | select(.node == $n) | .files[] | select(.path == $f) | .object'
}
# digests FILE: "name sha256-of-bytes" per tensor of a safetensors file
digests() {
	"$PY" - "$1" <<'PY'
import hashlib, json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h.pop("__metadata__", None)
for name in sorted(h):
    lo, hi = h[name]["data_offsets"]
    print(name, hashlib.sha256(b[8 + n + lo:8 + n + hi]).hexdigest())
PY
}
# meta FILE KEY: a metadata value of a safetensors file
meta() {
	"$PY" - "$1" "$2" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
m = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]
v = m[sys.argv[2]]
print(json.dumps(json.loads(v)["features"]) if sys.argv[2] == "meta" else v)
PY
}

# ---- transfer: the parent's inputs, frozen and fine-tuned children -------
parent_model=$(out parent model.safetensors)
digests "$parent_model" > "$WORK/parent.dig"
expect "the parent's model holds 8 recurrent tensors (2 layers) and a head" \
	[ "$(grep -c '^rnn\.' "$WORK/parent.dig")" = 8 -a "$(grep -c '^head\.' "$WORK/parent.dig")" = 2 ]
features='["Open", "High", "Low", "Close", "Volume", "Close_rsi_14", "Close_macd", "Close_macd_signal", "Close_macd_hist"]'
expect "the parent reads OHLCV + RSI14 + MACD (9 columns)" \
	[ "$(meta "$parent_model" meta)" = "$features" -a "$(meta "$parent_model" input_size)" = 9 ]
for c in $CHILDREN; do
	m=$(out "$c" model.safetensors)
	expect "$c: the same input features as the parent" [ "$(meta "$m" meta)" = "$features" ]
	digests "$m" > "$WORK/child.dig"
	same=$(grep '^rnn\.' "$WORK/child.dig" | grep -cxFf "$WORK/parent.dig")
	case $c in
	*freeze=recurrent*)
		expect "$c: all 8 recurrent tensors are the parent's, byte for byte" [ "$same" = 8 ]
		expect "$c: the head trained on" \
			[ "$(grep '^head\.' "$WORK/child.dig" | grep -cxFf "$WORK/parent.dig")" = 0 ] ;;
	*)
		expect "$c: fine_tune changed all 8 recurrent tensors" [ "$same" = 0 ] ;;
	esac
done

# ---- metrics, registry, drift --------------------------------------------
for n in $MODELS; do
	got=$(sqlite3 state/dagrun.db "SELECT group_concat(name, ' ') FROM (SELECT DISTINCT name FROM metrics
		WHERE run_id = 1 AND node = '$n' AND name IN ('mse', 'r2', 'rmse') AND step IS NULL ORDER BY name)")
	expect "$n: mse, r2 and rmse recorded" [ "$got" = "mse r2 rmse" ]
	expect "$n: mse is rmse squared" [ "$(sqlite3 state/dagrun.db "SELECT abs(r.value * r.value - m.value) <= 1e-6 * m.value
		FROM metrics r JOIN metrics m ON m.node = r.node AND m.run_id = r.run_id
		WHERE r.run_id = 1 AND r.node = '$n' AND r.name = 'rmse' AND m.name = 'mse'")" = 1 ]
done
for t in $TICKERS; do
	expect "stock_$t: one registered version, held by production" \
		[ "$(sqlite3 state/dagrun.db "SELECT count(*) || ' ' || (SELECT version FROM aliases WHERE model = 'stock_$t' AND alias = 'production')
			FROM model_versions WHERE model = 'stock_$t'")" = "1 1" ]
	expect "stock_$t: the version comes from $t's own nodes" \
		[ "$(sqlite3 state/dagrun.db "SELECT count(*) FROM model_versions WHERE model = 'stock_$t'
			AND (node LIKE 'child\_$t[%' ESCAPE '\' OR node = 'persistence_$t')")" = 1 ]
	p=$(out "promote_$t" promotion.json)
	expect "promote_$t scored both strategies of $t and its baseline" \
		[ "$(jq -c '[.scoreboard[].node] | sort' "$p")" = "[\"child_$t[freeze=[]]\",\"child_$t[freeze=recurrent]\",\"persistence_$t\"]" ]
done
for t in GSPC AAPL GOOG; do
	d=$(out "drift_$t" drift.json)
	expect "drift_$t: drift.json with a health grade" \
		[ "$(jq -r '.health | IN("Healthy", "Degraded", "Critical")' "$d" 2>/dev/null)" = true ]
	# windows by days: current within the last 30, reference the 150 before
	spans=$(jq -r '.windows | [.by, (.current.start | fromdate), (.current.end | fromdate),
		(.reference.start | fromdate), (.reference.end | fromdate)] | @tsv' "$d")
	set -- $spans
	expect "drift_$t: 30-day current, 150-day reference just before it" \
		[ "$1" = days -a $(($3 - $2)) -lt $((30 * 86400)) -a $(($5 - $4)) -lt $((150 * 86400)) \
		  -a $(($3 - $4)) -gt $((150 * 86400)) -a "$5" -lt "$2" ]
	expect "drift_$t: the five price columns, the reference thresholds" \
		[ "$(jq -c '[(.feature_metrics | keys), .thresholds.drift, .thresholds.vol_healthy, .thresholds.vol_critical]' "$d")" = '[["Close","High","Low","Open","Volume"],[1,2],[0.6,1.5],[0.4,2.5]]' ]
done

# ---- the report: forecasts and residuals of every model -------------------
run_dagrun report last -o "$WORK/report.html"
expect "dagrun report last writes the page" [ "$RC" -eq 0 -a -s "$WORK/report.html" ]
# section NAME: the page from <h2>NAME</h2> up to the next <h2>
section() { awk -v h="<h2>$1</h2>" 'index($0, h) { on = 1; print; next } on && /<h2>/ { exit } on' "$WORK/report.html"; }
section Forecasts > "$WORK/forecasts.html"
section Residuals > "$WORK/residuals.html"
for n in $MODELS; do
	expect "report: a forecast chart of $n" \
		[ "$(grep -A1 -F "<h3>$n <span" "$WORK/forecasts.html" | grep -c '<svg')" -ge 1 ]
	expect "report: residual charts of $n" \
		[ "$(awk -v h="<h3>$n <span" 'index($0, h) { on = 1; next } on && /<h3>/ { exit } on' "$WORK/residuals.html" | grep -c '<svg')" -ge 2 ]
done
expect "report: a drift section per ticker" \
	[ "$(section Drift | grep -c '<h3>drift_')" = 3 ]

# ---- a rerun does nothing --------------------------------------------------
run_dagrun -j2 examples/stock/pipeline.yaml
expect "a rerun is fully cached" [ "$RC" -eq 0 -a "$("$DAGRUN" show last --json | jq -c '[.n_ran, .n_cached]')" = '[0,18]' ]
expect "... and registers nothing new" \
	[ "$(sqlite3 state/dagrun.db "SELECT count(*) FROM model_versions WHERE model LIKE 'stock\_%' ESCAPE '\'")" = 2 ]

# ---- a child whose inputs differ from the parent's is refused -------------
# (the same nodes, cached, plus AAPL windows without the 3 MACD columns)
cp examples/stock/pipeline.yaml mismatch.yaml
cat >> mismatch.yaml <<'YAML'
  features_nomacd:
    task: data.preprocess
    needs: [ingest_AAPL]
    params: {target: Close, features: [Open, High, Low, Close, Volume], time_features: [],
             rsi: true, input_seq_len: 60, output_seq_len: 5, sample_train_rows: 64, sample_test_rows: 16}
  child_nomacd:
    task: train.lstm
    needs: [features_nomacd, parent]
    params: "${child}"
YAML
run_dagrun mismatch.yaml child_nomacd
expect "a child on 6 inputs from the 9-input parent is refused (exit 2: a kernel's input is wrong)" [ "$RC" -eq 2 ]
expect "... init_from names the tensor and both shapes" \
	contains "$ERR" "tensor 'rnn.weight_ih_l0' is [32, 9] in the model of 'parent' but [32, 6] in this node"
expect "... and the parent was taken from the cache, not retrained" \
	[ "$("$DAGRUN" show last --json | jq -r '.nodes[] | select(.node == "parent") | .status')" = cached ]
finish
