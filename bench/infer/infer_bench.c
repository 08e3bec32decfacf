/* infer_bench: dagrun's batch inference, timed inside one process.
 *
 *   infer_bench MODEL_DIR CSV OUT_DIR THREADS REPS
 *
 * Loads a train.gru / train.lstm model folder, reads CSV as `dagrun
 * predict` does, cuts every window (forecaster_windows) and writes them to
 * OUT_DIR/windows.npy, the network's scaled outputs to OUT_DIR/pred.npy
 * (PyTorch's side runs the same windows and compares), and prints one
 * JSON line of best-of-REPS wall times in seconds:
 *   batch_s    rnn_predict() of all windows in one call on THREADS threads
 *              (the forward pass alone); batch_cpu_s, its CPU time (of
 *              every thread), the steadier figure on a shared machine;
 *   single_s   one rnn_predict() call per window, every window, 1 thread
 *              (best of 2);
 *   predict_s  forecaster_predict(): features, scaling, windows, forward,
 *              unscaling, on THREADS threads;
 *   fma_peak   GFLOP/s of one core's fused multiply-adds, measured here
 *              in CPU time (independent chains of the widest FMA the CPU
 *              has): the compute bound. */
#include "forecaster.h"
#include "fs.h"
#include "npy.h"
#include "rnn.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* 16 chains: enough independent FMAs to fill two pipes of latency 4 */
#define CHAINS 16
/* 20,000,000 steps of 16 chains: about a second at 10 GFLOP/s a lane */
#define PEAK_STEPS 20000000L

