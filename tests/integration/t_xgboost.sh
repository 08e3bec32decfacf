#!/bin/sh
# train.xgboost through the real binary on a table loaded by data.load:
# XOR (two classes), quadrants (four integer classes) and a step function
# (regress), all of which trees solve and a linear model cannot.  The
# outputs and their formats, the per-round losses in the state,
# byte-identical retraining, early stopping, groups that never straddle
# two parts, three folds that test every group once, bad params refused
# with exit 2, and, where the Python package is installed, the same
# predictions from it.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines

# 900 hourly rows of 90 games ("g00" .. "g89", 10 rows each, two games at
# a time, their rows interleaved); x1, x2 in [-1, 1], noise; xor: "yes"
# when x1 and x2 differ in sign; quad: the quadrant 1..4; y: a step in x1
# plus a parabola in x2.
awk 'BEGIN { print "t,game,x1,x2,noise,xor,quad,y";
	for (i = 0; i < 900; i++) {
		x1 = sin(i * 12.9898); x2 = sin(i * 78.233); z = sin(i * 3.7);
		printf "%d,g%02d,%.5f,%.5f,%.5f,%s,%d,%.5f\n", 1700000000 + 3600 * i,
			2 * int(i / 20) + i % 2, x1, x2, z, ((x1 > 0) != (x2 > 0)) ? "yes" : "no",
			1 + (x1 > 0) + 2 * (x2 > 0), 3 * (x1 > 0) + 2 * x2 * x2 + 0.05 * z }
}' > data/g.csv

# pipeline FILE 'XOR' 'QUAD' 'REG' 'ES' 'GROUP' 'FOLD PARAMS': each node
# gets label and features of its own plus the extra params given.
pipeline() {
	cat > "$1" <<YAML
pipeline: trees
nodes:
  load: {task: data.load, params: {path: data/g.csv, timestamp: t}}
  xor:
    task: train.xgboost
    needs: [load]
    params: {label: xor, features: [x1, x2, noise], $2}
  quad:
    task: train.xgboost
    needs: [load]
    params: {label: quad, features: [x1, x2, noise], $3}
  reg:
    task: train.xgboost
    needs: [load]
    params: {label: y, objective: regress, features: [x1, x2, noise], $4}
  es:
    task: train.xgboost
    needs: [load]
    params: {label: xor, features: [x1, x2, noise], $5}
  grouped:
    task: train.xgboost
    needs: [load]
    params: {label: xor, group: game, $6}
  fold0: {task: train.xgboost, needs: [load], params: {label: xor, group: game, folds: 3, fold: 0, $7}}
  fold1: {task: train.xgboost, needs: [load], params: {label: xor, group: game, folds: 3, fold: 1, $7}}
  fold2: {task: train.xgboost, needs: [load], params: {label: xor, group: game, folds: 3, fold: 2, $7}}
  export:
    needs: [xor, quad, reg, es, grouped, fold0, fold1, fold2]
    cmd: "rm -rf got && for n in xor quad reg es grouped fold0 fold1 fold2; do mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/* got/\$n/; done && echo ok > \$DAGRUN_OUT/done"
YAML
}
pipeline pipelines/t.yaml "num_rounds: 60, max_depth: 4" \
	"threads: 2, subsample: 0.8, colsample_bytree: 0.9, seed: 7" \
	"num_rounds: 80, tree_method: exact" \
	"early_stopping: 5, num_rounds: 500" \
	"shuffle_split: true, seed: 3, num_rounds: 20" "num_rounds: 20"
git add -A && git commit -qm init

run_dagrun pipelines/t.yaml
expect "the eight models train (exit 0)" [ "$RC" -eq 0 ]
for n in xor quad reg es grouped fold0; do
	expect "$n: every output is written" [ -f got/$n/model.json -a -f got/$n/model_meta.json \
		-a -f got/$n/metrics.json -a -f got/$n/predictions.csv -a -f got/$n/importance.json ]
	expect "$n: predictions.csv has a header and one line per test row" \
		[ "$(wc -l < got/$n/predictions.csv)" -eq $(($(jq .test_rows got/$n/metrics.json) + 1)) ]
