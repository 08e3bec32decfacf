#!/bin/sh
# dagrun predict NAME[@ALIAS] FILE.csv: the registry's model on new rows,
# with its own preprocessing; the same numbers as infer.batch on the same
# file; a rollback changes which version answers; bad input exits 2.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data pipelines
head -n 1201 "$ROOT/examples/data/ETTh1.csv" > data/train.csv
{ head -n 1 "$ROOT/examples/data/ETTh1.csv"; sed -n 1202,1260p "$ROOT/examples/data/ETTh1.csv"; } > data/new.csv
cat > pipelines/p.yaml <<'YAML'
pipeline: pred
nodes:
  ingest:
    task: data.load
    params: {path: data/train.csv, timestamp: date, target: OT}
  features:
    task: data.preprocess
    needs: [ingest]
    params: {target: OT, input_seq_len: 8, output_seq_len: 1, split: [0.7, 0.1, 0.2]}
  gru:
    task: train.gru
    needs: [features]
    params: {hidden_size: 8, num_layers: 1, epochs: 2, seed: 1}
  evaluate:
    task: eval.promote
    needs: [gru]
    params: {must_beat: []}
  batch:
    task: infer.batch
    needs: [evaluate]
    params: {csv: data/new.csv, timestamp: date}
  copy:
    needs: [batch]
    cmd: "cp $DAGRUN_IN/batch/predictions.csv batch.csv"
YAML
git add -A && git commit -qm init
run_dagrun pipelines/p.yaml
expect "train, promote and batch-predict (exit 0)" [ "$RC" -eq 0 ]
run_dagrun predict forecaster@production data/new.csv -o out.csv
expect "predict NAME@ALIAS FILE -o OUT: exit 0" [ "$RC" -eq 0 ]
expect "... says which version wrote what" contains "$ERR" "forecaster v1: wrote out.csv"
expect "... a header with timestamp and yhat" [ "$(head -n 1 out.csv | cut -d, -f1-2)" = "timestamp,yhat" ]
expect "... one row per window of 8 in 59 rows, and the next step: 52" [ "$(tail -n +2 out.csv | wc -l)" -eq 52 ]
expect "... the same yhat as infer.batch on the same file" \
	[ "$(cut -d, -f1-2 out.csv | md5sum)" = "$(cut -d, -f1-2 batch.csv | md5sum)" ]
run_dagrun predict forecaster data/new.csv
expect "NAME alone means @production, and without -o the CSV goes to stdout" \
	[ "$RC" -eq 0 -a "$(echo "$OUT" | cut -d, -f1-2 | md5sum)" = "$(cut -d, -f1-2 out.csv | md5sum)" ]
run_dagrun predict forecaster@1 data/new.csv
expect "NAME@VERSION works too" [ "$RC" -eq 0 ]

# a second version; rollback makes the first one answer again
run_dagrun pipelines/p.yaml --salt two
v2=$("$DAGRUN" predict forecaster data/new.csv 2>/dev/null | md5sum)
run_dagrun rollback forecaster production
v1=$("$DAGRUN" predict forecaster data/new.csv 2>/dev/null | md5sum)
expect "after a rollback, production is v1 again" [ "$(sqlite3 state/dagrun.db "SELECT version FROM aliases WHERE alias = 'production'")" = 1 ]
expect "... and predict answers with v1's numbers" [ "$v1" = "$(md5sum < out.csv)" ]

head -n 5 data/new.csv > data/short.csv
run_dagrun predict forecaster data/short.csv
expect "too few rows: exit 2" [ "$RC" -eq 2 ]
expect "... saying how many are needed" contains "$ERR" "9"
cut -d, -f1-3 data/new.csv > data/cols.csv
run_dagrun predict forecaster data/cols.csv
expect "a missing column: exit 2" [ "$RC" -eq 2 ]
expect "... naming the column" contains "$ERR" "OT"
run_dagrun predict nosuch data/new.csv
expect "an unknown model: exit 2" [ "$RC" -eq 2 ] && expect "... named" contains "$ERR" "no model 'nosuch'"
run_dagrun predict forecaster@canary data/new.csv
expect "an unknown alias: exit 2" [ "$RC" -eq 2 ] && expect "... named" contains "$ERR" "no alias 'canary'"
run_dagrun predict forecaster data/missing.csv
expect "a missing file: exit 2" [ "$RC" -eq 2 ]
run_dagrun predict forecaster
expect "a missing argument: exit 2" [ "$RC" -eq 2 ]
expect "no temp folder is left behind" [ -z "$(ls state/tmp | grep predict)" ]
finish
