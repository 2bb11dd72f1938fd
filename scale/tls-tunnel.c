/* The in-process TLS tunnel beneath hiredis (see tls-tunnel.h).
 *
 * Threads: one accept thread per tunnel, one pump thread per connection,
 * all with every signal blocked (SIGPIPE from a write to a closed peer
 * becomes EPIPE; the event loop's signal handling stays on the main
 * thread). A pump reads only when poll says the socket is readable, and
 * its sockets have send and receive timeouts, so a peer that stops
 * midway frees the thread instead of holding it. */
#include "tls-tunnel.h"

#include "scale-net.h"

#include "capsid-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 5
/* A record that stops midway, or a write nobody reads, for this long
 * ends the connection. */
#define IO_TIMEOUT_S 30

struct scale_tls_tunnel_s {
  struct scale_tls_tunnel_s* next;
  char* key;           /* host, port and TLS settings: what makes it distinct */
  char* host;
  int port;
  char* name;          /* checked against the certificate; SNI when a name */
  int name_is_ip;
  SSL_CTX* ctx;
  int listen_fd;
  char dir[256];
  char path[300];
  pthread_mutex_t mu;
  struct pump_s* pumps; /* running connections (under mu) */
  uint64_t seq;        /* failures so far */
  char err[512];
  int err_permanent;
};

/* The tunnel and pump records hold OpenSSL objects and come from libc's
 * heap (calloc), as OpenSSL's own allocations do, so that leak checkers,
 * which do not look inside mimalloc's heap, can follow the pointers. */

/* One tunnelled connection. Listed in its tunnel while its thread runs,
 * so that what it holds stays reachable (a process may end with a pump
 * mid-handshake; leak checkers then see no lost memory). */
typedef struct pump_s {
  struct pump_s* next;
  struct pump_s* prev;
  scale_tls_tunnel_t* t;
  int ufd;
  int tfd;  /* -1 until connected (under the tunnel's mu) */
  SSL* ssl;
} pump_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static scale_tls_tunnel_t* g_tunnels;
static int g_atexit;


static void record(scale_tls_tunnel_t* t, int permanent, const char* fmt, ...)
    CAPSID__PRINTF(3, 4);

static void record(scale_tls_tunnel_t* t, int permanent, const char* fmt,
                   ...) {
  va_list ap;

  pthread_mutex_lock(&t->mu);
  va_start(ap, fmt);
  vsnprintf(t->err, sizeof(t->err), fmt, ap);
  va_end(ap);
  t->err_permanent = permanent;
  t->seq++;
  pthread_mutex_unlock(&t->mu);
}


static void set_timeouts(int fd) {
  struct timeval tv = {IO_TIMEOUT_S, 0};
  int one = 1, idle = 30, intvl = 10, cnt = 3;

  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}


/* A connected TCP socket to the server (blocking, with timeouts), or -1
 * after recording why. */
static int tcp_connect(scale_tls_tunnel_t* t) {
  struct addrinfo hints, *res = NULL, *ai;
  char port[16];
  int fd = -1, rc, err = 0, flags;
  struct pollfd pfd;
  socklen_t len;

  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof(port), "%d", t->port);
  rc = getaddrinfo(t->host, port, &hints, &res);
  if (rc != 0) {
    record(t, 0, "cannot resolve %s: %s", t->host, gai_strerror(rc));
    return -1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, CONNECT_TIMEOUT_S * 1000) != 1) {
          err = ETIMEDOUT;
        } else {
          len = sizeof(err);
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
      }
    }
    if (err == 0) {
      fcntl(fd, F_SETFL, flags);
      set_timeouts(fd);
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    record(t, 0, "cannot connect to %s:%d: %s", t->host, t->port,
           strerror(err));
  return fd;
}


static void ssl_errors(char* buf, size_t size) {
  unsigned long e = ERR_get_error();

  if (e == 0)
    snprintf(buf, size, "%s", "the connection closed");
  else
    ERR_error_string_n(e, buf, size);
  ERR_clear_error();
}


