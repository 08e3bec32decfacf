#!/bin/sh
# data.load from an http:// URL through a local HTTP server: the content
# hash enters the key, an unchanged file is revalidated with If-None-Match
# (a 304, no transfer) and stays cached, a changed file reruns the node, a
# server error falls back to the copy fetched before, a 404 or an
# unreachable server without a copy is a clear error, and nothing is left
# half-written.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p srv pipelines
printf 'ts,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,4\n' > srv/series.csv
/usr/bin/python3 "$ROOT/tests/integration/http_file_server.py" srv "$WORK/port" "$WORK/http.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
i=0
while [ ! -f "$WORK/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$WORK/port")
URL=http://127.0.0.1:$PORT
pipeline() {
	cat > pipelines/p.yaml <<YAML
pipeline: fetch
nodes:
  ingest:
    task: data.load
    params: {path: "$1", timestamp: ts, target: value}
  show:
    needs: [ingest]
    cmd: "jq -r '.rows' \$DAGRUN_IN/ingest/schema.json > rows.txt && jq -r .source \$DAGRUN_IN/ingest/schema.json > source.txt"
YAML
}
pipeline "$URL/series.csv"
git add -A && git commit -qm init
gets() { grep -c "^GET /series.csv $1" "$WORK/http.log"; }

run_dagrun pipelines/p.yaml
expect "a URL source loads (exit 0)" [ "$RC" -eq 0 ]
expect "... all 3 rows" [ "$(cat rows.txt)" = 3 ]
expect "... the schema names the URL as its source" [ "$(cat source.txt)" = "$URL/series.csv" ]
expect "... one GET with a 200" [ "$(gets 200)" = 1 ]
expect "the content hash is in the key" [ "$(sqlite3 state/dagrun.db "SELECT doc FROM keys" | grep -c "$URL/series.csv")" -ge 1 ]

run_dagrun pipelines/p.yaml
expect "unchanged: the rerun is cached" contains "$ERR" "cached"
expect "... after a conditional GET answered 304" [ "$(gets 304)" = 1 -a "$(gets 200)" = 1 ]
run_dagrun -n pipelines/p.yaml
expect "unchanged: -n plans nothing to run" [ "$RC" -eq 0 ]

printf 'ts,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,4\n2024-01-04,8\n' > srv/series.csv
run_dagrun pipelines/p.yaml
expect "changed on the server: the node reruns" [ "$RC" -eq 0 -a "$(cat rows.txt)" = 4 ]
expect "... with a new 200" [ "$(gets 200)" = 2 ]

echo 500 > srv/series.csv.status
run_dagrun pipelines/p.yaml
expect "server error: exit 0 with the copy fetched before" [ "$RC" -eq 0 -a "$(cat rows.txt)" = 4 ]
expect "... and a warning" contains "$ERR" "using the copy fetched before"
rm srv/series.csv.status

pipeline "$URL/missing.csv"
run_dagrun pipelines/p.yaml
expect "a 404: exit 2" [ "$RC" -eq 2 ]
expect "... naming the URL and the status" contains "$ERR" "missing.csv': HTTP 404"

# a port nothing listens on: one the kernel just handed out and took back
FREE=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pipeline "http://127.0.0.1:$FREE/nothing.csv"
run_dagrun pipelines/p.yaml
expect "no server and no copy: exit 3" [ "$RC" -eq 3 ]
expect "... naming the URL" contains "$ERR" "cannot fetch 'http://127.0.0.1:$FREE/nothing.csv'"

pipeline "ftp://example.com/x.csv"
run_dagrun pipelines/p.yaml
expect "another scheme: exit 2 before anything runs" [ "$RC" -eq 2 ]
expect "... with the pipeline's line" contains "$ERR" "p.yaml:5"
expect "no temp file is left behind" [ -z "$(ls state/tmp 2>/dev/null | grep -- -dl-)" ]
kill $SERVER 2>/dev/null
finish
