#!/bin/sh
# Build the libFuzzer targets with clang and run each for a while.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS (default 60) is the time each target fuzzes; 0 only replays the
# seed corpus (a smoke test).  TARGETs are names such as fuzz_csv; the
# default is every target.  Each target starts from its seeds in
# tests/fuzz/corpus/<target>/ and grows a scratch corpus that is removed
# at the end (set FUZZ_CORPUS_DIR to keep it).  A crash, a hang (-timeout),
# a leak or any sanitizer report fails the target; its input is saved as
# build/fuzz/artifacts/<target>-crash-... for replay:
#   build/fuzz/<target> build/fuzz/artifacts/<file>
# Ends with "N passed, N failed" (one per target); exits 1 if any failed.
cd "$(dirname "$0")/../.." || exit 3
SECS=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-"fuzz_pipeline fuzz_csv fuzz_npy fuzz_lua_config fuzz_safetensors fuzz_serve_request"}
CC=${FUZZ_CC:-clang}
PKGS="yaml-0.1 lua5.4 sqlite3 jansson libgit2 libcurl openblas libcrypto liblbfgs xgboost libmicrohttpd"
OUT=build/fuzz
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dagrun-fuzz.XXXXXX") || exit 3
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM
pass=0
fail=0

# Sources per target, listed explicitly.  fuzz_pipeline also links
# tasks/registry.c, which names every kernel, so it takes every kernel and
# the shared numeric code with it (tasks/*/*.c): that list grows as
# kernels land, and a glob keeps this script from breaking each time.
COMMON="engine/err.c engine/strbuf.c engine/xalloc.c"
src_fuzz_csv="tasks/lib/csv.c tasks/lib/timeparse.c $COMMON"
src_fuzz_npy="tasks/lib/npy.c engine/fs.c $COMMON"
src_fuzz_safetensors="tasks/lib/safetensors.c engine/fs.c $COMMON"
src_fuzz_lua_config="engine/luabox.c engine/fs.c $COMMON"
# the loader reaches most of the engine (events, webhooks, URL sources,
# the kernels' schemas): link all of it but main()
src_fuzz_pipeline="$(ls engine/*.c | grep -v '^engine/main.c$' | sort)
	tasks/registry.c $(ls tasks/*/*.c tasks/lib/*.c | sort -u)"
# fuzz_serve_request loads a model with tasks/lib/forecaster.c, which
# reaches most of the shared numeric code: all of tasks/lib (and kctx.c,
# which its training helpers report through), for the same reason.
src_fuzz_serve_request="engine/serve_body.c engine/serve_split.c engine/fs.c engine/kctx.c
	$COMMON $(ls tasks/lib/*.c | sort)"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: '$CC' not found (apt-get install -y clang-14 libclang-rt-14-dev)"
	echo "0 passed, 1 failed"
	exit 1
fi
# -Wno-unknown-pragmas: tasks/lib/tensor.h asks GCC for "optimize" pragmas,
# which clang does not know and ignores.
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-Wall -Wextra -Werror -Wno-unused-parameter -Wno-unknown-pragmas
	-iquote engine -iquote tasks/lib
	$(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"

# Dictionaries: the words that open the parsers' deeper paths.
dicts() {
	cat > "$SCRATCH/fuzz_pipeline.dict" <<'DICT'
"pipeline:"
"params:"
"nodes:"
"task:"
"needs:"
"cmd:"
"script:"
"deps:"
"matrix:"
"retries:"
"timeout:"
"resources:"
"cpus:"
"mem_mb:"
"gpus:"
"nondeterministic:"
"description:"
"executor:"
"${gru}"
"${gru.layers}"
"${n}"
"$${"
"cfg.lua"
"data.csv"
"glue.lua"
"data.load"
"shell"
"lua"
"&a"
"*a"
"<<:"
"!!map"
"- "
": "
"{"
"}"
"["
"]"
DICT
	cat > "$SCRATCH/fuzz_lua_config.dict" <<'DICT'
"return"
"local"
"function"
"end"
"while"
"repeat"
"until"
"for"
"in"
"do"
"goto"
"::"
"pcall"
"xpcall"
"error"
"load"
"setmetatable"
"getmetatable"
"rawget"
"rawset"
"coroutine.wrap"
"coroutine.yield"
"coroutine.resume"
"string.rep"
"string.format"
"string.gsub"
"string.find"
"table.concat"
"table.unpack"
"table.sort"
"table.insert"
"utf8.char"
"math.huge"
"__index"
"__newindex"
"__call"
"__tostring"
"__len"
"__concat"
"__close"
"<close>"
"<const>"
"_ENV"
"_G"
"..."
DICT
	cat > "$SCRATCH/fuzz_npy.dict" <<'DICT'
"\x93NUMPY\x01\x00"
"'descr'"
"'fortran_order'"
"'shape'"
"'<f8'"
"'<f4'"
"'<i8'"
"False"
"True"
"(1,)"
", }"
DICT
	cat > "$SCRATCH/fuzz_safetensors.dict" <<'DICT'
"\"dtype\""
"\"shape\""
"\"data_offsets\""
"\"__metadata__\""
"\"F32\""
"\"F64\""
"\"I64\""
"\"BF16\""
"\"U8\""
DICT
	cat > "$SCRATCH/fuzz_serve_request.dict" <<'DICT'
"{\"rows\": ["
"\"timestamp\""
"\"t\""
"\"a\""
"\"OT\""
"null"
"true"
"1e308"
"-0"
"\"2024-01-01T00:00:00Z\""
"\"2024-01-01 01:00:00\""
"\"1700000000\""
"timestamp,a,OT"
"t,a,OT"
"2024-01-01T02:00:00+02:00"
"\x0d\x0a"
"application/json"
"text/csv"
"production=90,challenger=10"
DICT
	cat > "$SCRATCH/fuzz_csv.dict" <<'DICT'
"\"\""
"\x0d\x0a"
"\xef\xbb\xbf"
"NA"
"NaN"
"null"
"N/A"
"inf"
"1e308"
"2020-01-01T00:00:00Z"
"+02:00"
"1600000000.5"
DICT
}

build() { # $1: target
	eval "srcs=\$src_$1"
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$OUT/$1" "tests/fuzz/$1.c" $srcs $LIBS \
		>"$OUT/$1.build.log" 2>&1
}

run_target() { # $1: target
	t=$1
	log=$OUT/$t.log
	corpus=${FUZZ_CORPUS_DIR:+$FUZZ_CORPUS_DIR/$t}
	corpus=${corpus:-$SCRATCH/corpus-$t}
	mkdir -p "$corpus" "$OUT/artifacts"
	if [ "$SECS" -eq 0 ]; then
		set -- -runs=0 "tests/fuzz/corpus/$t"
	else
		set -- -max_total_time="$SECS" "$corpus" "tests/fuzz/corpus/$t"
	fi
	# -timeout: above the Lua sandbox's 5 s wall clock, with ASan's slowdown
	TMPDIR=$SCRATCH \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$OUT/$t" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-dict="$SCRATCH/$t.dict" -artifact_prefix="$OUT/artifacts/$t-" \
		"$@" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	units=$(ls "$corpus" 2>/dev/null | wc -l)
	if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
		echo "ok   $t: ${execs:-?} executions in ${SECS}s (${rate:-?}/s), corpus +$units"
	else
		echo "FAIL $t (exit $rc): see $log"
		grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written|^    #[0-9] ' "$log" | head -n 20 | sed 's/^/     /'
	fi
}

# The built targets run FUZZ_JOBS at a time (default 2, one per core of
# the CI machine); each writes its verdict to OUT/TARGET.result.
JOBS=${FUZZ_JOBS:-2}
running=0
ready=""

mkdir -p "$OUT"
dicts
for t in $TARGETS; do
	if [ ! -f "tests/fuzz/$t.c" ]; then
		fail=$((fail + 1))
		echo "FAIL $t: no tests/fuzz/$t.c"
		continue
	fi
	if [ "$t" = fuzz_safetensors ] && [ ! -f tasks/lib/safetensors.h ]; then
		echo "skip $t: tasks/lib/safetensors.h does not exist yet"
		continue
	fi
	if ! build "$t"; then
		fail=$((fail + 1))
		echo "FAIL $t: does not build (see $OUT/$t.build.log)"
		head -n 20 "$OUT/$t.build.log" | sed 's/^/     /'
		continue
	fi
	ready="$ready $t"
done
for t in $ready; do
	run_target "$t" > "$OUT/$t.result" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait
		running=0
	fi
done
wait
for t in $ready; do
	cat "$OUT/$t.result"
	if grep -q '^ok ' "$OUT/$t.result"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
