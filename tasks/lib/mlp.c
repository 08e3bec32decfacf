/* mlp: see mlp.h.
 *
 * Layout: layer k maps in[k] inputs to out[k] outputs; its weight is the
 * set's tensor 2k and its bias 2k + 1.  A workspace keeps, for each
 * hidden layer, its activated output 'h' [B, width] and, when the forward
 * pass dropped units, the mask and the masked output 'drop' (the next
 * layer's input).  Rows are the batch's rows, contiguous at the current
 * batch size.
 *
 * Invariant: 'h' holds activated values, so each activation's derivative
 * is a function of its output (relu: h > 0; tanh: 1 - h^2) and the
 * pre-activations need not be kept. */
#include "mlp.h"
#include "blas.h"
#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 'format' in the metadata of every model file this module writes */
#define MLP_FORMAT "dagrun.mlp.v1"

struct mlp {
	struct mlp_config cfg;
	int n_layers;                         /* n_hidden + 1 */
	int in[MLP_MAX_HIDDEN + 1], out[MLP_MAX_HIDDEN + 1];
	struct tensor_set p;
};

struct mlp_work {
	int max_batch, batch, dropped;
	float *x;                             /* [B, input_size]: the last input */
	float *h[MLP_MAX_HIDDEN];             /* [B, hidden[k]] */
	float *mask[MLP_MAX_HIDDEN];          /* NULL without dropout */
	float *drop[MLP_MAX_HIDDEN];
	float *dz_a, *dz_b;                   /* [B, widest]: gradients, in turn */
	float *ones;                          /* [B] of 1: bias gradients by sgemm */
};

static const char *const act_names[] = {[MLP_RELU] = "relu", [MLP_TANH] = "tanh"};

const char *mlp_activation_name(enum mlp_activation a)
{
	return act_names[a];
}

int mlp_activation_parse(const char *name, enum mlp_activation *out)
{
	for (int k = 0; k < 2; k++) {
		if (name && !strcmp(name, act_names[k])) {
			*out = (enum mlp_activation)k;
			return 0;
		}
	}
	return -1;
}

/* --- the model */

static struct tensor *weight(struct mlp *m, int k)
{
	return &m->p.t[2 * k];
}

static struct tensor *bias(struct mlp *m, int k)
{
	return &m->p.t[2 * k + 1];
}

struct mlp *mlp_new(const struct mlp_config *cfg)
{
	struct mlp *m = xcalloc(1, sizeof(*m));
	char name[48];

	assert(cfg->input_size >= 1 && cfg->output_size >= 1 &&
	       cfg->n_hidden >= 0 && cfg->n_hidden <= MLP_MAX_HIDDEN &&
	       cfg->dropout >= 0 && cfg->dropout < 1);
	m->cfg = *cfg;
	m->n_layers = cfg->n_hidden + 1;
	tensor_set_init(&m->p);
	for (int k = 0; k < m->n_layers; k++) {
		m->in[k] = k == 0 ? cfg->input_size : cfg->hidden[k - 1];
		m->out[k] = k == cfg->n_hidden ? cfg->output_size : cfg->hidden[k];
		assert(m->out[k] >= 1);
		snprintf(name, sizeof(name), "layers.%d.weight", k);
		tensor_set_add(&m->p, name, 2, (size_t[]){(size_t)m->out[k], (size_t)m->in[k]});
		snprintf(name, sizeof(name), "layers.%d.bias", k);
		tensor_set_add(&m->p, name, 1, (size_t[]){(size_t)m->out[k]});
	}
	tensor_set_alloc(&m->p);
	return m;
}

void mlp_free(struct mlp *m)
{
	if (!m)
		return;
	tensor_set_release(&m->p);
	free(m);
}

const struct mlp_config *mlp_config(const struct mlp *m)
{
	return &m->cfg;
}

struct tensor_set *mlp_params(struct mlp *m)
{
	return &m->p;
}

