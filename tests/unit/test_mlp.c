/* Unit tests for tasks/lib/mlp.c (and the tabular data and metrics the
 * dense trainer builds on: tabular.c, table.c, confusion.c): gradients
 * against central finite differences for every layer kind, activation
 * and loss, the losses' values and stability, determinism, the model file
 * round trip, and the table-to-dataset rules with their errors.
 *
 * The finite differences run the float forward pass; the loss is summed
 * in double, so with a step of 1e-2 the truncation and rounding errors
 * stay far below the tolerance |analytic - numeric| <= 2e-4 + 2e-2 *
 * |numeric|.  Each element is checked at steps 1e-2 and 5e-3 and fails
 * only when both disagree: a real bug fails both, a relu kink crossed by
 * one step fails one. */
#include "test.h"
#include "tmpdir.h"
#include "confusion.h"
#include "loss.h"
#include "mlp.h"
#include "npy.h"
#include "table.h"
#include "tabular.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum loss_kind { XENT, MSE };

struct fixture {
	struct mlp *m;
	struct mlp_work *w;
	float *x, *y, *pred, *dy;
	int *cls;
	int batch;
	enum loss_kind loss;
	double l2;
	uint64_t drop_seed;      /* 0: no dropout */
};

/* A model of 'in' inputs, the hidden widths 'hidden' (ending in 0) and
 * 'out' outputs, with weights and data drawn from a fixed seed. */
static void fixture_init(struct fixture *f, int in, const int *hidden, int out,
			 enum mlp_activation act, float dropout, int batch)
{
	struct mlp_config cfg = {.input_size = in, .output_size = out, .act = act,
				 .dropout = dropout};
	size_t nx = (size_t)batch * in, ny = (size_t)batch * out;
	struct rng r;

	while (hidden && hidden[cfg.n_hidden])
		cfg.hidden[cfg.n_hidden] = hidden[cfg.n_hidden], cfg.n_hidden++;
	memset(f, 0, sizeof(*f));
	f->m = mlp_new(&cfg);
	f->w = mlp_work_new(f->m, batch);
	f->batch = batch;
	rng_seed(&r, 42);
	/* weights larger than PyTorch's default, to reach tanh's bends */
	for (int i = 0; i < mlp_params(f->m)->n; i++)
		rng_fill_uniform(&r, mlp_params(f->m)->t[i].v, mlp_params(f->m)->t[i].count,
				 -0.9f, 0.9f);
	f->x = xmalloc(nx * sizeof(float));
	f->y = xmalloc(ny * sizeof(float));
	f->pred = xmalloc(ny * sizeof(float));
	f->dy = xmalloc(ny * sizeof(float));
	f->cls = xmalloc((size_t)batch * sizeof(int));
	rng_fill_uniform(&r, f->x, nx, -1.5f, 1.5f);
	rng_fill_uniform(&r, f->y, ny, -1, 1);
	for (int i = 0; i < batch; i++)
		f->cls[i] = (int)rng_below(&r, (uint64_t)out);
}

static void fixture_release(struct fixture *f)
{
	mlp_work_free(f->w);
	mlp_free(f->m);
	free(f->x);
	free(f->y);
	free(f->pred);
	free(f->dy);
	free(f->cls);
}

/* The loss at the current weights; with 'grads', also the gradients.
 * Dropout masks come from the same seed each time: a fixed mask. */
static double loss_at(struct fixture *f, int grads)
{
	struct rng r;
	int out = mlp_config(f->m)->output_size;
	float *dy = grads ? f->dy : NULL;
	double loss, penalty = 0;

	rng_seed(&r, f->drop_seed);
	mlp_forward(f->m, f->w, f->x, f->batch, f->drop_seed ? &r : NULL, f->pred);
	if (f->loss == XENT)
		loss = mlp_xent(f->pred, f->cls, (size_t)f->batch, out, dy);
	else
		loss = loss_mse(f->pred, f->y, (size_t)f->batch * out, dy);
	if (grads)
		mlp_backward(f->m, f->w, f->dy);
	if (grads && f->l2 > 0)
		penalty = mlp_l2(f->m, f->l2);
	for (int k = 0; !grads && f->l2 > 0 && k < mlp_params(f->m)->n; k += 2) {
		const struct tensor *t = &mlp_params(f->m)->t[k];
		for (size_t i = 0; i < t->count; i++)
			penalty += 0.5 * f->l2 * (double)t->v[i] * t->v[i];
	}
	return loss + penalty;
}

