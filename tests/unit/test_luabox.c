/* Unit tests for luabox: config values, errors with file:line, escape
 * attempts (each in a child process with a watchdog, timed and with its
 * memory growth measured), the glue API and its path confinement. */
#include "err.h"
#include "fs.h"
#include "luabox.h"
#include "test.h"
#include "tmpdir.h"
#include "xalloc.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What an escape attempt may cost before it is refused: 2 s, and the
 * config cap of 64 MB on Lua's heap plus 1 MB for the host's own buffers
 * (the source text, paths, the error) */
#define ESCAPE_MAX_SECONDS 2.0
#define ESCAPE_MAX_BYTES ((long)65 << 20)
/* 30 s: a child still running then has escaped the budget; kill it */
#define WATCHDOG_SECONDS 30

static char *make_tmpdir(void)
{
	char *dir = xstrdup("/tmp/dagrun-luabox-XXXXXX");

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	return dir;
}

static void remove_tmpdir(char *dir)
{
	struct err err;

	err_init(&err);
	fs_remove_tree(dir, &err);
	free(dir);
}


/* Contents of 'dir'/'rel', or NULL; the caller frees it. */
static char *get_file(const char *dir, const char *rel)
{
	char *path = fs_join(dir, rel), *text = NULL;
	struct err err;

	err_init(&err);
	if (fs_read_file(path, &text, NULL, &err))
		text = NULL;
	free(path);
	return text;
}

/* Evaluate 'src' as the config "lua/t.lua". */
static int eval_src(const char *src, json_t **out, struct err *err)
{
	char *dir = make_tmpdir(), *path = fs_join(dir, "t.lua");
	int rc;

	put_file(dir, "t.lua", src);
	err_init(err);
	rc = luabox_eval_config(path, "lua/t.lua", out, err);
	free(path);
	remove_tmpdir(dir);
	return rc;
}

/* ---- escape attempts, each in a child ------------------------------------ */

/* The child's peak heap growth.  Under ASan, resident memory says little
 * (freed blocks wait in quarantine, redzones pad each block), so count live
 * heap bytes with the sanitizer's allocation hooks; without it, the peak
 * resident set will do. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
static long heap_live, heap_peak;

int __sanitizer_install_malloc_and_free_hooks(
	void (*malloc_hook)(const volatile void *, size_t),
	void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static void on_malloc(const volatile void *p, size_t n)
{
	heap_live += (long)n;
	if (heap_live > heap_peak)
		heap_peak = heap_live;
}

static void on_free(const volatile void *p)
{
	if (p)
		heap_live -= (long)__sanitizer_get_allocated_size(p);
}

static void heap_watch(void)
{
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}

static long heap_growth(void)
{
	return heap_peak;
}
#else
static long resident_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * sysconf(_SC_PAGESIZE);
}

static long heap_base;

static void heap_watch(void)
{
	heap_base = resident_bytes();
}

static long heap_growth(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss * 1024L - heap_base;
}
#endif

struct attempt {
	int rc;
	int kind;
	double seconds;    /* the evaluation alone, measured in the child */
	long growth;       /* peak heap bytes beyond the start */
	int crashed;       /* no report: died, or killed by the watchdog */
	char msg[2048];
};

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void child_eval(const char *src, int fd)
{
	struct attempt a;
	struct err err;
	json_t *out = NULL;
	double t0;

	memset(&a, 0, sizeof(a));
	alarm(WATCHDOG_SECONDS);
	heap_watch();
	t0 = now_seconds();
	a.rc = eval_src(src, &out, &err);
	a.seconds = now_seconds() - t0;
	a.growth = heap_growth();
	a.kind = err.kind;
	memcpy(a.msg, err.msg, sizeof(a.msg) - 1);   /* cut, still NUL-ended */
	json_decref(out);
	if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
		_exit(3);
	close(fd);
	exit(0);    /* not _exit: let LeakSanitizer check the failure paths */
}

/* Evaluate 'src' in a child: a sandbox that fails to stop it cannot hang or
 * crash the test run, and the child's memory is its own. */
