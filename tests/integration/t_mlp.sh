#!/bin/sh
# train.mlp and train.softmax through the real binary on tables loaded by
# data.load: a real one (will ETTh1's oil temperature rise in the next
# hour, from the six load columns of this hour) and a synthetic one (three
# separable classes, and a target that is a function of the inputs).  The
# outputs and their formats, the metrics in the state, caching,
# byte-identical retraining, early stopping, a shuffled split, and bad
# params and inputs refused with exit 2 and a message naming the problem.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines

# ETTh1 with the label "up" or "down": does OT rise from this hour to the next?
awk -F, 'NR == 1 { print "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,next"; next }
	n++ { print prev "," ($8 > ot ? "up" : "down") }
	{ prev = $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," $7; ot = $8 }' \
	"$ROOT/examples/data/ETTh1.csv" > data/rise.csv
# 600 hourly rows: classes 1, 2, 3 around (0, 0), (4, 0), (0, 4) with noise
# of at most 1.2 (separable), and y = 2 x1 - x2 + noise.
awk 'BEGIN { print "t,x1,x2,noise,cls,y";
	for (i = 0; i < 600; i++) {
		k = i % 3; x1 = 4 * (k == 1) + 1.2 * sin(i * 12.9898);
		x2 = 4 * (k == 2) + 1.2 * sin(i * 78.233); z = sin(i * 3.7);
		printf "%d,%.5f,%.5f,%.5f,%d,%.5f\n", 1700000000 + 3600 * i, x1, x2, z, k + 1,
			2 * x1 - x2 + 0.1 * z }
}' > data/blobs.csv

# header MODEL: the JSON header of a safetensors file
header() {
	len=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	tail -c +9 "$1" | head -c "$len"
}

# pipeline FILE 'RISE PARAMS' 'BLOBS PARAMS' 'SOFTMAX PARAMS' 'REGRESS PARAMS'
pipeline() {
	cat > "$1" <<YAML
pipeline: tabular
nodes:
  rise:
    task: data.load
    params: {path: data/rise.csv, timestamp: date}
  blobs:
    task: data.load
    params: {path: data/blobs.csv, timestamp: t}
  mlp_rise:
    task: train.mlp
    needs: [rise]
    params: {$2}
  mlp_blobs:
    task: train.mlp
    needs: [blobs]
    params: {label: cls, $3}
  softmax_blobs:
    task: train.softmax
    needs: [blobs]
    params: {label: cls, $4}
  regress_blobs:
    task: train.mlp
    needs: [blobs]
    params: {label: y, objective: regress, $5}
  export:
    needs: [mlp_rise, mlp_blobs, softmax_blobs, regress_blobs]
    cmd: "rm -rf got && for n in mlp_rise mlp_blobs softmax_blobs regress_blobs; do mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/* got/\$n/; done && echo ok > \$DAGRUN_OUT/done"
YAML
}
pipeline pipelines/t.yaml "label: next, epochs: 6, seed: 1" \
	"features: [x1, x2, noise], epochs: 30, learning_rate: 0.01, seed: 2, threads: 2" \
	"features: [x1, x2], epochs: 30, learning_rate: 0.05, l2: 0.001" \
	"features: [x1, x2], hidden: [16], activation: tanh, dropout: 0.1, epochs: 40, learning_rate: 0.01"
git add -A && git commit -qm init

run_dagrun pipelines/t.yaml
expect "the four models train (exit 0)" [ "$RC" -eq 0 ]
for n in mlp_rise mlp_blobs softmax_blobs regress_blobs; do
	expect "$n: model, metrics and predictions are written" \
		[ -f got/$n/model.safetensors -a -f got/$n/metrics.json -a -f got/$n/predictions.csv ]
	expect "$n: no init.safetensors unless asked" [ ! -e got/$n/init.safetensors ]
	header got/$n/model.safetensors > "$WORK/$n.header"
	test_rows=$(jq .test_rows got/$n/metrics.json)
	expect "$n: predictions.csv has a header and one line per test row" \
		[ "$(wc -l < got/$n/predictions.csv)" -eq $((test_rows + 1)) ]
done

m=got/mlp_rise/metrics.json
expect "rise: metrics.json has the classification metrics" \
	[ "$(jq -r '[has("accuracy","log_loss","macro_precision","macro_recall","macro_f1","per_class","confusion","val_loss","epochs_run","best_epoch")] | all' $m)" = true ]
expect "rise: per-class precision, recall, f1 and support for down and up" \
	[ "$(jq -c '.per_class | map_values(keys)' $m)" = '{"down":["f1","precision","recall","support"],"up":["f1","precision","recall","support"]}' ]
