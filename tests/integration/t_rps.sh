#!/bin/sh
# The rock-paper-scissors move predictor end to end: rps.simulate ->
# rps.features -> train.softmax, train.mlp, train.xgboost -> rps.play.
# The tables' columns and row counts, the bots and the scripted AI in the
# simulated logs, every feature row recomputed from the log (nothing from
# the round it predicts), models clearly better than chance on strongly
# predictable bots, winning against them, the paired games (one model in a
# node of its own plays the same games as beside others), byte-identical
# outputs on a salted rerun, and bad params and inputs refused with exit 2
# and a message naming the node.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
PY=/usr/bin/python3
BOTS="[cycler, repeater, copycat, wsls]"

cat > pipelines/rps.yaml <<YAML
pipeline: rps
nodes:
  sim:
    task: rps.simulate
    params: {games: 240, rounds: 30, bots: $BOTS, noise: 0.05, legacy_share: 0.5, seed: 3}
  feat:
    task: rps.features
    needs: [sim]
  softmax:
    task: train.softmax
    needs: [feat]
    params: {label: next_move, epochs: 15, learning_rate: 0.01}
  mlp:
    task: train.mlp
    needs: [feat]
    params: {label: next_move, hidden: [32], epochs: 15, learning_rate: 0.003, seed: 1}
  xgb:
    task: train.xgboost
    needs: [feat]
    params: {label: next_move, num_rounds: 30, max_depth: 4, group: game}
  play:
    task: rps.play
    needs: [softmax, mlp, xgb]
    params: {games: 60, rounds: 30, bots: $BOTS, noise: 0.05, seed: 5}
  play_mlp:
    task: rps.play
    needs: [mlp]
    params: {games: 60, rounds: 30, bots: $BOTS, noise: 0.05, seed: 5}
  play_expected:
    task: rps.play
    needs: [softmax, mlp]
    params: {models: [mlp], games: 60, rounds: 30, bots: $BOTS, noise: 0.05, seed: 5,
             policy: expected}
  export:
    needs: [sim, feat, softmax, mlp, xgb, play, play_mlp, play_expected]
    cmd: "rm -rf got && mkdir got && cp -r \$DAGRUN_IN/* got/ && echo ok > \$DAGRUN_OUT/done"
YAML
git add -A && git commit -qm rps

run_dagrun pipelines/rps.yaml
expect "simulate, features, three trainers and three players run (exit 0)" [ "$RC" -eq 0 ]

# --- rps.simulate
s=got/sim/schema.json
expect "simulate: games x rounds rows" [ "$(jq .rows $s)" = 7200 ]
expect "simulate: the documented columns and types" \
	[ "$(jq -c '[.columns[] | .name + ":" + .type]' $s)" = \
	  '["game:number","bot:string","round:number","ai_move:string","opp_move:string","result:string","points:number","legacy:number"]' ]
expect "simulate: bots by turns, game 0 the first" \
	[ "$(jq -c '[.[0], .[30], .[60], .[90], .[120]]' got/sim/bot.json)" = \
	  '["cycler","repeater","copycat","wsls","cycler"]' ]

# A .npy of float64 (data.load's numbers) as a list, without numpy.
cat > "$WORK/tables.py" <<'EOF'
import json, struct, sys

def table(d):
    s = json.load(open(d + "/schema.json"))
    cols = {}
    for c in s["columns"]:
        p = d + "/" + c["file"]
        if c["type"] == "string":
            cols[c["name"]] = json.load(open(p))
        else:
            b = open(p, "rb").read()
            n = struct.unpack("<H", b[8:10])[0]
            cols[c["name"]] = list(struct.unpack("<%dd" % s["rows"], b[10 + n:]))
    return s, cols
