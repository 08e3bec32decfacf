/* test_xgb: loading and predicting train.xgboost's output folder (xgb.h).
 * The models are grown here with the XGBoost C API, as train.xgboost grows
 * them, on problems a few trees solve exactly; the folder's two files are
 * then read back through xgb.h, and broken in every way the loader must
 * refuse. */
#include "test.h"
#include "tmpdir.h"
#include "xgb.h"

#include <math.h>
#include <xgboost/c_api.h>

/* 'n' rows of one feature x evenly in [-1, 1]. */
#define ROWS 60

static float xs[ROWS];

static void fill_x(void)
{
	for (int i = 0; i < ROWS; i++)
		xs[i] = -1 + 2 * (float)i / (ROWS - 1);
}

/* Grow 'rounds' rounds of 'objective' on x -> y into dir/model.json;
 * 'extra' params as "key", "value" pairs, NULL-ended.  0 or -1. */
static int grow(const char *dir, const char *objective, int classes, const float *y,
		int rounds, const char *const *extra)
{
	DMatrixHandle dm;
	BoosterHandle h;
	char path[512], ncls[16];
	const char *name[] = {"x"};
	int rc;

	fill_x();
	snprintf(path, sizeof(path), "%s/model.json", dir);
	snprintf(ncls, sizeof(ncls), "%d", classes);
	rc = XGDMatrixCreateFromMat(xs, ROWS, 1, NAN, &dm) ||
	     XGDMatrixSetFloatInfo(dm, "label", y, ROWS) ||
	     XGBoosterCreate(&dm, 1, &h);
	if (rc)
		return -1;
	rc = XGBoosterSetStrFeatureInfo(h, "feature_name", name, 1) ||
	     XGBoosterSetParam(h, "objective", objective) ||
	     XGBoosterSetParam(h, "nthread", "1") ||
	     (classes > 2 && XGBoosterSetParam(h, "num_class", ncls));
	for (int i = 0; extra && extra[i] && !rc; i += 2)
		rc = XGBoosterSetParam(h, extra[i], extra[i + 1]);
	for (int i = 0; i < rounds && !rc; i++)
		rc = XGBoosterUpdateOneIter(h, i, dm);
	rc = rc || XGBoosterSaveModel(h, path);
	XGBoosterFree(h);
	XGDMatrixFree(dm);
	return rc ? -1 : 0;
}

/* A fresh folder tmp_dir()/name. */
static const char *folder(const char *name)
{
	static char dir[512];
	struct err err;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir(), name);
	fs_mkdirs(dir, &err);
	return dir;
}

