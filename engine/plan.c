/* plan: see plan.h. */
#include "plan.h"
#include "dag.h"
#include "pipeline.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = { "out", "cached", "run", "run" };

static int forced(const struct plan_opts *o, int i)
{
	return o->force_all || (o->force && o->force[i]);
}

static void plan_one(struct pipeline *p, struct state *st, struct store *store,
		     const struct plan_opts *o, struct plan_node *pn, int i,
		     struct hash *ins)
{
	const struct node *nd = &p->nodes[i];
	struct plan_node *me = &pn[i];
	struct strbuf sb;
	char *before;

	if (forced(o, i) || nd->nondeterministic) {
		me->action = PLAN_RUN;
		me->reason = xstrdup(forced(o, i) ? "forced" :
				     "nondeterministic: always runs");
		return;
	}
	if (state_cache_get(st, me->key.hex, &me->outputs) &&
	    store_outputs_present(store, &me->outputs)) {
		me->action = PLAN_CACHED;
		return;
	}
	(void)ins;
	me->action = PLAN_RUN;
	before = state_last_key_doc(st, p->name, nd->id, 0, NULL);
	sb_init(&sb);
	if (!cache_explain(before, me->key.doc, &sb))
		sb_adds(&sb, "outputs missing from the store");
	free(before);
	me->reason = sb_detach(&sb);
}

int plan_compute(struct pipeline *p, struct state *st, struct store *store,
		 const struct plan_opts *o, struct plan_node **out,
		 struct err *err)
{
	struct plan_node *pn = xcalloc((size_t)p->n_nodes + 1, sizeof(*pn));
	int *order = xmalloc(((size_t)p->n_nodes + 1) * sizeof(int));
	struct hash *ins = xmalloc(((size_t)p->n_nodes + 1) * sizeof(*ins));
	int t, k, rc = 0;

	dag_order(p, order);
	for (t = 0; t < p->n_nodes && rc == 0; t++) {
		int i = order[t];
		const struct node *nd = &p->nodes[i];
		if (o->want && !o->want[i])
			continue;
		pn[i].blocker = -1;
		for (k = 0; k < nd->n_needs; k++) {
			struct plan_node *need = &pn[nd->needs[k]];
			if (need->action != PLAN_CACHED) {
				pn[i].blocker = nd->needs[k];
				break;
			}
			ins[k] = need->outputs;
		}
		if (pn[i].blocker >= 0) {
			pn[i].action = PLAN_BLOCKED;
			pn[i].reason = xasprintf("needs %s, which will run",
						 p->nodes[pn[i].blocker].id);
			continue;
		}
		rc = cache_key(st, p, i, ins, o->salt, &pn[i].key, err);
		if (rc == 0) {
			pn[i].have_key = 1;
			plan_one(p, st, store, o, pn, i, ins);
		}
	}
	free(order);
	free(ins);
	if (rc < 0) {
		plan_release(p, pn);
		return -1;
	}
	*out = pn;
	return 0;
}

void plan_release(struct pipeline *p, struct plan_node *pn)
{
	int i;

	for (i = 0; i < p->n_nodes; i++) {
		cache_key_release(&pn[i].key);
		free(pn[i].reason);
	}
	free(pn);
}

int plan_print(struct pipeline *p, struct plan_node *pn, int json)
{
	json_t *arr = json_array();
	int i, runs = 0, cached = 0;

	for (i = 0; i < p->n_nodes; i++) {
		if (pn[i].action == PLAN_OUT)
			continue;
		if (pn[i].action == PLAN_CACHED)
			cached++;
		else
			runs++;
		if (json)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s?}", "node",
				p->nodes[i].id, "action", action_names[pn[i].action],
				"reason", pn[i].reason));
		else
			printf("%-7s %s%s%s%s\n", action_names[pn[i].action],
			       p->nodes[i].id, pn[i].reason ? " (" : "",
			       pn[i].reason ? pn[i].reason : "", pn[i].reason ? ")" : "");
	}
	if (json) {
		json_t *o = json_pack("{s:s,s:o,s:i,s:i}", "pipeline", p->name,
				      "nodes", arr, "run", runs, "cached", cached);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		json_decref(arr);
		printf("dry run: %d would run, %d cached\n", runs, cached);
	}
	return runs;
}

int plan_explain(struct pipeline *p, struct state *st, struct plan_node *pn,
		 int i, int json)
{
	const struct node *nd = &p->nodes[i];
	struct strbuf sb;
	int64_t last_run = 0;
	char *before;

	if (!pn[i].have_key) {
		printf("%s: %s\nits key depends on the outputs of '%s', which are "
		       "not known until it runs\n", nd->id, pn[i].reason,
		       p->nodes[pn[i].blocker].id);
		return 0;
	}
	before = state_last_key_doc(st, p->name, nd->id, 0, &last_run);
	if (json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o*,s:s?}", "node", nd->id,
			"key", pn[i].key.hex, "action", action_names[pn[i].action],
			"parts", json_loads(pn[i].key.doc, 0, NULL),
			"previous", before ? json_loads(before, 0, NULL) : NULL,
			"reason", pn[i].reason);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
		free(before);
		return 0;
	}
	sb_init(&sb);
	sb_addf(&sb, "node    %s\nkey     %s\nstatus  %s%s%s%s\n", nd->id,
		pn[i].key.hex, action_names[pn[i].action],
		pn[i].reason ? " (" : "", pn[i].reason ? pn[i].reason : "",
		pn[i].reason ? ")" : "");
	if (before)
		sb_addf(&sb, "against the last successful run (%lld); * marks a "
			"difference:\n", (long long)last_run);
	else
		sb_adds(&sb, "never run before; the key's parts:\n");
	cache_print_diff(before, pn[i].key.doc, &sb);
	fputs(sb.buf, stdout);
	sb_release(&sb);
	free(before);
	return 0;
}
