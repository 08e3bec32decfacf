/* luabox: see luabox.h.
 *
 * Each call owns one 'struct box' on its C stack; Lua code reaches it
 * through the allocator's userdata (lua_getallocf), so there is no global
 * state.  Script code always runs on a thread of our own, 'co', never on
 * the main thread: after a failed lua_resume that thread's stack is left
 * in place, so the failing line can still be read even for errors whose
 * message carries none (memory, budget).  Everything the script can reach
 * is built in setup_sandbox(); the real global table stays on the C side.
 *
 * C resources held across a Lua call that may raise (a read buffer, a
 * JSON tree) are parked in a 'struct owned' userdata, so that a Lua error
 * cannot leak them: its __gc releases whatever it still holds. */
#include "luabox.h"
#include "fs.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 1000: the hook is a C call; this keeps its cost far below 1% and lets a
 * script overshoot its budget by at most 1000 instructions */
#define HOOK_STEP 1000
/* 10000: no config or glue script recurses deeper.  Lua's own limit,
 * some 200000 frames, costs it a second or two to reach */
#define CALL_DEPTH_MAX 10000
/* 100: deeper than any real config; bounds the converter's C recursion */
#define CONV_MAX_DEPTH 100
/* 64: bounds dagrun.files' recursion should a link loop back up */
#define WALK_MAX_DEPTH 64

/* Registry keys: the sandbox's globals, and the metatable of 'owned'. */
#define ENV_KEY "dagrun.env"
#define OWNED_MT "dagrun.owned"

/* What a kind of script may spend.  'seconds' is a wall-clock limit
 * checked by the hook: the instruction count alone does not bound time,
 * since one instruction may call a C function that works on 50 MB. */
struct profile {
	const char *who;         /* "configs", "glue scripts": in messages */
	const char *where;       /* "'io' is not available in <where>" */
	lua_CFunction print;     /* NULL: the standard print, to stdout */
	size_t mem_limit;        /* bytes */
	long long budget;        /* instructions */
	int seconds;             /* 0: no wall-clock limit */
};

/* The glue environment (see luabox.h); NULL when unset or empty. */
struct glue_env {
	const char *in, *out, *params, *node, *metrics;
};

struct box {
	lua_State *L;
	lua_State *co;           /* the thread the script runs on */
	const struct profile *prof;
	const char *display;
	size_t mem_used, mem_limit;
	long long spent;         /* instructions, across every thread */
	struct timespec start;
	char stop[160];          /* why the script must stop; sticky once set */
	int nres;                /* values the script returned, on 'co' */
	struct glue_env glue;
	json_t *params;          /* glue only: DAGRUN_PARAMS, owned */
};

/* A C resource held by a Lua userdata (see the top of the file). */
struct owned {
	void *p;
	void (*drop)(void *);
};

/* Growable list of strings the list owns. */
struct strlist {
	char **v;
	size_t n, cap;
};

/* Stands for JSON null in Lua (dagrun.null): only its address matters. */
static const char null_tag;
#define JSON_NULL ((void *)&null_tag)

static int sandbox_log(lua_State *L);

static const struct profile config_profile = {
	"configs",
	"the config sandbox (configs can compute, not touch the machine)",
	sandbox_log, (size_t)64 << 20, 20000000LL, 5,
};

/* 1.5 s: the hard limit of a config's process (see luabox_eval_config),
 * leaving dagrun's own start and the pipeline check inside 2 s.
 * The instruction budget stops Lua loops well before it, with their line;
 * this one also ends a single C call that runs long (a huge table.move, a
 * pattern that backtracks), which no hook can interrupt. */
#define CONFIG_HARD_USEC 1500000

/* Globals, set only in the child process that evaluates a config: the
 * line of the config running now (kept by the line hook), and the pipe to
 * the parent, both read by the alarm handler. */
static volatile sig_atomic_t config_line;
static int config_fd = -1;

static const struct profile glue_profile = {
	"glue scripts",
	"glue scripts (read inputs with dagrun.read, write outputs with dagrun.write)",
	NULL, (size_t)1 << 30, 10000000000LL, 0,
};

static const char *const base_names[] = {
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
	"rawequal", "rawget", "rawlen", "rawset", "select", "tonumber",
	"tostring", "type", "_VERSION", NULL
};

static const char *const forbidden_globals[] = {
	"io", "os", "require", "package", "debug", "dofile", "loadfile", NULL
};

static const char *const forbidden_string[] = { "dump", NULL };

/* ---- memory, budget ---------------------------------------------------- */

/* The state's one lua_Alloc.  Growth past the cap is refused before
 * malloc is asked, so string.rep("x", 1e9) fails at once instead of
 * paging in a gigabyte.  A growing realloc may hold the old block and the
 * new one at once, so both must fit. */
static void *box_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct box *b = ud;
	size_t old = ptr ? osize : 0;
	void *p;

	if (nsize == 0) {
		free(ptr);
		b->mem_used -= old;
		return NULL;
	}
	if (nsize > old && nsize > b->mem_limit - b->mem_used)
		return NULL;
	p = realloc(ptr, nsize);
	if (p)
		b->mem_used = b->mem_used - old + nsize;
	return p;
}

static struct box *box_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Why the script running on 'L' must stop now, or NULL.  The reason, once
 * found, stays: every later check fails too.  The depth check walks at
 * most CALL_DEPTH_MAX frames, and only as many as there are. */
