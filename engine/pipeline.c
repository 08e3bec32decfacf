/* pipeline: see pipeline.h.
 *
 * Loading goes in passes over the libyaml document tree, whose nodes keep
 * their marks (line and column), so that every message can point at the
 * exact place: the top level, then each node's fields into a 'struct
 * spec', then matrix expansion into the node table, then 'needs', then
 * the cycle check.  Errors are gathered, not returned at the first one;
 * a pass whose input is already wrong is skipped so that one mistake is
 * not reported twice. */
#include "pipeline.h"
#include "fetch.h"
#include "dag.h"
#include "events.h"
#include "fs.h"
#include "luabox.h"
#include "strbuf.h"
#include "strmap.h"
#include "subst.h"
#include "webhook.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

/* 10000: a matrix larger than this is almost surely a typo */
#define MATRIX_MAX 10000

/* The YAML fields of one node, before matrix expansion. */
struct spec {
	yaml_node_t *key;
	yaml_node_t *task, *needs, *params, *cmd, *script, *deps, *matrix;
	yaml_node_t *retries, *timeout, *resources, *nondet, *desc, *executor;
};

struct loader {
	const char *file;        /* the pipeline path as given */
	yaml_document_t doc;
	struct err *err;
	struct pipeline *p;
	size_t cap;              /* of p->nodes */
	struct spec **origin;    /* per built node: its spec */
	struct strmap ids;
	int config_failed;       /* references cannot be checked */
};

static const char *const node_fields[] = {
	"task", "needs", "params", "cmd", "script", "deps", "matrix", "retries",
	"timeout", "resources", "nondeterministic", "description", "executor",
	NULL
};

/* Append "file:line:col: message" for YAML node 'n'. */
static void perr(struct loader *L, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void perr(struct loader *L, yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_append(L->err, ERR_USER, "%s:%lu:%lu: %s", L->file,
		   n ? (unsigned long)n->start_mark.line + 1 : 1UL,
		   n ? (unsigned long)n->start_mark.column + 1 : 1UL, msg);
}

static char *where(struct loader *L, yaml_node_t *n)
{
	return xasprintf("%s:%lu:%lu", L->file,
			 (unsigned long)n->start_mark.line + 1,
			 (unsigned long)n->start_mark.column + 1);
}

static yaml_node_t *ynode(struct loader *L, int id)
{
	return yaml_document_get_node(&L->doc, id);
}

static const char *sval(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static const char *kind_name(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* ---- scalars and values ------------------------------------------ */

static int is_int_text(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s))
		return 0;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

static int is_float_text(const char *s)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return 0;
	if (!strpbrk(s, "0123456789"))
		return 0;
	errno = 0;
	strtod(s, &end);
	return *end == '\0' && !strpbrk(s, "xXpPnNiI");
}

/* A plain scalar under YAML 1.2's core schema; quoted ones are strings. */
static json_t *plain_scalar(struct loader *L, yaml_node_t *n)
{
	const char *s = sval(n);

	if (!strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") ||
	    !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (is_int_text(s)) {
		errno = 0;
		long long v = strtoll(s, NULL, 10);
		if (errno == 0)
			return json_integer(v);
	}
	if (is_float_text(s))
		return json_real(strtod(s, NULL));
	if (!strcmp(s, ".nan") || !strcmp(s, ".inf") || !strcmp(s, "-.inf")) {
		perr(L, n, "'%s' has no JSON form (expected a finite number)", s);
		return NULL;
	}
	return NULL;  /* not special: a string */
}

static json_t *scalar_json(struct loader *L, yaml_node_t *n)
{
	char msg[1024];
	json_t *v;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		size_t before = (size_t)L->err->count;
		v = plain_scalar(L, n);
		if (v || (size_t)L->err->count != before)
			return v;
	}
	if (L->config_failed && subst_has_ref(sval(n)))
		return NULL;   /* the config's own error says why */
	v = subst_resolve(L->p->config, sval(n), msg, sizeof(msg));
	if (!v)
		perr(L, n, "%s", msg);
	return v;
}

static json_t *to_json(struct loader *L, yaml_node_t *n, json_t *locs);

/* locs[key] = "file:line:col" of 'n', for per-param messages. */
static void set_loc(struct loader *L, json_t *locs, const char *key,
		    yaml_node_t *n)
{
	char *w = where(L, n);

	json_object_set_new(locs, key, json_string(w));
	free(w);
}

/* A mapping as an object; duplicate or non-scalar keys are errors.
 * When 'locs' is given, it gets "key" -> "file:line:col" of each value. */
static json_t *mapping_json(struct loader *L, yaml_node_t *n, json_t *locs)
{
	json_t *obj = json_object(), *v;
	yaml_node_pair_t *pr;
	int ok = 1;

	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode(L, pr->key), *val = ynode(L, pr->value);
		if (k->type != YAML_SCALAR_NODE) {
			perr(L, k, "a key must be a plain name, found %s", kind_name(k));
			ok = 0;
			continue;
		}
		if (json_object_get(obj, sval(k))) {
			perr(L, k, "duplicate key '%s' (each key may appear once)", sval(k));
			ok = 0;
			continue;
		}
		v = to_json(L, val, NULL);
		if (!v) {
			ok = 0;
			continue;
		}
		json_object_set_new(obj, sval(k), v);
		if (locs)
			set_loc(L, locs, sval(k), val);
	}
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *to_json(struct loader *L, yaml_node_t *n, json_t *locs)
{
	json_t *arr, *v;
	yaml_node_item_t *it;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_json(L, n);
	case YAML_MAPPING_NODE:
		return mapping_json(L, n, locs);
	case YAML_SEQUENCE_NODE:
		arr = json_array();
		for (it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			v = to_json(L, ynode(L, *it), NULL);
			if (!v) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	default:
		perr(L, n, "empty value");
		return NULL;
	}
}

/* A scalar field that must be a string, with ${} resolved. */
static char *field_string(struct loader *L, yaml_node_t *n, const char *what)
{
	json_t *v;
	char *s;

	if (n->type != YAML_SCALAR_NODE) {
		perr(L, n, "'%s' must be a string, found %s", what, kind_name(n));
		return NULL;
	}
	v = scalar_json(L, n);
	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		perr(L, n, "'%s' must be a string, found '%s'", what, sval(n));
		json_decref(v);
		return NULL;
	}
	s = xstrdup(json_string_value(v));
	json_decref(v);
	return s;
}

