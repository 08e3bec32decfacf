#!/bin/sh
# examples/serving/lifecycle.sh at a small size: train, serve, and under a
# wrk load test retrain with --salt (a new version takes production) and
# roll back, the server swapping each in without a failed request.
# Checked: the script's exit 0, its summary (requests answered, 0 failed,
# the versions served in order v1, v3, v1, the swaps counted), and the
# registry after it.  Skipped (exit 0) only when wrk is not installed.
. "$(dirname "$0")/lib.sh"
if ! command -v wrk >/dev/null 2>&1; then
	echo "skipped: wrk not installed (apt-get install wrk)"
	echo "0 passed, 0 failed"
	exit 0
fi
new_project

LIFECYCLE_SECONDS=2 LIFECYCLE_CONNECTIONS=4 LIFECYCLE_DIR="$WORK/out" DAGRUN="$DAGRUN" \
	sh "$ROOT/examples/serving/lifecycle.sh" >"$WORK/lifecycle.out" 2>"$WORK/lifecycle.err"
RC=$?
OUT=$(cat "$WORK/lifecycle.out")
expect "lifecycle.sh: exit 0" [ "$RC" -eq 0 ] || { cat "$WORK/lifecycle.out" "$WORK/lifecycle.err"; }
field() { sed -n "s/^  $1 *//p" "$WORK/lifecycle.out"; }
reqs=$(field requests | cut -d' ' -f1)
expect "the load ran throughout ($reqs requests)" [ "${reqs:-0}" -ge 200 ]
expect "... not one failed" [ "$(field failed)" = "0 (0 non-2xx, 0 socket errors)" ]
expect "the server served v1, then the retrained v3, then v1 after the rollback" \
	[ "$(field served | sed 's/ from [0-9.]* s//g')" = "v1, v3, v1" ]
expect "... each move seen by the server" \
	[ "$(grep -c 'the server serves it: yes' "$WORK/lifecycle.out")" -eq 2 ]
swaps=$(field swaps | cut -d' ' -f1)
expect "... and counted in its metrics ($swaps swaps)" [ "${swaps:-0}" -ge 2 ]
expect "the server ended cleanly on SIGTERM" [ "$(field 'server exit')" = "0 (SIGTERM)" ]
prod=$(DAGRUN_STATE="$WORK/out/state" "$DAGRUN" models forecaster --json |
	jq -r '.[] | select((.aliases // "") | split(",") | index("production")) | .version')
expect "the registry: production back at v1, 4 versions" \
	[ "$prod" = 1 -a "$(DAGRUN_STATE="$WORK/out/state" "$DAGRUN" models forecaster --json | jq length)" = 4 ]
finish
