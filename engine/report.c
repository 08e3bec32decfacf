/* report: see report.h.
 *
 * The page is built in memory, one strbuf per section, then written in
 * one go around the sections that got content.  Data comes from queries
 * over the state and from output files read straight from their objects
 * (read-only: never linked, copied or verified here).  A section finds its
 * files by name among a node's top-level outputs (promotion.json,
 * forecast.npy, predictions.csv, drift.json, ...), whatever the node's
 * task, so a shell or lua node that writes the same files is shown too. */
#include "report.h"
#include "csv.h"
#include "fs.h"
#include "inspect.h"
#include "npy.h"
#include "pipeline.h"
#include "scaler.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "svg.h"
#include "xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 880 x 300: a chart at the page's text width */
#define CHART_W 880
#define CHART_H 300
/* The DAG's boxes and gaps, in pixels: 190 holds about 24 characters */
#define BOX_W 190
#define BOX_H 44
#define COL_GAP 64
#define ROW_GAP 14
#define DAG_PAD 8
/* 10 lines, at most 4000 bytes: the end of a failed node's log, as the
 * run printed it */
#define LOG_TAIL 10
#define LOG_TAIL_BYTES 4000
/* 30: a loss curve whose values span more than this factor gets a log y */
#define LOG_SPAN 30

/* 4: done, cached, failed, skipped (statuses[]) */
#define N_STATUS 4

enum {
	S_GRAPH, S_NODES, S_TRAIN, S_PROMO, S_FORECAST, S_RESID, S_DRIFT,
	S_METRICS, S_COUNT
};
static const char *const section_id[S_COUNT] = {
	"graph", "nodes", "training", "promotion", "forecasts", "residuals",
	"drift", "metrics"
};
static const char *const section_title[S_COUNT] = {
	"Graph", "Nodes", "Training curves", "Promotion", "Forecasts",
	"Residuals", "Drift", "Metrics"
};

/* One node of the run, as node_runs recorded it. */
struct rnode {
	char *id, *task, *status, *reason, *error, *key, *outputs; /* or NULL */
	char *log;           /* the log file's path, or NULL */
	double started, ended, cpu;
	long long maxrss_kb;
	int attempts;
	int64_t src_run;     /* the run that made its outputs: its metrics */
	json_t *key_doc;     /* the parsed key document, or NULL */
	json_t *manifest;    /* its outputs' manifest, or NULL */
	int *needs, n_needs; /* indexes into report.nodes */
	int layer, slot;
};

struct report {
	struct state *st;
	struct store *store;
	sqlite3 *db;
	int64_t run, nodes_run;   /* nodes_run: the run whose nodes are shown */
	json_t *run_row;
	struct rnode *nodes;
	int n;
	int unknown_needs;        /* skipped nodes whose needs are unknown */
	struct strbuf sec[S_COUNT];
};

/* A forecast against actuals; lo, hi and y may be NULL. */
struct series {
	char *title;
	size_t n;
	double *t, *yhat, *lo, *hi, *y;
};

/* ---- small helpers ------------------------------------------------- */

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void esc(struct strbuf *sb, const char *s)
{
	svg_escape(sb, s ? s : "");
}

/* Append 'fmt' with each %s replaced by the next argument (a string, or
 * NULL for none), escaped; %% is a percent sign.  Markup is written here
 * and text only through the arguments, so none can break out. */
static void html(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '%' && (p[1] == 's' || p[1] == '%')) {
			if (*++p == 's')
				esc(sb, va_arg(ap, const char *));
			else
				sb_addc(sb, '%');
		} else {
			sb_addc(sb, *p);
		}
	}
	va_end(ap);
}

/* A JSON number (or "inf") as text in 'buf', as jnum() writes it. */
static const char *json_text(char buf[32], const json_t *v)
{
	if (json_is_number(v) && isfinite(json_number_value(v)))
		snprintf(buf, 32, "%.6g", json_number_value(v));
	else
		snprintf(buf, 32, "%.30s", json_is_string(v) ? json_string_value(v) : "-");
	return buf;
}

/* A number as text: 6 significant digits, "-" when not finite. */
static void num(struct strbuf *sb, double v)
{
	if (isfinite(v))
		sb_addf(sb, "%.6g", v);
	else
		sb_adds(sb, "-");
}

/* A JSON value in a table cell: numbers as num(), strings ("inf") as
 * they are, anything else as "-". */
static void jnum(struct strbuf *sb, const json_t *v)
{
	char buf[32];

	esc(sb, json_text(buf, v));
}

/* A JSON number (or "inf") as a right-aligned cell. */
static void td_json(struct strbuf *sb, const json_t *v)
{
	sb_adds(sb, "<td class=\"n\">");
	jnum(sb, v);
	sb_adds(sb, "</td>");
}

/* A text cell. */
static void td(struct strbuf *sb, const char *s)
{
	html(sb, "<td>%s</td>", s);
}

/* A number cell, right-aligned. */
static void td_num(struct strbuf *sb, double v)
{
	sb_adds(sb, "<td class=\"n\">");
	num(sb, v);
	sb_adds(sb, "</td>");
}

/* A measurement with 'decimals' fixed decimals, "-" when not finite. */
static void td_fixed(struct strbuf *sb, double v, int decimals)
{
	if (isfinite(v))
		sb_addf(sb, "<td class=\"n\">%.*f</td>", decimals, v);
	else
		sb_adds(sb, "<td class=\"n\">-</td>");
}

/* '<table><tr><th>...' for the 'n' column names. */
static void table_head(struct strbuf *sb, const char *const *cols, int n)
{
	sb_adds(sb, "<table><thead><tr>");
	for (int i = 0; i < n; i++)
		html(sb, "<th>%s</th>", cols[i]);
	sb_adds(sb, "</tr></thead><tbody>\n");
}

/* A remark, escaped, as a paragraph of class "note".  Takes 'text'
 * (from xasprintf or xstrdup) and frees it. */
static void note(struct strbuf *sb, char *text)
{
	html(sb, "<p class=\"note\">%s</p>\n", text);
	free(text);
}

/* A heading for one node's part of a section. */
static void node_heading(struct strbuf *sb, const struct rnode *n)
{
	html(sb, "<h3>%s <span class=\"task\">%s</span></h3>\n", n->id, n->task);
}

/* Wall seconds, NAN for a node that did not run here. */
static double wall(const struct rnode *n)
{
	return n->started > 0 && n->ended >= n->started ? n->ended - n->started : NAN;
}

/* The statuses a node run records, in the order the header counts them;
 * each is also its CSS class "s-<status>". */
static const char *const statuses[N_STATUS] = {"done", "cached", "failed", "skipped"};

/* The index of 'status' in statuses[], or N_STATUS for another. */
static int status_index(const char *status)
{
	int i;

	for (i = 0; i < N_STATUS; i++)
		if (status && !strcmp(status, statuses[i]))
			break;
	return i;
}

/* The status as a CSS class: one of the four known, else "other". */
static const char *status_class(const char *status)
{
	int i = status_index(status);

	return i < N_STATUS ? statuses[i] : "other";
}

/* ---- loading the run ----------------------------------------------- */

/* The manifest of outputs 'hex' (caller decrefs), or NULL when there is
 * none, or it is gone from the store or damaged. */
static json_t *load_manifest(struct report *R, const char *hex)
{
	struct hash h;
	struct err e;
	json_t *m = NULL;

	err_init(&e);
	if (hex && hash_from_hex(hex, &h) == 0 && store_manifest(R->store, &h, &m, &e) < 0)
		m = NULL;
	return m;
}

/* The object path of top-level file 'name' in 'manifest' (caller frees),
 * or NULL. */
static char *manifest_file(struct report *R, const json_t *manifest,
			   const char *name)
{
	json_t *f;
	struct hash h;
	size_t i;

	json_array_foreach(json_object_get(manifest, "files"), i, f) {
		const char *path = jstr(f, "path"), *hex = jstr(f, "hash");
		if (path && hex && !strcmp(path, name) && hash_from_hex(hex, &h) == 0)
			return store_path(R->store, &h);
	}
	return NULL;
}

