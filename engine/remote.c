/* remote: see remote.h.
 *
 * One curl easy handle serves every request of a run: curl_easy_reset()
 * between requests keeps its open connections, so a run of many small
 * nodes pays for one TCP (and TLS) handshake, not one per object.
 * Bodies are read into memory, bounded by what is expected (an object's
 * size from its manifest), so a lying server cannot make us hold more. */
#include "remote.h"
#include "cli.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 256: an action result is 64 hex digits; room for stray whitespace */
#define AC_MAX 256
/* 64 MiB: a manifest larger than this is not one of ours */
#define MANIFEST_MAX (64L << 20)

struct remote {
	char *base;      /* the URL without a trailing '/' */
	char *name;      /* 'base' without user:password@, for messages */
	CURL *curl;      /* one handle, so connections are reused */
	int down;        /* a transport problem: no more requests this run */
};

/* A response body collected in memory, at most 'max' bytes. */
struct body {
	struct strbuf sb;
	size_t max;
	int over;        /* the server sent more than 'max' */
};

int remote_url_ok(const char *url)
{
	return url && (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) &&
	       strlen(url) > 8;
}

/* 'url' without "user:password@" after the scheme; caller frees. */
static char *strip_credentials(const char *url)
{
	const char *host = strstr(url, "://") + 3;
	const char *end = host + strcspn(host, "/");
	const char *at = memchr(host, '@', (size_t)(end - host));

	if (!at)
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

struct remote *remote_new(const char *url)
{
	struct remote *r;
	size_t n;

	if (!remote_url_ok(url))
		return NULL;
	r = xcalloc(1, sizeof(*r));
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	r->base = xstrndup(url, n);
	r->name = strip_credentials(r->base);
	r->curl = curl_easy_init();
	if (!r->curl)
		r->down = 1;
	return r;
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	free(r->base);
	free(r->name);
	free(r);
}

const char *remote_name(const struct remote *r)
{
	return r->name;
}

int remote_is_down(const struct remote *r)
{
	return r->down;
}

/* ---- one request ---------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (!b)
		return len;      /* HEAD, PUT: the answer's body is not needed */
	if (b->sb.len + len > b->max) {
		b->over = 1;
		return 0;        /* aborts the transfer */
	}
	sb_add(&b->sb, data, len);
	return len;
}

/* Mark the remote down and say why: every later call is a no-op. */
static int went_down(struct remote *r, const char *method, const char *path,
		     const char *why, struct err *err)
{
	r->down = 1;
	err_set(err, ERR_IO, "remote cache '%s': %s %s: %s", r->name, method,
		path, why);
	return -1;
}

/* One request for URL/'path': "GET" into 'out', "HEAD", or "PUT" of
 * 'in_size' bytes from 'in'.  'small' bounds the whole request by
 * REMOTE_SMALL_MS; otherwise only a stalled transfer is given up.
 * Returns the HTTP status, or -1 with 'err' set and the remote down. */
static long request(struct remote *r, const char *method, const char *path,
		    struct body *out, FILE *in, long long in_size, int small,
		    struct err *err)
{
	char *url = xasprintf("%s/%s", r->base, path);
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	long status = 0;
	CURL *c = r->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dagrun/" DAGRUN_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, REMOTE_CONNECT_MS);
	if (small) {
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REMOTE_SMALL_MS);
	} else {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, REMOTE_LOW_SPEED);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, REMOTE_LOW_SPEED_S);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "PUT")) {
		/* no "Expect: 100-continue": one round trip less, and simple
		 * servers do not all answer it */
		hdrs = curl_slist_append(hdrs, "Expect:");
		hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, in);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)in_size);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	free(url);
	if (cc == CURLE_WRITE_ERROR && out && out->over)
		return status ? status : 200;   /* the caller sees 'over' */
	if (cc != CURLE_OK)
		return went_down(r, method, path, curl_easy_strerror(cc), err);
	return status;
}

static void body_init(struct body *b, size_t max)
{
	sb_init(&b->sb);
	b->max = max;
	b->over = 0;
}

/* An unexpected answer: the server is not a cache we can use. */
static int bad_status(struct remote *r, const char *method, const char *path,
		      long status, struct err *err)
{
	char why[128];

	/* bazel-remote checks that an action result is a REAPI ActionResult
	 * unless told otherwise */
	snprintf(why, sizeof(why), "HTTP %ld%s", status, status == 400 &&
		 !strcmp(method, "PUT") && !strncmp(path, "ac/", 3) ?
		 " (a bazel-remote server needs --disable_http_ac_validation)" : "");
	return went_down(r, method, path, why, err);
}

