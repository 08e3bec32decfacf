/* cli: see cli.h.  Options follow DESIGN.md: they may come before or
 * after the pipeline and node names (GNU getopt permutes them). */
#include "cli.h"
#include "dag.h"
#include "dagfmt.h"
#include "events.h"
#include "gc.h"
#include "fs.h"
#include "inspect.h"
#include "kernel.h"
#include "lineage.h"
#include "pipeline.h"
#include "plan.h"
#include "quick.h"
#include "registry.h"
#include "serve.h"
#include "remote.h"
#include "slurm.h"
#include "forecaster.h"
#include "report.h"
#include "sched.h"
#include "state.h"
#include "store.h"
#include "strbuf.h"
#include "timeparse.h"
#include "xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cli {
	int jobs, dry_run, keep_going, force_all, json, quiet, verbose;
	int dot, mermaid, diff, markdown;
	int keep_last;
	double keep_days;
	const char *salt, *state_dir, *output, *log_format, *rank;
	int rank_desc;
	char **force;
	int n_force;
	const char *pipeline_filter, *status_filter;
	double since, until;
	int limit;
	const char *cache_url;   /* --cache-url, else DAGRUN_CACHE_URL */
	enum sched_executor executor;
	char **args;        /* positional arguments after the command */
	int n_args;
	char *argv_text;
};

static const char usage_text[] =
	"usage: dagrun [run] [options] PIPELINE [NODE...]\n"
	"       dagrun explain PIPELINE NODE [--diff RUN_A RUN_B]\n"
	"       dagrun runs [--pipeline NAME] [--status S] [--since T] [--until T] [--limit N]\n"
	"       dagrun show RUN [NODE]\n"
	"       dagrun dag PIPELINE [--dot | --mermaid]\n"
	"       dagrun metrics RUN [--rank METRIC [--desc]] | metrics diff RUN_A RUN_B\n"
	"       dagrun gc [--keep-last N] [--keep-days D] [-n]\n"
	"       dagrun models [NAME] | promote NAME VERSION ALIAS | rollback NAME ALIAS\n"
	"       dagrun predict NAME[@ALIAS] FILE.csv [-o OUT.csv]\n"
	"       dagrun report RUN [-o FILE.html]\n"
	"       dagrun events [--run RUN] [--name NAME] [--pending] [--failed] [--limit N]\n"
	"       dagrun events deliver [--now] [--max-attempts N]\n"
	"       dagrun webhooks [list] | add URL [--events a,b] [--secret-env VAR] | rm ID\n"
	"       dagrun serve [--port P] [--host H] [--workers N] [--queue-max N] ... (serve --help)\n"
	"       dagrun help [TASK] | version\n"
	"\n"
	"options:\n"
	"  -j, --jobs N       run up to N nodes at once (default: cores)\n"
	"      --salt S       a new lineage: every key changes\n"
	"  -n, --dry-run      print what would run and why; run nothing\n"
	"      --force NODE   run NODE even if cached (repeatable)\n"
	"      --force-all    run every node\n"
	"  -k, --keep-going   let independent branches finish after a failure\n"
	"      --state DIR    state folder (also DAGRUN_STATE; default ROOT/state)\n"
	"      --json         machine-readable output\n"
	"  -q, --quiet        only failures\n"
	"  -v, --verbose      every event, with reasons\n"
	"      --log-format json  one JSON object per event on stderr (for log shippers)\n"
	"      --cache-url URL    share results through a remote cache (also\n"
	"                     DAGRUN_CACHE_URL; see docs/cluster.md)\n"
	"      --executor E   where nodes run: local (default) or slurm\n"
	"\n"
	"exit codes: 0 done, 1 a node failed, 2 bad pipeline, config or\n"
	"command line, 3 internal or environment error\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "dagrun: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see 'dagrun help')\n");
	return 2;
}

static int report(const struct err *e)
{
	const char *prefix = e->kind == ERR_USER ? "" : "dagrun: ";

	fprintf(stderr, "%s%s%s\n", prefix, e->kind == ERR_USER ? "" :
		e->kind == ERR_IO ? "io error: " : "internal error: ", e->msg);
	if (e->kind == ERR_USER && e->count > 1)
		fprintf(stderr, "dagrun: %d errors\n", e->count);
	if (e->kind == ERR_INTERNAL && e->src_file)
		fprintf(stderr, "  (raised at %s:%d)\n", e->src_file, e->src_line);
	return err_exit_code(e);
}