/* manifest_file() of node 'n''s outputs. */
static char *node_file(struct report *R, const struct rnode *n, const char *name)
{
	return n->manifest ? manifest_file(R, n->manifest, name) : NULL;
}

/* The run whose metrics belong to node 'n''s outputs: this run when it
 * ran the node, else the latest run up to this one that ran the node with
 * the same key (through the index on pipeline and node), else the run of
 * the key's cache entry. */
static int64_t source_run(struct report *R, const struct rnode *n)
{
	sqlite3_stmt *s;
	int64_t src = R->nodes_run;

	if (!strcmp(n->status, "done") || !n->key)
		return src;
	sqlite3_prepare_v2(R->db, "SELECT coalesce((SELECT run_id FROM node_runs"
		" WHERE pipeline = ?3 AND node = ?4 AND key = ?1 AND status = 'done'"
		" AND run_id <= ?2 ORDER BY id DESC LIMIT 1), (SELECT run_id FROM"
		" cache WHERE key = ?1))", -1, &s, NULL);
	sqlite3_bind_text(s, 1, n->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, R->nodes_run);
	sqlite3_bind_text(s, 3, jstr(R->run_row, "pipeline"), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, n->id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		src = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return src;
}

/* Node 'n' from a row of load_nodes()'s query, with its metrics' run,
 * key document and outputs' manifest. */
static void read_node(struct report *R, sqlite3_stmt *s, struct rnode *n)
{
	char *doc;

	memset(n, 0, sizeof(*n));
	n->id = col_dup(s, 0);
	n->task = col_dup(s, 1);
	n->status = col_dup(s, 2);
	n->reason = col_dup(s, 3);
	n->error = col_dup(s, 4);
	n->key = col_dup(s, 5);
	n->outputs = col_dup(s, 6);
	n->started = sqlite3_column_double(s, 7);
	n->ended = sqlite3_column_double(s, 8);
	n->cpu = sqlite3_column_double(s, 9);
	n->maxrss_kb = sqlite3_column_int64(s, 10);
	n->attempts = sqlite3_column_int(s, 11);
	n->log = col_dup(s, 12);
	if (!n->id)
		n->id = xstrdup("?");
	if (!n->status)
		n->status = xstrdup("?");
	n->src_run = source_run(R, n);
	doc = n->key ? state_key_doc(R->st, n->key) : NULL;
	n->key_doc = doc ? json_loads(doc, 0, NULL) : NULL;
	free(doc);
	n->manifest = load_manifest(R, n->outputs);
	n->layer = -1;
}

/* A no-op run shows the run it repeated, each node cached. */
static void as_cached(struct report *R, struct rnode *n)
{
	free(n->status);
	free(n->reason);
	n->status = xstrdup("cached");
	n->reason = xasprintf("nothing changed since run %lld", (long long)R->nodes_run);
	n->started = n->ended = n->cpu = 0;
	n->maxrss_kb = 0;
}

/* The nodes of the run shown, in the order they were recorded. */
static void load_nodes(struct report *R)
{
	sqlite3_stmt *s;
	size_t cap = 0;

	sqlite3_prepare_v2(R->db, "SELECT node, task, status, reason, error, key,"
		" outputs, started, ended, cpu, maxrss_kb, attempts, log FROM"
		" node_runs WHERE run_id = ?1 ORDER BY id", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, R->nodes_run);
	while (sqlite3_step(s) == SQLITE_ROW) {
		xgrow((void **)&R->nodes, sizeof(*R->nodes), &cap, (size_t)R->n + 1);
		read_node(R, s, &R->nodes[R->n]);
		if (R->nodes_run != R->run)
			as_cached(R, &R->nodes[R->n]);
		R->n++;
	}
	sqlite3_finalize(s);
}

/* The index of node 'id', or -1 (a need from outside the run). */
static int find_node(const struct report *R, const char *id)
{
	for (int i = 0; id && i < R->n; i++)
		if (!strcmp(R->nodes[i].id, id))
			return i;
	return -1;
}

/* Add node index 'k' (none when < 0) to n's needs, once. */
static void add_need(struct rnode *n, int k)
{
	if (k < 0)
		return;
	for (int i = 0; i < n->n_needs; i++)
		if (n->needs[i] == k)
			return;
	n->needs = xrealloc(n->needs, (size_t)(n->n_needs + 1) * sizeof(int));
	n->needs[n->n_needs++] = k;
}

/* The pipeline file the run used, when it still loads (or NULL). */
static struct pipeline *load_pipeline(struct report *R)
{
	const char *root = jstr(R->run_row, "root"), *rel = jstr(R->run_row, "pipeline_path");
	struct pipeline *p = NULL;
	struct err e;
	char *path;

	if (!root || !rel)
		return NULL;
	err_init(&e);
	path = rel[0] == '/' ? xstrdup(rel) : fs_join(root, rel);
	if (!fs_exists(path) || pipeline_load(path, &p, &e) < 0)
		p = NULL;
	free(path);
	return p;
}

/* Each node's needs: the inputs of its key, or for a node without a key
 * (skipped before its key was made) the pipeline file's needs. */
static void link_needs(struct report *R)
{
	struct pipeline *p = NULL;
	int loaded = 0;
	json_t *in;
	size_t k;

	for (int i = 0; i < R->n; i++) {
		struct rnode *n = &R->nodes[i];
		int j;
		if (n->key_doc) {
			json_array_foreach(json_object_get(n->key_doc, "inputs"), k, in)
				add_need(n, find_node(R, jstr(in, "name")));
			continue;
		}
		if (!loaded++)
			p = load_pipeline(R);
		j = p ? pipeline_find(p, n->id) : -1;
		if (j < 0) {
			R->unknown_needs++;
			continue;
		}
		for (int m = 0; m < p->nodes[j].n_needs; m++)
			add_need(n, find_node(R, p->nodes[p->nodes[j].needs[m]].id));
	}
	pipeline_free(p);
}

/* Free everything the report holds. */
static void release(struct report *R)
{
	for (int i = 0; i < R->n; i++) {
		struct rnode *n = &R->nodes[i];
		free(n->id);
		free(n->task);
		free(n->status);
		free(n->reason);
		free(n->error);
		free(n->key);
		free(n->outputs);
		free(n->log);
		free(n->needs);
		json_decref(n->key_doc);
		json_decref(n->manifest);
	}
	free(R->nodes);
	json_decref(R->run_row);
	for (int i = 0; i < S_COUNT; i++)
		sb_release(&R->sec[i]);
}

/* ---- the run header ------------------------------------------------ */

/* "1.23 s", "4.5 min", or "-" when unknown. */
static void duration_text(char *buf, size_t n, double secs)
{
	if (!isfinite(secs) || secs < 0)
		snprintf(buf, n, "-");
	else if (secs < 120)
		snprintf(buf, n, "%.2f s", secs);
	else
		snprintf(buf, n, "%.1f min", secs / 60);
}

/* One row of the header's table. */
static void fact(struct strbuf *sb, const char *name, const char *value)
{
	html(sb, "<tr><th>%s</th><td>%s</td></tr>\n", name, value ? value : "-");
}

/* The page's header: the run's facts. */
static void header(struct report *R, struct strbuf *sb)
{
	json_t *r = R->run_row;
	double t0 = json_number_value(json_object_get(r, "started"));
	double t1 = json_number_value(json_object_get(r, "ended"));
	int count[N_STATUS + 1] = {0};
	char buf[128], *git;
	const char *st = jstr(r, "status");

	for (int i = 0; i < R->n; i++)
		count[status_index(R->nodes[i].status)]++;
	snprintf(buf, sizeof(buf), "%lld", (long long)R->run);
	html(sb, "<header><h1>%s <span class=\"run\">run %s</span> <span class=\"badge "
	     "r-%s\">%s</span></h1>\n<table class=\"facts\">\n", jstr(r, "pipeline"),
	     buf, st && !strcmp(st, "ok") ? "ok" : "bad", st);
	fact(sb, "pipeline file", jstr(r, "pipeline_path"));
	inspect_time(t0, buf, sizeof(buf));
	fact(sb, "started", buf);
	duration_text(buf, sizeof(buf), t1 > 0 ? t1 - t0 : NAN);
	fact(sb, "duration", buf);
	git = xasprintf("%s%s on %s", jstr(r, "git_commit") ? jstr(r, "git_commit") :
			"(no commit)", json_integer_value(json_object_get(r, "git_dirty")) ?
			" (dirty)" : "", jstr(r, "git_branch") ? jstr(r, "git_branch") :
			"(detached)");
	fact(sb, "git", git);
	free(git);
	snprintf(buf, sizeof(buf), "%d: %d ran, %d cached, %d failed, %d skipped",
		 R->n, count[0], count[1], count[2], count[3]);
	fact(sb, "nodes", buf);
	if (jstr(r, "salt"))
		fact(sb, "salt", jstr(r, "salt"));
	if (R->nodes_run != R->run) {
		snprintf(buf, sizeof(buf), "run %lld: nothing changed, every node cached",
			 (long long)R->nodes_run);
		fact(sb, "same as", buf);
	}
	fact(sb, "command", jstr(r, "argv"));
	sb_adds(sb, "</table></header>\n");
}

/* ---- the graph ----------------------------------------------------- */

/* The longest path from a source to node 'i'; 'depth' guards against a
 * cycle in damaged data. */
static int layer_of(struct report *R, int i, int depth)
{
	struct rnode *n = &R->nodes[i];
	int l = 0;

	if (n->layer >= 0 || depth > R->n)
		return n->layer >= 0 ? n->layer : 0;
	for (int k = 0; k < n->n_needs; k++) {
		int up = layer_of(R, n->needs[k], depth + 1) + 1;
		if (up > l)
			l = up;
	}
	n->layer = l;
	return l;
}

/* The mean slot of a node's needs (0 for a source): placing each node
 * near what it needs keeps the edges short. */
static double barycentre(const struct report *R, int i)
{
	const struct rnode *n = &R->nodes[i];
	double sum = 0;

	if (n->n_needs == 0)
		return 0;
	for (int k = 0; k < n->n_needs; k++)
		sum += R->nodes[n->needs[k]].slot;
	return sum / n->n_needs;
}

/* Does node 'a' go below node 'b' in their layer: by barycentre, then by
 * id, so that the picture does not depend on which node finished first. */
static int below(const struct report *R, const double *key, int a, int b)
{
	if (key[a] != key[b])
		return key[a] > key[b];
	return strcmp(R->nodes[a].id, R->nodes[b].id) > 0;
}

/* Layers, then each layer's order (below()).  Returns the number of
 * layers; '*rows' gets the largest layer. */
static int layout(struct report *R, int *rows)
{
	int n_layers = 0, *idx = xmalloc(((size_t)R->n + 1) * sizeof(int));
	double *key = xmalloc(((size_t)R->n + 1) * sizeof(double));

	*rows = 0;
	for (int i = 0; i < R->n; i++)
		if (layer_of(R, i, 0) + 1 > n_layers)
			n_layers = R->nodes[i].layer + 1;
	for (int l = 0; l < n_layers; l++) {
		int m = 0;
		for (int i = 0; i < R->n; i++) {
			int j;
			if (R->nodes[i].layer != l)
				continue;
			key[i] = barycentre(R, i);
			for (j = m; j > 0 && below(R, key, idx[j - 1], i); j--)
				idx[j] = idx[j - 1];
			idx[j] = i;
			m++;
		}
		for (int j = 0; j < m; j++)
			R->nodes[idx[j]].slot = j;
		if (m > *rows)
			*rows = m;
	}
	free(idx);
	free(key);
	return n_layers;
}

/* The top left corner of node 'n''s box: layers are columns, each column
 * centred vertically. */
static void box_at(const struct report *R, const struct rnode *n, int rows,
		   double *x, double *y)
{
	int in_layer = 0;

	for (int i = 0; i < R->n; i++)
		in_layer += R->nodes[i].layer == n->layer;
	*x = DAG_PAD + n->layer * (BOX_W + COL_GAP);
	*y = DAG_PAD + (n->slot + (rows - in_layer) / 2.0) * (BOX_H + ROW_GAP);
}

/* Node 'n''s box, coloured by status, its full story in the tooltip. */
static void dag_box(struct report *R, struct strbuf *sb, const struct rnode *n,
		    int rows)
{
	char cls[32], line2[160], dur[32];
	const char *why = n->error ? n->error : n->reason;
	char *tip;
	double x, y;

	box_at(R, n, rows, &x, &y);
	snprintf(cls, sizeof(cls), "node s-%s", status_class(n->status));
	duration_text(dur, sizeof(dur), wall(n));
	/* "task · 1.23 s" for a node that ran, else "task · status" */
	snprintf(line2, sizeof(line2), "%s \xC2\xB7 %s", n->task ? n->task : "?",
		 !strcmp(n->status, "done") ? dur : n->status);
	tip = xasprintf("%s (%s): %s, wall %s%s%s", n->id, n->task ? n->task : "?",
			n->status, dur, why ? "\n" : "", why ? why : "");
	svg_box(sb, x, y, BOX_W, BOX_H, cls, n->id, line2, tip);
	free(tip);
}

/* The graph: boxes in layers, arrows from needs, a legend. */
static void section_graph(struct report *R, struct strbuf *sb)
{
	struct svg_plot p;
	int rows, n_layers;
	char *label;

	if (R->n == 0)
		return;
	n_layers = layout(R, &rows);
	svg_plot_init(&p, 2 * DAG_PAD + n_layers * (BOX_W + COL_GAP) - COL_GAP,
		      2 * DAG_PAD + rows * (BOX_H + ROW_GAP) - ROW_GAP, 0);
	label = xasprintf("the graph of run %lld: %d nodes in %d layers",
			  (long long)R->run, R->n, n_layers);
	sb_adds(sb, "<div class=\"scroll\">");
	svg_begin(sb, &p, label);
	svg_arrow_defs(sb);
	for (int i = 0; i < R->n; i++)
		for (int k = 0; k < R->nodes[i].n_needs; k++) {
			double x1, y1, x2, y2;
			box_at(R, &R->nodes[R->nodes[i].needs[k]], rows, &x1, &y1);
			box_at(R, &R->nodes[i], rows, &x2, &y2);
			svg_arrow(sb, x1 + BOX_W, y1 + BOX_H / 2.0, x2 - 1, y2 + BOX_H / 2.0);
		}
	for (int i = 0; i < R->n; i++)
		dag_box(R, sb, &R->nodes[i], rows);
	svg_end(sb);
	sb_adds(sb, "</div>\n<p class=\"legend\">");
	for (int i = 0; i < N_STATUS; i++)
		sb_addf(sb, "<span class=\"badge s-%s\">%s</span> ", statuses[i], statuses[i]);
	sb_adds(sb, "</p>\n");
	if (R->unknown_needs)
		note(sb, xasprintf("%d node(s) are drawn without their needs: they "
				   "have no key and the pipeline file %s no longer has "
				   "them", R->unknown_needs,
				   jstr(R->run_row, "pipeline_path") ?
				   jstr(R->run_row, "pipeline_path") : "-"));
	free(label);
}

/* The last lines of a failed node's log, when the file is still there:
 * only its last LOG_TAIL_BYTES are read, however long it is. */
static void log_tail(struct strbuf *sb, const char *path)
{
	char buf[LOG_TAIL_BYTES + 1], *p;
	FILE *f = path ? fopen(path, "rb") : NULL;
	long size;
	size_t n;
	int lines = 0;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > LOG_TAIL_BYTES)
		fseek(f, size - LOG_TAIL_BYTES, SEEK_SET);
	else
		rewind(f);
	n = fread(buf, 1, LOG_TAIL_BYTES, f);
	fclose(f);
	if (n == 0)
		return;
	buf[n] = '\0';
	for (p = buf + n - 1; p > buf; p--)
		if (*p == '\n' && p != buf + n - 1 && ++lines == LOG_TAIL)
			break;
	if (*p == '\n')
		p++;
	while (((unsigned char)*p & 0xC0) == 0x80)
		p++;
	html(sb, "<pre class=\"log\">%s</pre>", p);
}