/* TLS handshake with verification; NULL after recording why. */
static SSL* handshake(pump_t* pm, int fd) {
  scale_tls_tunnel_t* t = pm->t;
  SSL* ssl = SSL_new(t->ctx);
  char why[256];
  long vr;

  pm->ssl = ssl;
  if (ssl == NULL) {
    record(t, 0, "TLS: out of memory");
    return NULL;
  }
  SSL_set_fd(ssl, fd);
  if (!t->name_is_ip)
    SSL_set_tlsext_host_name(ssl, t->name);
  if (t->name_is_ip)
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->name);
  else
    SSL_set1_host(ssl, t->name);
  if (SSL_connect(ssl) == 1)
    return ssl;
  vr = SSL_get_verify_result(ssl);
  if (vr != X509_V_OK) {
    ERR_clear_error();
    record(t, 1, "TLS handshake with %s:%d failed: the server's "
           "certificate is not trusted: %s", t->host, t->port,
           X509_verify_cert_error_string(vr));
  } else {
    ssl_errors(why, sizeof(why));
    record(t, 0, "TLS handshake with %s:%d failed: %s", t->host, t->port,
           why);
  }
  SSL_free(ssl);
  pm->ssl = NULL;
  return NULL;
}


/* Copies both ways until either side closes or fails. */
static void pump_loop(int ufd, SSL* ssl, int tfd) {
  char buf[16384];
  struct pollfd p[2];
  ssize_t n;
  int r;

  for (;;) {
    /* Decrypted bytes OpenSSL already holds are not seen by poll. */
    while (SSL_has_pending(ssl)) {
      r = SSL_read(ssl, buf, sizeof(buf));
      if (r <= 0)
        return;
      if (scale_net_send_all(ufd, buf, (size_t)r) != 0)
        return;
    }
    p[0].fd = ufd;
    p[0].events = POLLIN;
    p[1].fd = tfd;
    p[1].events = POLLIN;
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      n = read(ufd, buf, sizeof(buf));
      if (n <= 0)
        return;
      if (SSL_write(ssl, buf, (int)n) != (int)n)
        return;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      r = SSL_read(ssl, buf, sizeof(buf));
      if (r <= 0)
        return;
      if (scale_net_send_all(ufd, buf, (size_t)r) != 0)
        return;
    }
  }
}


static void* pump_main(void* arg) {
  pump_t* pm = arg;
  scale_tls_tunnel_t* t = pm->t;
  int ufd = pm->ufd, tfd;
  SSL* ssl = NULL;

  tfd = tcp_connect(t);
  pthread_mutex_lock(&t->mu);
  pm->tfd = tfd;
  pthread_mutex_unlock(&t->mu);
  if (tfd >= 0)
    ssl = handshake(pm, tfd);
  if (ssl != NULL) {
    pump_loop(ufd, ssl, tfd);
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ERR_clear_error();
  pthread_mutex_lock(&t->mu);
  if (tfd >= 0)
    close(tfd);
  close(ufd);
  if (pm->prev != NULL)
    pm->prev->next = pm->next;
  else
    t->pumps = pm->next;
  if (pm->next != NULL)
    pm->next->prev = pm->prev;
  pthread_mutex_unlock(&t->mu);
  free(pm);
  return NULL;
}


static void* accept_main(void* arg) {
  scale_tls_tunnel_t* t = arg;
  struct ucred cred;
  socklen_t len;
  pump_t* pm;
  int fd;

  for (;;) {
    fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      record(t, 0, "TLS tunnel: accept failed: %s", strerror(errno));
      return NULL;
    }
    /* Only this process may reach the server through the tunnel. */
    len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.pid != getpid()) {
      close(fd);
      continue;
    }
    pm = calloc(1, sizeof(*pm));
    if (pm == NULL) {
      close(fd);
      continue;
    }
    pm->t = t;
    pm->ufd = fd;
    pm->tfd = -1;
    pthread_mutex_lock(&t->mu);
    pm->next = t->pumps;
    if (t->pumps != NULL)
      t->pumps->prev = pm;
    t->pumps = pm;
    pthread_mutex_unlock(&t->mu);
    if (scale_thread_start(pump_main, pm) != 0) {
      pthread_mutex_lock(&t->mu);
      t->pumps = pm->next;
      if (pm->next != NULL)
        pm->next->prev = NULL;
      pthread_mutex_unlock(&t->mu);
      free(pm);
      close(fd);
    }
  }
}


