#!/bin/sh
# data.load through the real binary: a good CSV becomes .npy columns and
# schema.json (copied out by a shell node, as any consumer would see it);
# each malformed CSV exits 2 naming file:line:col and what was expected,
# and leaves nothing behind; the policies order, merge and fill rows.
. "$(dirname "$0")/lib.sh"
new_project
mkdir -p data bad pipelines

# A pipeline reading 'path' with extra params '$2', and a node that copies
# data.load's outputs to got/ in the project, where this test looks.
pipeline() { # FILE PATH [PARAMS]
	cat > "$1" <<YAML
pipeline: load
nodes:
  ingest:
    task: data.load
    params: {path: $2${3:+, $3}}
  copy:
    needs: [ingest]
    cmd: "rm -rf got && mkdir got && cp \$DAGRUN_IN/ingest/* got/ && ls got > \$DAGRUN_OUT/files.txt"
YAML
}

printf 'timestamp,value,city\n2024-01-02 00:00:00,2.5,"Paris, FR"\n2024-01-01 00:00:00,1.5,Rome\n2024-01-03,NA,\n' > data/good.csv
pipeline pipelines/good.yaml data/good.csv "missing: interpolate"
git add -A && git commit -qm init

run_dagrun pipelines/good.yaml
expect "a good CSV loads (exit 0)" [ "$RC" -eq 0 ]
expect "schema.json is written" [ -f got/schema.json ]
expect "one .npy per number column" [ -f got/timestamp.npy -a -f got/value.npy ]
expect "strings are a JSON list" [ "$(cat got/city.json 2>/dev/null)" = '["Rome","Paris, FR"]' ]
expect "the trailing missing value is dropped" [ "$(jq .rows got/schema.json)" = 2 ]
expect "dropped_rows counts it" [ "$(jq .dropped_rows got/schema.json)" = 1 ]
expect "the schema names the timestamp file" \
	[ "$(jq -r '.columns[0].file' got/schema.json)" = timestamp.npy ]
expect "timestamp.npy is int64, sorted" \
	[ "$(head -c 60 got/timestamp.npy | tail -c 50 | cut -c1-16)" = "{'descr': '<i8'," ]
expect "timestamp.npy holds 2 rows" [ "$(wc -c < got/timestamp.npy)" -eq $((128 + 16)) ]
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	v=$(/usr/bin/python3 -c 'import numpy as n; print(n.load("got/timestamp.npy").tolist(), n.load("got/value.npy").tolist())')
	expect "numpy reads the rows in time order" [ "$v" = "[1704067200, 1704153600] [1.5, 2.5]" ]
fi
run_dagrun pipelines/good.yaml
expect "an unchanged CSV is cached" contains "$ERR" "2 cached"
printf '2024-01-04,4,Oslo\n' >> data/good.csv
run_dagrun pipelines/good.yaml
expect "an edited CSV reloads" [ "$RC" -eq 0 -a "$(jq .rows got/schema.json)" = 4 ]

# The malformed corpus: file | params | file:line:col | what was expected.
printf 'timestamp,value\n2024-01-01,1\n2024-01-02,2,3\n' > bad/ragged.csv
printf 'timestamp,value\n2024-01-01,1\n2024-01-02\n' > bad/short.csv
printf 'timestamp,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n2024-01-04,abc\n' > bad/number.csv
printf 'timestamp,value\n2024-13-01,1\n' > bad/month.csv
printf 'timestamp,value\n2023-02-29,1\n' > bad/leap.csv
printf 'timestamp,value\n2024-01-01T00:00:00+25:00,1\n' > bad/zone.csv
printf 'timestamp,value\n2024-01-01,"1\n2024-01-02,2\n' > bad/unterminated.csv
printf 'timestamp,value\n2024-01-01,"1"x\n' > bad/after_quote.csv
printf 'timestamp,value\n2024-01-01,1"2\n' > bad/inner_quote.csv
printf 'timestamp,value\n2024-01-01,1\n2024\0-01-02,2\n' > bad/binary.csv
: > bad/empty.csv
printf 'timestamp,value\n' > bad/header_only.csv
printf 'timestamp,value,value\n2024-01-01,1,2\n' > bad/dup_header.csv
printf 'timestamp,value\n2024-01-02,1\n2024-01-01,2\n' > bad/unsorted.csv
printf 'timestamp,value\n2024-01-01,1\n2024-01-01,2\n' > bad/duplicate.csv
printf 'timestamp,value\n2024-01-01,1\n2024-01-02,\n' > bad/missing.csv
printf 'timestamp,value\n,1\n' > bad/missing_time.csv
printf 'date,value\n2024-01-01,1\n' > bad/no_time_column.csv
printf 'timestamp,value,s\n2024-01-01,1,\377\376\n' > bad/utf8.csv
cat > bad/expect.txt <<'EOF'
ragged.csv||bad/ragged.csv:3:1:|expected 2 fields, found 3
short.csv||bad/short.csv:3:1:|expected 2 fields, found 1
number.csv||bad/number.csv:5:12:|expected a number in column 'value', found 'abc'
month.csv||bad/month.csv:2:1:|expected a timestamp
leap.csv||bad/leap.csv:2:1:|found '2023-02-29'
zone.csv||bad/zone.csv:2:1:|expected a timestamp
unterminated.csv||bad/unterminated.csv:2:12:|unterminated quoted field
after_quote.csv||bad/after_quote.csv:2:15:|after a closing quote
inner_quote.csv||bad/inner_quote.csv:2:13:|unexpected '"'
binary.csv||bad/binary.csv:3:5:|NUL byte
empty.csv||bad/empty.csv:1:1:|expected a header row
header_only.csv||bad/header_only.csv:2:1:|expected data rows
dup_header.csv||bad/dup_header.csv:1:17:|duplicate column name 'value'
unsorted.csv|unsorted: error|bad/unsorted.csv:3:1:|earlier than the one on line 2
duplicate.csv|duplicates: error|bad/duplicate.csv:3:1:|duplicate timestamp
missing.csv||bad/missing.csv:3:12:|missing value in column 'value'
missing_time.csv||bad/missing_time.csv:2:1:|missing timestamp
no_time_column.csv||bad/no_time_column.csv:1:1:|no column 'timestamp'
utf8.csv||bad/utf8.csv:2:14:|invalid UTF-8
EOF
git add -A && git commit -qm corpus
while IFS='|' read -r file params where what; do
	pipeline pipelines/bad.yaml "bad/$file" "$params"
	rm -rf got
	run_dagrun pipelines/bad.yaml
	if [ "$RC" -ne 2 ]; then
		fail "$file exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "$where" || ! contains "$ERR" "$what"; then
		fail "$file: $where $what" "err=[$ERR]"
	elif [ -e got ]; then
		fail "$file leaves nothing behind" "got/ exists"
	else
		ok "$file: $where ... $what"
	fi