/* Every node run: status, why, times, memory. */
static void section_nodes(struct report *R, struct strbuf *sb)
{
	static const char *const cols[] = {"node", "task", "status", "reason or error",
					   "wall s", "CPU s", "peak RSS MB", "attempts"};

	if (R->n == 0)
		return;
	table_head(sb, cols, 8);
	for (int i = 0; i < R->n; i++) {
		const struct rnode *n = &R->nodes[i];
		html(sb, "<tr><td>%s</td><td>%s</td><td><span class=\"badge s-%s\">%s"
		     "</span></td><td class=\"why\">%s", n->id, n->task,
		     status_class(n->status), n->status, n->reason);
		if (!strcmp(n->status, "cached") && n->src_run != R->nodes_run)
			sb_addf(sb, "%soutputs of run %lld", n->reason ? "; " : "",
				(long long)n->src_run);
		if (n->error)
			html(sb, "<pre class=\"err\">%s</pre>", n->error);
		if (!strcmp(n->status, "failed"))
			log_tail(sb, n->log);
		sb_adds(sb, "</td>");
		td_fixed(sb, wall(n), 2);
		td_fixed(sb, n->started > 0 ? n->cpu : NAN, 2);
		td_fixed(sb, n->maxrss_kb > 0 ? (double)n->maxrss_kb / 1024.0 : NAN, 1);
		sb_addf(sb, "<td class=\"n\">%d</td></tr>\n", n->attempts);
	}
	sb_adds(sb, "</tbody></table>\n");
}

