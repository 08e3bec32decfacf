/* slurm: run node attempts as Slurm jobs.
 *
 * The scheduler stays on the head machine and keeps the graph, the
 * claims, the store and the database; only the node itself moves.  For
 * each attempt the head writes node.json (what to run) and job.sh beside
 * params.json in the attempt's work folder under STATE/tmp, and starts a
 * watcher: a small local process that takes the node's place in the
 * scheduler, so timeouts, Ctrl-C and -j work unchanged.  The watcher
 * submits job.sh with sbatch (resources from the node's 'resources:' and
 * 'timeout:'), records the job id in the work folder, and waits for the
 * job's result file, asking squeue now and then whether the job still
 * exists.  SIGTERM (a Ctrl-C of the head, an engine error, the head's
 * death) makes it scancel the job.
 *
 * On the compute node the job runs `dagrun __node WORK`, which starts the
 * node exactly as the local executor does (exec.h: same environment, same
 * folder layout, same log), enforces its timeout, and writes
 * WORK/result.json (exit code or signal, CPU time, peak memory, host).
 * Only the state folder must be shared between head and compute nodes,
 * at the same path, and the dagrun binary must be at the same path.
 *
 * Files in WORK: node.json, job.sh (head, before submitting); jobid
 * (watcher, after sbatch answered); result.json (compute node, written
 * whole, then renamed). */
#ifndef DAGRUN_SLURM_H
#define DAGRUN_SLURM_H

#include <sys/resource.h>
#include <sys/types.h>

#include "err.h"

/* 15 s: how long the head lets a watcher cancel its job after SIGTERM
 * before it is killed (scancel talks to slurmctld) */
#define SLURM_CANCEL_GRACE 15.0
/* 32: room for a job id such as "1234567" or "1234567_3" */
#define SLURM_JOB_MAX 32

struct exec;
struct exec_spec;

/* Submit attempt 's' as a Slurm job and start its watcher, in a process
 * group of its own.  Returns the watcher's pid, or -1 with 'err' set
 * (ERR_IO: the work folder cannot be written, no fork).  A failing sbatch
 * is not an error here: the watcher exits 1 with sbatch's message in the
 * node's log.  The watcher is not given to exec's reaper (it must outlive
 * the head long enough to cancel the job) and does not hold its pipe.  The
 * watcher's exit status means little; slurm_collect() gives the node's. */
pid_t slurm_start(struct exec *ex, const struct exec_spec *s, struct err *err);

/* After the watcher of work folder 'work' ended with '*status' and '*ru':
 * replace them by the node's own outcome from result.json, if the job
 * wrote one, and set '*timed_out' if the node exceeded its timeout there;
 * a watcher that exited 0 without a readable result becomes exit code 1.
 * 'job' gets the job id, or "" if none was submitted. */
void slurm_collect(const char *work, int *status, struct rusage *ru,
		   int *timed_out, char job[SLURM_JOB_MAX]);

/* `dagrun __node WORK` on the compute node: run the node of
 * WORK/node.json, write WORK/result.json, and return the exit code for the
 * process: the node's, 128+N when it was killed by signal N, 3 when it
 * could not be started (the reason on stderr, which is the node's log). */
int slurm_node_main(const char *work);

#endif