EOF
if [ -x $PY ]; then
	out=$(cd "$WORK" && $PY - <<'EOF'
import sys
sys.path.insert(0, ".")
from tables import table
M = {"rock": 0, "paper": 1, "scissors": 2}
_, t = table("got/sim")
n = len(t["game"])
bad = 0
beat_prev = {0: [0, 0], 1: [0, 0]}   # legacy -> [AI beat opp's last, rounds]
cyc = [0, 0]
legacy_games = set()
for i in range(n):
    a, o = M[t["ai_move"][i]], M[t["opp_move"][i]]
    res = "draw" if a == o else "win" if a == (o + 1) % 3 else "lose"
    pts = {"win": 1, "lose": -1, "draw": 0}[res]
    bad += t["result"][i] != res or t["points"][i] != pts
    bad += t["round"][i] != i % 30 or t["game"][i] != i // 30
    if t["legacy"][i]:
        legacy_games.add(t["game"][i])
    if i % 30:
        L = int(t["legacy"][i])
        beat_prev[L][0] += a == (M[t["opp_move"][i - 1]] + 1) % 3
        beat_prev[L][1] += 1
        if t["bot"][i] == "cycler":
            cyc[0] += o == (M[t["opp_move"][i - 1]] + 1) % 3
            cyc[1] += 1
print("consistent" if bad == 0 else "inconsistent %d" % bad)
print("legacy_games %d" % len(legacy_games))
print("heuristic %.3f" % (beat_prev[0][0] / beat_prev[0][1]))
print("legacy %.3f" % (beat_prev[1][0] / beat_prev[1][1]))
print("cycler %.3f" % (cyc[0] / cyc[1]))
EOF
)
	expect "simulate: results and points follow the moves, rounds and games count up" \
		contains "$out" "consistent
"
	lg=$(echo "$out" | awk '/^legacy_games/ { print $2 }')
	expect "simulate: about half the games legacy ($lg of 240)" [ "$lg" -gt 90 -a "$lg" -lt 150 ]
	expect "simulate: the heuristic AI beats the opponent's last move in 7/9 of rounds" \
		[ "$(echo "$out" | awk '/^heuristic/ { print ($2 > 0.72 && $2 < 0.83) }')" = 1 ]
	expect "simulate: the legacy AI plays at random (1/3)" \
		[ "$(echo "$out" | awk '/^legacy / { print ($2 > 0.28 && $2 < 0.39) }')" = 1 ]
	expect "simulate: the cycler plays rock, paper, scissors (noise 0.05)" \
		[ "$(echo "$out" | awk '/^cycler/ { print ($2 > 0.93) }')" = 1 ]
else
	echo "skip table checks: no $PY"
fi

# --- rps.features
s=got/feat/schema.json
expect "features: one row per round after a game's first" [ "$(jq .rows $s)" = 6960 ]
expect "features: 50 number columns, then game, round, bot and next_move as strings" \
	[ "$(jq -c '[.columns[] | .type] | [(.[0:50] | unique), .[50:]]' $s)" = \
	  '[["number"],["string","string","string","string"]]' ]
expect "features: the columns in the documented order" \
	[ "$(jq -r '[.columns[] | .name] | join(" ")' $s)" = "$(echo \
	opp_l1_rock opp_l1_paper opp_l1_scissors ai_l1_rock ai_l1_paper ai_l1_scissors \
	res_l1_win res_l1_lose res_l1_draw opp_l2_rock opp_l2_paper opp_l2_scissors \
	ai_l2_rock ai_l2_paper ai_l2_scissors res_l2_win res_l2_lose res_l2_draw \
	opp_l3_rock opp_l3_paper opp_l3_scissors ai_l3_rock ai_l3_paper ai_l3_scissors \
	res_l3_win res_l3_lose res_l3_draw points_l1 points_l2 points_l3 \
	opp_freq_rock opp_freq_paper opp_freq_scissors opp_recent_rock opp_recent_paper \
	opp_recent_scissors opp_repeat_rate opp_beat_prev_rate opp_lose_prev_rate \
	opp_win_stay_rate opp_lose_shift_rate ai_freq_rock ai_freq_paper ai_freq_scissors \
	ai_score opp_score score_diff round_norm streak legacy game round bot next_move)" ]
if [ -x $PY ]; then
	out=$(cd "$WORK" && $PY - <<'EOF'
import sys
sys.path.insert(0, ".")
from tables import table
M = {"rock": 0, "paper": 1, "scissors": 2}
_, s = table("got/sim")
_, f = table("got/feat")
names = ["rock", "paper", "scissors"]
bad = []
for r in range(len(f["game"])):
    g, t = int(f["game"][r]), int(f["round"][r])
    i = g * 30 + t            # the simulated round this row predicts
    past = range(g * 30, i)   # its game's earlier rounds
    want = {"next_move": s["opp_move"][i], "bot": s["bot"][i],
            "legacy": s["legacy"][i], "round_norm": t / 100.0}
    for k in (1, 2, 3):
        j = i - k
        for m in names:
            want["opp_l%d_%s" % (k, m)] = float(j >= g * 30 and s["opp_move"][j] == m)
            want["ai_l%d_%s" % (k, m)] = float(j >= g * 30 and s["ai_move"][j] == m)
        want["points_l%d" % k] = s["points"][j] if j >= g * 30 else 0.0
    for m in names:
        want["opp_freq_" + m] = sum(s["opp_move"][j] == m for j in past) / t
        want["ai_freq_" + m] = sum(s["ai_move"][j] == m for j in past) / t
    want["ai_score"] = sum(s["result"][j] == "win" for j in past) / t
    for c, v in want.items():
        got = f[c][r]
        if (isinstance(v, str) and got != v) or (not isinstance(v, str) and abs(got - v) > 1e-12):
            bad.append("row %d %s: %r, expected %r" % (r, c, got, v))
print("rows %d" % len(f["game"]))
print("mismatches %d" % len(bad))
print("\n".join(bad[:5]))
EOF
)
	expect "features: every row recomputed from the earlier rounds of its game (lags, points, frequencies, score, legacy, label)" \
		contains "$out" "mismatches 0"
