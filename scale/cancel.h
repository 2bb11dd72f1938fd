/* Cancelling jobs of a scale-out stream: `capsid cancel` is this engine.
 * The ids (a job's "id", its stream entry id, or a batch id of capsid
 * submit) go into the set "STREAM-cancel", which every worker reads
 * every second: a job not yet started is answered with an error result
 * instead of being run, a running one is killed and answered the same
 * way (worker-cancel.c). The set expires a week after the last cancel. */
#ifndef CAPSID_SCALE_CANCEL_H
#define CAPSID_SCALE_CANCEL_H

#include <stddef.h>

/* The most ids one call takes. */
#define SCALE_CANCEL_MAX_IDS 1000

/* Adds ids[0..n) to the stream's cancel set. Returns 0; CAPSID_EINVAL
 * (err names the option: "--redis: ..."); or CAPSID_EIO after a Redis
 * failure (err says which; transient ones are retried for 30 s). */
int scale_cancel(const char* redis, const char* stream,
                 const char* const* ids, int n, char* err, size_t err_size);

#endif