static char *join_argv(int argc, char **argv)
{
	struct strbuf sb;
	int i;

	sb_init(&sb);
	for (i = 0; i < argc; i++)
		sb_addf(&sb, "%s%s", i ? " " : "", argv[i]);
	return sb_detach(&sb);
}

/* --since/--until: an ISO 8601 time (UTC without a zone) or an age
 * back from now ("7d", "12h", "30m"), as unix seconds. */
static int parse_when(const char *text, double *out)
{
	struct timeparse_time t;
	size_t n = strlen(text);
	char *end;
	double v;

	if (n > 1 && strchr("dhm", text[n - 1])) {
		v = strtod(text, &end);
		if (end == text + n - 1 && v >= 0) {
			*out = state_now() - v * (text[n - 1] == 'd' ? 86400 :
						  text[n - 1] == 'h' ? 3600 : 60);
			return 0;
		}
	}
	if (timeparse_iso8601(text, n, &t) < 0)
		return -1;
	*out = timeparse_seconds(&t);
	return 0;
}

static int parse_options(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"salt", required_argument, NULL, 'S'},
		{"dry-run", no_argument, NULL, 'n'},
		{"force", required_argument, NULL, 'F'},
		{"force-all", no_argument, NULL, 'A'},
		{"keep-going", no_argument, NULL, 'k'},
		{"state", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'J'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"pipeline", required_argument, NULL, 'P'},
		{"status", required_argument, NULL, 'T'},
		{"limit", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{"dot", no_argument, NULL, 'D'},
		{"mermaid", no_argument, NULL, 'M'},
		{"diff", no_argument, NULL, 'd'},
		{"markdown", no_argument, NULL, 'm'},
		{"keep-last", required_argument, NULL, 'K'},
		{"keep-days", required_argument, NULL, 'Y'},
		{"output", required_argument, NULL, 'o'},
		{"log-format", required_argument, NULL, 'G'},
		{"since", required_argument, NULL, 'B'},
		{"rank", required_argument, NULL, 'R'},
		{"desc", no_argument, NULL, 'E'},
		{"until", required_argument, NULL, 'U'},
		{"cache-url", required_argument, NULL, 'C'},
		{"executor", required_argument, NULL, 'X'},
		{NULL, 0, NULL, 0}
	};
	char *end;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":j:nkqvho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c->jobs = (int)strtol(optarg, &end, 10);
			if (*end || c->jobs < 1 || c->jobs > 4096)
				return usage_error("bad -j value '%s' (expected a "
						   "number from 1 to 4096)", optarg);
			break;
		case 'S': c->salt = optarg; break;
		case 'n': c->dry_run = 1; break;
		case 'F':
			c->force = xrealloc(c->force, (size_t)(c->n_force + 1) * sizeof(char *));
			c->force[c->n_force++] = optarg;
			break;
		case 'A': c->force_all = 1; break;
		case 'k': c->keep_going = 1; break;
		case 's': c->state_dir = optarg; break;
		case 'J': c->json = 1; break;
		case 'q': c->quiet = 1; break;
		case 'v': c->verbose = 1; break;
		case 'P': c->pipeline_filter = optarg; break;
		case 'T': c->status_filter = optarg; break;
		case 'L':
			c->limit = atoi(optarg);
			break;
		case 'D': c->dot = 1; break;
		case 'M': c->mermaid = 1; break;
		case 'd': c->diff = 1; break;
		case 'm': c->markdown = 1; break;
		case 'o': c->output = optarg; break;
		case 'R': c->rank = optarg; break;
		case 'E': c->rank_desc = 1; break;
		case 'B':
		case 'U':
			if (parse_when(optarg, ch == 'B' ? &c->since : &c->until) < 0)
				return usage_error("bad --since/--until '%s' (expected a "
						   "date or time in ISO 8601, UTC, such as "
						   "2026-11-28 or 2026-11-28T09:00, or an "
						   "age such as 7d, 12h or 30m)", optarg);
			break;
		case 'C':
			if (*optarg && !remote_url_ok(optarg))
				return usage_error("bad --cache-url '%s' (expected an "
						   "http:// or https:// URL)", optarg);
			c->cache_url = optarg;
			break;
		case 'X':
			if (strcmp(optarg, "local") && strcmp(optarg, "slurm"))
				return usage_error("bad --executor '%s' (expected local "
						   "or slurm)", optarg);
			c->executor = strcmp(optarg, "slurm") ? SCHED_LOCAL : SCHED_SLURM;
			break;
		case 'G':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return usage_error("bad --log-format '%s' (expected "
						   "json or text)", optarg);
			c->log_format = optarg;
			break;
		case 'K':
			c->keep_last = (int)strtol(optarg, &end, 10);
			if (*end || c->keep_last < 1)
				return usage_error("bad --keep-last '%s' (expected a "
						   "number of runs, at least 1)", optarg);
			break;
		case 'Y':
			c->keep_days = strtod(optarg, &end);
			if (*end || c->keep_days < 0)
				return usage_error("bad --keep-days '%s' (expected a "
						   "number of days)", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	c->args = argv + optind;
	c->n_args = argc - optind;
	return 0;
}

