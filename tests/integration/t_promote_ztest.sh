#!/bin/sh
# eval.promote's rule ztest (recorded outcomes: wins out of rounds, the
# winner taking production only when a one-sided two-proportion z-test
# says it beats the holder; a tie keeps the incumbent) and challenger
# lists (the runners-up take B, shadow1, shadow2 in rank order).  The
# candidates are shell nodes writing the metrics a player node writes.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p pipelines

# player NAME WINS ROUNDS: a candidate with those recorded outcomes.
player() {
	cat <<YAML
  $1:
    params: {wins: $2, rounds: $3}
    cmd: >-
      jq '{wins, rounds}' \$DAGRUN_PARAMS > \$DAGRUN_OUT/metrics.json &&
      echo '{"type":"test"}' > \$DAGRUN_OUT/model.json
YAML
}
PIPELINE=rps
q() { sqlite3 state/dagrun.db "$1"; }
holder() { q "SELECT version FROM aliases WHERE model = 'rps' AND alias = '$1'"; }
node_of() { q "SELECT node FROM model_versions v JOIN aliases a ON a.model = v.model AND a.version = v.version WHERE a.model = 'rps' AND alias = '$1'"; }
ZP="model: rps, rule: ztest, must_beat: [], challenger: [B, shadow1, shadow2]"

NEEDS="a, b, c, d"
eval_pipeline pipelines/z.yaml "$ZP" "$(player a 45 100)" "$(player b 60 100)" "$(player c 50 100)" "$(player d 40 100)"
git add -A && git commit -qm init
run_dagrun pipelines/z.yaml
expect "rule ztest runs (exit 0)" [ "$RC" -eq 0 ]
expect "the highest win rate wins: b (0.60)" [ "$(jq -r .winner got/promotion.json)" = b ]
expect "the scoreboard ranks by win rate: b, c, a, d" \
	[ "$(jq -r '[.scoreboard[].node] | join(",")' got/promotion.json)" = "b,c,a,d" ]
expect "the score is 1 - win rate" [ "$(jq '.scoreboard[0].score - 0.4 | fabs < 1e-12' got/promotion.json)" = true ]
expect "promotion.json carries the rule and its metric names" \
	[ "$(jq -r '[.rule, .successes, .trials, .alpha] | join(",")' got/promotion.json)" = "ztest,wins,rounds,0.05" ]
expect "the runners-up are listed in rank order" [ "$(jq -r '.runners_up | join(",")' got/promotion.json)" = "c,a,d" ]
expect "scoreboard.csv has the outcome columns" [ "$(head -n 1 got/scoreboard.csv)" = "rank,node,model_type,baseline,score,wins,rounds,win_rate" ]
expect "... and b's row with its win rate" grep -q '^1,b,test,0,0.4,60,100,0.6$' got/scoreboard.csv
expect "no holder yet: b takes production" [ "$(node_of production)" = b ]
expect "the runners-up take B, shadow1, shadow2 in rank order" \
	[ "$(node_of B),$(node_of shadow1),$(node_of shadow2)" = "c,a,d" ]
expect "four versions registered" [ "$(q "SELECT count(*) FROM model_versions WHERE model = 'rps'")" = 4 ]
expect "the reason speaks of the success rate" contains "$(jq -r .reason got/promotion.json)" "highest success rate"
v1=$(holder production)

# a new best that chance explains (62/100 against the holder's 60/100): declined
eval_pipeline pipelines/z.yaml "$ZP" "$(player a 62 100)" "$(player b 55 100)" "$(player c 50 100)" "$(player d 40 100)"
run_dagrun pipelines/z.yaml
expect "62/100 against 60/100: exit 0" [ "$RC" -eq 0 ]
expect "... the new winner is a" [ "$(jq -r .winner got/promotion.json)" = a ]
expect "... but production stays with the incumbent" [ "$(holder production)" = "$v1" ]
expect "... the declined winner takes B" [ "$(node_of B)" = a ]
expect "... the runners-up take the rest: b shadow1, c shadow2" [ "$(node_of shadow1),$(node_of shadow2)" = "b,c" ]
expect "... a promotion_declined event naming the z-test" \
	[ "$(q "SELECT count(*) FROM events WHERE name = 'promotion_declined' AND payload LIKE '%two-proportion z-test%'")" = 1 ]
expect "... the run reports z and p" contains "$ERR" "z = 0.290, one-sided p = 0.3859"

