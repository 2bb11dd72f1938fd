/* Taking over the jobs of dead workers, and keeping our own from being
 * taken (worker-claim.c). */
#ifndef CAPSID_SCALE_WORKER_CLAIM_H
#define CAPSID_SCALE_WORKER_CLAIM_H

#include "worker-state.h"

void worker_claim_pass(worker_t* w);
void worker_heartbeat(worker_t* w);
/* After a read lost with its connection (orphans_since_ms set): fetches
 * back, size checked, what it delivered to us. */
void worker_claim_orphans(worker_t* w);

#endif
