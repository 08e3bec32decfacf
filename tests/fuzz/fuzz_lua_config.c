/* fuzz_lua_config: libFuzzer target for luabox_eval_config(), the Lua
 * config sandbox.
 *
 * luabox_eval_config() takes a path, so each input is written to cfg.lua
 * in a scratch folder made once per process.  Any input is a config: it
 * may compute, loop, allocate or try to escape, and the sandbox must turn
 * every outcome into a table or an ERR_USER message, within its budget.
 * A hang shows up as a libFuzzer timeout (run.sh sets -timeout far above
 * the sandbox's time limits), a crash or a sanitizer report as such.
 *
 * What is checked besides: a success returns a JSON object (configs
 * return tables; an empty table is an object); a failure is ERR_USER or
 * ERR_IO with a message, never ERR_INTERNAL.
 *
 * luabox_eval_config() evaluates in a child process (its hard time limit),
 * so the sanitizers' reports of the evaluation itself come from that
 * child: they reach the fuzzer's log (run.sh fails on them) and the child
 * dies without an answer, which dagrun reports as "the config stopped
 * without an answer"; this target aborts on that message so that
 * libFuzzer saves the input.  The child's coverage does not reach the
 * fuzzer, so its search is guided by the parent's side only. */
#include "luabox.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What dagrun says when the evaluating process dies (a crash, a sanitizer
 * report): a script's own messages always carry a line after the name. */
#define DIED "cfg.lua: the config stopped without an answer ("

static char dir[512], lua_path[600];

static void cleanup(void)
{
	unlink(lua_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/dagrun-fuzz-lua-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(lua_path, sizeof(lua_path), "%s/cfg.lua", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *out = NULL;
	struct err err;
	FILE *f = fopen(lua_path, "wb");

	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	err_init(&err);
	if (luabox_eval_config(lua_path, "cfg.lua", &out, &err) == 0) {
		assert(json_is_object(out) || json_is_array(out));
		json_decref(out);
	} else {
		assert(out == NULL);
		assert(err.kind == ERR_USER || err.kind == ERR_IO);
		assert(err.msg[0]);
		if (!strncmp(err.msg, DIED, strlen(DIED))) {
			fprintf(stderr, "fuzz_lua_config: the evaluating process "
				"died: %s\n", err.msg);
			abort();
		}
	}
	return 0;
}