static void attempt_config(const char *src, struct attempt *a)
{
	int fds[2], status = 0;
	pid_t pid;

	memset(a, 0, sizeof(*a));
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		perror("fork");
		abort();
	}
	if (pid == 0) {
		close(fds[0]);
		child_eval(src, fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], a, sizeof(*a)) != (ssize_t)sizeof(*a))
		a->crashed = 1;
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		a->crashed = 1;
}

/* 1 if 'msg' starts with Lua's "source:line: ". */
static int has_position(const char *msg)
{
	const char *p = strchr(msg, ':');

	if (!p || p == msg || p[1] < '0' || p[1] > '9')
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		;
	return p[0] == ':' && p[1] == ' ';
}

/* The escape in 'src' is refused with an ERR_USER naming the file, line and
 * 'reason', quickly and within the memory cap.  LUABOX_SHOW_ESCAPES=1 in
 * the environment prints every attempt's time and memory. */
static void refused(const char *src, const char *reason)
{
	struct attempt a;

	attempt_config(src, &a);
	if (getenv("LUABOX_SHOW_ESCAPES") || a.crashed || a.rc != -1 || a.seconds >= ESCAPE_MAX_SECONDS ||
	    a.growth >= ESCAPE_MAX_BYTES || !strstr(a.msg, reason))
		fprintf(stderr, "  escape: %s\n  -> rc %d, %.2f s, %ld KB, "
			"crashed %d: %s\n", src, a.rc, a.seconds,
			a.growth >> 10, a.crashed, a.msg);
	ASSERT(!a.crashed);
	ASSERT_EQ(a.rc, -1);
	ASSERT_EQ(a.kind, ERR_USER);
	ASSERT(has_position(a.msg));
	ASSERT_CONTAINS(a.msg, reason);
	ASSERT(a.seconds < ESCAPE_MAX_SECONDS);
	ASSERT(a.growth < ESCAPE_MAX_BYTES);
}

#define NOT_IN_SANDBOX "is not available in the config sandbox"

TEST(escape_io_open)
{
	refused("local f = io.open('/etc/passwd')\nreturn {f:read('a')}",
		"lua/t.lua:1: 'io' " NOT_IN_SANDBOX);
}

TEST(escape_io_popen)
{
	refused("return {io.popen('id'):read('a')}", "'io' " NOT_IN_SANDBOX);
}

TEST(escape_os_execute)
{
	refused("os.execute('touch /tmp/pwned')", "'os' " NOT_IN_SANDBOX);
}

TEST(escape_os_getenv)
{
	refused("return {home = os.getenv('HOME')}", "'os' " NOT_IN_SANDBOX);
}

TEST(escape_require)
{
	refused("local io = require('io')", "'require' " NOT_IN_SANDBOX);
}

TEST(escape_package_loadlib)
{
	refused("package.loadlib('libc.so.6', 'system')",
		"'package' " NOT_IN_SANDBOX);
}

TEST(escape_dofile)
{
	refused("dofile('/etc/passwd')", "'dofile' " NOT_IN_SANDBOX);
}

TEST(escape_loadfile)
{
	refused("loadfile('/etc/passwd')", "'loadfile' " NOT_IN_SANDBOX);
}

TEST(escape_load_mode_b)
{
	refused("load('return 1', 'x', 'b')", "mode 'b' is not available");
}

TEST(escape_load_binary_chunk)
{
	/* a forged 5.4 header: the bytes string.dump would have produced */
	refused("local f = load('\\27Lua\\x54\\0\\x19\\x93\\r\\n\\x1a\\n'"
		" .. string.rep('\\0', 64))\nreturn {f()}",
		"lua/t.lua:1: load: binary chunks are not available");
}

TEST(escape_load_binary_chunk_text_mode)
{
	refused("load('\\27Lua', 'x', 't', _ENV)", "binary chunks are not available");
}

TEST(escape_string_dump)
{
	refused("return {string.dump(print)}",
		"'string.dump' is not available in the dagrun sandbox");
}

TEST(escape_string_method_dump)
{
	refused("local s = 'x'\nreturn {s.dump(function() end)}",
		"lua/t.lua:2: 'string.dump' is not available");
}

TEST(escape_debug_getinfo)
{
	refused("return {debug.getinfo(1)}", "'debug' " NOT_IN_SANDBOX);
}

TEST(escape_debug_sethook)
{
	refused("debug.sethook()", "'debug' " NOT_IN_SANDBOX);
}