static void put_meta(const char *dir, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/model_meta.json", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* The binary model of "neg" below 0, "pos" above, in folder 'name'. */
static const char *binary(const char *name)
{
	const char *dir = folder(name);
	float y[ROWS];

	fill_x();
	for (int i = 0; i < ROWS; i++)
		y[i] = xs[i] > 0;
	if (grow(dir, "binary:logistic", 2, y, 10, NULL))
		return NULL;
	put_meta(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		 "\"classes\": [\"neg\", \"pos\"], \"features\": [\"x\"], "
		 "\"best_iteration\": 9, \"rounds\": 10}");
	return dir;
}

TEST(binary_model_loads_and_predicts_two_probabilities)
{
	const char *dir = binary("bin");
	struct xgb_model *m = NULL;
	struct err err;
	float x[2] = {-0.8f, 0.8f}, p[4];

	err_init(&err);
	ASSERT(dir);
	ASSERT_EQ(xgb_model_load(dir, &m, &err), 0);
	ASSERT_EQ(xgb_model_classes(m), 2);
	ASSERT_STREQ(xgb_model_class_name(m, 1), "pos");
	ASSERT_EQ(xgb_model_features(m), 1);
	ASSERT_STREQ(xgb_model_feature_name(m, 0), "x");
	ASSERT_EQ(xgb_model_best_iteration(m), 9);
	ASSERT_EQ(xgb_model_predict(m, x, 2, 1, p, &err), 0);
	ASSERT(p[0] > 0.9f && p[3] > 0.9f);
	ASSERT(fabsf(p[0] + p[1] - 1) < 1e-6f && fabsf(p[2] + p[3] - 1) < 1e-6f);
	ASSERT_EQ(xgb_model_predict(m, x, 1, 2, p, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "2 features given to a model of 1");
	xgb_model_free(m);
}

TEST(three_classes_and_best_iteration)
{
	const char *dir = folder("multi");
	struct xgb_model *m = NULL;
	struct err err;
	float y[ROWS], x[3] = {-0.9f, 0, 0.9f}, p[9], q[9];

	err_init(&err);
	fill_x();
	for (int i = 0; i < ROWS; i++)
		y[i] = xs[i] < -0.34f ? 0 : xs[i] < 0.34f ? 1 : 2;
	ASSERT_EQ(grow(dir, "multi:softprob", 3, y, 8, NULL), 0);
	put_meta(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		 "\"classes\": [7, 8, 9], \"features\": [\"x\"], "
		 "\"best_iteration\": 7, \"rounds\": 8}");
	ASSERT_EQ(xgb_model_load(dir, &m, &err), 0);
	ASSERT_STREQ(xgb_model_class_name(m, 2), "9");
	ASSERT_EQ(xgb_model_predict(m, x, 3, 1, p, &err), 0);
	for (int i = 0; i < 3; i++) {
		ASSERT(p[i * 3 + i] > 0.8f);
		ASSERT(fabsf(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2] - 1) < 1e-6f);
	}
	xgb_model_free(m);
	/* best_iteration 0: the first round's trees alone, less sure */
	put_meta(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		 "\"classes\": [7, 8, 9], \"features\": [\"x\"], "
		 "\"best_iteration\": 0, \"rounds\": 8}");
	ASSERT_EQ(xgb_model_load(dir, &m, &err), 0);
	ASSERT_EQ(xgb_model_predict(m, x, 3, 1, q, &err), 0);
	ASSERT(q[0] < p[0] && q[0] > 1.0f / 3);
	xgb_model_free(m);
}

TEST(regression_predicts_the_label)
{
	const char *dir = folder("reg");
	struct xgb_model *m = NULL;
	struct err err;
	float y[ROWS], x[2] = {-0.5f, 0.5f}, p[2];
	static const char *const extra[] = {"eta", "1", NULL};

	err_init(&err);
	fill_x();
	for (int i = 0; i < ROWS; i++)
		y[i] = xs[i] > 0 ? 5 : -3;
	ASSERT_EQ(grow(dir, "reg:squarederror", 0, y, 5, extra), 0);
	put_meta(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"regress\", "
		 "\"classes\": [], \"features\": [\"x\"], \"best_iteration\": 4, "
		 "\"rounds\": 5}");
	ASSERT_EQ(xgb_model_load(dir, &m, &err), 0);
	ASSERT_EQ(xgb_model_classes(m), 0);
	ASSERT_EQ(xgb_model_predict(m, x, 2, 1, p, &err), 0);
	ASSERT(fabsf(p[0] + 3) < 1e-3f && fabsf(p[1] - 5) < 1e-3f);
	xgb_model_free(m);
}

/* Loading 'dir' with model_meta.json 'meta' fails with ERR_USER naming
 * 'file' and saying 'what'. */
static int refused(const char *dir, const char *meta, const char *file, const char *what)
{
	struct xgb_model *m = NULL;
	struct err err;
	int ok;

	err_init(&err);
	if (meta)
		put_meta(dir, meta);
	ok = xgb_model_load(dir, &m, &err) == -1 && m == NULL && err.kind == ERR_USER &&
	     strstr(err.msg, file) && strstr(err.msg, what);
	if (!ok)
		fprintf(stderr, "  got: %s\n", err.msg);
	return ok;
}

TEST(malformed_files_are_refused_naming_the_file)
{
	const char *dir = binary("bad");
	char path[600];

	ASSERT(dir);
	ASSERT(refused(dir, "{\"format\": ", "model_meta.json:1:", "expected train.xgboost's"));
	ASSERT(refused(dir, "{\"format\": \"dagrun.mlp.v1\"}", "model_meta.json",
		       "\"format\" is 'dagrun.mlp.v1' (expected \"dagrun-xgboost-1\")"));
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"rank\"}",
		       "model_meta.json", "\"objective\" must be"));
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		       "\"classes\": [\"a\"], \"features\": [\"x\"], \"best_iteration\": 0, "
		       "\"rounds\": 1}", "model_meta.json", "\"classes\" must be a list of at least 2"));
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		       "\"classes\": [\"a\", {}], \"features\": [\"x\"], \"best_iteration\": 0, "
		       "\"rounds\": 1}", "model_meta.json", "\"classes\" must be"));
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		       "\"classes\": [\"a\", \"b\"], \"features\": [\"x\"], \"best_iteration\": 10, "
		       "\"rounds\": 10}", "model_meta.json", "\"best_iteration\" must be an integer from 0 to 9"));
	/* the two files disagree */
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		       "\"classes\": [\"a\", \"b\"], \"features\": [\"x\", \"z\"], \"best_iteration\": 0, "
		       "\"rounds\": 1}", "model.json", "takes 1 features (expected 2"));
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		       "\"classes\": [\"a\", \"b\", \"c\"], \"features\": [\"x\"], \"best_iteration\": 0, "
		       "\"rounds\": 1}", "model.json", "objective is 'binary:logistic'"));
	ASSERT(refused(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		       "\"classes\": [\"a\", \"b\"], \"features\": [\"x\"], \"best_iteration\": 19, "
		       "\"rounds\": 20}", "model.json", "has 10 rounds"));
	put_meta(dir, "{\"format\": \"dagrun-xgboost-1\", \"objective\": \"classify\", "
		 "\"classes\": [\"a\", \"b\"], \"features\": [\"x\"], \"best_iteration\": 0, "
		 "\"rounds\": 1}");
	snprintf(path, sizeof(path), "%s/model.json", dir);
	tmp_write("bad/model.json", "{\"learner\": 1}");
	ASSERT(refused(dir, NULL, "model.json", "not an XGBoost JSON model"));
	remove(path);
	ASSERT(refused(dir, NULL, "model.json", "no such file"));
}

