/* slurm: see slurm.h.
 *
 * Three processes take part in one attempt: the head (sched.c) writes the
 * work folder and forks the watcher; the watcher runs sbatch, squeue and
 * scancel and ends with _exit(); the job runs slurm_node_main() on the
 * compute node.  They speak only through files in the work folder, so the
 * head and the compute node need share nothing else.  The Slurm commands
 * are found in PATH and run with the signal mask of a fresh process; their
 * messages go to the node's log, where a failure's tail shows them. */
#include "slurm.h"
#include "cli.h"
#include "exec.h"
#include "fs.h"
#include "kernel.h"
#include "pipeline.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* 0.2 s: how often a watcher looks for its job's result file */
#define RESULT_POLL 0.2
/* 5 s: how often a watcher asks squeue whether its job still exists */
#define SQUEUE_POLL 5.0
/* 60 s: once the job is gone, how long its result file may take to show
 * (NFS caches a folder's attributes, and so its new names, up to 60 s) */
#define RESULT_WAIT 60.0
/* 60 s: the most one sbatch, squeue or scancel may take before it is killed */
#define TOOL_LIMIT 60.0
/* 2 s: how long a node may take to exit after SIGTERM (as in sched.c) */
#define NODE_GRACE 2.0

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec span(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	return ts;
}

/* ---- the head: the work folder -------------------------------------- */

static const char *kind_name(enum node_kind k)
{
	return k == NODE_SHELL ? "shell" : k == NODE_LUA ? "lua" : "kernel";
}

/* node.json: everything `dagrun __node` needs to start the node. */
static int write_node_json(const struct exec_spec *s, struct err *err)
{
	const struct node *nd = s->nd;
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, "
				"s:f, s:s, s:i}", "node", nd->id, "task", nd->task,
				"kind", kind_name(nd->kind), "cmd", nd->cmd,
				"script", nd->script, "root", s->root, "needs", s->needs,
				"run", s->run_id, "log", s->log_path, "timeout",
				nd->timeout, "dagrun", DAGRUN_VERSION, "task_version",
				nd->kernel ? nd->kernel->version : 0);
	char *path = fs_join(s->work, "node.json");
	int rc = json_dump_file(doc, path, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (rc < 0)
		err_set(err, ERR_IO, "cannot write '%s'", path);
	free(path);
	json_decref(doc);
	return rc < 0 ? -1 : 0;
}

/* Append 's' to 'sb' in single quotes, for /bin/sh. */
static void sh_quote(struct strbuf *sb, const char *s)
{
	sb_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_adds(sb, "'\\''");
		else
			sb_addc(sb, *s);
	}
	sb_addc(sb, '\'');
}

/* job.sh: the batch script, which runs this very binary in node mode. */
static int write_script(const struct exec_spec *s, struct err *err)
{
	char exe[PATH_MAX], *path = fs_join(s->work, "job.sh");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct strbuf sb;
	int rc = -1;

	if (n < 0) {
		err_set(err, ERR_IO, "cannot find the dagrun binary: %s", strerror(errno));
		free(path);
		return -1;
	}
	exe[n] = '\0';
	sb_init(&sb);
	sb_addf(&sb, "#!/bin/sh\n# node '%s' of dagrun run %s (see docs/cluster.md)\n"
		"exec ", s->nd->id, s->run_id);
	sh_quote(&sb, exe);
	sb_adds(&sb, " __node ");
	sh_quote(&sb, s->work);
	sb_addc(&sb, '\n');
	if (fs_write_atomic(path, sb.buf, sb.len, err) == 0 && chmod(path, 0755) == 0)
		rc = 0;
	else if (err->kind == ERR_NONE)
		err_set(err, ERR_IO, "cannot make '%s' executable: %s", path, strerror(errno));
	sb_release(&sb);
	free(path);
	return rc;
}

/* ---- the watcher -------------------------------------------------- */

/* Wait for 'pid' at most until 'deadline', then kill it.  Its exit code,
 * or -1 if it was killed or stopped by a signal. */
static int wait_tool(pid_t pid, double deadline)
{
	struct timespec ts = span(0.02);
	int status = 0;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run a Slurm command 'argv' (found in PATH), at most TOOL_LIMIT seconds.
 * With 'out', its stdout and stderr are read into it; without, they go to
 * ours (the node's log).  Returns its exit code, or -1 (could not run, or
 * killed; said on stderr). */
static int run_tool(char *const argv[], struct strbuf *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int p[2] = {-1, -1}, rc;
	double deadline = mono() + TOOL_LIMIT;
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out) {
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	}
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (out)
		close(p[1]);
	if (rc != 0) {
		fprintf(stderr, "dagrun: cannot run '%s': %s\n", argv[0], strerror(rc));
		if (out)
			close(p[0]);
		return -1;
	}
	while (out) {
		struct pollfd pf = {p[0], POLLIN, 0};
		char buf[4096];
		ssize_t n;
		double left = deadline - mono();
		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			break;
		n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		sb_add(out, buf, (size_t)n);
	}
	if (out)
		close(p[0]);
	rc = wait_tool(pid, deadline);
	if (rc < 0)
		fprintf(stderr, "dagrun: '%s' did not finish within %gs\n", argv[0], TOOL_LIMIT);
	return rc;
}