/* The state folder: --state, DAGRUN_STATE, or ROOT/state. */
static char *state_path(const struct cli *c, const char *root)
{
	const char *env = getenv("DAGRUN_STATE");

	if (c->state_dir)
		return fs_absolute(c->state_dir);
	if (env && *env)
		return fs_absolute(env);
	return fs_join(root, "state");
}

static enum progress_mode progress_mode(const struct cli *c)
{
	if (c->json)
		return PROGRESS_JSON;
	if (c->log_format && !strcmp(c->log_format, "json"))
		return PROGRESS_LOG;
	if (c->quiet)
		return PROGRESS_QUIET;
	return isatty(2) ? PROGRESS_TTY : PROGRESS_PLAIN;
}

/* For commands without a pipeline: the root of the current folder. */
static char *cwd_root(void)
{
	char *here = fs_absolute("./x"), *root = pipeline_find_root(here);

	free(here);
	return root;
}

static int open_state(const struct cli *c, const char *root, struct state **st,
		      struct store *store, struct err *err)
{
	char *dir = state_path(c, root);
	int rc = state_open(dir, st, err);

	if (rc == 0 && store && store_open(store, dir, err) < 0) {
		state_close(*st);
		rc = -1;
	}
	free(dir);
	return rc;
}

/* Node name arguments to per-node flags (targets and needs, or force). */
static int mark_nodes(struct pipeline *p, char **names, int n, int with_needs,
		      unsigned char *flags, struct err *err)
{
	int *idx = xmalloc(((size_t)p->n_nodes + 1) * sizeof(int));
	int i, k, m;

	for (i = 0; i < n; i++) {
		m = pipeline_match(p, names[i], idx);
		if (m == 0)
			err_append(err, ERR_USER, "%s: no node '%s' in pipeline '%s'",
				   p->path, names[i], p->name);
		for (k = 0; k < m; k++) {
			if (with_needs)
				dag_mark_needed(p, idx[k], flags);
			else
				flags[idx[k]] = 1;
		}
	}
	free(idx);
	return err->kind == ERR_NONE ? 0 : -1;
}

/* The repository files this run depends on, for lineage. */
static int lineage_paths(const struct pipeline *p, const char ***out)
{
	const char **v = xmalloc(sizeof(char *) * 2);
	int i, k, n = 0;
	size_t cap = 2;

	v[n++] = p->rel_path;
	if (p->params_file)
		v[n++] = p->params_file;
	for (i = 0; i < p->n_nodes; i++) {
		const struct node *nd = &p->nodes[i];
		for (k = -1; k < nd->n_deps; k++) {
			const char *path = k < 0 ? nd->script : nd->deps[k];
			int j, seen = 0;
			if (!path)
				continue;
			for (j = 0; j < n && !seen; j++)
				seen = !strcmp(v[j], path);
			if (seen)
				continue;
			xgrow((void **)&v, sizeof(char *), &cap, (size_t)n + 1);
			v[n++] = path;
		}
	}
	*out = v;
	return n;
}

/* Record the start of a run, with the repository's lineage for 'paths'. */
static int record_run(const struct cli *c, struct run_info *ri,
		      const char *const *paths, int n, struct state *st,
		      int64_t *run_id, struct err *err)
{
	struct lineage lin;
	json_t *lj;
	char *ltext;
	int rc;

	memset(&lin, 0, sizeof(lin));
	if (lineage_inspect(ri->root, paths, n, &lin, err) < 0)
		return -1;
	lj = lineage_json(&lin);
	ltext = json_dumps(lj, JSON_COMPACT);
	json_decref(lj);
	ri->salt = c->salt;
	ri->argv = c->argv_text;
	ri->git_commit = lin.commit;
	ri->git_branch = lin.branch;
	ri->git_dirty = lin.dirty;
	ri->lineage = ltext;
	rc = state_run_begin(st, ri, run_id, err);
	free(ltext);
	lineage_release(&lin);
	return rc;
}

