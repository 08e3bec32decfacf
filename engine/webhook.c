/* webhook: see webhook.h.
 *
 * A command-line webhook has pipeline '' in the table; a pipeline's has its
 * name.  (pipeline, url) is unique, and deleting a webhook deletes its
 * deliveries (a trigger of migration 4), so no delivery names a webhook
 * that is gone.  libcurl is initialised by its first curl_easy_init() and
 * never cleaned up: the process ends first. */
#include "webhook.h"
#include "cli.h"
#include "events.h"
#include "hash.h"
#include "pipeline.h"
#include "state.h"
#include "strbuf.h"
#include "xalloc.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static int db_fail(sqlite3 *db, struct err *err, const char *what)
{
	err_set(err, ERR_IO, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

int webhook_url_ok(const char *url, char *why, size_t n)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	CURLUcode uc;
	int ok = 0;

	uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK)
		snprintf(why, n, "%s (expected http://host/path)", curl_url_strerror(uc));
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		 (strcmp(scheme, "http") && strcmp(scheme, "https")))
		snprintf(why, n, "not http or https (expected http://host/path)");
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		snprintf(why, n, "no host (expected http://host/path)");
	else
		ok = 1;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

int webhook_env_name_ok(const char *name)
{
	if (!isalpha((unsigned char)*name) && *name != '_')
		return 0;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && *name != '_')
			return 0;
	return 1;
}

/* "a, b" -> "a,b" with every name known; NULL for "" (caller frees). */
static int events_csv(const char *text, char **out, struct err *err)
{
	char *copy = xstrdup(text), *save = NULL, *tok;
	struct strbuf sb;
	int rc = 0;

	sb_init(&sb);
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!events_name_known(tok)) {
			err_set(err, ERR_USER, "unknown event '%s' (expected one of: %s)",
				tok, events_names_text());
			rc = -1;
			break;
		}
		sb_addf(&sb, "%s%s", sb.len ? "," : "", tok);
	}
	free(copy);
	if (rc < 0 || sb.len == 0) {
		sb_release(&sb);
		*out = NULL;
	} else {
		*out = sb_detach(&sb);
	}
	return rc;
}

int webhook_add(sqlite3 *db, const char *url, const char *events,
		const char *secret_env, int64_t *id, struct err *err)
{
	sqlite3_stmt *s;
	char why[256], *csv = NULL;
	int rc;

	if (!webhook_url_ok(url, why, sizeof(why))) {
		err_set(err, ERR_USER, "bad webhook url '%s': %s", url, why);
		return -1;
	}
	if (secret_env && !webhook_env_name_ok(secret_env)) {
		err_set(err, ERR_USER, "bad secret env '%s' (expected the name of "
			"an environment variable, such as HOOK_SECRET)", secret_env);
		return -1;
	}
	if (events && events_csv(events, &csv, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO webhooks(url, events, secret_env,"
			       " pipeline, seen_event, created) VALUES (?1, ?2, ?3, '',"
			       " (SELECT coalesce(max(id), 0) FROM events), ?4)", -1, &s,
			       NULL) != SQLITE_OK) {
		free(csv);
		return db_fail(db, err, "cannot add the webhook");
	}
	bind_text(s, 1, url);
	bind_text(s, 2, csv);
	bind_text(s, 3, secret_env);
	sqlite3_bind_double(s, 4, state_now());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	free(csv);
	if (rc == SQLITE_CONSTRAINT) {
		err_set(err, ERR_USER, "webhook '%s' already exists (see 'dagrun "
			"webhooks list')", url);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "cannot add the webhook");
	if (id)
		*id = sqlite3_last_insert_rowid(db);
	return 0;
}

int webhook_remove(sqlite3 *db, int64_t id, struct err *err)
{
	sqlite3_stmt *s;
	char *pipeline = NULL;
	int found = 0, rc;

	sqlite3_prepare_v2(db, "SELECT pipeline FROM webhooks WHERE id = ?1", -1,
			   &s, NULL);
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		found = 1;
		pipeline = xstrdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	if (!found || *pipeline) {
		if (!found)
			err_set(err, ERR_USER, "no webhook %lld (see 'dagrun webhooks "
				"list')", (long long)id);
		else
			err_set(err, ERR_USER, "webhook %lld comes from pipeline '%s' "
				"(remove it from that pipeline's 'webhooks:' list)",
				(long long)id, pipeline);
		free(pipeline);
		return -1;
	}
	free(pipeline);
	sqlite3_prepare_v2(db, "DELETE FROM webhooks WHERE id = ?1", -1, &s, NULL);
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot remove the webhook");
}

static const char list_sql[] =
	"SELECT w.id, w.url, w.events, w.secret_env, w.pipeline, w.created,"
	" count(CASE d.status WHEN 'delivered' THEN 1 END),"
	" count(CASE d.status WHEN 'pending' THEN 1 END),"
	" count(CASE d.status WHEN 'failed' THEN 1 END)"
	" FROM webhooks w LEFT JOIN deliveries d ON d.webhook_id = w.id"
	" GROUP BY w.id ORDER BY w.id";

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : NULL;
}