/* The sbatch command line for attempt 's' ('args' gets owned strings). */
static int sbatch_argv(const struct exec_spec *s, char *args[16])
{
	const struct node *nd = s->nd;
	int n = 0;

	args[n++] = xstrdup("sbatch");
	args[n++] = xstrdup("--parsable");
	args[n++] = xasprintf("--job-name=dagrun:%s", nd->id);
	args[n++] = xasprintf("--output=%s", s->log_path);
	args[n++] = xstrdup("--open-mode=append");
	args[n++] = xasprintf("--chdir=%s", s->root);
	args[n++] = xasprintf("--cpus-per-task=%d", nd->cpus > 0 ? nd->cpus : 1);
	if (nd->mem_mb > 0)
		args[n++] = xasprintf("--mem=%ldM", nd->mem_mb);
	if (nd->gpus > 0)
		args[n++] = xasprintf("--gres=gpu:%d", nd->gpus);
	/* whole minutes, and one more: the node enforces its own timeout
	 * exactly; Slurm's limit is the backstop */
	if (nd->timeout > 0)
		args[n++] = xasprintf("--time=%d", (int)ceil(nd->timeout / 60.0) + 1);
	args[n++] = fs_join(s->work, "job.sh");
	args[n] = NULL;
	return n;
}

/* Submit: the job id into 'job', or -1 (the reason is in the log). */
static int submit(const struct exec_spec *s, char job[SLURM_JOB_MAX])
{
	char *args[16];
	struct strbuf out;
	size_t k;
	int n = sbatch_argv(s, args), rc, i;

	sb_init(&out);
	rc = run_tool(args, &out);
	for (k = 0; k < out.len && k + 1 < SLURM_JOB_MAX &&
	     (out.buf[k] == '_' || (out.buf[k] >= '0' && out.buf[k] <= '9')); k++)
		job[k] = out.buf[k];
	job[k] = '\0';
	if (rc != 0 || k == 0) {
		fprintf(stderr, "dagrun: sbatch failed%s%s\n", out.len ? ":\n" : "",
			out.buf);
		rc = -1;
	}
	sb_release(&out);
	for (i = 0; i < n; i++)
		free(args[i]);
	return rc;
}

/* 1 while Slurm still knows job 'job' as not finished; 0 once it is over
 * or forgotten, with its last state in 'state'; -1 if squeue failed
 * (slurmctld busy or away: ask again later). */
static int job_active(const char *job, char *state, size_t n)
{
	static const char *const active[] = {
		"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED",
		"REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
		"STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", NULL
	};
	char *args[] = {"squeue", "-h", "-t", "all", "-o", "%T", "-j", (char *)job, NULL};
	struct strbuf out;
	int rc, i, yes = 0;

	sb_init(&out);
	rc = run_tool(args, &out);
	if (rc != 0 && !strstr(out.buf, "Invalid job id")) {
		sb_release(&out);
		return -1;
	}
	out.buf[strcspn(out.buf, " \r\n")] = '\0';
	snprintf(state, n, "%s", rc == 0 && *out.buf ? out.buf : "gone");
	for (i = 0; active[i] && rc == 0; i++)
		yes |= !strcmp(out.buf, active[i]);
	sb_release(&out);
	return yes;
}

static void cancel(const char *job, int sig)
{
	char *args[] = {"scancel", (char *)job, NULL};

	fprintf(stderr, "dagrun: cancelling slurm job %s (%s)\n", job, strsignal(sig));
	run_tool(args, NULL);
}

/* Wait for the job's result; the watcher's exit code: 0 with a result,
 * 1 when the job ended without one, 128+N when signal N cancelled it. */
