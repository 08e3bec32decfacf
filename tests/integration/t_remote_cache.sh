#!/bin/sh
# The remote cache (--cache-url, DAGRUN_CACHE_URL) against a small server
# in bazel-remote's layout (remote_cache_server.py): a run uploads its
# outputs and action results; another project with a fresh state fetches
# them instead of running (the nodes' side-effect file proves it) and gets
# byte-identical outputs; an object the remote already has is not sent
# again; a corrupt object, a server answering 500, a manifest naming a path
# outside its folder and a server that is down all degrade to running the
# nodes locally, with one warning, exit 0 and nothing corrupt stored.
. "$(dirname "$0")/lib.sh"
new_project
SRV=$WORK/srv
SIDE=$WORK/side
export SIDE
mkdir -p "$SRV" "$SIDE"
unset DAGRUN_CACHE_URL DAGRUN_STATE

SERVER=
start_server() { # extra switches of remote_cache_server.py
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	rm -f "$WORK/port"
	/usr/bin/python3 "$ROOT/tests/integration/remote_cache_server.py" "$SRV" \
		"$WORK/port" "$WORK/http.log" "$@" &
	SERVER=$!
	i=0
	while [ ! -f "$WORK/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	URL=http://127.0.0.1:$(cat "$WORK/port")
}
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null' EXIT

# project NAME: a fresh copy of one project (same files, so same keys)
project() {
	mkdir -p "$WORK/$1/pipelines" && cd "$WORK/$1" || exit 3
	git init -q . && git config user.email t@example.com && git config user.name t
	printf 'ts,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,4\n' > series.csv
	cat > pipelines/p.yaml <<'YAML'
pipeline: remote
nodes:
  make:
    cmd: |
      echo ran >> "$SIDE/make.ran"
      printf 'hello\n' > "$DAGRUN_OUT/a.txt"
      mkdir -p "$DAGRUN_OUT/sub" && seq 1 5000 > "$DAGRUN_OUT/sub/b.txt"
      printf '#!/bin/sh\necho hi\n' > "$DAGRUN_OUT/run.sh" && chmod +x "$DAGRUN_OUT/run.sh"
  use:
    needs: [make]
    cmd: |
      echo ran >> "$SIDE/use.ran"
      wc -l < "$DAGRUN_IN/make/sub/b.txt" > "$DAGRUN_OUT/count.txt"
  ingest:
    task: data.load
    params: {path: series.csv, timestamp: ts, target: value}
YAML
	git add -A && git commit -qm init
}
runs() { cat "$SIDE/$1.ran" 2>/dev/null | wc -l; }
# every object in this project's store holds what its name says
store_sound() {
	for f in $(find state/objects -type f); do
		h=$(sha256sum "$f" | cut -c1-64)
		[ "$h" = "$(basename "$(dirname "$f")")$(basename "$f")" ] || return 1
	done
	return 0
}
outputs() { sqlite3 state/dagrun.db "SELECT node || '=' || outputs FROM node_runs WHERE run_id = (SELECT max(run_id) FROM node_runs) ORDER BY node"; }
warnings() { printf '%s\n' "$ERR" | grep -c 'warning: remote cache'; }

start_server

# --- a first project runs and uploads ----------------------------------
project a
run_dagrun --cache-url "$URL" pipelines/p.yaml
expect "first project: runs (exit 0)" [ "$RC" -eq 0 -a "$(runs make)" = 1 -a "$(runs use)" = 1 ]
expect "... uploads an action result per node" [ "$(ls "$SRV/ac" | wc -l)" = 3 ]
expect "... and every object: the manifests and the files" \
	[ "$(ls "$SRV/cas" | wc -l)" -ge 9 ]
acs_known() { # each action result: a key of the cache, with its outputs hash
	for k in "$SRV"/ac/*; do
		[ "$(sqlite3 state/dagrun.db "SELECT outputs FROM cache WHERE key = \
			'$(basename "$k")'")" = "$(cat "$k")" ] || return 1
	done
}
expect "... each action result is the key's outputs hash" acs_known
expect "... HEAD before each PUT of an object" \
	[ "$(grep -c '^HEAD /cas/' "$WORK/http.log")" -ge "$(grep -c '^PUT /cas/' "$WORK/http.log")" ]
A_OUT=$(outputs)

# --- a second project fetches instead of running -----------------------
project b
DAGRUN_CACHE_URL=$URL run_dagrun pipelines/p.yaml
expect "second project: exit 0" [ "$RC" -eq 0 ]
expect "... no node ran (side-effect files unchanged)" [ "$(runs make)" = 1 -a "$(runs use)" = 1 ]
expect "... all 3 nodes cached" contains "$ERR" "0 ran, 3 cached"
expect "... the same outputs hashes as the first project" [ "$(outputs)" = "$A_OUT" ]
same=yes
for f in $(cd state/objects && find . -type f); do
	cmp -s "state/objects/$f" "$WORK/a/state/objects/$f" || same=no
done
expect "... outputs byte-identical to the first project's objects" [ "$same" = yes ]
expect "... an executable output keeps its mode in the manifest" \
	[ "$(cat state/objects/*/* | grep -c '"exec":true,"hash"')" -ge 1 ]
run_dagrun show last
expect "dagrun show names the remote cache as the reason" \
	[ "$(printf '%s\n' "$OUT" | grep -c 'cached.*from the remote cache')" = 3 ]
run_dagrun show last --json
expect "... also in --json" contains "$OUT" '"reason": "from the remote cache"'
run_dagrun pipelines/p.yaml
expect "without the remote, the fetched results are cached locally" \
	[ "$RC" -eq 0 -a "$(runs make)" = 1 ] && contains "$ERR" "0 ran, 3 cached"
run_dagrun --cache-url "$URL" pipelines/p.yaml use
expect "... and its inputs link from the local store" [ "$RC" -eq 0 ]

# --- what the remote has is not sent again -----------------------------
cd "$WORK/a" || exit 3
puts=$(grep -c '^PUT /cas/' "$WORK/http.log")
run_dagrun --cache-url "$URL" --force make pipelines/p.yaml
expect "a forced rerun with the same outputs: exit 0" [ "$RC" -eq 0 -a "$(runs make)" = 2 ]
expect "... sends no object again (HEAD found each)" \
	[ "$(grep -c '^PUT /cas/' "$WORK/http.log")" = "$puts" ]
expect "... but its action result again" [ "$(grep -c "^PUT /ac/" "$WORK/http.log")" -ge 4 ]

# --- a corrupt object: runs locally, stores nothing corrupt --------------
start_server --corrupt objects
project c
run_dagrun --cache-url "$URL" pipelines/p.yaml
expect "corrupt objects: exit 0" [ "$RC" -eq 0 ]
expect "... the nodes ran locally" [ "$(runs make)" = 3 -a "$(runs use)" = 2 ]
expect "... one warning naming the hash mismatch" \
	[ "$(warnings)" = 1 ] && contains "$ERR" "does not match its hash"
expect "... every stored object matches its hash" store_sound
expect "... the local outputs are the same" [ "$(outputs)" = "$A_OUT" ]

# --- a manifest that names a path outside its folder ----------------------
start_server
KEY=$(sqlite3 "$WORK/a/state/dagrun.db" "SELECT key FROM node_runs WHERE node = 'use' LIMIT 1")
BAD='{"files":[{"exec":false,"hash":"'$(printf 'x' | sha256sum | cut -c1-64)'","path":"../../escaped","size":1}]}'
printf 'x' > "$SRV/cas/$(printf 'x' | sha256sum | cut -c1-64)"
BADH=$(printf '%s' "$BAD" | sha256sum | cut -c1-64)
printf '%s' "$BAD" > "$SRV/cas/$BADH"
cp "$SRV/ac/$KEY" "$WORK/good-ac"
printf '%s' "$BADH" > "$SRV/ac/$KEY"
project d
run_dagrun --cache-url "$URL" pipelines/p.yaml
expect "an unsafe manifest: exit 0, the node ran locally" \
	[ "$RC" -eq 0 -a "$(runs use)" = 3 -a "$(runs make)" = 3 ]
expect "... with a warning" contains "$ERR" "unsafe paths"
expect "... nothing escaped" [ ! -e "$WORK/d/escaped" -a ! -e "$WORK/d/state/escaped" ]
cp "$WORK/good-ac" "$SRV/ac/$KEY"

# --- a server answering 500 -----------------------------------------------
start_server --status 500
project e
run_dagrun --cache-url "$URL" pipelines/p.yaml
expect "HTTP 500: exit 0, the nodes ran locally" [ "$RC" -eq 0 -a "$(runs make)" = 4 ]
expect "... one warning" [ "$(warnings)" = 1 ] && contains "$ERR" "HTTP 500"
expect "... asked once, then left alone for the run" [ "$(grep -c ' 500$' "$WORK/http.log")" = 1 ]

# --- the server is down -------------------------------------------------
kill "$SERVER" 2>/dev/null
wait "$SERVER" 2>/dev/null
SERVER=
project f
t0=$(date +%s)
run_dagrun --cache-url "$URL" pipelines/p.yaml
t1=$(date +%s)
expect "server down: exit 0, the nodes ran locally" [ "$RC" -eq 0 -a "$(runs make)" = 5 ]
expect "... one warning" [ "$(warnings)" = 1 ]
expect "... within the connect timeout" [ $((t1 - t0)) -lt 10 ]
expect "... nothing half-written in the store" store_sound

# --- a bad URL is a usage error -------------------------------------------
run_dagrun --cache-url ftp://example.com/c pipelines/p.yaml
expect "--cache-url ftp://...: exit 2" [ "$RC" -eq 2 ] && contains "$ERR" "bad --cache-url"
DAGRUN_CACHE_URL=nonsense run_dagrun pipelines/p.yaml
expect "DAGRUN_CACHE_URL=nonsense: exit 2" [ "$RC" -eq 2 ]
finish