/* dir/model.json's bytes (caller frees), or NULL. */
static char *model_bytes(const char *dir, size_t *n)
{
	char path[600], *text = NULL;
	struct err err;

	snprintf(path, sizeof(path), "%s/model.json", dir);
	return fs_read_file(path, &text, n, &err) ? NULL : text;
}

TEST(same_seed_same_bytes)
{
	static const char *const s1[] = {"subsample", "0.6", "seed", "11", NULL};
	static const char *const s2[] = {"subsample", "0.6", "seed", "12", NULL};
	float y[ROWS];
	char *a, *b, *c;
	size_t na, nb, nc;

	fill_x();
	for (int i = 0; i < ROWS; i++)
		y[i] = xs[i] * xs[i];
	ASSERT_EQ(grow(folder("d1"), "reg:squarederror", 0, y, 6, s1), 0);
	ASSERT_EQ(grow(folder("d2"), "reg:squarederror", 0, y, 6, s1), 0);
	ASSERT_EQ(grow(folder("d3"), "reg:squarederror", 0, y, 6, s2), 0);
	a = model_bytes(folder("d1"), &na);
	b = model_bytes(folder("d2"), &nb);
	c = model_bytes(folder("d3"), &nc);
	ASSERT(a && b && c);
	ASSERT(na == nb && !memcmp(a, b, na));
	ASSERT(na != nc || memcmp(a, c, na));
	free(a);
	free(b);
	free(c);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(binary_model_loads_and_predicts_two_probabilities),
	  T(three_classes_and_best_iteration), T(regression_predicts_the_label),
	  T(malformed_files_are_refused_naming_the_file), T(same_seed_same_bytes),
	  T(cleanup))
