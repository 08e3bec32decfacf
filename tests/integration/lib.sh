# Shared helpers for integration tests: source it, call 'ok' / 'fail' or
# the expect_* helpers, and end with 'finish'.  Each test file works in its
# own scratch project under tests/tmp/<name>, with its own git repository
# so that the project root and lineage are real.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DAGRUN=${DAGRUN:-$ROOT/dagrun}
T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
WORK=$ROOT/tests/tmp/$T_NAME

ok()   { T_PASS=$((T_PASS + 1)); echo "ok   $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $1"; [ -n "$2" ] && echo "     $2"; }

# A fresh project folder with an initialised git repository; cd into it.
new_project() {
	rm -rf "$WORK"
	mkdir -p "$WORK"
	cd "$WORK" || exit 3
	git init -q .
	git config user.email t@example.com
	git config user.name test
}

# run_dagrun ARGS...: runs dagrun, leaving OUT, ERR and RC.
run_dagrun() {
	"$DAGRUN" "$@" >"$WORK/.out" 2>"$WORK/.err"
	RC=$?
	OUT=$(cat "$WORK/.out")
	ERR=$(cat "$WORK/.err")
}

# expect NAME CONDITION-COMMAND...: ok if the command succeeds.
expect() {
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "rc=$RC out=[$OUT] err=[$ERR]"; fi
}

contains() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }

finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# eval_pipeline FILE EVAL-PARAMS NODE-LINES...: a pipeline called
# ${PIPELINE:-reg} of the given nodes, then 'evaluate' (eval.promote)
# needing $NEEDS with EVAL-PARAMS, and 'copy' putting its outputs in got/.
eval_pipeline() {
	f=$1 params=$2
	shift 2
	{ echo "pipeline: ${PIPELINE:-reg}"; echo "nodes:"; printf '%s\n' "$@"
	  echo "  evaluate:"
	  echo "    task: eval.promote"
	  printf '    needs: [%s]\n' "$NEEDS"
	  echo "    params: {$params}"
	  echo "  copy:"
	  echo "    needs: [evaluate]"
	  echo "    cmd: \"rm -rf got && cp -r \$DAGRUN_IN/evaluate got\""
	} > "$f"
}
