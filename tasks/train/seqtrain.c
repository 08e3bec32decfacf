/* seqtrain: the trainer shared by the sequence kernels (seqtrain.h).
 *
 * Input: the needed node 'data' (default: the first need that is not
 * 'init_from') holds data.preprocess's windows: X_<part>.npy float32
 * [n, seq_len, features] and Y_<part>.npy float32 [n, out_len] (the
 * scaled target) for part train, val and test, and meta.json (features,
 * target, target_index, input_seq_len, output_seq_len, target_scaler).
 *
 * Loop: per epoch, the training windows in batches (shuffled by the seed
 * unless shuffle: false), MSE loss, backward, optional clipping, one
 * optimizer step per batch; then the validation loss.  The weights of
 * the epoch with the lowest validation loss are the model (the training
 * loss when there are no validation windows); 'patience' epochs without a
 * better one stop the run early.  Cancellation is checked every epoch.
 *
 * Transfer: 'init_from' names a needed node whose model.safetensors has
 * the format and every tensor shape of this node's model; its weights
 * replace the random ones (init.safetensors, when asked for, is them).
 * 'freeze' names parts of the model (seqtrain_group) that then never
 * change: they are a leading run of the parameter block, and the
 * optimizer, clipping included, sees only the rest, so their bytes in
 * model.safetensors are those they started from.
 *
 * Output (kctx_out_dir): model.safetensors (the kernel's format, with
 * meta.json in its metadata), metrics.json (rmse, mae, mse, r2 on the
 * test windows after undoing the target scaling, the best val_loss,
 * epochs_run, best_epoch), predictions.npy float32 [n_test, out_len],
 * unscaled; with save_init, init.safetensors, the weights before the
 * first step.  Every output is a function of the inputs, params and
 * thread count: timings go to the log and the metric sink only.  A failed
 * run removes what it wrote.
 *
 * Determinism: three generators, each seeded from 'seed' (weights, by the
 * kernel; shuffling; dropout), so turning shuffling off does not change
 * the initial weights. */
#include "seqtrain.h"
#include "fs.h"
#include "loss.h"
#include "metrics.h"
#include "npy.h"
#include "optim.h"
#include "safetensors.h"
#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Offsets of the generators' seeds from 'seed' (arbitrary, fixed:
 * changing them changes every trained model) */
#define SEED_SHUFFLE 0x5348554646ULL
#define SEED_DROPOUT 0x44524f50ULL

struct params {
	const char *data, *init_from;
	json_t *freeze;              /* borrowed from the params */
	int batch, epochs, patience, shuffle, save_init;
	long long seq_len;           /* -1: not given */
	double lr, weight_decay, clip;
	enum optim_kind optimizer;
	uint64_t seed;
};

struct part {
	struct npy_array x, y;
	size_t n;
};

enum { TRAIN, VAL, TEST, N_PARTS };
static const char *const part_names[N_PARTS] = {"train", "val", "test"};

struct trainer {
	struct kctx *ctx;
	struct err err;
	const struct seqtrain_kernel *k;
	struct params p;
	const char *dir;             /* the input folder */
	const char *need;            /* the name of the node it belongs to */
	json_t *meta;
	struct part part[N_PARTS];
	size_t T, F, out;
	double y_shift, y_scale;     /* unscaled = scaled * y_scale + y_shift */
	void *m;                     /* the kernel's model */
	struct tensor_set *ps;       /* its parameters */
	size_t frozen;               /* leading floats of 'ps' that never change */
	struct optim opt;
	struct rng shuffle_rng, drop_rng;
	float *xb, *yb, *pred, *dy, *best;
	size_t *order;
	double best_loss;
	int best_epoch, epochs_run;
};

static int user_error(struct trainer *R)
{
	return R->err.kind == ERR_USER ? KERNEL_EUSER : KERNEL_EFAIL;
}

int seqtrain_threads(struct kctx *ctx)
{
	long long n = kctx_int(ctx, "threads");

	return n > 0 ? (int)n : 1;
}

/* --- params */