/* ---- training curves ----------------------------------------------- */

/* The steps and values of metric 'name' of node 'n' (caller frees both);
 * returns how many. */
static size_t curve(struct report *R, const struct rnode *n, const char *name,
		    double **x, double **y)
{
	sqlite3_stmt *s;
	size_t k = 0, cx = 0, cy = 0;

	*x = *y = NULL;
	sqlite3_prepare_v2(R->db, "SELECT step, value FROM metrics WHERE run_id = ?1"
		" AND node = ?2 AND name = ?3 AND step >= 0 ORDER BY step, rowid",
		-1, &s, NULL);
	sqlite3_bind_int64(s, 1, n->src_run);
	sqlite3_bind_text(s, 2, n->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		xgrow((void **)x, sizeof(double), &cx, k + 1);
		xgrow((void **)y, sizeof(double), &cy, k + 1);
		(*x)[k] = (double)sqlite3_column_int64(s, 0);
		(*y)[k++] = sqlite3_column_double(s, 1);
	}
	sqlite3_finalize(s);
	return k;
}

/* Log y when every value is positive and they span more than LOG_SPAN. */
static int wants_log(double *const *y, const size_t *n, int k)
{
	double lo = INFINITY, hi = -INFINITY;

	for (int j = 0; j < k; j++)
		for (size_t i = 0; i < n[j]; i++) {
			if (!(y[j][i] > 0) && isfinite(y[j][i]))
				return 0;
			lo = fmin(lo, y[j][i]);
			hi = fmax(hi, y[j][i]);
		}
	return lo > 0 && hi / lo > LOG_SPAN;
}

/* Node 'n''s train_loss and val_loss per step, when it has them. */
static void training_chart(struct report *R, struct strbuf *sb,
			   const struct rnode *n)
{
	static const char *const names[2] = {"train_loss", "val_loss"};
	static const char *const cls[2] = {"c0", "c1"};
	const char *lnames[2], *lcls[2];
	double *x[2], *y[2];
	size_t cnt[2];
	struct svg_plot p;
	int k = 0;
	char *label;

	for (int j = 0; j < 2; j++)
		cnt[j] = curve(R, n, names[j], &x[j], &y[j]);
	if (cnt[0] + cnt[1] > 0) {
		svg_plot_init(&p, CHART_W, CHART_H, wants_log(y, cnt, 2) ? SVG_LOG_Y : 0);
		for (int j = 0; j < 2; j++)
			svg_plot_include(&p, x[j], y[j], cnt[j]);
		node_heading(sb, n);
		label = xasprintf("%s: loss per epoch", n->id);
		svg_begin(sb, &p, label);
		svg_axes(sb, &p, "epoch", p.flags & SVG_LOG_Y ? "loss (log)" : "loss");
		for (int j = 0; j < 2; j++)
			if (cnt[j]) {
				svg_line(sb, &p, x[j], y[j], cnt[j], cls[j]);
				lnames[k] = names[j];
				lcls[k++] = cls[j];
			}
		svg_legend(sb, &p, lnames, lcls, (size_t)k);
		svg_end(sb);
		free(label);
	}
	for (int j = 0; j < 2; j++) {
		free(x[j]);
		free(y[j]);
	}
}

/* ---- promotion ----------------------------------------------------- */

static void scoreboard(struct strbuf *sb, const json_t *board)
{
	static const char *const cols[] = {"rank", "node", "type", "score", "rmse",
					   "mae", "mse", "baseline", "beats baselines"};
	const json_t *row, *m;
	size_t i;

	table_head(sb, cols, 9);
	json_array_foreach(board, i, row) {
		m = json_object_get(row, "metrics");
		sb_adds(sb, "<tr>");
		td_json(sb, json_object_get(row, "rank"));
		td(sb, jstr(row, "node"));
		td(sb, jstr(row, "model_type"));
		td_json(sb, json_object_get(row, "score"));
		td_json(sb, json_object_get(m, "rmse"));
		td_json(sb, json_object_get(m, "mae"));
		td_json(sb, json_object_get(m, "mse"));
		td(sb, json_is_true(json_object_get(row, "baseline")) ?
		   (jstr(row, "method") ? jstr(row, "method") : "yes") : "");
		td(sb, json_is_boolean(json_object_get(row, "beats_baselines")) ?
		   (json_is_true(json_object_get(row, "beats_baselines")) ? "yes" : "no") : "");
		sb_adds(sb, "</tr>\n");
	}
	sb_adds(sb, "</tbody></table>\n");
}

/* The aliases of 'model' version 'v', comma-separated, or "". */
static void version_aliases(struct report *R, const char *model, int64_t v,
			    struct strbuf *out)
{
	sqlite3_stmt *s;

	sqlite3_prepare_v2(R->db, "SELECT alias FROM aliases WHERE model = ?1 AND "
			   "version = ?2 ORDER BY alias", -1, &s, NULL);
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v);
	while (sqlite3_step(s) == SQLITE_ROW)
		sb_addf(out, "%s%s", out->len ? ", " : "", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

/* The registry's versions of 'model' now, with their aliases. */
static void registry_versions(struct report *R, struct strbuf *sb,
			      const char *model)
{
	static const char *const cols[] = {"version", "aliases", "node", "run", "type",
					   "score"};
	struct strbuf al;
	sqlite3_stmt *s;
	int any = 0;

	sqlite3_prepare_v2(R->db, "SELECT version, node, run_id, model_type, score "
			   "FROM model_versions WHERE model = ?1 ORDER BY version", -1, &s, NULL);
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	sb_init(&al);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (!any++) {
			sb_adds(sb, "<h4>Registry: model ");
			esc(sb, model);
			sb_adds(sb, " now</h4>\n");
			table_head(sb, cols, 6);
		}
		sb_reset(&al);
		version_aliases(R, model, sqlite3_column_int64(s, 0), &al);
		sb_addf(sb, "<tr><td class=\"n\">%lld</td>", (long long)sqlite3_column_int64(s, 0));
		td(sb, al.buf);
		td(sb, (const char *)sqlite3_column_text(s, 1));
		sb_addf(sb, "<td class=\"n\">%lld</td>", (long long)sqlite3_column_int64(s, 2));
		td(sb, (const char *)sqlite3_column_text(s, 3));
		td_num(sb, sqlite3_column_type(s, 4) == SQLITE_NULL ? NAN :
		       sqlite3_column_double(s, 4));
		sb_adds(sb, "</tr>\n");
	}
	if (any)
		sb_adds(sb, "</tbody></table>\n");
	sb_release(&al);
	sqlite3_finalize(s);
}

