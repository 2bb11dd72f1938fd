/* Transient or permanent Redis failures, and the backoff between tries
 * (see redis-retry.h). */
#include "redis-retry.h"

#include "capsid-common.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Error replies start with a code word; these say "not now". BUSYGROUP
 * (a group that exists) is not BUSY: the whole word is compared.
 * READONLY and UNBLOCKED come from a master that Sentinel is turning into
 * a replica: the next connection goes to the new master. */
static const char* const transient_codes[] = {
    "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY",
    "UNBLOCKED",
};


int scale_redis_reply_transient(const char* text) {
  size_t i, n;

  if (text == NULL)
    return 0;
  for (i = 0; i < CAPSID__ARRAY_SIZE(transient_codes); i++) {
    n = strlen(transient_codes[i]);
    if (strncmp(text, transient_codes[i], n) == 0 &&
        (text[n] == '\0' || text[n] == ' '))
      return 1;
  }
  return 0;
}


int scale_redis_io_transient(int err) {
  /* A protocol error means the peer is not Redis (or the stream is
   * corrupt); out of memory is ours. Refused, reset, closed, timed out and
   * name lookups that failed may all be over at the next try. */
  return err != 0 && err != REDIS_ERR_PROTOCOL && err != REDIS_ERR_OOM;
}


static uint64_t now_ms(void) {
  return capsid__hrtime() / 1000000u;
}


/* xorshift32: jitter needs no quality, only to differ between clients. */
static uint32_t next_random(scale_redis_backoff_t* b) {
  uint32_t x = b->rng;

  if (x == 0)
    x = (uint32_t)capsid__hrtime() ^ ((uint32_t)getpid() << 16) ^ 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  b->rng = x;
  return x;
}


/* The cause of a failure: what follows the last ": " of its message (the
 * line number or the address before it may change from try to try). */
static uint64_t cause_of(const char* what) {
  const char* p = what;
  const char* q;
  uint64_t h = 1469598103934665603u;

  while ((q = strstr(p, ": ")) != NULL)
    p = q + 2;
  for (; *p != '\0'; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211u;
  return h;
}


unsigned scale_redis_backoff_failed(scale_redis_backoff_t* b, const char* label,
                                    const char* what) {
  uint64_t now = now_ms();
  uint64_t cause = cause_of(what);
  unsigned wait, half;

  if (b->base_ms == 0 || cause != b->cause) {
    if (b->base_ms == 0) {
      b->base_ms = CLI_REDIS_BACKOFF_MIN_MS;
      b->since_ms = now;
      b->tries = 0;
    }
    fprintf(stderr, "%s: %s; retrying\n", label, what);
    b->logged_ms = now;
    b->cause = cause;
  } else if (now - b->logged_ms >= CLI_REDIS_LOG_EVERY_MS) {
    fprintf(stderr, "%s: %s; still retrying after %llu s (%lu tries)\n",
            label, what, (unsigned long long)((now - b->since_ms) / 1000),
            b->tries + 1);
    b->logged_ms = now;
  }
  b->tries++;
  half = b->base_ms / 2;
  wait = half + next_random(b) % (half + 1);
  b->base_ms = b->base_ms * 2 > CLI_REDIS_BACKOFF_MAX_MS
                   ? CLI_REDIS_BACKOFF_MAX_MS
                   : b->base_ms * 2;
  return wait;
}


void scale_redis_backoff_ok(scale_redis_backoff_t* b, const char* label,
                            const char* again) {
  if (b->base_ms != 0 && again != NULL)
    fprintf(stderr, "%s: %s\n", label, again);
  b->base_ms = 0;
  b->tries = 0;
}


int scale_redis_backoff_failing(const scale_redis_backoff_t* b) {
  return b->base_ms != 0;
}