static json_t *list_row_json(sqlite3_stmt *s)
{
	return json_pack("{s:I,s:s,s:s?,s:s?,s:s?,s:f,s:i,s:i,s:i}",
			 "id", (json_int_t)sqlite3_column_int64(s, 0),
			 "url", col(s, 1), "events", col(s, 2),
			 "secret_env", col(s, 3),
			 "pipeline", col(s, 4) && *col(s, 4) ? col(s, 4) : NULL,
			 "created", sqlite3_column_double(s, 5),
			 "delivered", sqlite3_column_int(s, 6),
			 "pending", sqlite3_column_int(s, 7),
			 "failed", sqlite3_column_int(s, 8));
}

int webhook_list(sqlite3 *db, int json, struct err *err)
{
	json_t *arr = json_array();
	sqlite3_stmt *s;
	char from[80];

	if (sqlite3_prepare_v2(db, list_sql, -1, &s, NULL) != SQLITE_OK) {
		json_decref(arr);
		return db_fail(db, err, "cannot list webhooks");
	}
	if (!json)
		printf("%-4s %-20s %-28s %-12s %9s %7s %6s  %s\n", "ID", "FROM",
		       "EVENTS", "SECRET_ENV", "DELIVERED", "PENDING", "FAILED", "URL");
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (json) {
			json_array_append_new(arr, list_row_json(s));
			continue;
		}
		snprintf(from, sizeof(from), "%s%s", *col(s, 4) ? "pipeline " : "",
			 *col(s, 4) ? col(s, 4) : "command line");
		printf("%-4lld %-20s %-28s %-12s %9d %7d %6d  %s\n",
		       (long long)sqlite3_column_int64(s, 0), from,
		       col(s, 2) ? col(s, 2) : "(every event)",
		       col(s, 3) ? col(s, 3) : "-", sqlite3_column_int(s, 6),
		       sqlite3_column_int(s, 7), sqlite3_column_int(s, 8), col(s, 1));
	}
	sqlite3_finalize(s);
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
		putchar('\n');
	}
	json_decref(arr);
	return 0;
}

