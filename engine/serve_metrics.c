/* serve_metrics: counters and Prometheus text (see serve_metrics.h).
 *
 * Invariant: a labelled entry, once added, is never removed or moved
 * while the table's mutex is held by another thread; entries are only
 * appended.  Counts are monotonic: nothing here ever decrements. */
#include "serve_metrics.h"
#include "xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 100-599: every status code HTTP defines a class for */
#define STATUS_MIN 100
#define STATUS_N 500

/* Upper bounds of the latency buckets, seconds: 100 us to 10 s, finer
 * below 10 ms where a prediction of a window model lands. */
static const double bucket_le[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define N_BUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

struct labelled {
	enum serve_labelled which;
	char *model, *alias;
	unsigned long long n;
};

struct serve_metrics {
	atomic_ullong status[SERVE_EP_COUNT][STATUS_N];
	/* per endpoint: N_BUCKETS buckets, then the overflow (+Inf only) */
	atomic_ullong bucket[SERVE_EP_COUNT][N_BUCKETS + 1];
	atomic_ullong sum_ns[SERVE_EP_COUNT];
	atomic_ullong events[SERVE_EV_COUNT];
	pthread_mutex_t lock;          /* guards the labelled table */
	struct labelled *lb;
	size_t n_lb, cap_lb;
};

static const char *const endpoint_names[SERVE_EP_COUNT] = {
	"healthz", "metrics", "models", "predict", "reload", "other"
};

struct serve_metrics *serve_metrics_new(void)
{
	struct serve_metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void serve_metrics_free(struct serve_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_lb; i++) {
		free(m->lb[i].model);
		free(m->lb[i].alias);
	}
	free(m->lb);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const char *serve_metrics_endpoint_name(enum serve_endpoint ep)
{
	return ep < SERVE_EP_COUNT ? endpoint_names[ep] : "other";
}

void serve_metrics_request(struct serve_metrics *m, enum serve_endpoint ep,
			   unsigned status, double seconds)
{
	size_t b = 0;

	if (ep >= SERVE_EP_COUNT)
		ep = SERVE_EP_OTHER;
	if (status < STATUS_MIN || status >= STATUS_MIN + STATUS_N)
		status = 500;
	if (!(seconds >= 0))
		seconds = 0;
	while (b < N_BUCKETS && seconds > bucket_le[b])
		b++;
	atomic_fetch_add_explicit(&m->status[ep][status - STATUS_MIN], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->bucket[ep][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_ns[ep], (unsigned long long)(seconds * 1e9),
				  memory_order_relaxed);
}

void serve_metrics_event(struct serve_metrics *m, enum serve_event ev)
{
	atomic_fetch_add_explicit(&m->events[ev], 1, memory_order_relaxed);
}

void serve_metrics_events_add(struct serve_metrics *m, enum serve_event ev,
			      unsigned long long n)
{
	atomic_fetch_add_explicit(&m->events[ev], n, memory_order_relaxed);
}

void serve_metrics_labelled(struct serve_metrics *m, enum serve_labelled which,
			    const char *model, const char *alias)
{
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n_lb; i++)
		if (m->lb[i].which == which && !strcmp(m->lb[i].model, model) &&
		    !strcmp(m->lb[i].alias, alias))
			break;
	if (i == m->n_lb) {
		xgrow((void **)&m->lb, sizeof(*m->lb), &m->cap_lb, m->n_lb + 1);
		m->lb[i].which = which;
		m->lb[i].model = xstrdup(model);
		m->lb[i].alias = xstrdup(alias);
		m->lb[i].n = 0;
		m->n_lb++;
	}
	m->lb[i].n++;
	pthread_mutex_unlock(&m->lock);
}

unsigned long long serve_metrics_count(struct serve_metrics *m,
				       enum serve_endpoint ep, unsigned status)
{
	if (ep >= SERVE_EP_COUNT || status < STATUS_MIN ||
	    status >= STATUS_MIN + STATUS_N)
		return 0;
	return atomic_load_explicit(&m->status[ep][status - STATUS_MIN],
				    memory_order_relaxed);
}

unsigned long long serve_metrics_events(struct serve_metrics *m,
					enum serve_event ev)
{
	return atomic_load_explicit(&m->events[ev], memory_order_relaxed);
}

/* ---- text ------------------------------------------------------------ */

void serve_metrics_family(struct strbuf *out, const char *name,
			  const char *type, const char *help)
{
	sb_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void add_label_value(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sb_addc(out, '\\');
		if (*v == '\n')
			sb_adds(out, "\\n");
		else
			sb_addc(out, *v);
	}
}

void serve_metrics_sample(struct strbuf *out, const char *name,
			  const char *const *labels, double value)
{
	sb_adds(out, name);
	if (labels && labels[0]) {
		sb_addc(out, '{');
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			sb_addf(out, "%s%s=\"", i ? "," : "", labels[i]);
			add_label_value(out, labels[i + 1]);
			sb_addc(out, '"');
		}
		sb_addc(out, '}');
	}
	if (isinf(value))
		sb_adds(out, value > 0 ? " +Inf\n" : " -Inf\n");
	else if (isnan(value))
		sb_adds(out, " NaN\n");
	else if (value == floor(value) && fabs(value) < 1e15)
		sb_addf(out, " %.0f\n", value);
	else
		sb_addf(out, " %.10g\n", value);
}

static unsigned long long load(atomic_ullong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static void render_requests(struct serve_metrics *m, struct strbuf *out)
{
	char code[16];   /* 16: any int in decimal */

	serve_metrics_family(out, "dagrun_serve_requests_total", "counter",
			     "Requests answered, by endpoint and HTTP status.");
	for (int e = 0; e < SERVE_EP_COUNT; e++)
		for (int s = 0; s < STATUS_N; s++) {
			unsigned long long n = load(&m->status[e][s]);
			const char *l[] = {"endpoint", endpoint_names[e], "code", code, NULL};
			if (!n)
				continue;
			snprintf(code, sizeof(code), "%d", s + STATUS_MIN);
			serve_metrics_sample(out, "dagrun_serve_requests_total", l, (double)n);
		}
	serve_metrics_family(out, "dagrun_serve_errors_total", "counter",
			     "Requests answered with an error: class client (4xx) or "
			     "server (5xx).");
	for (int e = 0; e < SERVE_EP_COUNT; e++) {
		unsigned long long c4 = 0, c5 = 0;
		for (int s = 400 - STATUS_MIN; s < STATUS_N; s++)
			*(s < 500 - STATUS_MIN ? &c4 : &c5) += load(&m->status[e][s]);
		const char *l4[] = {"endpoint", endpoint_names[e], "class", "client", NULL};
		const char *l5[] = {"endpoint", endpoint_names[e], "class", "server", NULL};
		if (c4)
			serve_metrics_sample(out, "dagrun_serve_errors_total", l4, (double)c4);
		if (c5)
			serve_metrics_sample(out, "dagrun_serve_errors_total", l5, (double)c5);
	}
}

/* One endpoint's histogram; an endpoint without requests is left out,
 * except predict, the one every dashboard plots. */
static void render_histogram(struct serve_metrics *m, struct strbuf *out, int e)
{
	static const char name[] = "dagrun_serve_request_duration_seconds";
	unsigned long long n[N_BUCKETS + 1], cum = 0;
	char key[64], le[32];
	const char *l[] = {"endpoint", endpoint_names[e], "le", le, NULL};

	for (size_t b = 0; b <= N_BUCKETS; b++)
		cum += n[b] = load(&m->bucket[e][b]);
	if (cum == 0 && e != SERVE_EP_PREDICT)
		return;
	cum = 0;
	snprintf(key, sizeof(key), "%s_bucket", name);
	for (size_t b = 0; b <= N_BUCKETS; b++) {
		cum += n[b];
		if (b < N_BUCKETS)
			snprintf(le, sizeof(le), "%g", bucket_le[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		serve_metrics_sample(out, key, l, (double)cum);
	}
	l[2] = NULL;
	snprintf(key, sizeof(key), "%s_sum", name);
	serve_metrics_sample(out, key, l, (double)load(&m->sum_ns[e]) / 1e9);
	snprintf(key, sizeof(key), "%s_count", name);
	serve_metrics_sample(out, key, l, (double)cum);
}

static void render_latency(struct serve_metrics *m, struct strbuf *out)
{
	serve_metrics_family(out, "dagrun_serve_request_duration_seconds", "histogram",
			     "Time from a request's headers to its answer being queued, "
			     "by endpoint.");
	for (int e = 0; e < SERVE_EP_COUNT; e++)
		render_histogram(m, out, e);
}

static void render_events(struct serve_metrics *m, struct strbuf *out)
{
	const char *ok[] = {"result", "ok", NULL}, *bad[] = {"result", "error", NULL};

	serve_metrics_family(out, "dagrun_serve_queue_rejections_total", "counter",
			     "Predictions refused with 429 because the queue was full.");
	serve_metrics_sample(out, "dagrun_serve_queue_rejections_total", NULL,
			     (double)load(&m->events[SERVE_EV_REJECTED]));
	serve_metrics_family(out, "dagrun_serve_timeouts_total", "counter",
			     "Requests answered with 503 because their deadline passed.");
	serve_metrics_sample(out, "dagrun_serve_timeouts_total", NULL,
			     (double)load(&m->events[SERVE_EV_TIMEOUT]));
	serve_metrics_family(out, "dagrun_serve_reloads_total", "counter",
			     "Re-reads of the registry's aliases, by result.");
	serve_metrics_sample(out, "dagrun_serve_reloads_total", ok,
			     (double)load(&m->events[SERVE_EV_RELOAD_OK]));
	serve_metrics_sample(out, "dagrun_serve_reloads_total", bad,
			     (double)load(&m->events[SERVE_EV_RELOAD_ERROR]));
	serve_metrics_family(out, "dagrun_serve_model_swaps_total", "counter",
			     "Aliases moved to another version since the start "
			     "(promotions, rollbacks), each swapped in.");
	serve_metrics_sample(out, "dagrun_serve_model_swaps_total", NULL,
			     (double)load(&m->events[SERVE_EV_SWAP]));
	serve_metrics_family(out, "dagrun_serve_passes_total", "counter",
			     "Model passes run for predictions: one pass answers every "
			     "waiting prediction of one model.");
	serve_metrics_sample(out, "dagrun_serve_passes_total", NULL,
			     (double)load(&m->events[SERVE_EV_PASS]));
	serve_metrics_family(out, "dagrun_serve_pass_requests_total", "counter",
			     "Predictions answered by those passes (over passes: the "
			     "mean batch).");
	serve_metrics_sample(out, "dagrun_serve_pass_requests_total", NULL,
			     (double)load(&m->events[SERVE_EV_PASS_REQUESTS]));
}

static void render_labelled(struct serve_metrics *m, struct strbuf *out)
{
	static const char split[] = "dagrun_serve_split_requests_total";
	static const char shadow[] = "dagrun_serve_shadow_requests_total";

	pthread_mutex_lock(&m->lock);
	serve_metrics_family(out, split, "counter", "Requests without an alias "
			     "routed to each alias by the traffic split.");
	for (size_t i = 0; i < m->n_lb; i++) {
		const char *l[] = {"model", m->lb[i].model, "alias", m->lb[i].alias, NULL};
		if (m->lb[i].which == SERVE_LB_SPLIT)
			serve_metrics_sample(out, split, l, (double)m->lb[i].n);
	}
	serve_metrics_family(out, shadow, "counter", "Requests also run through the "
			     "shadow alias (answers counted, never returned), by result.");
	for (size_t i = 0; i < m->n_lb; i++) {
		const char *l[] = {"model", m->lb[i].model, "alias", m->lb[i].alias,
				   "result", m->lb[i].which == SERVE_LB_SHADOW_OK ? "ok" :
				   "error", NULL};
		if (m->lb[i].which != SERVE_LB_SPLIT)
			serve_metrics_sample(out, shadow, l, (double)m->lb[i].n);
	}
	pthread_mutex_unlock(&m->lock);
}

void serve_metrics_render(struct serve_metrics *m, struct strbuf *out)
{
	render_requests(m, out);
	render_latency(m, out);
	render_events(m, out);
	render_labelled(m, out);
}