static void parse_params(struct trainer *R)
{
	struct kctx *c = R->ctx;
	struct params *p = &R->p;
	json_t *sl = json_object_get(kctx_params(c), "input_seq_len");

	p->data = kctx_str(c, "data");
	p->init_from = kctx_str(c, "init_from");
	p->freeze = json_object_get(kctx_params(c), "freeze");
	p->batch = (int)kctx_int(c, "batch_size");
	p->epochs = (int)kctx_int(c, "epochs");
	p->patience = (int)kctx_int(c, "patience");
	p->shuffle = kctx_bool(c, "shuffle");
	p->save_init = kctx_bool(c, "save_init");
	p->seq_len = json_is_integer(sl) ? (long long)json_integer_value(sl) : -1;
	p->lr = kctx_num(c, "learning_rate");
	p->weight_decay = kctx_num(c, "weight_decay");
	p->clip = kctx_num(c, "clip_norm");
	p->optimizer = !strcmp(kctx_str(c, "optimizer"), "sgd") ? OPTIM_SGD : OPTIM_ADAM;
	p->seed = (uint64_t)kctx_int(c, "seed");
}

/* --- inputs */

/* The folder of the needed node 'name' named by param 'param', or NULL
 * with 'err' set. */
static const char *need_dir(struct trainer *R, const char *param, const char *name)
{
	const char *dir = kctx_input(R->ctx, name);

	if (!dir)
		err_set(&R->err, ERR_USER, "param '%s' names '%s', which this node "
			"does not need (expected one of its needs)", param, name);
	return dir;
}

static int find_input(struct trainer *R)
{
	const char *skip = R->p.init_from;

	if (R->p.data) {
		R->need = R->p.data;
		R->dir = need_dir(R, "data", R->p.data);
		return R->dir ? 0 : -1;
	}
	for (int i = 0; i < kctx_n_inputs(R->ctx); i++) {
		if (skip && !strcmp(kctx_input_name(R->ctx, i), skip))
			continue;
		R->need = kctx_input_name(R->ctx, i);
		R->dir = kctx_input_dir(R->ctx, i);
		return 0;
	}
	err_set(&R->err, ERR_USER, "no input (expected a need on a data.preprocess "
		"node%s)", skip ? " besides init_from" : "");
	return -1;
}

/* Read '<prefix>_<part>.npy' as float32 of 'ndim' dimensions. */
static int read_array(struct trainer *R, const char *prefix, int k, int ndim,
		      struct npy_array *a)
{
	char name[32];
	char *path;
	int rc;

	snprintf(name, sizeof(name), "%s_%s.npy", prefix, part_names[k]);
	path = fs_join(R->dir, name);
	rc = npy_read_nd(path, ndim, a, &R->err);
	if (rc == 0 && (a->dtype != NPY_F4 || a->ndim != ndim)) {
		err_set(&R->err, ERR_USER, "%s: expected float32 of %d dimensions, "
			"found %s of %d", path, ndim, npy_dtype_descr(a->dtype), a->ndim);
		npy_release(a);
		rc = -1;
	}
	free(path);
	return rc;
}

/* X and Y of part 'k', with the shapes of the train part. */
static int load_part(struct trainer *R, int k)
{
	struct part *s = &R->part[k];

	if (read_array(R, "X", k, 3, &s->x))
		return -1;
	if (read_array(R, "Y", k, 2, &s->y))
		return -1;
	s->n = s->x.shape[0];
	if (k == TRAIN) {
		R->T = s->x.shape[1];
		R->F = s->x.shape[2];
		R->out = s->y.shape[1];
		if (!R->T || !R->F || !R->out || R->T * R->F > INT32_MAX ||
		    R->out > INT32_MAX) {
			err_set(&R->err, ERR_USER, "'%s': windows of %zu steps of %zu "
				"features and %zu targets (expected at least one of each)",
				R->need, R->T, R->F, R->out);
			return -1;
		}
	}
	if (s->y.shape[0] != s->n || s->x.shape[1] != R->T || s->x.shape[2] != R->F ||
	    s->y.shape[1] != R->out) {
		err_set(&R->err, ERR_USER, "%s: X_%s.npy [%zu, %zu, %zu] and Y_%s.npy "
			"[%zu, %zu] disagree (expected [n, %zu, %zu] and [n, %zu])", R->need,
			part_names[k], s->x.shape[0], s->x.shape[1], s->x.shape[2],
			part_names[k], s->y.shape[0], s->y.shape[1], R->T, R->F, R->out);
		return -1;
	}
	return 0;
}

/* A number field 'key' of 'o', or of o.params, or of o.params.<target>:
 * the layouts a target scaler may take. */