static int begin_run(const struct cli *c, struct pipeline *p, struct state *st,
		     int64_t *run_id, struct err *err)
{
	struct run_info ri;
	const char **paths;
	int n, rc;

	memset(&ri, 0, sizeof(ri));
	ri.pipeline = p->name;
	ri.pipeline_path = p->rel_path;
	ri.root = p->root;
	ri.n_nodes = p->n_nodes;
	hash_to_hex(&p->file_hash, ri.pipeline_hash);
	n = lineage_paths(p, &paths);
	rc = record_run(c, &ri, paths, n, st, run_id, err);
	free(paths);
	return rc;
}

/* The target node names as one string, for the no-op plan's key. */
static char *targets_text(const struct cli *c)
{
	return c->n_args > 1 ? join_argv(c->n_args - 1, c->args + 1) : NULL;
}

/* Record run '*run_id' as a cached copy of run 'same'. */
static int quick_record(struct cli *c, struct state *st, int64_t same,
			const char *root, const char *files, int n_nodes,
			int64_t *run_id)
{
	json_t *list = json_loads(files, 0, NULL), *f;
	const char **paths = xcalloc(json_array_size(list) + 1, sizeof(char *));
	char *name = NULL, *path = NULL;
	struct run_info ri;
	struct err err;
	size_t i;
	int rc = -1;

	err_init(&err);
	memset(&ri, 0, sizeof(ri));
	json_array_foreach(list, i, f)
		paths[i] = json_string_value(f);
	if (state_run_pipeline(st, same, &name, &path, ri.pipeline_hash)) {
		ri.pipeline = name;
		ri.pipeline_path = path;
		ri.root = root;
		ri.n_nodes = n_nodes;
		ri.same_as = same;
		rc = record_run(c, &ri, paths, (int)json_array_size(list), st, run_id, &err);
		if (rc == 0)
			rc = state_run_end(st, *run_id, "ok", 0, n_nodes, 0, &err);
	}
	free(name);
	free(path);
	free(paths);
	json_decref(list);
	return rc;
}

/* A rerun in which nothing changed (quick.h): recorded as a copy of the
 * remembered run. Returns 1 when it handled the run, with '*code' set. */
static int run_quick(struct cli *c, int *code)
{
	char *abs = fs_absolute(c->args[0]), *root, *files = NULL, *targets;
	char *db = NULL, *dbfile = NULL;
	struct state *st = NULL;
	struct err err;
	double t0 = state_now();
	int64_t same, run_id;
	int n_nodes = 0, handled = 0;

	err_init(&err);
	root = pipeline_find_root(abs);
	targets = targets_text(c);
	db = state_path(c, root);
	dbfile = fs_join(db, "dagrun.db");
	/* no state yet: nothing to repeat, and nothing may be created before
	 * the pipeline has been checked */
	if (!fs_exists(abs) || !fs_exists(dbfile) ||
	    open_state(c, root, &st, NULL, &err) < 0)
		goto out;
	same = quick_check(st, abs, root, c->salt, targets, &n_nodes, &files);
	if (same > 0 && quick_record(c, st, same, root, files, n_nodes, &run_id) == 0) {
		handled = 1;
		*code = 0;
		if (progress_mode(c) == PROGRESS_LOG) {
			struct progress pg;
			progress_init(&pg, PROGRESS_LOG, 0, n_nodes);
			pg.run_id = run_id;
			progress_log(&pg, "info", "run_finished", NULL, json_pack(
				"{s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:I}", "status", "ok",
				"total", n_nodes, "ran", 0, "cached", n_nodes, "failed", 0,
				"skipped", 0, "seconds", state_now() - t0, "same_as",
				(json_int_t)same));
		} else if (c->json)
			printf("{\"event\":\"end\",\"status\":\"ok\",\"run\":%lld,"
			       "\"total\":%d,\"ran\":0,\"cached\":%d,\"failed\":0,"
			       "\"skipped\":0,\"same_as\":%lld}\n", (long long)run_id,
			       n_nodes, n_nodes, (long long)same);
		else if (!c->quiet)
			fprintf(stderr, "run %lld ok: %d nodes, 0 ran, %d cached, 0 failed, "
				"0 skipped in %.2fs (nothing changed since run %lld)\n",
				(long long)run_id, n_nodes, n_nodes, state_now() - t0,
				(long long)same);
		events_deliver_run_end(state_db(st), progress_mode(c) == PROGRESS_LOG ?
				       NULL : stderr);
	}
out:
	free(db);
	free(dbfile);
	free(files);
	free(targets);
	free(root);
	free(abs);
	state_close(st);
	return handled;
}