/* A field that must be a number in [lo, hi]; -1 on error. */
static int field_number(struct loader *L, yaml_node_t *n, const char *what,
			double lo, double hi, int integer, double *out)
{
	json_t *v = n->type == YAML_SCALAR_NODE ? scalar_json(L, n) : NULL;
	int ok = v && json_is_number(v) && (!integer || json_is_integer(v));

	if (ok) {
		*out = json_number_value(v);
		ok = *out >= lo && *out <= hi;
	}
	json_decref(v);
	if (!ok)
		perr(L, n, "'%s' must be %s between %g and %g, found %s%s%s", what,
		     integer ? "an integer" : "a number", lo, hi,
		     n->type == YAML_SCALAR_NODE ? "'" : "",
		     n->type == YAML_SCALAR_NODE ? sval(n) : kind_name(n),
		     n->type == YAML_SCALAR_NODE ? "'" : "");
	return ok ? 0 : -1;
}

/* A list of strings (a single string counts as a list of one). Returns
 * the count and sets *out (caller frees each and the array), or -1. */
static int field_strings(struct loader *L, yaml_node_t *n, const char *what,
			 char ***out, yaml_node_t ***items)
{
	yaml_node_item_t *it;
	int cnt = 0, bad = 0;
	size_t cap = 0;
	char **v = NULL;
	yaml_node_t **at = NULL;

	if (n->type == YAML_MAPPING_NODE) {
		perr(L, n, "'%s' must be a list of strings, found a mapping", what);
		return -1;
	}
	if (n->type == YAML_SCALAR_NODE) {
		if (sval(n)[0] == '\0' && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			*out = NULL;
			return 0;
		}
		v = xmalloc(sizeof(*v));
		at = xmalloc(sizeof(*at));
		v[0] = field_string(L, n, what);
		at[0] = n;
		if (!v[0]) {
			free(v);
			free(at);
			return -1;
		}
		*out = v;
		if (items)
			*items = at;
		else
			free(at);
		return 1;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = ynode(L, *it);
		char *s = field_string(L, item, what);
		if (!s) {
			bad = 1;
			continue;
		}
		xgrow((void **)&v, sizeof(*v), &cap, (size_t)cnt + 1);
		at = xrealloc(at, cap * sizeof(*at));
		v[cnt] = s;
		at[cnt++] = item;
	}
	if (bad) {
		while (cnt > 0)
			free(v[--cnt]);
		free(v);
		free(at);
		return -1;
	}
	*out = v;
	if (items)
		*items = at;
	else
		free(at);
	return cnt;
}

