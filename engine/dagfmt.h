/* dagfmt: a pipeline's graph as text for people (`dagrun dag`), as
 * Graphviz dot (`--dot`) or as a Mermaid flowchart (`--mermaid`).
 * Writes to 'out'; nothing else.  Node ids are quoted for each format, so
 * matrix ids such as "train[lr=0.1]" survive. */
#ifndef DAGRUN_DAGFMT_H
#define DAGRUN_DAGFMT_H

#include <stdio.h>

struct pipeline;

/* Layers from the sources down, each node with its task and needs. */
void dagfmt_text(const struct pipeline *p, FILE *out);
void dagfmt_dot(const struct pipeline *p, FILE *out);
void dagfmt_mermaid(const struct pipeline *p, FILE *out);

#endif
