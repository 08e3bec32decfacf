#!/bin/sh
# dagrun report through the real binary: a run of ETTh1 with data.load,
# train.prophet (its forecast and residuals), drift.report, eval.promote
# (scoreboard and registry), a shell node with loss curves, a failing
# shell node whose log holds markup, and a node skipped after it; then a
# cached rerun and a no-op run.  The page must be one offline file: no
# URL, one <svg> per chart, every node named, markup escaped, the same
# bytes for the same state.  Where chromium is installed the page is also
# opened headless: no console message, every chart drawn with a non-empty
# box, no resource loaded, and a screenshot in tests/tmp/t_report/.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data
cp "$ROOT/examples/data/ETTh1.csv" data/etth1.csv
# the data and the forecast, shared by p.yaml and ok.yaml
FORECAST='  ingest:
    task: data.load
    params: {path: data/etth1.csv, timestamp: date, target: OT}
  prophet:
    task: train.prophet
    needs: [ingest]
    params: {uncertainty_samples: 100, test_fraction: 0.05, seed: 1}'
{ printf 'pipeline: report\nnodes:\n%s\n' "$FORECAST"; cat <<'YAML'
  naive:
    cmd: >-
      echo '{"rmse": 4.0, "mae": 3.5, "mse": 16.0}' > $DAGRUN_OUT/metrics.json &&
      echo '{"type": "test"}' > $DAGRUN_OUT/model.json
  evaluate:
    task: eval.promote
    needs: [prophet, naive]
    params: {must_beat: [], model: etth1}
  drift:
    task: drift.report
    needs: [ingest]
    params: {reference_rows: 4000, current_rows: 1000}
  curves:
    cmd: >-
      for e in 1 2 3 4 5 6; do
      echo "{\"name\":\"train_loss\",\"step\":$e,\"value\":$(awk "BEGIN{print 2/$e}")}";
      echo "{\"name\":\"val_loss\",\"step\":$e,\"value\":$(awk "BEGIN{print 2.5/$e+0.1}")}";
      done >> $DAGRUN_METRICS
  summary:
    needs: [prophet]
    cmd: "ls $DAGRUN_IN/prophet > $DAGRUN_OUT/files.txt"
  broken:
    cmd: "echo '<script>alert(1)</script> & boom' >&2; exit 3"
  after_broken: {needs: [broken], cmd: "true"}
YAML
} > p.yaml
git add -A && git commit -qm init
run_dagrun -k -q p.yaml
expect "the run: one node fails, the rest finish (exit 1)" [ "$RC" -eq 1 ]

run_dagrun report 1 -o out1.html
expect "report exits 0" [ "$RC" -eq 0 ]
expect "... and says where it wrote" contains "$ERR" "out1.html"
H=$(cat out1.html 2>/dev/null)
expect "no URL of any kind" sh -c "! grep -Eq 'https?://|src=|@import' out1.html"
# graph 1, training curves 1, forecast 1, residuals 2, drift 1
expect "one <svg> per chart: 6" [ "$(grep -o '<svg' out1.html | wc -l)" -eq 6 ]
expect "... each closed" [ "$(grep -o '</svg>' out1.html | wc -l)" -eq 6 ]
missing=
for n in ingest prophet naive evaluate drift curves summary broken after_broken; do
	grep -q ">$n<" out1.html || missing="$missing $n"
done
expect "every node is named${missing:+ (missing:$missing)}" [ -z "$missing" ]
expect "the failed node's log is shown, escaped" \
	contains "$H" "&lt;script&gt;alert(1)&lt;/script&gt; &amp; boom"
expect "no markup from the state gets through" sh -c "! grep -q '<script' out1.html"
for s in graph nodes training promotion forecasts residuals drift metrics; do
	expect "section $s" contains "$H" "<section id=\"$s\">"
done
expect "statuses: done, failed, skipped" sh -c "grep -q 'node s-done' out1.html &&
	grep -q 'node s-failed' out1.html && grep -q 'node s-skipped' out1.html"