static int run_exit_code(const struct sched_result *r)
{
	if (r->interrupted)
		return 128 + r->interrupted;
	if (r->user_error)
		return 2;
	return r->failed || r->not_started ? 1 : 0;
}

static const char *run_status(const struct sched_result *r)
{
	if (r->interrupted)
		return "interrupted";
	return r->failed || r->not_started ? "failed" : "ok";
}

static int execute(struct cli *c, struct pipeline *p, unsigned char *want,
		   unsigned char *force, struct err *err)
{
	struct state *st = NULL;
	struct store store = {0};
	struct sched_opts o;
	struct sched_result res;
	int64_t run_id, gen0 = 0;
	int rc;

	if (open_state(c, p->root, &st, &store, err) < 0)
		return report(err);
	sched_clean_tmp(state_dir(st));
	if (c->dry_run) {
		struct plan_opts po = {c->salt, c->force_all, force, want};
		struct plan_node *pn;
		rc = plan_compute(p, st, &store, &po, &pn, err);
		if (rc == 0) {
			plan_print(p, pn, c->json);
			plan_release(p, pn);
		}
		goto out;
	}
	rc = begin_run(c, p, st, &run_id, err);
	if (rc < 0)
		goto out;
	gen0 = state_generation(st);
	memset(&o, 0, sizeof(o));
	o.jobs = c->jobs;
	o.salt = c->salt;
	o.keep_going = c->keep_going;
	o.force_all = c->force_all;
	o.force = force;
	o.want = want;
	o.mode = progress_mode(c);
	o.verbose = c->verbose;
	o.cache_url = c->cache_url && *c->cache_url ? c->cache_url : NULL;
	o.executor = c->executor;
	rc = sched_run(p, st, &store, run_id, &o, &res, err);
	{
		/* the run's own error, if any, is the one to report */
		struct err end_err;
		err_init(&end_err);
		if (state_run_end(st, run_id, rc < 0 ? "error" : run_status(&res),
				  res.ran, res.cached, res.failed, &end_err) < 0 && rc == 0) {
			*err = end_err;
			rc = -1;
		}
	}
	events_deliver_run_end(state_db(st), o.mode == PROGRESS_LOG ? NULL : stderr);
	if (rc == 0) {
		/* remember a complete run for the no-op fast path, unless another
		 * process wrote to the cache meanwhile */
		if (!force && !c->force_all && run_exit_code(&res) == 0 &&
		    state_generation(st) == gen0 + res.ran) {
			char *targets = targets_text(c);
			struct err ignored;
			quick_remember(st, p, c->salt, targets, run_id, &ignored);
			free(targets);
		}
		store_close(&store);
		state_close(st);
		return run_exit_code(&res);
	}
out:
	store_close(&store);
	state_close(st);
	return rc < 0 ? report(err) : 0;
}

static int cmd_run(struct cli *c)
{
	struct pipeline *p = NULL;
	unsigned char *want = NULL, *force = NULL;
	struct err err;
	int rc;

	err_init(&err);
	if (c->n_args < 1)
		return usage_error("%s", "no pipeline given (expected: dagrun PIPELINE.yaml)");
	if (!c->cache_url)
		c->cache_url = getenv("DAGRUN_CACHE_URL");
	if (c->cache_url && *c->cache_url && !remote_url_ok(c->cache_url))
		return usage_error("bad DAGRUN_CACHE_URL '%s' (expected an http:// "
				   "or https:// URL)", c->cache_url);
	if (!c->dry_run && !c->n_force && !c->force_all && run_quick(c, &rc))
		return rc;
	if (pipeline_load(c->args[0], &p, &err) < 0)
		return report(&err);
	if (c->n_args > 1) {
		want = xcalloc((size_t)p->n_nodes + 1, 1);
		mark_nodes(p, c->args + 1, c->n_args - 1, 1, want, &err);
	}
	if (c->n_force > 0) {
		force = xcalloc((size_t)p->n_nodes + 1, 1);
		mark_nodes(p, c->force, c->n_force, 0, force, &err);
	}
	rc = err.kind != ERR_NONE ? report(&err) : execute(c, p, want, force, &err);
	free(want);
	free(force);
	pipeline_free(p);
	return rc;
}

static int cmd_key_diff(struct cli *c);

