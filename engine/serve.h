/* serve: `dagrun serve`, predictions over HTTP from the model registry,
 * on libmicrohttpd (docs/serve.md is the user's manual).
 *
 *   GET  /healthz                 liveness, and what is in service
 *   GET  /metrics                 Prometheus text (serve_metrics.h)
 *   GET  /models                  the registry's models, versions, aliases
 *   POST /predict/NAME[@ALIAS]    rows as JSON or CSV (serve_body.h) ->
 *                                 JSON predictions with timestamps
 *   POST /reload                  read the registry now
 *
 * How it holds up under load: --workers loop threads each read their
 * connections (libmicrohttpd, epoll) and run their predictions
 * themselves, the predictions that wait together for one model in one
 * model pass; a prediction waits in a bounded queue (serve_pool.h): a
 * full queue is answered at once with 429 and Retry-After, a prediction
 * past its deadline with 503, so memory and latency stay bounded however
 * many clients come.  Models are swapped without a restart or a failed
 * request when an alias moves (serve_models.h).
 *
 * Never: a request, however malformed, does not end the process; every
 * bad request gets a 4xx with {"error": "..."}.  It binds to 127.0.0.1
 * unless --host says otherwise.  POST endpoints need the bearer token of
 * --token-file when one is given (compared in constant time). */
#ifndef DAGRUN_SERVE_H
#define DAGRUN_SERVE_H

#include "err.h"

/* `dagrun serve [options]`: argv[0] is "serve"; the options are
 *   --port P (8000; 0: any free port, printed), --host H (127.0.0.1),
 *   --state DIR (overrides 'state_dir'), --workers N (cores),
 *   --queue-max N (64), --timeout-ms N (1000), --max-body BYTES (1 MiB),
 *   --split ALIAS=W,..., --shadow ALIAS, --token-file F, --poll-ms N (200),
 *   -q/--quiet, -v/--verbose (a line per request), -h/--help,
 *   --debug-delay-ms N (testing only: each prediction sleeps first, at
 *   most until its deadline).
 * Serves until SIGINT or SIGTERM, then stops taking requests, lets those
 * in flight finish (each within its deadline) and returns 0.  Returns -1
 * with 'err' set: ERR_USER for the command line or a state without a
 * registry, ERR_IO when it cannot listen or start its threads.  Writes
 * its log to stderr; "listening on http://HOST:PORT" once it is ready. */
int serve_main(int argc, char **argv, const char *state_dir, struct err *err);

#endif
