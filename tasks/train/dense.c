/* dense: the trainer shared by train.mlp and train.softmax.
 *
 * Input: the needed node 'data' (default: the first need), a data.load
 * output; tasks/lib/tabular.h turns it into features, label, split and
 * scaling.
 *
 * Network (tasks/lib/mlp.h): train.mlp stacks 'hidden' layers of
 * 'activation' with 'dropout' under an output layer of one logit per
 * class (objective classify: softmax cross-entropy) or one value
 * (regress: MSE on the scaled target).  train.softmax is the output layer
 * alone (multinomial logistic regression), trained on the cross-entropy
 * plus 0.5 * l2 * sum(W^2) over its weights (not its biases).
 *
 * Loop: per epoch, the training rows in batches (shuffled by the seed
 * unless shuffle: false), loss, backward, one optimizer step per batch;
 * then the validation loss (the data loss alone, without the penalty).
 * train_loss is the mean of the batch losses (penalty included), weighted
 * by batch size.  The weights of the epoch with the lowest validation
 * loss are the model (the training loss when there is no validation
 * part); 'patience' epochs without a better one stop the run early.
 * Cancellation is checked every epoch.
 *
 * Output (kctx_out_dir): model.safetensors (mlp.h's format; metadata:
 * kind, objective, label, features, classes, scaler, target_scaler, rows,
 * l2), metrics.json, predictions.csv (the test rows); with save_init,
 * init.safetensors, the weights before the first step.  Every output is a
 * function of the inputs, params and thread count: timings go to the log
 * and the metric sink only.
 *
 * Determinism: separate generators, each seeded from 'seed', for the
 * weights, the shuffling and dropout (and tabular.h's for a shuffled
 * split), so turning shuffling off does not change the initial weights. */
#include "dense.h"
#include "blas.h"
#include "confusion.h"
#include "fit.h"
#include "fs.h"
#include "loss.h"
#include "metrics.h"
#include "mlp.h"
#include "optim.h"
#include "tabular.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets of the generators' seeds from 'seed' (arbitrary, fixed:
 * changing them changes every trained model) */
#define SEED_SHUFFLE 0x5348554646ULL
#define SEED_DROPOUT 0x44524f50ULL

static const char *const kind_names[] = {
	[DENSE_MLP] = "mlp", [DENSE_SOFTMAX] = "softmax"
};

struct params {
	int batch, epochs, patience, threads, shuffle, save_init;
	double lr, weight_decay, l2;
	enum optim_kind optimizer;
	uint64_t seed;
	struct mlp_config net;       /* hidden layers, activation, dropout */
	struct tabular_spec spec;
};

struct trainer {
	struct kctx *ctx;
	struct err err;
	enum dense_kind kind;
	struct params p;
	const char *need;
	struct tabular d;
	int outputs;                 /* classes, or 1 */
	struct mlp *m;
	struct mlp_work *w;
	struct optim opt;
	struct rng shuffle_rng, drop_rng;
	float *xb, *yb, *out, *dy;   /* a batch: rows, targets, outputs,
					dLoss/doutputs */
	int *cb;                     /* a batch's classes */
	size_t *order;               /* training rows, in this epoch's order */
	struct fit fit;              /* the epoch loop and its result */
};

static int classify(const struct trainer *R)
{
	return R->d.objective == TABULAR_CLASSIFY;
}

static json_t *objective_json(const struct trainer *R)
{
	return json_string(classify(R) ? "classify" : "regress");
}

/* --- params */

/* 'hidden': at most MLP_MAX_HIDDEN widths (absent for train.softmax). */
static int parse_hidden(struct trainer *R)
{
	json_t *list = json_object_get(kctx_params(R->ctx), "hidden"), *v;
	struct mlp_config *net = &R->p.net;
	int ok = json_array_size(list) <= MLP_MAX_HIDDEN;
	size_t i;
	char *text;

	json_array_foreach(list, i, v) {
		ok = ok && json_is_integer(v) && json_integer_value(v) >= 1 &&
		     json_integer_value(v) <= MLP_MAX_WIDTH;
		if (ok)
			net->hidden[i] = (int)json_integer_value(v);
	}
	net->n_hidden = ok ? (int)json_array_size(list) : 0;
	if (ok)
		return 0;
	text = json_dumps(list, JSON_COMPACT);
	err_set(&R->err, ERR_USER, "param 'hidden' must be a list of at most %d "
		"widths from 1 to %d, found %s", MLP_MAX_HIDDEN, MLP_MAX_WIDTH, text);
	free(text);
	return -1;
}