static int cmd_explain(struct cli *c)
{
	struct pipeline *p = NULL;
	struct state *st = NULL;
	struct store store = {0};
	struct plan_node *pn = NULL;
	struct err err;
	int i, rc = 0;

	err_init(&err);
	if (c->diff)
		return cmd_key_diff(c);
	if (c->n_args != 2)
		return usage_error("%s", "explain needs a pipeline and a node "
				   "(dagrun explain PIPELINE NODE)");
	if (pipeline_load(c->args[0], &p, &err) < 0)
		return report(&err);
	i = pipeline_find(p, c->args[1]);
	if (i < 0) {
		err_set(&err, ERR_USER, "%s: no node '%s' in pipeline '%s'", p->path,
			c->args[1], p->name);
		rc = report(&err);
		goto out;
	}
	if (open_state(c, p->root, &st, &store, &err) < 0) {
		rc = report(&err);
		goto out;
	}
	{
		struct plan_opts po = {c->salt, c->force_all, NULL, NULL};
		if (plan_compute(p, st, &store, &po, &pn, &err) < 0)
			rc = report(&err);
		else
			plan_explain(p, st, pn, i, c->json);
	}
out:
	if (pn)
		plan_release(p, pn);
	store_close(&store);
	state_close(st);
	pipeline_free(p);
	return rc;
}

