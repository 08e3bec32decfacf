#!/bin/sh
# A tampered object (issue 9): objects are verified by hash when they are
# handed to a node; a modified one is detected, reported, and rebuilt by
# the next run.
. "$(dirname "$0")/lib.sh"
new_project
trap 'cd "$ROOT" && rm -rf "$WORK"' EXIT
mkdir -p pipelines
cat > pipelines/two.yaml <<'YAML'
pipeline: tamper
nodes:
  first: {cmd: "echo first > $DAGRUN_OUT/a.txt; echo data > $DAGRUN_OUT/b.txt"}
  second: {needs: [first], cmd: "cat $DAGRUN_IN/first/a.txt $DAGRUN_IN/first/b.txt > $DAGRUN_OUT/c.txt"}
YAML
git add -A && git commit -qm init
db() { sqlite3 state/dagrun.db "$1"; }
obj() { echo "state/objects/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-)"; }
# file_hash NODE PATH: the hash of output PATH in NODE's cached manifest
file_hash() {
	m=$(db "SELECT outputs FROM cache WHERE node = '$1' ORDER BY run_id DESC LIMIT 1")
	jq -r --arg p "$2" '.files[] | select(.path == $p) | .hash' "$(obj "$m")"
}

run_dagrun pipelines/two.yaml
expect "the first run succeeds" [ "$RC" -eq 0 ]
h=$(file_hash first a.txt)
o=$(obj "$h")
expect "first's a.txt is an object" [ -f "$o" ]
expect "objects are read-only (0444)" [ "$(stat -c %a "$o")" = 444 ]
chmod u+w "$o"
echo "tampered" > "$o"

run_dagrun --force second pipelines/two.yaml
expect "the run that meets the tampered object fails" [ "$RC" -ne 0 ]
case $RC in
1|2|3) ok "and does not crash (exit $RC)" ;;
*) fail "and does not crash (exit 1, 2 or 3)" "rc=$RC err=[$ERR]" ;;
esac
if contains "$ERR" "modified" || contains "$ERR" "does not match"; then
	ok "the tamper is reported"
else
	fail "the tamper is reported (\"modified\" or \"does not match\")" "rc=$RC err=[$ERR]"
fi
expect "the report names the output" contains "$ERR" "a.txt"
expect "second was not recorded as done" [ "$(db "SELECT count(*) FROM node_runs WHERE node = 'second' AND status = 'done' AND run_id = (SELECT max(id) FROM runs)")" = 0 ]
expect "no tampered content was passed on" [ -z "$(grep -rl tampered state/objects 2>/dev/null | grep -v "^$o$")" ]

run_dagrun pipelines/two.yaml
expect "the next run succeeds" [ "$RC" -eq 0 ]
expect "it rebuilt the first node" [ "$(db "SELECT status FROM node_runs WHERE node = 'first' AND run_id = (SELECT max(id) FROM runs)")" = "done" ]
expect "the object is whole again" [ "$(sha256sum "$o" 2>/dev/null | cut -c1-64)" = "$h" ]
c=$(file_hash second c.txt)
expect "second's output is correct" [ "$(cat "$(obj "$c")" 2>/dev/null)" = "$(printf 'first\ndata')" ]
expect "integrity check ok" [ "$(db 'PRAGMA integrity_check')" = ok ]
finish
