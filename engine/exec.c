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

#include <assert.h>
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
	ex->threaded = 0;
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

/* The node's environment: its own variables first (owned), then the
 * engine's, borrowed from 'environ' except those the node's replace. */
struct env {
	char **v;           /* NULL-terminated */
	size_t n, cap;
	size_t n_owned;     /* v[0 .. n_owned) are ours to free */
};

static void env_add(struct env *e, char *entry)
{
	xgrow((void **)&e->v, sizeof(char *), &e->cap, e->n + 2);
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
}

static void env_set_path(struct env *e, const char *name, const char *work,
			 const char *rel)
{
	env_add(e, xasprintf("%s=%s/%s", name, work, rel));
}

/* 1 if entry 'kv' ("NAME=value") sets a variable among the node's own. */
static int replaced(const struct env *e, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t i, len = eq ? (size_t)(eq - kv) : strlen(kv);

	if (strncmp(kv, "DAGRUN_", 7))
		return 0;     /* the common case: not one of ours */
	for (i = 0; i < e->n_owned; i++)
		if (!strncmp(e->v[i], kv, len) && e->v[i][len] == '=')
			return 1;
	return 0;
}

/* The engine's environment plus the node's variables. */
static void env_build(struct env *e, const struct exec_spec *s)
{
	char **p;

	memset(e, 0, sizeof(*e));
	env_set_path(e, "DAGRUN_OUT", s->work, "out");
	env_set_path(e, "DAGRUN_IN", s->work, "in");
	if (s->params)
		env_add(e, xasprintf("DAGRUN_PARAMS=%s", s->params));
	else
		env_set_path(e, "DAGRUN_PARAMS", s->work, "params.json");
	env_set_path(e, "DAGRUN_METRICS", s->work, "metrics.jsonl");
	env_set_path(e, "DAGRUN_EVENTS", s->work, "events.jsonl");
	env_add(e, xasprintf("DAGRUN_NEEDS=%s", s->needs));
	env_add(e, xasprintf("DAGRUN_NODE=%s", s->nd->id));
	env_add(e, xasprintf("DAGRUN_RUN=%s", s->run_id));
	env_add(e, xasprintf("DAGRUN_ROOT=%s", s->root));
	e->n_owned = e->n;
	for (p = environ; *p; p++)
		if (!replaced(e, *p))
			env_add(e, *p);
}

static void env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n_owned; i++)
		free(e->v[i]);
	free(e->v);
}

/* ---- shell nodes: posix_spawn ---------------------------------------- */

