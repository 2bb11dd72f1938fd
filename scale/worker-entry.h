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

/* Redis refused j's result for good (why says how; j has nothing in
 * flight): its result is dropped, the job goes to the dead-letter stream
 * with why as the reason, and gets a small error result instead, so it is
 * neither lost nor retried for ever. */
void worker_entry_unwritable(worker_job_t* j, const char* why);

/* Starts the jobs whose retry time came (--retries), as slots allow; a
 * stopping worker hands them back instead. */
void worker_entry_retry_due(worker_t* w);

/* capsid cancel named j, which is not running: answer it with an error
 * result saying so. */
void worker_entry_cancel(worker_job_t* j);

#endif