expect "rise: the classes are the sorted strings" [ "$(jq -c .classes $m)" = '["down","up"]' ]
expect "rise: the test part is the last 20% of 17,419 rows" [ "$(jq .test_rows $m)" = 3484 ]
expect "rise: the confusion matrix counts every test row" \
	[ "$(jq '[.confusion[][]] | add' $m)" = 3484 ]
expect "rise: accuracy beats always saying the majority class" \
	[ "$(jq '(.confusion | map(add) | max) / .test_rows < .accuracy' $m)" = true ]
expect "rise: the support is the confusion matrix's row sums" \
	[ "$(jq '.per_class.up.support == (.confusion[1] | add)' $m)" = true ]
expect "rise: predictions.csv has the table row, the time, label, prediction and probabilities" \
	[ "$(head -1 got/mlp_rise/predictions.csv)" = "row,timestamp,label,prediction,p_down,p_up" ]
expect "rise: the test rows are the latest" \
	[ "$(tail -1 got/mlp_rise/predictions.csv | cut -d, -f1,2)" = "17418,2018-06-26T18:00:00Z" ]
expect "rise: probabilities sum to 1" \
	[ "$(awk -F, 'NR > 1 { d = $5 + $6 - 1; if (d > 1e-6 || d < -1e-6) bad++ } END { print bad + 0 }' got/mlp_rise/predictions.csv)" = 0 ]
h=$WORK/mlp_rise.header
expect "rise: metadata names the format, kind, objective and architecture" \
	[ "$(jq -r '.__metadata__ | [.format, .kind, .objective, .hidden, .activation, .input_size, .output_size] | join(" ")' "$h")" = "dagrun.mlp.v1 mlp classify [64,32] relu 6 2" ]
expect "rise: metadata has the features, label, classes and parts" \
	[ "$(jq -r '.__metadata__ | (.features | fromjson | join(",")) + " " + .label + " " + .classes + " " + (.rows | fromjson | .train | tostring)' "$h")" = "HUFL,HULL,MUFL,MULL,LUFL,LULL next [\"down\",\"up\"] 12193" ]
expect "rise: the scaler is fitted on the training rows (mean and std per feature)" \
	[ "$(jq -r '.__metadata__.scaler | fromjson | .kind + " " + (.params | keys | length | tostring) + " " + (.params.HUFL | keys | join(","))' "$h")" = "standard 6 mean,std" ]
expect "rise: tensors have PyTorch's names and [out, in] shapes" \
	[ "$(jq -c 'del(.__metadata__) | to_entries | map(.key + ":" + (.value.shape | map(tostring) | join("x"))) | sort' "$h")" = \
	  '["layers.0.bias:64","layers.0.weight:64x6","layers.1.bias:32","layers.1.weight:32x64","layers.2.bias:2","layers.2.weight:2x32"]' ]

expect "blobs (MLP): accuracy over 0.95 on three separable classes" \
	[ "$(jq '.accuracy > 0.95' got/mlp_blobs/metrics.json)" = true ]
expect "blobs (MLP): integer classes stay integers" [ "$(jq -c .classes got/mlp_blobs/metrics.json)" = "[1,2,3]" ]
expect "blobs (softmax): accuracy over 0.95" \
	[ "$(jq '.accuracy > 0.95 and .macro_f1 > 0.95' got/softmax_blobs/metrics.json)" = true ]
expect "softmax: one layer, l2 in the metadata" \
	[ "$(jq -r '.__metadata__ | .kind + " " + .hidden + " " + .l2' "$WORK/softmax_blobs.header")" = "softmax [] 0.001" ]
m=got/regress_blobs/metrics.json
expect "regress: rmse, mae, mse and r2" \
	[ "$(jq -r '[has("rmse","mae","mse","r2")] | all' $m)" = true ]
expect "regress: y = 2 x1 - x2 is learnt (r2 over 0.9)" [ "$(jq '.r2 > 0.9' $m)" = true ]
expect "regress: predictions are in the label's units" \
	[ "$(jq '.rmse < 1' $m)" = true ]
expect "regress: the target scaler is stored" \
	[ "$(jq -r '.__metadata__.target_scaler | fromjson | .params | keys[0]' "$WORK/regress_blobs.header")" = y ]
expect "regress: predictions.csv has the row, time, label and prediction" \
	[ "$(head -1 got/regress_blobs/predictions.csv)" = "row,timestamp,label,prediction" ]
expect "regress: the label is the table's value" \
	[ "$(sed -n 2p got/regress_blobs/predictions.csv | cut -d, -f1,3)" = "480,$(sed -n 482p data/blobs.csv | cut -d, -f6 | sed 's/0*$//')" ]

names=$(sqlite3 state/dagrun.db "select distinct name from metrics where node = 'mlp_blobs' order by name" | tr '\n' ' ')
expect "per-epoch and final metrics are in the state" \
	[ "$names" = "accuracy epoch_seconds log_loss macro_f1 macro_precision macro_recall train_loss val_loss " ]
