/* faultfs: an LD_PRELOAD shim that makes file writes fail on purpose, so
 * that tests can show what dagrun does on a full or failing disk.
 *
 *   LD_PRELOAD=build/fault/faultfs.so FAULTFS_PATH='*' ... ./dagrun ...
 *
 * It wraps the calls that put bytes on disk and, for the calls that
 * match, lets the first N through and fails the later ones with an errno,
 * without doing them.  Environment (read once per process):
 *
 *   FAULTFS_PATH   fnmatch(3) patterns separated by ':'; a call matches
 *                  when the absolute path of its file (an fd's path comes
 *                  from /proc/self/fd; rename's either name) matches one.
 *                  '*' crosses '/'.  Unset or empty: the shim does nothing.
 *   FAULTFS_OPS    which calls, comma-separated (default write,fsync,rename):
 *                    write     write, pwrite, pwrite64, writev, pwritev
 *                    fsync     fsync, fdatasync
 *                    rename    rename, renameat, renameat2
 *                    truncate  ftruncate, ftruncate64
 *   FAULTFS_ERRNO  ENOSPC (default), EIO, EDQUOT or EROFS
 *   FAULTFS_AFTER  the first N matching calls succeed (default 0)
 *   FAULTFS_TIMES  fail this many calls, then succeed again (default 0:
 *                  every later call fails, as a full disk stays full)
 *   FAULTFS_SHORT  1: a failing write first writes half of its bytes and
 *                  returns that count (a disk filling up mid-write); the
 *                  caller's next write then fails
 *   FAULTFS_EXE    only in processes whose executable has this base name
 *                  (such as "dagrun"), so that node commands run normally
 *   FAULTFS_LOG    append "pid n op path ok|ERRNO" for every matching call
 *
 * The count is per process.  Not covered: writes that glibc makes
 * internally (stdio's fwrite/fclose flush, as used by json_dump_file and
 * by programs such as seq or sort) do not go through the wrapped symbols,
 * nor do copy_file_range(2) and sendfile(2) (cat, cp).  The shim keeps the real functions'
 * signatures and never allocates; it is thread-safe (one atomic counter). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* 4096: PATH_MAX on Linux */
#define FAULTFS_PATH_MAX 4096

enum op { OP_WRITE = 1, OP_FSYNC = 2, OP_RENAME = 4, OP_TRUNCATE = 8 };

static struct {
	int ready, active;
	const char *patterns;
	int ops, err, short_write;
	long after, times;
	const char *log;
	long seen;          /* matching calls so far */
	long failed;        /* calls failed so far */
	int short_done;
} cfg;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);

static int parse_errno(const char *s)
{
	if (!s || !*s || !strcmp(s, "ENOSPC"))
		return ENOSPC;
	if (!strcmp(s, "EIO"))
		return EIO;
	if (!strcmp(s, "EDQUOT"))
		return EDQUOT;
	if (!strcmp(s, "EROFS"))
		return EROFS;
	return ENOSPC;
}

static int parse_ops(const char *s)
{
	int ops = 0;

	if (!s || !*s)
		return OP_WRITE | OP_FSYNC | OP_RENAME;
	if (strstr(s, "write"))
		ops |= OP_WRITE;
	if (strstr(s, "fsync"))
		ops |= OP_FSYNC;
	if (strstr(s, "rename"))
		ops |= OP_RENAME;
	if (strstr(s, "truncate"))
		ops |= OP_TRUNCATE;
	return ops;
}

/* 1 if this process's executable is named 'want' (or no filter is set). */
static int exe_matches(const char *want)
{
	char exe[FAULTFS_PATH_MAX];
	const char *base;
	ssize_t n;

	if (!want || !*want)
		return 1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return 0;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	return !strcmp(base ? base + 1 : exe, want);
}

