#!/bin/sh
# Lua config escape attempts through the real ./dagrun (issue 9): each
# attempt is a pipeline whose `params:` file tries to reach the machine,
# bytecode or the host's tables, or to outrun the sandbox's budgets.
# Every one must be refused with exit 2 and a message naming the file and
# the line of the attempt, and none may cost over 2 s of CPU or 64 MB of
# memory beyond what dagrun uses for a config that fails at once.
# Measured with /usr/bin/time (%U+%S CPU seconds, %e elapsed, %M peak
# RSS); CPU time rather than elapsed so that a loaded machine does not
# fail the test.  A wall-clock limit cannot be judged by CPU time (under
# load it stops a config early), so an attempt stopped by "time limit
# exceeded (... within N s)" fails when N is over 2 s: on an idle machine
# it would run that long.  A run still going after 8 s is killed and fails.
. "$(dirname "$0")/lib.sh"
new_project
trap 'cd "$ROOT" && rm -rf "$WORK"' EXIT
mkdir -p cfg
TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=""
[ -n "$TIME" ] || echo "note: /usr/bin/time missing (apt-get install -y time): elapsed time only, memory not measured"
CPU_MAX=2.0
MEM_MAX_KB=65536
HANG_AFTER=8
worst_cpu=0
worst_mem=0

# measure NAME: run dagrun on cfg/NAME.yaml; sets RC, ERR, CPU, WALL, RSS.
measure() {
	if [ -n "$TIME" ]; then
		"$TIME" -f "%U %S %e %M" -o "$WORK/.time" timeout -s KILL "$HANG_AFTER" \
			"$DAGRUN" -q "cfg/$1.yaml" >"$WORK/.out" 2>"$WORK/.err"
		RC=$?
		set -- $(tail -n 1 "$WORK/.time")
		CPU=$(awk -v u="$1" -v s="$2" 'BEGIN { printf "%.2f", u + s }')
		WALL=$3
		RSS=$4
	else
		t0=$(date +%s.%N)
		timeout -s KILL "$HANG_AFTER" "$DAGRUN" -q "cfg/$1.yaml" >"$WORK/.out" 2>"$WORK/.err"
		RC=$?
		WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		CPU=$WALL
		RSS=0
	fi
	ERR=$(cat "$WORK/.err")
}

# setup NAME CODE: cfg/NAME.lua holds CODE on line 3, and cfg/NAME.yaml
# uses it as its params file.
setup() {
	printf -- '-- escape attempt: %s\nlocal ok = true\n%s\nreturn {ok = ok}\n' "$1" "$2" > "cfg/$1.lua"
	printf 'pipeline: sandbox\nparams: cfg/%s.lua\nnodes:\n  a: {cmd: "true"}\n' "$1" > "cfg/$1.yaml"
}

# The baseline: a config that fails before it allocates anything.
setup baseline 'error("stop here")'
measure baseline
BASE=$RSS
expect "baseline config fails with exit 2 at its line" [ "$RC" -eq 2 ]

# The N of "time limit exceeded (... within N s)", else 0.
wall_limit() {
	n=""
	case $1 in
	*"time limit exceeded"*) n=$(echo "$1" | sed -n 's/.*within \([0-9][0-9.]*\) s.*/\1/p' | head -n 1) ;;
	esac
	echo "${n:-0}"
}

# attempt NAME CODE WHAT: CODE must be refused, saying WHAT.
attempt() {
	setup "$1" "$2"
	measure "$1"
	over=$(awk -v r="$RSS" -v b="$BASE" 'BEGIN { print (r > b ? r - b : 0) }')
	worst_cpu=$(awk -v a="$worst_cpu" -v b="$CPU" 'BEGIN { print (b > a ? b : a) }')
	worst_mem=$(awk -v a="$worst_mem" -v b="$over" 'BEGIN { print (b > a ? b : a) }')
	figures="${CPU}s cpu, ${WALL}s, +$((over / 1024)) MB"
	if [ "$RC" -eq 137 ]; then
		fail "$1: refused in time" "still running after ${HANG_AFTER}s: killed ($figures)"
	elif [ "$RC" -ne 2 ]; then
		fail "$1: exits 2" "rc=$RC err=[$ERR]"
	elif ! contains "$ERR" "cfg/$1.lua:3: "; then
		fail "$1: names cfg/$1.lua:3" "err=[$ERR]"
	elif ! contains "$ERR" "$3"; then
		fail "$1: says '$3'" "err=[$ERR]"
	elif awk -v c="$CPU" -v m="$CPU_MAX" 'BEGIN { exit !(c > m) }'; then
		fail "$1: within ${CPU_MAX}s" "$figures: $ERR"
	elif awk -v n="$(wall_limit "$ERR")" -v m="$CPU_MAX" 'BEGIN { exit !(n > m) }'; then
		fail "$1: within ${CPU_MAX}s" "stopped by a $(wall_limit "$ERR") s wall-clock limit ($figures): $ERR"
	elif [ "$over" -gt "$MEM_MAX_KB" ]; then
		fail "$1: within 64 MB" "$figures: $ERR"
	else
		ok "$1 ($figures): $(echo "$ERR" | head -n 1 | cut -c1-90)"
	fi
}