expect "train_loss has one value per epoch" \
	[ "$(sqlite3 state/dagrun.db "select count(*) from metrics where node = 'mlp_rise' and name = 'train_loss'")" = 6 ]
names=$(sqlite3 state/dagrun.db "select distinct name from metrics where node = 'regress_blobs' and step is null order by name" | tr '\n' ' ')
expect "regression metrics are in the state" [ "$names" = "mae mse r2 rmse " ]
expect "a progress line per epoch in the log" \
	[ "$(grep -c 'epoch [0-9]*/30 train_loss' state/logs/1/mlp_blobs.log)" = 30 ]
for n in mlp_blobs softmax_blobs regress_blobs; do cp got/$n/model.safetensors "$WORK/$n.1"; done

run_dagrun pipelines/t.yaml
expect "an unchanged rerun is cached" contains "$ERR" "0 ran, 7 cached"
run_dagrun --salt again pipelines/t.yaml
expect "a salted rerun trains again" [ "$RC" -eq 0 ]
expect "MLP on 2 threads: same seed, same bytes" cmp -s "$WORK/mlp_blobs.1" got/mlp_blobs/model.safetensors
expect "softmax: same seed, same bytes" cmp -s "$WORK/softmax_blobs.1" got/softmax_blobs/model.safetensors
expect "MLP with dropout: same seed, same bytes" cmp -s "$WORK/regress_blobs.1" got/regress_blobs/model.safetensors

pipeline pipelines/t2.yaml "label: next, epochs: 60, patience: 2, learning_rate: 0.01, hidden: [8], save_init: true" \
	"shuffle_split: true, features: [x1, x2], epochs: 2, val_fraction: 0, standardize: false" \
	"features: [x1, x2], epochs: 3, optimizer: sgd, learning_rate: 0.5, batch_size: 1000" \
	"features: [x1, x2], hidden: [], epochs: 3"
git add -A && git commit -qm t2
run_dagrun pipelines/t2.yaml
expect "early stopping, shuffled split, sgd, a linear regressor (exit 0)" [ "$RC" -eq 0 ]
ran=$(jq .epochs_run got/mlp_rise/metrics.json)
best=$(jq .best_epoch got/mlp_rise/metrics.json)
expect "patience: training ends 2 epochs after the best" [ "$ran" -lt 60 -a $((ran - best)) -eq 2 ]
expect "save_init writes init.safetensors" [ -f got/mlp_rise/init.safetensors ]
expect "shuffle_split: the test rows come from the whole table" \
	[ "$(awk -F, 'NR > 1 && $1 < 300 { n++ } END { print (n > 20) }' got/mlp_blobs/predictions.csv)" = 1 ]
expect "val_fraction 0: train_loss stands in for val_loss" \
	[ "$(jq -r '[has("train_loss"), has("val_loss")] | map(tostring) | join(" ")' got/mlp_blobs/metrics.json)" = "true false" ]
expect "standardize false: the scaler is none" \
	[ "$(header got/mlp_blobs/model.safetensors | jq -r '.__metadata__.scaler | fromjson | .kind')" = none ]

check_bad() { # NAME 'MLP PARAMS' MESSAGE
	pipeline pipelines/bad.yaml "$2" "epochs: 1" "epochs: 1" "epochs: 1"
	run_dagrun pipelines/bad.yaml mlp_rise
	expect "$1: exit 2" [ "$RC" -eq 2 ]
	expect "$1: the message says what is wrong" contains "$ERR" "$3"
}
check_bad "unknown label column" "label: nope" "param 'label': 'rise' has no column 'nope' (expected one of: date, HUFL, HULL, MUFL, MULL, LUFL, LULL, next)"
check_bad "unknown feature column" "label: next, features: [HUFL, OT]" "param 'features': 'rise' has no column 'OT'"
check_bad "a string feature" "label: HUFL, objective: regress, features: [next]" \
	"param 'features': column 'next' of 'rise' holds strings (expected number columns only)"