static void free_strings(char **v, int n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/* ---- the top level and node specs --------------------------------- */

static int valid_node_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static void list_fields(char *out, size_t n)
{
	size_t at = 0;
	int i;

	for (i = 0; node_fields[i]; i++)
		at += (size_t)snprintf(out + at, n - at, "%s%s", i ? ", " : "",
				       node_fields[i]);
}

static int read_spec(struct loader *L, yaml_node_t *key, yaml_node_t *val,
		     struct spec *sp)
{
	yaml_node_pair_t *pr;
	char fields[256];
	int ok = 1;

	memset(sp, 0, sizeof(*sp));
	sp->key = key;
	if (!valid_node_name(sval(key))) {
		perr(L, key, "bad node name '%s' (expected letters, digits, '_', "
		     "'-' or '.')", sval(key));
		ok = 0;
	}
	if (val->type != YAML_MAPPING_NODE) {
		perr(L, val, "node '%s' must be a mapping of fields (task, needs, "
		     "params, ...), found %s", sval(key), kind_name(val));
		return -1;
	}
	for (pr = val->data.mapping.pairs.start; pr < val->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode(L, pr->key), *v = ynode(L, pr->value);
		yaml_node_t **slot = NULL;
		const char *f = k->type == YAML_SCALAR_NODE ? sval(k) : "";

		if (!strcmp(f, "task")) slot = &sp->task;
		else if (!strcmp(f, "needs")) slot = &sp->needs;
		else if (!strcmp(f, "params")) slot = &sp->params;
		else if (!strcmp(f, "cmd")) slot = &sp->cmd;
		else if (!strcmp(f, "script")) slot = &sp->script;
		else if (!strcmp(f, "deps")) slot = &sp->deps;
		else if (!strcmp(f, "matrix")) slot = &sp->matrix;
		else if (!strcmp(f, "retries")) slot = &sp->retries;
		else if (!strcmp(f, "timeout")) slot = &sp->timeout;
		else if (!strcmp(f, "resources")) slot = &sp->resources;
		else if (!strcmp(f, "nondeterministic")) slot = &sp->nondet;
		else if (!strcmp(f, "description")) slot = &sp->desc;
		else if (!strcmp(f, "executor")) slot = &sp->executor;
		if (!slot) {
			list_fields(fields, sizeof(fields));
			perr(L, k, "unknown field '%s' in node '%s' (expected one "
			     "of: %s)", f, sval(key), fields);
			ok = 0;
		} else if (*slot) {
			perr(L, k, "duplicate field '%s' in node '%s'", f, sval(key));
			ok = 0;
		} else {
			*slot = v;
		}
	}
	return ok ? 0 : -1;
}

/* ---- building nodes ----------------------------------------------- */

static struct node *add_node(struct loader *L, struct spec *sp)
{
	struct node *nd;
	size_t old = L->cap;

	xgrow((void **)&L->p->nodes, sizeof(struct node), &L->cap,
	      (size_t)L->p->n_nodes + 1);
	if (L->cap != old)
		L->origin = xrealloc(L->origin, L->cap * sizeof(*L->origin));
	L->origin[L->p->n_nodes] = sp;
	nd = &L->p->nodes[L->p->n_nodes++];
	memset(nd, 0, sizeof(*nd));
	nd->cpus = 1;
	nd->line = (int)sp->key->start_mark.line + 1;
	nd->col = (int)sp->key->start_mark.column + 1;
	return nd;
}

/* A root-relative path that must name an existing regular file. */
static int check_file(struct loader *L, struct node *nd, const char *path,
		      yaml_node_t *at)
{
	struct stat st;
	char *full;
	int found;

	if (!*path) {
		perr(L, at, "empty file path in node '%s'", nd->id);
		return -1;
	}
	full = fs_join(L->p->root, path);
	found = stat(full, &st) == 0;
	free(full);
	if (!found || !S_ISREG(st.st_mode)) {
		perr(L, at, "file '%s' of node '%s' %s (expected a file under %s)",
		     path, nd->id, found ? "is not a regular file" :
		     "does not exist", L->p->root);
		return -1;
	}
	return 0;
}

static int add_dep(struct loader *L, struct node *nd, const char *path,
		   yaml_node_t *at)
{
	int i;

	if (check_file(L, nd, path, at) < 0)
		return -1;
	for (i = 0; i < nd->n_deps; i++)
		if (!strcmp(nd->deps[i], path))
			return 0;
	nd->deps = xrealloc(nd->deps, (size_t)(nd->n_deps + 1) * sizeof(char *));
	nd->deps[nd->n_deps++] = xstrdup(path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* File params of a kernel (PT_PATH: a file or a URL) are deps too. */
static int kernel_path_deps(struct loader *L, struct node *nd, yaml_node_t *at)
{
	const struct param_spec *ps;
	int rc = 0;

	for (ps = nd->kernel->params; ps->name; ps++) {
		json_t *v = json_object_get(nd->params, ps->name);
		if (ps->type != PT_PATH || !json_is_string(v))
			continue;
		if (fetch_is_url(json_string_value(v))) {
			/* fetched when the key is computed (fetch.h) */
			nd->deps = xrealloc(nd->deps, (size_t)(nd->n_deps + 1) * sizeof(char *));
			nd->deps[nd->n_deps++] = xstrdup(json_string_value(v));
			continue;
		}
		if (strstr(json_string_value(v), "://")) {
			perr(L, at, "param '%s' of node '%s': '%s' is not a file or an "
			     "http:// or https:// URL", ps->name, nd->id,
			     json_string_value(v));
			rc = -1;
			continue;
		}
		if (add_dep(L, nd, json_string_value(v), at) < 0)
			rc = -1;
	}
	return rc;
}

static int resolve_task(struct loader *L, struct spec *sp, struct node *nd)
{
	if (sp->task) {
		nd->task = field_string(L, sp->task, "task");
		if (!nd->task)
			return -1;
	} else if (sp->cmd) {
		nd->task = xstrdup("shell");
	} else if (sp->script) {
		nd->task = xstrdup("lua");
	} else {
		perr(L, sp->key, "node '%s' has no 'task' (expected 'task: shell' "
		     "with 'cmd', 'task: lua' with 'script', or a kernel such as "
		     "'data.load')", sval(sp->key));
		return -1;
	}
	if (!strcmp(nd->task, "shell")) {
		nd->kind = NODE_SHELL;
		if (!sp->cmd)
			perr(L, sp->key, "shell node '%s' needs a 'cmd'", nd->id);
		else
			nd->cmd = field_string(L, sp->cmd, "cmd");
		return nd->cmd ? 0 : -1;
	}
	if (!strcmp(nd->task, "lua")) {
		nd->kind = NODE_LUA;
		if (!sp->script)
			perr(L, sp->key, "lua node '%s' needs a 'script'", nd->id);
		else
			nd->script = field_string(L, sp->script, "script");
		if (nd->script && check_file(L, nd, nd->script, sp->script) < 0)
			return -1;
		return nd->script ? 0 : -1;
	}
	nd->kind = NODE_KERNEL;
	nd->kernel = kernel_find(nd->task);
	if (!nd->kernel) {
		perr(L, sp->task ? sp->task : sp->key, "unknown task '%s' in node "
		     "'%s' (expected shell, lua, or a kernel: see 'dagrun help "
		     "tasks')", nd->task, nd->id);
		return -1;
	}
	if (sp->cmd || sp->script)
		perr(L, sp->cmd ? sp->cmd : sp->script, "kernel node '%s' takes "
		     "no '%s'", nd->id, sp->cmd ? "cmd" : "script");
	return sp->cmd || sp->script ? -1 : 0;
}

static int resolve_params(struct loader *L, struct spec *sp, struct node *nd,
			  json_t *assign)
{
	json_t *raw = NULL, *locs = json_object(), *checked;
	const char *k;
	json_t *v;
	char *at;
	int rc = 0;

	if (sp->params) {
		raw = to_json(L, sp->params, locs);
		if (!raw)
			goto fail;
		if (json_is_null(raw)) {
			json_decref(raw);
			raw = NULL;
		} else if (!json_is_object(raw)) {
			perr(L, sp->params, "'params' of node '%s' must be a mapping "
			     "(or a '${...}' reference to a table), found %s",
			     nd->id, json_is_array(raw) ? "a list" : "a scalar");
			goto fail;
		}
	}
	if (!raw)
		raw = json_object();
	json_object_foreach(assign, k, v)
		json_object_set(raw, k, v);
	if (nd->kind != NODE_KERNEL) {
		nd->params = raw;
		json_decref(locs);
		return 0;
	}
	/* an axis that is not a param of the kernel only pairs this node
	 * with the expansions of a need (resolve_needs) */
	json_object_foreach(assign, k, v)
		if (!kernel_param(nd->kernel, k))
			json_object_del(raw, k);
	at = where(L, sp->params ? sp->params : sp->key);
	json_object_foreach(assign, k, v)
		if (kernel_param(nd->kernel, k))
			set_loc(L, locs, k, sp->matrix);
	checked = kernel_check_params(nd->kernel, raw, locs, at, L->err);
	free(at);
	json_decref(raw);
	raw = NULL;
	if (!checked)
		goto fail;
	nd->params = checked;
	rc = kernel_path_deps(L, nd, sp->params ? sp->params : sp->key);
	json_decref(locs);
	return rc;
fail:
	json_decref(raw);
	json_decref(locs);
	nd->params = json_object();
	return -1;
}

static int resolve_resources(struct loader *L, yaml_node_t *n, struct node *nd)
{
	yaml_node_pair_t *pr;
	double v;
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE) {
		perr(L, n, "'resources' must be a mapping of cpus, mem_mb, gpus; "
		     "found %s", kind_name(n));
		return -1;
	}
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode(L, pr->key), *val = ynode(L, pr->value);
		const char *f = k->type == YAML_SCALAR_NODE ? sval(k) : "";
		if (!strcmp(f, "cpus") && !field_number(L, val, "cpus", 1, 4096, 1, &v))
			nd->cpus = (int)v;
		else if (!strcmp(f, "mem_mb") && !field_number(L, val, "mem_mb", 0, 1e9, 1, &v))
			nd->mem_mb = (long)v;
		else if (!strcmp(f, "gpus") && !field_number(L, val, "gpus", 0, 1024, 1, &v))
			nd->gpus = (int)v;
		else if (strcmp(f, "cpus") && strcmp(f, "mem_mb") && strcmp(f, "gpus")) {
			perr(L, k, "unknown resource '%s' (expected one of: cpus, "
			     "mem_mb, gpus)", f);
			rc = -1;
		} else {
			rc = -1;
		}
	}
	return rc;
}

/* Scalar fields that do not depend on the matrix assignment. */
static int resolve_fields(struct loader *L, struct spec *sp, struct node *nd)
{
	char **deps;
	yaml_node_t **at;
	double v;
	int i, n, rc = 0;

	if (sp->retries && !(rc |= field_number(L, sp->retries, "retries", 0, 100, 1, &v)))
		nd->retries = (int)v;
	if (sp->timeout && !(rc |= field_number(L, sp->timeout, "timeout", 0.001, 1e9, 0, &v)))
		nd->timeout = v;
	if (sp->resources)
		rc |= resolve_resources(L, sp->resources, nd);
	if (sp->nondet) {
		json_t *b = sp->nondet->type == YAML_SCALAR_NODE ? scalar_json(L, sp->nondet) : NULL;
		if (!json_is_boolean(b)) {
			perr(L, sp->nondet, "'nondeterministic' must be true or false");
			rc = -1;
		}
		nd->nondeterministic = json_is_true(b);
		json_decref(b);
	}
	if (sp->executor) {
		char *e = field_string(L, sp->executor, "executor");
		if (e && strcmp(e, "local") && strcmp(e, "slurm")) {
			perr(L, sp->executor, "unknown executor '%s' (expected: local "
			     "or slurm)", e);
			rc = -1;
		}
		if (e)
			nd->executor = strcmp(e, "slurm") ? NODE_EXEC_LOCAL : NODE_EXEC_SLURM;
		rc |= e ? 0 : -1;
		free(e);
	}
	if (sp->desc && sp->desc->type != YAML_SCALAR_NODE) {
		perr(L, sp->desc, "'description' must be a string");
		rc = -1;
	}
	if (sp->deps) {
		n = field_strings(L, sp->deps, "deps", &deps, &at);
		for (i = 0; i < n; i++)
			rc |= add_dep(L, nd, deps[i], at[i]);
		if (n > 0) {
			free_strings(deps, n);
			free(at);
		}
		rc |= n < 0 ? -1 : 0;
	}
	return rc ? -1 : 0;
}

static int build_node(struct loader *L, struct spec *sp, const char *id,
		      json_t *assign)
{
	struct node *nd = add_node(L, sp);
	int rc = 0;

	nd->name = xstrdup(sval(sp->key));
	nd->id = xstrdup(id);
	nd->matrix = assign ? json_incref(assign) : NULL;
	if (resolve_task(L, sp, nd) < 0)
		rc = -1;
	if (rc == 0 && resolve_params(L, sp, nd, assign) < 0)
		rc = -1;
	if (!nd->params)
		nd->params = json_object();
	if (resolve_fields(L, sp, nd) < 0)
		rc = -1;
	if (nd->n_deps > 1)
		qsort(nd->deps, (size_t)nd->n_deps, sizeof(char *), cmp_str);
	if (strmap_put(&L->ids, nd->id, L->p->n_nodes - 1) >= 0) {
		perr(L, sp->key, "duplicate node '%s'", nd->id);
		rc = -1;
	}
	return rc;
}

/* One matrix axis: its name and values with their text for ids. */
struct axis {
	const char *name;
	json_t *values;   /* array */
	char **texts;
	size_t n;
};

/* 't' with '%' and '/' written as %25 and %2F, so that a node id stays
 * one folder name (logs, DAGRUN_IN/<id>) whatever the matrix values:
 * path=data%2FAAPL.csv.  Takes 't'. */
static char *axis_text_raw(json_t *v);

static char *id_safe(char *t)
{
	struct strbuf sb;
	const char *p;

	if (!t || !strpbrk(t, "%/"))
		return t;
	sb_init(&sb);
	for (p = t; *p; p++)
		if (*p == '/')
			sb_adds(&sb, "%2F");
		else if (*p == '%')
			sb_adds(&sb, "%25");
		else
			sb_addc(&sb, *p);
	free(t);
	return sb_detach(&sb);
}

/* A matrix value as it appears in a node id: a scalar's text, "null", or
 * a list's items joined by '+' (features=OT+HUFL; "[]" when empty), so a
 * sweep can range over column lists; '/' and '%' escaped (id_safe).  NULL
 * for anything else. */
static char *axis_text(json_t *v)
{
	return id_safe(axis_text_raw(v));
}

static char *axis_text_raw(json_t *v)
{
	struct strbuf sb;
	json_t *item;
	size_t i;

	if (json_is_null(v))
		return xstrdup("null");
	if (!json_is_array(v))
		return subst_scalar_text(v);
	if (json_array_size(v) == 0)
		return xstrdup("[]");
	sb_init(&sb);
	json_array_foreach(v, i, item) {
		char *t = json_is_array(item) || json_is_object(item) || json_is_null(item) ?
			NULL : subst_scalar_text(item);
		if (!t) {
			sb_release(&sb);
			return NULL;
		}
		sb_addf(&sb, "%s%s", i ? "+" : "", t);
		free(t);
	}
	return sb_detach(&sb);
}

static int read_axes(struct loader *L, yaml_node_t *m, struct axis **out)
{
	yaml_node_pair_t *pr;
	struct axis *ax;
	size_t i, na = 0;
	int rc = 0;

	if (m->type != YAML_MAPPING_NODE) {
		perr(L, m, "'matrix' must be a mapping of name: [values], found %s",
		     kind_name(m));
		return -1;
	}
	ax = xcalloc((size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start) + 1,
		     sizeof(*ax));
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode(L, pr->key), *v = ynode(L, pr->value);
		json_t *vals = to_json(L, v, NULL);
		if (!vals) {
			rc = -1;
			continue;
		}
		if (k->type != YAML_SCALAR_NODE || !json_is_array(vals) ||
		    json_array_size(vals) == 0) {
			perr(L, v, "matrix axis must be a non-empty list of values");
			json_decref(vals);
			rc = -1;
			continue;
		}
		ax[na].name = sval(k);
		ax[na].values = vals;
		ax[na].n = json_array_size(vals);
		ax[na].texts = xcalloc(ax[na].n, sizeof(char *));
		for (i = 0; i < ax[na].n; i++) {
			ax[na].texts[i] = axis_text(json_array_get(vals, i));
			if (!ax[na].texts[i]) {
				perr(L, v, "matrix values must be scalars (numbers, "
				     "strings, booleans, null) or lists of scalars");
				rc = -1;
				ax[na].texts[i] = xstrdup("?");
			}
		}
		na++;
	}
	*out = ax;
	return rc < 0 ? -1 : (int)na;
}