void mlp_init(struct mlp *m, struct rng *r)
{
	for (int k = 0; k < m->n_layers; k++) {
		float b = 1.0f / sqrtf((float)m->in[k]);
		rng_fill_uniform(r, weight(m, k)->v, weight(m, k)->count, -b, b);
		rng_fill_uniform(r, bias(m, k)->v, bias(m, k)->count, -b, b);
	}
}

/* --- workspace */

struct mlp_work *mlp_work_new(const struct mlp *m, int max_batch)
{
	struct mlp_work *w = xcalloc(1, sizeof(*w));
	size_t B = (size_t)max_batch, wide = 1;

	assert(max_batch >= 1);
	w->max_batch = max_batch;
	w->x = tensor_alloc(B * (size_t)m->cfg.input_size);
	for (int k = 0; k < m->cfg.n_hidden; k++) {
		size_t n = B * (size_t)m->cfg.hidden[k];
		w->h[k] = tensor_alloc(n);
		w->mask[k] = m->cfg.dropout > 0 ? tensor_alloc(n) : NULL;
		w->drop[k] = m->cfg.dropout > 0 ? tensor_alloc(n) : NULL;
	}
	for (int k = 0; k < m->n_layers; k++)
		wide = (size_t)m->in[k] > wide ? (size_t)m->in[k] : wide;
	w->dz_a = tensor_alloc(B * wide);
	w->dz_b = tensor_alloc(B * wide);
	w->ones = tensor_alloc(B);
	for (size_t i = 0; i < B; i++)
		w->ones[i] = 1;
	return w;
}

void mlp_work_free(struct mlp_work *w)
{
	if (!w)
		return;
	for (int k = 0; k < MLP_MAX_HIDDEN; k++) {
		tensor_free(w->h[k]);
		tensor_free(w->mask[k]);
		tensor_free(w->drop[k]);
	}
	tensor_free(w->x);
	tensor_free(w->dz_a);
	tensor_free(w->dz_b);
	tensor_free(w->ones);
	free(w);
}

/* --- elementwise loops: fused code, see TENSOR_FUSED_BEGIN in tensor.h */
TENSOR_FUSED_BEGIN

/* y[r][j] += b[j] */
TENSOR_CLONES static void add_bias(float *restrict y, const float *restrict b,
				   int rows, int cols)
{
	for (int r = 0; r < rows; r++)
		for (int j = 0; j < cols; j++)
			y[(size_t)r * (size_t)cols + j] += b[j];
}

/* The activation, in place. */
TENSOR_CLONES static void activate(float *restrict v, size_t n, enum mlp_activation act)
{
	if (act == MLP_RELU)
		for (size_t i = 0; i < n; i++)
			v[i] = v[i] > 0 ? v[i] : 0.0f;
	else
		for (size_t i = 0; i < n; i++)
			v[i] = tensor_tanh(v[i]);
}

/* d *= the activation's derivative at output 'h'. */
TENSOR_CLONES static void act_backward(float *restrict d, const float *restrict h,
				       size_t n, enum mlp_activation act)
{
	if (act == MLP_RELU)
		for (size_t i = 0; i < n; i++)
			d[i] = h[i] > 0 ? d[i] : 0.0f;
	else
		for (size_t i = 0; i < n; i++)
			d[i] *= 1.0f - h[i] * h[i];
}

static void mul_into(float *restrict a, const float *restrict b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] *= b[i];
}

TENSOR_FUSED_END

/* --- forward and backward */

/* The input of layer 'k' in the last forward pass. */
static const float *layer_input(const struct mlp_work *w, int k)
{
	if (k == 0)
		return w->x;
	return w->dropped ? w->drop[k - 1] : w->h[k - 1];
}

/* Inverted dropout of hidden layer 'k': kept values scaled by 1/(1-p). */
static void dropout(const struct mlp *m, struct mlp_work *w, int k, struct rng *r)
{
	size_t n = (size_t)w->batch * (size_t)m->out[k];
	float p = m->cfg.dropout, keep = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++) {
		w->mask[k][i] = rng_float(r) < p ? 0.0f : keep;
		w->drop[k][i] = w->h[k][i] * w->mask[k][i];
	}
}

