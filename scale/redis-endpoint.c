/* Endpoint resolution (see redis-endpoint.h). */
#include "redis-endpoint.h"

#include "sentinel.h"

#include <stdio.h>
#include <string.h>

int scale_redis_endpoint_resolve(const scale_redis_url_t* url,
                               scale_redis_endpoint_t* ep, char* err,
                               size_t err_size, int* transient) {
  memset(ep, 0, sizeof(*ep));
  *transient = 1;
  if (url->unix_path != NULL) {
    snprintf(ep->unix_path, sizeof(ep->unix_path), "%s", url->unix_path);
    return 0;
  }
  if (url->master != NULL) {
    if (scale_sentinel_master(url, ep->host, sizeof(ep->host), &ep->port, err,
                              err_size, transient) != 0)
      return -1;
  } else {
    snprintf(ep->host, sizeof(ep->host), "%s", url->host);
    ep->port = url->port;
  }
  if (!url->tls)
    return 0;
  ep->tunnel = scale_tls_tunnel_get(url, ep->host, ep->port, err, err_size);
  if (ep->tunnel == NULL) {
    *transient = 0;
    return -1;
  }
  ep->tunnel_seq = scale_tls_tunnel_seq(ep->tunnel);
  snprintf(ep->unix_path, sizeof(ep->unix_path), "%s",
           scale_tls_tunnel_path(ep->tunnel));
  return 0;
}


int scale_redis_endpoint_failure(scale_redis_endpoint_t* ep, char* why,
                                 size_t why_size, int* permanent) {
  *permanent = 0;
  if (ep->tunnel == NULL)
    return 0;
  return scale_tls_tunnel_error(ep->tunnel, ep->tunnel_seq, why, why_size,
                                permanent);
}
