/* fuzz_pipeline: libFuzzer target for pipeline_load(), the YAML loader.
 *
 * pipeline_load() takes a path, so each input is written to p.yaml in a
 * scratch project made once per process.  The project also holds a small
 * Lua config (cfg.lua), a glue script and a data file, so that inputs the
 * fuzzer grows from the seeds reach the '${...}' substitution, 'params:'
 * evaluation, 'deps' and kernel schema checks, not only the YAML parser.
 * The project has no .git, so its root is the scratch folder itself.
 *
 * What is checked: no crash and no sanitizer report (ASan, UBSan, leaks);
 * a failure must come with a message; a success must satisfy the
 * invariants pipeline.h promises (needs are valid indices, ids unique,
 * params an object). */
#include "pipeline.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 512: room for "/tmp/dagrun-fuzz-pipeline-XXXXXX/p.yaml" and then some */
static char dir[512], yaml_path[512];

static void put(const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* Remove the scratch project when the fuzzer exits. */
static void cleanup(void)
{
	const char *names[] = {"p.yaml", "cfg.lua", "glue.lua", "data.csv",
			       "run.sh", NULL};
	char path[600];
	int i;

	for (i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/dagrun-fuzz-pipeline-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(yaml_path, sizeof(yaml_path), "%s/p.yaml", dir);
	put("cfg.lua", "local lr = 1e-3\n"
	    "return {gru = {hidden = 64, lr = lr, layers = {1, 2}},\n"
	    "        lstm = {hidden = 32, name = \"x\"}, n = 3, s = \"a b\",\n"
	    "        flag = true, list = {\"a\", \"b\"}}\n");
	put("glue.lua", "dagrun.write('x.txt', 'x')\n");
	put("data.csv", "timestamp,value\n2020-01-01,1\n2020-01-02,2\n");
	put("run.sh", "echo hi\n");
	atexit(cleanup);
	return 0;
}

/* 1000: the pairwise id check is quadratic; a matrix may expand to 10000 */
#define CHECK_IDS_MAX 1000

static void check_invariants(const struct pipeline *p)
{
	int i, k, j;

	assert(p->n_nodes > 0);
	for (i = 0; i < p->n_nodes; i++) {
		const struct node *nd = &p->nodes[i];
		assert(nd->id && nd->id[0]);
		assert(json_is_object(nd->params));
		for (k = 0; k < nd->n_needs; k++) {
			assert(nd->needs[k] >= 0 && nd->needs[k] < p->n_nodes);
			assert(nd->needs[k] != i);
		}
		if (p->n_nodes > CHECK_IDS_MAX)
			continue;
		for (j = 0; j < i; j++)
			assert(strcmp(nd->id, p->nodes[j].id) != 0);
		assert(pipeline_find(p, nd->id) == i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipeline *p = NULL;
	struct err err;
	FILE *f = fopen(yaml_path, "wb");

	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	err_init(&err);
	if (pipeline_load(yaml_path, &p, &err) == 0) {
		check_invariants(p);
		pipeline_free(p);
	} else {
		assert(err.kind != ERR_NONE && err.msg[0]);
		assert(p == NULL);
	}
	return 0;
}