static int parse_params(struct trainer *R)
{
	struct kctx *c = R->ctx;
	struct params *p = &R->p;
	const char *objective = R->kind == DENSE_MLP ? kctx_str(c, "objective") : NULL;

	p->batch = (int)kctx_int(c, "batch_size");
	p->epochs = (int)kctx_int(c, "epochs");
	p->patience = (int)kctx_int(c, "patience");
	p->threads = (int)kctx_int(c, "threads");
	p->shuffle = kctx_bool(c, "shuffle");
	p->save_init = kctx_bool(c, "save_init");
	p->lr = kctx_num(c, "learning_rate");
	p->optimizer = !strcmp(kctx_str(c, "optimizer"), "sgd") ? OPTIM_SGD : OPTIM_ADAM;
	p->seed = (uint64_t)kctx_int(c, "seed");
	dense_read_spec(c, objective && !strcmp(objective, "regress") ?
			TABULAR_REGRESS : TABULAR_CLASSIFY, p->seed, &p->spec);
	if (R->kind == DENSE_SOFTMAX) {
		p->l2 = kctx_num(c, "l2");
		return 0;
	}
	p->weight_decay = kctx_num(c, "weight_decay");
	p->net.dropout = (float)kctx_num(c, "dropout");
	mlp_activation_parse(kctx_str(c, "activation"), &p->net.act);
	return parse_hidden(R);
}

/* --- inputs */

void dense_read_spec(struct kctx *c, enum tabular_objective objective,
		     uint64_t seed, struct tabular_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->label = kctx_str(c, "label");
	spec->features = json_object_get(kctx_params(c), "features");
	spec->objective = objective;
	spec->test_fraction = kctx_num(c, "test_fraction");
	spec->val_fraction = kctx_num(c, "val_fraction");
	spec->shuffle_split = kctx_bool(c, "shuffle_split");
	spec->seed = seed;
	spec->scaling = json_is_true(json_object_get(kctx_params(c), "standardize")) ?
			SCALER_STANDARD : SCALER_NONE;
	spec->group = kctx_str(c, "group");
	spec->folds = (int)kctx_int(c, "folds");
	spec->fold = (int)kctx_int(c, "fold");
}

int dense_load(struct kctx *c, const struct tabular_spec *spec, struct tabular *t,
	       const char **need, struct err *err)
{
	const char *data = kctx_str(c, "data"), *dir;

	memset(t, 0, sizeof(*t));
	*need = data ? data : kctx_n_inputs(c) > 0 ? kctx_input_name(c, 0) : NULL;
	dir = *need ? kctx_input(c, *need) : NULL;
	if (!dir && data)
		err_set(err, ERR_USER, "param 'data' names '%s', which this node "
			"does not need (expected one of its needs)", data);
	else if (!dir)
		err_set(err, ERR_USER, "no input (expected a need on a data.load "
			"node)");
	if (!dir)
		return -1;
	return tabular_build(dir, *need, spec, t, err);
}

static int load_inputs(struct trainer *R)
{
	return dense_load(R->ctx, &R->p.spec, &R->d, &R->need, &R->err);
}

/* --- model and training */