TEST(escape_string_metatable_index)
{
	refused("return {getmetatable('').__index.dump(print)}",
		"attempt to index a boolean value");
}

TEST(escape_string_metatable_rawset)
{
	refused("rawset(getmetatable(''), '__index', {})",
		"bad argument #1 to 'rawset' (table expected, got boolean)");
}

TEST(escape_setmetatable_on_globals)
{
	refused("setmetatable(_G, {__index = function(t, k) return k end})",
		"cannot change a protected metatable");
}

TEST(escape_globals_metatable)
{
	refused("local mt = getmetatable(_G)\nreturn {mt.__index}",
		"lua/t.lua:2: attempt to index a boolean value");
}

TEST(escape_gc_metamethod)
{
	refused("setmetatable({}, {__gc = function() while true do end end})",
		"'__gc' is not available in the dagrun sandbox");
}

TEST(escape_endless_loop)
{
	refused("local n = 0\nwhile true do n = n + 1 end",
		"instruction budget exceeded");
}

TEST(escape_endless_coroutine)
{
	refused("local co = coroutine.wrap(function()\n"
		"  while true do end\n"
		"end)\nco()", "lua/t.lua:2: instruction budget exceeded");
}

TEST(escape_coroutines_resumed_forever)
{
	refused("while true do\n"
		"  coroutine.resume(coroutine.create(function() while true do end end))\n"
		"end", "instruction budget exceeded");
}

TEST(escape_pcall_swallowing_budget)
{
	refused("while true do\n"
		"  pcall(function() while true do end end)\n"
		"end", "instruction budget exceeded");
}

TEST(escape_xpcall_handler_loop)
{
	refused("xpcall(error, function() while true do end end)\n"
		"while true do end", "lua/t.lua:2: instruction budget exceeded");
}

TEST(escape_string_rep_huge)
{
	refused("return {string.rep('x', 1e10)}", "resulting string too large");
}

TEST(escape_string_rep_over_cap)
{
	refused("local s = string.rep('x', 1e9)\nreturn {#s}",
		"lua/t.lua:1: memory limit exceeded (64 MB)");
}

TEST(escape_table_growing_forever)
{
	refused("local t = {}\nlocal i = 0\n"
		"while true do i = i + 1; t[i] = i end",
		"lua/t.lua:3: memory limit exceeded");
}

TEST(escape_strings_growing_forever)
{
	refused("local t, big = {}, ('x'):rep(1000):rep(1000)\n"
		"for i = 1, 1e9 do t[i] = big .. i end",
		"lua/t.lua:2: memory limit exceeded");
}

TEST(escape_deep_recursion)
{
	refused("local function f(n) return f(n + 1) + 1 end\nreturn {f(1)}",
		"lua/t.lua:1: stack overflow (more than 10000 nested calls");
}

TEST(escape_deep_recursion_with_looping_handler)
{
	/* the handler of an error raised in the hook would run with hooks off */
	refused("local function f() return f() + 1 end\n"
		"xpcall(f, function() while true do end end)\n"
		"return {}", "stack overflow");
}

TEST(escape_collectgarbage_stop)
{
	refused("collectgarbage('stop')",
		"collectgarbage('stop') is not available");
}

TEST(escape_env_tricks)
{
	refused("local up = _ENV\n"
		"for k in pairs(up) do\n"
		"  if k == 'io' or k == 'os' or k == 'debug' or k == 'package' then\n"
		"    error('found ' .. k)\n"
		"  end\n"
		"end\n"
		"local shadow = setmetatable({}, {__index = _ENV})\n"
		"return {shadow.os.getenv('HOME')}", "lua/t.lua:8: 'os' " NOT_IN_SANDBOX);
}

TEST(escape_load_returning_io)
{
	refused("local f = load('return io')\nreturn {f()}",
		"'io' " NOT_IN_SANDBOX);
}

TEST(escape_randomseed_from_clock)
{
	refused("math.randomseed()", "math.randomseed needs a seed");
}

TEST(escape_top_level_yield)
{
	refused("coroutine.yield(1)\nos.exit(1)",
		"coroutine.yield called outside a coroutine");
}