/* The alias moves this run made for 'model'. */
static void registry_moves(struct report *R, struct strbuf *sb, const char *model)
{
	static const char *const cols[] = {"alias", "version", "previous", "decision",
					   "reason"};
	sqlite3_stmt *s;
	int any = 0;

	sqlite3_prepare_v2(R->db, "SELECT alias, version, previous, decision, reason "
			   "FROM promotions WHERE model = ?1 AND run_id = ?2 ORDER BY id",
			   -1, &s, NULL);
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, R->run);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (!any++) {
			sb_adds(sb, "<h4>Alias moves in this run</h4>\n");
			table_head(sb, cols, 5);
		}
		sb_adds(sb, "<tr>");
		td(sb, (const char *)sqlite3_column_text(s, 0));
		for (int c = 1; c <= 2; c++)
			if (sqlite3_column_type(s, c) == SQLITE_NULL)
				td(sb, "-");
			else
				sb_addf(sb, "<td class=\"n\">%lld</td>",
					(long long)sqlite3_column_int64(s, c));
		td(sb, (const char *)sqlite3_column_text(s, 3));
		td(sb, (const char *)sqlite3_column_text(s, 4));
		sb_adds(sb, "</tr>\n");
	}
	if (any)
		sb_adds(sb, "</tbody></table>\n");
	sqlite3_finalize(s);
}

/* The JSON file 'name' of node 'n' (caller decrefs), or NULL: absent, or
 * unreadable with a note in 'sb'. */
static json_t *node_json(struct report *R, struct strbuf *sb, const struct rnode *n,
			 const char *name)
{
	char *path = node_file(R, n, name);
	json_error_t je;
	json_t *j;

	if (!path)
		return NULL;
	j = json_load_file(path, 0, &je);
	if (!j) {
		node_heading(sb, n);
		note(sb, xasprintf("cannot read %s: %s", name, je.text));
	}
	free(path);
	return j;
}

/* An eval.promote decision: the verdict, the scoreboard, the registry. */
static void promotion(struct report *R, struct strbuf *sb, const struct rnode *n)
{
	json_t *j = node_json(R, sb, n, "promotion.json");
	const char *model;
	char score[32];

	if (!j)
		return;
	model = jstr(j, "model");
	node_heading(sb, n);
	html(sb, "<p>Decision <span class=\"badge d-%s\">%s</span>: winner <b>%s</b> "
	     "(%s, score %s) for %s@%s.</p>\n<p class=\"why\">%s</p>\n",
	     jstr(j, "decision"), jstr(j, "decision"), jstr(j, "winner"),
	     jstr(j, "model_type"), json_text(score, json_object_get(j, "score")),
	     model, jstr(j, "alias"), jstr(j, "reason"));
	scoreboard(sb, json_object_get(j, "scoreboard"));
	if (model) {
		registry_moves(R, sb, model);
		registry_versions(R, sb, model);
	}
	json_decref(j);
}

/* ---- forecasts and residuals --------------------------------------- */

static void series_release(struct series *s)
{
	free(s->title);
	free(s->t);
	free(s->yhat);
	free(s->lo);
	free(s->hi);
	free(s->y);
	memset(s, 0, sizeof(*s));
}

/* n zeroed doubles (at least one), for a series. */
static double *dalloc(size_t n)
{
	return xcalloc(n + 1, sizeof(double));
}

/* Read .npy 'name' of manifest 'm' into 'a'; on failure a note. */
static int read_npy(struct report *R, struct strbuf *sb, const json_t *m,
		    const char *name, struct npy_array *a)
{
	char *path = manifest_file(R, m, name);
	struct err e;
	int rc;

	err_init(&e);
	if (!path) {
		note(sb, xasprintf("no %s among the outputs", name));
		return -1;
	}
	rc = npy_read(path, a, &e);
	free(path);
	if (rc < 0)
		note(sb, xasprintf("cannot read %s: %s", name, e.msg));
	return rc;
}

/* forecast.npy float64 [n, 4] (yhat, lower, upper, y: train.prophet) or
 * [n, 2] (yhat, y: train.holt_winters) and T_test.npy int64 [n]. */
static int held_out_series(struct report *R, struct strbuf *sb,
			   const struct rnode *n, struct series *s)
{
	struct npy_array f, t;
	const double *v;
	size_t w;
	int rc = -1;

	if (read_npy(R, sb, n->manifest, "forecast.npy", &f) < 0)
		return -1;
	if (read_npy(R, sb, n->manifest, "T_test.npy", &t) < 0) {
		npy_release(&f);
		return -1;
	}
	w = f.shape[1];
	if (f.dtype != NPY_F8 || f.ndim != 2 || (w != 4 && w != 2) ||
	    t.dtype != NPY_I8 || t.count != f.shape[0]) {
		note(sb, xstrdup("forecast.npy and T_test.npy are not float64 "
				 "[n, 4] or [n, 2] and int64 [n]"));
	} else {
		s->n = t.count;
		s->t = dalloc(s->n);
		s->yhat = dalloc(s->n);
		s->y = dalloc(s->n);
		s->lo = w == 4 ? dalloc(s->n) : NULL;
		s->hi = w == 4 ? dalloc(s->n) : NULL;
		v = f.data;
		for (size_t i = 0; i < s->n; i++) {
			s->t[i] = (double)((const int64_t *)t.data)[i];
			s->yhat[i] = v[w * i];
			s->y[i] = v[w * i + w - 1];
			if (w == 4) {
				s->lo[i] = v[w * i + 1];
				s->hi[i] = v[w * i + 2];
			}
		}
		rc = 0;
	}
	npy_release(&f);
	npy_release(&t);
	return rc;
}

/* Column 'name' of 'tab' (or 'name'_1, the first step of a multi-step
 * forecast) as numbers or times into a new array, or NULL when absent
 * or malformed (a note then).  Empty fields are NAN. */
static double *csv_column(struct strbuf *sb, struct csv_table *tab,
			  const char *name, int times)
{
	char *first = xasprintf("%s_1", name);
	long c = csv_find(tab, name);
	double *v;
	struct err e;

	if (c < 0)
		c = csv_find(tab, first);
	free(first);
	if (c < 0)
		return NULL;
	err_init(&e);
	v = dalloc(csv_rows(tab));
	if ((times ? csv_times(tab, (size_t)c, v, &e) :
	     csv_numbers(tab, (size_t)c, v, &e)) < 0) {
		note(sb, xasprintf("predictions.csv: %s", e.msg));
		free(v);
		return NULL;
	}
	return v;
}

/* predictions.csv: timestamp, yhat[, yhat_lower, yhat_upper][, y], or
 * yhat_1.. for several steps ahead (infer.batch).  1 for a file without
 * both timestamp and yhat: not a forecast (a classifier's predictions). */
static int csv_series(struct report *R, struct strbuf *sb, const struct rnode *n,
		      struct series *s)
{
	char *path = node_file(R, n, "predictions.csv");
	struct csv_table *tab;
	struct err e;

