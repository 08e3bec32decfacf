/* exec: see exec.h.  In a forked child everything either execs or ends
 * with _exit(): no atexit handler runs, and no stdio buffer of the
 * engine's is flushed twice (the engine flushes before forking). */
#include "exec.h"
#include "fs.h"
#include "kctx.h"
#include "luabox.h"
#include "pipeline.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* 4096: process groups the reaper tracks at once; far above any -j */
#define REAPER_MAX 4096

/* ---- the reaper ------------------------------------------------------ */

static void reaper_main(int fd)
{
	pid_t groups[REAPER_MAX];
	int n = 0, i, sig;
	char op;
	pid_t pg;

	for (sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_IGN);   /* Ctrl-C is the engine's to handle */
	while (read(fd, &op, 1) == 1 && read(fd, &pg, sizeof(pg)) == sizeof(pg)) {
		if (op == '+' && n < REAPER_MAX) {
			groups[n++] = pg;
			continue;
		}
		for (i = 0; i < n; i++)
			if (groups[i] == pg) {
				groups[i] = groups[--n];
				break;
			}
	}
	for (i = 0; i < n; i++)   /* the engine is gone: so are its nodes */
		kill(-groups[i], SIGKILL);
	_exit(0);
}

int exec_open(struct exec *ex, struct err *err)
{
	int p[2];

	ex->reaper_fd = -1;
	ex->reaper_pid = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		err_set(err, ERR_IO, "cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	ex->reaper_pid = fork();
	if (ex->reaper_pid < 0) {
		err_set(err, ERR_IO, "cannot start the reaper: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (ex->reaper_pid == 0) {
		close(p[1]);
		setpgid(0, 0);   /* not in the terminal's group: no Ctrl-C */
		reaper_main(p[0]);
	}
	close(p[0]);
	ex->reaper_fd = p[1];
	return 0;
}

void exec_close(struct exec *ex)
{
	if (ex->reaper_fd >= 0)
		close(ex->reaper_fd);
	if (ex->reaper_pid > 0)
		waitpid(ex->reaper_pid, NULL, 0);
	ex->reaper_fd = -1;
	ex->reaper_pid = 0;
}

static void tell_reaper(struct exec *ex, char op, pid_t pg)
{
	char msg[1 + sizeof(pid_t)];

	if (ex->reaper_fd < 0)
		return;
	msg[0] = op;
	memcpy(msg + 1, &pg, sizeof(pg));
	if (write(ex->reaper_fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return;   /* the reaper is gone; nothing better to do */
}

void exec_ended(struct exec *ex, pid_t pgid)
{
	tell_reaper(ex, '-', pgid);
}

/* ---- the environment --------------------------------------------------- */

struct env {
	char **v;
	size_t n, cap;
};

static void env_set(struct env *e, const char *name, const char *value)
{
	size_t len = strlen(name), i;
	char *entry = xasprintf("%s=%s", name, value);

	for (i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=') {
			free(e->v[i]);
			e->v[i] = entry;
			return;
		}
	xgrow((void **)&e->v, sizeof(char *), &e->cap, e->n + 2);
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
}

static void env_set_path(struct env *e, const char *name, const char *work,
			 const char *rel)
{
	char *v = fs_join(work, rel);

	env_set(e, name, v);
	free(v);
}

/* The engine's environment plus the node's variables. */
static void env_build(struct env *e, const struct exec_spec *s)
{
	char **p;

	memset(e, 0, sizeof(*e));
	for (p = environ; *p; p++) {
		xgrow((void **)&e->v, sizeof(char *), &e->cap, e->n + 2);
		e->v[e->n++] = xstrdup(*p);
	}
	env_set_path(e, "DAGRUN_OUT", s->work, "out");
	env_set_path(e, "DAGRUN_IN", s->work, "in");
	env_set_path(e, "DAGRUN_PARAMS", s->work, "params.json");
	env_set_path(e, "DAGRUN_METRICS", s->work, "metrics.jsonl");
	env_set_path(e, "DAGRUN_EVENTS", s->work, "events.jsonl");
	env_set(e, "DAGRUN_NEEDS", s->needs);
	env_set(e, "DAGRUN_NODE", s->nd->id);
	env_set(e, "DAGRUN_RUN", s->run_id);
	env_set(e, "DAGRUN_ROOT", s->root);
}

static void env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

/* ---- shell nodes: posix_spawn ---------------------------------------- */

static pid_t spawn_shell(const struct exec_spec *s, char **envp, struct err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *argv[] = {"sh", "-c", s->nd->cmd, NULL};
	pid_t pid = -1;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, s->log_path,
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, s->root);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		err_set(err, ERR_IO, "cannot start node '%s': %s", s->nd->id,
			strerror(rc));
		return -1;
	}
	return pid;
}

/* ---- lua and kernel nodes: a fork ------------------------------------- */

/* Signals and the mask as a fresh process expects them. */
static void reset_signals(void)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void redirect(const char *log_path)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (in >= 0)
		dup2(in, 0);
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
	}
	if (in > 2)
		close(in);
	if (out > 2)
		close(out);
}

static void run_in_child(const struct exec_spec *s, char **envp, pid_t engine)
{
	const struct node *nd = s->nd;
	struct err err;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != engine)
		_exit(1);
	reset_signals();
	redirect(s->log_path);
	if (chdir(s->root) < 0) {
		fprintf(stderr, "error: cannot enter '%s': %s\n", s->root, strerror(errno));
		_exit(1);
	}
	environ = envp;
	if (nd->kind == NODE_KERNEL)
		_exit(kctx_main(nd->kernel));
	err_init(&err);
	if (luabox_run_glue(nd->script, nd->script, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		_exit(err.kind == ERR_USER ? 2 : 1);
	}
	_exit(0);
}

pid_t exec_start(struct exec *ex, const struct exec_spec *s, struct err *err)
{
	pid_t engine = getpid(), pid;
	struct env env;

	env_build(&env, s);
	if (s->nd->kind == NODE_SHELL) {
		pid = spawn_shell(s, env.v, err);
	} else {
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			run_in_child(s, env.v, engine);
		if (pid < 0)
			err_set(err, ERR_IO, "cannot start node '%s': %s", s->nd->id,
				strerror(errno));
	}
	env_free(&env);
	if (pid > 0) {
		setpgid(pid, pid);   /* also here: no race with the first kill */
		tell_reaper(ex, '+', pid);
	}
	return pid;
}