/* Central difference of the loss along parameter 'v[i]'. */
static double numeric(struct fixture *f, float *v, size_t i, float h)
{
	float keep = v[i];
	double up, down;

	v[i] = keep + h;
	up = loss_at(f, 0);
	v[i] = keep - h;
	down = loss_at(f, 0);
	v[i] = keep;
	return (up - down) / ((double)(keep + h) - (double)(keep - h));
}

/* Every parameter's gradient against finite differences; mismatches
 * (the first few printed). */
static int gradcheck(struct fixture *f)
{
	struct tensor_set *p = mlp_params(f->m);
	float *grad = xmalloc(p->total * sizeof(float));
	int bad = 0;

	loss_at(f, 1);
	memcpy(grad, p->grad, p->total * sizeof(float));
	for (int k = 0; k < p->n; k++) {
		struct tensor *t = &p->t[k];
		for (size_t i = 0; i < t->count; i++) {
			double a = grad[t->offset + i];
			double n1 = numeric(f, t->v, i, 1e-2f), n2 = numeric(f, t->v, i, 5e-3f);
			int off1 = fabs(a - n1) > 2e-4 + 2e-2 * fabs(n1);
			int off2 = fabs(a - n2) > 2e-4 + 2e-2 * fabs(n2);
			if (off1 && off2 && bad++ < 5)
				fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g / %.6g\n",
					t->name, i, a, n1, n2);
		}
	}
	free(grad);
	return bad;
}

struct shape {
	int in, hidden[4], out;
	enum mlp_activation act;
	enum loss_kind loss;
	float dropout;
	uint64_t drop_seed;
	double l2;
	int batch;
};

static int check_shape(const struct shape *s)
{
	struct fixture f;
	int bad;

	fixture_init(&f, s->in, s->hidden, s->out, s->act, s->dropout, s->batch);
	f.loss = s->loss;
	f.drop_seed = s->drop_seed;
	f.l2 = s->l2;
	bad = gradcheck(&f);
	fixture_release(&f);
	return bad;
}

TEST(gradcheck_linear_xent)
{
	ASSERT_EQ(check_shape(&(struct shape){4, {0}, 3, MLP_RELU, XENT, 0, 0, 0, 5}), 0);
}

TEST(gradcheck_linear_mse)
{
	ASSERT_EQ(check_shape(&(struct shape){4, {0}, 2, MLP_RELU, MSE, 0, 0, 0, 5}), 0);
}

TEST(gradcheck_relu_layers)
{
	ASSERT_EQ(check_shape(&(struct shape){3, {6, 5, 0}, 4, MLP_RELU, XENT, 0, 0, 0, 6}), 0);
	ASSERT_EQ(check_shape(&(struct shape){3, {6, 5, 0}, 1, MLP_RELU, MSE, 0, 0, 0, 6}), 0);
}

TEST(gradcheck_tanh_layers)
{
	ASSERT_EQ(check_shape(&(struct shape){3, {5, 4, 3}, 3, MLP_TANH, XENT, 0, 0, 0, 4}), 0);
	ASSERT_EQ(check_shape(&(struct shape){3, {7, 0}, 2, MLP_TANH, MSE, 0, 0, 0, 4}), 0);
}

/* A fixed dropout mask after each hidden layer is part of the function. */
TEST(gradcheck_dropout_mask)
{
	ASSERT_EQ(check_shape(&(struct shape){3, {6, 5, 0}, 3, MLP_TANH, XENT, 0.4f, 7, 0, 5}), 0);
	ASSERT_EQ(check_shape(&(struct shape){3, {6, 0}, 1, MLP_RELU, MSE, 0.3f, 9, 0, 5}), 0);
}

