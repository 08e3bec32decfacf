/* npy: see npy.h.
 *
 * The header parser walks the dict with an index that is compared to the
 * header's length before every read: the header is untrusted input. */
#include "npy.h"
#include "fs.h"
#include "xalloc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c writes host memory as little-endian data"
#endif

/* 10: magic (6) + version (2) + header length (2), format 1.0 */
#define PREAMBLE 10
/* 64: numpy pads the preamble plus header to this, for aligned mmap */
#define HEADER_ALIGN 64
/* 256: the longest dict we write: the keys (58 bytes) and NPY_MAX_DIMS
 * dimensions of up to 20 digits and ", " each */
#define DICT_MAX 256

static const char magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

size_t npy_dtype_size(enum npy_dtype dt)
{
	return dt == NPY_F4 ? 4 : 8;
}

const char *npy_dtype_descr(enum npy_dtype dt)
{
	switch (dt) {
	case NPY_F4:
		return "<f4";
	case NPY_I8:
		return "<i8";
	default:
		return "<f8";
	}
}

/* Build preamble + dict + padding + '\n' into 'out'; returns its length. */
static size_t build_header(enum npy_dtype dt, int ndim, const size_t *shape,
			   char out[PREAMBLE + DICT_MAX + HEADER_ALIGN])
{
	char dict[DICT_MAX], dims[DICT_MAX - 64];   /* 64: room for the keys */
	size_t n = 0, total;

	/* Python's tuple repr: "(3,)", "(2, 3)", "(2, 3, 4)" */
	for (int i = 0; i < ndim; i++)
		n += (size_t)snprintf(dims + n, sizeof(dims) - n, "%s%zu",
				      i ? ", " : "(", shape[i]);
	snprintf(dims + n, sizeof(dims) - n, ndim == 1 ? ",)" : ")");
	n = (size_t)snprintf(dict, sizeof(dict),
			     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
			     npy_dtype_descr(dt), dims);
	total = (PREAMBLE + n + 1 + HEADER_ALIGN - 1) / HEADER_ALIGN * HEADER_ALIGN;
	memcpy(out, magic, sizeof(magic));
	out[6] = 1;
	out[7] = 0;
	out[8] = (char)((total - PREAMBLE) & 0xff);
	out[9] = (char)((total - PREAMBLE) >> 8);
	memcpy(out + PREAMBLE, dict, n);
	memset(out + PREAMBLE + n, ' ', total - PREAMBLE - n - 1);
	out[total - 1] = '\n';
	return total;
}

static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int npy_write(const char *path, enum npy_dtype dt, int ndim,
	      const size_t *shape, const void *data, struct err *err)
{
	char hdr[PREAMBLE + DICT_MAX + HEADER_ALIGN];
	size_t hlen, count = 1;
	int fd, rc, saved;

	if (ndim < 1 || ndim > NPY_MAX_DIMS) {
		err_set(err, ERR_INTERNAL, "npy_write: %d dimensions", ndim);
		return -1;
	}
	for (int i = 0; i < ndim; i++)
		count *= shape[i];
	hlen = build_header(dt, ndim, shape, hdr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_set(err, ERR_IO, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = write_all(fd, hdr, hlen);
	if (rc == 0)
		rc = write_all(fd, data, count * npy_dtype_size(dt));
	saved = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc) {
		err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(saved));
		unlink(path);
	}
	return rc;
}

/* The header dict being parsed: s[0..n) is untrusted. */
struct hdr {
	const char *s;
	size_t n, i;
	const char *name;
	struct err *err;
	int max_dims;      /* the caller's limit, 1 .. NPY_MAX_DIMS */
};

/* Report "expected 'what'" at the current byte (counted from the file's
 * start, as a hex dump shows it). */
static int bad(struct hdr *h, const char *what)
{
	err_set(h->err, ERR_USER, "%s: bad .npy header at byte %zu: expected %s",
		h->name, PREAMBLE + h->i, what);
	return -1;
}

static void skip_ws(struct hdr *h)
{
	while (h->i < h->n && (h->s[h->i] == ' ' || h->s[h->i] == '\t'))
		h->i++;
}

static int peek(struct hdr *h, char c)
{
	return h->i < h->n && h->s[h->i] == c;
}

static int expect(struct hdr *h, char c, const char *what)
{
	if (!peek(h, c))
		return bad(h, what);
	h->i++;
	return 0;
}

