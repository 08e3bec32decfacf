/* subst: see subst.h. */
#include "subst.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *subst_scalar_text(const json_t *v)
{
	char buf[64];
	int prec;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return xasprintf("%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		/* 15..17 digits: the first that reads back to the same double */
		for (prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, json_real_value(v));
			if (strtod(buf, NULL) == json_real_value(v))
				break;
		}
		if (!strpbrk(buf, ".eEn"))
			strcat(buf, ".0");
		return xstrdup(buf);
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	case JSON_NULL:
		return xstrdup("null");
	default:
		return NULL;
	}
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of an object, sorted, as "a, b, c" for an error message. */
static void list_keys(json_t *obj, char *out, size_t n)
{
	const char **keys = xmalloc((json_object_size(obj) + 1) * sizeof(char *));
	const char *k;
	json_t *v;
	size_t at = 0, i, cnt = 0;

	json_object_foreach(obj, k, v)
		keys[cnt++] = k;
	qsort(keys, cnt, sizeof(char *), cmp_key);
	out[0] = '\0';
	for (i = 0; i < cnt && at + strlen(keys[i]) + 3 < n; i++)
		at += (size_t)snprintf(out + at, n - at, "%s%s", at ? ", " : "", keys[i]);
	free(keys);
}

/* Walk 'path' (a.b.c, 'len' bytes) through 'config'. */
static json_t *lookup(json_t *config, const char *path, size_t len,
		      char *msg, size_t n)
{
	char keys[512], *p = xstrndup(path, len), *save = NULL, *k;
	json_t *cur = config, *next;
	const char *where = "the params file";

	if (!config) {
		snprintf(msg, n, "reference '${%s}' but the pipeline has no "
			 "'params:' file (expected 'params: lua/FILE.lua')", p);
		free(p);
		return NULL;
	}
	for (k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (!json_is_object(cur)) {
			snprintf(msg, n, "unknown reference '${%.*s}': %s is not "
				 "a table with keys", (int)len, path, where);
			free(p);
			return NULL;
		}
		next = json_object_get(cur, k);
		if (!next) {
			list_keys(cur, keys, sizeof(keys));
			snprintf(msg, n, "unknown reference '${%.*s}': no key '%s' "
				 "in %s (expected one of: %s)", (int)len, path, k,
				 where, keys);
			free(p);
			return NULL;
		}
		cur = next;
		where = "that table";
	}
	free(p);
	if (cur == config) {
		snprintf(msg, n, "empty reference '${}' (expected '${name}' or "
			 "'${table.key}')");
		return NULL;
	}
	return cur;
}

int subst_has_ref(const char *s)
{
	const char *p;

	for (p = strstr(s, "${"); p; p = strstr(p + 2, "${"))
		if (p == s || p[-1] != '$')
			return 1;
	return 0;
}

static int valid_path(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '{' || s[i] == '$' || s[i] == ' ')
			return 0;
	return len > 0;
}

json_t *subst_resolve(json_t *config, const char *s, char *msg, size_t n)
{
	struct strbuf sb;
	const char *p, *end;
	json_t *v;
	char *text;
	size_t len = strlen(s);

	if (!strstr(s, "${"))
		return json_string(s);
	/* exactly one reference: the value itself, any type */
	if (len > 3 && s[0] == '$' && s[1] == '{' &&
	    strchr(s + 2, '}') == s + len - 1 && valid_path(s + 2, len - 3)) {
		v = lookup(config, s + 2, len - 3, msg, n);
		return v ? json_deep_copy(v) : NULL;
	}
	sb_init(&sb);
	for (p = s; *p; ) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			sb_adds(&sb, "${");
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			sb_addc(&sb, *p++);
			continue;
		}
		end = strchr(p + 2, '}');
		if (!end || !valid_path(p + 2, (size_t)(end - p - 2))) {
			snprintf(msg, n, "malformed reference in '%s' (expected "
				 "'${name}' or '${table.key}'; write '$${' for a "
				 "literal '${')", s);
			goto fail;
		}
		v = lookup(config, p + 2, (size_t)(end - p - 2), msg, n);
		if (!v)
			goto fail;
		if (json_is_object(v) || json_is_array(v)) {
			snprintf(msg, n, "reference '${%.*s}' is a table and cannot "
				 "be part of a longer string (expected a number, "
				 "string or boolean)", (int)(end - p - 2), p + 2);
			goto fail;
		}
		text = subst_scalar_text(v);
		sb_adds(&sb, text);
		free(text);
		p = end + 1;
	}
	v = json_string(sb.buf);
	sb_release(&sb);
	return v;
fail:
	sb_release(&sb);
	return NULL;
}
