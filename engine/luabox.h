/* luabox: the Lua host and its sandbox.
 *
 * dagrun runs two kinds of Lua 5.4: configs (a pipeline's `params:` file,
 * evaluated once; the table it returns becomes JSON params) and glue
 * scripts (`task: lua` nodes, run in the node's own child process).  Each
 * call gets a fresh lua_State, discarded before it returns, holding this
 * sandbox:
 *
 *   - base, without dofile and loadfile; load() takes text chunks only and
 *     its env defaults to the sandbox's globals; collectgarbage() answers
 *     "count" only; setmetatable() refuses a '__gc' field (finalizers run
 *     with hooks off, so outside the budget); xpcall()'s handler is
 *     skipped once the budget is spent (Lua runs the handler of an error
 *     raised in a hook with hooks off);
 *   - string without dump, table, utf8, coroutine, and math seeded with 0
 *     (math.randomseed() needs an explicit seed), so that a config that
 *     draws random numbers still yields the same params every run;
 *   - reading io, os, require, package, debug, dofile or loadfile raises
 *     "'io' is not available in the config sandbox (...)"; string.dump
 *     likewise.  getmetatable("") and getmetatable(_G) return false.
 *   - limits, counted across every coroutine the script makes:
 *                      config          glue
 *       instructions   50 million      10^10 (the node timeout is the
 *                      (well under 1 s) real limit)
 *       memory         64 MB           1 GB     (Lua's heap, realloc
 *                                               copies included)
 *       wall clock     5 s             none
 *       call depth     10000           10000
 *     The wall clock catches loops whose every instruction calls C on big
 *     strings, which the count alone would let run for hours.  Except for
 *     memory, a limit once hit stays hit: every further instruction
 *     raises, so a pcall inside the script cannot outrun it.  Memory
 *     errors can be caught, but the cap holds.
 *
 * Invariants: script code never reaches the real global table, the
 * registry, bytecode, or any library that touches the machine, except the
 * glue API below; every failure of the script reaches the caller as
 * ERR_USER with "file:line: message", the file being the 'display' path;
 * nothing here calls exit() or keeps global state, so calls are
 * independent and may run on several threads at once.
 *
 * Not covered: one long C call, such as a string pattern that backtracks
 * for minutes, runs where no hook can see it; glue nodes have their node
 * timeout, a config has none.  Object key order is Lua's traversal order,
 * which Lua 5.4 randomises per state: iterate with pairs() to build an
 * array and two runs may differ. */
#ifndef DAGRUN_LUABOX_H
#define DAGRUN_LUABOX_H

#include <jansson.h>
#include <lua.h>

#include "err.h"

/* Evaluate the config file 'path' once in the sandbox and return the table
 * it returns as JSON in '*out' (the caller owns it: json_decref).  'display'
 * is the path named in messages (repo-relative).  Conversion follows
 * luabox_to_json(); object keys come in Lua's traversal order, so a caller
 * that needs a canonical form dumps with JSON_SORT_KEYS.  The config's
 * print() writes to stderr, never into dagrun's own stdout.
 * Returns 0, or -1 with '*out' NULL and 'err' set: ERR_IO if 'path' cannot
 * be read; ERR_USER for a syntax error, a runtime error, a sandbox refusal,
 * the budget or the memory cap ("lua/x.lua:7: memory limit exceeded
 * (64 MB)"), or a returned value that is not a table or has no JSON form. */
int luabox_eval_config(const char *path, const char *display, json_t **out,
		       struct err *err);

/* Run the glue script 'path' (a `task: lua` node).  Meant for the node's
 * child process: print() writes to stdout, dagrun.log() to stderr.  Reads
 * the environment:
 *   DAGRUN_IN       folder with one subfolder per needed node (may be unset:
 *                   no inputs)
 *   DAGRUN_OUT      the output folder (dagrun.write fails when unset)
 *   DAGRUN_PARAMS   JSON file with the node's params (unset: {})
 *   DAGRUN_NODE     the node's id (unset: "")
 *   DAGRUN_METRICS  file that dagrun.metric appends lines to (unset: metrics
 *                   are dropped)
 * and gives the script a global table 'dagrun':
 *   dagrun.params            the params as a Lua table
 *   dagrun.node              the node's id
 *   dagrun.inputs()          sorted array of the needed nodes' names
 *   dagrun.files(input)      sorted array of every file under that input,
 *                            as paths relative to it ("sub/x.csv")
 *   dagrun.read(input, rel)  a file's content as a string
 *   dagrun.write(rel, data)  write a file under DAGRUN_OUT, making folders
 *   dagrun.log(...)          its arguments, tab-separated, to stderr
 *   dagrun.metric(name, value [, step])
 *                            append {"name":..,"value":..,"step":..} and a
 *                            newline to DAGRUN_METRICS; no step is -1, the
 *                            kernels' "final value" (see kctx_metric)
 *   dagrun.json_encode(v)    compact JSON with sorted keys
 *   dagrun.json_decode(s)    a Lua value; JSON null becomes dagrun.null
 *                            (an empty array comes back from json_encode
 *                            as {}: Lua cannot tell them apart)
 *   dagrun.null              a sentinel that json_encode writes as null
 * Paths are confined lexically: an absolute path, a ".." component or an
 * input name that is not among the inputs is refused with an error naming
 * the path.  (Links inside an input are followed: inputs are the engine's
 * own read-only trees.)
 * Returns 0, or -1 with 'err' set: ERR_IO if 'path' or DAGRUN_PARAMS cannot
 * be read, ERR_INTERNAL if DAGRUN_PARAMS is not JSON, ERR_USER for anything
 * the script does wrong, with file:line. */
int luabox_run_glue(const char *path, const char *display, struct err *err);

/* Convert the Lua value at stack index 'idx' of 'L' to JSON; the caller
 * owns the result.  nil and dagrun.null become null, booleans and strings
 * (which must be UTF-8) themselves, integers json_integer, floats json_real.
 * A table with keys exactly 1..n (n >= 1) becomes an array, one with string
 * keys only an object, an empty table an empty object; metatables are
 * ignored.  Never raises a Lua error, never runs Lua code, and leaves the
 * stack as it found it.  Returns NULL with 'err' set (ERR_USER) for a value
 * with no JSON form, naming where it sits: "value 'gru.act' is a function,
 * which has no JSON form"; likewise userdata, NaN and infinities, tables
 * mixing 1..n with names, sparse arrays, other key types, cycles, and
 * nesting deeper than 100 tables. */
json_t *luabox_to_json(lua_State *L, int idx, struct err *err);

#endif