fi

# --- the trainers on rps.features, features: null
for n in softmax mlp xgb; do
	expect "$n: the classes are the three moves" \
		[ "$(jq -c .classes got/$n/metrics.json)" = '["paper","rock","scissors"]' ]
	expect "$n: test accuracy above 0.4 on predictable bots" \
		[ "$(jq '.accuracy > 0.4' got/$n/metrics.json)" = true ]
done
# header MODEL: the JSON header of a safetensors file
header() {
	len=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	tail -c +9 "$1" | head -c "$len"
}
expect "mlp: trained on the 50 features only (game and round are strings)" \
	[ "$(header got/mlp/model.safetensors | jq -r '.__metadata__.features | fromjson | length')" = 50 ]
expect "mlp: accuracy above 0.6" [ "$(jq '.accuracy > 0.6' got/mlp/metrics.json)" = true ]

# --- rps.play
o=got/play/outcomes.json
expect "play: every model plays 60 games of 30 rounds" \
	[ "$(jq -c '[.models[] | .rounds]' $o)" = '[1800,1800,1800]' ]
expect "play: wins, losses and draws add up to the rounds, per model and per bot" \
	[ "$(jq '[.models[] | (., .per_bot[]) | .wins + .losses + .draws == .rounds] | all' $o)" = true ]
expect "play: win_rate is wins / rounds, points wins - losses" \
	[ "$(jq '[.models[] | .win_rate == .wins / .rounds and .points == .wins - .losses] | all' $o)" = true ]
expect "play: the model kinds" [ "$(jq -c '[.models[] | .kind]' $o)" = '["softmax","mlp","xgboost"]' ]
expect "play: the MLP wins well over a third of its rounds" \
	[ "$(jq '.models.mlp.win_rate > 0.5' $o)" = true ]
expect "play: ... and beats the cycler in over 60% of rounds" \
	[ "$(jq '.models.mlp.per_bot.cycler.win_rate > 0.6' $o)" = true ]
c=got/play/outcomes.csv
expect "play: outcomes.csv has a header and a row per model, game and round" \
	[ "$(head -1 $c)" = "model,game,bot,round,ai_move,opp_move,result,predicted" -a \
	  "$(wc -l < $c)" -eq 5401 ]
expect "play: the first round of a game has no prediction" \
	[ "$(awk -F, '$4 == 0 && $8 != "" { n++ } END { print n + 0 }' $c)" = 0 ]
