/* Unit tests for the head's side of the Slurm executor that need no
 * cluster: reading a job's outcome from its work folder.  tests/slurm/run.sh
 * runs the whole executor against a real one-host cluster. */
#include "test.h"
#include "tmpdir.h"

#include "slurm.h"

#include <sys/wait.h>

TEST(the_jobs_result_replaces_the_watchers)
{
	char dir[600], job[SLURM_JOB_MAX];
	struct rusage ru;
	int status = 0, timed_out = 0;
	struct err e;

	snprintf(dir, sizeof(dir), "%s/w1", tmp_dir());
	ASSERT_EQ(fs_mkdirs(dir, &e), 0);
	put_file(dir, "jobid", "4711");
	put_file(dir, "result.json", "{\"exit\": 3, \"timed_out\": true, "
		 "\"cpu\": 1.5, \"maxrss_kb\": 2048, \"host\": \"n1\"}");
	memset(&ru, 0, sizeof(ru));
	slurm_collect(dir, &status, &ru, &timed_out, job);
	ASSERT_STREQ(job, "4711");
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 3);
	ASSERT_EQ(timed_out, 1);
	ASSERT_EQ(ru.ru_utime.tv_sec, 1);
	ASSERT_EQ(ru.ru_utime.tv_usec, 500000);
	ASSERT_EQ(ru.ru_maxrss, 2048);
}

TEST(a_signal_is_a_signal)
{
	char dir[600], job[SLURM_JOB_MAX];
	struct rusage ru;
	int status = 0, timed_out = 0;
	struct err e;

	snprintf(dir, sizeof(dir), "%s/w2", tmp_dir());
	ASSERT_EQ(fs_mkdirs(dir, &e), 0);
	put_file(dir, "result.json", "{\"signal\": 9, \"timed_out\": false, "
		 "\"cpu\": 0, \"maxrss_kb\": 0}");
	slurm_collect(dir, &status, &ru, &timed_out, job);
	ASSERT_STREQ(job, "");
	ASSERT(WIFSIGNALED(status));
	ASSERT_EQ(WTERMSIG(status), 9);
	ASSERT_EQ(timed_out, 0);
}

TEST(no_result_is_never_a_success)
{
	char dir[600], job[SLURM_JOB_MAX];
	struct rusage ru;
	int timed_out = 0, status = 0;   /* the watcher exited 0 */
	struct err e;

	snprintf(dir, sizeof(dir), "%s/w3", tmp_dir());
	ASSERT_EQ(fs_mkdirs(dir, &e), 0);
	put_file(dir, "result.json", "{\"exit\": ");   /* unreadable */
	slurm_collect(dir, &status, &ru, &timed_out, job);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 1);
	status = W_EXITCODE(143, 0);    /* the watcher's own: cancelled */
	snprintf(dir, sizeof(dir), "%s/w4", tmp_dir());
	ASSERT_EQ(fs_mkdirs(dir, &e), 0);
	slurm_collect(dir, &status, &ru, &timed_out, job);
	ASSERT_EQ(WEXITSTATUS(status), 143);
	tmp_cleanup();
}

TEST_LIST(T(the_jobs_result_replaces_the_watchers), T(a_signal_is_a_signal),
	  T(no_result_is_never_a_success))
