/* peak: OpenBLAS sgemm throughput on this machine, now: the ceiling that
 * bench/train compares the training kernels' GFLOP/s against.
 *   peak THREADS N  -> "GFLOP/s" of C = A B^T, N x N x N, best of 5 runs
 *   peak core       -> the kernel OpenBLAS picked, e.g. "Haswell" */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1, n = argc > 2 ? atoi(argv[2]) : 1024;
	size_t nn = (size_t)n * (size_t)n;
	float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float));
	float *c = calloc(nn, sizeof(float));
	double best = 0;

	if (argc > 1 && !strcmp(argv[1], "core")) {
		printf("%s\n", openblas_get_corename());
		return 0;
	}
	if (!a || !b || !c)
		return 1;
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)(i % 7) * 1e-3f;
		b[i] = (float)(i % 5) * 1e-3f;
	}
	openblas_set_num_threads(threads);
	for (int r = 0; r < 6; r++) {
		double t = now(), g;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n,
			    b, n, 0, c, n);
		g = 2.0 * n * (double)nn / (now() - t) / 1e9;
		best = r > 0 && g > best ? g : best;   /* run 0 warms up */
	}
	printf("%.1f\n", best);
	free(a);
	free(b);
	free(c);
	return 0;
}