	err_init(&e);
	tab = path ? csv_load(path, ',', &e) : NULL;
	free(path);
	if (!tab) {
		note(sb, xasprintf("cannot read predictions.csv: %s", e.msg));
		return -1;
	}
	if (csv_find(tab, "timestamp") < 0 || (csv_find(tab, "yhat") < 0 &&
					       csv_find(tab, "yhat_1") < 0)) {
		csv_free(tab);
		return 1;
	}
	s->n = csv_rows(tab);
	s->t = csv_column(sb, tab, "timestamp", 1);
	s->yhat = csv_column(sb, tab, "yhat", 0);
	s->lo = csv_column(sb, tab, "yhat_lower", 0);
	s->hi = csv_column(sb, tab, "yhat_upper", 0);
	s->y = csv_column(sb, tab, "y", 0);
	csv_free(tab);
	return s->t && s->yhat ? 0 : -1;
}

/* The manifest of the features node a sequence model (train.gru,
 * train.lstm, baseline.*) was scored on: its 'data' param if set, else
 * the first input holding Y_test.npy; found through the key document.
 * Caller decrefs; NULL when there is none. */
static json_t *features_manifest(struct report *R, const struct rnode *n)
{
	const char *want = jstr(json_object_get(n->key_doc, "params"), "data");
	json_t *in, *m;
	size_t i;
	char *y;
	int found;

	json_array_foreach(json_object_get(n->key_doc, "inputs"), i, in) {
		if (want && (!jstr(in, "name") || strcmp(jstr(in, "name"), want)))
			continue;
		m = load_manifest(R, jstr(in, "hash"));
		y = m ? manifest_file(R, m, "Y_test.npy") : NULL;
		found = y != NULL;
		free(y);
		if (found)
			return m;
		json_decref(m);
	}
	return NULL;
}

/* Y_test.npy (scaled) back to the target's units with meta.json's
 * target_scaler; 0, or -1 with a note. */
static int unscale_targets(struct strbuf *sb, const char *meta_path, double *y,
			   size_t n)
{
	json_t *meta = meta_path ? json_load_file(meta_path, 0, NULL) : NULL;
	const char *target = jstr(meta, "target");
	struct scaler sc;
	struct err e;
	long j = -1;

	err_init(&e);
	if (!meta)
		scaler_init(&sc, SCALER_NONE);
	else if (scaler_from_json(json_object_get(meta, "target_scaler"), &sc, &e) == 0)
		j = target ? scaler_find(&sc, target) : -1;
	if (j >= 0)
		for (size_t i = 0; i < n; i++)
			y[i] = scaler_inverse(&sc, (size_t)j, y[i]);
	else
		note(sb, xstrdup("the features' meta.json has no target scaler"));
	scaler_release(&sc);
	json_decref(meta);
	return j >= 0 ? 0 : -1;
}

/* A recurrent model's first-step predictions against its test targets. */
static int rnn_targets(struct report *R, struct strbuf *sb, const json_t *fm,
		       struct series *s)
{
	struct npy_array y, t;
	char *meta;
	int rc = -1;

	if (read_npy(R, sb, fm, "Y_test.npy", &y) < 0)
		return -1;
	if (read_npy(R, sb, fm, "T_test.npy", &t) < 0) {
		npy_release(&y);
		return -1;
	}
	if (y.dtype == NPY_F4 && t.dtype == NPY_I8 && y.shape[0] == s->n &&
	    t.count == s->n) {
		s->y = dalloc(s->n);
		s->t = dalloc(s->n);
		for (size_t i = 0; i < s->n; i++) {
			s->y[i] = ((const float *)y.data)[i * y.shape[1]];
			s->t[i] = (double)((const int64_t *)t.data)[i];
		}
		meta = manifest_file(R, fm, "meta.json");
		rc = unscale_targets(sb, meta, s->y, s->n);
		free(meta);
	} else {
		note(sb, xstrdup("Y_test.npy and T_test.npy do not match predictions.npy"));
	}
	npy_release(&y);
	npy_release(&t);
	return rc;
}

/* predictions.npy float32 [n, steps]: the first step against the test
 * targets of the features node (rnn_targets()). */
static int rnn_series(struct report *R, struct strbuf *sb, const struct rnode *n,
		      struct series *s)
{
	json_t *fm = features_manifest(R, n);
	struct npy_array p;
	int rc = -1;

	if (!fm) {
		note(sb, xstrdup("predictions.npy without the test targets: no "
				 "needed node with Y_test.npy is left in the store"));
		return -1;
	}
	if (read_npy(R, sb, n->manifest, "predictions.npy", &p) == 0) {
		if (p.dtype == NPY_F4 && p.ndim == 2) {
			s->n = p.shape[0];
			s->yhat = dalloc(s->n);
			for (size_t i = 0; i < s->n; i++)
				s->yhat[i] = ((const float *)p.data)[i * p.shape[1]];
			rc = rnn_targets(R, sb, fm, s);
		} else {
			note(sb, xstrdup("predictions.npy is not float32 [n, steps]"));
		}
		npy_release(&p);
	}
	json_decref(fm);
	return rc;
}

/* The forecast, the actuals and the interval over time. */
static void forecast_chart(struct strbuf *sb, const struct series *s)
{
	const char *names[3], *cls[3];
	struct svg_plot p;
	size_t k = 0;

	svg_plot_init(&p, CHART_W, CHART_H, SVG_TIME_X);
	svg_plot_include(&p, s->t, s->yhat, s->n);
	if (s->y)
		svg_plot_include(&p, s->t, s->y, s->n);
	if (s->lo && s->hi) {
		svg_plot_include(&p, NULL, s->lo, s->n);
		svg_plot_include(&p, NULL, s->hi, s->n);
	}
	svg_begin(sb, &p, s->title);
	svg_axes(sb, &p, "time (UTC)", NULL);
	if (s->lo && s->hi) {
		svg_band(sb, &p, s->t, s->lo, s->hi, s->n, "band");
		names[k] = "interval";
		cls[k++] = "band";
	}
	if (s->y) {
		svg_line(sb, &p, s->t, s->y, s->n, "c-y");
		names[k] = "actual";
		cls[k++] = "c-y";
	}
	svg_line(sb, &p, s->t, s->yhat, s->n, "c-yhat");
	names[k] = "forecast";
	cls[k++] = "c-yhat";
	svg_legend(sb, &p, names, cls, k);
	svg_end(sb);
}

/* Residuals over time, with their mean, MAE and RMSE. */
static void residual_line(struct strbuf *sb, const struct series *s, const double *r)
{
	struct svg_plot p;
	double sum = 0, abs_sum = 0, sq = 0;
	size_t m = 0;
	char *label;

	for (size_t i = 0; i < s->n; i++)
		if (isfinite(r[i])) {
			sum += r[i];
			abs_sum += fabs(r[i]);
			sq += r[i] * r[i];
			m++;
		}
	sb_addf(sb, "<p>%zu residuals: mean ", m);
	num(sb, m ? sum / (double)m : NAN);
	sb_adds(sb, ", MAE ");
	num(sb, m ? abs_sum / (double)m : NAN);
	sb_adds(sb, ", RMSE ");
	num(sb, m ? sqrt(sq / (double)m) : NAN);
	sb_adds(sb, ".</p>\n");
	svg_plot_init(&p, CHART_W, 220, SVG_TIME_X);
	svg_plot_include(&p, s->t, r, s->n);
	label = xasprintf("%s: residuals (actual - forecast)", s->title);
	svg_begin(sb, &p, label);
	svg_axes(sb, &p, "time (UTC)", "actual - forecast");
	svg_hrule(sb, &p, 0, "rule0", NULL);
	svg_line(sb, &p, s->t, r, s->n, "c-res");
	svg_end(sb);
	free(label);
}