static int wait_job(const char *work, const char *job, const sigset_t *set)
{
	char *result = fs_join(work, "result.json"), state[64];
	struct timespec ts = span(RESULT_POLL);
	double next_ask = mono() + SQUEUE_POLL, ended = 0;
	int sig, code = -1;

	while (code < 0) {
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0) {
			cancel(job, sig);
			code = 128 + sig;
		} else if (fs_exists(result)) {
			code = 0;
		} else if (ended > 0 && mono() - ended > RESULT_WAIT) {
			fprintf(stderr, "dagrun: slurm job %s ended (%s) without reporting "
				"a result; see 'sacct -j %s'\n", job, state, job);
			code = 1;
		} else if (ended == 0 && mono() >= next_ask) {
			if (job_active(job, state, sizeof(state)) == 0)
				ended = mono();
			next_ask = mono() + SQUEUE_POLL;
		}
	}
	free(result);
	return code;
}

static void redirect_to(const char *log_path)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (in >= 0 && in != 0) {
		dup2(in, 0);
		close(in);
	}
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
		if (out > 2)
			close(out);
	}
}

/* The watcher's life, in the forked child: never returns. */
static void watch(const struct exec_spec *s, pid_t head)
{
	char job[SLURM_JOB_MAX], *path;
	struct err err;
	sigset_t set;

	setpgid(0, 0);
	/* the head's death, even by SIGKILL, is a SIGTERM here: cancel */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != head)
		_exit(1);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	redirect_to(s->log_path);
	if (submit(s, job) < 0)
		_exit(1);
	err_init(&err);
	path = fs_join(s->work, "jobid");
	if (fs_write_atomic(path, job, strlen(job), &err) < 0)
		fprintf(stderr, "dagrun: %s\n", err.msg);
	free(path);
	_exit(wait_job(s->work, job, &set));
}

pid_t slurm_start(struct exec *ex, const struct exec_spec *s, struct err *err)
{
	pid_t head = getpid(), pid;

	if (write_node_json(s, err) < 0 || write_script(s, err) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (ex->reaper_fd >= 0)
			close(ex->reaper_fd);
		watch(s, head);
	}
	if (pid < 0) {
		err_set(err, ERR_IO, "cannot start the watcher of node '%s': %s",
			s->nd->id, strerror(errno));
		return -1;
	}
	setpgid(pid, pid);   /* also here: no race with the first kill */
	return pid;
}

void slurm_collect(const char *work, int *status, struct rusage *ru,
		   int *timed_out, char job[SLURM_JOB_MAX])
{
	char *path = fs_join(work, "jobid"), *text = NULL;
	struct err e;
	json_t *doc, *sig;
	double cpu;

	job[0] = '\0';
	if (fs_read_file(path, &text, NULL, &e) == 0)
		snprintf(job, SLURM_JOB_MAX, "%s", text);
	free(text);
	free(path);
	path = fs_join(work, "result.json");
	doc = json_load_file(path, 0, NULL);
	free(path);
	if (!json_is_object(doc)) {
		if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
			*status = W_EXITCODE(1, 0);
		json_decref(doc);
		return;
	}
	sig = json_object_get(doc, "signal");
	*status = json_is_integer(sig) ? W_EXITCODE(0, (int)json_integer_value(sig)) :
		  W_EXITCODE((int)json_integer_value(json_object_get(doc, "exit")), 0);
	if (json_is_true(json_object_get(doc, "timed_out")))
		*timed_out = 1;
	memset(ru, 0, sizeof(*ru));
	cpu = json_number_value(json_object_get(doc, "cpu"));
	ru->ru_utime.tv_sec = (time_t)cpu;
	ru->ru_utime.tv_usec = (suseconds_t)((cpu - floor(cpu)) * 1e6);
	ru->ru_maxrss = (long)json_integer_value(json_object_get(doc, "maxrss_kb"));
	json_decref(doc);
}

/* ---- the compute node: `dagrun __node WORK` -------------------------- */