static json_t *scaler_field(json_t *o, const char *target, const char *key)
{
	json_t *params = json_object_get(o, "params"), *v = json_object_get(o, key);

	if (!v && params)
		v = json_object_get(params, key);
	if (!v && params && target)
		v = json_object_get(json_object_get(params, target), key);
	return json_is_number(v) ? v : NULL;
}

/* The affine map of the scaler object 'sc' for column 'col': unscaled =
 * scaled * '*scale' + '*shift'; standard (mean, std), minmax (min, max)
 * or none (0, 1).  Returns 0, or -1 when 'sc' is none of these. */
static int scaler_units(json_t *sc, const char *col, double *shift, double *scale)
{
	const char *kind = json_string_value(json_object_get(sc, "kind"));
	int std = kind && !strcmp(kind, "standard"), mm = kind && !strcmp(kind, "minmax");
	json_t *a = scaler_field(sc, col, std ? "mean" : "min");
	json_t *b = scaler_field(sc, col, std ? "std" : "max");

	*shift = 0;
	*scale = 1;
	if (kind && !strcmp(kind, "none"))
		return 0;
	if (!(std || mm) || !a || !b)
		return -1;
	*shift = json_number_value(a);
	*scale = std ? json_number_value(b) : json_number_value(b) - *shift;
	return 0;
}

/* y_shift and y_scale from meta.target_scaler. */
static int read_scaler(struct trainer *R, const char *path)
{
	json_t *ts = json_object_get(R->meta, "target_scaler");
	const char *target = json_string_value(json_object_get(R->meta, "target"));

	if (scaler_units(ts, target, &R->y_shift, &R->y_scale) == 0)
		return 0;
	err_set(&R->err, ERR_USER, "%s: 'target_scaler' must be {\"kind\": "
		"\"standard\", \"mean\", \"std\"}, {\"kind\": \"minmax\", \"min\", "
		"\"max\"} or {\"kind\": \"none\"} (also under \"params\")", path);
	return -1;
}

/* 1 if meta's integer 'key' is absent or equals 'want'. */
static int meta_agrees(json_t *meta, const char *key, size_t want)
{
	json_t *v = json_object_get(meta, key);

	return !v || (json_is_integer(v) && json_integer_value(v) == (json_int_t)want);
}

static int load_meta(struct trainer *R)
{
	char *path = fs_join(R->dir, "meta.json");
	json_t *feat;
	json_error_t je;
	int rc = -1;

	R->meta = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!R->meta || !json_is_object(R->meta)) {
		err_set(&R->err, ERR_USER, "%s:%d:%d: %s (expected data.preprocess's "
			"meta.json)", path, je.line, je.column,
			R->meta ? "not an object" : je.text);
		goto out;
	}
	feat = json_object_get(R->meta, "features");
	if (!meta_agrees(R->meta, "input_seq_len", R->T) ||
	    !meta_agrees(R->meta, "output_seq_len", R->out) ||
	    (json_is_array(feat) && json_array_size(feat) != R->F)) {
		err_set(&R->err, ERR_USER, "%s: input_seq_len, output_seq_len or "
			"features disagree with X_train.npy [n, %zu, %zu] and Y_train.npy "
			"[n, %zu]", path, R->T, R->F, R->out);
		goto out;
	}
	rc = read_scaler(R, path);
out:
	free(path);
	return rc;
}

/* Where the target is among the features: meta's target_index, else the
 * place of meta's target in meta's features; -1 when it is not one. */
static int target_index(const struct trainer *R)
{
	json_t *ti = json_object_get(R->meta, "target_index");
	json_t *feat = json_object_get(R->meta, "features");
	const char *target = json_string_value(json_object_get(R->meta, "target"));
	size_t i;
	json_t *v;

	if (json_is_integer(ti))
		return json_integer_value(ti) >= 0 && (size_t)json_integer_value(ti) < R->F ?
		       (int)json_integer_value(ti) : -1;
	json_array_foreach(feat, i, v)
		if (target && json_is_string(v) && !strcmp(json_string_value(v), target))
			return (int)i;
	return -1;
}

/* The map from the target's column of X (index 'ti' >= 0) to Y's units,
 * y = x * '*scale' + '*shift', from meta.scaler's params of that column
 * and the target scaler; NAN, NAN when meta.scaler lacks the column. */
