/* pipeline: a pipeline YAML file, resolved into a flat node table.
 *
 * pipeline_load() reads the file with libyaml, keeping the line and column
 * of everything, evaluates the Lua params file (if any) once in the
 * sandbox, substitutes "${a.b}" references, expands 'matrix:' nodes and
 * resolves 'needs' into indices.  It validates the whole file before
 * anything runs and reports every problem at once, each as
 * "file:line:col: what is wrong (what was expected)".
 *
 * Invariants of a loaded pipeline:
 *   - node ids are unique and safe as folder names;
 *   - needs[] holds valid indices, without duplicates, and the graph has
 *     no cycle;
 *   - params is a JSON object; for a kernel node it has been checked
 *     against the kernel's schema and holds every default;
 *   - deps[] are root-relative paths of files that existed at load time,
 *     sorted, without duplicates.
 * Relative paths resolve against the project root: the nearest ancestor of
 * the pipeline file holding .git, else the pipeline file's folder. */
#ifndef DAGRUN_PIPELINE_H
#define DAGRUN_PIPELINE_H

#include <jansson.h>

#include "err.h"
#include "hash.h"
#include "kernel.h"

enum node_kind { NODE_SHELL, NODE_LUA, NODE_KERNEL };
/* 'executor:' of a node; DEFAULT: the run's --executor (sched.h) */
enum node_executor { NODE_EXEC_DEFAULT, NODE_EXEC_LOCAL, NODE_EXEC_SLURM };

struct node {
	char *id;            /* unique: "train" or "train[hidden=64,lr=0.1]" */
	char *name;          /* the YAML key, shared by a matrix's expansions */
	char *task;          /* "shell", "lua" or a kernel name */
	enum node_kind kind;
	const struct kernel *kernel;   /* NODE_KERNEL only */
	int *needs;          /* indices into pipeline.nodes */
	int n_needs;
	json_t *params;      /* owned; an object */
	char *cmd;           /* NODE_SHELL: run with /bin/sh -c */
	char *script;        /* NODE_LUA: root-relative script path */
	char **deps;         /* root-relative files whose content is in the key */
	int n_deps;
	int retries;         /* extra attempts after a failure */
	double timeout;      /* seconds; 0 = none */
	int cpus;            /* slots taken from -j; at least 1 */
	long mem_mb;         /* 0 = not declared */
	int gpus;
	int nondeterministic;  /* never served from the cache */
	enum node_executor executor;   /* not in the key */
	json_t *matrix;      /* this expansion's matrix values, or NULL */
	int line, col;       /* where the node is defined (1-based) */
};

/* One entry of the top-level 'webhooks:' list (see webhook.h). */
struct pipeline_webhook {
	char *url;           /* http:// or https:// */
	char *events;        /* comma-separated known names, or NULL: every event */
	char *secret_env;    /* an environment variable name, or NULL */
	int line, col;       /* where the entry is (1-based) */
};

struct pipeline {
	char *path;          /* as the user gave it: used in messages */
	char *abs_path;
	char *root;          /* absolute project root */
	char *rel_path;      /* the pipeline file relative to root */
	char *name;          /* 'pipeline:' or the file's base name */
	char *params_file;   /* root-relative Lua config, or NULL */
	json_t *config;      /* what the config returned, or NULL */
	struct node *nodes;
	int n_nodes;
	struct hash file_hash;   /* SHA-256 of the pipeline file's bytes */
	struct pipeline_webhook *webhooks;   /* URLs unique; not in any key */
	int n_webhooks;
};

/* Load and validate 'path'.  Returns 0 with '*out' (free with
 * pipeline_free), or -1 with 'err' holding every problem found
 * (ERR_USER) or why the file could not be read (ERR_IO). */
int pipeline_load(const char *path, struct pipeline **out, struct err *err);
void pipeline_free(struct pipeline *p);

/* Index of the node with this id, or -1. */
int pipeline_find(const struct pipeline *p, const char *id);

/* Indices of the nodes named 'name' (a plain id or a matrix name) into
 * 'idx' (room for p->n_nodes); returns how many. */
int pipeline_match(const struct pipeline *p, const char *name, int *idx);

/* The project root for a pipeline file path: caller frees. */
char *pipeline_find_root(const char *abs_pipeline_path);

#endif