static const char *over_budget(struct box *b, lua_State *L)
{
	const struct profile *p = b->prof;
	lua_Debug deep;

	if (b->stop[0])
		return b->stop;
	if (b->spent >= p->budget)
		snprintf(b->stop, sizeof(b->stop), "instruction budget exceeded "
			 "(%lld million instructions; is there an endless loop?)",
			 p->budget / 1000000);
	else if (p->seconds && seconds_since(&b->start) > p->seconds)
		snprintf(b->stop, sizeof(b->stop), "time limit exceeded (%s must "
			 "finish within %d s)", p->who, p->seconds);
	else if (lua_getstack(L, CALL_DEPTH_MAX, &deep))
		snprintf(b->stop, sizeof(b->stop), "stack overflow (more than %d "
			 "nested calls; is there an endless recursion?)",
			 CALL_DEPTH_MAX);
	return b->stop[0] ? b->stop : NULL;
}

/* Count hook.  lua_newthread copies a thread's hook, so every coroutine
 * the script makes is counted too.  Once over budget the hook fires on
 * every instruction, so a script that pcalls its way past one error meets
 * the next at once.  The message names the line running in this thread:
 * an error from a coroutine surfaces where the coroutine was resumed. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct box *b = box_of(L);
	const char *why;

	if (ar->event == LUA_HOOKCALL) {   /* configs only: where a call is */
		lua_Debug caller;
		if (lua_getstack(L, 1, &caller) && lua_getinfo(L, "l", &caller))
			config_line = caller.currentline;
		return;
	}
	if (config_fd >= 0 && lua_getinfo(L, "l", ar) && ar->currentline > 0)
		config_line = ar->currentline;   /* for the alarm's message */
	b->spent += HOOK_STEP;
	why = over_budget(b, L);
	if (!why)
		return;
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
		lua_pushfstring(L, "%s:%d: %s", ar->short_src, ar->currentline, why);
	else
		lua_pushstring(L, why);
	lua_error(L);
}

/* ---- owned C resources -------------------------------------------------- */

static void owned_release(struct owned *o)
{
	if (o->p)
		o->drop(o->p);
	o->p = NULL;
}

static int owned_gc(lua_State *L)
{
	owned_release(lua_touserdata(L, 1));
	return 0;
}

/* Push an empty owner.  May raise, so call it before acquiring what it is
 * to hold. */
static struct owned *owned_push(lua_State *L, void (*drop)(void *))
{
	struct owned *o = lua_newuserdatauv(L, sizeof(*o), 0);

	o->p = NULL;
	o->drop = drop;
	luaL_setmetatable(L, OWNED_MT);
	return o;
}

static void drop_json(void *p)
{
	json_decref(p);
}

static void strlist_push(struct strlist *l, char *s)
{
	xgrow((void **)&l->v, sizeof(*l->v), &l->cap, l->n + 1);
	l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Frees a heap-allocated list and its strings (an 'owned' drop). */
static void strlist_free(void *p)
{
	struct strlist *l = p;
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l);
}

/* Push an owner holding a new empty list; the list dies with the owner. */
static struct strlist *strlist_owned(lua_State *L, struct owned **o)
{
	*o = owned_push(L, strlist_free);
	(*o)->p = xcalloc(1, sizeof(struct strlist));
	return (*o)->p;
}

