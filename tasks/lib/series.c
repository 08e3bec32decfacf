/* series: see series.h. */
#include "series.h"

#include <stdlib.h>
#include <string.h>

/* The folder of the table to fit: the 'data' need, or the first. */
static const char *input_dir(struct kctx *ctx, const char *task, struct err *err)
{
	const char *name = kctx_str(ctx, "data");

	if (name && !kctx_input(ctx, name))
		err_set(err, ERR_USER, "param 'data' of task '%s': no needed node "
			"'%s' (expected one listed in 'needs')", task, name);
	else if (!name && kctx_n_inputs(ctx) == 0)
		err_set(err, ERR_USER, "node '%s': task '%s' needs a table (expected "
			"needs: [a data.load node])", kctx_node(ctx), task);
	else
		return name ? kctx_input(ctx, name) : kctx_input_dir(ctx, 0);
	return NULL;
}

int series_load(struct kctx *ctx, const char *task, struct series *s,
		struct err *err)
{
	const char *dir = input_dir(ctx, task, err);
	long col;

	memset(s, 0, sizeof(*s));
	if (!dir || features_read_table(dir, &s->fs, &s->ts, &s->schema, err))
		return -1;
	s->target = kctx_str(ctx, "target");
	if (!s->target)
		s->target = json_string_value(json_object_get(s->schema, "target"));
	col = s->target ? features_find(&s->fs, s->target) : -1;
	if (col < 0) {
		err_set(err, ERR_USER, "%s/schema.json: no number column '%s' (expected "
			"the target among the table's number columns, or param 'target')",
			dir, s->target ? s->target : "(no target)");
		return -1;
	}
	s->y = s->fs.cols[col];
	return 0;
}

void series_release(struct series *s)
{
	features_release(&s->fs);
	free(s->ts);
	json_decref(s->schema);
}