/* ---- reading -------------------------------------------------------- */

/* GET cas/'h' and check it: 1 with the bytes in 'b', 0 when the remote
 * lacks it, -1 with 'err' set.  'size' < 0: unknown (at most 'max'). */
static int get_object(struct remote *r, const struct hash *h, long long size,
		      size_t max, struct body *b, struct err *err)
{
	char hex[HASH_HEX_LEN], path[4 + HASH_HEX_LEN];
	struct hash got;
	long status;

	hash_to_hex(h, hex);
	snprintf(path, sizeof(path), "cas/%s", hex);
	body_init(b, size >= 0 ? (size_t)size : max);
	status = request(r, "GET", path, b, NULL, 0, 0, err);
	if (status < 0)
		return -1;
	if (status == 404)
		return 0;
	if (status != 200)
		return bad_status(r, "GET", path, status, err);
	hash_bytes(b->sb.buf, b->sb.len, &got);
	if (b->over || (size >= 0 && (long long)b->sb.len != size) ||
	    memcmp(got.b, h->b, HASH_LEN)) {
		err_set(err, ERR_IO, "remote cache '%s': object %s does not match "
			"its hash (corrupt on the server or in transit); not used",
			r->name, hex);
		return -1;
	}
	return 1;
}

/* 1 if 'p' is a plain relative path: no '/' at either end, no empty,
 * "." or ".." component.  A manifest from elsewhere must not name files
 * outside the folder it is linked into. */
static int safe_path(const char *p)
{
	const char *c = p;

	if (!p || !*p || *p == '/')
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
			return 0;
		c += n;
		if (*c == '/' && !*++c)
			return 0;
	}
	return 1;
}

/* Parse and check a manifest's text: NULL with 'err' set if it is not
 * a manifest whose entries are safe. */
static json_t *parse_manifest(struct remote *r, const struct body *b,
			      struct err *err)
{
	json_t *m = json_loadb(b->sb.buf, b->sb.len, 0, NULL), *f;
	struct hash h;
	size_t i;

	if (!json_is_array(json_object_get(m, "files")))
		goto bad;
	json_array_foreach(json_object_get(m, "files"), i, f) {
		json_t *size = json_object_get(f, "size");
		if (!safe_path(json_string_value(json_object_get(f, "path"))) ||
		    hash_from_hex(json_string_value(json_object_get(f, "hash")), &h) < 0 ||
		    !json_is_integer(size) || json_integer_value(size) < 0)
			goto bad;
	}
	return m;
bad:
	json_decref(m);
	err_set(err, ERR_IO, "remote cache '%s': a manifest is malformed or names "
		"unsafe paths; not used", r->name);
	return NULL;
}

/* Fetch, verify and store every object of manifest 'm' the local store
 * lacks.  1, 0 (one is missing on the remote) or -1. */
static int get_files(struct remote *r, struct store *st, json_t *m,
		     struct err *err)
{
	struct body b;
	struct hash h, put;
	json_t *f;
	size_t i;
	int rc = 1;

	json_array_foreach(json_object_get(m, "files"), i, f) {
		hash_from_hex(json_string_value(json_object_get(f, "hash")), &h);
		if (store_has(st, &h))
			continue;
		rc = get_object(r, &h, json_integer_value(json_object_get(f, "size")),
				0, &b, err);
		if (rc == 1 && store_put_buf(st, b.sb.buf, b.sb.len, &put, err) < 0)
			rc = -1;
		sb_release(&b.sb);
		if (rc < 1)
			return rc;
	}
	return 1;
}

/* The action result of 'key': 1 and '*out' set, 0 on a miss, or -1. */
static int get_action(struct remote *r, const char *key, struct hash *out,
		      struct err *err)
{
	char *path = xasprintf("ac/%s", key);
	struct body b;
	long status;
	int rc;