static void push_strlist(lua_State *L, const struct strlist *l)
{
	size_t i;

	lua_createtable(L, (int)l->n, 0);
	for (i = 0; i < l->n; i++) {
		lua_pushstring(L, l->v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* ---- Lua to JSON -------------------------------------------------------- */

struct conv {
	lua_State *L;
	struct err *err;
	struct strbuf path;                  /* where we are: "gru.layers[2]" */
	const void *open[CONV_MAX_DEPTH];    /* tables on the way down */
	int depth;
};

enum shape { SHAPE_BAD, SHAPE_OBJECT, SHAPE_ARRAY };

static json_t *conv_value(struct conv *c, int idx);
static json_t *conv_fail(struct conv *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Set "value 'path' <what>" in the error; returns NULL for the caller. */
static json_t *conv_fail(struct conv *c, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->path.len)
		err_set(c->err, ERR_USER, "value '%s' %s", c->path.buf, what);
	else
		err_set(c->err, ERR_USER, "the value %s", what);
	return NULL;
}

/* Extend the path by ".key" or "[i]"; return the old length for path_cut. */
static size_t path_key(struct conv *c, const char *key, size_t n)
{
	size_t old = c->path.len;

	if (old)
		sb_addc(&c->path, '.');
	sb_add(&c->path, key, n);
	return old;
}

static size_t path_index(struct conv *c, lua_Integer i)
{
	size_t old = c->path.len;

	sb_addf(&c->path, "[%lld]", (long long)i);
	return old;
}

static void path_cut(struct conv *c, size_t len)
{
	c->path.len = len;
	c->path.buf[len] = '\0';
}

static json_t *conv_number(struct conv *c, int idx)
{
	lua_Number d;

	if (lua_isinteger(c->L, idx))
		return json_integer((json_int_t)lua_tointeger(c->L, idx));
	d = lua_tonumber(c->L, idx);
	if (!isfinite(d))
		return conv_fail(c, "is %s, which has no JSON form",
				 isnan(d) ? "NaN" : "infinite");
	return json_real(d);
}

static json_t *conv_string(struct conv *c, int idx)
{
	size_t n;
	const char *s = lua_tolstring(c->L, idx, &n);
	json_t *j = json_stringn(s, n);

	return j ? j : conv_fail(c, "is not valid UTF-8 text");
}

/* Classify the table at 'idx' by its keys alone: names only make an
 * object, integers exactly 1..n an array of '*n', no keys an empty
 * object.  Leaves the stack as it was. */
static enum shape table_shape(struct conv *c, int idx, lua_Integer *n)
{
	lua_State *L = c->L;
	lua_Integer count = 0, min = 1, max = 0, k;
	int named = 0;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			named = 1;
			continue;
		}
		if (!lua_isinteger(L, -1)) {
			conv_fail(c, "has a %s key (JSON keys are names, arrays "
				  "count 1..n)", luaL_typename(L, -1));
			lua_pop(L, 1);
			return SHAPE_BAD;
		}
		k = lua_tointeger(L, -1);
		count++;
		min = k < min ? k : min;
		max = k > max ? k : max;
	}
	if (named && count) {
		conv_fail(c, "mixes array items and named fields");
		return SHAPE_BAD;
	}
	if (count && (min < 1 || max != count)) {
		conv_fail(c, "is a sparse array (its keys are not exactly 1..n)");
		return SHAPE_BAD;
	}
	*n = count;
	return count ? SHAPE_ARRAY : SHAPE_OBJECT;
}

static json_t *conv_array(struct conv *c, int idx, lua_Integer n)
{
	json_t *arr = json_array(), *v;
	lua_Integer i;
	size_t mark;

	for (i = 1; i <= n; i++) {
		mark = path_index(c, i);
		lua_rawgeti(c->L, idx, i);
		v = conv_value(c, lua_gettop(c->L));
		lua_pop(c->L, 1);
		if (v && json_array_append_new(arr, v))
			v = conv_fail(c, "cannot be stored (out of memory)");
		path_cut(c, mark);
		if (!v) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *conv_object(struct conv *c, int idx)
{
	lua_State *L = c->L;
	json_t *obj = json_object(), *v;
	const char *k;
	size_t n, mark;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		k = lua_tolstring(L, -2, &n);   /* a string: table_shape said so */
		mark = path_key(c, k, n);
		v = conv_value(c, lua_gettop(L));
		if (v && json_object_setn_new(obj, k, n, v))
			v = conv_fail(c, "has a name that is not valid UTF-8 text");
		path_cut(c, mark);
		lua_pop(L, 1);
		if (!v) {
			lua_pop(L, 1);
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static json_t *conv_table(struct conv *c, int idx)
{
	const void *p = lua_topointer(c->L, idx);
	lua_Integer n = 0;
	enum shape s;
	json_t *j;
	int i;

	for (i = 0; i < c->depth; i++)
		if (c->open[i] == p)
			return conv_fail(c, "is a table that contains itself "
					 "(a cycle has no JSON form)");
	if (c->depth == CONV_MAX_DEPTH)
		return conv_fail(c, "is nested deeper than %d tables",
				 CONV_MAX_DEPTH);
	if (!lua_checkstack(c->L, 4))
		return conv_fail(c, "is nested too deeply for the Lua stack");
	s = table_shape(c, idx, &n);
	if (s == SHAPE_BAD)
		return NULL;
	c->open[c->depth++] = p;
	j = s == SHAPE_ARRAY ? conv_array(c, idx, n) : conv_object(c, idx);
	c->depth--;
	return j;
}

static json_t *conv_value(struct conv *c, int idx)
{
	lua_State *L = c->L;

	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		return conv_number(c, idx);
	case LUA_TSTRING:
		return conv_string(c, idx);
	case LUA_TTABLE:
		return conv_table(c, idx);
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == JSON_NULL)
			return json_null();
		break;
	}
	return conv_fail(c, "is a %s, which has no JSON form",
			 luaL_typename(L, idx));
}

json_t *luabox_to_json(lua_State *L, int idx, struct err *err)
{
	struct conv c = { .L = L, .err = err };
	int top = lua_gettop(L);
	json_t *j;

	sb_init(&c.path);
	j = conv_value(&c, lua_absindex(L, idx));
	sb_release(&c.path);
	lua_settop(L, top);
	return j;
}

/* ---- JSON to Lua -------------------------------------------------------- */

static void push_json(lua_State *L, json_t *j);

static void push_array(lua_State *L, json_t *j)
{
	size_t i;
	json_t *v;

	lua_createtable(L, (int)json_array_size(j), 0);
	json_array_foreach(j, i, v) {
		push_json(L, v);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

static void push_object(lua_State *L, json_t *j)
{
	const char *k;
	size_t n;
	json_t *v;

	lua_createtable(L, 0, (int)json_object_size(j));
	json_object_keylen_foreach(j, k, n, v) {
		lua_pushlstring(L, k, n);
		push_json(L, v);
		lua_rawset(L, -3);
	}
}

/* Push 'j' as a Lua value: objects and arrays as tables, null as
 * dagrun.null.  May raise a Lua error; 'j' stays the caller's. */
static void push_json(lua_State *L, json_t *j)
{
	luaL_checkstack(L, 4, "JSON nested too deeply");
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		push_object(L, j);
		break;
	case JSON_ARRAY:
		push_array(L, j);
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(j));
		break;
	default:
		lua_pushlightuserdata(L, JSON_NULL);
		break;
	}
}

/* ---- the sandbox's replacements for base functions ---------------------- */

/* Call the wrapped original, upvalue 1, with the arguments on the stack;
 * return all of its results. */
static int call_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* load(chunk [, name [, mode [, env]]]) for text chunks only: bytecode is
 * unchecked by the VM and breaks any sandbox.  Without 'env' the chunk
 * sees the sandbox's globals, never the real ones.  Upvalues: the real
 * load, the sandbox's globals. */
static int sandbox_load(lua_State *L)
{
	int nargs = lua_gettop(L);
	const char *mode = luaL_optstring(L, 3, "bt");

	if (!strchr(mode, 't'))
		return luaL_error(L, "load: mode '%s' is not available in the "
				  "dagrun sandbox (only text chunks load)", mode);
	if (lua_type(L, 1) == LUA_TSTRING &&
	    lua_tostring(L, 1)[0] == LUA_SIGNATURE[0])
		return luaL_error(L, "load: binary chunks are not available in "
				  "the dagrun sandbox (only text chunks load)");
	lua_settop(L, 4);
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	if (nargs < 4) {
		lua_pushvalue(L, lua_upvalueindex(2));
		lua_replace(L, 4);
	}
	return call_original(L);
}

/* setmetatable without '__gc': finalizers run with hooks off, outside the
 * budget.  Lua only honours a '__gc' present when the metatable is set, so
 * checking here is enough.  Upvalue: the real setmetatable. */
static int sandbox_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: '__gc' is not "
					  "available in the dagrun sandbox (finalizers "
					  "run outside the instruction budget)");
		lua_pop(L, 1);
	}
	return call_original(L);
}