/* /bin/sh -c 'cmd' in a new process group; 0 and '*pid', or an errno. */
static int spawn_sh(char *cmd, const char *log_path, int log_fresh,
		    const char *root, char **envp, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *argv[] = {"sh", "-c", cmd, NULL};
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT |
					 (log_fresh ? O_TRUNC : O_APPEND), 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, root);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static pid_t spawn_shell(const struct exec_spec *s, char **envp, struct err *err)
{
	pid_t pid = -1;
	int rc = spawn_sh(s->nd->cmd, s->log_path, s->log_fresh, s->root, envp, &pid);

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

static void redirect(const char *log_path, int fresh)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(log_path, O_WRONLY | O_CREAT | (fresh ? O_TRUNC : O_APPEND),
		       0644);

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
	redirect(s->log_path, s->log_fresh);
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

/* ---- the spawner thread ---------------------------------------------- */

struct exec_spawn {
	struct exec_spawn *next;
	int tag, errnum;
	pid_t pid;
	char *cmd;              /* borrowed from the node */
	const char *root;       /* borrowed */
	char *node, *log_path;  /* owned */
	int log_fresh;
	struct env env;
};

/* Append 'sp' to the list at '*head'/'*tail'. */
static void list_push(struct exec_spawn **head, struct exec_spawn **tail,
		      struct exec_spawn *sp)
{
	sp->next = NULL;
	if (*tail)
		(*tail)->next = sp;
	else
		*head = sp;
	*tail = sp;
}

static struct exec_spawn *list_pop(struct exec_spawn **head,
				   struct exec_spawn **tail)
{
	struct exec_spawn *sp = *head;

	if (sp) {
		*head = sp->next;
		if (!*head)
			*tail = NULL;
	}
	return sp;
}

static void *spawner_main(void *arg)
{
	struct exec *ex = arg;
	struct exec_spawn *sp;

	pthread_mutex_lock(&ex->mu);
	for (;;) {
		while (!ex->todo && !ex->stop)
			pthread_cond_wait(&ex->cv, &ex->mu);
		sp = list_pop(&ex->todo, &ex->todo_tail);
		if (!sp)
			break;
		pthread_mutex_unlock(&ex->mu);
		sp->errnum = spawn_sh(sp->cmd, sp->log_path, sp->log_fresh, sp->root,
				      sp->env.v, &sp->pid);
		if (sp->errnum == 0) {
			setpgid(sp->pid, sp->pid);
			tell_reaper(ex, '+', sp->pid);
		}
		pthread_mutex_lock(&ex->mu);
		list_push(&ex->done, &ex->done_tail, sp);
		pthread_kill(ex->owner, ex->sig);
	}
	pthread_mutex_unlock(&ex->mu);
	return NULL;
}

int exec_spawner_start(struct exec *ex, int sig, struct err *err)
{
	sigset_t all, old;
	int rc;

	ex->owner = pthread_self();
	ex->sig = sig;
	ex->todo = ex->todo_tail = ex->done = ex->done_tail = NULL;
	ex->stop = 0;
	pthread_mutex_init(&ex->mu, NULL);
	pthread_cond_init(&ex->cv, NULL);
	sigfillset(&all);   /* the thread takes no signal */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ex->thread, NULL, spawner_main, ex);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		err_set(err, ERR_IO, "cannot start the spawner thread: %s", strerror(rc));
		return -1;
	}
	ex->threaded = 1;
	return 0;
}

void exec_spawner_stop(struct exec *ex)
{
	struct exec_spawn *sp;
	struct timespec zero = {0, 0};
	sigset_t set;

	if (!ex->threaded)
		return;
	pthread_mutex_lock(&ex->mu);
	ex->stop = 1;
	pthread_cond_signal(&ex->cv);
	pthread_mutex_unlock(&ex->mu);
	pthread_join(ex->thread, NULL);
	ex->threaded = 0;
	while ((sp = list_pop(&ex->done, &ex->done_tail)) != NULL) {
		env_free(&sp->env);
		free(sp->node);
		free(sp->log_path);
		free(sp);
	}
	pthread_mutex_destroy(&ex->mu);
	pthread_cond_destroy(&ex->cv);
	sigemptyset(&set);
	sigaddset(&set, ex->sig);
	while (sigtimedwait(&set, NULL, &zero) == ex->sig)
		;
}

void exec_start_async(struct exec *ex, const struct exec_spec *s, int tag)
{
	struct exec_spawn *sp = xcalloc(1, sizeof(*sp));

	assert(ex->threaded && s->nd->kind == NODE_SHELL);
	sp->tag = tag;
	sp->cmd = s->nd->cmd;
	sp->root = s->root;
	sp->node = xstrdup(s->nd->id);
	sp->log_path = xstrdup(s->log_path);
	sp->log_fresh = s->log_fresh;
	env_build(&sp->env, s);
	pthread_mutex_lock(&ex->mu);
	list_push(&ex->todo, &ex->todo_tail, sp);
	pthread_cond_signal(&ex->cv);
	pthread_mutex_unlock(&ex->mu);
}

int exec_started(struct exec *ex, int *tag, pid_t *pid, struct err *err)
{
	struct exec_spawn *sp;

	if (!ex->threaded)
		return 0;
	pthread_mutex_lock(&ex->mu);
	sp = list_pop(&ex->done, &ex->done_tail);
	pthread_mutex_unlock(&ex->mu);
	if (!sp)
		return 0;
	*tag = sp->tag;
	*pid = sp->errnum ? -1 : sp->pid;
	if (sp->errnum)
		err_set(err, ERR_IO, "cannot start node '%s': %s", sp->node,
			strerror(sp->errnum));
	env_free(&sp->env);
	free(sp->node);
	free(sp->log_path);
	free(sp);
	return 1;
}
