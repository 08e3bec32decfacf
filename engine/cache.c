/* cache: see cache.h. */
#include "cache.h"
#include "fetch.h"
#include "fs.h"
#include "pipeline.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))

int cache_file_hash(struct state *st, const char *root, const char *path,
		    struct hash *out, struct err *err)
{
	char *full;
	struct stat sb;
	int64_t mtime;
	int rc = 0;

	if (fetch_is_url(path))
		return fetch_url(state_dir(st), path, out, err);
	full = fs_join(root, path);
	if (stat(full, &sb) < 0) {
		err_set(err, ERR_USER, "cannot read '%s': %s", path, strerror(errno));
		free(full);
		return -1;
	}
	mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	if (!state_memo_get(st, full, (int64_t)sb.st_size, mtime,
			    (int64_t)sb.st_ino, out)) {
		rc = hash_file(full, out, err);
		if (rc == 0)
			state_memo_put(st, full, (int64_t)sb.st_size, mtime,
				       (int64_t)sb.st_ino, out);
	}
	free(full);
	return rc;
}

static json_t *hex_json(const struct hash *h)
{
	char hex[HASH_HEX_LEN];

	hash_to_hex(h, hex);
	return json_string(hex);
}

static json_t *code_json(struct state *st, const struct pipeline *p,
			 const struct node *nd, struct err *err)
{
	struct hash h;

	if (nd->kind == NODE_SHELL) {
		hash_str(nd->cmd, &h);
		return hex_json(&h);
	}
	if (nd->kind == NODE_LUA) {
		if (cache_file_hash(st, p->root, nd->script, &h, err) < 0)
			return NULL;
		return hex_json(&h);
	}
	return json_null();
}

int cache_key(struct state *st, const struct pipeline *p, int i,
	      const struct hash *inputs, const char *salt,
	      struct cache_key *out, struct err *err)
{
	const struct node *nd = &p->nodes[i];
	json_t *doc, *ins = json_array(), *deps = json_array(), *code;
	struct hash h;
	int k;

	for (k = 0; k < nd->n_needs; k++)
		json_array_append_new(ins, json_pack("{s:s,s:o}", "name",
			p->nodes[nd->needs[k]].id, "hash", hex_json(&inputs[k])));
	for (k = 0; k < nd->n_deps; k++) {
		if (cache_file_hash(st, p->root, nd->deps[k], &h, err) < 0)
			goto fail;
		json_array_append_new(deps, json_pack("{s:s,s:o}", "path",
			nd->deps[k], "hash", hex_json(&h)));
	}
	code = code_json(st, p, nd, err);
	if (!code)
		goto fail;
	doc = json_pack("{s:i,s:s,s:i,s:O,s:o,s:o,s:o,s:s?}", "format",
		CACHE_FORMAT, "task", nd->task, "task_version",
		nd->kernel ? nd->kernel->version : 1, "params", nd->params,
		"inputs", ins, "deps", deps, "code", code, "salt", salt);
	out->doc = json_dumps(doc, CANON_FLAGS);
	json_decref(doc);
	hash_str(out->doc, &h);
	hash_to_hex(&h, out->hex);
	return 0;
fail:
	json_decref(ins);
	json_decref(deps);
	return -1;
}

void cache_key_release(struct cache_key *k)
{
	free(k->doc);
	k->doc = NULL;
}

/* Names of the members that differ between two objects, by key. */
static void object_diff(json_t *a, json_t *b, struct strbuf *sb)
{
	const char *k;
	json_t *v;
	int n = 0;

	json_object_foreach(b, k, v)
		if (!json_equal(v, json_object_get(a, k)))
			sb_addf(sb, "%s%s", n++ ? ", " : "", k);
	json_object_foreach(a, k, v)
		if (!json_object_get(b, k))
			sb_addf(sb, "%s%s (removed)", n++ ? ", " : "", k);
}

