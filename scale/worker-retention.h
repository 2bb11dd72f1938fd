/* Keeping the streams and the group from growing for ever
 * (worker-retention.c). */
#ifndef CAPSID_SCALE_WORKER_RETENTION_H
#define CAPSID_SCALE_WORKER_RETENTION_H

#include "worker-state.h"

/* Every 10 --claim-idle (1 s to 1 min): drops acknowledged jobs from the
 * job stream, results and dead letters older than --results-ttl, and
 * consumers with nothing pending that were idle for 10 --claim-idle. */
void worker_retention_pass(worker_t* w);

#endif
