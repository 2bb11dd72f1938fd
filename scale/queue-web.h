/* A small read-only web page for one queue: `capsid queue web`. GET /
 * is a page that shows the workers, the throughput and the last failures
 * and refreshes itself every second from GET /status.json, which is
 * scale_queue_status()'s JSON. Nothing else is served and nothing is
 * written to Redis; any other method is refused. No authentication: bind
 * it to loopback (the default) or a private network. */
#ifndef CAPSID_SCALE_QUEUE_WEB_H
#define CAPSID_SCALE_QUEUE_WEB_H

#include "queue-status.h"

#include <stddef.h>

/* Listens on listen_addr ("HOST:PORT", "[V6]:PORT"; port 0 picks one),
 * says "capsid queue web: serving http://HOST:PORT/" on stderr, and serves
 * until killed. Returns only on a set-up error: CAPSID_EINVAL (a bad
 * address) or CAPSID_EIO, with a message in err. */
int scale_queue_web(const scale_queue_config_t* cfg, const char* listen_addr,
                    char* err, size_t err_size);

#endif
