/* From a stream entry to a running job, and from a finished job to its
 * result (worker-entry.c). */
#ifndef CAPSID_SCALE_WORKER_ENTRY_H
#define CAPSID_SCALE_WORKER_ENTRY_H

#include "worker-state.h"

/* Copies an entry ([id, [field, value, ...]]) out of a reply. */
int worker_entry_parse(const void* reply, worker_entry_t* out);
/* Takes ownership of e: starts the job, or queues its error result (or
 * dead-letters it when deliveries exceed the limit). */
void worker_entry_take(worker_t* w, worker_entry_t* e, long deliveries);

#endif
