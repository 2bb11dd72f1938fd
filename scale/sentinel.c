/* Sentinel queries (see sentinel.h). */
#include "sentinel.h"

#include "capsid-common.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL_TIMEOUT_MS 1000

/* One sentinel's answer: 1 found, 0 does not know the master, -1 failed
 * (why in err). */
static int ask(const cli_redis_url_t* url, const cli_redis_addr_t* s,
               char* host, size_t host_size, int* port, char* err,
               size_t err_size) {
  struct timeval tv = {0, SENTINEL_TIMEOUT_MS * 1000};
  redisContext* c = redisConnectWithTimeout(s->host, s->port, tv);
  redisReply* r = NULL;
  const char* argv[3];
  int n = 0, rc = -1;

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
  if (r != NULL)
    freeReplyObject(r);
  if (c != NULL)
    redisFree(c);
  return rc;
}


int cli_sentinel_master(const cli_redis_url_t* url, char* host,
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


int cli_sentinel_is_master_role(const void* role_reply) {
  const redisReply* r = role_reply;

  return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
         r->element[0]->type == REDIS_REPLY_STRING &&
         strcmp(r->element[0]->str, "master") == 0;
}