/* A Python string literal without escapes: 'abc' or "abc". */
static int read_str(struct hdr *h, const char **p, size_t *len)
{
	size_t start;
	char q;

	if (!peek(h, '\'') && !peek(h, '"'))
		return bad(h, "a quoted string");
	q = h->s[h->i++];
	start = h->i;
	while (h->i < h->n && h->s[h->i] != q && h->s[h->i] != '\\' &&
	       h->s[h->i] != '\n')
		h->i++;
	if (!peek(h, q))
		return bad(h, "a closing quote");
	*p = h->s + start;
	*len = h->i - start;
	h->i++;
	return 0;
}

static int word_is(const char *p, size_t len, const char *w)
{
	return len == strlen(w) && memcmp(p, w, len) == 0;
}

static int read_descr(struct hdr *h, enum npy_dtype *dt)
{
	static const enum npy_dtype all[] = {NPY_F8, NPY_F4, NPY_I8};
	size_t at = h->i, len;
	const char *p;

	if (read_str(h, &p, &len))
		return -1;
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		if (word_is(p, len, npy_dtype_descr(all[k]))) {
			*dt = all[k];
			return 0;
		}
	}
	h->i = at;
	return bad(h, "descr '<f8', '<f4' or '<i8'");
}

static int read_fortran(struct hdr *h)
{
	if (h->n - h->i >= 5 && memcmp(h->s + h->i, "False", 5) == 0) {
		h->i += 5;
		return 0;
	}
	if (h->n - h->i >= 4 && memcmp(h->s + h->i, "True", 4) == 0)
		return bad(h, "fortran_order False (Fortran order is not supported)");
	return bad(h, "False");
}

/* A Python int literal: "0" or digits without a leading zero. */
static int read_dim(struct hdr *h, size_t *v)
{
	size_t x = 0, start = h->i;

	while (h->i < h->n && (unsigned)(h->s[h->i] - '0') < 10u) {
		size_t d = (size_t)(h->s[h->i] - '0');
		if (x > (SIZE_MAX - d) / 10)
			return bad(h, "a dimension that fits in memory");
		x = x * 10 + d;
		h->i++;
	}
	if (h->i == start)
		return bad(h, "a dimension (a non-negative integer)");
	if (h->s[start] == '0' && h->i - start > 1) {
		h->i = start;
		return bad(h, "a dimension without leading zeros");
	}
	*v = x;
	return 0;
}

/* A tuple of 1 to 'h->max_dims' ints; a 1-tuple needs its comma, as in
 * Python. */
static int read_shape(struct hdr *h, int *ndim, size_t *shape)
{
	char what[64];
	int comma = 0;

	*ndim = 0;
	if (expect(h, '(', "a shape tuple"))
		return -1;
	for (skip_ws(h); !peek(h, ')'); skip_ws(h)) {
		if (*ndim == h->max_dims) {
			snprintf(what, sizeof(what), "')' (at most %d dimensions "
				 "are supported)", h->max_dims);
			return bad(h, what);
		}
		if (read_dim(h, &shape[(*ndim)++]))
			return -1;
		skip_ws(h);
		comma = peek(h, ',');
		if (comma)
			h->i++;
		else if (!peek(h, ')'))
			return bad(h, "',' or ')' in the shape");
	}
	if (*ndim == 0)
		return bad(h, "a dimension (0-d arrays are not supported)");
	if (*ndim == 1 && !comma)
		return bad(h, "',' after the only dimension");
	h->i++;
	return 0;
}

/* One "key: value" entry; 'seen' has a bit per key, to refuse repeats. */
static int read_entry(struct hdr *h, unsigned *seen, struct npy_array *a)
{
	size_t at = h->i, len;
	const char *k;
	unsigned bit;
	int rc;

	if (read_str(h, &k, &len))
		return -1;
	if (word_is(k, len, "descr"))
		bit = 1;
	else if (word_is(k, len, "fortran_order"))
		bit = 2;
	else if (word_is(k, len, "shape"))
		bit = 4;
	else {
		h->i = at;
		return bad(h, "key 'descr', 'fortran_order' or 'shape'");
	}
	if (*seen & bit) {
		h->i = at;
		return bad(h, "each key once");
	}
	*seen |= bit;
	skip_ws(h);
	if (expect(h, ':', "':'"))
		return -1;
	skip_ws(h);
	if (bit == 1)
		rc = read_descr(h, &a->dtype);
	else if (bit == 2)
		rc = read_fortran(h);
	else
		rc = read_shape(h, &a->ndim, a->shape);
	return rc;
}

