#!/bin/sh
# dagrun gc: keeps what the last runs reach, frees the rest, and the
# freed nodes simply run again; refuses while a run is in progress.
. "$(dirname "$0")/lib.sh"
new_project
cat > p.yaml <<'YAML'
nodes:
  a: {cmd: "cat v > $DAGRUN_OUT/a.txt", deps: [v]}
  b: {needs: [a], cmd: "cat $DAGRUN_IN/a/a.txt $DAGRUN_IN/a/a.txt > $DAGRUN_OUT/b.txt"}
YAML
git add -A && git commit -qm init
for i in 1 2 3 4; do echo $i > v; "$DAGRUN" -q p.yaml; done
objects() { find state/objects -type f | wc -l; }
before=$(objects)
run_dagrun gc -n --keep-last 2
expect "a dry run removes nothing" [ "$(objects)" -eq "$before" ]
expect "a dry run reports what it would free" contains "$OUT" "would remove 8 objects"
run_dagrun gc --keep-last 2 --json
expect "gc removes the objects of old runs" sh -c "printf '%s' '$OUT' | jq -e '.objects_removed == 8 and .cache_entries_dropped == 4 and .log_folders_removed == 2' >/dev/null"
expect "the kept runs' objects remain" [ "$(objects)" -eq 8 ]
echo 3 > v
run_dagrun p.yaml
expect "a kept run's outputs are still cached" contains "$ERR" "2 cached"
echo 1 > v
run_dagrun p.yaml
expect "a collected run's nodes run again" contains "$ERR" "2 ran"
expect "integrity check ok after gc" [ "$(sqlite3 state/dagrun.db 'PRAGMA integrity_check')" = "ok" ]
cat > slow.yaml <<'YAML'
nodes:
  s: {cmd: "sleep 3"}
YAML
"$DAGRUN" -q slow.yaml 2>/dev/null & pid=$!
sleep 0.5
run_dagrun gc
expect "gc refuses while a run is in progress" [ "$RC" -eq 2 ]
expect "and says why" contains "$ERR" "in progress"
kill -INT $pid; wait $pid 2>/dev/null
run_dagrun gc --keep-last 0
expect "a bad --keep-last exits 2" [ "$RC" -eq 2 ]
finish
