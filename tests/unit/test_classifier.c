/* test_classifier: a train.mlp / train.softmax model file opened by
 * tasks/lib/classifier.h predicts what the network predicts on the rows
 * its trainer scaled: columns bound by name in any order, the scaler
 * applied, more rows than one chunk; integer classes; and the refusals
 * (a regressor, a missing feature, a folder without a model).  The
 * train.xgboost branch runs in tests/integration/t_rps.sh. */
#include "test.h"
#include "tmpdir.h"

#include "classifier.h"
#include "mlp.h"

#include <math.h>
#include <sys/stat.h>

static const char *const scaler_json =
	"{\"kind\": \"standard\", \"params\": {\"a\": {\"mean\": 1, \"std\": 2}, "
	"\"b\": {\"mean\": -1, \"std\": 0.5}, \"c\": {\"mean\": 0, \"std\": 1}}}";

/* A model of 'hidden' (0 or a width) saved in tmp_dir()/'name' with the
 * metadata dense.c writes; its folder (static). */
static const char *save_model(const char *name, int hidden, const char *objective,
			      json_t *classes, const char *scaler, struct mlp **out)
{
	static char dir[512];
	struct mlp_config cfg = {.input_size = 3, .output_size = (int)json_array_size(classes),
				 .n_hidden = hidden ? 1 : 0, .hidden = {hidden},
				 .act = MLP_TANH};
	struct mlp *m = mlp_new(&cfg);
	json_t *meta = json_pack("{s:s, s:s, s:[s,s,s], s:o, s:o}", "kind",
				 hidden ? "mlp" : "softmax", "objective", objective,
				 "features", "a", "b", "c", "classes", classes,
				 "scaler", json_loads(scaler, 0, NULL));
	struct err err;
	struct rng r;
	char *path;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir(), name);
	mkdir(dir, 0755);
	path = fs_join(dir, "model.safetensors");
	err_init(&err);
	rng_seed(&r, 7);
	mlp_init(m, &r);
	if (mlp_save(m, path, meta, &err))
		abort();
	json_decref(meta);
	free(path);
	*out = m;
	return dir;
}

TEST(dense_predicts_as_the_network)
{
	struct mlp *m;
	const char *dir = save_model("mlp", 5, "classify",
				     json_pack("[s,s,s]", "paper", "rock", "scissors"),
				     scaler_json, &m);
	const char *names[4] = {"z", "c", "a", "b"};   /* bound by name */
	enum { N = 300 };                              /* > one chunk of 256 */
	static double x[N * 4];
	static float scaled[N * 3], want[N * 3], got[N * 3];
	struct classifier *c;
	struct mlp_work *w = mlp_work_new(m, N);
	struct err err;
	struct rng r;

	err_init(&err);
	rng_seed(&r, 1);
	for (int i = 0; i < N * 4; i++)
		x[i] = 4.0 * rng_float(&r) - 2;
	for (int i = 0; i < N; i++) {
		scaled[i * 3 + 0] = (float)((x[i * 4 + 2] - 1) / 2);
		scaled[i * 3 + 1] = (float)((x[i * 4 + 3] + 1) / 0.5);
		scaled[i * 3 + 2] = (float)x[i * 4 + 1];
	}
	mlp_predict(m, w, scaled, N, want);
	mlp_softmax(want, N, 3);
	ASSERT_EQ(classifier_open(dir, &c, &err), 0);
	ASSERT_STREQ(classifier_kind(c), "mlp");
	ASSERT_EQ(classifier_classes(c), 3);
	ASSERT_STREQ(classifier_class_name(c, 1), "rock");
	ASSERT_EQ(classifier_features(c), 3);
	ASSERT_STREQ(classifier_feature_name(c, 2), "c");
	ASSERT_EQ(classifier_bind(c, names, 4, &err), 0);
	ASSERT_EQ(classifier_predict(c, x, N, got, &err), 0);
	for (int i = 0; i < N; i++) {
		ASSERT(fabsf(got[i * 3] + got[i * 3 + 1] + got[i * 3 + 2] - 1) < 1e-5f);
		for (int k = 0; k < 3; k++)
			ASSERT(fabsf(got[i * 3 + k] - want[i * 3 + k]) < 1e-6f);
	}
	classifier_free(c);
	mlp_work_free(w);
	mlp_free(m);
}

TEST(softmax_integer_classes_unscaled)
{
	struct mlp *m;
	const char *dir = save_model("softmax", 0, "classify", json_pack("[i,i]", 3, 10),
				     "{\"kind\": \"none\", \"params\": {}}", &m);
	const char *names[3] = {"a", "b", "c"};
	double x[3] = {0.5, -1, 2};
	float xf[3] = {0.5f, -1, 2}, want[2], got[2];
	struct mlp_work *w = mlp_work_new(m, 1);
	struct classifier *c;
	struct err err;

	err_init(&err);
	mlp_predict(m, w, xf, 1, want);
	mlp_softmax(want, 1, 2);
	ASSERT_EQ(classifier_open(dir, &c, &err), 0);
	ASSERT_STREQ(classifier_kind(c), "softmax");
	ASSERT_STREQ(classifier_class_name(c, 0), "3");
	ASSERT_STREQ(classifier_class_name(c, 1), "10");
	ASSERT_EQ(classifier_bind(c, names, 3, &err), 0);
	ASSERT_EQ(classifier_predict(c, x, 1, got, &err), 0);
	ASSERT(fabsf(got[0] - want[0]) < 1e-6f && fabsf(got[1] - want[1]) < 1e-6f);
	classifier_free(c);
	mlp_work_free(w);
	mlp_free(m);
}

TEST(refusals)
{
	struct mlp *m;
	const char *dir = save_model("regress", 4, "regress", json_pack("[s]", "y"),
				     scaler_json, &m);
	const char *names[2] = {"a", "c"};
	struct classifier *c;
	struct err err;
	char empty[600];

	err_init(&err);
	mlp_free(m);
	ASSERT_EQ(classifier_open(dir, &c, &err), -1);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_CONTAINS(err.msg, "expected a classifier");
	dir = save_model("two", 4, "classify", json_pack("[s,s]", "x", "y"), scaler_json, &m);
	mlp_free(m);
	err_init(&err);
	ASSERT_EQ(classifier_open(dir, &c, &err), 0);
	ASSERT_EQ(classifier_bind(c, names, 2, &err), -1);
	ASSERT_CONTAINS(err.msg, "feature 'b' is not among the 2 columns");
	classifier_free(c);
	snprintf(empty, sizeof(empty), "%s/empty", tmp_dir());
	mkdir(empty, 0755);
	err_init(&err);
	ASSERT_EQ(classifier_open(empty, &c, &err), -1);
	ASSERT_CONTAINS(err.msg, "no model.safetensors or model_meta.json");
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(dense_predicts_as_the_network), T(softmax_integer_classes_unscaled),
	  T(refusals), T(cleanup))
