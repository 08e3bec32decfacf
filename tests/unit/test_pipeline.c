/* Unit tests for pipeline loading: substitution, matrix, needs, errors. */
#include "test.h"
#include "tmpdir.h"

#include "pipeline.h"
#include "subst.h"

static struct pipeline *load(const char *yaml, struct err *err)
{
	struct pipeline *p = NULL;

	err_init(err);
	if (pipeline_load(tmp_write("p.yaml", yaml), &p, err) < 0)
		return NULL;
	return p;
}

TEST(loads_three_nodes)
{
	struct err err;
	struct pipeline *p = load("pipeline: demo\nnodes:\n  a: {cmd: echo a}\n"
				  "  b: {cmd: echo b, needs: [a]}\n"
				  "  c: {cmd: echo c, needs: b}\n", &err);
	ASSERT(p != NULL);
	ASSERT_STREQ(p->name, "demo");
	ASSERT_EQ(p->n_nodes, 3);
	ASSERT_EQ(p->nodes[1].n_needs, 1);
	ASSERT_EQ(p->nodes[1].needs[0], 0);
	ASSERT_EQ(p->nodes[2].needs[0], 1);
	ASSERT_EQ(p->nodes[0].kind, NODE_SHELL);
	ASSERT_EQ(p->nodes[0].line, 3);
	pipeline_free(p);
}

TEST(matrix_expands_with_stable_ids)
{
	struct err err;
	struct pipeline *p = load("nodes:\n  t:\n    cmd: run\n    matrix: {hidden: [64, 128], lr: [0.001, 0.1]}\n"
				  "  e: {cmd: eval, needs: [t]}\n", &err);
	ASSERT(p != NULL);
	ASSERT_EQ(p->n_nodes, 5);
	ASSERT_STREQ(p->nodes[0].id, "t[hidden=64,lr=0.001]");
	ASSERT_STREQ(p->nodes[3].id, "t[hidden=128,lr=0.1]");
	ASSERT_EQ(json_integer_value(json_object_get(p->nodes[3].params, "hidden")), 128);
	ASSERT(json_real_value(json_object_get(p->nodes[0].params, "lr")) == 0.001);
	ASSERT_EQ(p->nodes[4].n_needs, 4);
	pipeline_free(p);
}

TEST(scalars_follow_yaml_core_schema)
{
	struct err err;
	struct pipeline *p = load("nodes:\n  a:\n    cmd: x\n    params: {i: 3, f: 2.5, b: true, n: null, s: '3', t: yes}\n", &err);
	json_t *pa;
	ASSERT(p != NULL);
	pa = p->nodes[0].params;
	ASSERT(json_is_integer(json_object_get(pa, "i")));
	ASSERT(json_is_real(json_object_get(pa, "f")));
	ASSERT(json_is_true(json_object_get(pa, "b")));
	ASSERT(json_is_null(json_object_get(pa, "n")));
	ASSERT_STREQ(json_string_value(json_object_get(pa, "s")), "3");
	ASSERT_STREQ(json_string_value(json_object_get(pa, "t")), "yes");
	pipeline_free(p);
}

TEST(errors_are_gathered_with_positions)
{
	struct err err;
	struct pipeline *p = load("nodes:\n  a: {cmd: x, need: [b]}\n  b: {task: nope}\n", &err);
	ASSERT(p == NULL);
	ASSERT_EQ(err.kind, ERR_USER);
	ASSERT_EQ(err.count, 2);
	ASSERT_CONTAINS(err.msg, "p.yaml:2:15: unknown field 'need'");
	ASSERT_CONTAINS(err.msg, "p.yaml:3:13: unknown task 'nope'");
}

TEST(cycle_is_named)
{
	struct err err;
	struct pipeline *p = load("nodes:\n  a: {cmd: x, needs: [b]}\n  b: {cmd: x, needs: [a]}\n", &err);
	ASSERT(p == NULL);
	ASSERT_CONTAINS(err.msg, "cycle: a -> b -> a");
}

TEST(subst_whole_value_keeps_type)
{
	json_t *cfg = json_pack("{s:{s:i,s:[i,i]}}", "gru", "hidden", 64, "layers", 1, 2);
	char msg[256];
	json_t *v = subst_resolve(cfg, "${gru.layers}", msg, sizeof(msg));
	ASSERT(json_is_array(v));
	json_decref(v);
	v = subst_resolve(cfg, "h=${gru.hidden}/$${x}", msg, sizeof(msg));
	ASSERT_STREQ(json_string_value(v), "h=64/${x}");
	json_decref(v);
	v = subst_resolve(cfg, "${gru.hiden}", msg, sizeof(msg));
	ASSERT(v == NULL);
	ASSERT_CONTAINS(msg, "expected one of: hidden, layers");
	json_decref(cfg);
}

TEST(scalar_text_is_shortest_round_trip)
{
	json_t *v = json_real(0.1);
	char *t = subst_scalar_text(v);
	ASSERT_STREQ(t, "0.1");
	free(t);
	json_decref(v);
	v = json_real(3.0);
	t = subst_scalar_text(v);
	ASSERT_STREQ(t, "3.0");
	free(t);
	json_decref(v);
}

TEST(cleanup)
{
	tmp_cleanup();
}

TEST_LIST(T(loads_three_nodes), T(matrix_expands_with_stable_ids),
	  T(scalars_follow_yaml_core_schema), T(errors_are_gathered_with_positions),
	  T(cycle_is_named), T(subst_whole_value_keeps_type),
	  T(scalar_text_is_shortest_round_trip), T(cleanup))