/* The {name|path: hash} items of a key's input or dep list as an object. */
static json_t *by_name(json_t *list, const char *field)
{
	json_t *o = json_object(), *it;
	size_t i;

	json_array_foreach(list, i, it)
		json_object_set(o, json_string_value(json_object_get(it, field)),
				json_object_get(it, "hash"));
	return o;
}

static int list_reasons(json_t *a, json_t *b, const char *field,
			const char *what, struct strbuf *sb, int n)
{
	json_t *oa = by_name(json_object_get(a, field), what[0] == 'i' ? "name" : "path");
	json_t *ob = by_name(json_object_get(b, field), what[0] == 'i' ? "name" : "path");
	const char *k;
	json_t *v;

	json_object_foreach(ob, k, v) {
		json_t *old = json_object_get(oa, k);
		if (!old)
			sb_addf(sb, "%snew %s %s", n++ ? "; " : "", what, k);
		else if (!json_equal(old, v))
			sb_addf(sb, "%s%s %s changed", n++ ? "; " : "", what, k);
	}
	json_object_foreach(oa, k, v)
		if (!json_object_get(ob, k))
			sb_addf(sb, "%s%s %s removed", n++ ? "; " : "", what, k);
	json_decref(oa);
	json_decref(ob);
	return n;
}

int cache_explain(const char *before, const char *now, struct strbuf *sb)
{
	json_t *a, *b;
	int n = 0;

	if (!before) {
		sb_adds(sb, "new node (never run before)");
		return 1;
	}
	a = json_loads(before, 0, NULL);
	b = json_loads(now, 0, NULL);
	if (!json_equal(json_object_get(a, "format"), json_object_get(b, "format")))
		sb_addf(sb, "%skey format changed", n++ ? "; " : "");
	if (!json_equal(json_object_get(a, "task"), json_object_get(b, "task")))
		sb_addf(sb, "%stask changed", n++ ? "; " : "");
	else if (!json_equal(json_object_get(a, "task_version"), json_object_get(b, "task_version")))
		sb_addf(sb, "%stask version changed (%lld -> %lld)", n++ ? "; " : "",
			json_integer_value(json_object_get(a, "task_version")),
			json_integer_value(json_object_get(b, "task_version")));
	if (!json_equal(json_object_get(a, "params"), json_object_get(b, "params"))) {
		sb_addf(sb, "%sparams changed (", n++ ? "; " : "");
		object_diff(json_object_get(a, "params"), json_object_get(b, "params"), sb);
		sb_addc(sb, ')');
	}
	n = list_reasons(a, b, "inputs", "input", sb, n);
	n = list_reasons(a, b, "deps", "dep file", sb, n);
	if (!json_equal(json_object_get(a, "code"), json_object_get(b, "code")))
		sb_addf(sb, "%scode changed", n++ ? "; " : "");
	if (!json_equal(json_object_get(a, "salt"), json_object_get(b, "salt")))
		sb_addf(sb, "%ssalt changed", n++ ? "; " : "");
	json_decref(a);
	json_decref(b);
	return n;
}

void cache_print_diff(const char *before, const char *now, struct strbuf *sb)
{
	static const char *const parts[] = {
		"format", "task", "task_version", "params", "inputs", "deps",
		"code", "salt", NULL
	};
	json_t *a = before ? json_loads(before, 0, NULL) : NULL;
	json_t *b = json_loads(now, 0, NULL);
	int i;

	for (i = 0; parts[i]; i++) {
		json_t *va = a ? json_object_get(a, parts[i]) : NULL;
		json_t *vb = json_object_get(b, parts[i]);
		char *ta = va ? json_dumps(va, CANON_FLAGS | JSON_ENCODE_ANY) : NULL;
		char *tb = json_dumps(vb, CANON_FLAGS | JSON_ENCODE_ANY);
		int same = a && json_equal(va, vb);
		sb_addf(sb, "  %s %-12s %s\n", same ? " " : "*", parts[i], tb ? tb : "null");
		if (!same && a)
			sb_addf(sb, "    %-12s was %s\n", "", ta ? ta : "(absent)");
		free(ta);
		free(tb);
	}
	json_decref(a);
	json_decref(b);
}
