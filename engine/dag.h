/* dag: graph algorithms over a loaded pipeline's node table.
 *
 * The graph is the 'needs' relation: an edge from each node to each node
 * it needs.  Nothing here allocates state that outlives a call, except
 * where a function says the caller frees.  All functions are linear in
 * nodes plus edges. */
#ifndef DAGRUN_DAG_H
#define DAGRUN_DAG_H

struct pipeline;

/* Find a cycle. Returns its length n and the node indices in order in
 * 'cycle' (room for p->n_nodes), each needing the next and the last
 * needing the first; 0 when the graph is acyclic. */
int dag_find_cycle(const struct pipeline *p, int *cycle);

/* A topological order (every node after what it needs) into 'order'
 * (room for p->n_nodes). The pipeline must be acyclic. */
void dag_order(const struct pipeline *p, int *order);

/* Mark in 'want' (p->n_nodes flags, zeroed by the caller or holding
 * earlier marks) node 'i' and everything it needs, transitively. */
void dag_mark_needed(const struct pipeline *p, int i, unsigned char *want);

/* The nodes that need each node: a CSR layout the caller frees with
 * free(*off) and free(*list); (*list)[(*off)[i] .. (*off)[i+1]) are the
 * dependents of node i. */
void dag_dependents(const struct pipeline *p, int **off, int **list);

#endif
