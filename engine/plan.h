/* plan: what a run would do and why, without running anything.
 *
 * For each node in dependency order: cached (its key is in the cache and
 * its outputs in the store), run (with the reason: new node, params
 * changed (which), input X changed, dep file changed, task version
 * changed, code changed, salt changed, forced), or run because a node it
 * needs will run (its key cannot be known before that node's outputs
 * are).  Used by `dagrun -n` and `dagrun explain`. */
#ifndef DAGRUN_PLAN_H
#define DAGRUN_PLAN_H

#include "cache.h"
#include "err.h"

struct pipeline;
struct state;
struct store;

enum plan_action { PLAN_OUT, PLAN_CACHED, PLAN_RUN, PLAN_BLOCKED };

struct plan_node {
	enum plan_action action;
	int have_key;
	struct cache_key key;
	struct hash outputs;   /* PLAN_CACHED only */
	char *reason;
	int blocker;           /* PLAN_BLOCKED: the need that will run */
};

struct plan_opts {
	const char *salt;
	int force_all;
	const unsigned char *force, *want;
};

/* Fill 'out' (p->n_nodes entries, caller frees with plan_release).
 * Returns 0, or -1 with 'err' set (a dep file unreadable). */
int plan_compute(struct pipeline *p, struct state *st, struct store *store,
		 const struct plan_opts *o, struct plan_node **out,
		 struct err *err);
void plan_release(struct pipeline *p, struct plan_node *pn);

/* `dagrun -n`: print the plan (text, or JSON with 'json'). Returns the
 * number of nodes that would run. */
int plan_print(struct pipeline *p, struct plan_node *pn, int json);

/* `dagrun explain PIPELINE NODE`: the key part by part against the last
 * successful run of the node. */
int plan_explain(struct pipeline *p, struct state *st, struct plan_node *pn,
		 int i, int json);

#endif
