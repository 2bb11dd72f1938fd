/* Blocking connection set-up shared by capsid submit and capsid collect. */
#include "redis-sync.h"

#include "redis-conn.h"
#include "redis-endpoint.h"
#include "redis-retry.h"
#include "sentinel.h"

#include "capsid-common.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int setup_command(redisContext* c, scale_redis_endpoint_t* ep,
                         const char* what, int argc, const char** argv,
                         char* err, size_t err_size, int* transient) {
  redisReply* r = redisCommandArgv(c, argc, argv, NULL);
  int permanent;

  if (r == NULL) {
    /* Through TLS, a refused handshake shows here as a closed socket. */
    if (scale_redis_endpoint_failure(ep, err, err_size, &permanent)) {
      *transient = !permanent;
      return -1;
    }
    snprintf(err, err_size, "%s failed: %s", what, c->errstr);
    *transient = scale_redis_io_transient(c->err);
    return -1;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(err, err_size, "%s failed: %s", what, r->str);
    *transient = scale_redis_reply_transient(r->str);
    freeReplyObject(r);
    return -1;
  }
  if (strcmp(what, "ROLE") == 0 && !scale_sentinel_is_master_role(r)) {
    snprintf(err, err_size, "%s:%d is not the master (a failover is going "
             "on)", ep->host, ep->port);
    *transient = 1;
    freeReplyObject(r);
    return -1;
  }
  freeReplyObject(r);
  return 0;
}


redisContext* scale_redis_sync_connect(const scale_redis_url_t* url,
                                       unsigned timeout_ms, char* err,
                                       size_t err_size, int* transient) {
  struct timeval tv;
  redisContext* c;
  scale_redis_endpoint_t ep;
  const char* argv[3];
  char db[16];
  char why[400];
  uint64_t t = capsid__hrtime();

  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  if (scale_redis_endpoint_resolve(url, &ep, why, sizeof(why), transient) !=
      0) {
    snprintf(err, err_size, "redis %s: %s", url->display, why);
    return NULL;
  }
  *transient = 1;
  if (ep.unix_path[0] != '\0')
    c = redisConnectUnixWithTimeout(ep.unix_path, tv);
  else
    c = redisConnectWithTimeout(ep.host, ep.port, tv);
  if (c == NULL) {
    *transient = 0;
    snprintf(err, err_size, "redis %s: out of memory", url->display);
    return NULL;
  }
  if (c->err) {
    snprintf(err, err_size, "redis %s: cannot connect: %s", url->display,
             c->errstr);
    *transient = scale_redis_io_transient(c->err);
    redisFree(c);
    return NULL;
  }
  /* A reply later than this means a hung server, not a slow one: the
   * longest wait we ask for (XREAD BLOCK) is a second. */
  tv.tv_sec = 30;
  tv.tv_usec = 0;
  redisSetTimeout(c, tv);
  if (url->password != NULL) {
    int n = 0;
    argv[n++] = "AUTH";
    if (url->user != NULL)
      argv[n++] = url->user;
    argv[n++] = url->password;
    if (setup_command(c, &ep, "AUTH", n, argv, err, err_size, transient) !=
        0)
      goto fail;
  }
  if (url->db != 0) {
    snprintf(db, sizeof(db), "%d", url->db);
    argv[0] = "SELECT";
    argv[1] = db;
    if (setup_command(c, &ep, "SELECT", 2, argv, err, err_size,
                      transient) != 0)
      goto fail;
  }
  /* Behind Sentinel the address may be a master just demoted; through
   * TLS the handshake's outcome is known only once a reply came. */
  argv[0] = url->master != NULL ? "ROLE" : "PING";
  if ((url->master != NULL || url->tls) &&
      setup_command(c, &ep, argv[0], 1, argv, err, err_size, transient) !=
          0)
    goto fail;
  capsid__log_stage("redis connect", t, 0);
  return c;

fail:
  {
    /* Prefix the address, as the connect errors do. */
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", err);
    snprintf(err, err_size, "redis %s: %s", url->display, msg);
  }
  redisFree(c);
  return NULL;
}


int scale_redis_sync_lost(redisContext** c, const scale_redis_url_t* url,
                          char* err, size_t err_size) {
  int transient = scale_redis_io_transient((*c)->err);

  snprintf(err, err_size, "redis %s: connection lost: %s", url->display,
           (*c)->errstr);
  redisFree(*c);
  *c = NULL;
  return transient;
}


redisReply* scale_redis_sync_command(redisContext** c,
                                   const scale_redis_url_t* url,
                                   const char* key, int argc,
                                   const char** argv, char* err,
                                   size_t err_size, int* transient) {
  redisReply* r;
  char now[300];
  uint64_t t = capsid__hrtime();

  /* Behind Sentinel, leave a master that was just replaced before
   * writing to it (see scale_sentinel_watch_get). */
  if (url->master != NULL &&
      scale_sentinel_watch_moved(scale_sentinel_watch_get(url), (*c)->tcp.host,
                                 (*c)->tcp.port, now, sizeof(now))) {
    snprintf(err, err_size, "redis %s: the sentinels name %s as the "
             "master now", url->display, now);
    redisFree(*c);
    *c = NULL;
    *transient = 1;
    return NULL;
  }
  r = redisCommandArgv(*c, argc, argv, NULL);
  capsid__log_stage(argv[0], t, r == NULL ? CAPSID_EIO : 0);
  if (r == NULL) {
    *transient = scale_redis_sync_lost(c, url, err, err_size);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(err, err_size, "%s on \"%s\" failed: %s", argv[0], key,
             r->str);
    *transient = scale_redis_reply_transient(r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}


int scale_redis_sync_entry_exists(redisContext* c, const char* key,
                                  const char* id) {
  const char* argv[4] = {"XRANGE", key, id, id};
  redisReply* r = redisCommandArgv(c, 4, argv, NULL);
  int exists = 1;

  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 0)
    exists = 0;
  if (r != NULL)
    freeReplyObject(r);
  return exists;
}


void scale_redis_sync_sleep(unsigned ms, uint64_t deadline_ms) {
  uint64_t now = capsid__hrtime() / 1000000u;
  struct timespec ts;

  if (deadline_ms != 0) {
    if (now >= deadline_ms)
      return;
    if (deadline_ms - now < ms)
      ms = (unsigned)(deadline_ms - now);
  }
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}


int scale_redis_sync_parse_url(const char* cmd, const char* text,
                             scale_redis_url_t* out) {
  char err[512];

  if (scale_redis_url_parse(text, out, err, sizeof(err)) != 0) {
    fprintf(stderr, "%s: --redis: %s\n", cmd, err);
    return -1;
  }
  return 0;
}
