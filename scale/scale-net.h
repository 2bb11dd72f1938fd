/* Small socket and thread helpers shared by the scale-out's own servers
 * and helper threads (scale/metrics.c, scale/queue-web.c,
 * scale/tls-tunnel.c, scale/sentinel.c). */
#ifndef CAPSID_SCALE_NET_H
#define CAPSID_SCALE_NET_H

#include <stddef.h>

/* Listens on addr ("HOST:PORT" or "[V6]:PORT"; port 0 picks one). Returns
 * the socket, or CAPSID_EINVAL (not HOST:PORT) / CAPSID_EIO with a message
 * in err that starts with option ("--listen: ..."). */
int scale_net_listen(const char* addr, const char* option, char* err,
                     size_t err_size);
/* "HOST:PORT" (bracketed for IPv6) of a listening socket, into buf. */
int scale_net_where(int fd, char* buf, size_t size);
/* Sends all of p; -1 when the peer is gone (never SIGPIPE). */
int scale_net_send_all(int fd, const void* p, size_t n);
/* Reads an HTTP request head (up to the blank line) into buf, NUL
 * terminated; -1 past timeout_ms, size or on a closed peer. */
int scale_net_read_head(int fd, char* buf, size_t size, int timeout_ms);
/* Starts a detached thread with every signal blocked (signals stay with
 * the thread that runs the event loop; SIGPIPE becomes EPIPE). 0 or
 * -1. */
int scale_thread_start(void* (*fn)(void*), void* arg);

#endif
