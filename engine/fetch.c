/* fetch: see fetch.h. */
#include "fetch.h"
#include "cli.h"
#include "fs.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int fetch_is_url(const char *path)
{
	return !strncmp(path, "http://", 7) || !strncmp(path, "https://", 8);
}

char *fetch_local_path(const char *state_dir, const struct hash *h)
{
	char hex[HASH_HEX_LEN];

	hash_to_hex(h, hex);
	return xasprintf("%s/downloads/%s", state_dir, hex);
}

/* What the last fetch of a URL left: its validators and content hash. */
struct memo {
	char *path;        /* the sidecar file */
	json_t *doc;       /* {url, etag, last_modified, hash} or NULL */
};

static void memo_load(struct memo *m, const char *state_dir, const char *url)
{
	struct hash uh;
	char hex[HASH_HEX_LEN];

	hash_str(url, &uh);
	hash_to_hex(&uh, hex);
	m->path = xasprintf("%s/downloads/url-%s.json", state_dir, hex);
	m->doc = json_load_file(m->path, 0, NULL);
	if (m->doc && !json_is_string(json_object_get(m->doc, "hash"))) {
		json_decref(m->doc);
		m->doc = NULL;
	}
}

static const char *memo_str(const struct memo *m, const char *name)
{
	return json_string_value(json_object_get(m->doc, name));
}

/* The copy the memo names, if it is still on disk: 0 and '*out' set. */
static int memo_copy(const struct memo *m, const char *state_dir, struct hash *out)
{
	char *path;
	int ok;

	if (!m->doc || hash_from_hex(memo_str(m, "hash"), out) < 0)
		return -1;
	path = fetch_local_path(state_dir, out);
	ok = fs_exists(path);
	free(path);
	return ok ? 0 : -1;
}

struct headers {
	char *etag, *last_modified;
};

/* Keeps the validators of the final response (a redirect's are reset). */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct headers *h = arg;
	size_t len = size * n, k;
	char **slot = NULL;

	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		free(h->etag);
		free(h->last_modified);
		h->etag = h->last_modified = NULL;
	} else if (len > 5 && !strncasecmp(line, "ETag:", 5)) {
		slot = &h->etag;
		k = 5;
	} else if (len > 14 && !strncasecmp(line, "Last-Modified:", 14)) {
		slot = &h->last_modified;
		k = 14;
	}
	if (slot) {
		while (k < len && (line[k] == ' ' || line[k] == '\t'))
			k++;
		while (len > k && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
				   line[len - 1] == ' '))
			len--;
		free(*slot);
		*slot = xstrndup(line + k, len - k);
	}
	return size * n;
}

/* One GET into 'tmp' (conditional when the memo has validators). */
static int get(const char *url, const struct memo *m, const char *tmp,
	       long *status, struct headers *h, char *why, size_t why_n)
{
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	CURL *c;
	FILE *f = fopen(tmp, "wb");
	char *line;

	if (!f) {
		snprintf(why, why_n, "cannot write '%s': %s", tmp, strerror(errno));
		return -1;
	}
	c = curl_easy_init();
	if (memo_str(m, "etag")) {
		line = xasprintf("If-None-Match: %s", memo_str(m, "etag"));
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (memo_str(m, "last_modified")) {
		line = xasprintf("If-Modified-Since: %s", memo_str(m, "last_modified"));
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dagrun/" DAGRUN_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (fclose(f) != 0 && cc == CURLE_OK) {
		snprintf(why, why_n, "cannot write '%s': %s", tmp, strerror(errno));
		return -1;
	}
	if (cc != CURLE_OK) {
		snprintf(why, why_n, "%s", curl_easy_strerror(cc));
		return -1;
	}
	return 0;
}

/* Move a fetched body to downloads/<hash> and remember the validators. */
static int keep(const char *state_dir, const char *url, struct memo *m,
		const char *tmp, const struct headers *h, struct hash *out,
		struct err *err)
{
	char hex[HASH_HEX_LEN], *dst, *text;
	json_t *doc;
	int rc;

	if (hash_file(tmp, out, err) < 0)
		return -1;
	dst = fetch_local_path(state_dir, out);
	if (rename(tmp, dst) < 0) {
		err_set(err, ERR_IO, "cannot move a download to '%s': %s", dst,
			strerror(errno));
		free(dst);
		return -1;
	}
	free(dst);
	hash_to_hex(out, hex);
	doc = json_pack("{s:s, s:s?, s:s?, s:s}", "url", url, "etag", h->etag,
			"last_modified", h->last_modified, "hash", hex);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	rc = fs_write_atomic(m->path, text, strlen(text), err);
	free(text);
	return rc;
}

int fetch_url(const char *state_dir, const char *url, struct hash *out,
	      struct err *err)
{
	static int serial;
	struct memo m = {0};
	struct headers h = {0};
	char *dir = xasprintf("%s/downloads", state_dir);
	char *tmp_dir = xasprintf("%s/tmp", state_dir);
	char *tmp = xasprintf("%s/%d-dl-%d", tmp_dir, (int)getpid(), serial++);
	char why[CURL_ERROR_SIZE + 256];
	long status = 0;
	int rc = -1, failed;

	if (fs_mkdirs(dir, err) < 0 || fs_mkdirs(tmp_dir, err) < 0)
		goto out;
	memo_load(&m, state_dir, url);
	failed = get(url, &m, tmp, &status, &h, why, sizeof(why)) < 0;
	if (!failed && status == 304 && memo_copy(&m, state_dir, out) == 0) {
		rc = 0;
	} else if (!failed && status == 304) {
		/* the server says "unchanged" but the copy is gone: ask again,
		 * unconditionally */
		json_decref(m.doc);
		m.doc = NULL;
		failed = get(url, &m, tmp, &status, &h, why, sizeof(why)) < 0;
	}
	if (rc == 0)
		goto out;
	if (!failed && status >= 200 && status < 300) {
		rc = keep(state_dir, url, &m, tmp, &h, out, err);
		goto out;
	}
	if (!failed)
		snprintf(why, sizeof(why), "HTTP %ld", status);
	if (!failed && status >= 400 && status < 500) {
		err_set(err, ERR_USER, "cannot fetch '%s': %s (expected the URL of "
			"a file the server has)", url, why);
	} else if (memo_copy(&m, state_dir, out) == 0) {
		fprintf(stderr, "dagrun: warning: cannot fetch '%s' (%s); using the "
			"copy fetched before (content %.12s...)\n", url, why,
			memo_str(&m, "hash"));
		rc = 0;
	} else {
		err_set(err, ERR_IO, "cannot fetch '%s': %s", url, why);
	}
out:
	unlink(tmp);
	free(h.etag);
	free(h.last_modified);
	free(m.path);
	json_decref(m.doc);
	free(tmp);
	free(tmp_dir);
	free(dir);
	return rc;
}