/* The node of node.json into 'nd' and 'es' (strings borrowed from 'doc'). */
static int load_node(json_t *doc, const char *work, struct node *nd,
		     struct exec_spec *es)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *want = json_string_value(json_object_get(doc, "dagrun"));

	memset(nd, 0, sizeof(*nd));
	memset(es, 0, sizeof(*es));
	nd->id = (char *)json_string_value(json_object_get(doc, "node"));
	nd->task = (char *)json_string_value(json_object_get(doc, "task"));
	nd->cmd = (char *)json_string_value(json_object_get(doc, "cmd"));
	nd->script = (char *)json_string_value(json_object_get(doc, "script"));
	nd->timeout = json_number_value(json_object_get(doc, "timeout"));
	nd->kind = kind && !strcmp(kind, "shell") ? NODE_SHELL :
		   kind && !strcmp(kind, "lua") ? NODE_LUA : NODE_KERNEL;
	es->nd = nd;
	es->root = json_string_value(json_object_get(doc, "root"));
	es->needs = json_string_value(json_object_get(doc, "needs"));
	es->run_id = json_string_value(json_object_get(doc, "run"));
	es->log_path = json_string_value(json_object_get(doc, "log"));
	es->work = work;
	if (!nd->id || !nd->task || !es->root || !es->needs || !es->run_id ||
	    !es->log_path || (nd->kind == NODE_SHELL && !nd->cmd) ||
	    (nd->kind == NODE_LUA && !nd->script)) {
		fprintf(stderr, "dagrun __node: '%s/node.json' is incomplete\n", work);
		return -1;
	}
	if (want && strcmp(want, DAGRUN_VERSION))
		fprintf(stderr, "dagrun __node: warning: the head runs dagrun %s, this "
			"node %s\n", want, DAGRUN_VERSION);
	if (nd->kind != NODE_KERNEL)
		return 0;
	nd->kernel = kernel_find(nd->task);
	if (!nd->kernel || nd->kernel->version !=
	    json_integer_value(json_object_get(doc, "task_version"))) {
		fprintf(stderr, "dagrun __node: this dagrun has %s task '%s' (version "
			"%d), not version %lld as the head: install the same dagrun "
			"on every node\n", nd->kernel ? "another" : "no", nd->task,
			nd->kernel ? nd->kernel->version : 0,
			(long long)json_integer_value(json_object_get(doc, "task_version")));
		return -1;
	}
	return 0;
}

/* Wait for the node 'pid', ending it at its timeout or on a signal in
 * 'set' (scancel): SIGTERM to its group, SIGKILL NODE_GRACE later. */
static void supervise(pid_t pid, double timeout, const sigset_t *set,
		      int *status, struct rusage *ru, int *timed_out)
{
	double t0 = mono(), kill_at = 0;
	struct timespec ts = span(0.1);
	int sig;

	while (wait4(pid, status, WNOHANG, ru) != pid) {
		sig = sigtimedwait(set, NULL, &ts);
		if (kill_at == 0 && (sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
				     (timeout > 0 && mono() - t0 >= timeout))) {
			*timed_out = sig != SIGTERM && sig != SIGINT && sig != SIGHUP;
			kill(-pid, SIGTERM);
			kill_at = mono() + NODE_GRACE;
		} else if (kill_at > 0 && mono() >= kill_at) {
			kill(-pid, SIGKILL);
		}
	}
	kill(-pid, SIGKILL);   /* whatever the node left behind */
}

static int write_result(const char *work, int status, const struct rusage *ru,
			int timed_out)
{
	double cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
		     ((double)ru->ru_utime.tv_usec + (double)ru->ru_stime.tv_usec) / 1e6;
	json_t *doc = json_pack("{s:b, s:f, s:I, s:s}", "timed_out", timed_out,
				"cpu", cpu, "maxrss_kb", (json_int_t)ru->ru_maxrss,
				"host", state_host());
	char *path = fs_join(work, "result.json"), *text;
	struct err err;
	int rc;

	if (WIFSIGNALED(status))
		json_object_set_new(doc, "signal", json_integer(WTERMSIG(status)));
	else
		json_object_set_new(doc, "exit", json_integer(WEXITSTATUS(status)));
	text = json_dumps(doc, JSON_SORT_KEYS);
	err_init(&err);
	rc = fs_write_atomic(path, text, strlen(text), &err);
	if (rc < 0)
		fprintf(stderr, "dagrun __node: %s\n", err.msg);
	free(text);
	free(path);
	json_decref(doc);
	return rc;
}

int slurm_node_main(const char *work)
{
	char *path = fs_join(work, "node.json");
	json_t *doc = json_load_file(path, 0, NULL);
	struct exec_spec es;
	struct exec ex;
	struct rusage ru;
	struct node nd;
	struct err err;
	sigset_t set;
	int status = 0, timed_out = 0, code = 3;
	pid_t pid;

	err_init(&err);
	if (!json_is_object(doc)) {
		fprintf(stderr, "dagrun __node: cannot read '%s'\n", path);
		goto out;
	}
	if (load_node(doc, work, &nd, &es) < 0)
		goto out;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (exec_open(&ex, &err) < 0) {
		fprintf(stderr, "dagrun __node: %s\n", err.msg);
		goto out;
	}
	pid = exec_start(&ex, &es, &err);
	if (pid > 0) {
		supervise(pid, nd.timeout, &set, &status, &ru, &timed_out);
		exec_ended(&ex, pid);
	}
	exec_close(&ex);
	if (pid < 0) {
		fprintf(stderr, "dagrun __node: %s\n", err.msg);
		goto out;
	}
	/* a head that is gone (Ctrl-C, scancel) took the folder with it */
	if (fs_exists(work) && write_result(work, status, &ru, timed_out) == 0)
		code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
out:
	json_decref(doc);
	free(path);
	return code;
}
