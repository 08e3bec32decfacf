/* safetensors: see safetensors.h.  The reader keeps its own copy of the
 * file; every tensor view points into it. */
#include "safetensors.h"
#include "fs.h"
#include "xalloc.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct safetensors {
	char *name;
	unsigned char *buf;
	size_t len;
	json_t *header;
	json_t *meta;                      /* borrowed from 'header'; may be NULL */
	struct safetensors_tensor *t;
	int n;
};

static const struct dtype {
	const char *name;
	size_t size;
} dtypes[] = {
	{"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
	{"U16", 2}, {"I16", 2}, {"F16", 2}, {"BF16", 2},
	{"U32", 4}, {"I32", 4}, {"F32", 4},
	{"U64", 8}, {"I64", 8}, {"F64", 8},
};

static const struct dtype *find_dtype(const char *name)
{
	for (size_t i = 0; name && i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (!strcmp(dtypes[i].name, name))
			return &dtypes[i];
	return NULL;
}

/* --- reading */

static int bad(struct err *err, const char *name, const char *what)
{
	err_set(err, ERR_USER, "%s: not a valid safetensors file: %s", name, what);
	return -1;
}

/* A JSON integer in [0, SIZE_MAX], or -1. */
static int get_size(json_t *v, size_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (size_t)json_integer_value(v);
	return 0;
}

/* The shape of entry 'key' into 't'; the element count must not overflow. */
static int parse_shape(struct safetensors *st, const char *key, json_t *shape,
		       struct safetensors_tensor *t, struct err *err)
{
	char what[300];

	if (!json_is_array(shape) || json_array_size(shape) > TENSOR_MAX_DIMS) {
		snprintf(what, sizeof(what), "tensor '%.200s': \"shape\" must be a list "
			 "of at most %d integers", key, TENSOR_MAX_DIMS);
		return bad(err, st->name, what);
	}
	t->ndim = (int)json_array_size(shape);
	t->count = 1;
	for (int d = 0; d < t->ndim; d++) {
		if (get_size(json_array_get(shape, d), &t->shape[d]) ||
		    __builtin_mul_overflow(t->count, t->shape[d], &t->count)) {
			snprintf(what, sizeof(what), "tensor '%.200s': dimension %d is "
				 "not a non-negative integer of sane size", key, d);
			return bad(err, st->name, what);
		}
	}
	return 0;
}

/* One header entry: exactly dtype, shape and data_offsets, consistent. */
static int parse_entry(struct safetensors *st, const char *key, json_t *v,
		       size_t data_len, struct safetensors_tensor *t, struct err *err)
{
	json_t *offs = json_object_get(v, "data_offsets");
	const struct dtype *dt = find_dtype(json_string_value(json_object_get(v, "dtype")));
	size_t begin, end, nbytes;
	char what[400];

	if (!json_is_object(v) || json_object_size(v) != 3 || !dt ||
	    !json_is_array(offs) || json_array_size(offs) != 2) {
		snprintf(what, sizeof(what), "tensor '%.200s': expected exactly "
			 "{\"dtype\": a known type, \"shape\": [...], \"data_offsets\": "
			 "[begin, end]}", key);
		return bad(err, st->name, what);
	}
	if (parse_shape(st, key, json_object_get(v, "shape"), t, err))
		return -1;
	if (get_size(json_array_get(offs, 0), &begin) ||
	    get_size(json_array_get(offs, 1), &end) || begin > end || end > data_len ||
	    __builtin_mul_overflow(t->count, dt->size, &nbytes) || nbytes != end - begin) {
		snprintf(what, sizeof(what), "tensor '%.200s': data_offsets must hold "
			 "its shape times %zu bytes inside the %zu bytes of data", key,
			 dt->size, data_len);
		return bad(err, st->name, what);
	}
	t->name = key;
	t->dtype = dt->name;
	t->itemsize = dt->size;
	t->data = st->buf + (st->len - data_len) + begin;
	t->nbytes = nbytes;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct safetensors_tensor *x = a, *y = b;

	return x->data < y->data ? -1 : x->data > y->data;
}

/* The entries, sorted by offset, must cover the data without gap or overlap. */
static int check_tiling(struct safetensors *st, size_t data_len, struct err *err)
{
	const unsigned char *at = st->buf + (st->len - data_len);

	qsort(st->t, (size_t)st->n, sizeof(*st->t), by_offset);
	for (int i = 0; i < st->n; i++) {
		if (st->t[i].data != at)
			return bad(err, st->name, "tensor data overlaps or leaves a gap "
				   "(expected the tensors to tile the data section)");
		at += st->t[i].nbytes;
	}
	if (at != st->buf + st->len)
		return bad(err, st->name, "bytes after the last tensor (expected the "
			   "tensors to tile the data section)");
	return 0;
}

/* "__metadata__": an object of strings. */
static int parse_meta(struct safetensors *st, json_t *m, struct err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(m))
		return bad(err, st->name, "\"__metadata__\" must be an object of strings");
	json_object_foreach(m, k, v) {
		if (!json_is_string(v))
			return bad(err, st->name, "\"__metadata__\" values must be strings");
	}
	st->meta = m;
	return 0;
}

static int parse_header(struct safetensors *st, size_t hlen, struct err *err)
{
	size_t data_len = st->len - 8 - hlen;
	json_error_t je;
	const char *k;
	json_t *v;
	char what[300];

	if (hlen == 0 || st->buf[8] != '{')
		return bad(err, st->name, "the header must be a JSON object");
	st->header = json_loadb((const char *)st->buf + 8, hlen, JSON_REJECT_DUPLICATES, &je);
	if (!st->header || !json_is_object(st->header)) {
		snprintf(what, sizeof(what), "header is not a JSON object (%.200s at "
			 "byte %d)", st->header ? "not an object" : je.text, je.position);
		return bad(err, st->name, what);
	}
	st->t = xcalloc(json_object_size(st->header) + 1, sizeof(*st->t));
	json_object_foreach(st->header, k, v) {
		if (!strcmp(k, "__metadata__")) {
			if (parse_meta(st, v, err))
				return -1;
			continue;
		}
		if (parse_entry(st, k, v, data_len, &st->t[st->n], err))
			return -1;
		st->n++;
	}
	return check_tiling(st, data_len, err);
}

struct safetensors *safetensors_parse(const void *buf, size_t len,
				      const char *name, struct err *err)
{
	struct safetensors *st = xcalloc(1, sizeof(*st));
	uint64_t hlen = 0;
	char what[200];

	st->name = xstrdup(name);
	st->buf = xmalloc(len ? len : 1);
	memcpy(st->buf, buf, len);
	st->len = len;
	if (len < 8) {
		bad(err, name, "shorter than the 8-byte header length");
		goto fail;
	}
	for (int i = 7; i >= 0; i--)
		hlen = (hlen << 8) | st->buf[i];
	if (hlen > SAFETENSORS_MAX_HEADER || hlen > len - 8) {
		snprintf(what, sizeof(what), "header length %llu exceeds the file "
			 "(%zu bytes after the length)", (unsigned long long)hlen, len - 8);
		bad(err, name, what);
		goto fail;
	}
	if (parse_header(st, (size_t)hlen, err))
		goto fail;
	return st;
fail:
	safetensors_free(st);
	return NULL;
}

struct safetensors *safetensors_read(const char *path, struct err *err)
{
	struct safetensors *st;
	char *buf;
	size_t len;

	if (fs_read_file(path, &buf, &len, err))
		return NULL;
	st = safetensors_parse(buf, len, path, err);
	free(buf);
	return st;
}

void safetensors_free(struct safetensors *st)
{
	if (!st)
		return;
	json_decref(st->header);
	free(st->t);
	free(st->buf);
	free(st->name);
	free(st);
}

int safetensors_count(const struct safetensors *st)
{
	return st->n;
}

const struct safetensors_tensor *safetensors_at(const struct safetensors *st, int i)
{
	return i >= 0 && i < st->n ? &st->t[i] : NULL;
}

const struct safetensors_tensor *safetensors_find(const struct safetensors *st,
						  const char *name)
{
	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->t[i].name, name))
			return &st->t[i];
	return NULL;
}