/* A message handler that runs the script's own (upvalue 1) unless the
 * budget is spent.  Lua calls the handler of an error raised in a hook
 * with hooks still off, so a looping handler would otherwise run forever. */
static int guarded_handler(lua_State *L)
{
	if (box_of(L)->stop[0])
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* xpcall(f, msgh, ...) with 'msgh' guarded.  Upvalue: the real xpcall. */
static int sandbox_xpcall(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, guarded_handler, 1);
	lua_replace(L, 2);
	return call_original(L);
}

static int sandbox_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "collect");

	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "collectgarbage('%s') is not available in "
				  "the dagrun sandbox (only 'count' is)", opt);
	lua_pushnumber(L, lua_gc(L, LUA_GCCOUNT) +
			  lua_gc(L, LUA_GCCOUNTB) / 1024.0);
	return 1;
}

/* Without a seed, math.randomseed reseeds from the clock: refused, since
 * a config must yield the same params every run.  Upvalue: the original. */
static int sandbox_randomseed(lua_State *L)
{
	if (lua_isnone(L, 1))
		return luaL_error(L, "math.randomseed needs a seed in the dagrun "
				  "sandbox (runs must be repeatable)");
	return call_original(L);
}

/* print's format (tostring of each value, tab-separated, a newline) to
 * stderr: a config's print must not mix into dagrun's own stdout.  Also
 * dagrun.log. */
static int sandbox_log(lua_State *L)
{
	int i, n = lua_gettop(L);
	size_t len;
	const char *s;

	for (i = 1; i <= n; i++) {
		s = luaL_tolstring(L, i, &len);
		if (i > 1)
			fputc('\t', stderr);
		fwrite(s, 1, len, stderr);
		lua_pop(L, 1);
	}
	fputc('\n', stderr);
	fflush(stderr);
	return 0;
}

/* __index of the sandbox's globals and of the string table: a name in the
 * set (upvalue 1) raises "'<prefix><name>' is not available in <where>"
 * instead of being a nil that fails later with a riddle.  Upvalues: the
 * set, the prefix ("" or "string."), 'where'. */
static int forbidden_index(lua_State *L)
{
	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL)
		return 1;
	return luaL_error(L, "'%s%s' is not available in %s",
			  lua_tostring(L, lua_upvalueindex(2)), lua_tostring(L, 2),
			  lua_tostring(L, lua_upvalueindex(3)));
}

/* Give the table at 'idx' a metatable that refuses 'names' as above and
 * that getmetatable/setmetatable cannot reach ('__metatable'). */
static void forbid(lua_State *L, int idx, const char *prefix,
		   const char *const *names, const char *where)
{
	idx = lua_absindex(L, idx);
	lua_createtable(L, 0, 2);
	lua_newtable(L);
	for (; *names; names++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, *names);
	}
	lua_pushstring(L, prefix);
	lua_pushstring(L, where);
	lua_pushcclosure(L, forbidden_index, 3);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, idx);
}

/* ---- building the sandbox ----------------------------------------------- */

static void add_base(lua_State *L, int g, int env, const struct profile *prof)
{
	const char *const *name;

	for (name = base_names; *name; name++) {
		lua_getfield(L, g, *name);
		lua_setfield(L, env, *name);
	}
	lua_getfield(L, g, "load");
	lua_pushvalue(L, env);
	lua_pushcclosure(L, sandbox_load, 2);
	lua_setfield(L, env, "load");
	lua_getfield(L, g, "setmetatable");
	lua_pushcclosure(L, sandbox_setmetatable, 1);
	lua_setfield(L, env, "setmetatable");
	lua_getfield(L, g, "xpcall");
	lua_pushcclosure(L, sandbox_xpcall, 1);
	lua_setfield(L, env, "xpcall");
	lua_pushcfunction(L, sandbox_collectgarbage);
	lua_setfield(L, env, "collectgarbage");
	if (prof->print)
		lua_pushcfunction(L, prof->print);
	else
		lua_getfield(L, g, "print");
	lua_setfield(L, env, "print");
}

static void open_lib(lua_State *L, int env, const char *name,
		     lua_CFunction open)
{
	lua_pushcfunction(L, open);
	lua_call(L, 0, 1);
	lua_setfield(L, env, name);
}

/* string.dump is the one door to bytecode: remove it, and make
 * getmetatable("") hand out nothing that leads back to the library. */