/* The whole dict, then space padding and the final '\n'. */
static int read_dict(struct hdr *h, struct npy_array *a)
{
	unsigned seen = 0;

	skip_ws(h);
	if (expect(h, '{', "'{'"))
		return -1;
	for (skip_ws(h); !peek(h, '}'); skip_ws(h)) {
		if (read_entry(h, &seen, a))
			return -1;
		skip_ws(h);
		if (peek(h, ','))
			h->i++;
		else if (!peek(h, '}'))
			return bad(h, "',' or '}'");
	}
	h->i++;
	if (seen != 7)
		return bad(h, !(seen & 1) ? "key 'descr'" : !(seen & 2) ?
			   "key 'fortran_order'" : "key 'shape'");
	while (h->i + 1 < h->n && h->s[h->i] == ' ')
		h->i++;
	if (h->i + 1 != h->n || h->s[h->i] != '\n')
		return bad(h, "space padding and '\\n' to end the header");
	return 0;
}

/* Check the data length against the shape; fills a->count. */
static int check_size(struct npy_array *a, size_t have, const char *name,
		      struct err *err)
{
	size_t isz = npy_dtype_size(a->dtype), count = 1;

	for (int i = a->ndim; i < NPY_MAX_DIMS; i++)
		a->shape[i] = 1;
	for (int i = 0; i < a->ndim; i++) {
		if (a->shape[i] && count > SIZE_MAX / a->shape[i])
			goto too_big;
		count *= a->shape[i];
	}
	if (count > SIZE_MAX / isz)
		goto too_big;
	if (count * isz != have) {
		err_set(err, ERR_USER, "%s: .npy data is %zu bytes, expected %zu "
			"(%zu elements of %zu bytes)", name, have, count * isz,
			count, isz);
		return -1;
	}
	a->count = count;
	return 0;
too_big:
	err_set(err, ERR_USER, "%s: .npy shape is too large", name);
	return -1;
}

int npy_parse(const void *buf, size_t len, const char *name,
	      struct npy_array *a, struct err *err)
{
	return npy_parse_nd(buf, len, name, 2, a, err);
}

int npy_parse_nd(const void *buf, size_t len, const char *name, int max_dims,
		 struct npy_array *a, struct err *err)
{
	const unsigned char *b = buf;
	struct hdr h;
	size_t hlen;

	assert(max_dims >= 1 && max_dims <= NPY_MAX_DIMS);
	memset(a, 0, sizeof(*a));
	if (len < PREAMBLE || memcmp(b, magic, sizeof(magic)) != 0) {
		err_set(err, ERR_USER, "%s: not a .npy file (no \\x93NUMPY magic)", name);
		return -1;
	}
	if (b[6] != 1 || b[7] != 0) {
		err_set(err, ERR_USER, "%s: unsupported .npy version %u.%u "
			"(expected 1.0)", name, b[6], b[7]);
		return -1;
	}
	hlen = (size_t)b[8] | (size_t)b[9] << 8;
	if (hlen > len - PREAMBLE) {
		err_set(err, ERR_USER, "%s: .npy header length %zu runs past the "
			"end of the file (%zu bytes)", name, hlen, len);
		return -1;
	}
	h = (struct hdr){(const char *)b + PREAMBLE, hlen, 0, name, err, max_dims};
	if (read_dict(&h, a) ||
	    check_size(a, len - PREAMBLE - hlen, name, err))
		return -1;
	a->data = xmalloc(len - PREAMBLE - hlen);
	memcpy(a->data, b + PREAMBLE + hlen, len - PREAMBLE - hlen);
	return 0;
}

int npy_read(const char *path, struct npy_array *a, struct err *err)
{
	return npy_read_nd(path, 2, a, err);
}

int npy_read_nd(const char *path, int max_dims, struct npy_array *a,
		struct err *err)
{
	char *buf;
	size_t len;
	int rc;

	memset(a, 0, sizeof(*a));
	if (fs_read_file(path, &buf, &len, err))
		return -1;
	rc = npy_parse_nd(buf, len, path, max_dims, a, err);
	free(buf);
	return rc;
}

void npy_release(struct npy_array *a)
{
	free(a->data);
	a->data = NULL;
}