/* At exit: end the connections still open (their threads then free
 * what they hold, for up to a second), and remove the sockets. */
static void remove_sockets(void) {
  struct timespec ms = {0, 1000000L};
  scale_tls_tunnel_t* t;
  pump_t* pm;
  int i, busy = 1;

  for (t = g_tunnels; t != NULL; t = t->next) {
    pthread_mutex_lock(&t->mu);
    for (pm = t->pumps; pm != NULL; pm = pm->next) {
      shutdown(pm->ufd, SHUT_RDWR);
      if (pm->tfd >= 0)
        shutdown(pm->tfd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&t->mu);
  }
  for (i = 0; i < 1000 && busy; i++) {
    busy = 0;
    for (t = g_tunnels; t != NULL; t = t->next) {
      pthread_mutex_lock(&t->mu);
      busy |= t->pumps != NULL;
      pthread_mutex_unlock(&t->mu);
    }
    if (busy)
      nanosleep(&ms, NULL);
  }
  for (t = g_tunnels; t != NULL; t = t->next) {
    unlink(t->path);
    rmdir(t->dir);
  }
}


static int load_ctx(scale_tls_tunnel_t* t, const scale_redis_url_t* url,
                    char* err, size_t err_size) {
  char why[256];
  const char* what;

  /* Tunnel threads may be mid-handshake when the process exits: OpenSSL
   * must not free its global state under them from an atexit handler. */
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
  t->ctx = SSL_CTX_new(TLS_client_method());
  if (t->ctx == NULL) {
    snprintf(err, err_size, "TLS: cannot create a context");
    return -1;
  }
  SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
  what = url->tls_ca != NULL ? "ca" : "the system's CA store";
  if ((url->tls_ca != NULL
           ? SSL_CTX_load_verify_locations(t->ctx, url->tls_ca, NULL)
           : SSL_CTX_set_default_verify_paths(t->ctx)) != 1)
    goto fail;
  if (url->tls_cert != NULL) {
    what = "cert";
    if (SSL_CTX_use_certificate_chain_file(t->ctx, url->tls_cert) != 1)
      goto fail;
    what = "key";
    if (SSL_CTX_use_PrivateKey_file(t->ctx, url->tls_key,
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t->ctx) != 1)
      goto fail;
  }
  return 0;

fail:
  ssl_errors(why, sizeof(why));
  snprintf(err, err_size, "TLS: cannot load %s%s%s: %s", what,
           url->tls_ca != NULL || url->tls_cert != NULL ? " " : "",
           strcmp(what, "ca") == 0     ? url->tls_ca
           : strcmp(what, "cert") == 0 ? url->tls_cert
           : strcmp(what, "key") == 0  ? url->tls_key
                                       : "",
           why);
  return -1;
}


static int listen_private(scale_tls_tunnel_t* t, char* err, size_t err_size) {
  const char* tmp = getenv("TMPDIR");
  struct sockaddr_un sa;

  if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 100)
    tmp = "/tmp";
  snprintf(t->dir, sizeof(t->dir), "%s/capsid-tls-XXXXXX", tmp);
  if (mkdtemp(t->dir) == NULL) {
    snprintf(err, err_size, "TLS tunnel: cannot make a directory in %s: %s",
             tmp, strerror(errno));
    return -1;
  }
  snprintf(t->path, sizeof(t->path), "%s/s", t->dir);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (strlen(t->path) >= sizeof(sa.sun_path)) {
    snprintf(err, err_size, "TLS tunnel: the path %s is too long for a "
             "unix socket (set TMPDIR to a shorter directory)", t->path);
    rmdir(t->dir);
    return -1;
  }
  memcpy(sa.sun_path, t->path, strlen(t->path) + 1);
  t->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (t->listen_fd < 0 ||
      bind(t->listen_fd, (struct sockaddr*)&sa, sizeof(sa)) != 0 ||
      listen(t->listen_fd, 64) != 0) {
    snprintf(err, err_size, "TLS tunnel: cannot listen on %s: %s", t->path,
             strerror(errno));
    if (t->listen_fd >= 0)
      close(t->listen_fd);
    rmdir(t->dir);
    return -1;
  }
  return 0;
}