/* Every axis read_axes() filled, also after an error: the array ends with
 * a zeroed entry. */
static void free_axes(struct axis *ax)
{
	size_t i;
	int a;

	for (a = 0; ax && ax[a].values; a++) {
		for (i = 0; i < ax[a].n; i++)
			free(ax[a].texts[i]);
		free(ax[a].texts);
		json_decref(ax[a].values);
	}
	free(ax);
}

/* One node per combination, the last axis varying fastest. */
static int expand_matrix(struct loader *L, struct spec *sp)
{
	struct axis *ax = NULL;
	size_t total = 1, c, *pos;
	int na, a, rc = 0;

	na = read_axes(L, sp->matrix, &ax);
	if (na < 0) {
		free_axes(ax);
		return -1;
	}
	for (a = 0; a < na && total <= MATRIX_MAX; a++)
		total *= ax[a].n;
	if (total > MATRIX_MAX || na == 0) {
		perr(L, sp->matrix, na ? "matrix of node '%s' has more than %d "
		     "combinations" : "matrix of node '%s' is empty%.0d",
		     sval(sp->key), MATRIX_MAX);
		free_axes(ax);
		return -1;
	}
	pos = xcalloc((size_t)na, sizeof(*pos));
	for (c = 0; c < total; c++) {
		struct strbuf id;
		json_t *assign = json_object();
		size_t rem = c;
		for (a = na - 1; a >= 0; a--) {
			pos[a] = rem % ax[a].n;
			rem /= ax[a].n;
		}
		sb_init(&id);
		sb_addf(&id, "%s[", sval(sp->key));
		for (a = 0; a < na; a++) {
			sb_addf(&id, "%s%s=%s", a ? "," : "", ax[a].name,
				ax[a].texts[pos[a]]);
			json_object_set(assign, ax[a].name,
					json_array_get(ax[a].values, pos[a]));
		}
		sb_addc(&id, ']');
		rc |= build_node(L, sp, id.buf, assign);
		sb_release(&id);
		json_decref(assign);
	}
	free(pos);
	free_axes(ax);
	return rc;
}

