/* csv_bench: read a (timestamp, value) CSV the way data.load does (load,
 * sniff, parse the time column and the number column) and print the wall
 * and CPU seconds it took.  Usage: csv_bench FILE [TIMESTAMP_COL VALUE_COL] */
#include "csv.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Parse one file; returns 0 and the checksum, or -1 with 'err' set. */
static int load(const char *path, const char *ts, const char *val,
		double *sum, struct err *err)
{
	struct csv_table *t = csv_load(path, ',', err);
	long ct, cv;
	double *tv, *vv;
	int rc = -1;

	if (!t)
		return -1;
	ct = csv_find(t, ts);
	cv = csv_find(t, val);
	tv = xmalloc(csv_rows(t) * sizeof(double) + 1);
	vv = xmalloc(csv_rows(t) * sizeof(double) + 1);
	if (ct < 0 || cv < 0)
		err_set(err, ERR_USER, "%s: no column '%s' or '%s'", path, ts, val);
	else if (csv_sniff(t, (size_t)cv) == CSV_NUMBER &&
		 csv_times(t, (size_t)ct, tv, err) == 0 &&
		 csv_numbers(t, (size_t)cv, vv, err) == 0)
		rc = 0;
	*sum = 0;
	for (size_t i = 0; rc == 0 && i < csv_rows(t); i++)
		*sum += tv[i] * 1e-9 + vv[i];   /* keeps the work observable */
	free(tv);
	free(vv);
	csv_free(t);
	return rc;
}

int main(int argc, char **argv)
{
	struct err err;
	double t0, c0, sum;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: csv_bench FILE [TIMESTAMP_COL VALUE_COL]\n");
		return 2;
	}
	err_init(&err);
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	if (load(argv[1], argc == 4 ? argv[2] : "timestamp",
		 argc == 4 ? argv[3] : "value", &sum, &err)) {
		fprintf(stderr, "csv_bench: %s\n", err.msg);
		return 2;
	}
	printf("%.6f %.6f\n", now(CLOCK_MONOTONIC) - t0,
	       now(CLOCK_PROCESS_CPUTIME_ID) - c0);
	fprintf(stderr, "checksum %.6f\n", sum);
	return 0;
}