/* A histogram of the residuals: sqrt(n) bins, 10 to 40. */
static void residual_histogram(struct strbuf *sb, const struct series *s,
			       const double *r)
{
	double lo = INFINITY, hi = -INFINITY, w, counts[40] = {0};
	size_t bins, m = 0;
	struct svg_plot p;
	char *label, tip[96];

	for (size_t i = 0; i < s->n; i++)
		if (isfinite(r[i])) {
			lo = fmin(lo, r[i]);
			hi = fmax(hi, r[i]);
			m++;
		}
	if (m == 0)
		return;
	bins = (size_t)sqrt((double)m);
	bins = bins < 10 ? 10 : bins > 40 ? 40 : bins;
	w = (hi - lo) / (double)bins;
	if (svg_flat(lo, hi)) {
		/* one value: centred in the middle bin (left of middle when even) */
		w = (lo != 0 ? fabs(lo) : 1) * 0.1;
		lo -= w * ((double)bins - 1) / 2;
	}
	for (size_t i = 0; i < s->n; i++)
		if (isfinite(r[i])) {
			size_t b = (size_t)((r[i] - lo) / w);
			counts[b < bins ? b : bins - 1]++;
		}
	svg_plot_init(&p, CHART_W, 220, SVG_Y_ZERO);
	p.x0 = lo;
	p.x1 = lo + w * (double)bins;
	svg_plot_include(&p, NULL, counts, bins);
	label = xasprintf("%s: histogram of residuals", s->title);
	svg_begin(sb, &p, label);
	svg_axes(sb, &p, "actual - forecast", "count");
	for (size_t b = 0; b < bins; b++) {
		snprintf(tip, sizeof(tip), "%.4g to %.4g: %.0f", lo + w * (double)b,
			 lo + w * (double)(b + 1), counts[b]);
		svg_rect(sb, &p, lo + w * (double)b, lo + w * (double)(b + 1), 0,
			 counts[b], "bar", tip);
	}
	svg_vrule(sb, &p, 0, "rule0", NULL);
	svg_end(sb);
	free(label);
}

/* Actual - forecast of series 's', when it has actuals. */
static void residuals(struct strbuf *sb, const struct rnode *n,
		      const struct series *s)
{
	double *r;

	if (!s->y)
		return;
	r = dalloc(s->n);
	for (size_t i = 0; i < s->n; i++)
		r[i] = s->y[i] - s->yhat[i];
	node_heading(sb, n);
	residual_line(sb, s, r);
	residual_histogram(sb, s, r);
	free(r);
}

/* Any forecast node 'n' holds: prophet's, a batch inference's or a
 * recurrent model's, each charted with its residuals. */
static void forecasts(struct report *R, const struct rnode *n)
{
	struct strbuf *sb = &R->sec[S_FORECAST], notes;
	static const char *const kinds[] = {"forecast.npy", "predictions.csv",
					    "predictions.npy"};
	struct series s;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char *path = node_file(R, n, kinds[k]);
		int rc;
		if (!path)
			continue;
		free(path);
		memset(&s, 0, sizeof(s));
		sb_init(&notes);
		s.title = xasprintf("%s: %s against actuals", n->id, kinds[k]);
		rc = k == 0 ? held_out_series(R, &notes, n, &s) :
		     k == 1 ? csv_series(R, &notes, n, &s) : rnn_series(R, &notes, n, &s);
		if (rc <= 0) {
			node_heading(sb, n);
			sb_add(sb, notes.buf, notes.len);
		}
		if (rc == 0 && s.n > 0) {
			forecast_chart(sb, &s);
			residuals(&R->sec[S_RESID], n, &s);
		}
		sb_release(&notes);
		series_release(&s);
	}
}

/* ---- drift --------------------------------------------------------- */

/* A drift.json number: a JSON number, "inf" as infinity, else NAN. */
static double drift_value(const json_t *v)
{
	const char *s = json_string_value(v);

	if (json_is_number(v))
		return json_number_value(v);
	if (s && !strcmp(s, "inf"))
		return INFINITY;
	return NAN;
}

/* A bar per feature of its shift, coloured against the thresholds 'th'
 * ([degraded, critical], which grade the drift score, the mean shift),
 * with the drift score 'score' as a rule; an infinite shift fills the
 * plot. */
static void drift_bars(struct strbuf *sb, const struct rnode *n, json_t *feats,
		       const json_t *th, double score)
{
	double warn = drift_value(json_array_get(th, 0));
	double bad = drift_value(json_array_get(th, 1));
	size_t nf = json_object_size(feats), i = 0;
	struct svg_plot p;
	const char *name;
	json_t *f;
	char *label, tip[160];

	svg_plot_init(&p, CHART_W, 60 + 24.0 * (double)nf, SVG_NO_Y_TICKS);
	p.left = 160;
	p.x0 = 0;
	p.x1 = fmax(isfinite(bad) ? bad * 1.15 : 1, 0);
	p.y0 = 0;
	p.y1 = (double)nf;
	json_object_foreach(feats, name, f) {
		double v = drift_value(json_object_get(f, "shift_score"));
		if (isfinite(v))
			p.x1 = fmax(p.x1, v * 1.05);
	}
	label = xasprintf("%s: shift per feature, in reference standard deviations", n->id);
	svg_begin(sb, &p, label);
	svg_axes(sb, &p, "shift (|current mean - reference mean| / reference std)", NULL);
	json_object_foreach(feats, name, f) {
		double v = drift_value(json_object_get(f, "shift_score"));
		double y = (double)nf - (double)i++;
		snprintf(tip, sizeof(tip), "%.60s: shift %.4g", name, v);
		svg_ylabel(sb, &p, y - 0.5, name);
		if (!isnan(v))
			svg_rect(sb, &p, 0, fmin(v, p.x1), y - 0.8, y - 0.2, v >= bad ? "bar bad" :
				 v >= warn ? "bar warn" : "bar ok", tip);
	}
	svg_vrule(sb, &p, score, "rule0", "drift score");
	svg_vrule(sb, &p, warn, "rule-warn", "degraded");
	svg_vrule(sb, &p, bad, "rule-bad", "critical");
	svg_end(sb);
	free(label);
}

/* The per-feature numbers of drift.json. */
static void drift_table(struct strbuf *sb, json_t *feats)
{
	static const char *const cols[] = {"feature", "ref mean", "current mean",
		"shift", "vol ratio", "PSI", "KS", "Wasserstein"};
	static const char *const keys[] = {"ref_mean", "curr_mean", "shift_score",
		"vol_ratio", "psi", "ks", "wasserstein"};
	const char *name;
	json_t *f;

	table_head(sb, cols, 8);
	json_object_foreach(feats, name, f) {
		sb_adds(sb, "<tr>");
		td(sb, name);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			td_json(sb, json_object_get(f, keys[k]));
		sb_adds(sb, "</tr>\n");
	}
	sb_adds(sb, "</tbody></table>\n");
}

/* A drift.json: health, scores, the shift chart and the numbers. */
static void drift(struct report *R, const struct rnode *n)
{
	struct strbuf *sb = &R->sec[S_DRIFT];
	json_t *j = node_json(R, sb, n, "drift.json"), *feats;
	const char *health;
	char score[32], vol[32];

	if (!j)
		return;
	health = jstr(j, "health");
	feats = json_object_get(j, "feature_metrics");
	node_heading(sb, n);
	html(sb, "<p><span class=\"badge h-%s\">%s</span> drift score %s, volatility "
	     "index %s, as of %s.</p>\n", health && !strcmp(health, "Healthy") ? "ok" :
	     health && !strcmp(health, "Degraded") ? "warn" : "bad",
	     health ? health : "unknown", json_text(score, json_object_get(j, "drift_score")),
	     json_text(vol, json_object_get(j, "volatility_index")), jstr(j, "timestamp"));
	if (json_object_size(feats) > 0) {
		drift_bars(sb, n, feats, json_object_get(json_object_get(j, "thresholds"),
				 "drift"), drift_value(json_object_get(j, "drift_score")));
		drift_table(sb, feats);
	}
	json_decref(j);
}

