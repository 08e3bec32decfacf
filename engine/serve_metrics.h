/* serve_metrics: the counters of `dagrun serve` and their Prometheus text
 * (exposition format 0.0.4, what GET /metrics answers).
 *
 * What is counted:
 *   dagrun_serve_requests_total{endpoint,code}     every answered request
 *   dagrun_serve_errors_total{endpoint,class}      those with a 4xx or 5xx
 *   dagrun_serve_request_duration_seconds{endpoint} a histogram, from the
 *                       request's headers to its answer being queued
 *   dagrun_serve_queue_rejections_total            429: the queue was full
 *   dagrun_serve_timeouts_total                    503: past the deadline
 *   dagrun_serve_reloads_total{result}             registry re-reads
 *   dagrun_serve_model_swaps_total                 aliases moved since start
 *   dagrun_serve_passes_total                      model passes run
 *   dagrun_serve_pass_requests_total               predictions they answered
 *   dagrun_serve_split_requests_total{model,alias} the traffic split
 *   dagrun_serve_shadow_requests_total{model,alias,result}
 * Gauges that belong to other modules (the queue's depth, the version each
 * alias serves) are appended by the caller with serve_metrics_family() and
 * serve_metrics_sample(), so that this file knows no server internals.
 *
 * Thread-safety: every function may be called from any thread at once.
 * The fixed counters are relaxed C11 atomics (a request never takes a
 * lock to count itself); the labelled counters sit in a small table under
 * a mutex, taken once per request that names a model.  A scrape reads the
 * atomics one by one, so it may see a request in the total but not yet in
 * the histogram: Prometheus tolerates that. */
#ifndef DAGRUN_SERVE_METRICS_H
#define DAGRUN_SERVE_METRICS_H

#include "strbuf.h"

/* The endpoints requests are counted by; OTHER: an unknown path. */
enum serve_endpoint {
	SERVE_EP_HEALTHZ,
	SERVE_EP_METRICS,
	SERVE_EP_MODELS,
	SERVE_EP_PREDICT,
	SERVE_EP_RELOAD,
	SERVE_EP_OTHER,
	SERVE_EP_COUNT
};

/* Unlabelled events. */
enum serve_event {
	SERVE_EV_REJECTED,       /* 429: the queue was full */
	SERVE_EV_TIMEOUT,        /* 503: the deadline passed */
	SERVE_EV_RELOAD_OK,
	SERVE_EV_RELOAD_ERROR,
	SERVE_EV_SWAP,           /* an alias moved to another version */
	SERVE_EV_PASS,           /* a model pass over one or more predictions */
	SERVE_EV_PASS_REQUESTS,  /* the predictions of those passes */
	SERVE_EV_COUNT
};

/* Counters labelled by model and alias. */
enum serve_labelled {
	SERVE_LB_SPLIT,          /* a request routed to the alias by --split */
	SERVE_LB_SHADOW_OK,      /* the shadow alias answered */
	SERVE_LB_SHADOW_ERROR,   /* the shadow alias failed */
	SERVE_LB_COUNT
};

struct serve_metrics;

/* A fresh set of counters, all zero; free with serve_metrics_free(). */
struct serve_metrics *serve_metrics_new(void);
void serve_metrics_free(struct serve_metrics *m);

/* Count one answered request of 'ep' with HTTP 'status' (100-599; others
 * count as 500) that took 'seconds'. */
void serve_metrics_request(struct serve_metrics *m, enum serve_endpoint ep,
			   unsigned status, double seconds);
void serve_metrics_event(struct serve_metrics *m, enum serve_event ev);
/* +n on event 'ev'. */
void serve_metrics_events_add(struct serve_metrics *m, enum serve_event ev,
			      unsigned long long n);
/* +1 on counter 'which' of 'model' and 'alias' (copied). */
void serve_metrics_labelled(struct serve_metrics *m, enum serve_labelled which,
			    const char *model, const char *alias);
/* The current value of a counter, for tests and logs. */
unsigned long long serve_metrics_count(struct serve_metrics *m,
				       enum serve_endpoint ep, unsigned status);
unsigned long long serve_metrics_events(struct serve_metrics *m,
					enum serve_event ev);

/* "predict", "healthz", ... (static). */
const char *serve_metrics_endpoint_name(enum serve_endpoint ep);

/* Append every counter above to 'out' as Prometheus text. */
void serve_metrics_render(struct serve_metrics *m, struct strbuf *out);

/* Append "# HELP" and "# TYPE" lines of a family ('type': counter, gauge,
 * histogram).  'help' must be one line. */
void serve_metrics_family(struct strbuf *out, const char *name,
			  const char *type, const char *help);
/* Append one sample line: name{k1="v1",...} value.  'labels' holds
 * key, value pairs and ends with NULL (NULL itself: no labels); values
 * are escaped as the format asks (\\, \", \n). */
void serve_metrics_sample(struct strbuf *out, const char *name,
			  const char *const *labels, double value);

#endif