static void target_units(const struct trainer *R, int ti, float *scale, float *shift)
{
	json_t *feat = json_array_get(json_object_get(R->meta, "features"), (size_t)ti);
	double x_shift, x_scale;

	*scale = *shift = NAN;
	if (!json_is_string(feat) || scaler_units(json_object_get(R->meta, "scaler"),
						  json_string_value(feat), &x_shift, &x_scale))
		return;
	*scale = (float)(x_scale / R->y_scale);
	*shift = (float)((x_shift - R->y_shift) / R->y_scale);
}

static int load_inputs(struct trainer *R)
{
	if (find_input(R))
		return -1;
	for (int k = 0; k < N_PARTS; k++)
		if (load_part(R, k))
			return -1;
	if (R->part[TRAIN].n == 0 || R->part[TEST].n == 0) {
		err_set(&R->err, ERR_USER, "'%s' has %zu training and %zu test windows "
			"(expected at least one of each)", R->need, R->part[TRAIN].n,
			R->part[TEST].n);
		return -1;
	}
	if (R->p.seq_len >= 0 && (size_t)R->p.seq_len != R->T) {
		err_set(&R->err, ERR_USER, "param 'input_seq_len' is %lld but the "
			"windows of '%s' are %zu steps long", R->p.seq_len, R->need, R->T);
		return -1;
	}
	return load_meta(R);
}

/* --- transfer: freeze and init_from */

/* The group of the kernel called 'name', or NULL. */
static const struct seqtrain_group *find_group(const struct trainer *R, const char *name)
{
	for (const struct seqtrain_group *g = R->k->groups; g->name; g++)
		if (name && !strcmp(g->name, name))
			return g;
	return NULL;
}

/* The kernel's group names as "a, b" into 'buf'. */
static const char *group_names(const struct trainer *R, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct seqtrain_group *g = R->k->groups; g->name && used < n; g++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
					 g->name);
	return buf;
}

/* 1 if tensor 'name' is in one of the groups that 'freeze' lists. */
static int is_frozen(const struct trainer *R, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(R->p.freeze, i, v) {
		const struct seqtrain_group *g = find_group(R, json_string_value(v));
		if (!strncmp(name, g->prefix, strlen(g->prefix)))
			return 1;
	}
	return 0;
}

/* R->frozen from param 'freeze': the floats of the leading tensors in the
 * groups it names. */
static int resolve_freeze(struct trainer *R)
{
	struct tensor_set *ps = R->ps;
	char names[256];
	size_t i;
	json_t *v;
	int i_first = -1;   /* the first tensor that trains */

	json_array_foreach(R->p.freeze, i, v) {
		if (!find_group(R, json_string_value(v))) {
			err_set(&R->err, ERR_USER, "param 'freeze': item %zu is not a part "
				"of this model (expected a list of: %s)", i + 1,
				group_names(R, names, sizeof(names)));
			return -1;
		}
	}
	for (int t = 0; t < ps->n; t++) {
		int f = is_frozen(R, ps->t[t].name);
		if (!f && i_first < 0)
			i_first = t;
		if (f && i_first >= 0) {
			err_set(&R->err, ERR_USER, "param 'freeze': '%s' would train while "
				"'%s' after it is frozen (expected a leading part of the model: "
				"freeze the parts before it too; parts in order: %s)",
				ps->t[i_first].name, ps->t[t].name,
				group_names(R, names, sizeof(names)));
			return -1;
		}
	}
	assert(i_first >= 0);   /* the head is in no group: something trains */
	R->frozen = ps->t[i_first].offset;
	if (R->frozen && !R->p.init_from)
		kctx_log(R->ctx, "note: 'freeze' without 'init_from' keeps the frozen "
			 "parts at their random initial weights");
	return 0;
}

/* A shape as "[a, b, c]" into 'buf'. */
static const char *shape_text(const size_t *shape, int ndim, char *buf, size_t n)
{
	size_t used = (size_t)snprintf(buf, n, "[");

	for (int d = 0; d < ndim && used < n; d++)
		used += (size_t)snprintf(buf + used, n - used, "%s%zu", d ? ", " : "", shape[d]);
	if (used < n)
		snprintf(buf + used, n - used, "]");
	return buf;
}