static void setup(void)
{
	if (cfg.ready)
		return;
	real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	real_writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real_pwritev = (ssize_t (*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	real_renameat = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
	real_renameat2 = (int (*)(int, const char *, int, const char *, unsigned))dlsym(RTLD_NEXT, "renameat2");
	real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
	real_ftruncate64 = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate64");
	cfg.patterns = getenv("FAULTFS_PATH");
	cfg.ops = parse_ops(getenv("FAULTFS_OPS"));
	cfg.err = parse_errno(getenv("FAULTFS_ERRNO"));
	cfg.after = getenv("FAULTFS_AFTER") ? atol(getenv("FAULTFS_AFTER")) : 0;
	cfg.times = getenv("FAULTFS_TIMES") ? atol(getenv("FAULTFS_TIMES")) : 0;
	cfg.short_write = getenv("FAULTFS_SHORT") && !strcmp(getenv("FAULTFS_SHORT"), "1");
	cfg.log = getenv("FAULTFS_LOG");
	cfg.active = cfg.patterns && *cfg.patterns && exe_matches(getenv("FAULTFS_EXE"));
	cfg.ready = 1;
}

__attribute__((constructor)) static void faultfs_init(void)
{
	setup();
}

static int path_matches(const char *path)
{
	char pat[FAULTFS_PATH_MAX];
	const char *s = cfg.patterns, *e;
	size_t n;

	while (*s) {
		e = strchr(s, ':');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n > 0 && n < sizeof(pat)) {
			memcpy(pat, s, n);
			pat[n] = '\0';
			if (fnmatch(pat, path, 0) == 0)
				return 1;
		}
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

static int fd_path(int fd, char *buf, size_t n)
{
	char link[64];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, buf, n - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	return 0;
}

/* 'path' made absolute against 'dirfd' (AT_FDCWD: the current folder). */
static void abs_path(int dirfd, const char *path, char *buf, size_t n)
{
	char dir[FAULTFS_PATH_MAX];

	if (path[0] == '/') {
		snprintf(buf, n, "%s", path);
		return;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(dir, sizeof(dir)))
			dir[0] = '\0';
	} else if (fd_path(dirfd, dir, sizeof(dir)) < 0) {
		dir[0] = '\0';
	}
	snprintf(buf, n, "%s/%s", dir, path);
}

static void log_call(long n, const char *op, const char *path, int failing)
{
	char line[FAULTFS_PATH_MAX + 128];
	int fd, len;

	if (!cfg.log)
		return;
	len = snprintf(line, sizeof(line), "%d %ld %s %s %s\n", (int)getpid(), n,
		       op, path, !failing ? "ok" : cfg.err == EIO ? "EIO" :
		       cfg.err == ENOSPC ? "ENOSPC" : "ERR");
	fd = open(cfg.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (len > (int)sizeof(line))
		len = (int)sizeof(line);
	real_write(fd, line, (size_t)len);
	close(fd);
}

/* Decide for one call on 'path': 1 to fail it. */
static int decide(enum op op, const char *name, const char *path)
{
	long n;
	int failing;

	if (!cfg.active || !(cfg.ops & op) || !path_matches(path))
		return 0;
	n = __atomic_add_fetch(&cfg.seen, 1, __ATOMIC_SEQ_CST);
	failing = n > cfg.after &&
		  (cfg.times <= 0 || __atomic_add_fetch(&cfg.failed, 1, __ATOMIC_SEQ_CST) <= cfg.times);
	log_call(n, name, path, failing);
	return failing;
}

static int decide_fd(enum op op, const char *name, int fd)
{
	char path[FAULTFS_PATH_MAX];

	if (!cfg.active || !(cfg.ops & op) || fd_path(fd, path, sizeof(path)) < 0)
		return 0;
	return decide(op, name, path);
}

static int decide_rename(const char *name, int olddir, const char *oldp,
			 int newdir, const char *newp)
{
	char a[FAULTFS_PATH_MAX], b[FAULTFS_PATH_MAX];

	if (!cfg.active || !(cfg.ops & OP_RENAME))
		return 0;
	abs_path(olddir, oldp, a, sizeof(a));
	abs_path(newdir, newp, b, sizeof(b));
	if (!path_matches(a) && !path_matches(b))
		return 0;
	return decide(OP_RENAME, name, path_matches(b) ? b : a);
}

/* A failing write: maybe half of it first (FAULTFS_SHORT), else -1. */
static int short_first(size_t n)
{
	if (!cfg.short_write || cfg.short_done || n < 2)
		return 0;
	cfg.short_done = 1;
	return 1;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	setup();
	if (decide_fd(OP_WRITE, "write", fd)) {
		if (short_first(n))
			return real_write(fd, buf, n / 2);
		errno = cfg.err;
		return -1;
	}
	return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	setup();
	if (decide_fd(OP_WRITE, "pwrite", fd)) {
		if (short_first(n))
			return real_pwrite(fd, buf, n / 2, off);
		errno = cfg.err;
		return -1;
	}
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	setup();
	if (decide_fd(OP_WRITE, "pwrite64", fd)) {
		if (short_first(n))
			return real_pwrite64(fd, buf, n / 2, off);
		errno = cfg.err;
		return -1;
	}
	return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	setup();
	if (decide_fd(OP_WRITE, "writev", fd)) {
		errno = cfg.err;
		return -1;
	}
	return real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	setup();
	if (decide_fd(OP_WRITE, "pwritev", fd)) {
		errno = cfg.err;
		return -1;
	}
	return real_pwritev(fd, iov, cnt, off);
}

int fsync(int fd)
{
	setup();
	if (decide_fd(OP_FSYNC, "fsync", fd)) {
		errno = cfg.err;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	setup();
	if (decide_fd(OP_FSYNC, "fdatasync", fd)) {
		errno = cfg.err;
		return -1;
	}
	return real_fdatasync(fd);
}

int ftruncate(int fd, off_t len)
{
	setup();
	if (decide_fd(OP_TRUNCATE, "ftruncate", fd)) {
		errno = cfg.err;
		return -1;
	}
	return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
	setup();
	if (decide_fd(OP_TRUNCATE, "ftruncate64", fd)) {
		errno = cfg.err;
		return -1;
	}
	return real_ftruncate64(fd, len);
}

int rename(const char *oldp, const char *newp)
{
	setup();
	if (decide_rename("rename", AT_FDCWD, oldp, AT_FDCWD, newp)) {
		errno = cfg.err;
		return -1;
	}
	return real_rename(oldp, newp);
}

int renameat(int olddir, const char *oldp, int newdir, const char *newp)
{
	setup();
	if (decide_rename("renameat", olddir, oldp, newdir, newp)) {
		errno = cfg.err;
		return -1;
	}
	return real_renameat(olddir, oldp, newdir, newp);
}

int renameat2(int olddir, const char *oldp, int newdir, const char *newp,
	      unsigned flags)
{
	setup();
	if (decide_rename("renameat2", olddir, oldp, newdir, newp)) {
		errno = cfg.err;
		return -1;
	}
	return real_renameat2(olddir, oldp, newdir, newp, flags);
}
