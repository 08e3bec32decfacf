/* registry: the compile-time table of native kernels, sorted by name.
 * The one global of the kernel world, and it is const.  A new kernel is
 * one line here plus its file under tasks/<family>/. */
#include "kernel.h"

#include <stddef.h>
#include <string.h>

extern const struct kernel kernel_baseline_mean;
extern const struct kernel kernel_baseline_persistence;
extern const struct kernel kernel_baseline_seasonal_naive;
extern const struct kernel kernel_data_load;
extern const struct kernel kernel_data_preprocess;
extern const struct kernel kernel_drift_report;
extern const struct kernel kernel_eval_backtest;
extern const struct kernel kernel_eval_promote;
extern const struct kernel kernel_infer_batch;
extern const struct kernel kernel_rps_features;
extern const struct kernel kernel_rps_play;
extern const struct kernel kernel_rps_simulate;
extern const struct kernel kernel_train_encoder_lstm;
extern const struct kernel kernel_train_gru;
extern const struct kernel kernel_train_holt_winters;
extern const struct kernel kernel_train_lstm;
extern const struct kernel kernel_train_mlp;
extern const struct kernel kernel_train_prophet;
extern const struct kernel kernel_train_softmax;
extern const struct kernel kernel_train_tcn;
extern const struct kernel kernel_train_xgboost;

static const struct kernel *const kernels[] = {
	&kernel_baseline_mean,
	&kernel_baseline_persistence,
	&kernel_baseline_seasonal_naive,
	&kernel_data_load,
	&kernel_data_preprocess,
	&kernel_drift_report,
	&kernel_eval_backtest,
	&kernel_eval_promote,
	&kernel_infer_batch,
	&kernel_rps_features,
	&kernel_rps_play,
	&kernel_rps_simulate,
	&kernel_train_encoder_lstm,
	&kernel_train_gru,
	&kernel_train_holt_winters,
	&kernel_train_lstm,
	&kernel_train_mlp,
	&kernel_train_prophet,
	&kernel_train_softmax,
	&kernel_train_tcn,
	&kernel_train_xgboost,
	NULL   /* the end; keeps the table non-empty */
};

static int count(void)
{
	return (int)(sizeof(kernels) / sizeof(kernels[0])) - 1;
}

const struct kernel *kernel_find(const char *name)
{
	int i;

	for (i = 0; i < count(); i++)
		if (!strcmp(kernels[i]->name, name))
			return kernels[i];
	return NULL;
}

const struct kernel *const *kernel_list(int *n)
{
	*n = count();
	return kernels;
}