/* ---- needs --------------------------------------------------------- */

int pipeline_match(const struct pipeline *p, const char *name, int *idx)
{
	int i, n = 0;

	i = pipeline_find(p, name);
	if (i >= 0) {
		idx[0] = i;
		return 1;
	}
	for (i = 0; i < p->n_nodes; i++)
		if (!strcmp(p->nodes[i].name, name))
			idx[n++] = i;
	return n;
}

/* Nodes of one name are contiguous: a matrix expands in place. */
static int match_fast(struct loader *L, const char *name, int *first)
{
	int i = strmap_get(&L->ids, name), n = 0;
	char *prefix;

	if (i >= 0) {
		*first = i;
		return 1;
	}
	prefix = xasprintf("%s[", name);
	for (i = 0; i < L->p->n_nodes; i++) {
		if (!strncmp(L->p->nodes[i].id, prefix, strlen(prefix))) {
			if (!n)
				*first = i;
			n++;
		} else if (n) {
			break;
		}
	}
	free(prefix);
	return n;
}

static void add_need(struct node *nd, int j)
{
	int k;

	for (k = 0; k < nd->n_needs; k++)
		if (nd->needs[k] == j)
			return;
	nd->needs[nd->n_needs++] = j;
}

/* 1 if expansion 'b' agrees with 'a' on every matrix axis they share. */
static int axes_agree(const struct node *a, const struct node *b)
{
	const char *k;
	json_t *v, *w;

	json_object_foreach(a->matrix, k, v) {
		w = json_object_get(b->matrix, k);
		if (w && !json_equal(v, w))
			return 0;
	}
	return 1;
}