/* The L2 penalty of train.softmax: the weights' gradient, not the biases'. */
TEST(gradcheck_l2_penalty)
{
	ASSERT_EQ(check_shape(&(struct shape){4, {0}, 3, MLP_RELU, XENT, 0, 0, 0.3, 5}), 0);
	ASSERT_EQ(check_shape(&(struct shape){4, {3, 0}, 2, MLP_TANH, XENT, 0, 0, 0.05, 5}), 0);
}

/* A gradient check of the softmax cross-entropy itself, and its value. */
TEST(xent_value_and_gradient)
{
	float z[6] = {1, 2, 3, -1, 0, 0.5f}, g[6];
	int y[2] = {2, 0};
	double l0 = log(exp(1) + exp(2) + exp(3)) - 3;
	double l1 = log(exp(-1) + exp(0) + exp(0.5)) + 1;
	double loss = mlp_xent(z, y, 2, 3, g);

	ASSERT(fabs(loss - (l0 + l1) / 2) < 1e-6);
	for (int i = 0; i < 6; i++) {
		float keep = z[i];
		double up, down;
		z[i] = keep + 1e-2f;
		up = mlp_xent(z, y, 2, 3, NULL);
		z[i] = keep - 1e-2f;
		down = mlp_xent(z, y, 2, 3, NULL);
		z[i] = keep;
		ASSERT(fabs(g[i] - (up - down) / 2e-2) < 1e-5);
	}
	ASSERT(fabs(g[0] + g[1] + g[2]) < 1e-7);
	ASSERT(mlp_xent(z, y, 0, 3, NULL) == 0);
}

/* Logits far past exp's range give finite losses and probabilities. */
TEST(xent_is_stable)
{
	float z[4] = {1e4f, -1e4f, -3e4f, 3e4f}, g[4];
	int y[2] = {1, 1};
	double loss = mlp_xent(z, y, 2, 2, g);

	ASSERT(isfinite(loss));
	ASSERT(fabs(loss - (2e4 + 0) / 2) < 1);   /* rows: 2e4 and 0 */
	ASSERT(fabs(g[0] - 0.5f) < 1e-6 && fabs(g[1] + 0.5f) < 1e-6);
	mlp_softmax(z, 2, 2);
	ASSERT(z[0] == 1 && z[1] == 0 && z[2] == 0 && z[3] == 1);
	z[0] = z[1] = 88.7f;
	mlp_softmax(z, 1, 2);
	ASSERT(fabs(z[0] - 0.5f) < 1e-7);
}

/* Gradients are set, not added: a second backward gives the same ones. */
TEST(backward_sets_gradients)
{
	struct fixture f;
	struct tensor_set *p;
	float *first;

	fixture_init(&f, 3, (int[]){4, 0}, 2, MLP_RELU, 0, 5);
	p = mlp_params(f.m);
	loss_at(&f, 1);
	first = xmalloc(p->total * sizeof(float));
	memcpy(first, p->grad, p->total * sizeof(float));
	loss_at(&f, 1);
	ASSERT(memcmp(first, p->grad, p->total * sizeof(float)) == 0);
	free(first);
	fixture_release(&f);
}

/* mlp_predict over several batches equals one forward of all rows. */
TEST(predict_in_batches)
{
	struct fixture f;
	struct mlp_work *small;
	float got[10 * 2];

	fixture_init(&f, 3, (int[]){5, 0}, 2, MLP_TANH, 0.5f, 10);
	mlp_forward(f.m, f.w, f.x, 10, NULL, f.pred);
	small = mlp_work_new(f.m, 3);
	mlp_predict(f.m, small, f.x, 10, got);
	for (int i = 0; i < 20; i++)
		ASSERT(fabs(got[i] - f.pred[i]) < 1e-6);
	mlp_work_free(small);
	fixture_release(&f);
}