const char *safetensors_meta(const struct safetensors *st, const char *key)
{
	return st->meta ? json_string_value(json_object_get(st->meta, key)) : NULL;
}

/* "[3, 4]" into 'buf'. */
static const char *shape_text(char *buf, size_t cap, int ndim, const size_t *shape)
{
	size_t k = (size_t)snprintf(buf, cap, "[");

	for (int d = 0; d < ndim && k < cap; d++)
		k += (size_t)snprintf(buf + k, cap - k, "%s%zu", d ? ", " : "", shape[d]);
	if (k < cap)
		snprintf(buf + k, cap - k, "]");
	return buf;
}

int safetensors_get_f32(const struct safetensors *st, const char *name,
			int ndim, const size_t *shape, float *out, struct err *err)
{
	const struct safetensors_tensor *t = safetensors_find(st, name);
	char want[200], got[200];

	if (!t) {
		err_set(err, ERR_USER, "%s: no tensor '%s'", st->name, name);
		return -1;
	}
	if (strcmp(t->dtype, "F32")) {
		err_set(err, ERR_USER, "%s: tensor '%s' is %s (expected F32)",
			st->name, name, t->dtype);
		return -1;
	}
	if (t->ndim != ndim || memcmp(t->shape, shape, (size_t)ndim * sizeof(*shape))) {
		err_set(err, ERR_USER, "%s: tensor '%s' has shape %s (expected %s)",
			st->name, name, shape_text(got, sizeof(got), t->ndim, t->shape),
			shape_text(want, sizeof(want), ndim, shape));
		return -1;
	}
	memcpy(out, t->data, t->nbytes);
	return 0;
}

