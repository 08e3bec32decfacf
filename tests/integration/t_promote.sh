#!/bin/sh
# eval.promote and the model registry through the real binary: scoring
# with weights, ties, must_beat baselines (and keeping the best baseline
# when no model beats them), min_improvement, champion/challenger, shadow,
# cached reruns registering nothing, --salt registering a new version,
# rollback, manual promote, and nothing half-registered after a failed
# evaluation.  The candidates are shell nodes that write the files a
# trained node writes (metrics.json, model.json), so every score is known.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p pipelines

# node NAME TYPE RMSE MAE MSE: a candidate (TYPE test) or a baseline
# (TYPE persistence, seasonal_naive) with those test metrics.
node() {
	if [ "$2" = test ]; then model='{"type":"test"}'
	else model="{\"type\":\"baseline\",\"method\":\"$2\"}"; fi
	cat <<YAML
  $1:
    params: {rmse: $3, mae: $4, mse: $5}
    cmd: >-
      jq '{rmse, mae, mse}' \$DAGRUN_PARAMS > \$DAGRUN_OUT/metrics.json &&
      echo '$model' > \$DAGRUN_OUT/model.json
YAML
}
q() { sqlite3 state/dagrun.db "$1"; }
holder() { q "SELECT version FROM aliases WHERE model = 'forecaster' AND alias = '$1'"; }
versions() { q "SELECT count(*) FROM model_versions"; }

NEEDS="a, b, persistence, seasonal_naive"
eval_pipeline pipelines/p.yaml "" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.5 0.5 0.5)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "the evaluation runs (exit 0)" [ "$RC" -eq 0 ]
expect "score = 0.5 rmse + 0.3 mae + 0.2 mse: b (0.5) wins" [ "$(jq -r .winner got/promotion.json)" = b ]
expect "the runner-up is a" [ "$(jq -r .runner_up got/promotion.json)" = a ]
expect "decision promote" [ "$(jq -r .decision got/promotion.json)" = promote ]
expect "scoreboard lists candidates and baselines, in rank order" \
	[ "$(jq -r '[.scoreboard[].node] | join(",")' got/promotion.json)" = "b,a,persistence,seasonal_naive" ]
expect "scores are the weighted sums" [ "$(jq -r '.scoreboard[1].score' got/promotion.json)" = 0.6 ]
expect "scoreboard.csv has a header and 4 rows" [ "$(wc -l < got/scoreboard.csv)" -eq 5 ]
expect "model/ holds the winner's files" [ "$(jq -r .type got/model/model.json)" = test ]
expect "the winner is forecaster v1 at production" [ "$(holder production)" = 1 ]
expect "the runner-up is v2 at challenger" [ "$(holder challenger)" = 2 ]
expect "v1 is node b, with its outputs and key" [ "$(q "SELECT node || (length(outputs) = 64) || (length(key) = 64) FROM model_versions WHERE version = 1")" = b11 ]
expect "the run says what moved" contains "$ERR" "forecaster@production: v1"
expect "the scoreboard is in the metrics table" [ "$(q "SELECT value FROM metrics WHERE name = 'score.b'")" = 0.5 ]
expect "a model_promoted event per alias move" [ "$(q "SELECT count(*) FROM events WHERE name = 'model_promoted'")" = 2 ]
run_dagrun models --json
expect "models --json has the promotion record's fields" [ "$(echo "$OUT" | jq -r '.[0].record | [has("identifier", "config_hash", "run_id", "model_type", "model_uri", "rmse", "mae", "mse", "score", "timestamp", "weights")] | all')" = true ]
run_dagrun models
expect "models lists both versions with their aliases" contains "$OUT" "production"

run_dagrun pipelines/p.yaml
expect "a cached rerun registers nothing new" [ "$(versions)" = 2 ]
run_dagrun pipelines/p.yaml --salt s1
expect "a --salt rerun makes new versions" [ "$(versions)" = 4 ]
expect "production moved to v3, its previous holder v1 recorded" \
	[ "$(q "SELECT version || ',' || previous FROM promotions WHERE alias = 'production' ORDER BY id DESC LIMIT 1")" = "3,1" ]

# rollback walks back one promotion per call
run_dagrun rollback forecaster production
expect "rollback: production back to v1" [ "$RC" -eq 0 -a "$(holder production)" = 1 ]
run_dagrun rollback forecaster production
expect "rollback with no earlier holder: exit 2" [ "$RC" -eq 2 ]
expect "... saying so" contains "$ERR" "no previous holder"
run_dagrun promote forecaster 3 production --json
expect "promote by hand: production is v3 again" [ "$RC" -eq 0 -a "$(holder production)" = 3 ]
expect "... --json names the previous holder" [ "$(echo "$OUT" | jq -r .previous)" = 1 ]
run_dagrun promote forecaster 99 production
expect "promote of an unknown version: exit 2" [ "$RC" -eq 2 ] && expect "... named" contains "$ERR" "no version 99"
run_dagrun promote nosuch 1 production
expect "promote of an unknown model: exit 2" [ "$RC" -eq 2 ]
run_dagrun promote forecaster 1 7
expect "a number as an alias: exit 2" [ "$RC" -eq 2 ]
run_dagrun rollback forecaster nosuch
expect "rollback of an unknown alias: exit 2" [ "$RC" -eq 2 ]
run_dagrun models nosuch
expect "models of an unknown model: exit 2" [ "$RC" -eq 2 ]