static char* make_key(const scale_redis_url_t* url, const char* host,
                      int port) {
  char buf[4096];

  snprintf(buf, sizeof(buf), "%s\n%d\n%s\n%s\n%s\n%s", host, port,
           url->tls_ca ? url->tls_ca : "", url->tls_cert ? url->tls_cert : "",
           url->tls_key ? url->tls_key : "", url->tls_sni ? url->tls_sni : "");
  return capsid__strdup(buf);
}


static void tunnel_free(scale_tls_tunnel_t* t) {
  if (t->ctx != NULL)
    SSL_CTX_free(t->ctx);
  capsid__free(t->key);
  capsid__free(t->host);
  capsid__free(t->name);
  pthread_mutex_destroy(&t->mu);
  free(t);
}


static scale_tls_tunnel_t* tunnel_new(const scale_redis_url_t* url,
                                      const char* host, int port, char* key,
                                      char* err, size_t err_size) {
  scale_tls_tunnel_t* t = calloc(1, sizeof(*t));
  struct in6_addr a6;

  if (t == NULL) {
    capsid__free(key);
    snprintf(err, err_size, "TLS: out of memory");
    return NULL;
  }
  pthread_mutex_init(&t->mu, NULL);
  t->key = key;
  t->port = port;
  t->listen_fd = -1;
  t->host = capsid__strdup(host);
  t->name = capsid__strdup(url->tls_sni != NULL ? url->tls_sni : host);
  if (t->host == NULL || t->name == NULL) {
    snprintf(err, err_size, "TLS: out of memory");
    goto fail;
  }
  t->name_is_ip = inet_pton(AF_INET, t->name, &a6) == 1 ||
                  inet_pton(AF_INET6, t->name, &a6) == 1;
  if (load_ctx(t, url, err, err_size) != 0 ||
      listen_private(t, err, err_size) != 0)
    goto fail;
  if (scale_thread_start(accept_main, t) != 0) {
    snprintf(err, err_size, "TLS tunnel: cannot start a thread");
    close(t->listen_fd);
    unlink(t->path);
    rmdir(t->dir);
    goto fail;
  }
  return t;

fail:
  tunnel_free(t);
  return NULL;
}


scale_tls_tunnel_t* scale_tls_tunnel_get(const scale_redis_url_t* url,
                                         const char* host, int port, char* err,
                                         size_t err_size) {
  scale_tls_tunnel_t* t;
  char* key = make_key(url, host, port);

  if (key == NULL) {
    snprintf(err, err_size, "TLS: out of memory");
    return NULL;
  }
  pthread_mutex_lock(&g_mu);
  for (t = g_tunnels; t != NULL; t = t->next)
    if (strcmp(t->key, key) == 0)
      break;
  if (t != NULL) {
    capsid__free(key);
  } else {
    t = tunnel_new(url, host, port, key, err, err_size);
    if (t != NULL) {
      t->next = g_tunnels;
      g_tunnels = t;
      if (!g_atexit)
        g_atexit = atexit(remove_sockets) == 0;
    }
  }
  pthread_mutex_unlock(&g_mu);
  return t;
}


const char* scale_tls_tunnel_path(const scale_tls_tunnel_t* t) {
  return t->path;
}


uint64_t scale_tls_tunnel_seq(scale_tls_tunnel_t* t) {
  uint64_t s;

  pthread_mutex_lock(&t->mu);
  s = t->seq;
  pthread_mutex_unlock(&t->mu);
  return s;
}


int scale_tls_tunnel_error(scale_tls_tunnel_t* t, uint64_t seq, char* err,
                           size_t err_size, int* permanent) {
  int failed;

  pthread_mutex_lock(&t->mu);
  failed = t->seq != seq;
  if (failed) {
    snprintf(err, err_size, "%s", t->err);
    *permanent = t->err_permanent;
  }
  pthread_mutex_unlock(&t->mu);
  return failed;
}