# the machine
attempt io_open 'local f = io.open("/etc/passwd")' "'io' is not available"
attempt os_execute 'os.execute("touch /tmp/dagrun-sandbox-pwned")' "'os' is not available"
attempt os_exit 'os.exit(0)' "'os' is not available"
attempt require 'local m = require("os")' "'require' is not available"
attempt package_loadlib 'package.loadlib("libc.so.6", "system")' "'package' is not available"
attempt dofile 'dofile("/etc/passwd")' "'dofile' is not available"
attempt loadfile 'local f = loadfile("/etc/passwd")' "'loadfile' is not available"
attempt env_local 'local _ENV = {}; local f = io.open("/etc/passwd")' "attempt to index a nil value"
# bytecode
attempt string_dump 'local d = string.dump(print)' "'string.dump' is not available"
attempt string_method_dump 'local d = ("").dump(print)' "'string.dump' is not available"
attempt load_mode_b 'local f = load("\27LuaT\0", "x", "b")' "mode 'b' is not available"
attempt load_binary 'local f = assert(load("\27LuaT\0\25\147\13\10\26\10"))' "binary chunks are not available"
# the host's tables and hooks
attempt debug_sethook 'debug.sethook()' "'debug' is not available"
attempt debug_registry 'local r = debug.getregistry()' "'debug' is not available"
attempt string_metatable 'getmetatable("").__index.dump = 1' "attempt to index a boolean value"
attempt global_metatable 'setmetatable(_G, nil); io.open("/etc/passwd")' "protected metatable"
attempt rawget_io 'rawget(_G, "io").open("/etc/passwd")' "attempt to index a nil value"
attempt gc_finalizer 'setmetatable({}, {__gc = function() while true do end end})' "'__gc' is not available"
attempt collectgarbage 'collectgarbage("stop")' "collectgarbage('stop') is not available"
attempt error_tostring 'error(setmetatable({}, {__tostring = function() while true do end end}))' "error object is a table value"
# the instruction budget; under load the wall clock may stop a loop first:
# "instruction budget exceeded (...)" and "time limit exceeded (...)" are
# both refusals
BUDGET="exceeded ("
attempt endless_loop 'while true do end' "$BUDGET"
attempt goto_loop '::top:: goto top' "$BUDGET"
attempt pcall_loop 'while true do pcall(function() while true do end end) end' "$BUDGET"
attempt xpcall_handler 'xpcall(function() while true do end end, function() while true do end end) ok = false' "$BUDGET"
attempt coroutine_loop 'local co = coroutine.wrap(function() while true do end end) co()' "$BUDGET"
attempt coroutine_pingpong 'local co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end' "$BUDGET"
attempt tostring_loop 'local s = string.format("%s", setmetatable({}, {__tostring = function() while true do end end}))' "$BUDGET"
# memory and depth
attempt huge_rep 'local s = string.rep("x", 1 << 30)' "memory limit exceeded (64 MB)"
attempt doubling_string 'local s = "x" while true do s = s .. s end' "memory limit exceeded (64 MB)"
attempt table_growth 'local t = {} for i = 1, 1e9 do t[i] = i end' "memory limit exceeded (64 MB)"
attempt unpack_huge 'local u = table.unpack({}, 1, 1e8)' "too many results to unpack"
attempt deep_recursion 'local function f(n) return f(n + 1) + 1 end f(1)' "stack overflow"
attempt coroutine_recursion 'local function f() return coroutine.wrap(f)() end f()' "C stack overflow"
attempt index_recursion 'local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local v = t[1]' "stack overflow"
# long C calls, where the count hook cannot see
attempt slow_c_calls 'local s = ("x"):rep(1e7) while true do s:find("y", 1, true) end' "limit exceeded"
attempt table_move 'table.move({}, 1, 1e15, 2)' "limit exceeded"
attempt pattern_backtrack 'local i = string.find(("a"):rep(3000), (".-"):rep(30) .. "b")' "limit exceeded"

expect "nothing escaped: /tmp/dagrun-sandbox-pwned does not exist" [ ! -e /tmp/dagrun-sandbox-pwned ]
expect "no attempt created any state" [ ! -e state ]
echo "figures: worst ${worst_cpu}s cpu, worst +$((worst_mem / 1024)) MB over the baseline of $((BASE / 1024)) MB"
finish