/* A loop of cheap instructions that each call C on 25 MB: the instruction
 * budget alone would allow hours of it; the config process's hard time
 * limit stops it, naming the line of the call. */
TEST(escape_c_heavy_loop_time_limit)
{
	struct attempt a;

	attempt_config("local s = ('x'):rep(1000):rep(25000)\n"
		       "while true do s:find('y', 1, true) end", &a);
	ASSERT(!a.crashed);
	ASSERT_EQ(a.rc, -1);
	ASSERT_CONTAINS(a.msg, "lua/t.lua:2: time limit exceeded (configs "
			"must finish within 1.5 s)");
	ASSERT(a.seconds < 3.0);
	ASSERT(a.growth < ESCAPE_MAX_BYTES);
}

/* ---- configs ----------------------------------------------------------- */

TEST(config_values_become_json)
{
	struct err err;
	json_t *out = NULL, *m;
	char *text;
	int rc;

	rc = eval_src("local function double(x) return 2 * x end\n"
		      "return {\n"
		      "  name = 'gru', layers = {16, double(16), 64},\n"
		      "  lr = 1e-3, epochs = 10, ratio = 10 / 4, on = true,\n"
		      "  nested = {deep = {list = {'a', 'b'}}, empty = {}},\n"
		      "}\n", &out, &err);
	ASSERT_EQ(rc, 0);
	ASSERT(json_is_object(out));
	text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STREQ(text, "{\"epochs\":10,\"layers\":[16,32,64],\"lr\":0.001,"
		     "\"name\":\"gru\",\"nested\":{\"deep\":{\"list\":[\"a\",\"b\"]},"
		     "\"empty\":{}},\"on\":true,\"ratio\":2.5}");
	free(text);
	m = json_object_get(out, "epochs");
	ASSERT(json_is_integer(m));
	ASSERT(json_is_real(json_object_get(out, "lr")));
	ASSERT(json_is_integer(json_array_get(json_object_get(out, "layers"), 1)));
	json_decref(out);
}

TEST(config_top_level_array)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("return {1.5, 'two', false}", &out, &err), 0);
	ASSERT(json_is_array(out));
	ASSERT_EQ(json_array_size(out), 3);
	ASSERT(json_is_real(json_array_get(out, 0)));
	json_decref(out);
}

TEST(config_hparams_example)
{
	struct err err;
	json_t *out = NULL, *gru, *lstm;

	err_init(&err);
	ASSERT_EQ(luabox_eval_config("lua/hparams.lua", "lua/hparams.lua",
				     &out, &err), 0);
	gru = json_object_get(out, "gru");
	lstm = json_object_get(out, "lstm");
	ASSERT(json_is_object(gru) && json_is_object(lstm));
	ASSERT(json_is_integer(json_object_get(gru, "hidden_size")));
	ASSERT_EQ(json_integer_value(json_object_get(gru, "hidden_size")), 64);
	ASSERT_EQ(json_integer_value(json_object_get(gru, "num_layers")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(gru, "epochs")), 10);
	ASSERT(json_is_integer(json_object_get(gru, "batch_size")));
	ASSERT_EQ(json_integer_value(json_object_get(gru, "batch_size")), 64);
	ASSERT_EQ(json_integer_value(json_object_get(gru, "input_seq_len")), 10);
	ASSERT(json_real_value(json_object_get(gru, "learning_rate")) == 0.001);
	ASSERT(json_equal(json_object_get(lstm, "learning_rate"),
			  json_object_get(gru, "learning_rate")));
	json_decref(out);
}

TEST(config_syntax_error_names_file_and_line)
{
	struct err err;
	json_t *out = (json_t *)1;

	ASSERT_EQ(eval_src("return {\n  a = 1,\n  b = = 2,\n}\n", &out, &err), -1);
	ASSERT(out == NULL);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT(strncmp(err.msg, "lua/t.lua:3: ", 13) == 0);
	ASSERT_CONTAINS(err.msg, "unexpected symbol near '='");
}