/* Add or update one webhook of pipeline 'name'. */
static int sync_one(sqlite3 *db, const char *name,
		    const struct pipeline_webhook *w, struct err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO webhooks(url, events, secret_env,"
			       " pipeline, seen_event, created) VALUES (?1, ?2, ?3, ?4,"
			       " (SELECT coalesce(max(id), 0) FROM events), ?5)"
			       " ON CONFLICT(pipeline, url) DO UPDATE SET"
			       " events = excluded.events, secret_env = excluded.secret_env",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot record the pipeline's webhooks");
	bind_text(s, 1, w->url);
	bind_text(s, 2, w->events);
	bind_text(s, 3, w->secret_env);
	bind_text(s, 4, name);
	sqlite3_bind_double(s, 5, state_now());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 :
	       db_fail(db, err, "cannot record the pipeline's webhooks");
}

/* Remove the webhooks of pipeline 'p' that its file no longer lists. */
static int sync_removed(sqlite3 *db, const struct pipeline *p, struct err *err)
{
	sqlite3_stmt *s, *del;
	int i, keep, rc = 0;

	sqlite3_prepare_v2(db, "SELECT id, url FROM webhooks WHERE pipeline = ?1",
			   -1, &s, NULL);
	sqlite3_prepare_v2(db, "DELETE FROM webhooks WHERE id = ?1", -1, &del, NULL);
	bind_text(s, 1, p->name);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		for (keep = 0, i = 0; i < p->n_webhooks && !keep; i++)
			keep = !strcmp(p->webhooks[i].url, col(s, 1));
		if (keep)
			continue;
		sqlite3_bind_int64(del, 1, sqlite3_column_int64(s, 0));
		if (sqlite3_step(del) != SQLITE_DONE)
			rc = db_fail(db, err, "cannot remove a webhook");
		sqlite3_reset(del);
	}
	sqlite3_finalize(s);
	sqlite3_finalize(del);
	return rc;
}

int webhook_sync_pipeline(sqlite3 *db, const struct pipeline *p,
			  struct err *err)
{
	int own = sqlite3_get_autocommit(db), i, rc = 0;

	if (own && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot record the pipeline's webhooks");
	for (i = 0; i < p->n_webhooks && rc == 0; i++)
		rc = sync_one(db, p->name, &p->webhooks[i], err);
	if (rc == 0)
		rc = sync_removed(db, p, err);
	if (own && rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(db, err, "cannot record the pipeline's webhooks");
	if (own && rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ---- one request ------------------------------------------------------ */

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
	(void)data;
	(void)ud;
	return size * n;
}

/* "X-Dagrun-Signature: sha256=<hex>" of 'body' under 'secret'. */
static char *signature_header(const char *secret, const char *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct hash h;
	char hex[HASH_HEX_LEN];

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	     (const unsigned char *)body, strlen(body), md, &len);
	assert(len == HASH_LEN);
	memcpy(h.b, md, HASH_LEN);
	hash_to_hex(&h, hex);
	return xasprintf("X-Dagrun-Signature: sha256=%s", hex);
}

static struct curl_slist *request_headers(const struct webhook_request *rq)
{
	struct curl_slist *h = NULL;
	char *line;

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");   /* no 100-continue round trip */
	line = xasprintf("Idempotency-Key: %s", rq->idempotency_key);
	h = curl_slist_append(h, line);
	free(line);
	line = xasprintf("X-Dagrun-Event: %s", rq->event);
	h = curl_slist_append(h, line);
	free(line);
	if (rq->secret) {
		line = signature_header(rq->secret, rq->body);
		h = curl_slist_append(h, line);
		free(line);
	}
	return h;
}

/* 1 ms at least: libcurl reads 0 as "no limit". */
static long millis(double seconds)
{
	return seconds < 0.001 ? 1L : (long)(seconds * 1000.0);
}

int webhook_post(const struct webhook_request *rq, struct webhook_result *res)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers;
	CURLcode cc;
	CURL *c;

	memset(res, 0, sizeof(*res));
	c = curl_easy_init();
	if (!c) {
		snprintf(res->error, sizeof(res->error), "cannot start libcurl");
		return -1;
	}
	errbuf[0] = '\0';
	headers = request_headers(rq);
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dagrun/" DAGRUN_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, millis(rq->connect_timeout));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, millis(rq->timeout));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->http_status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		snprintf(res->error, sizeof(res->error), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return -1;
	}
	if (res->http_status < 200 || res->http_status > 299) {
		snprintf(res->error, sizeof(res->error), "http %ld", res->http_status);
		return -1;
	}
	return 0;
}