/* --- writing */

void safetensors_writer_init(struct safetensors_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->header = json_object();
}

void safetensors_writer_release(struct safetensors_writer *w)
{
	json_decref(w->header);
	free(w->parts);
	memset(w, 0, sizeof(*w));
}

void safetensors_add(struct safetensors_writer *w, const char *name,
		     const char *dtype, int ndim, const size_t *shape,
		     const void *data)
{
	const struct dtype *dt = find_dtype(dtype);
	json_t *sh = json_array();
	size_t nbytes;

	assert(dt && strcmp(name, "__metadata__") && !json_object_get(w->header, name));
	nbytes = dt->size;
	for (int d = 0; d < ndim; d++) {
		json_array_append_new(sh, json_integer((json_int_t)shape[d]));
		nbytes *= shape[d];
	}
	json_object_set_new(w->header, name, json_pack("{s:s, s:o, s:[I,I]}",
		"dtype", dt->name, "shape", sh, "data_offsets",
		(json_int_t)w->offset, (json_int_t)(w->offset + nbytes)));
	xgrow((void **)&w->parts, sizeof(*w->parts), &w->cap, w->n + 1);
	w->parts[w->n++] = (struct st_part){data, nbytes};
	w->offset += nbytes;
}

void safetensors_set_meta(struct safetensors_writer *w, const char *key,
			  const char *value)
{
	json_t *m = json_object_get(w->header, "__metadata__");

	if (!m) {
		m = json_object();
		json_object_set_new(w->header, "__metadata__", m);
	}
	json_object_set_new(m, key, json_string(value));
}

/* The header text padded with spaces to a multiple of 8; caller frees. */
static char *header_text(struct safetensors_writer *w, size_t *len)
{
	char *text = json_dumps(w->header, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n = strlen(text), padded = (n + 7) / 8 * 8;
	char *out = xmalloc(padded + 1);

	memcpy(out, text, n);
	memset(out + n, ' ', padded - n);
	out[padded] = '\0';
	free(text);
	*len = padded;
	return out;
}

int safetensors_write(struct safetensors_writer *w, const char *path,
		      struct err *err)
{
	size_t hlen;
	char *text = header_text(w, &hlen);
	unsigned char lenbytes[8];
	FILE *f = fopen(path, "wb");
	int ok = f != NULL;

	for (int i = 0; i < 8; i++)
		lenbytes[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	ok = ok && fwrite(lenbytes, 1, 8, f) == 8 && fwrite(text, 1, hlen, f) == hlen;
	for (size_t i = 0; ok && i < w->n; i++)
		ok = !w->parts[i].nbytes ||
		     fwrite(w->parts[i].data, 1, w->parts[i].nbytes, f) == w->parts[i].nbytes;
	if (f && fclose(f) != 0)
		ok = 0;
	free(text);
	if (!ok) {
		err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}