	body_init(&b, AC_MAX);
	status = request(r, "GET", path, &b, NULL, 0, 1, err);
	if (status < 0)
		rc = -1;
	else if (status == 404)
		rc = 0;
	else if (status != 200)
		rc = bad_status(r, "GET", path, status, err);
	else {
		while (b.sb.len > 0 && strchr(" \t\r\n", b.sb.buf[b.sb.len - 1]))
			b.sb.buf[--b.sb.len] = '\0';
		rc = !b.over && hash_from_hex(b.sb.buf, out) == 0 ? 1 : -1;
		if (rc < 0)
			err_set(err, ERR_IO, "remote cache '%s': the action result of "
				"key %.12s is not an outputs hash; not used", r->name, key);
	}
	sb_release(&b.sb);
	free(path);
	return rc;
}

int remote_get(struct remote *r, struct store *st, const char *key,
	       struct hash *outputs, json_t **manifest, struct err *err)
{
	struct body b;
	struct hash h, put;
	json_t *m = NULL;
	int rc;

	if (r->down)
		return 0;
	rc = get_action(r, key, &h, err);
	if (rc < 1)
		return rc;
	/* a manifest in the store has all its objects (store.h) */
	if (store_has(st, &h) && store_manifest(st, &h, manifest, err) == 0) {
		*outputs = h;
		return 1;
	}
	rc = get_object(r, &h, -1, MANIFEST_MAX, &b, err);
	if (rc == 1 && !(m = parse_manifest(r, &b, err)))
		rc = -1;
	if (rc == 1)
		rc = get_files(r, st, m, err);
	/* the manifest last: only now are all its objects in the store */
	if (rc == 1 && store_put_buf(st, b.sb.buf, b.sb.len, &put, err) < 0)
		rc = -1;
	sb_release(&b.sb);
	if (rc == 1) {
		*outputs = h;
		*manifest = m;
	} else {
		json_decref(m);
	}
	return rc;
}

/* ---- writing -------------------------------------------------------- */

/* PUT 'size' bytes from 'f' to 'path'. */
static int put(struct remote *r, const char *path, FILE *f, long long size,
	       struct err *err)
{
	long status = request(r, "PUT", path, NULL, f, size, 0, err);

	if (status < 0)
		return -1;
	if (status != 200 && status != 201 && status != 204)
		return bad_status(r, "PUT", path, status, err);
	return 0;
}

/* Send object 'h' unless the remote has it already. */
static int put_object(struct remote *r, const struct store *st,
		      const struct hash *h, struct err *err)
{
	char hex[HASH_HEX_LEN], path[4 + HASH_HEX_LEN], *file;
	long long size;
	long status;
	FILE *f;
	int rc;

	hash_to_hex(h, hex);
	snprintf(path, sizeof(path), "cas/%s", hex);
	status = request(r, "HEAD", path, NULL, NULL, 0, 1, err);
	if (status < 0)
		return -1;
	if (status == 200)
		return 0;
	if (status != 404)
		return bad_status(r, "HEAD", path, status, err);
	file = store_path(st, h);
	f = fopen(file, "rb");
	if (!f) {
		err_set(err, ERR_IO, "cannot read '%s': %s", file, strerror(errno));
		free(file);
		return -1;
	}
	fseeko(f, 0, SEEK_END);
	size = (long long)ftello(f);
	rewind(f);
	rc = put(r, path, f, size, err);
	fclose(f);
	free(file);
	return rc;
}

int remote_put(struct remote *r, const struct store *st, const char *key,
	       const struct hash *outputs, struct err *err)
{
	char hex[HASH_HEX_LEN], *path;
	struct hash h;
	json_t *m, *f;
	size_t i;
	FILE *mem;
	int rc = 0;

	if (r->down)
		return 0;
	if (store_manifest(st, outputs, &m, err) < 0)
		return -1;
	json_array_foreach(json_object_get(m, "files"), i, f) {
		hash_from_hex(json_string_value(json_object_get(f, "hash")), &h);
		rc = put_object(r, st, &h, err);
		if (rc < 0)
			break;
	}
	json_decref(m);
	if (rc == 0)
		rc = put_object(r, st, outputs, err);
	if (rc < 0)
		return -1;
	hash_to_hex(outputs, hex);
	mem = fmemopen(hex, HASH_HEX_LEN - 1, "r");
	if (!mem) {
		err_set(err, ERR_IO, "cannot buffer an action result: %s", strerror(errno));
		return -1;
	}
	path = xasprintf("ac/%s", key);
	rc = put(r, path, mem, HASH_HEX_LEN - 1, err);
	fclose(mem);
	free(path);
	return rc;
}