done < bad/expect.txt

# The same files load under the forgiving policies.
printf 'timestamp,value\n2024-01-03,6\n2024-01-01,1\n2024-01-01,3\n2024-01-02,\n' > data/messy.csv
git add -A && git commit -qm messy
pipeline pipelines/messy.yaml data/messy.csv "duplicates: mean, missing: interpolate"
run_dagrun pipelines/messy.yaml
expect "messy data loads under mean + interpolate" [ "$RC" -eq 0 -a "$(jq .rows got/schema.json)" = 3 ]
expect "one value is filled" [ "$(jq .filled got/schema.json)" = 1 ]
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	v=$(/usr/bin/python3 -c 'import numpy as n; print(n.load("got/value.npy").tolist())')
	expect "mean of duplicates, then a line between neighbours" [ "$v" = "[2.0, 4.0, 6.0]" ]
fi
# Gaps: a row every hour with two missing, under keep, fill and error.
printf 'ts,value,name\n2024-01-01T00:00:00Z,1,a\n2024-01-01T01:00:00Z,2,b\n2024-01-01T04:00:00Z,5,c\n2024-01-01T05:00:00Z,6,d\n' > data/gaps.csv
git add -A && git commit -qm gaps
pipeline pipelines/gaps.yaml data/gaps.csv "timestamp: ts, gaps: fill, missing: interpolate"
run_dagrun pipelines/gaps.yaml
expect "gaps: fill inserts the 2 missing hours" [ "$RC" -eq 0 -a "$(jq .rows got/schema.json)" = 6 ]
expect "... a string column gets null there" [ "$(cat got/name.json)" = '["a","b",null,null,"c","d"]' ]
expect "... and the inserted_rows metric says 2" [ "$(sqlite3 state/dagrun.db "SELECT value FROM metrics WHERE name = 'inserted_rows' ORDER BY rowid DESC LIMIT 1")" = 2.0 ]
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	v=$(/usr/bin/python3 -c 'import numpy as n; print(n.load("got/value.npy").tolist(), n.diff(n.load("got/timestamp.npy")).tolist())')
	expect "... values interpolated on the hour grid" [ "$v" = "[1.0, 2.0, 3.0, 4.0, 5.0, 6.0] [3600, 3600, 3600, 3600, 3600]" ]
fi
pipeline pipelines/gaps.yaml data/gaps.csv "timestamp: ts, gaps: fill, missing: ffill, step: 1800"
run_dagrun pipelines/gaps.yaml
expect "gaps: fill with step: 1800 makes a half-hour grid (11 rows)" [ "$RC" -eq 0 -a "$(jq .rows got/schema.json)" = 11 ]
pipeline pipelines/gaps.yaml data/gaps.csv "timestamp: ts, gaps: keep"
run_dagrun pipelines/gaps.yaml
expect "gaps: keep leaves the 4 rows" [ "$RC" -eq 0 -a "$(jq .rows got/schema.json)" = 4 ]
pipeline pipelines/gaps.yaml data/gaps.csv "timestamp: ts, gaps: error"
run_dagrun pipelines/gaps.yaml
expect "gaps: error exits 2" [ "$RC" -eq 2 ]
expect "... at the row after the gap, with both times" contains "$ERR" "data/gaps.csv:4:1: a gap of 2 missing steps"
pipeline pipelines/gaps.yaml data/gaps.csv "timestamp: ts, gaps: fill"
run_dagrun pipelines/gaps.yaml
expect "gaps: fill under missing: error exits 2, saying what goes with it" contains "$ERR" "expected missing: ffill, interpolate or drop"
pipeline pipelines/gaps.yaml data/gaps.csv "timestamp: null"
run_dagrun pipelines/gaps.yaml
expect "timestamp: null loads a table without a time column" [ "$RC" -eq 0 -a "$(jq -r .timestamp got/schema.json)" = null ]
expect "... ts is then a string column" [ -f got/ts.json ]
finish
