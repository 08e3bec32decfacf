/* metrics: regression metrics for reports and model selection.
 *
 * Each reads the true values 'y' and predictions 'p' as 'rows' x 'cols'
 * floats (C order; cols is the forecast horizon) and sums in double, in
 * index order.  They agree with scikit-learn's mean_squared_error,
 * mean_absolute_error and r2_score (multioutput='uniform_average': the r2
 * of each column, averaged).  Empty input gives NAN. */
#ifndef DAGRUN_METRICS_H
#define DAGRUN_METRICS_H

#include <stddef.h>

double metric_mse(const float *y, const float *p, size_t rows, size_t cols);
double metric_rmse(const float *y, const float *p, size_t rows, size_t cols);
double metric_mae(const float *y, const float *p, size_t rows, size_t cols);
/* A column whose true values are all equal scores 1 if predicted exactly,
 * else 0 (scikit-learn's force_finite). */
double metric_r2(const float *y, const float *p, size_t rows, size_t cols);

#endif