static int cmd_runs(struct cli *c)
{
	struct runs_filter f = {c->pipeline_filter, c->status_filter, c->limit,
				c->since, c->until};
	struct state *st = NULL;
	char *root = cwd_root();
	struct err err;
	int rc;

	err_init(&err);
	rc = open_state(c, root, &st, NULL, &err);
	free(root);
	if (rc == 0)
		rc = inspect_runs(st, &f, c->json, &err);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

static int cmd_show(struct cli *c)
{
	struct state *st = NULL;
	char *root = cwd_root();
	struct err err;
	int64_t run;
	int rc;

	err_init(&err);
	if (c->n_args < 1 || c->n_args > 2) {
		free(root);
		return usage_error("%s", "show needs a run (dagrun show RUN [NODE])");
	}
	rc = open_state(c, root, &st, NULL, &err);
	free(root);
	if (rc == 0)
		rc = inspect_run_id(st, c->args[0], &run, &err);
	if (rc == 0)
		rc = inspect_show(st, run, c->n_args > 1 ? c->args[1] : NULL, c->json, &err);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

static int cmd_dag(struct cli *c)
{
	struct pipeline *p = NULL;
	struct err err;

	err_init(&err);
	if (c->n_args != 1)
		return usage_error("%s", "dag needs a pipeline (dagrun dag PIPELINE)");
	if (pipeline_load(c->args[0], &p, &err) < 0)
		return report(&err);
	if (c->dot)
		dagfmt_dot(p, stdout);
	else if (c->mermaid)
		dagfmt_mermaid(p, stdout);
	else
		dagfmt_text(p, stdout);
	pipeline_free(p);
	return 0;
}

/* Open the state of the current project and resolve run arguments. */
static int open_runs(struct cli *c, struct state **st, char **runs, int n,
		     int64_t *ids, struct err *err)
{
	char *root = cwd_root();
	int i, rc = open_state(c, root, st, NULL, err);

	free(root);
	for (i = 0; rc == 0 && i < n; i++)
		rc = inspect_run_id(*st, runs[i], &ids[i], err);
	return rc;
}

static int cmd_metrics(struct cli *c)
{
	struct state *st = NULL;
	struct err err;
	int64_t ids[2];
	int rc, diff = c->n_args >= 1 && !strcmp(c->args[0], "diff");

	err_init(&err);
	if (diff ? c->n_args != 3 : c->n_args != 1)
		return usage_error("%s", "metrics needs a run, or diff and two runs "
				   "(dagrun metrics RUN | dagrun metrics diff A B)");
	rc = open_runs(c, &st, c->args + diff, diff ? 2 : 1, ids, &err);
	if (rc == 0 && diff)
		rc = inspect_metrics_diff(st, ids[0], ids[1], c->json, &err);
	else if (rc == 0 && c->rank)
		rc = inspect_metrics_rank(st, ids[0], c->rank, c->rank_desc, c->json, &err);
	else if (rc == 0)
		rc = inspect_metrics(st, ids[0], c->json, &err);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

static int cmd_key_diff(struct cli *c)
{
	struct state *st = NULL;
	struct err err;
	int64_t ids[2];
	int rc;

	err_init(&err);
	if (c->n_args != 4)
		return usage_error("%s", "explain --diff needs a pipeline, a node and "
				   "two runs (dagrun explain PIPELINE NODE --diff A B)");
	rc = open_runs(c, &st, c->args + 2, 2, ids, &err);
	if (rc == 0)
		rc = inspect_key_diff(st, c->args[1], ids[0], ids[1], c->json, &err);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

/* docs/tasks.md: every kernel from its own schema, so that code and
 * docs cannot drift apart (tests/integration/t_docs.sh checks it). */
static int help_markdown(void)
{
	const struct kernel *const *ks;
	int i, n;

	ks = kernel_list(&n);
	printf("# Task kernels\n\nGenerated by `dagrun help --markdown` from the "
	       "kernels' param schemas; `dagrun help TASK` prints the same. Besides "
	       "these, `task: shell` runs `cmd` with /bin/sh and `task: lua` runs "
	       "`script` in the Lua sandbox (see README.md).\n\n");
	for (i = 0; i < n; i++) {
		char *md = kernel_describe_markdown(ks[i]);
		fputs(md, stdout);
		free(md);
	}
	return 0;
}

static int cmd_gc(struct cli *c)
{
	struct gc_opts o = {c->keep_last ? c->keep_last : 10, c->keep_days,
			    c->dry_run, c->json};
	struct state *st = NULL;
	struct store store = {0};
	char *root = cwd_root();
	struct err err;
	int rc;

	err_init(&err);
	rc = open_state(c, root, &st, &store, &err);
	free(root);
	if (rc == 0)
		rc = gc_run(st, &store, &o, &err);
	store_close(&store);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

/* models [NAME], promote NAME VERSION ALIAS, rollback NAME ALIAS. */
static int cmd_registry(struct cli *c, const char *cmd)
{
	static const struct { const char *cmd; int min, max; const char *use; } u[] = {
		{"models", 0, 1, "models [NAME] [--json]"},
		{"promote", 3, 3, "promote NAME VERSION ALIAS [--json]"},
		{"rollback", 2, 2, "rollback NAME ALIAS [--json]"},
	};
	struct state *st = NULL;
	char *root;
	struct err err;
	int i, rc;

	for (i = 0; strcmp(u[i].cmd, cmd); i++)
		;
	if (c->n_args < u[i].min || c->n_args > u[i].max)
		return usage_error("usage: dagrun %s", u[i].use);
	err_init(&err);
	root = cwd_root();
	rc = open_state(c, root, &st, NULL, &err);
	free(root);
	if (rc < 0)
		return report(&err);
	if (i == 0)
		rc = registry_cmd_models(state_db(st), c->n_args ? c->args[0] : NULL,
					 c->json, &err);
	else if (i == 1)
		rc = registry_cmd_promote(state_db(st), c->args[0], c->args[1],
					  c->args[2], c->json, &err);
	else
		rc = registry_cmd_rollback(state_db(st), c->args[0], c->args[1],
					   c->json, &err);
	state_close(st);
	return err.kind ? report(&err) : rc;
}

/* report RUN [-o FILE]: the run as one self-contained HTML page. */
static int cmd_report(struct cli *c)
{
	const char *out = c->output ? c->output : "report.html";
	struct state *st = NULL;
	struct store store = {0};
	char *root;
	struct err err;
	int64_t run;
	int rc;

	if (c->n_args != 1)
		return usage_error("%s", "report needs a run (dagrun report RUN "
				   "[-o FILE.html])");
	err_init(&err);
	root = cwd_root();
	rc = open_state(c, root, &st, &store, &err);
	free(root);
	if (rc == 0)
		rc = inspect_run_id(st, c->args[0], &run, &err);
	if (rc == 0)
		rc = report_write(st, &store, run, out, &err);
	if (rc == 0 && !c->quiet)
		fprintf(stderr, "wrote %s\n", out);
	store_close(&store);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

/* predict NAME[@ALIAS] FILE.csv [-o OUT.csv]: the registry's model on a
 * CSV, its own preprocessing applied (forecaster.h). */
static int cmd_predict(struct cli *c)
{
	struct state *st = NULL;
	struct store store = {0};
	struct hash outputs;
	struct err err;
	char *root, *model = NULL, *dir = NULL;
	int64_t version;
	int rc;

	if (c->n_args != 2)
		return usage_error("%s", "usage: dagrun predict NAME[@ALIAS] FILE.csv "
				   "[-o OUT.csv]");
	err_init(&err);
	root = cwd_root();
	rc = open_state(c, root, &st, &store, &err);
	free(root);
	if (rc == 0)
		rc = registry_resolve(state_db(st), c->args[0], &model, &version,
				      &outputs, &err);
	if (rc == 0) {
		dir = xasprintf("%s/tmp/%d-predict", state_dir(st), (int)getpid());
		fs_remove_tree(dir, &err);
		rc = store_link_dir(&store, &outputs, dir, &err);
	}
	if (rc == 0)
		rc = forecaster_predict_csv(dir, c->args[1], c->output, &err);
	if (rc == 0 && c->output && !c->quiet)
		fprintf(stderr, "%s v%lld: wrote %s\n", model, (long long)version,
			c->output);
	if (dir) {
		struct err ignored;
		err_init(&ignored);
		fs_remove_tree(dir, &ignored);
	}
	free(dir);
	free(model);
	store_close(&store);
	state_close(st);
	return rc < 0 ? report(&err) : 0;
}

static int cmd_help(struct cli *c)
{
	const struct kernel *const *ks;
	const struct kernel *k;
	char *text;
	int i, n;

	if (c->markdown)
		return help_markdown();
	if (c->n_args == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(c->args[0], "tasks")) {
		ks = kernel_list(&n);
		printf("shell   run 'cmd' with /bin/sh\nlua     run 'script' in the "
		       "Lua sandbox\n");
		for (i = 0; i < n; i++)
			printf("%-7s %s\n", ks[i]->name, ks[i]->doc ? ks[i]->doc : "");
		return 0;
	}
	k = kernel_find(c->args[0]);
	if (!k)
		return usage_error("no task '%s' (see 'dagrun help tasks')", c->args[0]);
	text = kernel_describe(k);
	fputs(text, stdout);
	free(text);
	return 0;
}

/* A command that parses its own options: `events` and `webhooks`
 * (events.h), `serve` (serve.h).  'fn' gets the default state folder; a
 * --state among the options overrides it. */
static int cmd_own_options(int (*fn)(int, char **, const char *, struct err *),
			   int argc, char **argv)
{
	struct cli c;
	struct err err;
	char *root = cwd_root(), *dir;
	int rc;

	memset(&c, 0, sizeof(c));
	dir = state_path(&c, root);
	err_init(&err);
	rc = fn(argc, argv, dir, &err);
	free(dir);
	free(root);
	return rc < 0 ? report(&err) : rc;
}

int cli_main(int argc, char **argv)
{
	static const char *const commands[] = {
		"run", "explain", "runs", "show", "dag", "metrics", "gc", "help",
		"version", "models", "promote", "rollback", "predict", "report",
		NULL
	};
	struct cli c;
	const char *cmd = "run";
	int i, rc, shift = 0;

	if (argc > 1 && (!strcmp(argv[1], "events") || !strcmp(argv[1], "webhooks")))
		return cmd_own_options(events_cmd, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "serve"))
		return cmd_own_options(serve_main, argc - 1, argv + 1);
	/* hidden: a node on a Slurm compute node (slurm.h) */
	if (argc == 3 && !strcmp(argv[1], "__node"))
		return slurm_node_main(argv[2]);
	memset(&c, 0, sizeof(c));
	c.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (c.jobs < 1)
		c.jobs = 1;
	for (i = 0; commands[i]; i++)
		if (argc > 1 && !strcmp(argv[1], commands[i])) {
			cmd = commands[i];
			shift = 1;
		}
	c.argv_text = join_argv(argc, argv);
	rc = parse_options(&c, argc - shift, argv + shift);
	if (rc != 0) {
		free(c.argv_text);
		free(c.force);
		return rc < 0 ? 0 : rc;
	}
	if (!strcmp(cmd, "version")) {
		printf("dagrun %s\n", DAGRUN_VERSION);
		rc = 0;
	} else if (!strcmp(cmd, "help")) {
		rc = cmd_help(&c);
	} else if (!strcmp(cmd, "explain")) {
		rc = cmd_explain(&c);
	} else if (!strcmp(cmd, "runs")) {
		rc = cmd_runs(&c);
	} else if (!strcmp(cmd, "show")) {
		rc = cmd_show(&c);
	} else if (!strcmp(cmd, "dag")) {
		rc = cmd_dag(&c);
	} else if (!strcmp(cmd, "metrics")) {
		rc = cmd_metrics(&c);
	} else if (!strcmp(cmd, "report")) {
		rc = cmd_report(&c);
	} else if (!strcmp(cmd, "gc")) {
		rc = cmd_gc(&c);
	} else if (!strcmp(cmd, "predict")) {
		rc = cmd_predict(&c);
	} else if (!strcmp(cmd, "models") || !strcmp(cmd, "promote") ||
		   !strcmp(cmd, "rollback")) {
		rc = cmd_registry(&c, cmd);
	} else {
		rc = cmd_run(&c);
	}
	free(c.argv_text);
	free(c.force);
	return rc;
}
