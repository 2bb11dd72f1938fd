/* Which Redis failures are worth retrying, and how to wait between tries.
 * One classification for capsid submit, worker and collect:
 *   transient  the server is loading its data (LOADING), running a long
 *              script (BUSY), failing over (TRYAGAIN, MASTERDOWN,
 *              CLUSTERDOWN, READONLY, UNBLOCKED), or the connection was refused, reset, closed
 *              or timed out: wait and try again, never give up;
 *   permanent  anything else (a wrong password, a key of the wrong type,
 *              an unknown command): retrying cannot help, so say what
 *              failed and stop. */
#ifndef CAPSID_SCALE_REDIS_RETRY_H
#define CAPSID_SCALE_REDIS_RETRY_H

#include <stdint.h>

#define CLI_REDIS_BACKOFF_MIN_MS 100
#define CLI_REDIS_BACKOFF_MAX_MS 5000
/* While failures go on, one line on stderr at most this often. */
#define CLI_REDIS_LOG_EVERY_MS 5000

/* 1 when an error reply ("LOADING Redis is loading ...") is transient. */
int scale_redis_reply_transient(const char* text);
/* 1 when a hiredis context error (redisContext.err) is a connection that
 * was refused, lost or timed out, which a new connection may cure. */
int scale_redis_io_transient(int err);

/* The state of one run of failures (zero-initialised or reset = none). */
typedef struct scale_redis_backoff_s {
  unsigned base_ms;    /* the next wait before jitter; 0 when no failure */
  uint64_t since_ms;   /* when the first failure of the run happened */
  uint64_t logged_ms;  /* when a line was last printed */
  uint64_t cause;      /* a hash of the cause last printed */
  unsigned long tries;
  uint32_t rng;
} scale_redis_backoff_t;

/* Counts a failed try and returns how long to wait before the next one:
 * doubling from MIN to MAX, each wait drawn between half and all of that,
 * so that many clients do not come back in step. Prints
 * "LABEL: WHAT; retrying" at the first failure and whenever the cause
 * (WHAT after its last ": ") changes, and otherwise at most every
 * LOG_EVERY_MS ("...; still retrying after 12 s"). */
unsigned scale_redis_backoff_failed(scale_redis_backoff_t* b, const char* label,
                                    const char* what);
/* A try succeeded: when failures were reported, prints "LABEL: AGAIN" (NULL:
 * nothing) and ends the run. */
void scale_redis_backoff_ok(scale_redis_backoff_t* b, const char* label,
                            const char* again);
/* 1 while a run of failures is going on. */
int scale_redis_backoff_failing(const scale_redis_backoff_t* b);

#endif
