/* quick: see quick.h. */
#include "quick.h"
#include "fetch.h"
#include "cli.h"
#include "fs.h"
#include "hash.h"
#include "kernel.h"
#include "pipeline.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The plan's key: which pipeline, with which salt and targets. */
static void plan_key(const char *abs_path, const char *salt, const char *targets,
		     char out[HASH_HEX_LEN])
{
	struct strbuf sb;
	struct hash h;

	sb_init(&sb);
	sb_addf(&sb, "%s\n%s\n%s", abs_path, salt ? salt : "", targets ? targets : "");
	hash_bytes(sb.buf, sb.len, &h);
	hash_to_hex(&h, out);
	sb_release(&sb);
}

/* The store's stamp: the mtime of each objects/xx folder, which changes
 * whenever an object is added to it or removed from it (by gc, by a
 * modified object found and removed, or by hand). 256 stats at most,
 * instead of one per output. */
static void store_stamp(struct state *st, struct strbuf *sb)
{
	char *objects = fs_join(state_dir(st), "objects");
	struct dirent *de;
	struct stat sbuf;
	DIR *d = opendir(objects);

	if (!d) {
		free(objects);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 2 || de->d_name[0] == '.')
			continue;   /* not "..", whose mtime is the state folder's */
		char *sub = fs_join(objects, de->d_name);
		if (stat(sub, &sbuf) == 0)
			sb_addf(sb, "objects/%s\t%lld.%09ld\n", de->d_name,
				(long long)sbuf.st_mtim.tv_sec, sbuf.st_mtim.tv_nsec);
		free(sub);
	}
	closedir(d);
	free(objects);
}

/* Fingerprint the files of 'files' (a JSON array); -1 if one is missing. */
static int fingerprint(struct state *state, const char *root, json_t *files,
		       const char *salt, const char *targets, char out[HASH_HEX_LEN])
{
	const struct kernel *const *ks;
	struct strbuf sb;
	struct stat st;
	struct hash h;
	json_t *f;
	size_t i;
	int n, k, rc = 0;

	sb_init(&sb);
	sb_addf(&sb, "dagrun-quick-1\n%s\n%s\n%s\n", DAGRUN_VERSION,
		salt ? salt : "", targets ? targets : "");
	ks = kernel_list(&n);
	for (k = 0; k < n; k++)
		sb_addf(&sb, "%s=%d\n", ks[k]->name, ks[k]->version);
	json_array_foreach(files, i, f) {
		char *full = fs_join(root, json_string_value(f));
		if (stat(full, &st) < 0) {
			rc = -1;
		} else {
			sb_addf(&sb, "%s\t%lld\t%lld.%09ld\t%llu\n", json_string_value(f),
				(long long)st.st_size, (long long)st.st_mtim.tv_sec,
				st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
		}
		free(full);
	}
	store_stamp(state, &sb);
	hash_bytes(sb.buf, sb.len, &h);
	hash_to_hex(&h, out);
	sb_release(&sb);
	return rc;
}

int64_t quick_check(struct state *st, const char *abs_path, const char *root,
		    const char *salt, const char *targets, int *n_nodes,
		    char **files)
{
	struct state_plan plan;
	char key[HASH_HEX_LEN], fp[HASH_HEX_LEN];
	json_t *list;
	int64_t run = 0;

	plan_key(abs_path, salt, targets, key);
	if (!state_plan_get(st, key, &plan))
		return 0;
	list = json_loads(plan.files, 0, NULL);
	if (json_is_array(list) && plan.generation == state_generation(st) &&
	    fingerprint(st, root, list, salt, targets, fp) == 0 &&
	    !strcmp(fp, plan.fingerprint)) {
		run = plan.run_id;
		*n_nodes = plan.n_nodes;
		*files = plan.files;
		plan.files = NULL;
	}
	json_decref(list);
	free(plan.files);
	return run;
}

/* Every file a key of 'p' reads, root-relative, without repeats. */
static json_t *pipeline_files(const struct pipeline *p)
{
	json_t *files = json_array(), *seen = json_object();
	int i, k;

	json_array_append_new(files, json_string(p->rel_path));
	if (p->params_file)
		json_array_append_new(files, json_string(p->params_file));
	for (i = 0; i < p->n_nodes; i++) {
		const struct node *nd = &p->nodes[i];
		for (k = -1; k < nd->n_deps; k++) {
			const char *path = k < 0 ? nd->script : nd->deps[k];
			if (!path || json_object_get(seen, path))
				continue;
			json_object_set_new(seen, path, json_true());
			json_array_append_new(files, json_string(path));
		}
	}
	json_decref(seen);
	return files;
}

int quick_remember(struct state *st, const struct pipeline *p,
		   const char *salt, const char *targets, int64_t run_id,
		   struct err *err)
{
	struct state_plan plan;
	char key[HASH_HEX_LEN];
	json_t *files;
	int i, rc = 0;

	for (i = 0; i < p->n_nodes; i++) {
		int k;
		if (p->nodes[i].nondeterministic)
			return 0;   /* it must run every time */
		for (k = 0; k < p->nodes[i].n_deps; k++)
			if (fetch_is_url(p->nodes[i].deps[k]))
				return 0;   /* a URL is revalidated every time */
	}
	files = pipeline_files(p);
	memset(&plan, 0, sizeof(plan));
	plan_key(p->abs_path, salt, targets, key);
	if (fingerprint(st, p->root, files, salt, targets, plan.fingerprint) == 0) {
		plan.generation = state_generation(st);
		plan.run_id = run_id;
		plan.files = json_dumps(files, JSON_COMPACT);
		plan.n_nodes = p->n_nodes;
		rc = state_plan_put(st, key, &plan, err);
		free(plan.files);
	}
	json_decref(files);
	return rc;
}