check_bad "a float label for classify" "label: HUFL" "label 'HUFL' is 5.827 in row 1 of 'rise', not an integer"
check_bad "a string label for regress" "label: next, objective: regress" "label 'next' of 'rise' holds strings (expected numbers for objective regress)"
check_bad "hidden width 0" "label: next, hidden: [64, 0]" "param 'hidden' must be a list of at most 16 widths from 1 to 65536, found [64,0]"
check_bad "no test rows" "label: next, test_fraction: 0" "leave 15677 training and 0 test rows (expected at least one of each)"
check_bad "unknown activation" "label: next, activation: gelu" "must be one of relu|tanh, found 'gelu'"
check_bad "a missing label param" "epochs: 1" "task 'train.mlp' needs param 'label'"
check_bad "an unknown param" "label: next, layers: 2" "unknown param 'layers' for task 'train.mlp'"
# a class with a comma and quotes: quoted in predictions.csv (RFC 4180)
sed 's/,up$/,"up, ""really"""/' data/rise.csv > data/quoted.csv
pipeline pipelines/quoted.yaml "label: next, epochs: 1" "epochs: 1" "epochs: 1" "epochs: 1"
sed -i 's|data/rise.csv|data/quoted.csv|' pipelines/quoted.yaml
git add -A && git commit -qm quoted
run_dagrun pipelines/quoted.yaml
expect "a class with a comma trains (exit 0)" [ "$RC" -eq 0 ]
expect "... and is quoted in predictions.csv" \
	[ "$(head -1 got/mlp_rise/predictions.csv)" = 'row,timestamp,label,prediction,p_down,"p_up, ""really"""' ]
expect "... and is a class of its own in metrics.json" \
	[ "$(jq -c .classes got/mlp_rise/metrics.json)" = '["down","up, \"really\""]' ]
# one class: every row says "up"
sed 's/,down$/,up/' data/rise.csv > data/one.csv
sed 's|data/rise.csv|data/one.csv|' pipelines/t.yaml > pipelines/one.yaml
git add -A && git commit -qm one
run_dagrun pipelines/one.yaml mlp_rise
expect "a label with one class: exit 2" [ "$RC" -eq 2 ]
expect "a label with one class: the message says so" contains "$ERR" \
	"label 'next' has one class ('up') in 'rise' (expected at least two for objective classify)"
# groups and folds: blobs with a "day" column (24 hourly rows a day, 25
# days); a day never straddles two parts, and 5 folds test each day once
awk -F, 'NR == 1 { print $0 ",day"; next } { print $0 "," int((NR - 2) / 24) }' data/blobs.csv > data/days.csv
cat > pipelines/days.yaml <<YAML
pipeline: days
nodes:
  days: {task: data.load, params: {path: data/days.csv, timestamp: t}}
YAML
for f in 0 1 2 3 4; do
	echo "  mlp$f: {task: train.mlp, needs: [days], params: {label: cls, group: day, folds: 5, fold: $f, epochs: 2}}" >> pipelines/days.yaml
done
cat >> pipelines/days.yaml <<YAML
  shuffled: {task: train.softmax, needs: [days], params: {label: cls, group: day, shuffle_split: true, epochs: 2}}
  export:
    needs: [mlp0, mlp1, mlp2, mlp3, mlp4, shuffled]
    cmd: "rm -rf got && for n in mlp0 mlp1 mlp2 mlp3 mlp4 shuffled; do mkdir -p got/\$n && cp \$DAGRUN_IN/\$n/* got/\$n/; done && echo ok > \$DAGRUN_OUT/done"
YAML
git add -A && git commit -qm days
run_dagrun pipelines/days.yaml
expect "group and folds: train.mlp and train.softmax train (exit 0)" [ "$RC" -eq 0 ]
for f in 0 1 2 3 4; do tail -n +2 got/mlp$f/predictions.csv | cut -d, -f1; done | sort -n > "$WORK/tested"
expect "5 folds of days: every row is tested exactly once" [ "$(uniq "$WORK/tested" | wc -l) $(wc -l < "$WORK/tested")" = "600 600" ]
expect "5 folds of days: each fold tests 5 whole days" \
	[ "$(jq -s -c 'map(.split.groups.test)' got/mlp*/metrics.json) $(awk -F, 'NR > 1 { d[int($1 / 24)]++ } END { for (k in d) if (d[k] != 24) bad++; print bad + 0 }' got/mlp2/predictions.csv)" = "[5,5,5,5,5] 0" ]
expect "fold 2: the test days are the middle ones" \
	[ "$(tail -n +2 got/mlp2/predictions.csv | cut -d, -f1 | sort -n | sed -n '1p;$p' | tr '\n' ' ')" = "240 359 " ]
expect "the day column is not a feature" \
	[ "$(header got/mlp0/model.safetensors | jq -r '.__metadata__.features')" = '["x1","x2","noise","y"]' ]
expect "shuffle_split with a group: whole days, drawn from the whole table" \
	[ "$(awk -F, 'NR > 1 { d[int($1 / 24)]++ } END { m = 99; for (k in d) { n++; if (d[k] != 24) bad++; if (k + 0 < m) m = k + 0 } print n, bad + 0, (m < 20) }' got/shuffled/predictions.csv) $(jq -c .split.groups got/shuffled/metrics.json)" = '5 0 1 {"test":5,"train":17,"val":3}' ]
check_bad "an unknown group column" "label: next, group: game" "param 'group': 'rise' has no column 'game'"
check_bad "fold without folds" "label: next, fold: 2" "param 'fold' is 2 and 'folds' 0"
finish
