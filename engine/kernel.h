/* kernel: the contract between the engine and a native task kernel.
 *
 * A kernel is a 'const struct kernel' in tasks/<family>/<name>.c, listed in
 * the compile-time registry (tasks/registry.c).  It declares its params
 * schema; the engine validates a node's params against it when the
 * pipeline is loaded (unknown names, wrong types, out-of-range values,
 * bad choices are errors with file:line before anything runs) and hands the
 * kernel a complete params object with every default filled in.
 *
 * A kernel runs in a child process of its own, with the current folder at
 * the project root, and sees the world only through its 'struct kctx':
 * params, its inputs (one read-only folder per needed node), the scratch
 * output folder, a logger, a metric sink and a cancellation flag.  It never
 * touches SQLite, the object store or global state.  Its outputs are
 * exactly the files it leaves in kctx_out_dir() when run() returns 0.
 *
 * run() returns KERNEL_OK, KERNEL_EUSER (bad input: the message names the
 * file, line and what was expected; dagrun exits 2) or KERNEL_EFAIL. */
#ifndef DAGRUN_KERNEL_H
#define DAGRUN_KERNEL_H

#include <jansson.h>

#include "err.h"

enum param_type {
	PT_INT,     /* a JSON integer */
	PT_NUM,     /* any JSON number */
	PT_BOOL,
	PT_STR,
	PT_ENUM,    /* a string, one of 'choices' ("adam|sgd") */
	PT_PATH,    /* a repository file: its content hash enters the key */
	PT_LIST,    /* a JSON array */
	PT_MAP,     /* a JSON object */
	PT_ANY
};

/* One parameter.  'def' is the default as JSON text, NULL when the param
 * is required.  'min'/'max' bound numbers when min < max. */
struct param_spec {
	const char *name;
	enum param_type type;
	const char *def;
	double min, max;
	const char *choices;
	const char *doc;
};

struct kctx;

struct kernel {
	const char *name;
	int version;                      /* bump when results change */
	const struct param_spec *params;  /* ends with a {NULL} entry */
	const char *doc;                  /* one paragraph for `dagrun help` */
	int (*run)(struct kctx *ctx);
};

enum { KERNEL_OK = 0, KERNEL_EFAIL = 1, KERNEL_EUSER = 2 };

/* The registry: every kernel, sorted by name; NULL when unknown. */
const struct kernel *kernel_find(const char *name);
const struct kernel *const *kernel_list(int *n);
const struct param_spec *kernel_param(const struct kernel *k,
				      const char *name);
const char *param_type_name(enum param_type t);

/* Check 'params' (a JSON object) against the kernel's schema and fill in
 * defaults.  Returns a new object the caller owns, or NULL with every
 * problem appended to 'err' as "where: message" lines.  'locs' (may be
 * NULL) maps a param name to its "file:line:col"; 'where' is used for the
 * rest (e.g. "pipelines/x.yaml:12:5"). */
json_t *kernel_check_params(const struct kernel *k, json_t *params,
			    json_t *locs, const char *where, struct err *err);

/* The params of a kernel as text for `dagrun help TASK`; caller frees. */
char *kernel_describe(const struct kernel *k);
/* The same as a Markdown section for docs/tasks.md; caller frees. */
char *kernel_describe_markdown(const struct kernel *k);

/* --- the context a running kernel sees (all borrowed, valid during run) */
json_t *kctx_params(struct kctx *c);
long long kctx_int(struct kctx *c, const char *name);
double kctx_num(struct kctx *c, const char *name);
int kctx_bool(struct kctx *c, const char *name);
const char *kctx_str(struct kctx *c, const char *name);   /* NULL if null */
/* A file param (PT_PATH) as a path to open: the value itself, or for an
 * http(s) URL the local copy of the content the node's key was computed
 * from (the engine fetched it, engine/fetch.h). */
const char *kctx_path(struct kctx *c, const char *name);
const char *kctx_node(struct kctx *c);
const char *kctx_out_dir(struct kctx *c);
int kctx_n_inputs(struct kctx *c);
const char *kctx_input_name(struct kctx *c, int i);
const char *kctx_input_dir(struct kctx *c, int i);
/* The folder of the needed node 'name', or NULL. */
const char *kctx_input(struct kctx *c, const char *name);

void kctx_log(struct kctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Record a metric; 'step' < 0 means a final value. */
void kctx_metric(struct kctx *c, const char *name, long step, double value);
/* Record an event such as "target_fallback" with optional JSON details
 * (the reference is stolen). */
void kctx_event(struct kctx *c, const char *name, json_t *details);
void kctx_progress(struct kctx *c, double fraction, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int kctx_cancelled(struct kctx *c);

/* Report why run() fails; printed to the node's log. Returns 'code' so a
 * kernel can write: return kctx_fail(c, KERNEL_EUSER, "...") */
int kctx_fail(struct kctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
