/* kctx: see kctx.h.  Global state: the one cancellation flag below, set
 * from the SIGTERM handler of the kernel's own process. */
#include "kctx.h"
#include "fs.h"
#include "xalloc.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t cancelled;

struct kctx {
	const struct kernel *k;
	json_t *params;
	const char *node, *out_dir, *in_dir;
	char **names, **dirs;
	int n_inputs;
	FILE *metrics, *events;
	json_t *urls;       /* urls.json beside params.json: URL -> local copy */
};

static void on_term(int sig)
{
	(void)sig;
	cancelled = 1;
}

json_t *kctx_params(struct kctx *c) { return c->params; }
const char *kctx_node(struct kctx *c) { return c->node; }
const char *kctx_out_dir(struct kctx *c) { return c->out_dir; }
int kctx_n_inputs(struct kctx *c) { return c->n_inputs; }
const char *kctx_input_name(struct kctx *c, int i) { return c->names[i]; }
const char *kctx_input_dir(struct kctx *c, int i) { return c->dirs[i]; }
int kctx_cancelled(struct kctx *c) { (void)c; return cancelled != 0; }

long long kctx_int(struct kctx *c, const char *name)
{
	json_t *v = json_object_get(c->params, name);

	return json_is_integer(v) ? (long long)json_integer_value(v) :
	       (long long)json_number_value(v);
}

double kctx_num(struct kctx *c, const char *name)
{
	return json_number_value(json_object_get(c->params, name));
}

int kctx_bool(struct kctx *c, const char *name)
{
	return json_is_true(json_object_get(c->params, name));
}

const char *kctx_str(struct kctx *c, const char *name)
{
	return json_string_value(json_object_get(c->params, name));
}

const char *kctx_path(struct kctx *c, const char *name)
{
	const char *v = kctx_str(c, name);
	const char *local = v ? json_string_value(json_object_get(c->urls, v)) : NULL;

	return local ? local : v;
}

/* urls.json, which the engine writes beside params.json for URL params. */
static json_t *read_urls(const char *pfile)
{
	const char *slash = strrchr(pfile, '/');
	char *path = slash ? xasprintf("%.*s/urls.json", (int)(slash - pfile), pfile)
			   : xstrdup("urls.json");
	json_t *j = fs_exists(path) ? json_load_file(path, 0, NULL) : NULL;

	free(path);
	return j;
}

const char *kctx_input(struct kctx *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_inputs; i++)
		if (!strcmp(c->names[i], name))
			return c->dirs[i];
	return NULL;
}

void kctx_log(struct kctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%s] ", c->node);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kctx_metric(struct kctx *c, const char *name, long step, double value)
{
	json_t *m;

	if (!c->metrics)
		return;
	m = json_pack("{s:s,s:f}", "name", name, "value", value);
	if (step >= 0)
		json_object_set_new(m, "step", json_integer(step));
	json_dumpf(m, c->metrics, JSON_COMPACT | JSON_REAL_PRECISION(17));
	fputc('\n', c->metrics);
	json_decref(m);
}

void kctx_event(struct kctx *c, const char *name, json_t *details)
{
	json_t *e = json_pack("{s:s,s:s}", "event", name, "node", c->node);

	if (details)
		json_object_set_new(e, "details", details);
	if (c->events) {
		json_dumpf(e, c->events, JSON_COMPACT);
		fputc('\n', c->events);
	}
	json_decref(e);
}

void kctx_progress(struct kctx *c, double fraction, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%s] %3.0f%% ", c->node, fraction * 100.0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int kctx_fail(struct kctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", code == KERNEL_EUSER ? "error" : "failed");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(void)c;
	return code;
}

/* Inputs in 'needs' order from DAGRUN_NEEDS (one id per line). */
static void read_inputs(struct kctx *c)
{
	const char *needs = getenv("DAGRUN_NEEDS");
	char *list, *save = NULL, *id;

	if (!needs || !c->in_dir)
		return;
	list = xstrdup(needs);
	for (id = strtok_r(list, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
		c->names = xrealloc(c->names, (size_t)(c->n_inputs + 1) * sizeof(char *));
		c->dirs = xrealloc(c->dirs, (size_t)(c->n_inputs + 1) * sizeof(char *));
		c->names[c->n_inputs] = xstrdup(id);
		c->dirs[c->n_inputs++] = fs_join(c->in_dir, id);
	}
	free(list);
}

static FILE *open_append(const char *var)
{
	const char *path = getenv(var);

	return path ? fopen(path, "a") : NULL;
}

static void release(struct kctx *c)
{
	int i;

	for (i = 0; i < c->n_inputs; i++) {
		free(c->names[i]);
		free(c->dirs[i]);
	}
	free(c->names);
	free(c->dirs);
	json_decref(c->params);
	json_decref(c->urls);
	if (c->metrics)
		fclose(c->metrics);
	if (c->events)
		fclose(c->events);
}

int kctx_main(const struct kernel *k)
{
	struct kctx c;
	const char *pfile = getenv("DAGRUN_PARAMS");
	json_error_t je;
	int rc;

	memset(&c, 0, sizeof(c));
	signal(SIGTERM, on_term);
	c.k = k;
	c.node = getenv("DAGRUN_NODE") ? getenv("DAGRUN_NODE") : k->name;
	c.out_dir = getenv("DAGRUN_OUT");
	c.in_dir = getenv("DAGRUN_IN");
	c.params = pfile ? json_load_file(pfile, 0, &je) : NULL;
	if (!c.params || !c.out_dir) {
		fprintf(stderr, "error: kernel '%s' started without its node "
			"environment (DAGRUN_PARAMS, DAGRUN_OUT)\n", k->name);
		json_decref(c.params);
		return KERNEL_EFAIL;
	}
	read_inputs(&c);
	c.urls = read_urls(pfile);
	c.metrics = open_append("DAGRUN_METRICS");
	c.events = open_append("DAGRUN_EVENTS");
	rc = k->run(&c);
	if (rc != KERNEL_OK && rc != KERNEL_EUSER)
		rc = KERNEL_EFAIL;
	release(&c);
	return rc;
}