static void seal_string(lua_State *L, int env, const char *where)
{
	lua_getfield(L, env, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	forbid(L, -1, "string.", forbidden_string, where);
	lua_pop(L, 1);
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
}

/* Seed with 0 so that a config that draws random numbers yields the same
 * params every run (Lua 5.4 seeds from the clock). */
static void seed_math(lua_State *L, int env)
{
	lua_getfield(L, env, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushvalue(L, -1);
	lua_pushinteger(L, 0);
	lua_call(L, 1, 0);
	lua_pushcclosure(L, sandbox_randomseed, 1);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
}

/* Build the sandbox's globals (see luabox.h) and keep them in the registry
 * under ENV_KEY.  Runs protected; argument 1 is the box. */
static int setup_sandbox(lua_State *L)
{
	struct box *b = lua_touserdata(L, 1);
	int g, env;

	lua_pushcfunction(L, luaopen_base);
	lua_call(L, 0, 1);           /* the real globals: never handed out */
	g = lua_gettop(L);
	lua_newtable(L);
	env = lua_gettop(L);
	add_base(L, g, env, b->prof);
	open_lib(L, env, "string", luaopen_string);
	open_lib(L, env, "table", luaopen_table);
	open_lib(L, env, "math", luaopen_math);
	open_lib(L, env, "utf8", luaopen_utf8);
	open_lib(L, env, "coroutine", luaopen_coroutine);
	seal_string(L, env, "the dagrun sandbox (it exposes bytecode)");
	seed_math(L, env);
	lua_pushvalue(L, env);
	lua_setfield(L, env, "_G");
	forbid(L, env, "", forbidden_globals, b->prof->where);
	lua_setfield(L, LUA_REGISTRYINDEX, ENV_KEY);
	luaL_newmetatable(L, OWNED_MT);
	lua_pushcfunction(L, owned_gc);
	lua_setfield(L, -2, "__gc");
	return 0;
}

/* ---- glue: paths and files (plain C, raises nothing) -------------------- */

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 0 if 'rel' names a place inside its folder: not empty, relative, no ".."
 * component, no NUL byte; else -1 with 'err' set. */
static int check_relpath(const char *rel, size_t len, struct err *err)
{
	const char *s, *e;

	if (len == 0 || strlen(rel) != len) {
		err_set(err, ERR_USER, "path '%s' is empty or holds a NUL byte", rel);
		return -1;
	}
	if (rel[0] == '/') {
		err_set(err, ERR_USER, "'%s' is an absolute path (paths are "
			"relative to the node's folders)", rel);
		return -1;
	}
	for (s = rel; *s; s = e) {
		while (*s == '/')
			s++;
		for (e = s; *e && *e != '/'; e++)
			;
		if (e - s == 2 && s[0] == '.' && s[1] == '.') {
			err_set(err, ERR_USER, "'%s' goes up with '..' (paths must "
				"stay inside the node's folders)", rel);
			return -1;
		}
	}
	return 0;
}

/* The names of the folders in DAGRUN_IN, sorted; none without it. */
static int list_inputs(const struct glue_env *g, struct strlist *l,
		       struct err *err)
{
	struct dirent *de;
	char *path;
	DIR *d;

	if (!g->in)
		return 0;
	d = opendir(g->in);
	if (!d) {
		err_set(err, ERR_IO, "cannot open DAGRUN_IN '%s': %s", g->in,
			strerror(errno));
		return -1;
	}
	for (de = readdir(d); de; de = readdir(d)) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = fs_join(g->in, de->d_name);
		if (is_dir(path))
			strlist_push(l, xstrdup(de->d_name));
		free(path);
	}
	closedir(d);
	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	return 0;
}

/* The folder of input 'name' (the caller frees it), or NULL with 'err'
 * naming the inputs there are. */
static char *input_dir(const struct glue_env *g, const char *name,
		       struct err *err)
{
	struct strlist l = { 0 };
	struct strbuf sb;
	char *dir = NULL;
	size_t i;

	if (g->in && name[0] && !strchr(name, '/') && strcmp(name, ".") &&
	    strcmp(name, "..")) {
		dir = fs_join(g->in, name);
		if (is_dir(dir))
			return dir;
		free(dir);
	}
	sb_init(&sb);
	if (list_inputs(g, &l, err) == 0) {
		for (i = 0; i < l.n; i++)
			sb_addf(&sb, "%s%s", i ? ", " : "", l.v[i]);
		err_set(err, ERR_USER, "'%s' is not an input of node '%s' "
			"(inputs: %s)", name, g->node, l.n ? sb.buf : "none");
	}
	sb_release(&sb);
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return NULL;
}

/* Append every file (anything not a folder) under 'root'/'rel' to 'l', as
 * a path relative to 'root'. */
static int walk_files(const char *root, const char *rel, int depth,
		      struct strlist *l, struct err *err)
{
	char *dir = rel[0] ? fs_join(root, rel) : xstrdup(root);
	struct dirent *de;
	char *sub, *full;
	int rc = 0;
	DIR *d;

	d = depth > WALK_MAX_DEPTH ? NULL : opendir(dir);
	if (!d) {
		err_set(err, ERR_IO, "cannot list '%s': %s", dir, depth >
			WALK_MAX_DEPTH ? "too deep (a link loop?)" : strerror(errno));
		free(dir);
		return -1;
	}
	for (de = readdir(d); de && rc == 0; de = readdir(d)) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = rel[0] ? fs_join(rel, de->d_name) : xstrdup(de->d_name);
		full = fs_join(dir, de->d_name);
		if (is_dir(full)) {
			rc = walk_files(root, sub, depth + 1, l, err);
			free(sub);
		} else {
			strlist_push(l, sub);
		}
		free(full);
	}
	closedir(d);
	free(dir);
	return rc;
}

static int read_input(const struct glue_env *g, const char *name,
		      const char *rel, size_t rlen, char **buf, size_t *n,
		      struct err *err)
{
	char *dir = input_dir(g, name, err), *path;
	int rc;

	if (!dir)
		return -1;
	if (check_relpath(rel, rlen, err)) {
		free(dir);
		return -1;
	}
	path = fs_join(dir, rel);
	rc = fs_read_file(path, buf, n, err);
	free(path);
	free(dir);
	return rc;
}