/* PyTorch's nn.Linear bounds, and the same seed, the same weights. */
TEST(init_is_pytorch_bounded_and_seeded)
{
	struct mlp_config cfg = {.input_size = 16, .output_size = 3, .n_hidden = 1,
				 .hidden = {25}};
	struct mlp *a = mlp_new(&cfg), *b = mlp_new(&cfg);
	struct tensor_set *p = mlp_params(a);
	struct rng r1, r2;

	rng_seed(&r1, 5);
	rng_seed(&r2, 5);
	mlp_init(a, &r1);
	mlp_init(b, &r2);
	ASSERT(memcmp(p->value, mlp_params(b)->value, p->total * sizeof(float)) == 0);
	for (size_t i = 0; i < p->t[0].count + p->t[1].count; i++)
		ASSERT(fabsf(p->value[i]) <= 0.25f);      /* 1/sqrt(16) */
	for (size_t i = p->t[2].offset; i < p->total; i++)
		ASSERT(fabsf(p->value[i]) <= 0.2f);       /* 1/sqrt(25) */
	ASSERT_STREQ(p->t[2].name, "layers.1.weight");
	ASSERT_EQ(p->t[2].shape[0], 3);
	ASSERT_EQ(p->t[2].shape[1], 25);
	mlp_free(a);
	mlp_free(b);
}

TEST(save_and_load)
{
	struct mlp_config cfg = {.input_size = 4, .output_size = 2, .n_hidden = 2,
				 .hidden = {6, 3}, .act = MLP_TANH, .dropout = 0.25f};
	struct mlp *m = mlp_new(&cfg), *back;
	struct safetensors *st;
	json_t *meta = json_pack("{s:s, s:[s,s]}", "objective", "classify", "classes",
				 "a", "b");
	char *path = fs_join(tmp_dir(), "mlp.safetensors");
	struct err err;
	struct rng r;

	err_init(&err);
	rng_seed(&r, 3);
	mlp_init(m, &r);
	ASSERT_EQ(mlp_save(m, path, meta, &err), 0);
	back = mlp_load(path, &st, &err);
	ASSERT(back != NULL);
	ASSERT_EQ(mlp_config(back)->n_hidden, 2);
	ASSERT_EQ(mlp_config(back)->hidden[1], 3);
	ASSERT_EQ(mlp_config(back)->act, MLP_TANH);
	ASSERT(mlp_config(back)->dropout == 0.25f);
	ASSERT(memcmp(mlp_params(m)->value, mlp_params(back)->value,
		      mlp_params(m)->total * sizeof(float)) == 0);
	ASSERT_STREQ(safetensors_meta(st, "format"), "dagrun.mlp.v1");
	ASSERT_STREQ(safetensors_meta(st, "hidden"), "[6,3]");
	ASSERT_STREQ(safetensors_meta(st, "objective"), "classify");
	ASSERT_STREQ(safetensors_meta(st, "classes"), "[\"a\",\"b\"]");
	safetensors_free(st);
	mlp_free(back);
	mlp_free(m);
	json_decref(meta);
	free(path);
}