/* An axis of a kernel node that is not a param of its kernel must be an
 * axis of a node it needs: it selects that need's expansions. */
static int check_pairing_axes(struct loader *L, int i)
{
	struct node *nd = &L->p->nodes[i];
	const char *k;
	json_t *v;
	int n, rc = 0;

	if (nd->kind != NODE_KERNEL)
		return 0;
	json_object_foreach(nd->matrix, k, v) {
		int found = kernel_param(nd->kernel, k) != NULL;
		for (n = 0; n < nd->n_needs && !found; n++)
			found = json_object_get(L->p->nodes[nd->needs[n]].matrix, k) != NULL;
		if (!found && i > 0 && L->origin[i - 1] == L->origin[i]) {
			rc = -1;   /* said once, for the first expansion */
		} else if (!found) {
			perr(L, L->origin[i]->matrix, "matrix axis '%s' of node '%s' is "
			     "neither a param of %s (see 'dagrun help %s') nor an axis "
			     "of a node it needs", k, nd->id, nd->task, nd->task);
			rc = -1;
		}
	}
	return rc;
}

static int resolve_needs(struct loader *L)
{
	int i, k, m, first, cnt, rc = 0;

	for (i = 0; i < L->p->n_nodes; i++) {
		struct node *nd = &L->p->nodes[i];
		struct spec *sp = L->origin[i];
		yaml_node_t **at = NULL;
		char **names = NULL;
		if (!sp->needs)
			continue;
		cnt = field_strings(L, sp->needs, "needs", &names, &at);
		if (cnt < 0) {
			rc = -1;
			continue;
		}
		for (k = 0; k < cnt; k++) {
			m = match_fast(L, names[k], &first);
			if (m == 0) {
				perr(L, at[k], "node '%s' needs '%s', which is not a node "
				     "of this pipeline", nd->id, names[k]);
				rc = -1;
				continue;
			}
			nd->needs = xrealloc(nd->needs, (size_t)(nd->n_needs + m) * sizeof(int));
			{
				int added = 0;
				for (; m-- > 0; first++)
					if (axes_agree(nd, &L->p->nodes[first])) {
						add_need(nd, first);
						added++;
					}
				if (!added) {
					perr(L, at[k], "node '%s' needs '%s', but no expansion "
					     "of '%s' has the same values on the matrix axes "
					     "they share", nd->id, names[k], names[k]);
					rc = -1;
				}
			}
		}
		if (cnt > 0) {
			free_strings(names, cnt);
			free(at);
		}
	}
	for (i = 0; i < L->p->n_nodes; i++)
		if (check_pairing_axes(L, i) < 0)
			rc = -1;
	return rc;
}

static int check_cycles(struct loader *L)
{
	struct strbuf sb;
	int *cycle, n, k;

	cycle = xmalloc((size_t)L->p->n_nodes * sizeof(int) + sizeof(int));
	n = dag_find_cycle(L->p, cycle);
	if (n > 0) {
		sb_init(&sb);
		for (k = 0; k < n; k++)
			sb_addf(&sb, "%s -> ", L->p->nodes[cycle[k]].id);
		sb_adds(&sb, L->p->nodes[cycle[0]].id);
		perr(L, L->origin[cycle[0]]->key, "cycle: %s (a node cannot "
		     "need itself, directly or through others)", sb.buf);
		sb_release(&sb);
	}
	free(cycle);
	return n > 0 ? -1 : 0;
}

/* ---- webhooks ------------------------------------------------------ */

/* 'events:' of webhook 'idx' as a comma-separated list of known names. */
static int webhook_events(struct loader *L, yaml_node_t *n, int idx, char **out)
{
	yaml_node_t **at = NULL;
	struct strbuf sb;
	char **names = NULL;
	int i, cnt, rc = 0;

	cnt = field_strings(L, n, "events", &names, &at);
	if (cnt < 0)
		return -1;
	if (cnt == 0) {
		perr(L, n, "'events' of webhook %d names no event (leave it out "
		     "for every event)", idx);
		return -1;
	}
	sb_init(&sb);
	for (i = 0; i < cnt; i++) {
		if (!events_name_known(names[i])) {
			perr(L, at[i], "unknown event '%s' (expected one of: %s)",
			     names[i], events_names_text());
			rc = -1;
		}
		sb_addf(&sb, "%s%s", i ? "," : "", names[i]);
	}
	free_strings(names, cnt);
	free(at);
	*out = sb_detach(&sb);
	return rc;
}

static void free_webhook(struct pipeline_webhook *w)
{
	free(w->url);
	free(w->events);
	free(w->secret_env);
}

/* The url of webhook 'idx' into 'w'. */
static int webhook_url(struct loader *L, yaml_node_t *n, yaml_node_t *url,
		       int idx, struct pipeline_webhook *w)
{
	char why[256];

	if (!url) {
		perr(L, n, "webhook %d has no 'url' (expected url: "
		     "http://host/path)", idx);
		return -1;
	}
	w->url = field_string(L, url, "url");
	if (!w->url)
		return -1;
	if (!webhook_url_ok(w->url, why, sizeof(why))) {
		perr(L, url, "bad webhook url '%s': %s", w->url, why);
		return -1;
	}
	return 0;
}

