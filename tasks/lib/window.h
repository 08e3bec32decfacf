/* window: a table of rows cut into sequence samples for forecasting.
 *
 * A window that starts at row s holds the inputs of rows s .. s + L - 1
 * (every feature; L = in_len) and the targets of rows s + L .. s + L + H - 1
 * (H = out_len); its time is that of row s + L, its first target step.
 * Windows are cut with stride 1 from a range of rows and never leave it:
 * a range of 'rows' rows holds window_count() windows, which start at its
 * rows 0 .. count - 1.
 *
 * Values are stored as float32 (numpy's '<f4'), times as int64 seconds.
 * Pure functions but for window_write(); thread-safe on distinct sets. */
#ifndef DAGRUN_WINDOW_H
#define DAGRUN_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Split 'rows' rows, in order, into parts of fractions 'frac[0..3)' (>= 0,
 * summing to 1): part[0] = floor(rows frac[0]), part[1] = floor(rows
 * frac[1]), part[2] the rest, so the parts always add up to 'rows'. */
void window_split(size_t rows, const double frac[3], size_t part[3]);

/* The windows of 'in_len' + 'out_len' rows in 'rows' rows (0 if fewer). */
size_t window_count(size_t rows, size_t in_len, size_t out_len);

/* Pick 'k' of 'n' indices, evenly spaced and deterministic: idx[j] =
 * floor(j * n / k) for j < k, so idx[0] = 0; all n of them in order when
 * k == 0 or k >= n.  'idx' holds 'n' entries.  Returns how many it wrote.
 * (j * n must fit in size_t: n below 2^32 on 64-bit hosts.) */
size_t window_sample(size_t n, size_t k, size_t *idx);

/* A set of 'n' windows: x [n, in_len, n_feat], y [n, out_len], t [n]. */
struct window_set {
	size_t n, in_len, out_len, n_feat;
	float *x, *y;
	int64_t *t;
};

/* Cut the windows that start at rows 'r0 + start[i]' (i < n) of the
 * table: 'feat' holds rows x 'n_feat' values, row-major; 'target' and
 * 'time' one value per row.  Every window must lie inside the table.
 * 'w' is filled with fresh arrays; release it with window_release(). */
void window_cut(struct window_set *w, const double *feat, size_t n_feat,
		const double *target, const int64_t *time, size_t r0,
		const size_t *start, size_t n, size_t in_len, size_t out_len);
void window_release(struct window_set *w);

/* Write X_<part>.npy [n, in_len, n_feat] and Y_<part>.npy [n, out_len]
 * (float32) and T_<part>.npy [n] (int64) into 'dir'.  Returns 0, or -1
 * with 'err' set (ERR_IO); a file it could not finish is removed. */
int window_write(const struct window_set *w, const char *dir,
		 const char *part, struct err *err);

#endif