/* ---- metrics ------------------------------------------------------- */

static void metrics_of(struct report *R, struct strbuf *sb, const struct rnode *n,
		       int *any)
{
	static const char *const cols[] = {"node", "metric", "value", "from run"};
	sqlite3_stmt *s;
	char run[32];

	sqlite3_prepare_v2(R->db, "SELECT name, value FROM metrics m WHERE run_id = ?1"
		" AND node = ?2 AND step IS NULL AND rowid = (SELECT max(rowid) FROM"
		" metrics f WHERE f.run_id = m.run_id AND f.node = m.node AND f.name ="
		" m.name AND f.step IS NULL) ORDER BY name", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, n->src_run);
	sqlite3_bind_text(s, 2, n->id, -1, SQLITE_STATIC);
	snprintf(run, sizeof(run), "%lld", (long long)n->src_run);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (!(*any)++)
			table_head(sb, cols, 4);
		sb_adds(sb, "<tr>");
		td(sb, n->id);
		td(sb, (const char *)sqlite3_column_text(s, 0));
		td_num(sb, sqlite3_column_double(s, 1));
		td(sb, run);
		sb_adds(sb, "</tr>\n");
	}
	sqlite3_finalize(s);
}

/* ---- the page ------------------------------------------------------ */

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330;"
	"margin:0 auto;max-width:1100px;padding:16px 24px}\n"
	"h1{font-size:22px;margin:8px 0}h2{font-size:18px;border-bottom:1px solid #dde;"
	"padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin:20px 0 6px}"
	"h4{font-size:14px;margin:14px 0 4px}\n"
	".run{color:#667}.task{color:#667;font-weight:normal;font-size:13px}\n"
	"nav a{margin-right:14px}nav{margin:8px 0}\n"
	"table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 8px;"
	"border-bottom:1px solid #eef;text-align:left;vertical-align:top}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".facts th{color:#556;font-weight:normal}\n"
	".why{max-width:420px}pre.err{white-space:pre-wrap;margin:2px 0;color:#9b1c1c;"
	"font-size:12px}pre.log{white-space:pre-wrap;margin:2px 0;font-size:12px;"
	"background:#f6f7f9;padding:4px 6px;max-height:12em;overflow:auto}"
	".note{color:#8a5a00}\n"
	".badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;"
	"color:#fff;background:#889}\n"
	".s-done,.r-ok,.h-ok,.d-promote{background:#2e7d32}.s-cached{background:#1565c0}"
	".s-failed,.r-bad,.h-bad,.d-keep_baseline{background:#c62828}"
	".s-skipped{background:#9e9e9e}.h-warn,.d-declined{background:#ef8f00}\n"
	".scroll{overflow-x:auto}svg.chart{display:block;margin:6px 0;max-width:100%;"
	"height:auto}.scroll svg.chart{max-width:none}\n"
	"svg text{font:12px system-ui,sans-serif;fill:#333}svg .axis{font-size:12px;fill:#556}"
	"svg .rule{font-size:11px;fill:#556}\n"
	"svg .grid{stroke:#eceff4}svg .frame{fill:none;stroke:#b8bfcc}"
	"\n"
	"svg .c0,svg .c1,svg .c-y,svg .c-yhat,svg .c-res{fill:none;stroke-width:1.6}"
	"svg .c0{stroke:#1565c0}svg .c1{stroke:#ef6c00}svg .c-y{stroke:#37474f}"
	"svg .c-yhat{stroke:#1565c0}svg .c-res{stroke:#6a1b9a;stroke-width:1}"
	"svg .band{fill:#90caf9;fill-opacity:.45;stroke:none}\n"
	"svg .bar{fill:#7e57c2}svg .bar.ok{fill:#43a047}svg .bar.warn{fill:#ef8f00}"
	"svg .bar.bad{fill:#c62828}svg .rule0{stroke:#555;stroke-dasharray:3 3}"
	"svg .rule-warn{stroke:#ef8f00;stroke-dasharray:5 3}"
	"svg .rule-bad{stroke:#c62828;stroke-dasharray:5 3}\n"
	"svg .edge{fill:none;stroke:#8a93a6;stroke-width:1.4}svg .arrowhead{fill:#8a93a6}"
	"svg .node rect{stroke:#0002;stroke-width:1}svg .node text{fill:#fff}"
	"svg .node .l1{font-weight:600}svg .node .l2{font-size:11px}"
	"svg .s-done rect{fill:#2e7d32}svg .s-cached rect{fill:#1565c0}"
	"svg .s-failed rect{fill:#c62828}svg .s-skipped rect{fill:#9e9e9e}"
	"svg .s-other rect{fill:#889}\n";

/* The whole page around the sections that have content. */
static void page(struct report *R, struct strbuf *out)
{
	sb_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>dagrun report: ");
	esc(out, jstr(R->run_row, "pipeline"));
	sb_addf(out, " run %lld</title>\n<style>\n%s</style></head>\n<body>\n",
		(long long)R->run, css);
	header(R, out);
	sb_adds(out, "<nav>");
	for (int i = 0; i < S_COUNT; i++)
		if (R->sec[i].len)
			sb_addf(out, "<a href=\"#%s\">%s</a>", section_id[i], section_title[i]);
	sb_adds(out, "</nav>\n");
	for (int i = 0; i < S_COUNT; i++)
		if (R->sec[i].len)
			sb_addf(out, "<section id=\"%s\"><h2>%s</h2>\n%s</section>\n",
				section_id[i], section_title[i], R->sec[i].buf);
	sb_adds(out, "<footer><p class=\"run\">made by dagrun report from the state; "
		"no network needed</p></footer>\n</body></html>\n");
}

/* The run's row, and which run's nodes to show; ERR_USER if none. */
static int load_run(struct report *R, struct err *err)
{
	sqlite3_stmt *s;
	json_t *same;

	sqlite3_prepare_v2(R->db, "SELECT * FROM runs WHERE id = ?1", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, R->run);
	if (sqlite3_step(s) == SQLITE_ROW)
		R->run_row = inspect_row_json(s);
	sqlite3_finalize(s);
	if (!R->run_row) {
		err_set(err, ERR_USER, "no run '%lld' in %s (see 'dagrun runs')",
			(long long)R->run, state_dir(R->st));
		return -1;
	}
	same = json_object_get(R->run_row, "same_as");
	R->nodes_run = json_is_integer(same) ? json_integer_value(same) : R->run;
	return 0;
}

/* Fill each section from each node, in the order they were recorded. */
static void sections(struct report *R)
{
	int any_metric = 0;

	section_graph(R, &R->sec[S_GRAPH]);
	section_nodes(R, &R->sec[S_NODES]);
	for (int i = 0; i < R->n; i++) {
		const struct rnode *n = &R->nodes[i];
		training_chart(R, &R->sec[S_TRAIN], n);
		if (n->manifest) {
			promotion(R, &R->sec[S_PROMO], n);
			forecasts(R, n);
			drift(R, n);
		}
		metrics_of(R, &R->sec[S_METRICS], n, &any_metric);
	}
	if (any_metric)
		sb_adds(&R->sec[S_METRICS], "</tbody></table>\n");
}

int report_write(struct state *st, struct store *store, int64_t run,
		 const char *out_path, struct err *err)
{
	struct report R;
	struct strbuf out;
	int rc;

	memset(&R, 0, sizeof(R));
	R.st = st;
	R.store = store;
	R.db = state_db(st);
	R.run = run;
	for (int i = 0; i < S_COUNT; i++)
		sb_init(&R.sec[i]);
	if (load_run(&R, err) < 0) {
		release(&R);
		return -1;
	}
	load_nodes(&R);
	link_needs(&R);
	sections(&R);
	sb_init(&out);
	page(&R, &out);
	rc = fs_write_atomic(out_path, out.buf, out.len, err);
	sb_release(&out);
	release(&R);
	return rc;
}