/* The fields of webhook 'idx' (1-based) into 'w'. */
static int webhook_fields(struct loader *L, yaml_node_t *n, int idx,
			  yaml_node_t **url, struct pipeline_webhook *w)
{
	yaml_node_t *events = NULL, *secret = NULL;
	yaml_node_pair_t *pr;
	int rc = 0;

	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode(L, pr->key), *v = ynode(L, pr->value);
		const char *f = k->type == YAML_SCALAR_NODE ? sval(k) : "";
		yaml_node_t **slot = !strcmp(f, "url") ? url : !strcmp(f, "events") ?
				     &events : !strcmp(f, "secret_env") ? &secret : NULL;
		if (!slot) {
			perr(L, k, "unknown field '%s' in webhook %d (expected one "
			     "of: url, events, secret_env)", f, idx);
			rc = -1;
		} else if (*slot) {
			perr(L, k, "duplicate field '%s' in webhook %d", f, idx);
			rc = -1;
		} else {
			*slot = v;
		}
	}
	if (webhook_url(L, n, *url, idx, w) < 0)
		rc = -1;
	if (events && webhook_events(L, events, idx, &w->events) < 0)
		rc = -1;
	if (secret) {
		w->secret_env = field_string(L, secret, "secret_env");
		if (!w->secret_env) {
			rc = -1;
		} else if (!webhook_env_name_ok(w->secret_env)) {
			perr(L, secret, "bad secret_env '%s' in webhook %d (expected "
			     "the name of an environment variable, such as "
			     "HOOK_SECRET)", w->secret_env, idx);
			rc = -1;
		}
	}
	return rc;
}

static int read_webhook(struct loader *L, yaml_node_t *n, int idx)
{
	struct pipeline_webhook w;
	yaml_node_t *url = NULL;
	int i, rc;

	memset(&w, 0, sizeof(w));
	if (n->type != YAML_MAPPING_NODE) {
		perr(L, n, "webhook %d must be a mapping with 'url' (and 'events', "
		     "'secret_env'), found %s", idx, kind_name(n));
		return -1;
	}
	rc = webhook_fields(L, n, idx, &url, &w);
	for (i = 0; rc == 0 && i < L->p->n_webhooks; i++)
		if (!strcmp(L->p->webhooks[i].url, w.url)) {
			perr(L, url, "duplicate webhook url '%s' (each url may "
			     "appear once)", w.url);
			rc = -1;
		}
	if (rc < 0) {
		free_webhook(&w);
		return -1;
	}
	w.line = (int)n->start_mark.line + 1;
	w.col = (int)n->start_mark.column + 1;
	L->p->webhooks = xrealloc(L->p->webhooks, (size_t)(L->p->n_webhooks + 1) *
				  sizeof(w));
	L->p->webhooks[L->p->n_webhooks++] = w;
	return 0;
}

/* The top-level 'webhooks:' list; an empty value means none. */
static int read_webhooks(struct loader *L, yaml_node_t *n)
{
	yaml_node_item_t *it;
	int idx = 1, rc = 0;

	if (n->type == YAML_SCALAR_NODE && !sval(n)[0] &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		perr(L, n, "'webhooks' must be a list of mappings with 'url', "
		     "found %s", kind_name(n));
		return -1;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
		rc |= read_webhook(L, ynode(L, *it), idx++);
	return rc;
}

/* ---- the top level ------------------------------------------------- */

char *pipeline_find_root(const char *abs_pipeline_path)
{
	char *dir = xstrdup(abs_pipeline_path), *slash, *git;

	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	for (;;) {
		git = fs_join(*dir ? dir : "/", ".git");
		if (fs_exists(git)) {
			free(git);
			return *dir ? dir : (free(dir), xstrdup("/"));
		}
		free(git);
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	free(dir);
	dir = xstrdup(abs_pipeline_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	return dir;
}

static int load_config(struct loader *L, yaml_node_t *n)
{
	char *path;
	int rc;

	L->p->params_file = field_string(L, n, "params");
	if (!L->p->params_file)
		return -1;
	path = fs_join(L->p->root, L->p->params_file);
	if (!fs_exists(path)) {
		perr(L, n, "params file '%s' does not exist (expected a Lua file "
		     "under %s)", L->p->params_file, L->p->root);
		free(path);
		return -1;
	}
	rc = luabox_eval_config(path, L->p->params_file, &L->p->config, L->err);
	free(path);
	return rc;
}

static int read_top(struct loader *L, yaml_node_t *root, yaml_node_t **nodes)
{
	yaml_node_pair_t *pr;
	yaml_node_t *params = NULL, *webhooks = NULL;
	int rc = 0;

	*nodes = NULL;
	if (root->type != YAML_MAPPING_NODE) {
		perr(L, root, "a pipeline must be a mapping with 'pipeline', "
		     "'params' and 'nodes', found %s", kind_name(root));
		return -1;
	}
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode(L, pr->key), *v = ynode(L, pr->value);
		const char *f = k->type == YAML_SCALAR_NODE ? sval(k) : "";
		if (!strcmp(f, "pipeline") && !L->p->name) {
			L->p->name = field_string(L, v, "pipeline");
			rc |= L->p->name ? 0 : -1;
		} else if (!strcmp(f, "params") && !params) {
			params = v;
		} else if (!strcmp(f, "nodes") && !*nodes) {
			*nodes = v;
		} else if (!strcmp(f, "webhooks") && !webhooks) {
			webhooks = v;
		} else if (!strcmp(f, "description")) {
			continue;
		} else if (!strcmp(f, "pipeline") || !strcmp(f, "params") ||
			   !strcmp(f, "nodes") || !strcmp(f, "webhooks")) {
			perr(L, k, "duplicate key '%s'", f);
			rc = -1;
		} else {
			perr(L, k, "unknown top-level key '%s' (expected one of: "
			     "pipeline, params, nodes, webhooks, description)", f);
			rc = -1;
		}
	}
	if (webhooks && read_webhooks(L, webhooks) < 0)
		rc = -1;
	if (params && load_config(L, params) < 0) {
		L->config_failed = 1;
		rc = -1;
	}
	if (!*nodes) {
		perr(L, root, "no 'nodes:' mapping (expected 'nodes:' with at "
		     "least one node)");
		return -1;
	}
	if ((*nodes)->type != YAML_MAPPING_NODE ||
	    (*nodes)->data.mapping.pairs.start == (*nodes)->data.mapping.pairs.top) {
		perr(L, *nodes, "'nodes' must be a mapping of node names to "
		     "nodes, with at least one node");
		return -1;
	}
	return rc;
}

static int build_all(struct loader *L, yaml_node_t *nodes, struct spec **specs)
{
	yaml_node_pair_t *pr;
	struct strmap names;
	size_t n = (size_t)(nodes->data.mapping.pairs.top - nodes->data.mapping.pairs.start);
	int i = 0, rc = 0;

	*specs = xcalloc(n, sizeof(struct spec));
	strmap_init(&names);
	for (pr = nodes->data.mapping.pairs.start; pr < nodes->data.mapping.pairs.top; pr++, i++) {
		yaml_node_t *k = ynode(L, pr->key), *v = ynode(L, pr->value);
		struct spec *sp = &(*specs)[i];
		if (k->type != YAML_SCALAR_NODE) {
			perr(L, k, "a node name must be a plain string");
			rc = -1;
			continue;
		}
		if (strmap_put(&names, sval(k), i) >= 0) {
			perr(L, k, "duplicate node '%s'", sval(k));
			rc = -1;
			continue;
		}
		if (read_spec(L, k, v, sp) < 0) {
			rc = -1;
			continue;
		}
		if (sp->matrix)
			rc |= expand_matrix(L, sp);
		else
			rc |= build_node(L, sp, sval(k), NULL);
	}
	strmap_release(&names);
	return rc;
}

static int parse_yaml(struct loader *L, const char *text, size_t len)
{
	yaml_parser_t parser;
	int rc = 0;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &L->doc)) {
		size_t line = parser.problem_mark.line, col = parser.problem_mark.column;
		const char *hint = "";
		const char *ln = text;
		size_t i;
		for (i = 0; i < line && ln; i++) {
			ln = strchr(ln, '\n');
			ln = ln ? ln + 1 : NULL;
		}
		if (ln && col < strlen(ln) && ln[col] == '\t')
			hint = " (tabs are not allowed in YAML indentation: use spaces)";
		if (parser.error == YAML_READER_ERROR)
			line = 0, col = 0, hint = " (expected UTF-8 text)";
		err_append(L->err, ERR_USER, "%s:%zu:%zu: %s%s%s%s", L->file,
			   line + 1, col + 1, parser.problem ? parser.problem :
			   "malformed YAML", parser.context ? " " : "",
			   parser.context ? parser.context : "", hint);
		rc = -1;
	}
	yaml_parser_delete(&parser);
	return rc;
}

