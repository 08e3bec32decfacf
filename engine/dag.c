/* dag: see dag.h.  Iterative depth-first search, so that a 100,000-deep
 * chain cannot overflow the C stack. */
#include "dag.h"
#include "pipeline.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

enum { WHITE, GREY, BLACK };

/* Walk from 'start'; on meeting a grey node, copy the grey path from it. */
static int dfs_cycle(const struct pipeline *p, int start, unsigned char *color,
		     int *stack, int *edge, int *cycle)
{
	int top = 0, k, n;

	stack[0] = start;
	edge[0] = 0;
	color[start] = GREY;
	while (top >= 0) {
		int v = stack[top];
		if (edge[top] == p->nodes[v].n_needs) {
			color[v] = BLACK;
			top--;
			continue;
		}
		int w = p->nodes[v].needs[edge[top]++];
		if (color[w] == GREY) {
			for (k = 0; stack[k] != w; k++)
				;
			for (n = 0; k <= top; k++)
				cycle[n++] = stack[k];
			return n;
		}
		if (color[w] == WHITE) {
			color[w] = GREY;
			stack[++top] = w;
			edge[top] = 0;
		}
	}
	return 0;
}

int dag_find_cycle(const struct pipeline *p, int *cycle)
{
	unsigned char *color = xcalloc((size_t)p->n_nodes, 1);
	int *stack = xmalloc((size_t)p->n_nodes * sizeof(int) + 1);
	int *edge = xmalloc((size_t)p->n_nodes * sizeof(int) + 1);
	int i, n = 0;

	for (i = 0; i < p->n_nodes && n == 0; i++)
		if (color[i] == WHITE)
			n = dfs_cycle(p, i, color, stack, edge, cycle);
	free(color);
	free(stack);
	free(edge);
	return n;
}

void dag_dependents(const struct pipeline *p, int **off, int **list)
{
	int *o = xcalloc((size_t)p->n_nodes + 1, sizeof(int));
	int *fill, *l, i, k, total = 0;

	for (i = 0; i < p->n_nodes; i++)
		for (k = 0; k < p->nodes[i].n_needs; k++)
			o[p->nodes[i].needs[k] + 1]++;
	for (i = 0; i < p->n_nodes; i++)
		o[i + 1] += o[i];
	total = o[p->n_nodes];
	l = xmalloc((size_t)total * sizeof(int) + 1);
	fill = xmalloc((size_t)p->n_nodes * sizeof(int) + 1);
	memcpy(fill, o, (size_t)p->n_nodes * sizeof(int));
	for (i = 0; i < p->n_nodes; i++)
		for (k = 0; k < p->nodes[i].n_needs; k++)
			l[fill[p->nodes[i].needs[k]]++] = i;
	free(fill);
	*off = o;
	*list = l;
}

void dag_order(const struct pipeline *p, int *order)
{
	int *indeg = xcalloc((size_t)p->n_nodes + 1, sizeof(int));
	int *off, *list, head = 0, tail = 0, i, k;

	dag_dependents(p, &off, &list);
	for (i = 0; i < p->n_nodes; i++)
		indeg[i] = p->nodes[i].n_needs;
	for (i = 0; i < p->n_nodes; i++)
		if (indeg[i] == 0)
			order[tail++] = i;
	while (head < tail) {
		int v = order[head++];
		for (k = off[v]; k < off[v + 1]; k++)
			if (--indeg[list[k]] == 0)
				order[tail++] = list[k];
	}
	free(indeg);
	free(off);
	free(list);
}

void dag_mark_needed(const struct pipeline *p, int i, unsigned char *want)
{
	int *stack, top = 0, k;

	if (want[i])
		return;
	stack = xmalloc((size_t)p->n_nodes * sizeof(int) + sizeof(int));
	stack[top++] = i;
	want[i] = 1;
	while (top > 0) {
		int v = stack[--top];
		for (k = 0; k < p->nodes[v].n_needs; k++) {
			int w = p->nodes[v].needs[k];
			if (!want[w]) {
				want[w] = 1;
				stack[top++] = w;
			}
		}
	}
	free(stack);
}