static void build(struct trainer *R)
{
	size_t B = (size_t)R->p.batch, n = R->d.count[TABULAR_TRAIN];
	struct rng init;

	R->outputs = classify(R) ? R->d.classes : 1;
	R->p.net.input_size = (int)R->d.features;
	R->p.net.output_size = R->outputs;
	blas_set_threads(R->p.threads > 0 ? R->p.threads : 1);
	R->m = mlp_new(&R->p.net);
	rng_seed(&init, R->p.seed);
	mlp_init(R->m, &init);
	rng_seed(&R->shuffle_rng, R->p.seed + SEED_SHUFFLE);
	rng_seed(&R->drop_rng, R->p.seed + SEED_DROPOUT);
	R->w = mlp_work_new(R->m, R->p.batch);
	optim_init(&R->opt, R->p.optimizer, mlp_params(R->m)->total, R->p.lr,
		   R->p.weight_decay);
	R->xb = tensor_alloc(B * R->d.features);
	R->yb = tensor_alloc(B);
	R->cb = xcalloc(B, sizeof(int));
	R->out = tensor_alloc(B * (size_t)R->outputs);
	R->dy = tensor_alloc(B * (size_t)R->outputs);
	R->order = xmalloc((n + 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		R->order[i] = i;
}

/* Copy the training rows order[i .. i+b) into the batch. */
static void gather(struct trainer *R, size_t i, size_t b)
{
	size_t F = R->d.features;

	for (size_t k = 0; k < b; k++) {
		size_t j = R->order[i + k];
		memcpy(R->xb + k * F, R->d.x + j * F, F * sizeof(float));
		if (classify(R))
			R->cb[k] = R->d.label[j];
		else
			R->yb[k] = R->d.target[j];
	}
}

/* The data loss of 'n' rows of outputs 'out' against targets 'y' or
 * classes 'cls'; its gradient into 'grad' unless NULL. */
static double data_loss(const struct trainer *R, const float *out, const float *y,
			const int *cls, size_t n, float *grad)
{
	if (classify(R))
		return mlp_xent(out, cls, n, R->outputs, grad);
	return loss_mse(out, y, n, grad);
}

/* One optimizer step on the gathered batch of 'b' rows; its loss. */
static double train_batch(struct trainer *R, size_t b)
{
	struct tensor_set *ps = mlp_params(R->m);
	double loss;

	mlp_forward(R->m, R->w, R->xb, (int)b, &R->drop_rng, R->out);
	loss = data_loss(R, R->out, R->yb, R->cb, b, R->dy);
	mlp_backward(R->m, R->w, R->dy);
	if (R->p.l2 > 0)
		loss += mlp_l2(R->m, R->p.l2);
	optim_step(&R->opt, ps->value, ps->grad);
	return loss;
}

/* One pass over the training rows; the mean of the batch losses,
 * weighted by batch size. */
static double train_epoch(struct trainer *R)
{
	size_t n = R->d.count[TABULAR_TRAIN], B = (size_t)R->p.batch;
	double sum = 0;

	if (R->p.shuffle)
		rng_shuffle(&R->shuffle_rng, R->order, n);
	for (size_t i = 0; i < n; i += B) {
		size_t b = n - i < B ? n - i : B;
		gather(R, i, b);
		sum += train_batch(R, b) * (double)b;
	}
	return sum / (double)n;
}

/* The outputs of part 'k' (caller frees). */
static float *predict_part(struct trainer *R, int k)
{
	size_t n = R->d.count[k], at = R->d.start[k];
	float *y = tensor_alloc(n * (size_t)R->outputs);

	mlp_predict(R->m, R->w, R->d.x + at * R->d.features, n, y);
	return y;
}

/* The data loss of part 'k', as the training loss measures it. */
static double part_loss(struct trainer *R, int k)
{
	float *y = predict_part(R, k);
	size_t at = R->d.start[k];
	double loss = data_loss(R, y, R->d.target ? R->d.target + at : NULL,
				R->d.label ? R->d.label + at : NULL, R->d.count[k], NULL);

	tensor_free(y);
	return loss;
}

static double train_cb(void *arg)
{
	return train_epoch(arg);
}

static double val_cb(void *arg)
{
	return part_loss(arg, TABULAR_VAL);
}

/* The epochs (tasks/lib/fit.h): the best weights end in the model. */
static int train(struct trainer *R)
{
	R->fit = (struct fit){.params = mlp_params(R->m), .epochs = R->p.epochs,
			      .patience = R->p.patience,
			      .has_val = R->d.count[TABULAR_VAL] > 0,
			      .diverged_hint = "lower learning_rate",
			      .train_epoch = train_cb, .val_loss = val_cb, .arg = R};
	return fit_run(&R->fit, R->ctx, &R->err);
}

/* --- outputs */

/* What a reader needs besides the weights: mlp_save() stores each entry
 * as metadata (strings as they are, the rest as JSON text). */
static json_t *model_meta(const struct trainer *R)
{
	const struct tabular *d = &R->d;
	json_t *j = json_object(), *names = json_array();

	for (size_t i = 0; i < d->features; i++)
		json_array_append_new(names, json_string(d->names[i]));
	json_object_set_new(j, "kind", json_string(kind_names[R->kind]));
	json_object_set_new(j, "objective", objective_json(R));
	json_object_set_new(j, "label", json_string(R->p.spec.label));
	json_object_set_new(j, "features", names);
	json_object_set(j, "classes", d->class_values ? d->class_values : json_null());
	json_object_set_new(j, "scaler", scaler_to_json(&d->scaler));
	json_object_set_new(j, "target_scaler", classify(R) ? json_null() :
			    scaler_to_json(&d->target_scaler));
	json_object_set_new(j, "rows", tabular_parts_json(d));
	if (R->kind == DENSE_SOFTMAX)
		json_object_set_new(j, "l2", json_real(R->p.l2));
	return j;
}

static int save_model(struct trainer *R, const char *name)
{
	char *path = fs_join(kctx_out_dir(R->ctx), name);
	json_t *meta = model_meta(R);
	int rc = mlp_save(R->m, path, meta, &R->err);

	json_decref(meta);
	free(path);
	return rc;
}

/* Report 'name' = 'v' to the sink and into 'j'. */
static void put_metric(struct trainer *R, json_t *j, const char *name, double v)
{
	kctx_metric(R->ctx, name, -1, v);
	json_object_set_new(j, name, json_real(v));
}

/* accuracy, log_loss, per-class and macro figures, the confusion matrix;
 * 'out' holds the test rows' logits, turned into probabilities here. */
static json_t *classify_metrics(struct trainer *R, float *out, int *pred)
{
	const struct tabular *d = &R->d;
	size_t n = d->count[TABULAR_TEST], C = (size_t)R->outputs;
	const int *truth = d->label + d->start[TABULAR_TEST];
	static const char *const sink[] = {"accuracy", "macro_precision",
					   "macro_recall", "macro_f1"};
	double loss = mlp_xent(out, truth, n, R->outputs, NULL);
	struct confusion cm;
	json_t *j;

	mlp_softmax(out, n, R->outputs);
	confusion_init(&cm, R->outputs);
	for (size_t i = 0; i < n; i++) {
		pred[i] = 0;
		for (size_t k = 1; k < C; k++)   /* ties: the first class, as argmax */
			pred[i] = out[i * C + k] > out[i * C + (size_t)pred[i]] ? (int)k : pred[i];
		confusion_add(&cm, truth[i], pred[i]);
	}
	j = confusion_to_json(&cm, d->class_names);
	put_metric(R, j, "log_loss", loss);
	for (size_t k = 0; k < sizeof(sink) / sizeof(sink[0]); k++)
		kctx_metric(R->ctx, sink[k], -1, json_real_value(json_object_get(j, sink[k])));
	json_object_set(j, "classes", d->class_values);
	kctx_log(R->ctx, "test accuracy %.4f log_loss %.6g macro_f1 %.4f",
		 confusion_accuracy(&cm), loss,
		 json_real_value(json_object_get(j, "macro_f1")));
	confusion_release(&cm);
	return j;
}

/* rmse, mae, mse, r2 in the label's units; 'out' becomes unscaled. */
static json_t *regress_metrics(struct trainer *R, float *out)
{
	const struct tabular *d = &R->d;
	size_t n = d->count[TABULAR_TEST], at = d->start[TABULAR_TEST];
	float *truth = tensor_alloc(n);
	json_t *j = json_object();

	for (size_t i = 0; i < n; i++) {
		out[i] = (float)tabular_unscale(d, out[i]);
		truth[i] = (float)d->value[at + i];
	}
	put_metric(R, j, "rmse", metric_rmse(truth, out, n, 1));
	put_metric(R, j, "mae", metric_mae(truth, out, n, 1));
	put_metric(R, j, "mse", metric_mse(truth, out, n, 1));
	put_metric(R, j, "r2", metric_r2(truth, out, n, 1));
	kctx_log(R->ctx, "test rmse %.6g mae %.6g r2 %.4f",
		 json_real_value(json_object_get(j, "rmse")),
		 json_real_value(json_object_get(j, "mae")),
		 json_real_value(json_object_get(j, "r2")));
	tensor_free(truth);
	return j;
}

static int write_metrics(struct trainer *R, json_t *j)
{
	char *path = fs_join(kctx_out_dir(R->ctx), "metrics.json");
	json_t *split;
	int rc = 0;

	json_object_set_new(j, "objective", objective_json(R));
	json_object_set_new(j, "test_rows", json_integer((json_int_t)R->d.count[TABULAR_TEST]));
	json_object_set_new(j, R->fit.has_val ? "val_loss" : "train_loss",
			    json_real(R->fit.best_loss));
	json_object_set_new(j, "epochs_run", json_integer(R->fit.epochs_run));
	json_object_set_new(j, "best_epoch", json_integer(R->fit.best_epoch));
	split = tabular_split_json(&R->d);
	if (split)
		json_object_set_new(j, "split", split);
	if (json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS |
			   JSON_REAL_PRECISION(17)) < 0) {
		err_set(&R->err, ERR_IO, "cannot write '%s'", path);
		rc = -1;
	}
	free(path);
	return rc;
}

static int write_predictions(struct trainer *R, const float *out, const int *pred)
{
	char *path = fs_join(kctx_out_dir(R->ctx), "predictions.csv");
	int rc = tabular_write_predictions(&R->d, path, out, pred, &R->err);

	free(path);
	return rc;
}

/* metrics.json and predictions.csv from the test rows. */
static int evaluate(struct trainer *R)
{
	float *out = predict_part(R, TABULAR_TEST);
	int *pred = xcalloc(R->d.count[TABULAR_TEST] + 1, sizeof(int));
	json_t *j = classify(R) ? classify_metrics(R, out, pred) :
		    regress_metrics(R, out);
	int rc = write_metrics(R, j);

	if (rc == 0)
		rc = write_predictions(R, out, pred);
	json_decref(j);
	tensor_free(out);
	free(pred);
	return rc;
}

static void release(struct trainer *R)
{
	tabular_release(&R->d);
	mlp_work_free(R->w);
	mlp_free(R->m);
	optim_release(&R->opt);
	tensor_free(R->xb);
	tensor_free(R->yb);
	tensor_free(R->out);
	tensor_free(R->dy);
	free(R->cb);
	free(R->order);
}

/* Remove whatever this run wrote: a failed node leaves no outputs. */
static void remove_outputs(struct trainer *R)
{
	static const char *const files[] = {"model.safetensors", "init.safetensors",
					    "metrics.json", "predictions.csv"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = fs_join(kctx_out_dir(R->ctx), files[i]);
		remove(path);
		free(path);
	}
}

static void log_start(struct trainer *R)
{
	const struct tabular *d = &R->d;

	kctx_log(R->ctx, "%s: %zu features, %d hidden layers, %d %s; %zu train / "
		 "%zu val / %zu test rows; %d OpenBLAS threads (%s)",
		 kind_names[R->kind], d->features, R->p.net.n_hidden, R->outputs,
		 classify(R) ? "classes" : "output", d->count[TABULAR_TRAIN],
		 d->count[TABULAR_VAL], d->count[TABULAR_TEST],
		 R->p.threads > 0 ? R->p.threads : 1, blas_core());
}

int dense_run(struct kctx *ctx, enum dense_kind kind)
{
	struct trainer R;
	int rc;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	R.kind = kind;
	err_init(&R.err);
	rc = parse_params(&R);
	if (rc == 0)
		rc = load_inputs(&R);
	if (rc == 0) {
		build(&R);
		log_start(&R);
		rc = R.p.save_init ? save_model(&R, "init.safetensors") : 0;
	}
	if (rc == 0)
		rc = train(&R);
	if (rc == 0)
		rc = save_model(&R, "model.safetensors");
	if (rc == 0)
		rc = evaluate(&R);
	if (rc) {
		remove_outputs(&R);
		rc = kctx_fail(ctx, R.err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL,
			       "%s", R.err.msg);
	}
	release(&R);
	return rc;
}