/* Check tensor 't' against init_from's and copy its weights. */
static int take_tensor(struct trainer *R, const struct safetensors *st,
		       const struct tensor *t)
{
	const struct safetensors_tensor *f = safetensors_find(st, t->name);
	char have[128], want[128];

	shape_text(t->shape, t->ndim, want, sizeof(want));
	if (!f) {
		err_set(&R->err, ERR_USER, "param 'init_from': the model of '%s' has "
			"no tensor '%s' (this node's is %s; expected the same "
			"architecture)", R->p.init_from, t->name, want);
		return -1;
	}
	shape_text(f->shape, f->ndim, have, sizeof(have));
	if (f->ndim != t->ndim || memcmp(f->shape, t->shape, sizeof(size_t) * (size_t)t->ndim)) {
		err_set(&R->err, ERR_USER, "param 'init_from': tensor '%s' is %s in the "
			"model of '%s' but %s in this node (expected the same architecture)",
			t->name, have, R->p.init_from, want);
		return -1;
	}
	return safetensors_get_f32(st, t->name, t->ndim, t->shape, t->v, &R->err);
}

/* Replace the initial weights by those of init_from's model.safetensors. */
static int load_init(struct trainer *R)
{
	const char *dir = need_dir(R, "init_from", R->p.init_from), *fmt;
	struct safetensors *st;
	char *path;
	int rc = -1;

	if (!dir)
		return -1;
	path = fs_join(dir, "model.safetensors");
	st = safetensors_read(path, &R->err);
	if (!st) {
		if (!fs_exists(path))
			err_set(&R->err, ERR_USER, "param 'init_from': '%s' has no "
				"model.safetensors (expected a node of a training task)",
				R->p.init_from);
		goto out;
	}
	fmt = safetensors_meta(st, "format");
	if (!fmt || strcmp(fmt, R->k->ops->format)) {
		err_set(&R->err, ERR_USER, "param 'init_from': the model of '%s' is a "
			"'%s' model (expected '%s')", R->p.init_from, fmt ? fmt : "unknown",
			R->k->ops->format);
		goto out;
	}
	for (int t = 0; t < R->ps->n; t++)
		if (take_tensor(R, st, &R->ps->t[t]))
			goto out;
	if (safetensors_count(st) != R->ps->n) {
		err_set(&R->err, ERR_USER, "param 'init_from': the model of '%s' has "
			"%d tensors but this node's %d (expected the same architecture)",
			R->p.init_from, safetensors_count(st), R->ps->n);
		goto out;
	}
	kctx_log(R->ctx, "init_from '%s': %d tensors, %zu of %zu weights frozen",
		 R->p.init_from, R->ps->n, R->frozen, R->ps->total);
	rc = 0;
out:
	safetensors_free(st);
	free(path);
	return rc;
}

/* --- model and training */