static int write_output(const char *out, const char *rel, const void *data,
			size_t n, struct err *err)
{
	char *path = fs_join(out, rel);
	char *slash = strrchr(path, '/');
	int rc = 0;

	if (slash > path + strlen(out)) {
		*slash = '\0';
		rc = fs_mkdirs(path, err);
		*slash = '/';
	}
	if (rc == 0)
		rc = fs_write_atomic(path, data, n, err);
	free(path);
	return rc;
}

/* Append one metric line with a single write(2), so that lines from
 * several writers never interleave.  Takes the reference to 'value'. */
static int append_metric(const char *file, const char *name, json_t *value,
			 lua_Integer step, struct err *err)
{
	json_t *j = json_object(), *jname = json_string(name);
	char *text, *line;
	int fd, rc = -1;

	if (!jname) {
		err_set(err, ERR_USER, "metric name '%s' is not valid UTF-8 text",
			name);
		json_decref(value);
		json_decref(j);
		return -1;
	}
	json_object_set_new(j, "name", jname);
	json_object_set_new(j, "value", value);
	json_object_set_new(j, "step", json_integer((json_int_t)step));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	line = xasprintf("%s\n", text ? text : "");
	free(text);
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, line, strlen(line)) == (ssize_t)strlen(line))
		rc = 0;
	else
		err_set(err, ERR_IO, "cannot append to '%s': %s", file,
			strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

/* ---- glue: the dagrun table --------------------------------------------- */

static int api_inputs(lua_State *L)
{
	struct owned *o;
	struct strlist *l = strlist_owned(L, &o);
	struct err err;

	err_init(&err);
	if (list_inputs(&box_of(L)->glue, l, &err))
		return luaL_error(L, "dagrun.inputs: %s", err.msg);
	push_strlist(L, l);
	owned_release(o);
	return 1;
}

static int api_files(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	struct owned *o;
	struct strlist *l = strlist_owned(L, &o);
	struct err err;
	char *dir;
	int rc;

	err_init(&err);
	dir = input_dir(&box_of(L)->glue, name, &err);
	rc = dir ? walk_files(dir, "", 0, l, &err) : -1;
	free(dir);
	if (rc)
		return luaL_error(L, "dagrun.files: %s", err.msg);
	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	push_strlist(L, l);
	owned_release(o);
	return 1;
}

static int api_read(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	size_t rlen, n;
	const char *rel = luaL_checklstring(L, 2, &rlen);
	struct owned *o = owned_push(L, free);
	struct err err;
	char *buf;

	err_init(&err);
	if (read_input(&box_of(L)->glue, name, rel, rlen, &buf, &n, &err))
		return luaL_error(L, "dagrun.read: %s", err.msg);
	o->p = buf;
	lua_pushlstring(L, buf, n);
	owned_release(o);
	return 1;
}

static int api_write(lua_State *L)
{
	const char *out = box_of(L)->glue.out;
	size_t rlen, n;
	const char *rel = luaL_checklstring(L, 1, &rlen);
	const char *data = luaL_checklstring(L, 2, &n);
	struct err err;

	err_init(&err);
	if (!out)
		return luaL_error(L, "dagrun.write: DAGRUN_OUT is not set");
	if (check_relpath(rel, rlen, &err) ||
	    write_output(out, rel, data, n, &err))
		return luaL_error(L, "dagrun.write: %s", err.msg);
	return 0;
}

static int api_metric(lua_State *L)
{
	const char *file = box_of(L)->glue.metrics;
	const char *name = luaL_checkstring(L, 1);
	lua_Number v = luaL_checknumber(L, 2);
	lua_Integer step = luaL_optinteger(L, 3, -1);
	struct err err;

	if (!name[0] || !isfinite(v))
		return luaL_error(L, "dagrun.metric: needs a name and a finite "
				  "value (got '%s' = %f)", name, (double)v);
	err_init(&err);
	if (file && append_metric(file, name, lua_isinteger(L, 2) ?
				  json_integer((json_int_t)lua_tointeger(L, 2)) :
				  json_real(v), step, &err))
		return luaL_error(L, "dagrun.metric: %s", err.msg);
	return 0;
}

static int api_json_encode(lua_State *L)
{
	struct owned *o;
	struct err err;
	json_t *j;

	luaL_checkany(L, 1);
	lua_settop(L, 1);
	o = owned_push(L, free);
	err_init(&err);
	j = luabox_to_json(L, 1, &err);
	if (!j)
		return luaL_error(L, "dagrun.json_encode: %s", err.msg);
	o->p = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(j);
	if (!o->p)
		return luaL_error(L, "dagrun.json_encode: out of memory");
	lua_pushstring(L, o->p);
	owned_release(o);
	return 1;
}

static int api_json_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	struct owned *o = owned_push(L, drop_json);
	json_error_t je;

	o->p = json_loadb(s, n, JSON_DECODE_ANY, &je);
	if (!o->p)
		return luaL_error(L, "dagrun.json_decode: line %d column %d: %s",
				  je.line, je.column, je.text);
	push_json(L, o->p);
	owned_release(o);
	return 1;
}

static const luaL_Reg glue_api[] = {
	{ "inputs", api_inputs },
	{ "files", api_files },
	{ "read", api_read },
	{ "write", api_write },
	{ "log", sandbox_log },
	{ "metric", api_metric },
	{ "json_encode", api_json_encode },
	{ "json_decode", api_json_decode },
	{ NULL, NULL }
};

/* Add the global 'dagrun' to the sandbox.  Runs protected; argument 1 is
 * the box. */
static int setup_glue(lua_State *L)
{
	struct box *b = lua_touserdata(L, 1);

	lua_getfield(L, LUA_REGISTRYINDEX, ENV_KEY);
	luaL_newlib(L, glue_api);
	push_json(L, b->params);
	lua_setfield(L, -2, "params");
	lua_pushstring(L, b->glue.node);
	lua_setfield(L, -2, "node");
	lua_pushlightuserdata(L, JSON_NULL);
	lua_setfield(L, -2, "null");
	lua_setfield(L, -2, "dagrun");
	return 0;
}

