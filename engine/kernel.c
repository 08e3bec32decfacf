/* kernel: the engine's side of the kernel contract: params checking and
 * describing.  The registry table itself is in tasks/registry.c. */
#include "kernel.h"
#include "strbuf.h"
#include "subst.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *param_type_name(enum param_type t)
{
	static const char *const names[] = {
		"integer", "number", "boolean", "string", "choice", "path",
		"list", "mapping", "any"
	};

	return names[t];
}

const struct param_spec *kernel_param(const struct kernel *k, const char *name)
{
	const struct param_spec *ps;

	for (ps = k->params; ps->name; ps++)
		if (!strcmp(ps->name, name))
			return ps;
	return NULL;
}

static int in_choices(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices;

	while (p) {
		if (!strncmp(p, s, n) && (p[n] == '|' || p[n] == '\0'))
			return 1;
		p = strchr(p, '|');
		if (p)
			p++;
	}
	return 0;
}

static int type_ok(const struct param_spec *ps, json_t *v)
{
	switch (ps->type) {
	case PT_INT:
		return json_is_integer(v) || (json_is_real(v) &&
			json_real_value(v) == floor(json_real_value(v)));
	case PT_NUM:
		return json_is_number(v);
	case PT_BOOL:
		return json_is_boolean(v);
	case PT_STR:
	case PT_PATH:
		return json_is_string(v);
	case PT_ENUM:
		return json_is_string(v) && in_choices(ps->choices, json_string_value(v));
	case PT_LIST:
		return json_is_array(v);
	case PT_MAP:
		return json_is_object(v);
	default:
		return 1;
	}
}

static const char *loc(json_t *locs, const char *name, const char *where)
{
	json_t *l = locs ? json_object_get(locs, name) : NULL;

	return l ? json_string_value(l) : where;
}

/* One given value: its type and range. Returns 0 or -1 (err appended). */
static int check_value(const struct kernel *k, const struct param_spec *ps,
		       json_t *v, const char *at, struct err *err)
{
	char *text;

	if (json_is_null(v) && ps->def && !strcmp(ps->def, "null"))
		return 0;
	if (!type_ok(ps, v)) {
		text = subst_scalar_text(v);
		if (ps->type == PT_ENUM)
			err_append(err, ERR_USER, "%s: param '%s' of task '%s' "
				   "must be one of %s, found '%s'", at, ps->name,
				   k->name, ps->choices, text ? text : "a table");
		else
			err_append(err, ERR_USER, "%s: param '%s' of task '%s' "
				   "must be %s %s, found '%s'", at, ps->name, k->name,
				   ps->type == PT_INT ? "an" : "a",
				   param_type_name(ps->type), text ? text : "a table");
		free(text);
		return -1;
	}
	if (json_is_number(v) && ps->min < ps->max &&
	    (json_number_value(v) < ps->min || json_number_value(v) > ps->max)) {
		err_append(err, ERR_USER, "%s: param '%s' of task '%s' must be "
			   "between %g and %g, found %g", at, ps->name, k->name,
			   ps->min, ps->max, json_number_value(v));
		return -1;
	}
	return 0;
}

static void unknown_param(const struct kernel *k, const char *name,
			  const char *at, struct err *err)
{
	const struct param_spec *ps;
	struct strbuf sb;

	sb_init(&sb);
	for (ps = k->params; ps->name; ps++)
		sb_addf(&sb, "%s%s", ps == k->params ? "" : ", ", ps->name);
	err_append(err, ERR_USER, "%s: unknown param '%s' for task '%s' "
		   "(expected one of: %s)", at, name, k->name,
		   sb.len ? sb.buf : "no params");
	sb_release(&sb);
}

json_t *kernel_check_params(const struct kernel *k, json_t *params,
			    json_t *locs, const char *where, struct err *err)
{
	const struct param_spec *ps;
	json_t *out = json_object(), *v;
	const char *name;
	int bad = 0;

	json_object_foreach(params, name, v) {
		ps = kernel_param(k, name);
		if (!ps) {
			unknown_param(k, name, loc(locs, name, where), err);
			bad = 1;
		} else if (check_value(k, ps, v, loc(locs, name, where), err) < 0) {
			bad = 1;
		} else if (ps->type == PT_INT && json_is_real(v)) {
			json_object_set_new(out, name, json_integer((json_int_t)json_real_value(v)));
		} else {
			json_object_set(out, name, v);
		}
	}
	for (ps = k->params; ps->name; ps++) {
		if (json_object_get(out, ps->name) || json_object_get(params, ps->name))
			continue;
		if (!ps->def) {
			err_append(err, ERR_USER, "%s: task '%s' needs param '%s' "
				   "(%s: %s)", where, k->name, ps->name,
				   param_type_name(ps->type), ps->doc ? ps->doc : "");
			bad = 1;
			continue;
		}
		v = json_loads(ps->def, JSON_DECODE_ANY, NULL);
		if (!v) {
			err_append(err, ERR_INTERNAL, "kernel '%s': bad default for "
				   "'%s': %s", k->name, ps->name, ps->def);
			bad = 1;
			continue;
		}
		json_object_set_new(out, ps->name, v);
	}
	if (bad) {
		json_decref(out);
		return NULL;
	}
	return out;
}

char *kernel_describe(const struct kernel *k)
{
	const struct param_spec *ps;
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "%s (version %d)\n\n%s\n\nparams:\n", k->name, k->version,
		k->doc ? k->doc : "");
	for (ps = k->params; ps->name; ps++) {
		sb_addf(&sb, "  %-22s %-8s %s", ps->name, param_type_name(ps->type),
			ps->def ? "default " : "required");
		if (ps->def)
			sb_adds(&sb, ps->def);
		if (ps->type == PT_ENUM)
			sb_addf(&sb, "; one of %s", ps->choices);
		if (ps->min < ps->max)
			sb_addf(&sb, "; %g to %g", ps->min, ps->max);
		sb_addf(&sb, "\n      %s\n", ps->doc ? ps->doc : "");
	}
	return sb_detach(&sb);
}

/* A default or choice list as Markdown code, '|' escaped for tables. */
static void md_code(struct strbuf *sb, const char *text)
{
	sb_addc(sb, '`');
	for (; *text; text++) {
		if (*text == '|')
			sb_addc(sb, '\\');
		sb_addc(sb, *text);
	}
	sb_addc(sb, '`');
}

char *kernel_describe_markdown(const struct kernel *k)
{
	const struct param_spec *ps;
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "## %s\n\nVersion %d. %s\n\n", k->name, k->version,
		k->doc ? k->doc : "");
	sb_adds(&sb, "| param | type | default | meaning |\n|---|---|---|---|\n");
	for (ps = k->params; ps->name; ps++) {
		sb_addf(&sb, "| `%s` | %s", ps->name, param_type_name(ps->type));
		if (ps->type == PT_ENUM) {
			sb_adds(&sb, ": ");
			md_code(&sb, ps->choices);
		}
		if (ps->min < ps->max)
			sb_addf(&sb, " (%g to %g)", ps->min, ps->max);
		sb_adds(&sb, " | ");
		if (ps->def)
			md_code(&sb, ps->def);
		else
			sb_adds(&sb, "required");
		sb_addf(&sb, " | %s |\n", ps->doc ? ps->doc : "");
	}
	sb_addc(&sb, '\n');
	return sb_detach(&sb);
}