done

m=got/xor/metrics.json
expect "xor: metrics.json has train.softmax's classification metrics" \
	[ "$(jq -r '[has("accuracy","log_loss","macro_precision","macro_recall","macro_f1","per_class","confusion","classes","val_loss","test_rows")] | all' $m)" = true ]
expect "xor: the test part is the last 20% of the rows" [ "$(jq .test_rows $m)" = 180 ]
expect "xor: accuracy over 0.97 where a linear model gets half" [ "$(jq '.accuracy > 0.97' $m)" = true ]
expect "xor: the confusion matrix counts every test row" [ "$(jq '[.confusion[][]] | add' $m)" = 180 ]
expect "xor: 60 rounds, the last one the model's" \
	[ "$(jq -c '[.rounds_run, .best_iteration]' $m)" = "[60,59]" ]
expect "xor: predictions.csv has the row, time, label, prediction and probabilities" \
	[ "$(head -1 got/xor/predictions.csv)" = "row,timestamp,label,prediction,p_no,p_yes" ]
expect "xor: the test rows are the latest" \
	[ "$(tail -1 got/xor/predictions.csv | cut -d, -f1)" = 899 ]
expect "xor: probabilities sum to 1" \
	[ "$(awk -F, 'NR > 1 { d = $5 + $6 - 1; if (d > 1e-6 || d < -1e-6) bad++ } END { print bad + 0 }' got/xor/predictions.csv)" = 0 ]
expect "xor: the meta names format, objective, label, classes, features, rounds" \
	[ "$(jq -c '[.format, .objective, .label, .classes, .features, .best_iteration, .rounds]' got/xor/model_meta.json)" = \
	  '["dagrun-xgboost-1","classify","xor",["no","yes"],["x1","x2","noise"],59,60]' ]
expect "xor: model.json is XGBoost's, binary:logistic, with the feature names" \
	[ "$(jq -c '[.learner.objective.name, .learner.feature_names, (.learner.gradient_booster.model.trees | length)]' got/xor/model.json)" = \
	  '["binary:logistic",["x1","x2","noise"],60]' ]
expect "xor: importance.json gives the gain of each feature, noise the least" \
	[ "$(jq '.importance_type == "gain" and (.gain | keys == ["noise","x1","x2"]) and .gain.x1 > .gain.noise and .gain.x2 > .gain.noise' got/xor/importance.json)" = true ]
expect "quad: four integer classes, multi:softprob, accuracy over 0.97" \
	[ "$(jq -c '[.classes, .accuracy > 0.97]' got/quad/metrics.json) $(jq -r '.learner.objective.name + " " + .learner.learner_model_param.num_class' got/quad/model.json)" = \
	  "[[1,2,3,4],true] multi:softprob 4" ]
expect "quad: a probability per class, summing to 1" \
	[ "$(awk -F, 'NR == 1 { print $5 $6 $7 $8 } NR > 1 { d = $5 + $6 + $7 + $8 - 1; if (d > 1e-6 || d < -1e-6) bad++ } END { print bad + 0 }' got/quad/predictions.csv | tr '\n' ' ')" = "p_1p_2p_3p_4 0 " ]
m=got/reg/metrics.json
expect "reg: rmse, mae, mse, r2 and the best val_loss" \
	[ "$(jq -r '[has("rmse","mae","mse","r2","val_loss")] | all' $m)" = true ]
expect "reg: the step and the parabola are learnt (r2 over 0.99, rmse under 0.1)" \
	[ "$(jq '.r2 > 0.99 and .rmse < 0.1' $m)" = true ]
expect "reg: predictions are in the label's units" \
	[ "$(awk -F, 'NR > 1 { d = $3 - $4; s += d * d; n++ } END { print (sqrt(s / n) < 0.1) }' got/reg/predictions.csv)" = 1 ]
expect "reg: reg:squarederror, no classes in the meta" \
	[ "$(jq -r .learner.objective.name got/reg/model.json) $(jq -c .classes got/reg/model_meta.json)" = "reg:squarederror []" ]