/* A file whose metadata claims another architecture is refused by name. */
TEST(load_refuses_a_wrong_architecture)
{
	struct mlp_config cfg = {.input_size = 4, .output_size = 2, .n_hidden = 1,
				 .hidden = {6}};
	struct mlp *m = mlp_new(&cfg);
	char *path = fs_join(tmp_dir(), "bad.safetensors");
	struct safetensors_writer sw;
	struct safetensors *st = (struct safetensors *)1;
	struct err err;

	err_init(&err);
	safetensors_writer_init(&sw);
	for (int i = 0; i < mlp_params(m)->n; i++)
		safetensors_add(&sw, mlp_params(m)->t[i].name, "F32", mlp_params(m)->t[i].ndim,
				mlp_params(m)->t[i].shape, mlp_params(m)->t[i].v);
	safetensors_set_meta(&sw, "format", "dagrun.mlp.v1");
	safetensors_set_meta(&sw, "input_size", "4");
	safetensors_set_meta(&sw, "output_size", "2");
	safetensors_set_meta(&sw, "hidden", "[7]");
	safetensors_set_meta(&sw, "activation", "relu");
	ASSERT_EQ(safetensors_write(&sw, path, &err), 0);
	ASSERT(mlp_load(path, &st, &err) == NULL);
	ASSERT(st == NULL);
	ASSERT_CONTAINS(err.msg, "expected 51 in 4 for its metadata's architecture");
	safetensors_set_meta(&sw, "hidden", "[6, 0]");
	ASSERT_EQ(safetensors_write(&sw, path, &err), 0);
	ASSERT(mlp_load(path, NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'hidden' is '[6, 0]'");
	safetensors_set_meta(&sw, "format", "dagrun.rnn.v1");
	ASSERT_EQ(safetensors_write(&sw, path, &err), 0);
	ASSERT(mlp_load(path, NULL, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "metadata 'format' is 'dagrun.rnn.v1'");
	safetensors_writer_release(&sw);
	mlp_free(m);
	free(path);
}

/* --- confusion: the figures of scikit-learn's classification_report */

TEST(confusion_matches_sklearn)
{
	/* y_true = [0,0,0,1,1,2], y_pred = [0,1,0,1,2,2]: sklearn gives
	 * precision [1, .5, .5], recall [2/3, .5, 1], f1 [.8, .5, 2/3] */
	int t[6] = {0, 0, 0, 1, 1, 2}, p[6] = {0, 1, 0, 1, 2, 2};
	struct confusion c;
	double mp, mr, mf;

	confusion_init(&c, 4);   /* class 3 never occurs: left out of the macro */
	for (int i = 0; i < 6; i++)
		confusion_add(&c, t[i], p[i]);
	ASSERT(fabs(confusion_accuracy(&c) - 4.0 / 6) < 1e-12);
	ASSERT(fabs(confusion_precision(&c, 1) - 0.5) < 1e-12);
	ASSERT(fabs(confusion_recall(&c, 0) - 2.0 / 3) < 1e-12);
	ASSERT(fabs(confusion_f1(&c, 0) - 0.8) < 1e-12);
	ASSERT(confusion_f1(&c, 3) == 0 && confusion_support(&c, 3) == 0);
	confusion_macro(&c, &mp, &mr, &mf);
	ASSERT(fabs(mp - 2.0 / 3) < 1e-12);
	ASSERT(fabs(mr - (2.0 / 3 + 0.5 + 1) / 3) < 1e-12);
	ASSERT(fabs(mf - (0.8 + 0.5 + 2.0 / 3) / 3) < 1e-12);
	confusion_release(&c);
}

/* --- tabular: a data.load output written by hand */

/* A folder 'name' holding a data.load output of 10 rows: number columns
 * a (0..9), b (constant 5), y (classes 3, 1, 2, ...) and r (2a + 1), a
 * string column s ("dog", "cat", ...), the time column. */
static const char *table_dir(const char *name, const char *s9)
{
	static char dir[512];
	double a[10], b[10], y[10], r[10];
	int64_t ts[10];
	size_t shape[1] = {10};
	struct err err;
	json_t *s = json_array();
	char *path;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir(), name);
	fs_mkdirs(dir, &err);
	for (int i = 0; i < 10; i++) {
		a[i] = i;
		b[i] = 5;
		y[i] = (double)(3 - i % 3);
		r[i] = 2 * i + 1;
		ts[i] = 1700000000 + 3600 * i;
		json_array_append_new(s, i == 9 && !s9 ? json_null() :
				      json_string(i == 9 ? s9 : i % 2 ? "cat" : "dog"));
	}
	err_init(&err);
	for (int k = 0; k < 5; k++) {
		static const char *const files[] = {"a.npy", "b.npy", "y.npy", "r.npy",
						    "timestamp.npy"};
		const void *data[] = {a, b, y, r, ts};
		path = fs_join(dir, files[k]);
		npy_write(path, k == 4 ? NPY_I8 : NPY_F8, 1, shape, data[k], &err);
		free(path);
	}
	path = fs_join(dir, "s.json");
	json_dump_file(s, path, JSON_COMPACT);
	free(path);
	json_decref(s);
	put_file(dir, "schema.json", "{\"rows\": 10, \"timestamp\": \"t\", \"columns\": ["
		 "{\"name\": \"t\", \"type\": \"timestamp\", \"file\": \"timestamp.npy\"},"
		 "{\"name\": \"a\", \"type\": \"number\", \"file\": \"a.npy\"},"
		 "{\"name\": \"b\", \"type\": \"number\", \"file\": \"b.npy\"},"
		 "{\"name\": \"s\", \"type\": \"string\", \"file\": \"s.json\"},"
		 "{\"name\": \"y\", \"type\": \"number\", \"file\": \"y.npy\"},"
		 "{\"name\": \"r\", \"type\": \"number\", \"file\": \"r.npy\"}]}");
	return dir;
}

/* Build with 'spec' from a fresh table; 0 or -1, message in 'err'. */
static int build(struct tabular_spec *spec, const char *s9, struct tabular *t,
		 struct err *err)
{
	err_init(err);
	return tabular_build(table_dir("table", s9), "ingest", spec, t, err);
}

TEST(tabular_integer_classes_in_time_order)
{
	struct tabular_spec spec = {.label = "y", .test_fraction = 0.2,
				    .val_fraction = 0.1, .scaling = SCALER_STANDARD};
	struct tabular t;
	struct err err;

	ASSERT_EQ(build(&spec, "dog", &t, &err), 0);
	ASSERT_EQ(t.features, 3);              /* every number column but y */
	ASSERT_STREQ(t.names[2], "r");
	ASSERT_EQ(t.count[TABULAR_TRAIN], 7);
	ASSERT_EQ(t.count[TABULAR_VAL], 1);
	ASSERT_EQ(t.count[TABULAR_TEST], 2);
	ASSERT_EQ(t.start[TABULAR_TEST], 8);
	ASSERT_EQ(t.classes, 3);
	ASSERT_STREQ(t.class_names[0], "1");
	ASSERT_STREQ(t.class_names[2], "3");
	ASSERT_EQ(t.label[0], 2);              /* y = 3 */
	ASSERT_EQ(t.label[1], 1);              /* y = 2 */
	ASSERT_EQ(t.source[9], 9);
	ASSERT_EQ(t.time[9], 1700000000 + 9 * 3600);
	/* a is scaled by the training rows 0..6: mean 3, std 2 */
	ASSERT(fabs(t.x[0 * 3] - (0 - 3) / 2.0) < 1e-6);
	ASSERT(fabs(t.x[9 * 3] - (9 - 3) / 2.0) < 1e-6);
	ASSERT(t.x[9 * 3 + 1] == 0);           /* b is constant: std 1 */
	tabular_release(&t);
}

TEST(tabular_string_classes_and_listed_features)
{
	json_t *f = json_pack("[s, s]", "r", "a");
	struct tabular_spec spec = {.label = "s", .features = f, .test_fraction = 0.3,
				    .scaling = SCALER_NONE};
	struct tabular t;
	struct err err;

	ASSERT_EQ(build(&spec, "emu", &t, &err), 0);
	ASSERT_EQ(t.features, 2);
	ASSERT_STREQ(t.names[0], "r");
	ASSERT_EQ(t.classes, 3);               /* sorted by bytes */
	ASSERT_STREQ(t.class_names[0], "cat");
	ASSERT_STREQ(t.class_names[1], "dog");
	ASSERT_STREQ(t.class_names[2], "emu");
	ASSERT_EQ(t.label[0], 1);
	ASSERT_EQ(t.label[9], 2);
	ASSERT_EQ(t.count[TABULAR_VAL], 0);
	ASSERT(t.x[9 * 2] == 19 && t.x[9 * 2 + 1] == 9);   /* not scaled */
	ASSERT_STREQ(json_string_value(json_array_get(t.class_values, 2)), "emu");
	tabular_release(&t);
	json_decref(f);
}

TEST(tabular_regress_scales_the_target_on_training_rows)
{
	json_t *f = json_pack("[s]", "a");
	struct tabular_spec spec = {.label = "r", .features = f, .objective = TABULAR_REGRESS,
				    .test_fraction = 0.2, .val_fraction = 0.2,
				    .scaling = SCALER_STANDARD};
	struct tabular t;
	struct err err;

	ASSERT_EQ(build(&spec, "dog", &t, &err), 0);
	ASSERT(t.label == NULL && t.classes == 0);
	/* r = 2a + 1 over rows 0..5: mean 6, population std 2 sqrt(35/12) */
	ASSERT(fabs(t.target[0] - (1 - 6) / (2 * sqrt(35.0 / 12))) < 1e-6);
	ASSERT(fabs(tabular_unscale(&t, t.target[9]) - 19) < 1e-5);
	ASSERT(t.value[9] == 19);
	tabular_release(&t);
	json_decref(f);
}

TEST(tabular_shuffled_split_is_seeded)
{
	struct tabular_spec spec = {.label = "y", .test_fraction = 0.3,
				    .shuffle_split = 1, .seed = 4, .scaling = SCALER_NONE};
	struct tabular t, u;
	struct err err;
	size_t seen = 0;

	ASSERT_EQ(build(&spec, "dog", &t, &err), 0);
	ASSERT_EQ(build(&spec, "dog", &u, &err), 0);
	ASSERT(memcmp(t.source, u.source, 10 * sizeof(size_t)) == 0);
	for (size_t i = 0; i < 10; i++) {
		seen |= (size_t)1 << t.source[i];
		ASSERT(t.x[i * 3] == (float)t.source[i]);          /* a follows */
		ASSERT_EQ(t.label[i], 3 - (int)(t.source[i] % 3) - 1);
		ASSERT(t.time[i] == 1700000000 + 3600 * (int64_t)t.source[i]);
	}
	ASSERT_EQ(seen, 1023);
	ASSERT(t.source[0] != 0 || t.source[1] != 1 || t.source[2] != 2);
	tabular_release(&t);
	tabular_release(&u);
}

/* Each bad spec fails with a message that names the problem. */
static void expect_error(struct tabular_spec *spec, const char *s9, const char *msg,
			 int *ok)
{
	struct tabular t;
	struct err err;

	*ok = build(spec, s9, &t, &err) == -1 && err.kind == ERR_USER &&
	      strstr(err.msg, msg);
	if (!*ok)
		fprintf(stderr, "  expected '%s', got '%s'\n", msg, err.msg);
	tabular_release(&t);
}

TEST(tabular_errors_name_the_problem)
{
	json_t *unknown = json_pack("[s]", "nope"), *str = json_pack("[s]", "s");
	json_t *twice = json_pack("[s, s]", "a", "a"), *lab = json_pack("[s]", "y");
	json_t *none = json_pack("[]");
	struct tabular_spec s = {.label = "y", .test_fraction = 0.2, .scaling = SCALER_STANDARD};
	int ok;

	s.label = "label";
	expect_error(&s, "dog", "param 'label': 'ingest' has no column 'label' "
		     "(expected one of: t, a, b, s, y, r)", &ok);
	ASSERT(ok);
	s.label = "y";
	s.features = unknown;
	expect_error(&s, "dog", "param 'features': 'ingest' has no column 'nope'", &ok);
	ASSERT(ok);
	s.features = str;
	expect_error(&s, "dog", "column 's' of 'ingest' holds strings (expected number "
		     "columns only)", &ok);
	ASSERT(ok);
	s.features = twice;
	expect_error(&s, "dog", "param 'features' names 'a' twice", &ok);
	ASSERT(ok);
	s.features = lab;
	expect_error(&s, "dog", "'y' is the label", &ok);
	ASSERT(ok);
	s.features = none;
	expect_error(&s, "dog", "has no number column besides the label", &ok);
	ASSERT(ok);
	s.features = NULL;
	s.label = "b";
	expect_error(&s, "dog", "label 'b' has one class ('5') in 'ingest' (expected "
		     "at least two for objective classify)", &ok);
	ASSERT(ok);
	s.label = "s";
	expect_error(&s, NULL, "label 's' is missing in row 10 of 'ingest'", &ok);
	ASSERT(ok);
	s.label = "t";
	expect_error(&s, "dog", "label 't' of 'ingest' holds timestamps", &ok);
	ASSERT(ok);
	s.objective = TABULAR_REGRESS;
	s.label = "s";
	expect_error(&s, "dog", "holds strings (expected numbers for objective regress)", &ok);
	ASSERT(ok);
	s.objective = TABULAR_CLASSIFY;
	s.label = "y";
	s.test_fraction = 0.02;
	expect_error(&s, "dog", "leave 10 training and 0 test rows", &ok);
	ASSERT(ok);
	s.test_fraction = 0.5;
	s.val_fraction = 0.5;
	expect_error(&s, "dog", "leave 0 training and 5 test rows", &ok);
	ASSERT(ok);
	json_decref(unknown);
	json_decref(str);
	json_decref(twice);
	json_decref(lab);
	json_decref(none);
}

/* A float column as a class label: refused, pointing to regress. */
TEST(tabular_refuses_fractional_classes)
{
	struct tabular_spec s = {.label = "a", .test_fraction = 0.2, .scaling = SCALER_NONE};
	struct tabular t;
	struct err err;
	double v[10] = {0, 1, 2, 3, 4, 5, 6, 7.5, 8, 9};
	size_t shape[1] = {10};
	const char *dir = table_dir("frac", "dog");
	char *path = fs_join(dir, "a.npy");

	err_init(&err);
	npy_write(path, NPY_F8, 1, shape, v, &err);
	ASSERT_EQ(tabular_build(dir, "ingest", &s, &t, &err), -1);
	ASSERT_CONTAINS(err.msg, "label 'a' is 7.5 in row 8 of 'ingest', not an integer");
	ASSERT_CONTAINS(err.msg, "use train.mlp with objective: regress");
	tabular_release(&t);
	free(path);
}

/* A table without a time column: rows as they are, no times. */
TEST(tabular_without_a_time_column)
{
	struct tabular_spec s = {.label = "y", .test_fraction = 0.2, .scaling = SCALER_NONE};
	const char *dir = table_dir("untimed", "dog");
	struct tabular t;
	struct err err;

	err_init(&err);
	put_file(dir, "schema.json", "{\"rows\": 10, \"timestamp\": null, \"columns\": ["
		 "{\"name\": \"a\", \"type\": \"number\", \"file\": \"a.npy\"},"
		 "{\"name\": \"y\", \"type\": \"number\", \"file\": \"y.npy\"}]}");
	ASSERT_EQ(tabular_build(dir, "ingest", &s, &t, &err), 0);
	ASSERT(t.time == NULL);
	ASSERT_EQ(t.features, 1);
	ASSERT_EQ(t.count[TABULAR_TEST], 2);
	ASSERT(t.x[9] == 9);
	tabular_release(&t);
}

/* A schema.json that is not data.load's is refused by name. */
TEST(table_refuses_other_schemas)
{
	struct table t;
	struct err err;
	const char *dir = table_dir("bad", "dog");

	err_init(&err);
	put_file(dir, "schema.json", "{\"rows\": 10, \"columns\": [{\"name\": \"a\", "
		 "\"type\": \"number\", \"file\": \"../a.npy\"}]}");
	ASSERT_EQ(table_open(dir, &t, &err), -1);
	ASSERT_CONTAINS(err.msg, "schema.json: expected data.load's schema");
	table_close(&t);
	put_file(dir, "schema.json", "[1, 2");
	ASSERT_EQ(table_open(dir, &t, &err), -1);
	ASSERT_CONTAINS(err.msg, "(expected data.load's schema.json)");
	table_close(&t);
	put_file(dir, "schema.json", "{\"rows\": 11, \"columns\": [{\"name\": \"a\", "
		 "\"type\": \"number\", \"file\": \"a.npy\"}]}");
	ASSERT_EQ(table_open(dir, &t, &err), 0);
	ASSERT(table_numbers(&t, 0, &err) == NULL);
	ASSERT_CONTAINS(err.msg, "a.npy: expected 11 values of <f8, as schema.json says");
	table_close(&t);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(gradcheck_linear_xent), T(gradcheck_linear_mse), T(gradcheck_relu_layers),
	  T(gradcheck_tanh_layers), T(gradcheck_dropout_mask), T(gradcheck_l2_penalty),
	  T(xent_value_and_gradient), T(xent_is_stable), T(backward_sets_gradients),
	  T(predict_in_batches), T(init_is_pytorch_bounded_and_seeded), T(save_and_load),
	  T(load_refuses_a_wrong_architecture), T(confusion_matches_sklearn),
	  T(tabular_integer_classes_in_time_order),
	  T(tabular_string_classes_and_listed_features),
	  T(tabular_regress_scales_the_target_on_training_rows),
	  T(tabular_shuffled_split_is_seeded), T(tabular_errors_name_the_problem),
	  T(tabular_refuses_fractional_classes), T(tabular_without_a_time_column),
	  T(table_refuses_other_schemas), T(cleanup))
