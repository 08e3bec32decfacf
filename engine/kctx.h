/* kctx: the engine's side of a running kernel's context (kernel.h).
 *
 * kctx_main() is the entry point of a kernel node in its own process. It
 * builds the context from the node environment every task sees
 * (DAGRUN_PARAMS, DAGRUN_IN, DAGRUN_NEEDS, DAGRUN_OUT, DAGRUN_NODE,
 * DAGRUN_METRICS, DAGRUN_EVENTS), runs the kernel and returns the exit
 * code for the process: 0, 1 (failed) or 2 (bad input).  Because it reads
 * only the environment, the same entry point runs a node on another
 * machine.  SIGTERM sets the flag kctx_cancelled() reports. */
#ifndef DAGRUN_KCTX_H
#define DAGRUN_KCTX_H

#include "kernel.h"

int kctx_main(const struct kernel *k);

#endif
