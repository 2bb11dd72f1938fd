/* Prometheus metrics of one worker process: `capsid worker --metrics
 * HOST:PORT`. The worker's loop only bumps counters (atomics, no lock, no
 * allocation); a thread of its own serves GET /metrics in the Prometheus
 * text format and asks Redis, on its own connection, for the queue's depth
 * and pending count at each scrape, so a slow scrape never stalls jobs.
 *
 * Every call is a no-op until scale_metrics_start succeeded. */
#ifndef CAPSID_SCALE_METRICS_H
#define CAPSID_SCALE_METRICS_H

#include <capsid.h>
#include <stddef.h>

/* Listens on addr ("HOST:PORT", port 0 picks one; says "capsid worker:
 * metrics on http://HOST:PORT/metrics" on stderr) and starts serving.
 * The strings are copied. Returns 0, or CAPSID_EINVAL / CAPSID_EIO with a
 * message in err. */
int scale_metrics_start(const char* addr, const char* redis,
                        const char* stream, const char* group,
                        const char* consumer, char* err, size_t err_size);

/* A job started running. */
void scale_metrics_job_started(void);
/* A job left the running state (with a result or handed back). */
void scale_metrics_job_stopped(void);
/* A job's result, counted by outcome (ok, failed, signal, timeout, oom,
 * error) with its wall time in the duration histogram. */
void scale_metrics_result(const capsid_result_t* r);
/* A job was dead-lettered. */
void scale_metrics_dead_letter(void);
/* A confirmed result was gone at the XACK and is written again. */
void scale_metrics_result_rewritten(void);
/* A Redis connection was lost (each loss, of either connection). */
void scale_metrics_redis_down(void);

#endif
