/* Redis Sentinel: which server is the master now. Asked on every
 * (re)connect of a redis-sentinel:// URL, so that after a failover the
 * next connection goes to the promoted replica. */
#ifndef CAPSID_SCALE_SENTINEL_H
#define CAPSID_SCALE_SENTINEL_H

#include "redis-url.h"

#include <stddef.h>

/* Asks url's sentinels in turn (SENTINEL get-master-addr-by-name, one
 * second each at most) for the master's address. Returns 0 with host and
 * *port set; otherwise -1 with a message in err and *transient clear only
 * when every sentinel answered and none knows the master (a misspelt
 * name: waiting cannot cure it). Blocking: called on a reconnect. */
int scale_sentinel_master(const scale_redis_url_t* url, char* host,
                          size_t host_size, int* port, char* err,
                          size_t err_size, int* transient);

/* A thread per sentinel URL (for the life of the process) asks the
 * sentinels twice a second which server is the master, so that a
 * connection to a master that was just replaced is dropped at once rather
 * than when Sentinel gets round to demoting it: writes in between would
 * be lost with the old master's data. Returns NULL when it cannot start
 * (then nothing is watched). */
typedef struct scale_sentinel_watch_s scale_sentinel_watch_t;
scale_sentinel_watch_t* scale_sentinel_watch_get(const scale_redis_url_t* url);
/* 1 when the sentinels last named a master other than host:port, which
 * is then written into now ("HOST:PORT"). */
int scale_sentinel_watch_moved(scale_sentinel_watch_t* w, const char* host,
                               int port, char* now, size_t now_size);

/* 1 when a ROLE reply says "master". Used right after connecting: the
 * address a sentinel gave can be stale in the middle of a failover. */
int scale_sentinel_is_master_role(const void* role_reply);

#endif