expect "the skipped node says why" contains "$H" "needs broken, which failed"
expect "edges of the graph: 6" [ "$(grep -o 'class="edge"' out1.html | wc -l)" -eq 6 ]
expect "the scoreboard: prophet and naive ranked" \
	sh -c "grep -q '<td>prophet</td><td>prophet</td>' out1.html && grep -q '<td>naive</td><td>test</td>' out1.html"
expect "the registry's versions of etth1" contains "$H" "Registry: model etth1"
expect "the decision" contains "$H" "Decision <span class=\"badge d-promote\">promote"
expect "the drift health badge" grep -Eq 'badge h-(ok|warn|bad)">(Healthy|Degraded|Critical)' out1.html
expect "prophet's final metrics" grep -q '<td>prophet</td><td>rmse</td>' out1.html
expect "the run's git commit" contains "$H" "$(git rev-parse HEAD)"

run_dagrun report last
expect "default file report.html, for 'last'" [ "$RC" -eq 0 -a -f report.html ]
expect "the same state gives the same bytes" cmp -s out1.html report.html
run_dagrun report 99
expect "an unknown run: exit 2" [ "$RC" -eq 2 ] && expect "... named" contains "$ERR" "no run '99'"
run_dagrun report
expect "no run given: exit 2" [ "$RC" -eq 2 ]
run_dagrun report 1 -o no/such/dir/r.html
expect "an unwritable file: exit 3" [ "$RC" -eq 3 ]

# a rerun: cached nodes keep their charts, from the run that made them
run_dagrun -k -q p.yaml
run_dagrun report 2 -o out2.html
expect "cached rerun: the report exits 0" [ "$RC" -eq 0 ]
expect "... cached nodes point at run 1" contains "$(cat out2.html)" "outputs of run 1"
expect "... with the same 6 charts" [ "$(grep -o '<svg' out2.html | wc -l)" -eq 6 ]

# a no-op run (nothing changed, run recorded as the same as another)
printf 'pipeline: ok\nnodes:\n%s\n' "$FORECAST" > ok.yaml
git add -A && git commit -qm ok
run_dagrun -q ok.yaml
run_dagrun -q ok.yaml
same=$(sqlite3 state/dagrun.db "SELECT id FROM runs WHERE same_as IS NOT NULL ORDER BY id DESC LIMIT 1")
run_dagrun report "${same:-0}" -o noop.html
expect "a no-op run's report shows the run it repeated" \
	contains "$(cat noop.html 2>/dev/null)" "nothing changed, every node cached"
expect "... with its forecast" [ "$(grep -o '<svg' noop.html | wc -l)" -eq 4 ]

# the browser: chromium where installed (CI: TEST_DEB_PKGS)
CHROMIUM=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHROMIUM" ]; then
	echo "skip the browser checks: chromium is not installed"
	echo "skip the screenshot: chromium is not installed"
	finish
	exit $?
fi
chrome() { timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
	--hide-scrollbars --user-data-dir="$WORK/.chrome" "$@"; }
# The page runs no script; a copy gets one that measures every chart.
sed 's|</body>|<script>var s = document.querySelectorAll("svg"), e = 0;\
for (var i = 0; i < s.length; i++) { var b = s[i].getBBox(); if (!(b.width > 0 \&\& b.height > 0)) e++; }\
document.body.setAttribute("data-check", s.length + " svgs, " + e + " empty, " +\
performance.getEntriesByType("resource").length + " loads");</script></body>|' out1.html > check.html
chrome --enable-logging=stderr --v=0 --dump-dom "file://$WORK/check.html" > dom.html 2> chrome.log
expect "chromium renders every chart with a non-empty box, loading nothing" \
	grep -q 'data-check="6 svgs, 0 empty, 0 loads"' dom.html
expect "no console message" sh -c "! grep -q 'CONSOLE' chrome.log"
chrome --screenshot="$WORK/report.png" --window-size=1280,4000 "file://$WORK/out1.html" \
	>/dev/null 2>&1
expect "a screenshot (tests/tmp/t_report/report.png)" [ -s report.png ]
finish
