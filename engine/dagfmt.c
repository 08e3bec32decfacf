/* dagfmt: see dagfmt.h. */
#include "dagfmt.h"
#include "dag.h"
#include "pipeline.h"
#include "xalloc.h"

#include <stdlib.h>

/* The longest path from a source to each node: its layer. */
static int *layers(const struct pipeline *p, int *n_layers)
{
	int *order = xmalloc(((size_t)p->n_nodes + 1) * sizeof(int));
	int *layer = xcalloc((size_t)p->n_nodes + 1, sizeof(int));
	int t, k, top = 0;

	dag_order(p, order);
	for (t = 0; t < p->n_nodes; t++) {
		const struct node *nd = &p->nodes[order[t]];
		for (k = 0; k < nd->n_needs; k++)
			if (layer[nd->needs[k]] + 1 > layer[order[t]])
				layer[order[t]] = layer[nd->needs[k]] + 1;
		if (layer[order[t]] > top)
			top = layer[order[t]];
	}
	free(order);
	*n_layers = top + 1;
	return layer;
}

void dagfmt_text(const struct pipeline *p, FILE *out)
{
	int n_layers, l, i, k;
	int *layer = layers(p, &n_layers);

	fprintf(out, "%s: %d nodes in %d layers\n", p->name, p->n_nodes, n_layers);
	for (l = 0; l < n_layers; l++) {
		fprintf(out, "%s\n", l ? "  |" : "");
		for (i = 0; i < p->n_nodes; i++) {
			const struct node *nd = &p->nodes[i];
			if (layer[i] != l)
				continue;
			fprintf(out, "  %s %s [%s]", l ? "+-" : "*", nd->id, nd->task);
			for (k = 0; k < nd->n_needs; k++)
				fprintf(out, "%s%s", k ? ", " : "  <- ",
					p->nodes[nd->needs[k]].id);
			fputc('\n', out);
		}
	}
	free(layer);
}

/* 's' with double quotes and backslashes escaped as 'quote' says. */
static void put_escaped(const char *s, const char *quote, FILE *out)
{
	for (; *s; s++) {
		if (*s == '"')
			fputs(quote, out);
		else if (*s == '\\')
			fputs("\\\\", out);
		else
			fputc(*s, out);
	}
}

static void dot_id(const char *s, FILE *out)
{
	fputc('"', out);
	put_escaped(s, "\\\"", out);
	fputc('"', out);
}

void dagfmt_dot(const struct pipeline *p, FILE *out)
{
	int i, k;

	fprintf(out, "digraph ");
	dot_id(p->name, out);
	fprintf(out, " {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
	for (i = 0; i < p->n_nodes; i++) {
		fprintf(out, "  ");
		dot_id(p->nodes[i].id, out);
		fprintf(out, " [label=\"");
		put_escaped(p->nodes[i].id, "\\\"", out);
		fprintf(out, "\\n%s\"];\n", p->nodes[i].task);
	}
	for (i = 0; i < p->n_nodes; i++)
		for (k = 0; k < p->nodes[i].n_needs; k++) {
			fprintf(out, "  ");
			dot_id(p->nodes[p->nodes[i].needs[k]].id, out);
			fprintf(out, " -> ");
			dot_id(p->nodes[i].id, out);
			fprintf(out, ";\n");
		}
	fprintf(out, "}\n");
}

void dagfmt_mermaid(const struct pipeline *p, FILE *out)
{
	int i, k;

	fprintf(out, "flowchart LR\n");
	for (i = 0; i < p->n_nodes; i++) {
		fprintf(out, "  n%d[\"", i);
		put_escaped(p->nodes[i].id, "#quot;", out);
		fprintf(out, "<br/>%s\"]\n", p->nodes[i].task);
	}
	for (i = 0; i < p->n_nodes; i++)
		for (k = 0; k < p->nodes[i].n_needs; k++)
			fprintf(out, "  n%d --> n%d\n", p->nodes[i].needs[k], i);
}
