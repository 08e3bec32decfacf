/* metrics: see metrics.h. */
#include "metrics.h"

#include <math.h>

double metric_mse(const float *y, const float *p, size_t rows, size_t cols)
{
	size_t n = rows * cols;
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += ((double)y[i] - p[i]) * ((double)y[i] - p[i]);
	return n ? s / (double)n : NAN;
}

double metric_rmse(const float *y, const float *p, size_t rows, size_t cols)
{
	return sqrt(metric_mse(y, p, rows, cols));
}

double metric_mae(const float *y, const float *p, size_t rows, size_t cols)
{
	size_t n = rows * cols;
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += fabs((double)y[i] - p[i]);
	return n ? s / (double)n : NAN;
}

/* r2 of column 'c'. */
static double column_r2(const float *y, const float *p, size_t rows,
			size_t cols, size_t c)
{
	double mean = 0, res = 0, tot = 0;

	for (size_t i = 0; i < rows; i++)
		mean += y[i * cols + c];
	mean /= (double)rows;
	for (size_t i = 0; i < rows; i++) {
		double yi = y[i * cols + c], d = yi - p[i * cols + c];
		res += d * d;
		tot += (yi - mean) * (yi - mean);
	}
	if (tot == 0)
		return res == 0 ? 1.0 : 0.0;
	return 1.0 - res / tot;
}

double metric_r2(const float *y, const float *p, size_t rows, size_t cols)
{
	double s = 0;

	if (!rows || !cols)
		return NAN;
	for (size_t c = 0; c < cols; c++)
		s += column_r2(y, p, rows, cols, c);
	return s / (double)cols;
}
