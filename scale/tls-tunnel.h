/* TLS for hiredis 0.14, which has none: an in-process tunnel. The tunnel
 * listens on a unix socket in a private directory (mode 0700, accepting
 * only this process, checked with SO_PEERCRED); hiredis connects there
 * with its own unix-socket support, and for each connection a thread of
 * the tunnel opens TCP to the server, does the TLS handshake with
 * OpenSSL (server certificate verified, name checked, SNI, optional
 * client certificate) and copies bytes both ways. hiredis' reply reader,
 * async context and the libuv adapter stay as they are.
 *
 * One tunnel per distinct target for the life of the process (a worker's
 * two connections share one; a Sentinel failover adds one). */
#ifndef CAPSID_SCALE_TLS_TUNNEL_H
#define CAPSID_SCALE_TLS_TUNNEL_H

#include "redis-url.h"

#include <stddef.h>
#include <stdint.h>

typedef struct scale_tls_tunnel_s scale_tls_tunnel_t;

/* The tunnel to host:port with url's TLS settings (ca, cert, key, sni),
 * made on first use. NULL with a message in err when the settings cannot
 * be loaded (a missing CA file, a key that does not match the
 * certificate): retrying cannot cure that. */
scale_tls_tunnel_t* scale_tls_tunnel_get(const scale_redis_url_t* url,
                                         const char* host, int port, char* err,
                                         size_t err_size);
/* The unix socket hiredis connects to. */
const char* scale_tls_tunnel_path(const scale_tls_tunnel_t* t);
/* A counter of the tunnel's failures; read it before connecting and pass
 * it to scale_tls_tunnel_error after a loss. */
uint64_t scale_tls_tunnel_seq(scale_tls_tunnel_t* t);
/* When a connection of the tunnel failed since seq: 1 and its reason in
 * err ("TLS handshake failed: certificate verify failed: ..."), with
 * *permanent set when it was the certificate (retrying cannot cure it);
 * otherwise 0. */
int scale_tls_tunnel_error(scale_tls_tunnel_t* t, uint64_t seq, char* err,
                           size_t err_size, int* permanent);

#endif