static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* ---- running a script --------------------------------------------------- */

/* Run 'fn' protected, with the box as its argument.  A failure here is
 * ours (or memory), not the script's: ERR_INTERNAL. */
static int protect(struct box *b, lua_CFunction fn, struct err *err)
{
	const char *msg;

	lua_pushcfunction(b->L, fn);
	lua_pushlightuserdata(b->L, b);
	if (lua_pcall(b->L, 1, 0, 0) == LUA_OK)
		return 0;
	msg = lua_tostring(b->L, -1);
	err_set(err, ERR_INTERNAL, "%s: cannot set up the Lua sandbox: %s",
		b->display, msg ? msg : "unknown error");
	lua_pop(b->L, 1);
	return -1;
}

/* Start the state of a zeroed box and build its sandbox. */
static int box_open(struct box *b, const struct profile *prof,
		    const char *display, struct err *err)
{
	b->prof = prof;
	b->display = display;
	b->mem_limit = prof->mem_limit;
	b->L = lua_newstate(box_alloc, b);
	if (!b->L) {
		err_set(err, ERR_INTERNAL, "%s: cannot start Lua", display);
		return -1;
	}
	return protect(b, setup_sandbox, err);
}

static void box_close(struct box *b)
{
	if (b->L)
		lua_close(b->L);
	json_decref(b->params);
	b->L = NULL;
	b->params = NULL;
}

/* 1 if 'msg' already starts with Lua's "source:line: ". */
static int has_position(const char *msg)
{
	const char *p = strchr(msg, ':');

	if (!p || p == msg || memchr(msg, '\n', (size_t)(p - msg)))
		return 0;
	if (!isdigit((unsigned char)p[1]))
		return 0;
	for (p++; isdigit((unsigned char)*p); p++)
		;
	return p[0] == ':' && p[1] == ' ';
}

/* "source:line:" of the innermost Lua function on 'co', which a failed or
 * suspended lua_resume leaves in place; "display:" when there is none. */
static void script_position(struct box *b, char *buf, size_t n)
{
	lua_Debug ar;
	int level;

	for (level = 0; lua_getstack(b->co, level, &ar); level++) {
		if (lua_getinfo(b->co, "Sl", &ar) && ar.currentline > 0) {
			snprintf(buf, n, "%s:%d:", ar.short_src, ar.currentline);
			return;
		}
	}
	snprintf(buf, n, "%s:", b->display);
}

/* Set 'err' to why the script on 'co' stopped, as "file:line: message". */
static int fail_run(struct box *b, int status, struct err *err)
{
	lua_State *co = b->co;
	char where[LUA_IDSIZE + 24], buf[96];
	const char *msg = buf;

	script_position(b, where, sizeof(where));
	if (status == LUA_YIELD)
		msg = "coroutine.yield called outside a coroutine";
	else if (lua_isstring(co, -1))
		msg = lua_tostring(co, -1);
	else
		snprintf(buf, sizeof(buf), "error object is a %s value",
			 luaL_typename(co, -1));
	/* lauxlib's buffers say "not enough memory" in a plain error */
	if (status == LUA_ERRMEM || !strcmp(msg, "not enough memory")) {
		snprintf(buf, sizeof(buf), "memory limit exceeded (%zu MB)",
			 b->prof->mem_limit >> 20);
		msg = buf;
	}
	if (has_position(msg))
		err_set(err, ERR_USER, "%s", msg);
	else
		err_set(err, ERR_USER, "%s %s", where, msg);
	return -1;
}

/* Load 'src' as a text chunk named after the display path and run it on a
 * fresh thread under the budget; its results stay on 'b->co'.  Returns 0,
 * or -1 with 'err' set (ERR_USER). */
static int box_run(struct box *b, const char *src, size_t n, struct err *err)
{
	char *name = xasprintf("@%s", b->display);
	int status;

	b->co = lua_newthread(b->L);   /* anchored on L's stack */
	status = luaL_loadbufferx(b->co, src, n, name, "t");
	free(name);
	if (status == LUA_OK) {
		lua_getfield(b->co, LUA_REGISTRYINDEX, ENV_KEY);
		lua_setupvalue(b->co, -2, 1);    /* the chunk's _ENV */
		lua_sethook(b->co, budget_hook, LUA_MASKCOUNT |
			    (config_fd >= 0 ? LUA_MASKCALL : 0), HOOK_STEP);
		clock_gettime(CLOCK_MONOTONIC, &b->start);
		status = lua_resume(b->co, b->L, 0, &b->nres);
		lua_sethook(b->co, NULL, 0, 0);
	}
	/* only our own code runs from here on; it must not meet the cap */
	b->mem_limit = SIZE_MAX;
	if (status == LUA_OK)
		return 0;
	if (status != LUA_ERRSYNTAX)
		return fail_run(b, status, err);
	err_set(err, ERR_USER, "%s", lua_tostring(b->co, -1));
	return -1;
}

static int config_result(struct box *b, json_t **out, struct err *err)
{
	lua_State *co = b->co;
	int idx = lua_gettop(co) - b->nres + 1;

	if (b->nres == 0 || lua_type(co, idx) != LUA_TTABLE) {
		err_set(err, ERR_USER, "%s: a config must return a table (it "
			"returned %s)", b->display,
			b->nres ? luaL_typename(co, idx) : "nothing");
		return -1;
	}
	*out = luabox_to_json(co, idx, err);
	if (!*out) {
		err_prefix(err, b->display);
		return -1;
	}
	return 0;
}

