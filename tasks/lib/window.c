/* window: see window.h. */
#include "window.h"
#include "npy.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void window_split(size_t rows, const double frac[3], size_t part[3])
{
	part[0] = (size_t)((double)rows * frac[0]);
	part[1] = (size_t)((double)rows * frac[1]);
	if (part[0] > rows)
		part[0] = rows;
	if (part[0] + part[1] > rows)   /* fractions a hair over 1 */
		part[1] = rows - part[0];
	part[2] = rows - part[0] - part[1];
}

size_t window_count(size_t rows, size_t in_len, size_t out_len)
{
	return rows >= in_len + out_len ? rows - in_len - out_len + 1 : 0;
}

size_t window_sample(size_t n, size_t k, size_t *idx)
{
	if (k == 0 || k > n)
		k = n;
	for (size_t j = 0; j < k; j++)
		idx[j] = j * n / k;
	return k;
}

/* A buffer of 'count' elements of 'size' bytes; never NULL, even empty. */
static void *buffer(size_t count, size_t size)
{
	return xmalloc(count ? count * size : 1);
}

void window_cut(struct window_set *w, const double *feat, size_t n_feat,
		const double *target, const int64_t *time, size_t r0,
		const size_t *start, size_t n, size_t in_len, size_t out_len)
{
	*w = (struct window_set){n, in_len, out_len, n_feat, NULL, NULL, NULL};
	w->x = buffer(n * in_len * n_feat, sizeof(float));
	w->y = buffer(n * out_len, sizeof(float));
	w->t = buffer(n, sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		size_t s = r0 + start[i];
		const double *src = feat + s * n_feat;
		float *x = w->x + i * in_len * n_feat, *y = w->y + i * out_len;
		for (size_t k = 0; k < in_len * n_feat; k++)
			x[k] = (float)src[k];
		for (size_t k = 0; k < out_len; k++)
			y[k] = (float)target[s + in_len + k];
		w->t[i] = time[s + in_len];
	}
}

void window_release(struct window_set *w)
{
	free(w->x);
	free(w->y);
	free(w->t);
	memset(w, 0, sizeof(*w));
}

int window_write(const struct window_set *w, const char *dir,
		 const char *part, struct err *err)
{
	size_t sx[3] = {w->n, w->in_len, w->n_feat}, sy[2] = {w->n, w->out_len};
	char *px = xasprintf("%s/X_%s.npy", dir, part);
	char *py = xasprintf("%s/Y_%s.npy", dir, part);
	char *pt = xasprintf("%s/T_%s.npy", dir, part);
	int rc = npy_write(px, NPY_F4, 3, sx, w->x, err);

	if (rc == 0)
		rc = npy_write(py, NPY_F4, 2, sy, w->y, err);
	if (rc == 0)
		rc = npy_write(pt, NPY_I8, 1, &w->n, w->t, err);
	free(px);
	free(py);
	free(pt);
	return rc;
}