# a tie goes to the newest: the later need
NEEDS="a, b, persistence, seasonal_naive"
eval_pipeline pipelines/tie.yaml "model: tie, must_beat: []" "$(node a test 0.5 0.5 0.5)" "$(node b test 0.5 0.5 0.5)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
run_dagrun pipelines/tie.yaml
expect "a tie goes to the later need" [ "$(jq -r .winner got/promotion.json)" = b ]

# weights are configurable
eval_pipeline pipelines/w.yaml "model: w, weights: {mae: 1}" "$(node a test 0.1 0.9 0.1)" "$(node b test 0.9 0.2 0.9)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
run_dagrun pipelines/w.yaml
expect "weights {mae: 1}: b wins on mae" [ "$(jq -r .winner got/promotion.json)" = b ]

# min_improvement: a new winner only 10% better keeps the holder
eval_pipeline pipelines/p.yaml "min_improvement: 0.2" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.45 0.45 0.45)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
run_dagrun pipelines/p.yaml
expect "min_improvement: production stays v3" [ "$RC" -eq 0 -a "$(holder production)" = 3 ]
expect "... the new winner v5 is the challenger" [ "$(holder challenger)" = 5 ]
expect "... a promotion_declined event" [ "$(q "SELECT count(*) FROM events WHERE name = 'promotion_declined'")" = 1 ]
expect "... the run says so" contains "$ERR" "declined"
eval_pipeline pipelines/p.yaml "min_improvement: 0.2" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.3 0.3 0.3)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
run_dagrun pipelines/p.yaml
expect "min_improvement met (0.3 vs 0.5): production moves to v6" [ "$(holder production)" = 6 ]

# shadow: the winner goes to 'shadow', production keeps its holder
eval_pipeline pipelines/p.yaml "shadow: true" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.2 0.2 0.2)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
run_dagrun pipelines/p.yaml
expect "shadow: production stays v6" [ "$(holder production)" = 6 ]
expect "... the winner is at shadow" [ "$(holder shadow)" = "$(q "SELECT max(version) FROM model_versions WHERE model = 'forecaster'")" ]

# must_beat: no candidate beats persistence -> the best baseline is kept
eval_pipeline pipelines/bad.yaml "model: weak" "$(node a test 0.9 0.9 0.9)" "$(node b test 0.85 0.85 0.85)" \
	"$(node persistence persistence 0.8 0.8 0.8)" "$(node seasonal_naive seasonal_naive 0.9 0.9 0.9)"
run_dagrun pipelines/bad.yaml
expect "no candidate beats persistence: still exit 0" [ "$RC" -eq 0 ]
expect "... decision keep_baseline" [ "$(jq -r .decision got/promotion.json)" = keep_baseline ]
expect "... the winner is the persistence baseline" [ "$(jq -r .winner got/promotion.json)" = persistence ]
expect "... the reason names the best candidate and the baseline" contains "$(jq -r .reason got/promotion.json)" "the best, b"
expect "... the scoreboard marks b as not beating the baselines" [ "$(jq -r '.scoreboard[] | select(.node == "b") | .beats_baselines' got/promotion.json)" = false ]
expect "... weak@production is the baseline" [ "$(q "SELECT node FROM model_versions v JOIN aliases a ON a.model = v.model AND a.version = v.version WHERE a.model = 'weak' AND alias = 'production'")" = persistence ]
expect "... a promotion_refused event" [ "$(q "SELECT count(*) FROM events WHERE name = 'promotion_refused'")" = 1 ]
expect "... the log says so plainly" grep -q "no candidate beats every must_beat baseline" state/logs/*/evaluate.log

# a must_beat baseline missing from the needs is an error
NEEDS="a, b"
eval_pipeline pipelines/nob.yaml "model: nob" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.5 0.5 0.5)"
before=$(versions)
run_dagrun pipelines/nob.yaml
expect "must_beat without its baseline: exit 2" [ "$RC" -eq 2 ]
expect "... naming what to add" contains "$ERR$OUT" "no baseline.persistence node is among the needs"
expect "... and nothing is registered" [ "$(versions)" = "$before" ]

# challenger: null gives the runner-up no alias
NEEDS="a, b"
eval_pipeline pipelines/noch.yaml "model: noch, must_beat: [], challenger: null" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.5 0.5 0.5)"
run_dagrun pipelines/noch.yaml
expect "challenger: null is accepted" [ "$RC" -eq 0 ]
expect "... and no challenger alias is set" [ "$(q "SELECT count(*) FROM aliases WHERE model = 'noch'")" = 1 ]
eval_pipeline pipelines/badch.yaml "model: badch, must_beat: [], challenger: 3" "$(node a test 0.6 0.6 0.6)" "$(node b test 0.5 0.5 0.5)"
run_dagrun pipelines/badch.yaml
expect "challenger: 3 exits 2" [ "$RC" -eq 2 ]
before=$(versions)

# a failed evaluation registers nothing
eval_pipeline pipelines/fail.yaml "model: f, must_beat: []" "$(node a test 0.6 0.6 0.6)" "  b: {cmd: \"echo no metrics > \$DAGRUN_OUT/x\"}"
run_dagrun pipelines/fail.yaml
expect "a candidate without metrics.json: exit 2" [ "$RC" -eq 2 ]
expect "... saying which" contains "$ERR$OUT" "'b' has no metrics.json"
expect "... and no version, alias or model is half-registered" [ "$(versions)" = "$before" -a "$(q "SELECT count(*) FROM models WHERE name = 'f'")" = 0 ]
finish