expect "play: the AI plays what beats the predicted move (argmax)" \
	[ "$(awk -F, 'BEGIN { b["rock"] = "paper"; b["paper"] = "scissors"; b["scissors"] = "rock" }
		NR > 1 && $4 > 0 && b[$8] != $5 { n++ } END { print n + 0 }' $c)" = 0 ]
expect "play: every model meets the same bots' first moves (paired games)" \
	[ "$(awk -F, 'NR > 1 && $4 == 0 { print $2, $6 }' $c | sort | uniq | wc -l)" = 60 ]
m=got/play_mlp/metrics.json
expect "play (one model): wins, rounds, win_rate at the top of metrics.json" \
	[ "$(jq -r '[.model, .rounds, (.wins | type), (.win_rate | type)] | join(" ")' $m)" = "mlp 1800 number number" ]
expect "play (one model): the same games and outcomes as beside the others" \
	[ "$(jq -c 'del(.model)' $m)" = "$(jq -c .models.mlp $o)" ]
expect "play (several): metrics.json per model" \
	[ "$(jq -c '.models | keys' got/play/metrics.json)" = '["mlp","softmax","xgb"]' ]
names=$(sqlite3 state/dagrun.db "select name from metrics where node = 'play_mlp' and name not like '%/%' order by name" | tr '\n' ' ')
expect "play (one model): wins, rounds and win_rate in the state for a z-test" \
	[ "$names" = "draws losses rounds win_rate wins " ]
expect "play (several): metrics prefixed by the model" \
	[ "$(sqlite3 state/dagrun.db "select count(*) from metrics where node = 'play' and name in ('mlp/wins', 'xgb/rounds', 'softmax/cycler/win_rate')")" = 3 ]
expect "play (policy expected): only the listed model plays, and wins over half" \
	[ "$(jq -c '[.policy, (.models | keys), (.models.mlp.win_rate > 0.5)]' got/play_expected/outcomes.json)" = '["expected",["mlp"],true]' ]

# --- determinism: a new lineage, the same bytes
cp -r got "$WORK/got1"
run_dagrun --salt again pipelines/rps.yaml
expect "a salted rerun runs every node again" contains "$ERR" "9 ran, 0 cached"
expect "... and writes byte-identical tables, models and outcomes" diff -r "$WORK/got1" got

# --- bad params and inputs: exit 2, the node named
bad() { # NAME YAML MESSAGE
	printf 'pipeline: bad\nnodes:\n%s\n' "$2" > pipelines/bad.yaml
	git add -A && git commit -qm "$1"
	run_dagrun pipelines/bad.yaml
	expect "$1: exit 2" [ "$RC" -eq 2 ]
	expect "$1: the message names the node and the problem" contains "$ERR" "$3"
}
bad "an unknown bot" "  sim_bad: {task: rps.simulate, params: {bots: [cycler, robot]}}" \
	"sim_bad"
expect "... and says what a bot is" contains "$ERR" \
	"param 'bots': \"robot\" is not a bot (expected one of: cycler, repeater, wsls, copycat, counter, biased, beater)"
bad "games 0" "  sim_zero: {task: rps.simulate, params: {games: 0}}" \
	"pipelines/bad.yaml:3:50: param 'games' of task 'rps.simulate' must be between 1 and 1e+06, found 0"
bad "too many rows" "  sim_big: {task: rps.simulate, params: {games: 100000, rounds: 100}}" \
	"games x rounds = 100000 x 100 is more than 5000000 rows"
printf 'game,round,ai_move,opp_move,legacy\n0,0,rock,paper,0\n0,1,rok,paper,0\n' > data/typo.csv
printf 'game,round,ai,opp\n0,0,rock,paper\n' > data/other.csv
printf 'game,round,ai_move,opp_move,legacy\n0,0,rock,paper,0\n1,0,rock,paper,0\n0,1,rock,rock,0\n' > data/split.csv
bad "features: a table without the columns" \
	"  raw: {task: data.load, params: {path: data/other.csv, timestamp: null}}
  f: {task: rps.features, needs: [raw]}" \
	"node 'raw': no column 'ai_move' (expected rps.simulate's columns game, round, ai_move, opp_move, legacy; found: game, round, ai, opp)"
bad "features: a move that is none" \
	"  raw: {task: data.load, params: {path: data/typo.csv, timestamp: null}}
  f: {task: rps.features, needs: [raw]}" \
	"node 'raw': row 2: ai_move 'rok' (expected rock, paper or scissors)"
bad "features: a game's rows apart" \
	"  raw: {task: data.load, params: {path: data/split.csv, timestamp: null}}
  f: {task: rps.features, needs: [raw]}" \
	"node 'raw': row 3: game 0 again after other games"
bad "play: a model that is not a need" \
	"  sim: {task: rps.simulate, params: {games: 20, rounds: 10}}
  feat: {task: rps.features, needs: [sim]}
  sm: {task: train.softmax, needs: [feat], params: {label: next_move, epochs: 1}}
  p: {task: rps.play, needs: [sm], params: {models: [mlp]}}" \
	"param 'models' names 'mlp', which this node does not need"
bad "play: a regressor" \
	"  sim: {task: rps.simulate, params: {games: 20, rounds: 10}}
  feat: {task: rps.features, needs: [sim]}
  reg: {task: train.mlp, needs: [feat], params: {label: streak, objective: regress, epochs: 1}}
  p: {task: rps.play, needs: [reg]}" \
	"node 'reg': "
expect "... which is no classifier" contains "$ERR" "expected a classifier"
bad "play: a model of other features" \
	"  sim: {task: rps.simulate, params: {games: 20, rounds: 10}}
  reg: {task: train.softmax, needs: [sim], params: {label: opp_move, epochs: 1}}
  p: {task: rps.play, needs: [reg]}" \
	"node 'reg': the model's feature 'game' is not among the 50 columns given"
finish
