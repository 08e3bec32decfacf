/* tmpdir: a scratch folder per test binary, and small file helpers. */
#ifndef DAGRUN_TEST_TMPDIR_H
#define DAGRUN_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static char tmp_root[256];

/* A fresh folder under /tmp, removed by tmp_cleanup(). */
__attribute__((unused)) static const char *tmp_dir(void)
{
	if (!tmp_root[0]) {
		strcpy(tmp_root, "/tmp/dagrun-test-XXXXXX");
		if (!mkdtemp(tmp_root))
			abort();
	}
	return tmp_root;
}

/* Write 'text' to tmp_dir()/name and return the full path (static). */
__attribute__((unused)) static const char *tmp_write(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir(), name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

__attribute__((unused)) static void tmp_cleanup(void)
{
	char cmd[300];

	if (tmp_root[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_root);
	}
}

/* Write 'text' to dir/rel; aborts the test binary if it cannot. */
__attribute__((unused)) static void put_file(const char *dir, const char *rel,
					     const char *text)
{
	char *path = fs_join(dir, rel);
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		abort();
	}
	fputs(text, f);
	fclose(f);
	free(path);
}

#endif
