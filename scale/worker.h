/* The scale-out worker engine: runs the jobs of a Redis stream as one
 * member of a consumer group, writes each job's result line to a results
 * stream, and hands its jobs back when stopped. `capsid worker` is this
 * engine behind its options; docs/scale-out.md gives the guarantees.
 *
 *   scale_worker_config_t cfg;
 *   scale_worker_config_init(&cfg);
 *   cfg.redis = "redis://127.0.0.1:6379";
 *   cfg.stream = "jobs";
 *   if (scale_worker_check(&cfg, err, sizeof(err)) == 0)
 *     status = scale_worker_run(&cfg);
 *
 * The engine says what it does on stderr, each line prefixed
 * "capsid worker: ". */
#ifndef CAPSID_SCALE_WORKER_H
#define CAPSID_SCALE_WORKER_H

#include <stddef.h>
#include <stdint.h>

/* The bounds scale_worker_check holds a configuration to. */
#define SCALE_WORKER_MAX_JOBS 4096u
#define SCALE_WORKER_MAX_DURATION_MS 86400000u /* 24 h */
#define SCALE_WORKER_MAX_DELIVERIES 1000000L
/* --max-result-bytes: from 64 KiB to 256 MiB, default 16 MiB (the limit
 * of a submitted line), far under Redis' own 512 MB bulk limit. */
#define SCALE_WORKER_MIN_RESULT_BYTES ((uint64_t)64 << 10)
#define SCALE_WORKER_MAX_RESULT_BYTES ((uint64_t)256 << 20)
#define SCALE_WORKER_DEFAULT_RESULT_BYTES ((uint64_t)16 << 20)
#define SCALE_WORKER_MAX_RETRIES 100u

typedef struct scale_worker_config_s {
  const char* redis;       /* a Redis URL (redis-url.h); required */
  const char* stream;      /* the job stream; required */
  const char* results;     /* NULL: "STREAM-results" */
  const char* dead_letter; /* NULL: "STREAM-dead" */
  const char* group;       /* the consumer group */
  const char* consumer;    /* this worker's name; NULL: "HOST-PID" */
  unsigned jobs;           /* run at once; 0: the available parallelism */
  /* A job held this long without a sign of life from its worker is taken
   * over; also sets how often this worker shows its own are alive. */
  uint64_t claim_idle_ms;
  /* A job delivered more often than this is dead-lettered, not run. */
  long max_deliveries;
  /* After SIGTERM or SIGINT, how long running jobs may take to finish
   * before they are killed and handed back. */
  uint64_t drain_ms;
  /* Every Redis reply is awaited at most this long (and so is a new
   * connection's set-up); a silent connection is then dropped and made
   * again. At least 100 ms. */
  uint64_t command_timeout_ms;
  /* A result line longer than this has its outputs cut in the middle
   * (marked as the output caps mark it) until it fits. */
  uint64_t max_result_bytes;
  /* A job that ran and failed (exit status not 0, a signal, timed out,
   * out of memory) is run again on this worker up to this many times,
   * after retry_backoff_ms doubling each time (at most 10 min), each
   * wait drawn between half and all of it. 0: no retries. */
  unsigned retries;
  uint64_t retry_backoff_ms;
  /* Results and dead letters older than this are trimmed (0: kept). */
  uint64_t results_ttl_ms;
  /* HOST:PORT to serve Prometheus metrics on (scale/metrics.h); NULL:
   * none. */
  const char* metrics;
} scale_worker_config_t;

/* The defaults: group "capsid", claim-idle 30 s, 5 deliveries, drain 30 s,
 * command timeout 15 s, results up to 16 MiB, no retries (backoff 1 s),
 * results kept 7 days, everything else NULL or 0. */
void scale_worker_config_init(scale_worker_config_t* cfg);

/* Checks cfg without connecting: the names (not empty, no space or control
 * character), the URL, the bounds above, and that the results and
 * dead-letter streams differ from the job stream. Returns 0, or
 * CAPSID_EINVAL with one sentence in err naming the option that is wrong
 * ("--stream: the name is empty"). */
int scale_worker_check(const scale_worker_config_t* cfg, char* err,
                       size_t err_size);

/* Runs the worker on a loop of its own until SIGTERM or SIGINT (a second
 * one kills the jobs still running and hands them back) or an error that
 * retrying cannot cure. Redis going away is ridden out. Returns the exit
 * status: 0 when stopped cleanly, 1 after a failure (said on stderr), 2
 * when cfg does not pass scale_worker_check (said on stderr). */
int scale_worker_run(const scale_worker_config_t* cfg);

#endif