/* Read the glue environment and DAGRUN_PARAMS into 'b', then add the
 * 'dagrun' table to the sandbox. */
static int glue_prepare(struct box *b, struct err *err)
{
	struct glue_env *g = &b->glue;
	json_error_t je;
	char *text;
	size_t n;

	g->in = env_value("DAGRUN_IN");
	g->out = env_value("DAGRUN_OUT");
	g->params = env_value("DAGRUN_PARAMS");
	g->node = env_value("DAGRUN_NODE");
	g->metrics = env_value("DAGRUN_METRICS");
	if (!g->node)
		g->node = "";
	if (!g->params) {
		b->params = json_object();
	} else {
		if (fs_read_file(g->params, &text, &n, err))
			return -1;
		b->params = json_loadb(text, n, JSON_DECODE_ANY, &je);
		free(text);
		if (!b->params) {
			err_set(err, ERR_INTERNAL, "params file '%s' is not JSON: "
				"line %d: %s", g->params, je.line, je.text);
			return -1;
		}
	}
	return protect(b, setup_glue, err);
}

/* Open a box for 'prof', let 'prepare' (if any) add to it, and run the
 * file 'path' in it.  The box stays open for the caller to read results;
 * the caller closes it whatever this returns. */
static int run_file(struct box *b, const struct profile *prof,
		    const char *path, const char *display,
		    int (*prepare)(struct box *, struct err *), struct err *err)
{
	char *src = NULL;
	size_t n = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = fs_read_file(path, &src, &n, err);
	if (rc == 0)
		rc = box_open(b, prof, display, err);
	if (rc == 0 && prepare)
		rc = prepare(b, err);
	if (rc == 0)
		rc = box_run(b, src, n, err);
	free(src);
	return rc;
}

static int eval_config_here(const char *path, const char *display,
			    json_t **out, struct err *err)
{
	struct box b;
	int rc;

	*out = NULL;
	rc = run_file(&b, &config_profile, path, display, NULL, err);
	if (rc == 0)
		rc = config_result(&b, out, err);
	box_close(&b);
	return rc;
}

/* The hard limit: tell the parent the line, and end. Async-signal-safe. */
static void on_config_alarm(int sig)
{
	char buf[16];
	int n = 0, line = (int)config_line, k;
	char digits[12];

	(void)sig;
	buf[n++] = 'T';
	k = 0;
	if (line > 0) do {
		digits[k++] = (char)('0' + line % 10);
		line /= 10;
	} while (line > 0 && k < 11);
	while (k > 0)
		buf[n++] = digits[--k];
	if (write(config_fd, buf, (size_t)n) < 0)
		_exit(4);
	_exit(3);
}

static void write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = write(fd, p, n)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

/* In the child: evaluate, send 'J' + JSON or 'E' + kind + message. */
static void config_child(int fd, const char *path, const char *display)
{
	struct itimerval it = {{0, 0}, {CONFIG_HARD_USEC / 1000000,
					 CONFIG_HARD_USEC % 1000000}};
	struct err err;
	json_t *v = NULL;
	char *text;

	config_fd = fd;
	signal(SIGALRM, on_config_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	err_init(&err);
	if (eval_config_here(path, display, &v, &err) == 0) {
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
		write_all(fd, "J", 1);
		write_all(fd, text, strlen(text));
		free(text);
		json_decref(v);
	} else {
		char kind = (char)('0' + err.kind);
		write_all(fd, "E", 1);
		write_all(fd, &kind, 1);
		write_all(fd, err.msg, strlen(err.msg));
	}
	_exit(0);
}

/* Read the child's whole answer. */
static char *read_answer(int fd, size_t *len)
{
	struct strbuf sb;
	char buf[65536];
	ssize_t n;

	sb_init(&sb);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		sb_add(&sb, buf, (size_t)n);
	}
	*len = sb.len;
	return sb_detach(&sb);
}

static int config_answer(const char *a, size_t n, int status, const char *display,
			 json_t **out, struct err *err)
{
	if (n > 0 && a[0] == 'J') {
		*out = json_loadb(a + 1, n - 1, JSON_DECODE_ANY, NULL);
		if (*out)
			return 0;
	} else if (n > 1 && a[0] == 'E') {
		err_set(err, (enum err_kind)(a[1] - '0'), "%.*s", (int)(n - 2), a + 2);
		return -1;
	} else if (n > 0 && a[0] == 'T') {   /* "T" and the line, if known */
		err_set(err, ERR_USER, "%s:%.*s%stime limit exceeded (configs must "
			"finish within %g s)", display, (int)(n - 1), a + 1,
			n > 1 ? ": " : " ", CONFIG_HARD_USEC / 1e6);
		return -1;
	}
	err_set(err, ERR_USER, "%s: the config stopped without an answer (%s %d)",
		display, WIFSIGNALED(status) ? "signal" : "exit code",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return -1;
}

int luabox_eval_config(const char *path, const char *display, json_t **out,
		       struct err *err)
{
	int p[2], status = 0, rc;
	size_t n;
	char *answer;
	pid_t pid;

	*out = NULL;
	if (pipe2(p, O_CLOEXEC) < 0) {
		err_set(err, ERR_IO, "cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err_set(err, ERR_IO, "cannot evaluate '%s': %s", display, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		config_child(p[1], path, display);
	}
	close(p[1]);
	answer = read_answer(p[0], &n);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = config_answer(answer, n, status, display, out, err);
	free(answer);
	return rc;
}

int luabox_run_glue(const char *path, const char *display, struct err *err)
{
	struct box b;
	int rc = run_file(&b, &glue_profile, path, display, glue_prepare, err);

	box_close(&b);
	fflush(stdout);
	return rc;
}