# an exact tie keeps the incumbent
eval_pipeline pipelines/z.yaml "$ZP" "$(player a 60 100)" "$(player b 30 100)" "$(player c 20 100)" "$(player d 10 100)"
run_dagrun pipelines/z.yaml
expect "a tie (60/100 against 60/100) keeps the incumbent" [ "$RC" -eq 0 -a "$(holder production)" = "$v1" ]

# a significant improvement takes production
eval_pipeline pipelines/z.yaml "$ZP" "$(player a 450 500)" "$(player b 30 100)" "$(player c 20 100)" "$(player d 10 100)"
run_dagrun pipelines/z.yaml
expect "450/500 against 60/100 (p far below 0.05): production moves to a" [ "$(node_of production)" = a ]
expect "... the move is recorded with its previous holder" \
	[ "$(q "SELECT previous FROM promotions WHERE model = 'rps' AND alias = 'production' ORDER BY id DESC LIMIT 1")" = "$v1" ]

# alpha is a param: at alpha 0.5 a small edge is enough
eval_pipeline pipelines/z.yaml "$ZP, alpha: 0.5" "$(player a 452 500)" "$(player b 30 100)" "$(player c 20 100)" "$(player d 10 100)"
before=$(holder production)
run_dagrun pipelines/z.yaml
expect "alpha 0.5: 452/500 against 450/500 moves production" [ "$(holder production)" != "$before" ]

# the score rule with a challenger list
NEEDS="a, b, c"
sc() { cat <<YAML
  $1:
    params: {rmse: $2, mae: $2, mse: $2}
    cmd: >-
      jq '{rmse, mae, mse}' \$DAGRUN_PARAMS > \$DAGRUN_OUT/metrics.json &&
      echo '{"type":"test"}' > \$DAGRUN_OUT/model.json
YAML
}
eval_pipeline pipelines/s.yaml "model: s, must_beat: [], challenger: [B, shadow1]" "$(sc a 0.3)" "$(sc b 0.1)" "$(sc c 0.2)"
run_dagrun pipelines/s.yaml
expect "rule score with a challenger list: B is the runner-up, shadow1 the third" \
	[ "$(q "SELECT group_concat(alias || '=' || node, ',') FROM (SELECT alias, node FROM aliases a JOIN model_versions v ON a.model = v.model AND a.version = v.version WHERE a.model = 's' ORDER BY alias)")" = "B=c,production=b,shadow1=a" ]

# bad input: exit 2, nothing registered
before=$(q "SELECT count(*) FROM model_versions")
NEEDS="a, b"
eval_pipeline pipelines/e1.yaml "model: e1, rule: ztest, must_beat: []" "$(sc a 0.3)" "$(sc b 0.1)"
run_dagrun pipelines/e1.yaml
expect "rule ztest without wins in metrics.json: exit 2" [ "$RC" -eq 2 ]
expect "... naming the node and the metric" contains "$ERR$OUT" "has no 'wins'"
eval_pipeline pipelines/e2.yaml "model: e2, rule: ztest, must_beat: []" "$(player a 12 10)" "$(player b 1 10)"
run_dagrun pipelines/e2.yaml
expect "more wins than rounds: exit 2" [ "$RC" -eq 2 ] && expect "... saying so" contains "$ERR$OUT" "no more successes than trials"
eval_pipeline pipelines/e3.yaml "model: e3, rule: ztest, must_beat: [], challenger: [B, B]" "$(player a 5 10)" "$(player b 1 10)"
run_dagrun pipelines/e3.yaml
expect "a challenger alias listed twice: exit 2" [ "$RC" -eq 2 ] && expect "... naming it" contains "$ERR$OUT" "'B' is listed twice"
eval_pipeline pipelines/e4.yaml "model: e4, rule: ztest, must_beat: [], challenger: [B, production]" "$(player a 5 10)" "$(player b 1 10)"
run_dagrun pipelines/e4.yaml
expect "production among the challenger aliases: exit 2" [ "$RC" -eq 2 ]
eval_pipeline pipelines/e5.yaml "model: e5, rule: coin" "$(player a 5 10)" "$(player b 1 10)"
run_dagrun pipelines/e5.yaml
expect "an unknown rule: exit 2" [ "$RC" -eq 2 ] && expect "... naming the choices" contains "$ERR" "score|ztest"
expect "nothing registered by the failed evaluations" [ "$(q "SELECT count(*) FROM model_versions")" = "$before" ]
finish
