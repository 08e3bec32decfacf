/* exec: see exec.h. Everything after fork() in the child either execs or
 * ends with _exit(): no atexit handler, no stdio buffer of the parent's
 * is flushed twice (the parent flushes before forking). */
#include "exec.h"
#include "fs.h"
#include "kctx.h"
#include "luabox.h"
#include "pipeline.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_env(const struct exec_spec *s)
{
	char *v;

	v = fs_join(s->work, "out");
	setenv("DAGRUN_OUT", v, 1);
	free(v);
	v = fs_join(s->work, "in");
	setenv("DAGRUN_IN", v, 1);
	free(v);
	v = fs_join(s->work, "meta/params.json");
	setenv("DAGRUN_PARAMS", v, 1);
	free(v);
	v = fs_join(s->work, "meta/metrics.jsonl");
	setenv("DAGRUN_METRICS", v, 1);
	free(v);
	v = fs_join(s->work, "meta/events.jsonl");
	setenv("DAGRUN_EVENTS", v, 1);
	free(v);
	setenv("DAGRUN_NEEDS", s->needs, 1);
	setenv("DAGRUN_NODE", s->nd->id, 1);
	setenv("DAGRUN_RUN", s->run_id, 1);
	setenv("DAGRUN_ROOT", s->root, 1);
}

/* Signals and the mask as a fresh process expects them. */
static void reset_signals(void)
{
	sigset_t all;
	int sig;

	for (sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
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

/* The node itself, in the supervisor's process group. */
static void run_node(const struct exec_spec *s)
{
	const struct node *nd = s->nd;
	struct err err;

	reset_signals();
	redirect(s->log_path);
	if (chdir(s->root) < 0) {
		fprintf(stderr, "error: cannot enter '%s': %s\n", s->root, strerror(errno));
		_exit(1);
	}
	set_env(s);
	switch (nd->kind) {
	case NODE_SHELL:
		execl("/bin/sh", "sh", "-c", nd->cmd, (char *)NULL);
		fprintf(stderr, "error: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	case NODE_LUA:
		err_init(&err);
		if (luabox_run_glue(nd->script, nd->script, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			_exit(err.kind == ERR_USER ? 2 : 1);
		}
		_exit(0);
	case NODE_KERNEL:
		_exit(kctx_main(nd->kernel));
	}
	_exit(1);
}

/* Leave with the node's status: its exit code, or death by its signal. */
static void exit_like(int status)
{
	sigset_t none;
	int sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	raise(sig);
	_exit(128 + sig);
}

/* The group leader between the engine and the node.  It exists so that
 * nothing a node started outlives a dagrun killed with SIGKILL: the
 * kernel tells it of the engine's death (PR_SET_PDEATHSIG) and it then
 * kills its whole process group.  Otherwise it waits for the node and
 * exits as the node did. Termination signals are left to the node. */
static void supervise(const struct exec_spec *s, pid_t engine)
{
	sigset_t set;
	siginfo_t si;
	pid_t node;
	int status = 0, sig;

	setpgid(0, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_SETMASK, &set, NULL);
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	if (getppid() != engine)
		kill(0, SIGKILL);
	node = fork();
	if (node < 0)
		_exit(1);
	if (node == 0)
		run_node(s);
	for (;;) {
		sig = sigwaitinfo(&set, &si);
		if (sig == SIGUSR1)
			kill(0, SIGKILL);
		if (sig == SIGCHLD && waitpid(node, &status, WNOHANG) == node)
			break;
	}
	exit_like(status);
}

pid_t exec_start(const struct exec_spec *s, struct err *err)
{
	pid_t engine = getpid();

	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err_set(err, ERR_IO, "cannot start node '%s': %s", s->nd->id,
			strerror(errno));
		return -1;
	}
	if (pid == 0)
		supervise(s, engine);
	setpgid(pid, pid);
	return pid;
}