TEST(config_runtime_error_names_file_and_line)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("local x = 1\nerror('boom')\n", &out, &err), -1);
	ASSERT_STREQ(err.msg, "lua/t.lua:2: boom");
	ASSERT_EQ(eval_src("local t = nil\n\nreturn t.x", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "lua/t.lua:3: attempt to index a nil value");
	/* no position in the message: the failing line is added */
	ASSERT_EQ(eval_src("\nerror('plain', 0)", &out, &err), -1);
	ASSERT_STREQ(err.msg, "lua/t.lua:2: plain");
	ASSERT_EQ(eval_src("error({})", &out, &err), -1);
	ASSERT_STREQ(err.msg, "lua/t.lua:1: error object is a table value");
}

TEST(config_missing_file_is_io_error)
{
	struct err err;
	json_t *out = NULL;

	err_init(&err);
	ASSERT_EQ(luabox_eval_config("/nonexistent/x.lua", "lua/x.lua", &out,
				     &err), -1);
	ASSERT_EQ(err.kind, ERR_IO);
}

TEST(config_must_return_table)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("return 42", &out, &err), -1);
	ASSERT_STREQ(err.msg, "lua/t.lua: a config must return a table (it "
		     "returned number)");
	ASSERT_EQ(eval_src("local x = 1", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "(it returned nothing)");
}

