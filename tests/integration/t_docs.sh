#!/bin/sh
# docs/tasks.md is generated from the kernels' schemas and must be current;
# `dagrun help TASK` prints the same params.
. "$(dirname "$0")/lib.sh"
mkdir -p "$WORK"
cd "$ROOT" || exit 3
"$DAGRUN" help --markdown > "$ROOT/tests/tmp/tasks.md"
if cmp -s "$ROOT/tests/tmp/tasks.md" docs/tasks.md; then
	ok "docs/tasks.md matches the kernels (regenerate with: make docs)"
else
	fail "docs/tasks.md is out of date: run 'make docs'" "$(diff docs/tasks.md "$ROOT/tests/tmp/tasks.md" | head -5)"
fi
run_dagrun help tasks
expect "help tasks lists data.load" contains "$OUT" "data.load"
run_dagrun help data.load
expect "help TASK prints each param" contains "$OUT" "missing"
expect "help TASK prints choices" contains "$OUT" "drop|ffill|interpolate|error"
run_dagrun help no.such.task
expect "help of an unknown task exits 2" [ "$RC" -eq 2 ]
finish
