#!/bin/sh
# The flagship, pipelines/full.yaml with lua/hparams.lua, end to end on the
# bundled ETTh1 series: every node succeeds, the promoted model is a
# trained network that beats persistence and seasonal naive on the test
# windows, the registry holds it at forecaster@production, the batch
# predictions and the drift report exist, the report page is written, and
# a rerun does nothing.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p pipelines lua examples/data
cp "$ROOT/pipelines/full.yaml" pipelines/
cp "$ROOT"/lua/*.lua lua/
cp "$ROOT/examples/data/ETTh1.csv" examples/data/
git add -A && git commit -qm flagship
run_dagrun -j2 pipelines/full.yaml
expect "the flagship runs (exit 0)" [ "$RC" -eq 0 ]
m() { sqlite3 state/dagrun.db "SELECT value FROM metrics WHERE node = '$1' AND name = '$2' ORDER BY rowid DESC LIMIT 1"; }
winner=$(sqlite3 state/dagrun.db "SELECT v.node FROM aliases a JOIN model_versions v ON v.model = a.model AND v.version = a.version WHERE a.model = 'forecaster' AND a.alias = 'production'")
expect "forecaster@production is a trained network, not a baseline ($winner)" contains " train_gru train_lstm train_tcn train_encoder_lstm " " $winner "
expect "... whose test rmse beats persistence" awk -v a="$(m "$winner" rmse)" -v b="$(m persistence rmse)" 'BEGIN { exit !(a < b) }'
expect "... and seasonal naive" awk -v a="$(m "$winner" rmse)" -v b="$(m seasonal_naive rmse)" 'BEGIN { exit !(a < b) }'
expect "... and whose mae beats persistence's" awk -v a="$(m "$winner" mae)" -v b="$(m persistence mae)" 'BEGIN { exit !(a < b) }'
expect "the decision was promote" [ "$(sqlite3 state/dagrun.db "SELECT decision FROM promotions WHERE model = 'forecaster' AND alias = 'production' ORDER BY id DESC LIMIT 1")" = promote ]
run_dagrun show last predict
expect "the batch predictions are stored" contains "$OUT" "predictions.csv"
run_dagrun show last drift
expect "the drift report is stored" contains "$OUT" "drift.json"
run_dagrun report last -o report.html
expect "the report page is written" [ "$RC" -eq 0 -a -s report.html ]
expect "... with the scoreboard" contains "$(cat report.html)" "train_gru"
run_dagrun predict forecaster examples/data/ETTh1.csv -o p.csv
expect "dagrun predict answers with the promoted model" [ "$RC" -eq 0 -a "$(wc -l < p.csv)" -gt 17000 ]
run_dagrun pipelines/full.yaml
expect "a rerun does nothing" contains "$ERR" "0 ran"
finish