TEST(config_values_without_json_form)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("return {gru = {act = print}}", &out, &err), -1);
	ASSERT_STREQ(err.msg, "lua/t.lua: value 'gru.act' is a function, "
		     "which has no JSON form");
	ASSERT_EQ(eval_src("return {a = {1, 0/0}}", &out, &err), -1);
	ASSERT_STREQ(err.msg, "lua/t.lua: value 'a[2]' is NaN, which has no "
		     "JSON form");
	ASSERT_EQ(eval_src("return {x = 1/0}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "'x' is infinite");
	ASSERT_EQ(eval_src("return {1, 2, x = 3}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "the value mixes array items and named fields");
	ASSERT_EQ(eval_src("return {l = {[1] = 1, [3] = 3}}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "'l' is a sparse array");
	ASSERT_EQ(eval_src("return {l = {[0] = 1}}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "'l' is a sparse array");
	ASSERT_EQ(eval_src("return {[true] = 1}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "has a boolean key");
	ASSERT_EQ(eval_src("local t = {}\nt.self = {t}\nreturn t", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "value 'self[1]' is a table that contains itself");
	ASSERT_EQ(eval_src("return {s = '\\xff'}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "'s' is not valid UTF-8 text");
	ASSERT_EQ(eval_src("return {co = coroutine.create(print)}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "'co' is a thread");
	ASSERT(out == NULL);
}

TEST(config_shared_subtable_is_not_a_cycle)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("local s = {n = 1}\nreturn {a = s, b = {s, s}}",
			   &out, &err), 0);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(
		json_object_get(out, "b"), 1), "n")), 1);
	json_decref(out);
}

TEST(config_too_deep_for_json)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("local t = {}\nfor i = 1, 150 do t = {t} end\n"
			   "return {t}", &out, &err), -1);
	ASSERT_CONTAINS(err.msg, "is nested deeper than 100 tables");
}

TEST(config_random_is_repeatable)
{
	struct err err;
	json_t *a = NULL, *b = NULL;
	const char *src = "return {math.random(1, 1000000), math.random()}";

	ASSERT_EQ(eval_src(src, &a, &err), 0);
	ASSERT_EQ(eval_src(src, &b, &err), 0);
	ASSERT(json_equal(a, b));
	json_decref(a);
	json_decref(b);
}

TEST(config_sandbox_still_computes)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src(
		"local f = load('return 1 + 1')\n"
		"local g = load('return io', 'chunk', 't', {})\n"
		"local ok, e = pcall(function() return io end)\n"
		"local co = coroutine.wrap(function() coroutine.yield(7) end)\n"
		"local t = setmetatable({}, {__index = function() return 5 end})\n"
		"return {two = f(), io_in_empty_env = g() == nil, refused = not ok,\n"
		"  why = e:match('is not available') ~= nil, seven = co(), five = t.x,\n"
		"  kb = collectgarbage('count') > 0, up = ('abc'):upper(),\n"
		"  n = utf8.len('h\\u{e9}'), s = table.concat({1, 2}, ','),\n"
		"  smt = getmetatable('') == false}",
		&out, &err), 0);
	ASSERT_EQ(json_integer_value(json_object_get(out, "two")), 2);
	ASSERT(json_is_true(json_object_get(out, "io_in_empty_env")));
	ASSERT(json_is_true(json_object_get(out, "refused")));
	ASSERT(json_is_true(json_object_get(out, "why")));
	ASSERT_EQ(json_integer_value(json_object_get(out, "seven")), 7);
	ASSERT_EQ(json_integer_value(json_object_get(out, "five")), 5);
	ASSERT(json_is_true(json_object_get(out, "kb")));
	ASSERT_STREQ(json_string_value(json_object_get(out, "up")), "ABC");
	ASSERT_EQ(json_integer_value(json_object_get(out, "n")), 2);
	ASSERT_STREQ(json_string_value(json_object_get(out, "s")), "1,2");
	ASSERT(json_is_true(json_object_get(out, "smt")));
	json_decref(out);
}

TEST(config_may_recurse_a_little)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("local function depth(n) if n == 0 then return 0 end\n"
			   "  return 1 + depth(n - 1) end\n"
			   "return {depth(5000)}", &out, &err), 0);
	ASSERT_EQ(json_integer_value(json_array_get(out, 0)), 5000);
	json_decref(out);
}

TEST(config_pcall_sees_memory_error_and_goes_on)
{
	struct err err;
	json_t *out = NULL;

	ASSERT_EQ(eval_src("local ok, e = pcall(string.rep, 'x', 1e9)\n"
			   "return {ok = ok, e = e}", &out, &err), 0);
	ASSERT(json_is_false(json_object_get(out, "ok")));
	ASSERT_STREQ(json_string_value(json_object_get(out, "e")),
		     "not enough memory");
	json_decref(out);
}

/* ---- luabox_to_json on a plain state ------------------------------------ */

TEST(to_json_keeps_the_stack)
{
	lua_State *L = luaL_newstate();
	struct err err;
	json_t *j;
	char *text;

	err_init(&err);
	luaL_openlibs(L);
	ASSERT_EQ(luaL_dostring(L, "return {}, {3, 2, 1}, nil, {a = {b = print}}"), 0);
	j = luabox_to_json(L, 1, &err);
	ASSERT(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);
	j = luabox_to_json(L, -3, &err);
	text = json_dumps(j, JSON_COMPACT);
	ASSERT_STREQ(text, "[3,2,1]");
	free(text);
	json_decref(j);
	j = luabox_to_json(L, 3, &err);
	ASSERT(json_is_null(j));
	ASSERT(luabox_to_json(L, 4, &err) == NULL);
	ASSERT_STREQ(err.msg, "value 'a.b' is a function, which has no JSON form");
	ASSERT_EQ(lua_gettop(L), 4);
	lua_close(L);
}

/* ---- glue --------------------------------------------------------------- */

struct glue_dirs {
	char *root, *in, *out, *script, *metrics;
};

/* A node 'train' that needs 'ingest': DAGRUN_* point into a fresh folder. */
static void glue_setup(struct glue_dirs *g)
{
	struct err err;
	char *p;

	err_init(&err);
	g->root = make_tmpdir();
	g->in = fs_join(g->root, "in");
	g->out = fs_join(g->root, "out");
	g->script = fs_join(g->root, "glue.lua");
	g->metrics = fs_join(g->root, "metrics.jsonl");
	p = fs_join(g->in, "ingest/sub");
	fs_mkdirs(p, &err);
	free(p);
	fs_mkdirs(g->out, &err);
	put_file(g->in, "ingest/data.csv", "t,v\n1,10\n2,20\n");
	put_file(g->in, "ingest/sub/b.txt", "b\n");
	put_file(g->root, "params.json", "{\"scale\": 2, \"tag\": \"x\"}");
	p = fs_join(g->root, "params.json");
	setenv("DAGRUN_PARAMS", p, 1);
	free(p);
	setenv("DAGRUN_IN", g->in, 1);
	setenv("DAGRUN_OUT", g->out, 1);
	setenv("DAGRUN_NODE", "train", 1);
	setenv("DAGRUN_METRICS", g->metrics, 1);
}

static void glue_teardown(struct glue_dirs *g)
{
	unsetenv("DAGRUN_PARAMS");
	unsetenv("DAGRUN_IN");
	unsetenv("DAGRUN_OUT");
	unsetenv("DAGRUN_NODE");
	unsetenv("DAGRUN_METRICS");
	free(g->in);
	free(g->out);
	free(g->script);
	free(g->metrics);
	remove_tmpdir(g->root);
}

static int run_glue(struct glue_dirs *g, const char *src, struct err *err)
{
	put_file(g->root, "glue.lua", src);
	err_init(err);
	return luabox_run_glue(g->script, "lua/glue.lua", err);
}

TEST(glue_reads_writes_and_records)
{
	struct glue_dirs g;
	struct err err;
	char *text;
	int rc;

	glue_setup(&g);
	rc = run_glue(&g,
		"local inputs = dagrun.inputs()\n"
		"assert(#inputs == 1 and inputs[1] == 'ingest')\n"
		"local files = dagrun.files('ingest')\n"
		"assert(table.concat(files, ' ') == 'data.csv sub/b.txt')\n"
		"local rows = 0\n"
		"for _ in dagrun.read('ingest', 'data.csv'):gmatch('[^\\n]+') do\n"
		"  rows = rows + 1\n"
		"end\n"
		"dagrun.write('report/summary.txt', string.format('%s rows=%d scale=%d %s\\n',\n"
		"  dagrun.node, rows, dagrun.params.scale, dagrun.params.tag))\n"
		"dagrun.write('doc.json', dagrun.json_encode({b = {1, 2.5}, a = dagrun.null}))\n"
		"dagrun.metric('rows', rows)\n"
		"dagrun.metric('loss', 0.25, 3)\n"
		"local v = dagrun.json_decode('{\"k\": [1, 2.5, null]}')\n"
		"assert(math.type(v.k[1]) == 'integer' and v.k[2] == 2.5)\n"
		"assert(v.k[3] == dagrun.null)\n"
		"dagrun.log('glue test: done')\n", &err);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	ASSERT_EQ(rc, 0);
	text = get_file(g.out, "report/summary.txt");
	ASSERT_STREQ(text, "train rows=3 scale=2 x\n");
	free(text);
	text = get_file(g.out, "doc.json");
	ASSERT_STREQ(text, "{\"a\":null,\"b\":[1,2.5]}");
	free(text);
	text = get_file(g.root, "metrics.jsonl");
	ASSERT_STREQ(text, "{\"name\":\"rows\",\"value\":3,\"step\":-1}\n"
		     "{\"name\":\"loss\",\"value\":0.25,\"step\":3}\n");
	free(text);
	glue_teardown(&g);
}

/* Run 'src' as glue: it must fail with ERR_USER containing 'reason'. */
static void glue_refused(struct glue_dirs *g, const char *src,
			 const char *reason)
{
	struct err err;

	ASSERT_EQ(run_glue(g, src, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, reason);
}

TEST(glue_paths_are_confined)
{
	struct glue_dirs g;
	char *src, *escaped;

	glue_setup(&g);
	glue_refused(&g, "dagrun.read('x', '../../etc/passwd')",
		     "lua/glue.lua:1: dagrun.read: 'x' is not an input of node "
		     "'train' (inputs: ingest)");
	glue_refused(&g, "dagrun.read('ingest', '../../etc/passwd')",
		     "dagrun.read: '../../etc/passwd' goes up with '..'");
	glue_refused(&g, "dagrun.read('ingest', '/etc/passwd')",
		     "'/etc/passwd' is an absolute path");
	glue_refused(&g, "dagrun.read('..', 'etc/passwd')",
		     "'..' is not an input of node 'train'");
	glue_refused(&g, "dagrun.files('../in')", "'../in' is not an input");
	glue_refused(&g, "dagrun.write('a/../../x', 'data')", "goes up with '..'");
	escaped = fs_join(g.root, "escaped");
	src = xasprintf("dagrun.write('%s', 'data')", escaped);
	glue_refused(&g, src, "lua/glue.lua:1: dagrun.write: '");
	glue_refused(&g, src, "is an absolute path");
	ASSERT(!fs_exists(escaped));
	free(src);
	free(escaped);
	glue_refused(&g, "dagrun.write('/tmp/x', 'data')", "absolute path");
	glue_teardown(&g);
}

TEST(glue_sandbox_and_errors)
{
	struct glue_dirs g;

	glue_setup(&g);
	glue_refused(&g, "local f = io.open('/etc/passwd')",
		     "'io' is not available in glue scripts (read inputs with "
		     "dagrun.read");
	glue_refused(&g, "\nlocal x = dagrun.read('ingest', 'missing.csv')",
		     "lua/glue.lua:2: dagrun.read: cannot open");
	glue_refused(&g, "local s = string.rep('x', 2e9)",
		     "lua/glue.lua:1: memory limit exceeded (1024 MB)");
	glue_refused(&g, "dagrun.json_encode({f = print})",
		     "dagrun.json_encode: value 'f' is a function");
	glue_refused(&g, "dagrun.json_decode('{nope')",
		     "dagrun.json_decode: line 1");
	glue_refused(&g, "return {", "lua/glue.lua:1: unexpected symbol");
	glue_teardown(&g);
}

TEST(glue_without_params_or_inputs)
{
	struct glue_dirs g;
	struct err err;

	glue_setup(&g);
	unsetenv("DAGRUN_PARAMS");
	unsetenv("DAGRUN_IN");
	unsetenv("DAGRUN_METRICS");
	ASSERT_EQ(run_glue(&g, "assert(next(dagrun.params) == nil)\n"
			   "assert(#dagrun.inputs() == 0)\n"
			   "dagrun.metric('dropped', 1)\n"
			   "dagrun.write('x.txt', 'x')", &err), 0);
	ASSERT(!fs_exists(g.metrics));
	glue_teardown(&g);
}

TEST(glue_bad_params_file)
{
	struct glue_dirs g;
	struct err err;

	glue_setup(&g);
	put_file(g.root, "params.json", "{not json");
	ASSERT_EQ(run_glue(&g, "return 1", &err), -1);
	ASSERT_EQ(err.kind, ERR_INTERNAL);
	ASSERT_CONTAINS(err.msg, "is not JSON");
	glue_teardown(&g);
}

TEST_LIST(
	T(config_values_become_json),
	T(config_top_level_array),
	T(config_hparams_example),
	T(config_syntax_error_names_file_and_line),
	T(config_runtime_error_names_file_and_line),
	T(config_missing_file_is_io_error),
	T(config_must_return_table),
	T(config_values_without_json_form),
	T(config_shared_subtable_is_not_a_cycle),
	T(config_too_deep_for_json),
	T(config_random_is_repeatable),
	T(config_sandbox_still_computes),
	T(config_may_recurse_a_little),
	T(config_pcall_sees_memory_error_and_goes_on),
	T(to_json_keeps_the_stack),
	T(escape_io_open),
	T(escape_io_popen),
	T(escape_os_execute),
	T(escape_os_getenv),
	T(escape_require),
	T(escape_package_loadlib),
	T(escape_dofile),
	T(escape_loadfile),
	T(escape_load_mode_b),
	T(escape_load_binary_chunk),
	T(escape_load_binary_chunk_text_mode),
	T(escape_string_dump),
	T(escape_string_method_dump),
	T(escape_debug_getinfo),
	T(escape_debug_sethook),
	T(escape_string_metatable_index),
	T(escape_string_metatable_rawset),
	T(escape_setmetatable_on_globals),
	T(escape_globals_metatable),
	T(escape_gc_metamethod),
	T(escape_endless_loop),
	T(escape_endless_coroutine),
	T(escape_coroutines_resumed_forever),
	T(escape_pcall_swallowing_budget),
	T(escape_xpcall_handler_loop),
	T(escape_string_rep_huge),
	T(escape_string_rep_over_cap),
	T(escape_table_growing_forever),
	T(escape_strings_growing_forever),
	T(escape_deep_recursion),
	T(escape_deep_recursion_with_looping_handler),
	T(escape_collectgarbage_stop),
	T(escape_env_tricks),
	T(escape_load_returning_io),
	T(escape_randomseed_from_clock),
	T(escape_top_level_yield),
	T(escape_c_heavy_loop_time_limit),
	T(glue_reads_writes_and_records),
	T(glue_paths_are_confined),
	T(glue_sandbox_and_errors),
	T(glue_without_params_or_inputs),
	T(glue_bad_params_file)
)
