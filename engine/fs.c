/* fs: see fs.h. */
#include "fs.h"
#include "strbuf.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdirs(const char *path, struct err *err)
{
	char *p, *s;
	int rc = 0;

	/* the common case, a parent that exists, costs one call */
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			err_set(err, ERR_IO, "cannot create folder '%s': %s", p,
				strerror(errno));
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

int fs_remove_tree(const char *path, struct err *err)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (err_set(err, ERR_IO,
			"cannot stat '%s': %s", path, strerror(errno)), -1);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT) {
			err_set(err, ERR_IO, "cannot remove '%s': %s", path,
				strerror(errno));
			return -1;
		}
		return 0;
	}
	if ((st.st_mode & 0700) != 0700)
		chmod(path, st.st_mode | 0700);
	d = opendir(path);
	if (!d) {
		err_set(err, ERR_IO, "cannot open folder '%s': %s", path,
			strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *sub = fs_join(path, de->d_name);
		rc = fs_remove_tree(sub, err);
		free(sub);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) < 0 && errno != ENOENT) {
		err_set(err, ERR_IO, "cannot remove folder '%s': %s", path,
			strerror(errno));
		rc = -1;
	}
	return rc;
}

int fs_read_file(const char *path, char **out, size_t *len, struct err *err)
{
	struct strbuf sb;
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	sb_init(&sb);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, ERR_IO, "cannot read '%s': %s", path,
				strerror(errno));
			sb_release(&sb);
			close(fd);
			return -1;
		}
		sb_add(&sb, buf, (size_t)n);
	}
	close(fd);
	if (len)
		*len = sb.len;
	*out = sb_detach(&sb);
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t n,
		    struct err *err)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int rc = fs_write_rename(tmp, path, data, n, err);

	free(tmp);
	return rc;
}

/* Write all 'n' bytes of 'data' to 'fd'; 0, or -1 with errno set. */
static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fs_write_rename(const char *tmp, const char *path, const void *data,
		    size_t n, struct err *err)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		err_set(err, ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		err_set(err, ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		err_set(err, ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int fs_sync_dir(const char *path, struct err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		err_set(err, ERR_IO, "cannot sync folder '%s': %s", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *fs_join(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n == 0 || b[0] == '/')
		return xstrdup(b);
	if (a[n - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

char *fs_absolute(const char *path)
{
	struct strbuf sb;
	char cwd[4096];
	const char *s, *e;

	sb_init(&sb);
	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			strcpy(cwd, "/");
		sb_adds(&sb, cwd);
	}
	/* walk components, folding "." and ".." */
	for (s = path; *s; s = e) {
		while (*s == '/')
			s++;
		for (e = s; *e && *e != '/'; e++)
			;
		if (e == s || (e - s == 1 && s[0] == '.'))
			continue;
		if (e - s == 2 && s[0] == '.' && s[1] == '.') {
			char *slash = strrchr(sb.buf, '/');
			sb.len = slash ? (size_t)(slash - sb.buf) : 0;
			sb.buf[sb.len] = '\0';
			continue;
		}
		sb_addc(&sb, '/');
		sb_add(&sb, s, (size_t)(e - s));
	}
	if (sb.len == 0)
		sb_addc(&sb, '/');
	return sb_detach(&sb);
}

int fs_copy_tree(const char *from, const char *to, struct err *err)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		err_set(err, ERR_IO, "cannot read '%s': %s", from, strerror(errno));
		return -1;
	}
	if (fs_mkdirs(to, err) < 0) {
		closedir(d);
		return -1;
	}
	while (rc == 0 && (de = readdir(d))) {
		char *src, *dst, *buf;
		struct stat sb;
		size_t n;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		src = fs_join(from, de->d_name);
		dst = fs_join(to, de->d_name);
		if (stat(src, &sb) == 0 && S_ISDIR(sb.st_mode))
			rc = fs_copy_tree(src, dst, err);
		else if ((rc = fs_read_file(src, &buf, &n, err)) == 0) {
			int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 || write_all(fd, buf, n) < 0) {
				err_set(err, ERR_IO, "cannot write '%s': %s", dst,
					strerror(errno));
				rc = -1;
			}
			if (fd >= 0 && close(fd) < 0 && rc == 0) {
				err_set(err, ERR_IO, "cannot write '%s': %s", dst,
					strerror(errno));
				rc = -1;
			}
			free(buf);
		}
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}