void mlp_forward(struct mlp *m, struct mlp_work *w, const float *x, int batch,
		 struct rng *drop, float *y)
{
	int H = m->cfg.n_hidden;

	assert(batch >= 1 && batch <= w->max_batch);
	w->batch = batch;
	w->dropped = drop && m->cfg.dropout > 0 && H > 0;
	memcpy(w->x, x, (size_t)batch * (size_t)m->cfg.input_size * sizeof(float));
	for (int k = 0; k < m->n_layers; k++) {
		float *dst = k < H ? w->h[k] : y;
		blas_gemm(BLAS_N, BLAS_T, batch, m->out[k], m->in[k], 1, layer_input(w, k),
			  m->in[k], weight(m, k)->v, m->in[k], 0, dst, m->out[k]);
		add_bias(dst, bias(m, k)->v, batch, m->out[k]);
		if (k == H)
			break;   /* the output layer: no activation */
		activate(dst, (size_t)batch * (size_t)m->out[k], m->cfg.act);
		if (w->dropped)
			dropout(m, w, k, drop);
	}
}

void mlp_backward(struct mlp *m, struct mlp_work *w, const float *dy)
{
	const float *d = dy;
	int B = w->batch;

	for (int k = m->n_layers - 1; k >= 0; k--) {
		int in = m->in[k], out = m->out[k];
		float *next = d == w->dz_a ? w->dz_b : w->dz_a;
		blas_gemm(BLAS_T, BLAS_N, out, in, B, 1, d, out, layer_input(w, k), in,
			  0, weight(m, k)->g, in);
		/* the column sums of d, as a product: a fixed order per thread count */
		blas_gemm(BLAS_N, BLAS_N, 1, out, B, 1, w->ones, B, d, out, 0,
			  bias(m, k)->g, out);
		if (k == 0)
			break;
		blas_gemm(BLAS_N, BLAS_N, B, in, out, 1, d, out, weight(m, k)->v, in,
			  0, next, in);
		if (w->dropped)
			mul_into(next, w->mask[k - 1], (size_t)B * (size_t)in);
		act_backward(next, w->h[k - 1], (size_t)B * (size_t)in, m->cfg.act);
		d = next;
	}
}

void mlp_predict(struct mlp *m, struct mlp_work *w, const float *x, size_t n,
		 float *y)
{
	size_t B = (size_t)w->max_batch, in = (size_t)m->cfg.input_size;

	for (size_t i = 0; i < n; i += B) {
		int b = n - i < B ? (int)(n - i) : (int)B;
		mlp_forward(m, w, x + i * in, b, NULL, y + i * (size_t)m->cfg.output_size);
	}
}

double mlp_l2(struct mlp *m, double l2)
{
	double sum = 0;

	for (int k = 0; k < m->n_layers; k++) {
		struct tensor *t = weight(m, k);
		for (size_t i = 0; i < t->count; i++) {
			sum += (double)t->v[i] * t->v[i];
			t->g[i] += (float)l2 * t->v[i];
		}
	}
	return 0.5 * l2 * sum;
}

/* --- losses */

/* log(sum(exp(z))) of one row of 'c' logits, in double. */
static double log_sum_exp(const float *z, int c)
{
	double mx = z[0], s = 0;

	for (int j = 1; j < c; j++)
		mx = z[j] > mx ? z[j] : mx;
	for (int j = 0; j < c; j++)
		s += exp((double)z[j] - mx);
	return mx + log(s);
}

double mlp_xent(const float *logits, const int *label, size_t n, int classes,
		float *grad)
{
	double sum = 0;

	for (size_t r = 0; r < n; r++) {
		const float *z = logits + r * (size_t)classes;
		double lse = log_sum_exp(z, classes);
		assert(label[r] >= 0 && label[r] < classes);
		sum += lse - z[label[r]];
		for (int j = 0; grad && j < classes; j++)
			grad[r * (size_t)classes + j] =
				(float)((exp((double)z[j] - lse) - (j == label[r])) / (double)n);
	}
	return n ? sum / (double)n : 0;
}