m=got/es/metrics.json
ran=$(jq .rounds_run $m)
best=$(jq .best_iteration $m)
expect "early stopping: ends 5 rounds after the best, long before 500" \
	[ "$ran" -lt 100 -a $((ran - best - 1)) -eq 5 ]
expect "early stopping: the meta and model.json's attributes name the best round" \
	[ "$(jq -c '[.best_iteration, .rounds]' got/es/model_meta.json) $(jq -r .learner.attributes.best_iteration got/es/model.json)" = "[$best,$ran] $best" ]
expect "early stopping: model.json keeps every round's trees" \
	[ "$(jq '.learner.gradient_booster.model.trees | length' got/es/model.json)" = "$ran" ]

names=$(sqlite3 state/dagrun.db "select distinct name from metrics where node = 'xor' order by name" | tr '\n' ' ')
expect "per-round and final metrics are in the state" \
	[ "$names" = "accuracy log_loss macro_f1 macro_precision macro_recall train_loss val_loss " ]
expect "train_loss and val_loss have one value per round" \
	[ "$(sqlite3 state/dagrun.db "select count(*), count(distinct step), min(step), max(step) from metrics where node = 'es' and name = 'val_loss'")" = "$ran|$ran|1|$ran" ]
expect "reg: the regression metrics are in the state" \
	[ "$(sqlite3 state/dagrun.db "select group_concat(name, ' ') from (select name from metrics where node = 'reg' and step is null order by name)")" = "mae mse r2 rmse" ]

# game -> its rows in the table
awk -F, 'NR > 1 { n[$2]++ } END { for (g in n) print g, n[g] }' data/g.csv | sort > "$WORK/games"
# test_games NODE: "game rows" of the test part
test_games() {
	awk -F, 'NR == FNR { if (FNR > 1) game[FNR - 2] = $2; next }
		FNR > 1 { n[game[$1]]++ } END { for (g in n) print g, n[g] }' data/g.csv got/$1/predictions.csv | sort
}
test_games grouped > "$WORK/grouped"
expect "group: every test game has all of its rows in the test part" \
	[ "$(join "$WORK/grouped" "$WORK/games" | awk '$2 != $3' | wc -l)" -eq 0 -a -s "$WORK/grouped" ]
expect "group: the split counts games per part (shuffled: 20% of 90 is 18)" \
	[ "$(jq -c '.split' got/grouped/metrics.json)" = '{"fold":0,"folds":0,"group":"game","groups":{"test":18,"train":63,"val":9}}' ]
expect "group: shuffled games, so the test rows are not the latest alone" \
	[ "$(awk -F, 'NR > 1 && $1 < 450 { n++ } END { print (n > 20) }' got/grouped/predictions.csv)" = 1 ]
expect "group: the game column is not a feature" \
	[ "$(jq -c .features got/grouped/model_meta.json)" = '["x1","x2","noise","quad","y"]' ]
for f in 0 1 2; do test_games fold$f; done | sort > "$WORK/folds"
expect "3 folds: every game is tested exactly once, with all of its rows" cmp -s "$WORK/folds" "$WORK/games"
expect "3 folds: balanced, 30 games each" \
	[ "$(jq -s -c 'map(.split.groups.test)' got/fold0/metrics.json got/fold1/metrics.json got/fold2/metrics.json)" = "[30,30,30]" ]
expect "fold 1: val_fraction 0.1 of the other 60 games, the rest trains" \
	[ "$(jq -c '[.split.groups.train, .split.groups.val, .test_rows]' got/fold1/metrics.json)" = "[54,6,300]" ]

for n in xor quad reg es; do cp got/$n/model.json "$WORK/$n.1"; done
run_dagrun pipelines/t.yaml
expect "an unchanged rerun is cached" contains "$ERR" "0 ran, 10 cached"
run_dagrun --salt again pipelines/t.yaml
expect "a salted rerun trains again" [ "$RC" -eq 0 ]
for n in xor quad reg es; do
	expect "$n: same seed, same bytes" cmp -s "$WORK/$n.1" got/$n/model.json
done

