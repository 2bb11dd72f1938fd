/* Sentinel queries (see sentinel.h). */
#include "sentinel.h"

#include "scale-net.h"
#include "tls-tunnel.h"

#include "capsid-common.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL_TIMEOUT_MS 1000
#define WATCH_EVERY_MS 500

struct scale_sentinel_watch_s {
  struct scale_sentinel_watch_s* next;
  scale_redis_url_t url;
  pthread_mutex_t mu;
  char host[256]; /* the master last named; "" before the first answer */
  int port;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static scale_sentinel_watch_t* g_watches;

/* One sentinel's answer: 1 found, 0 does not know the master, -1 failed
 * (why in err). */
static int ask(const scale_redis_url_t* url, const scale_redis_addr_t* s,
               char* host, size_t host_size, int* port, char* err,
               size_t err_size) {
  struct timeval tv = {SENTINEL_TIMEOUT_MS / 1000,
                       (SENTINEL_TIMEOUT_MS % 1000) * 1000};
  scale_tls_tunnel_t* tunnel = NULL;
  redisContext* c = NULL;
  redisReply* r = NULL;
  const char* argv[3];
  uint64_t seq = 0;
  int n = 0, rc = -1, permanent;

  /* rediss-sentinel://: the sentinels speak TLS too (unless
   * sentinel-tls=no), through the same tunnel as the master's. */
  if (url->tls && !url->sentinel_plain) {
    tunnel = scale_tls_tunnel_get(url, s->host, s->port, err, err_size);
    if (tunnel == NULL)
      return -1;
    seq = scale_tls_tunnel_seq(tunnel);
    c = redisConnectUnixWithTimeout(scale_tls_tunnel_path(tunnel), tv);
  } else {
    c = redisConnectWithTimeout(s->host, s->port, tv);
  }
  if (c == NULL || c->err) {
    snprintf(err, err_size, "sentinel %s:%d: cannot connect: %s", s->host,
             s->port, c ? c->errstr : "out of memory");
    goto out;
  }
  redisSetTimeout(c, tv);
  if (url->sentinel_password != NULL) {
    argv[n++] = "AUTH";
    if (url->sentinel_user != NULL)
      argv[n++] = url->sentinel_user;
    argv[n++] = url->sentinel_password;
    r = redisCommandArgv(c, n, argv, NULL);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
      snprintf(err, err_size, "sentinel %s:%d: AUTH failed: %s", s->host,
               s->port, r ? r->str : c->errstr);
      goto out;
    }
    freeReplyObject(r);
  }
  argv[0] = "SENTINEL";
  argv[1] = "get-master-addr-by-name";
  argv[2] = url->master;
  r = redisCommandArgv(c, 3, argv, NULL);
  if (r == NULL || r->type == REDIS_REPLY_ERROR) {
    snprintf(err, err_size, "sentinel %s:%d: %s", s->host, s->port,
             r ? r->str : c->errstr);
  } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             r->element[1]->type == REDIS_REPLY_STRING) {
    snprintf(host, host_size, "%s", r->element[0]->str);
    *port = atoi(r->element[1]->str);
    rc = 1;
  } else {
    snprintf(err, err_size, "sentinel %s:%d does not know a master named "
             "\"%s\"", s->host, s->port, url->master);
    rc = 0;
  }

out:
  /* The tunnel's reason (a handshake refused) beats "connection reset". */
  if (rc < 0 && tunnel != NULL) {
    char why[400];
    if (scale_tls_tunnel_error(tunnel, seq, why, sizeof(why), &permanent))
      snprintf(err, err_size, "sentinel %s:%d: %s", s->host, s->port, why);
  }
  if (r != NULL)
    freeReplyObject(r);
  if (c != NULL)
    redisFree(c);
  return rc;
}


int scale_sentinel_master(const scale_redis_url_t* url, char* host,
                          size_t host_size, int* port, char* err,
                          size_t err_size, int* transient) {
  size_t i;
  int unknown = 0, rc;

  for (i = 0; i < url->n_sentinels; i++) {
    rc = ask(url, &url->sentinels[i], host, host_size, port, err, err_size);
    if (rc == 1)
      return 0;
    unknown += rc == 0;
  }
  *transient = unknown != (int)url->n_sentinels;
  return -1;
}


int scale_sentinel_is_master_role(const void* role_reply) {
  const redisReply* r = role_reply;

  return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
         r->element[0]->type == REDIS_REPLY_STRING &&
         strcmp(r->element[0]->str, "master") == 0;
}


static void* watch_main(void* arg) {
  scale_sentinel_watch_t* w = arg;
  struct timespec ts = {0, WATCH_EVERY_MS * 1000000L};
  char host[256], err[512];
  int port, transient;

  for (;;) {
    /* No answer keeps the last one: a sentinel outage is not a move. */
    if (scale_sentinel_master(&w->url, host, sizeof(host), &port, err,
                              sizeof(err), &transient) == 0) {
      pthread_mutex_lock(&w->mu);
      memcpy(w->host, host, sizeof(host));
      w->port = port;
      pthread_mutex_unlock(&w->mu);
    }
    nanosleep(&ts, NULL);
  }
  return NULL;
}


static int same_sentinels(const scale_redis_url_t* a,
                          const scale_redis_url_t* b) {
  size_t i;

  if (strcmp(a->master, b->master) != 0 || a->n_sentinels != b->n_sentinels)
    return 0;
  for (i = 0; i < a->n_sentinels; i++)
    if (strcmp(a->sentinels[i].host, b->sentinels[i].host) != 0 ||
        a->sentinels[i].port != b->sentinels[i].port)
      return 0;
  return 1;
}


static scale_sentinel_watch_t* watch_new(const scale_redis_url_t* url) {
  scale_sentinel_watch_t* w = capsid__calloc(1, sizeof(*w));

  if (w == NULL)
    return NULL;
  if (scale_redis_url_copy(url, &w->url) != 0) {
    capsid__free(w);
    return NULL;
  }
  pthread_mutex_init(&w->mu, NULL);
  if (scale_thread_start(watch_main, w) != 0) {
    pthread_mutex_destroy(&w->mu);
    scale_redis_url_free(&w->url);
    capsid__free(w);
    return NULL;
  }
  return w;
}


scale_sentinel_watch_t* scale_sentinel_watch_get(const scale_redis_url_t* url) {
  scale_sentinel_watch_t* w;

  if (url->master == NULL)
    return NULL;
  pthread_mutex_lock(&g_mu);
  for (w = g_watches; w != NULL; w = w->next)
    if (same_sentinels(&w->url, url))
      break;
  if (w == NULL) {
    w = watch_new(url);
    if (w != NULL) {
      w->next = g_watches;
      g_watches = w;
    }
  }
  pthread_mutex_unlock(&g_mu);
  return w;
}


int scale_sentinel_watch_moved(scale_sentinel_watch_t* w, const char* host,
                               int port, char* now, size_t now_size) {
  int moved;

  if (w == NULL || host == NULL)
    return 0;
  pthread_mutex_lock(&w->mu);
  moved = w->host[0] != '\0' &&
          (strcmp(w->host, host) != 0 || w->port != port);
  if (moved)
    snprintf(now, now_size, "%s:%d", w->host, w->port);
  pthread_mutex_unlock(&w->mu);
  return moved;
}
