#!/bin/sh
# examples/rps (issue #11, example 3) through the real binary, at the size
# CI can afford: the example is copied into a scratch project, hparams.lua's
# SMALL switch is turned on there, and the pipeline runs.  Checked on the
# outputs: the simulated history and the 50-feature table; the three
# training steps split by whole games (step 1 chronological, the latest
# games tested; step 2 shuffled games, 80/20; step 3 three folds that test
# every game exactly once); cv_summary's means; every production model
# plays the same games; the registry holds the four under production, B,
# shadow1 and shadow2 in win-rate order, each version carrying its model;
# a --salt rerun ties the incumbent and keeps it (the z-test); a rerun is
# cached.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
new_project
mkdir -p examples/rps
cp "$ROOT"/examples/rps/pipeline.yaml "$ROOT"/examples/rps/hparams.lua "$ROOT"/examples/rps/summary.sh examples/rps/
echo state/ > .gitignore
expect "the shipped config is full size (SMALL = false)" \
	[ "$(grep -c '^local SMALL = false$' examples/rps/hparams.lua)" = 1 ]
sed -i 's/^local SMALL = false$/local SMALL = true/' examples/rps/hparams.lua
git add -A && git commit -qm "the example, small"
P=examples/rps/pipeline.yaml
run_dagrun -j 2 $P
expect "the example runs (exit 0)" [ "$RC" -eq 0 ]
expect "... all 28 nodes" contains "$ERR" "28 nodes, 28 ran"

# out NODE FILE: the path of a node's output file in the last run
out() { "$DAGRUN" show last "$1" | awk -v f="$2" '$1 == f { print $3 }'; }
expect "games: 150 simulated games of 30 rounds" [ "$(jq .rows "$(out games schema.json)")" = 4500 ]
expect "features: a row per round after each game's first" [ "$(jq .rows "$(out features schema.json)")" = 4350 ]
expect "features: the 50 number columns, then game, round, bot, next_move" \
	[ "$(jq '[.columns[] | select(.type == "number")] | length' "$(out features schema.json)")" = 50 ]

# the splits, by game, from each trainer's test rows (predictions.csv)
cat > "$WORK/splits.py" <<'PY'
import csv, json, sys
games = json.load(open(sys.argv[1]))
order = list(dict.fromkeys(games))          # games by first row
def test_games(path):
    return {games[int(r["row"])] for r in csv.DictReader(open(path))}
kind = sys.argv[2]
sets = [test_games(p) for p in sys.argv[3:]]
if kind == "holdout":        # the latest 20% of the games, whole
    print(sets[0] == set(order[-len(sets[0]):]) and len(sets[0]) == 30)
elif kind == "shuffled":     # 20% of the games, not just the latest
    print(len(sets[0]) == 30 and sets[0] != set(order[-30:]))
elif kind == "folds":        # every game tested exactly once
    print(sum(len(s) for s in sets) == len(order) and set().union(*sets) == set(order))
PY
G=$(out features game.json)
expect "step 1, holdout: the test part is the latest 30 games, whole" \
	[ "$($PY "$WORK/splits.py" "$G" holdout "$(out holdout_mlp predictions.csv)")" = True ]
expect "... 60/20/20: 90 games train, 30 validate" \
	[ "$(jq -c .split.groups "$(out holdout_xgboost metrics.json)")" = '{"test":30,"train":90,"val":30}' ]
expect "step 2, production: 30 shuffled games tested" \
	[ "$($PY "$WORK/splits.py" "$G" shuffled "$(out mlp predictions.csv)")" = True ]
expect "step 3, cross-validation: the 3 folds test every game exactly once" \
	[ "$($PY "$WORK/splits.py" "$G" folds "$(out 'cv_xgboost[fold=0]' predictions.csv)" \
	    "$(out 'cv_xgboost[fold=1]' predictions.csv)" "$(out 'cv_xgboost[fold=2]' predictions.csv)")" = True ]
CV=$(out cv_summary cv.json)
expect "cv_summary: four families, three folds each" \
	[ "$(jq -c '[.[] | .folds | length]' "$CV")" = "[3,3,3,3]" ]
expect "... cv_mean is the folds' mean" \
	[ "$(jq '[.[] | ((.folds | add / 3) - .cv_mean) | fabs < 1e-12] | all' "$CV")" = true ]
expect "... and equals the fold node's own accuracy" \
	[ "$(jq '.[] | select(.family == "xgboost") | .folds[1]' "$CV")" = "$(jq .accuracy "$(out 'cv_xgboost[fold=1]' metrics.json)")" ]
expect "the best family predicts the next move far above chance (cv mean > 0.6)" \
	[ "$(jq '.[0].cv_mean > 0.6' "$CV")" = true ]

# the recorded outcomes and the registry
rate() { jq .win_rate "$(out "$1" metrics.json)"; }
expect "every production model played the same number of rounds" \
	[ "$(for n in play_softmax play_mlp play_mlp_deep play_xgboost; do jq .rounds "$(out $n metrics.json)"; done | sort -u | wc -l)" = 1 ]
q() { sqlite3 state/dagrun.db "$1"; }
at() { q "SELECT node FROM model_versions v JOIN aliases a ON a.model = v.model AND a.version = v.version WHERE a.model = 'rps' AND alias = '$1'"; }
best=$(for n in play_softmax play_mlp play_mlp_deep play_xgboost; do echo "$(rate $n) $n"; done | sort -rn | awk '{print $2}')
expect "production, B, shadow1, shadow2 hold the players in win-rate order" \
	[ "$(at production) $(at B) $(at shadow1) $(at shadow2)" = "$(echo $best)" ]
expect "the production model wins more than half its rounds" \
	[ "$(jq '.win_rate > 0.5' "$(out "$(at production)" metrics.json)")" = true ]
v1=$(q "SELECT version FROM aliases WHERE model = 'rps' AND alias = 'production'")
run_dagrun models rps --json
expect "each registered version carries its model (model/ with its weights)" \
	[ "$(echo "$OUT" | jq '[.[] | .outputs] | length')" = 4 ]
expect "... production's outputs hold the played model's files" \
	sh -c "\"$DAGRUN\" show last '$(at production)' | grep -Eq 'model/(model.safetensors|model_meta.json)'"

run_dagrun $P
expect "a rerun is cached and registers nothing" [ "$RC" -eq 0 ] && contains "$ERR" "0 ran, 28 cached"
expect "... still four versions" [ "$(q "SELECT count(*) FROM model_versions WHERE model = 'rps'")" = 4 ]
run_dagrun $P --salt again
expect "a --salt rerun trains and plays again (exit 0)" [ "$RC" -eq 0 ]
expect "... the same win rates: the z-test sees a tie and the incumbent stays" \
	[ "$(q "SELECT version FROM aliases WHERE model = 'rps' AND alias = 'production'")" = "$v1" ]
expect "... saying so" contains "$ERR" "declined"
expect "... the declined winner is B" [ "$(q "SELECT version FROM aliases WHERE model = 'rps' AND alias = 'B'")" -gt 4 ]
finish