static int load_text(struct loader *L, const char *text, size_t len)
{
	yaml_node_t *root, *nodes;
	struct spec *specs = NULL;
	int rc;

	if (memchr(text, '\0', len)) {
		err_append(L->err, ERR_USER, "%s:1:1: binary data (expected a "
			   "YAML text file)", L->file);
		return -1;
	}
	if (parse_yaml(L, text, len) < 0)
		return -1;
	root = yaml_document_get_root_node(&L->doc);
	if (!root) {
		err_append(L->err, ERR_USER, "%s:1:1: empty pipeline (expected a "
			   "mapping with 'pipeline', 'params' and 'nodes')", L->file);
		yaml_document_delete(&L->doc);
		return -1;
	}
	strmap_init(&L->ids);
	rc = read_top(L, root, &nodes);
	if (nodes && nodes->type == YAML_MAPPING_NODE &&
	    nodes->data.mapping.pairs.start != nodes->data.mapping.pairs.top) {
		rc |= build_all(L, nodes, &specs);
		if (rc == 0)
			rc = resolve_needs(L);
		if (rc == 0)
			rc = check_cycles(L);
	}
	strmap_release(&L->ids);
	free(specs);
	free(L->origin);
	L->origin = NULL;
	yaml_document_delete(&L->doc);
	return rc;
}

static char *relative_to(const char *root, const char *abs)
{
	size_t n = strlen(root);

	if (!strncmp(abs, root, n) && abs[n] == '/')
		return xstrdup(abs + n + 1);
	return xstrdup(abs);
}

int pipeline_load(const char *path, struct pipeline **out, struct err *err)
{
	struct loader L;
	struct pipeline *p = xcalloc(1, sizeof(*p));
	char *text = NULL, *base;
	struct stat st = {0};
	size_t len;

	memset(&L, 0, sizeof(L));
	L.file = path;
	L.err = err;
	L.p = p;
	p->path = xstrdup(path);
	p->abs_path = fs_absolute(path);
	p->root = pipeline_find_root(p->abs_path);
	p->rel_path = relative_to(p->root, p->abs_path);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(err, ERR_USER, "%s: %s (expected a pipeline YAML file)",
			path, S_ISDIR(st.st_mode) ? "is a folder" :
			"no such file");
		pipeline_free(p);
		return -1;
	}
	if (fs_read_file(path, &text, &len, err) < 0) {
		pipeline_free(p);
		return -1;
	}
	hash_bytes(text, len, &p->file_hash);
	if (load_text(&L, text, len) < 0 || err->kind != ERR_NONE) {
		free(text);
		pipeline_free(p);
		return -1;
	}
	free(text);
	if (!p->name) {
		base = strrchr(p->rel_path, '/');
		p->name = xstrdup(base ? base + 1 : p->rel_path);
		if (strrchr(p->name, '.'))
			*strrchr(p->name, '.') = '\0';
	}
	*out = p;
	return 0;
}

void pipeline_free(struct pipeline *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->n_nodes; i++) {
		struct node *nd = &p->nodes[i];
		free(nd->id);
		free(nd->name);
		free(nd->task);
		free(nd->needs);
		json_decref(nd->params);
		json_decref(nd->matrix);
		free(nd->cmd);
		free(nd->script);
		free_strings(nd->deps, nd->n_deps);
	}
	free(p->nodes);
	for (i = 0; i < p->n_webhooks; i++)
		free_webhook(&p->webhooks[i]);
	free(p->webhooks);
	free(p->path);
	free(p->abs_path);
	free(p->root);
	free(p->rel_path);
	free(p->name);
	free(p->params_file);
	json_decref(p->config);
	free(p);
}

int pipeline_find(const struct pipeline *p, const char *id)
{
	int i;

	for (i = 0; i < p->n_nodes; i++)
		if (!strcmp(p->nodes[i].id, id))
			return i;
	return -1;
}
