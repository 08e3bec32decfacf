#!/bin/sh
# The engine core, end to end: a 3-node shell pipeline, its cache, early
# cutoff, deps, salt, dry run and the state afterwards.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p pipelines scripts
echo "hello" > scripts/input.txt
cat > pipelines/p.yaml <<'YAML'
pipeline: three
nodes:
  a:
    cmd: "cat scripts/input.txt > $DAGRUN_OUT/a.txt; echo a >> $WORK_LOG"
    deps: [scripts/input.txt]
  b:
    needs: [a]
    cmd: "tr a-z A-Z < $DAGRUN_IN/a/a.txt > $DAGRUN_OUT/b.txt; echo b >> $WORK_LOG"
  c:
    needs: [b]
    cmd: "wc -c < $DAGRUN_IN/b/b.txt > $DAGRUN_OUT/c.txt; echo c >> $WORK_LOG"
YAML
git add -A && git commit -qm init
export WORK_LOG=$WORK/ran.log
ran() { tr '\n' ' ' < "$WORK_LOG" 2>/dev/null; }

: > "$WORK_LOG"
run_dagrun pipelines/p.yaml
expect "first run exits 0" [ "$RC" -eq 0 ]
expect "first run runs a, b, c" [ "$(ran)" = "a b c " ]
expect "state db exists" [ -f state/dagrun.db ]

: > "$WORK_LOG"
run_dagrun pipelines/p.yaml
expect "rerun exits 0" [ "$RC" -eq 0 ]
expect "rerun runs nothing" [ "$(ran)" = "" ]
expect "rerun reports 3 cached" contains "$ERR" "3 cached"
expect "an unchanged rerun takes the no-op fast path" contains "$ERR" "nothing changed since run 1"
run_dagrun show last --json
expect "show of a no-op run lists its nodes as cached" sh -c "printf '%s' '$OUT' | jq -e '.same_as == 1 and ([.nodes[].status] == [\"cached\",\"cached\",\"cached\"])' >/dev/null"
touch scripts/input.txt
: > "$WORK_LOG"
run_dagrun pipelines/p.yaml
expect "a touched dep leaves the fast path but reruns nothing" [ "$(ran)" = "" ]
expect "a touched dep: keys checked, all cached" contains "$ERR" "3 nodes, 0 ran, 3 cached"

# editing b's cmd reruns b and c only
sed -i 's/echo b >> \$WORK_LOG/echo b >> $WORK_LOG; true/' pipelines/p.yaml
: > "$WORK_LOG"
run_dagrun -n pipelines/p.yaml
expect "dry run runs nothing" [ "$(ran)" = "" ]
expect "dry run says b's code changed" contains "$OUT" "run     b (code changed)"
expect "dry run says c waits on b" contains "$OUT" "c (needs b, which will run)"
expect "dry run says a is cached" contains "$OUT" "cached  a"
run_dagrun pipelines/p.yaml
expect "edited cmd reruns b, and c is cut off early" [ "$(ran)" = "b " ]

# a byte-identical upstream rerun leaves dependents cached
: > "$WORK_LOG"
run_dagrun --force a pipelines/p.yaml
expect "forced a reruns only a (early cutoff)" [ "$(ran)" = "a " ]

# editing a dep file reruns its node and what depends on it
echo "world" > scripts/input.txt
: > "$WORK_LOG"
run_dagrun -n -v pipelines/p.yaml
expect "dry run names the dep file" contains "$OUT" "dep file scripts/input.txt changed"
run_dagrun pipelines/p.yaml
expect "dep change reruns a, b, c" [ "$(ran)" = "a b c " ]
run_dagrun show last c
expect "show names c's output object" contains "$OUT" "c.txt"
obj=$(echo "$OUT" | awk '/ c.txt /{print $3}')
expect "c's output holds the byte count of WORLD" [ "$(cat "$obj" 2>/dev/null)" = "6" ]

# salt: a new lineage, everything reruns
: > "$WORK_LOG"
run_dagrun --salt exp2 pipelines/p.yaml
expect "salt reruns everything" [ "$(ran)" = "a b c " ]
: > "$WORK_LOG"
run_dagrun --salt exp2 pipelines/p.yaml
expect "same salt again is cached" [ "$(ran)" = "" ]

# target selection: only what 'b' needs
: > "$WORK_LOG"
run_dagrun --force-all pipelines/p.yaml b
expect "a target runs only its needs" [ "$(ran)" = "a b " ]

# explain
run_dagrun explain pipelines/p.yaml b
expect "explain prints the key" contains "$OUT" "key "
expect "explain prints the parts" contains "$OUT" "params"
sed -i 's/; true/; true; true/' pipelines/p.yaml
run_dagrun explain pipelines/p.yaml b
expect "explain marks the changed code" contains "$OUT" "* code"

# runs and show, with --json
run_dagrun runs --json
expect "runs --json is JSON with runs" sh -c "echo '$OUT' | jq -e 'length >= 7' >/dev/null"
run_dagrun show last --json
expect "show --json has nodes" sh -c "echo '$OUT' | jq -e '.nodes | length == 2' >/dev/null"
expect "show records the git commit" sh -c "echo '$OUT' | jq -e '.git_commit | length == 40' >/dev/null"
expect "integrity check ok" [ "$(sqlite3 state/dagrun.db 'PRAGMA integrity_check')" = "ok" ]
expect "no claims left" [ "$(sqlite3 state/dagrun.db 'SELECT count(*) FROM claims')" = "0" ]
expect "no work folders left" [ -z "$(ls state/tmp 2>/dev/null)" ]

# --json events: one object per line, ending with the summary
run_dagrun --json --force-all pipelines/p.yaml
expect "--json prints one JSON object per line" sh -c "printf '%s\n' '$OUT' | jq -e -s 'length >= 7' >/dev/null"
expect "--json ends with the run summary" sh -c "printf '%s\n' '$OUT' | tail -n 1 | jq -e '.event == \"end\" and .ran == 3' >/dev/null"
run_dagrun -n --json pipelines/p.yaml
expect "-n --json lists every node" sh -c "printf '%s' '$OUT' | jq -e '.nodes | length == 3' >/dev/null"

# make install puts the binary where PREFIX says
rm -rf "$WORK/inst"
make -s -C "$ROOT" install PREFIX="$WORK/inst" >/dev/null 2>&1
expect "make install installs a working binary" sh -c "'$WORK/inst/bin/dagrun' version | grep -q dagrun"
finish