# Python's xgboost, same library, params and rows: the same predictions
if /usr/bin/python3 -c 'import xgboost, numpy' 2>/dev/null; then
	cat > "$WORK/parity.py" <<'PY'
import csv, sys, numpy as np, xgboost as xgb
rows = list(csv.DictReader(open("data/g.csv")))
x = np.array([[float(r[k]) for k in ("x1", "x2", "noise")] for r in rows], dtype=np.float32)
ys = {"xor": np.array([r["xor"] == "yes" for r in rows], dtype=np.float32),
      "quad": np.array([int(r["quad"]) - 1 for r in rows], dtype=np.float32)}
common = dict(eta=0.3, lambda_=1, alpha=0, min_child_weight=1, gamma=0, tree_method="hist",
              nthread=1, seed=0, subsample=1, colsample_bytree=1)
runs = {"xor": (dict(objective="binary:logistic", max_depth=4), 60, 4),
        "quad": (dict(objective="multi:softprob", num_class=4, max_depth=6, nthread=2,
                      subsample=0.8, colsample_bytree=0.9, seed=7), 100, 4)}
worst = 0
for name, (p, rounds, first) in runs.items():
    params = dict(common, **p)
    params["lambda"] = params.pop("lambda_")
    d = xgb.DMatrix(x[:630], label=ys[name][:630], feature_names=["x1", "x2", "noise"])
    b = xgb.train(params, d, rounds)
    got = np.loadtxt("got/%s/predictions.csv" % name, delimiter=",", skiprows=1,
                     usecols=range(first, first + (2 if name == "xor" else 4)), dtype=np.float64)
    want = b.predict(xgb.DMatrix(x[720:], feature_names=["x1", "x2", "noise"]))
    want = np.stack([1 - want, want], 1) if name == "xor" else want
    worst = max(worst, float(np.abs(got - want).max()))
print("%.3g" % worst)
PY
	diff=$(/usr/bin/python3 "$WORK/parity.py" 2>&1)
	expect "python xgboost, same params and rows: predictions within 1e-5 (max diff $diff)" \
		[ "$(echo "$diff" | awk '{ print ($1 < 1e-5) }')" = 1 ]
else
	echo "skip python parity: /usr/bin/python3 has no xgboost (apt-get install python3-xgboost)"
fi

check_bad() { # NAME 'PARAMS' MESSAGE
	cat > pipelines/bad.yaml <<YAML
pipeline: bad
nodes:
  load: {task: data.load, params: {path: data/g.csv, timestamp: t}}
  bad: {task: train.xgboost, needs: [load], params: {num_rounds: 1, $2}}
YAML
	run_dagrun pipelines/bad.yaml
	expect "$1: exit 2" [ "$RC" -eq 2 ]
	expect "$1: the message says what is wrong" contains "$ERR" "$3"
}
check_bad "an unknown group column" "label: xor, group: match" \
	"param 'group': 'load' has no column 'match' (expected one of: t, game, x1, x2, noise, xor, quad, y)"
check_bad "the group as a feature" "label: xor, group: quad, features: [x1, quad]" \
	"param 'features': 'quad' is the group column"
check_bad "fold not below folds" "label: xor, folds: 3, fold: 3" "param 'fold' is 3 and 'folds' 3"
check_bad "more folds than games" "label: xor, group: game, folds: 91" \
	"param 'folds' is 91 but 'load' has 90 groups"
check_bad "a validation part too small for one game" "label: xor, group: game, val_fraction: 0.001" \
	"leave 72 training, 0 validation and 18 test groups"
check_bad "early stopping without a validation part" "label: xor, early_stopping: 3, val_fraction: 0" \
	"param 'early_stopping' is 3 but there is no validation part (expected val_fraction > 0"
check_bad "an unknown tree method" "label: xor, tree_method: gpu_hist" \
	"must be one of hist|exact|approx, found 'gpu_hist'"
check_bad "eta out of range" "label: xor, eta: 2" "param 'eta'"
check_bad "a string label for regress" "label: xor, objective: regress" \
	"label 'xor' of 'load' holds strings (expected numbers for objective regress)"
finish