static int build(struct trainer *R)
{
	struct seqtrain_shape shape = {(int)R->T, (int)R->F, (int)R->out,
				       target_index(R), R->p.batch, R->p.seed, NAN, NAN};
	size_t n = R->part[TRAIN].n, B = (size_t)R->p.batch;

	if (shape.target_index >= 0)
		target_units(R, shape.target_index, &shape.x_scale, &shape.x_shift);
	if (R->k->build(R->ctx, &shape, &R->m, &R->err))
		return -1;
	R->ps = R->k->ops->params(R->m);
	if (resolve_freeze(R))
		return -1;
	if (R->p.init_from && load_init(R))
		return -1;
	rng_seed(&R->shuffle_rng, R->p.seed + SEED_SHUFFLE);
	rng_seed(&R->drop_rng, R->p.seed + SEED_DROPOUT);
	optim_init(&R->opt, R->p.optimizer, R->ps->total - R->frozen, R->p.lr,
		   R->p.weight_decay);
	R->xb = tensor_alloc(B * R->T * R->F);
	R->yb = tensor_alloc(B * R->out);
	R->pred = tensor_alloc(B * R->out);
	R->dy = tensor_alloc(B * R->out);
	R->best = tensor_alloc(R->ps->total);
	R->order = xmalloc(n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		R->order[i] = i;
	R->best_loss = INFINITY;
	return 0;
}

/* Copy the windows order[i .. i+b) of the training part into the batch. */
static void gather(struct trainer *R, size_t i, size_t b)
{
	const float *x = R->part[TRAIN].x.data, *y = R->part[TRAIN].y.data;
	size_t row = R->T * R->F;

	for (size_t k = 0; k < b; k++) {
		size_t j = R->order[i + k];
		memcpy(R->xb + k * row, x + j * row, row * sizeof(float));
		memcpy(R->yb + k * R->out, y + j * R->out, R->out * sizeof(float));
	}
}

/* One optimizer step on the gathered batch of 'b' windows; its loss.
 * The frozen floats lead the block: the rest is what clipping and the
 * optimizer see. */
static double train_batch(struct trainer *R, size_t b)
{
	const struct seqtrain_ops *ops = R->k->ops;
	float *grad = R->ps->grad + R->frozen, *value = R->ps->value + R->frozen;
	double loss;

	ops->forward(R->m, R->xb, R->yb, (int)b, &R->drop_rng, R->pred);
	loss = loss_mse(R->pred, R->yb, b * R->out, R->dy);
	ops->backward(R->m, R->dy);
	if (R->p.clip > 0)
		optim_clip_norm(grad, R->ps->total - R->frozen, R->p.clip);
	optim_step(&R->opt, value, grad);
	return loss;
}

/* One pass over the training windows; the mean of the batch losses,
 * weighted by batch size. */
static double train_epoch(struct trainer *R)
{
	size_t n = R->part[TRAIN].n, B = (size_t)R->p.batch;
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

/* Scaled predictions of part 'k' (caller frees). */
static float *predict_part(struct trainer *R, int k)
{
	struct part *s = &R->part[k];
	float *y = tensor_alloc(s->n * R->out);

	R->k->ops->predict(R->m, s->x.data, s->n, y);
	return y;
}

/* The MSE of part 'k' (scaled, as the training loss). */
static double eval_loss(struct trainer *R, int k)
{
	float *y = predict_part(R, k);
	double loss = loss_mse(y, R->part[k].y.data, R->part[k].n * R->out, NULL);

	tensor_free(y);
	return loss;
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Record epoch 'e' (from 1); keep the weights if they are the best.
 * Returns 1 when patience has run out. */
static int end_epoch(struct trainer *R, int e, double train, double val, double dt)
{
	double sel = R->part[VAL].n ? val : train;

	R->epochs_run = e;
	kctx_metric(R->ctx, "train_loss", e, train);
	if (R->part[VAL].n)
		kctx_metric(R->ctx, "val_loss", e, val);
	kctx_metric(R->ctx, "epoch_seconds", e, dt);
	kctx_progress(R->ctx, (double)e / R->p.epochs, "epoch %d/%d train_loss %.6g "
		      "val_loss %.6g (%.3f s)", e, R->p.epochs, train, val, dt);
	if (sel < R->best_loss) {
		R->best_loss = sel;
		R->best_epoch = e;
		memcpy(R->best, R->ps->value, R->ps->total * sizeof(float));
	}
	return R->p.patience > 0 && e - R->best_epoch >= R->p.patience;
}

static int train(struct trainer *R)
{
	if (R->part[VAL].n == 0)
		kctx_log(R->ctx, "note: no validation windows: the best epoch is chosen "
			 "by the training loss and val_loss is not reported");
	for (int e = 1; e <= R->p.epochs; e++) {
		double t0 = seconds(), train, val;
		if (kctx_cancelled(R->ctx)) {
			err_set(&R->err, ERR_IO, "cancelled before epoch %d", e);
			return -1;
		}
		train = train_epoch(R);
		val = R->part[VAL].n ? eval_loss(R, VAL) : NAN;
		if (!isfinite(train)) {
			err_set(&R->err, ERR_USER, "the training loss diverged to %g in "
				"epoch %d (expected a finite loss: lower learning_rate, or set "
				"clip_norm)", train, e);
			return -1;
		}
		if (end_epoch(R, e, train, val, seconds() - t0)) {
			kctx_log(R->ctx, "early stop after epoch %d: no better loss since "
				 "epoch %d (patience %d)", e, R->best_epoch, R->p.patience);
			break;
		}
	}
	if (R->best_epoch > 0)
		memcpy(R->ps->value, R->best, R->ps->total * sizeof(float));
	return 0;
}

/* --- outputs */

static int save_model(struct trainer *R, const char *name)
{
	char *path = fs_join(kctx_out_dir(R->ctx), name);
	int rc = R->k->ops->save(R->m, path, R->meta, &R->err);

	free(path);
	return rc;
}

static int write_metrics(struct trainer *R, const float *y, const float *p)
{
	size_t n = R->part[TEST].n;
	double m[4] = {metric_rmse(y, p, n, R->out), metric_mae(y, p, n, R->out),
		       metric_mse(y, p, n, R->out), metric_r2(y, p, n, R->out)};
	static const char *const names[4] = {"rmse", "mae", "mse", "r2"};
	json_t *j = json_object();
	char *path = fs_join(kctx_out_dir(R->ctx), "metrics.json");
	int rc = 0;

	for (int i = 0; i < 4; i++) {
		kctx_metric(R->ctx, names[i], -1, m[i]);
		json_object_set_new(j, names[i], json_real(m[i]));
	}
	json_object_set_new(j, R->part[VAL].n ? "val_loss" : "train_loss",
			    json_real(R->best_loss));
	json_object_set_new(j, "epochs_run", json_integer(R->epochs_run));
	json_object_set_new(j, "best_epoch", json_integer(R->best_epoch));
	if (json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS |
			   JSON_REAL_PRECISION(17)) < 0) {
		err_set(&R->err, ERR_IO, "cannot write '%s'", path);
		rc = -1;
	}
	kctx_log(R->ctx, "test rmse %.6g mae %.6g mse %.6g r2 %.4f (best epoch %d of %d)",
		 m[0], m[1], m[2], m[3], R->best_epoch, R->epochs_run);
	json_decref(j);
	free(path);
	return rc;
}

/* Undo the target scaling of 'n' values in place. */
static void unscale(const struct trainer *R, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(v[i] * R->y_scale + R->y_shift);
}

/* predictions.npy and metrics.json, both on unscaled values. */
static int evaluate(struct trainer *R)
{
	struct part *s = &R->part[TEST];
	size_t n = s->n * R->out, shape[2] = {s->n, R->out};
	float *pred = predict_part(R, TEST), *truth = tensor_alloc(n);
	char *path = fs_join(kctx_out_dir(R->ctx), "predictions.npy");
	int rc;

	memcpy(truth, s->y.data, n * sizeof(float));
	unscale(R, pred, n);
	unscale(R, truth, n);
	rc = npy_write(path, NPY_F4, 2, shape, pred, &R->err);
	if (rc == 0)
		rc = write_metrics(R, truth, pred);
	free(path);
	tensor_free(pred);
	tensor_free(truth);
	return rc;
}

static void release(struct trainer *R)
{
	for (int k = 0; k < N_PARTS; k++) {
		npy_release(&R->part[k].x);
		npy_release(&R->part[k].y);
	}
	json_decref(R->meta);
	if (R->m)
		R->k->ops->free(R->m);
	optim_release(&R->opt);
	tensor_free(R->xb);
	tensor_free(R->yb);
	tensor_free(R->pred);
	tensor_free(R->dy);
	tensor_free(R->best);
	free(R->order);
}

/* Remove whatever this run wrote: a failed node leaves no outputs. */
static void remove_outputs(struct trainer *R)
{
	static const char *const files[] = {"model.safetensors", "init.safetensors",
					    "metrics.json", "predictions.npy"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = fs_join(kctx_out_dir(R->ctx), files[i]);
		remove(path);
		free(path);
	}
}

int seqtrain_run(struct kctx *ctx, const struct seqtrain_kernel *k)
{
	struct trainer R;
	int rc;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	R.k = k;
	err_init(&R.err);
	parse_params(&R);
	rc = load_inputs(&R);
	if (rc == 0) {
		kctx_log(ctx, "%zu train / %zu val / %zu test windows of %zu x %zu from '%s'",
			 R.part[TRAIN].n, R.part[VAL].n, R.part[TEST].n, R.T, R.F, R.need);
		rc = build(&R);
	}
	if (rc == 0 && R.p.save_init)
		rc = save_model(&R, "init.safetensors");
	if (rc == 0)
		rc = train(&R);
	if (rc == 0)
		rc = save_model(&R, "model.safetensors");
	if (rc == 0)
		rc = evaluate(&R);
	if (rc) {
		remove_outputs(&R);
		rc = kctx_fail(ctx, user_error(&R), "%s", R.err.msg);
	}
	release(&R);
	return rc;
}