static double clock_of(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Wall time, and the process's CPU time: on a machine shared with other
 * work the CPU time of one thread is the steadier figure. */
static double now(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

static double cpu(void)
{
	return clock_of(CLOCK_PROCESS_CPUTIME_ID);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f")))
static double peak_avx512(void)
{
	__m512 acc[CHAINS], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
	float out[16], sum = 0;
	double t;

	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm512_set1_ps((float)i);
	t = cpu();
	for (long s = 0; s < PEAK_STEPS; s++) {
#pragma GCC unroll 16
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm512_fmadd_ps(acc[i], m, c);
	}
	t = cpu() - t;
	for (int i = 1; i < CHAINS; i++)
		acc[0] = _mm512_add_ps(acc[0], acc[i]);
	_mm512_storeu_ps(out, acc[0]);
	for (int i = 0; i < 16; i++)
		sum += out[i];
	return sum != 0 ? 2.0 * 16 * CHAINS * (double)PEAK_STEPS / t / 1e9 : 0;
}

__attribute__((target("avx2,fma")))
static double peak_avx2(void)
{
	__m256 acc[CHAINS], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
	float out[8], sum = 0;
	double t;

	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm256_set1_ps((float)i);
	t = cpu();
	for (long s = 0; s < PEAK_STEPS; s++) {
#pragma GCC unroll 16
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm256_fmadd_ps(acc[i], m, c);
	}
	t = cpu() - t;
	for (int i = 1; i < CHAINS; i++)
		acc[0] = _mm256_add_ps(acc[0], acc[i]);
	_mm256_storeu_ps(out, acc[0]);
	for (int i = 0; i < 8; i++)
		sum += out[i];
	return sum != 0 ? 2.0 * 8 * CHAINS * (double)PEAK_STEPS / t / 1e9 : 0;
}
#endif

/* The best of five runs of the widest FMA kernel, in CPU time; 0 when
 * unknown. */
static double fma_peak(void)
{
	double best = 0;

#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	for (int r = 0; r < 5; r++) {
		double g = __builtin_cpu_supports("avx512f") ? peak_avx512() :
			   __builtin_cpu_supports("fma") ? peak_avx2() : 0;
		best = g > best ? g : best;
	}
#endif
	return best;
}

static void die(const struct err *err)
{
	fprintf(stderr, "infer_bench: %s\n", err->msg);
	exit(1);
}

/* Best of 'reps' rnn_predict() calls of 'n' windows at once: wall time,
 * and CPU time in '*cpu_s' (all threads'). */
static double time_batch(struct rnn *m, const float *x, size_t n, int threads,
			 int reps, float *y, double *cpu_s)
{
	struct rnn_work *w = rnn_work_new_predict(m, 64 * threads, threads);
	double best = 1e30;

	*cpu_s = 1e30;
	for (int r = 0; r <= reps; r++) {   /* run 0 warms up */
		double t = now(), c = cpu();
		rnn_predict(m, w, x, n, y);
		t = now() - t;
		c = cpu() - c;
		best = r > 0 && t < best ? t : best;
		*cpu_s = r > 0 && c < *cpu_s ? c : *cpu_s;
	}
	rnn_work_free(w);
	return best;
}

/* Best of 2 loops of one rnn_predict() call per window. */
static double time_single(struct rnn *m, const float *x, size_t n, float *y)
{
	const struct rnn_config *c = rnn_config(m);
	size_t row = (size_t)c->seq_len * (size_t)c->input_size;
	struct rnn_work *w = rnn_work_new_predict(m, 1, 1);
	double best = 1e30;

	for (int r = 0; r < 2; r++) {
		double t = now();
		for (size_t i = 0; i < n; i++)
			rnn_predict(m, w, x + i * row, 1, y + i * (size_t)c->output_size);
		t = now() - t;
		best = t < best ? t : best;
	}
	rnn_work_free(w);
	return best;
}

/* Best of 'reps' forecaster_predict() calls. */
static double time_predict(struct forecaster *f, const struct forecaster_table *tb,
			   int reps)
{
	struct forecaster_result r;
	struct err err;
	double best = 1e30;

	err_init(&err);
	for (int i = 0; i <= reps; i++) {
		double t = now();
		if (forecaster_predict(f, tb, &r, &err))
			die(&err);
		t = now() - t;
		best = i > 0 && t < best ? t : best;
		forecaster_result_release(&r);
	}
	return best;
}

int main(int argc, char **argv)
{
	struct forecaster_table tb;
	struct forecaster *f;
	const struct rnn_config *c;
	struct rnn *m;
	struct err err;
	size_t n, shape[3];
	float *x, *y;
	char *path;
	int threads, reps;
	double batch, batch_cpu, single, predict;

	if (argc != 6) {
		fprintf(stderr, "usage: infer_bench MODEL_DIR CSV OUT_DIR THREADS REPS\n");
		return 2;
	}
	threads = atoi(argv[4]);
	reps = atoi(argv[5]);
	err_init(&err);
	f = forecaster_load(argv[1], &err);
	if (!f || forecaster_read_csv(f, argv[2], NULL, &tb, &err))
		die(&err);
	forecaster_set_threads(f, threads);
	x = forecaster_windows(f, &tb, &n, &err);
	path = fs_join(argv[1], "model.safetensors");
	m = x ? rnn_load(path, NULL, &err) : NULL;
	if (!m)
		die(&err);
	c = rnn_config(m);
	y = xmalloc(n * (size_t)c->output_size * sizeof(float));
	batch = time_batch(m, x, n, threads, reps, y, &batch_cpu);
	shape[0] = n;
	shape[1] = (size_t)c->output_size;
	free(path);
	path = fs_join(argv[3], "pred.npy");
	if (npy_write(path, NPY_F4, 2, shape, y, &err))
		die(&err);
	shape[1] = (size_t)c->seq_len;
	shape[2] = (size_t)c->input_size;
	free(path);
	path = fs_join(argv[3], "windows.npy");
	if (npy_write(path, NPY_F4, 3, shape, x, &err))
		die(&err);
	single = time_single(m, x, n, y);
	predict = time_predict(f, &tb, reps);
	printf("{\"side\": \"dagrun\", \"cell\": \"%s\", \"layers\": %d, \"hidden\": %d, "
	       "\"features\": %d, \"seq_len\": %d, \"outputs\": %d, \"windows\": %zu, "
	       "\"threads\": %d, \"batch_s\": %.6f, \"batch_cpu_s\": %.6f, "
	       "\"single_s\": %.6f, \"predict_s\": %.6f, \"fma_peak\": %.1f}\n",
	       forecaster_kind_name(f), c->num_layers, c->hidden_size, c->input_size,
	       c->seq_len, c->output_size, n, threads, batch, batch_cpu, single,
	       predict, fma_peak());
	free(path);
	free(x);
	free(y);
	rnn_free(m);
	forecaster_table_release(&tb);
	forecaster_free(f);
	return 0;
}
