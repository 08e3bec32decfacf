#!/bin/sh
# Every malformed pipeline in malformed/ exits 2 with file:line:col and
# what was expected (malformed/expect.txt), and creates no run or object.
. "$(dirname "$0")/lib.sh"
new_project
cp "$ROOT"/tests/integration/malformed/* .
git add -A >/dev/null 2>&1 && git commit -qm init
while IFS='|' read -r file where what; do
	run_dagrun "$file"
	if [ "$RC" -ne 2 ]; then
		fail "$file exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$where"; then
		fail "$file names $where" "err=[$ERR]"
	elif [ -n "$what" ] && ! contains "$ERR" "$what"; then
		fail "$file says '$what'" "err=[$ERR]"
	else
		ok "$file: $where ... $what"
	fi
done < expect.txt
expect "no malformed pipeline created any state" [ ! -e state ]
# all errors at once
cat > many.yaml <<'YAML'
nodes:
  a: {cmd: "true", need: [b]}
  b: {task: nope}
  c: {cmd: "true", needs: [zz]}
YAML
run_dagrun many.yaml
expect "all errors are reported at once" [ "$(printf '%s\n' "$ERR" | grep -c '^many.yaml:')" -ge 2 ]
expect "the error count is given" contains "$ERR" "errors"
finish