void mlp_softmax(float *v, size_t n, int classes)
{
	for (size_t r = 0; r < n; r++) {
		float *z = v + r * (size_t)classes;
		double lse = log_sum_exp(z, classes);
		for (int j = 0; j < classes; j++)
			z[j] = (float)exp((double)z[j] - lse);
	}
}

/* --- files */

/* The metadata keys of the architecture, which 'meta' may not use */
static const char *const arch_keys[] = {"format", "input_size", "output_size",
					"hidden", "activation", "dropout"};

static int is_arch_key(const char *key)
{
	for (size_t i = 0; i < sizeof(arch_keys) / sizeof(arch_keys[0]); i++)
		if (!strcmp(key, arch_keys[i]))
			return 1;
	return 0;
}

/* "[64,32]": the hidden widths as JSON text (caller frees). */
static char *hidden_text(const struct mlp_config *cfg)
{
	json_t *a = json_array();
	char *text;

	for (int k = 0; k < cfg->n_hidden; k++)
		json_array_append_new(a, json_integer(cfg->hidden[k]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* The architecture and the caller's entries into the writer's metadata. */
static void set_metadata(struct safetensors_writer *sw, const struct mlp_config *cfg,
			 json_t *meta)
{
	char buf[32], *text = hidden_text(cfg);
	const char *key;
	json_t *v;

	safetensors_set_meta(sw, "format", MLP_FORMAT);
	snprintf(buf, sizeof(buf), "%d", cfg->input_size);
	safetensors_set_meta(sw, "input_size", buf);
	snprintf(buf, sizeof(buf), "%d", cfg->output_size);
	safetensors_set_meta(sw, "output_size", buf);
	safetensors_set_meta(sw, "hidden", text);
	safetensors_set_meta(sw, "activation", act_names[cfg->act]);
	snprintf(buf, sizeof(buf), "%.9g", (double)cfg->dropout);
	safetensors_set_meta(sw, "dropout", buf);
	free(text);
	json_object_foreach(meta, key, v) {
		assert(!is_arch_key(key));
		text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT |
						    JSON_SORT_KEYS | JSON_ENCODE_ANY);
		safetensors_set_meta(sw, key, text ? text : json_string_value(v));
		free(text);
	}
}

int mlp_save(const struct mlp *m, const char *path, json_t *meta, struct err *err)
{
	struct safetensors_writer sw;
	int rc;

	safetensors_writer_init(&sw);
	for (int i = 0; i < m->p.n; i++)
		safetensors_add(&sw, m->p.t[i].name, "F32", m->p.t[i].ndim,
				m->p.t[i].shape, m->p.t[i].v);
	set_metadata(&sw, &m->cfg, meta);
	rc = safetensors_write(&sw, path, err);
	safetensors_writer_release(&sw);
	return rc;
}

/* The metadata entry 'key' as JSON (caller decrefs), or NULL. */
static json_t *meta_json(const struct safetensors *st, const char *key)
{
	const char *s = safetensors_meta(st, key);

	return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

/* 1 if 'v' is an integer from 1 to MLP_MAX_WIDTH. */
static int is_width(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 1 &&
	       json_integer_value(v) <= MLP_MAX_WIDTH;
}

/* The metadata integer 'key', a width. */
static int meta_width(const struct safetensors *st, const char *path,
		      const char *key, int *out, struct err *err)
{
	json_t *v = meta_json(st, key);
	int ok = is_width(v);

	*out = ok ? (int)json_integer_value(v) : 0;
	json_decref(v);
	if (!ok)
		err_set(err, ERR_USER, "%s: metadata '%s' is '%s' (expected an integer "
			"from 1 to %d)", path, key, safetensors_meta(st, key) ?
			safetensors_meta(st, key) : "missing", MLP_MAX_WIDTH);
	return ok ? 0 : -1;
}

/* The hidden widths from the metadata's JSON text. */
static int read_hidden(const struct safetensors *st, const char *path,
		       struct mlp_config *cfg, struct err *err)
{
	const char *s = safetensors_meta(st, "hidden");
	json_t *a = meta_json(st, "hidden"), *v;
	size_t i;
	int ok = json_is_array(a) && json_array_size(a) <= MLP_MAX_HIDDEN;

	json_array_foreach(a, i, v) {
		ok = ok && is_width(v);
		if (ok)
			cfg->hidden[i] = (int)json_integer_value(v);
	}
	cfg->n_hidden = ok ? (int)json_array_size(a) : 0;
	json_decref(a);
	if (!ok)
		err_set(err, ERR_USER, "%s: metadata 'hidden' is '%s' (expected a list "
			"of at most %d widths from 1 to %d)", path, s ? s : "missing",
			MLP_MAX_HIDDEN, MLP_MAX_WIDTH);
	return ok ? 0 : -1;
}

/* The architecture from the metadata of a "dagrun.mlp.v1" file. */
static int read_config(const struct safetensors *st, const char *path,
		       struct mlp_config *cfg, struct err *err)
{
	const char *fmt = safetensors_meta(st, "format");
	const char *act = safetensors_meta(st, "activation");
	const char *drop = safetensors_meta(st, "dropout");

	memset(cfg, 0, sizeof(*cfg));
	if (!fmt || strcmp(fmt, MLP_FORMAT)) {
		err_set(err, ERR_USER, "%s: metadata 'format' is '%s' (expected '%s')",
			path, fmt ? fmt : "missing", MLP_FORMAT);
		return -1;
	}
	if (mlp_activation_parse(act, &cfg->act)) {
		err_set(err, ERR_USER, "%s: metadata 'activation' is '%s' (expected "
			"relu or tanh)", path, act ? act : "missing");
		return -1;
	}
	if (meta_width(st, path, "input_size", &cfg->input_size, err) ||
	    meta_width(st, path, "output_size", &cfg->output_size, err) ||
	    read_hidden(st, path, cfg, err))
		return -1;
	cfg->dropout = drop ? strtof(drop, NULL) : 0;
	cfg->dropout = cfg->dropout >= 0 && cfg->dropout < 1 ? cfg->dropout : 0;
	return 0;
}

/* The floats of a model of 'cfg' (in double: a hostile header may claim
 * sizes whose product overflows). */
static double param_count(const struct mlp_config *cfg)
{
	double n = 0, in = cfg->input_size;

	for (int k = 0; k <= cfg->n_hidden; k++) {
		double out = k == cfg->n_hidden ? cfg->output_size : cfg->hidden[k];
		n += out * (in + 1);
		in = out;
	}
	return n;
}

/* A model of 'cfg' from the file's tensors: exactly its tensors, by name
 * and shape.  The sizes are compared before anything is allocated. */
static struct mlp *read_weights(const struct safetensors *st, const char *path,
				const struct mlp_config *cfg, struct err *err)
{
	double have = 0;
	struct mlp *m;

	for (int i = 0; i < safetensors_count(st); i++)
		have += (double)safetensors_at(st, i)->count;
	if (have != param_count(cfg) || safetensors_count(st) != 2 * (cfg->n_hidden + 1)) {
		err_set(err, ERR_USER, "%s: %.0f weights in %d tensors (expected %.0f "
			"in %d for its metadata's architecture)", path, have,
			safetensors_count(st), param_count(cfg), 2 * (cfg->n_hidden + 1));
		return NULL;
	}
	m = mlp_new(cfg);
	for (int i = 0; i < m->p.n; i++) {
		struct tensor *t = &m->p.t[i];
		if (safetensors_get_f32(st, t->name, t->ndim, t->shape, t->v, err)) {
			mlp_free(m);
			return NULL;
		}
	}
	return m;
}

struct mlp *mlp_load(const char *path, struct safetensors **file, struct err *err)
{
	struct safetensors *st = safetensors_read(path, err);
	struct mlp_config cfg;
	struct mlp *m = NULL;

	if (st && read_config(st, path, &cfg, err) == 0)
		m = read_weights(st, path, &cfg, err);
	if (m && file) {
		*file = st;
		return m;
	}
	if (file)
		*file = NULL;
	safetensors_free(st);
	return m;
}
