/* Where hiredis connects for a URL, decided again on each (re)connect:
 * redis:// is HOST:PORT; unix:// the socket; rediss:// the unix socket of
 * the TLS tunnel to HOST:PORT (tls-tunnel.h); redis-sentinel:// the
 * address the sentinels give for the master now (sentinel.h). */
#ifndef CAPSID_SCALE_REDIS_ENDPOINT_H
#define CAPSID_SCALE_REDIS_ENDPOINT_H

#include "redis-url.h"
#include "tls-tunnel.h"

#include <stddef.h>
#include <stdint.h>

typedef struct scale_redis_endpoint_s {
  char host[256];       /* the server (TCP), also behind a tunnel */
  int port;
  char unix_path[300];  /* set: hiredis connects here instead */
  scale_tls_tunnel_t* tunnel;
  uint64_t tunnel_seq;
} scale_redis_endpoint_t;

/* Returns 0, or -1 with a message in err and *transient set when trying
 * again may succeed. */
int scale_redis_endpoint_resolve(const scale_redis_url_t* url,
                               scale_redis_endpoint_t* ep, char* err,
                               size_t err_size, int* transient);

/* After a connection through ep was lost or refused: when the TLS tunnel
 * saw why (a handshake that failed, a certificate not trusted), writes
 * that into why and sets *permanent; returns 1. Otherwise 0. */
int scale_redis_endpoint_failure(scale_redis_endpoint_t* ep, char* why,
                                 size_t why_size, int* permanent);

#endif
