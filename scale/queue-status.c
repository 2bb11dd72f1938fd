/* The queue's state, read-only (see queue-status.h). Every read is a
 * Redis command that changes nothing: XINFO, XLEN, XREVRANGE, INFO, TIME. */
#include "queue-status.h"

#include "redis-sync.h"
#include "redis-url.h"

#include "capsid-common.h"
#include "log.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Results inspected for the last minute's count and the failures. */
#define RECENT_RESULTS 1000

typedef struct q_s {
  redisContext* c;
  scale_redis_url_t url;
  char* err;
  size_t err_size;
  int failed;
} q_t;


/* A command; NULL on failure (err set once). A missing key or group is
 * not a failure: the caller gets the error reply and decides. */
static redisReply* cmd(q_t* q, int argc, const char** argv) {
  redisReply* r;
  uint64_t t = capsid__hrtime();

  if (q->failed)
    return NULL;
  r = redisCommandArgv(q->c, argc, argv, NULL);
  capsid__log_stage(argv[0], t, r == NULL ? CAPSID_EIO : 0);
  if (r == NULL) {
    scale_redis_sync_lost(&q->c, &q->url, q->err, q->err_size);
    q->failed = 1;
  }
  return r;
}


/* The value of key in a flat [key, value, ...] reply. */
static const redisReply* kv(const redisReply* r, const char* key) {
  size_t i;

  if (r == NULL || r->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (i = 0; i + 1 < r->elements; i += 2)
    if (r->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[i]->str, key) == 0)
      return r->element[i + 1];
  return NULL;
}


static json_t* kv_json(const redisReply* r, const char* key) {
  const redisReply* v = kv(r, key);

  if (v == NULL || v->type == REDIS_REPLY_NIL)
    return json_null();
  if (v->type == REDIS_REPLY_INTEGER)
    return json_integer(v->integer);
  if (v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS)
    return json_stringn(v->str, v->len);
  return json_null();
}


static long long xlen(q_t* q, const char* key) {
  const char* argv[2] = {"XLEN", key};
  redisReply* r = cmd(q, 2, argv);
  long long n = -1;

  if (r != NULL && r->type == REDIS_REPLY_INTEGER)
    n = r->integer;
  else if (r != NULL && r->type == REDIS_REPLY_ERROR && !q->failed) {
    snprintf(q->err, q->err_size, "XLEN on \"%s\" failed: %s", key, r->str);
    q->failed = 1;
  }
  if (r != NULL)
    freeReplyObject(r);
  return n;
}


/* {"name", "pending", "lag", "last_delivered", "consumers": [...]} or
 * null when the group does not exist yet (no worker came). */
static json_t* group_status(q_t* q, const char* stream, const char* group) {
  const char* argv[4] = {"XINFO", "GROUPS", stream, NULL};
  redisReply* r = cmd(q, 3, argv);
  json_t* g = NULL;
  json_t* list;
  size_t i;

  if (r == NULL || r->type != REDIS_REPLY_ARRAY)
    goto out; /* an error reply: no such stream */
  for (i = 0; i < r->elements && g == NULL; i++) {
    const redisReply* name = kv(r->element[i], "name");
    if (name == NULL || name->type != REDIS_REPLY_STRING ||
        strcmp(name->str, group) != 0)
      continue;
    g = json_object();
    json_object_set_new(g, "name", json_string(group));
    json_object_set_new(g, "pending", kv_json(r->element[i], "pending"));
    json_object_set_new(g, "lag", kv_json(r->element[i], "lag"));
    json_object_set_new(g, "last_delivered",
                        kv_json(r->element[i], "last-delivered-id"));
  }
  freeReplyObject(r);
  r = NULL;
  if (g == NULL)
    goto out;
  argv[1] = "CONSUMERS";
  argv[3] = group;
  r = cmd(q, 4, argv);
  list = json_array();
  for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements;
       i++) {
    json_t* w = json_object();
    json_object_set_new(w, "name", kv_json(r->element[i], "name"));
    json_object_set_new(w, "pending", kv_json(r->element[i], "pending"));
    json_object_set_new(w, "idle_ms", kv_json(r->element[i], "idle"));
    json_array_append_new(list, w);
  }
  json_object_set_new(g, "consumers", list);

out:
  if (r != NULL)
    freeReplyObject(r);
  return g;
}


/* Milliseconds of an entry id "MS-SEQ". */
static long long id_ms(const char* id) {
  return strtoll(id, NULL, 10);
}


/* A result line that failed: {"id", "entry", "worker", "exit_code",
 * "error", "at_ms"}; NULL when it did not fail. */
static json_t* failure(const redisReply* fields, const char* sid) {
  const redisReply* res = kv(fields, "result");
  json_t* line;
  json_t* f;
  json_t* ec;
  json_t* e;

  if (res == NULL || res->type != REDIS_REPLY_STRING)
    return NULL;
  line = json_loadb(res->str, res->len, 0, NULL);
  if (line == NULL)
    return NULL;
  ec = json_object_get(line, "exit_code");
  e = json_object_get(line, "error");
  if ((json_is_integer(ec) && json_integer_value(ec) == 0) &&
      (e == NULL || json_is_null(e))) {
    json_decref(line);
    return NULL;
  }
  f = json_object();
  json_object_set(f, "id", json_object_get(line, "id") != NULL
                               ? json_object_get(line, "id")
                               : json_null());
  json_object_set_new(f, "entry", kv_json(fields, "entry"));
  json_object_set_new(f, "worker", kv_json(fields, "worker"));
  json_object_set(f, "exit_code", ec != NULL ? ec : json_null());
  json_object_set(f, "signal", json_object_get(line, "signal") != NULL
                                   ? json_object_get(line, "signal")
                                   : json_null());
  json_object_set(f, "error",
                  json_is_object(e) && json_object_get(e, "message")
                      ? json_object_get(e, "message")
                      : json_null());
  json_object_set_new(f, "at_ms", json_integer(id_ms(sid)));
  json_decref(line);
  return f;
}


/* results: {"stream", "length", "last_minute", "failures": [...]}. */
static json_t* results_status(q_t* q, const char* results, long long now) {
  char count[16];
  const char* argv[6] = {"XREVRANGE", results, "+", "-", "COUNT", count};
  json_t* o = json_object();
  json_t* fails = json_array();
  redisReply* r;
  long long minute = 0;
  size_t i;

  snprintf(count, sizeof(count), "%d", RECENT_RESULTS);
  json_object_set_new(o, "stream", json_string(results));
  json_object_set_new(o, "length", json_integer(xlen(q, results)));
  r = cmd(q, 6, argv);
  for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements;
       i++) {
    const redisReply* e = r->element[i];
    json_t* f;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
      continue;
    if (now - id_ms(e->element[0]->str) <= 60000)
      minute++;
    if (json_array_size(fails) < SCALE_QUEUE_FAILURES &&
        (f = failure(e->element[1], e->element[0]->str)) != NULL)
      json_array_append_new(fails, f);
  }
  if (r != NULL)
    freeReplyObject(r);
  json_object_set_new(o, "last_minute", json_integer(minute));
  /* Counted among the last RECENT_RESULTS only. */
  json_object_set_new(o, "last_minute_capped",
                      json_boolean(minute == RECENT_RESULTS));
  json_object_set_new(o, "failures", fails);
  return o;
}


static json_t* dead_status(q_t* q, const char* dead) {
  const char* argv[6] = {"XREVRANGE", dead, "+", "-", "COUNT", "5"};
  json_t* o = json_object();
  json_t* last = json_array();
  redisReply* r;
  size_t i;

  json_object_set_new(o, "stream", json_string(dead));
  json_object_set_new(o, "length", json_integer(xlen(q, dead)));
  r = cmd(q, 6, argv);
  for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements;
       i++) {
    const redisReply* e = r->element[i];
    json_t* d;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
      continue;
    d = json_object();
    json_object_set_new(d, "entry", kv_json(e->element[1], "entry"));
    json_object_set_new(d, "reason", kv_json(e->element[1], "reason"));
    json_object_set_new(d, "worker", kv_json(e->element[1], "worker"));
    json_array_append_new(last, d);
  }
  if (r != NULL)
    freeReplyObject(r);
  json_object_set_new(o, "last", last);
  return o;
}


/* "aof_enabled:1" and friends from INFO persistence; CONFIG GET may be
 * refused to the workers' ACL user, INFO rarely is. */
static json_t* persistence(q_t* q) {
  const char* argv[2] = {"INFO", "persistence"};
  redisReply* r = cmd(q, 2, argv);
  json_t* o = json_object();
  const char* p;

  json_object_set_new(o, "server", json_string(q->url.display));
  if (r != NULL && r->type == REDIS_REPLY_STRING) {
    p = strstr(r->str, "aof_enabled:");
    json_object_set_new(o, "aof", p != NULL ? json_boolean(p[12] == '1')
                                            : json_null());
  } else {
    json_object_set_new(o, "aof", json_null());
  }
  if (r != NULL)
    freeReplyObject(r);
  r = cmd(q, 3, (const char*[]){"CONFIG", "GET", "appendfsync"});
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[1]->type == REDIS_REPLY_STRING)
    json_object_set_new(o, "appendfsync", json_string(r->element[1]->str));
  else
    json_object_set_new(o, "appendfsync", json_null());
  if (r != NULL)
    freeReplyObject(r);
  return o;
}


static long long server_ms(q_t* q) {
  const char* argv[1] = {"TIME"};
  redisReply* r = cmd(q, 1, argv);
  long long ms = 0;

  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
    ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
         strtoll(r->element[1]->str, NULL, 10) / 1000;
  if (r != NULL)
    freeReplyObject(r);
  return ms;
}


static int q_open(q_t* q, const char* redis, char* err, size_t err_size) {
  int transient;

  memset(q, 0, sizeof(*q));
  q->err = err;
  q->err_size = err_size;
  if (scale_redis_url_parse(redis, &q->url, err, err_size) != 0)
    return CAPSID_EINVAL;
  q->c = scale_redis_sync_connect(&q->url, 5000, err, err_size, &transient);
  if (q->c == NULL) {
    scale_redis_url_free(&q->url);
    return CAPSID_EIO;
  }
  return 0;
}


static void q_close(q_t* q) {
  if (q->c != NULL)
    redisFree(q->c);
  scale_redis_url_free(&q->url);
}


int scale_queue_persistence(const char* redis, json_t** out, char* err,
                            size_t err_size) {
  q_t q;
  int rc = q_open(&q, redis, err, err_size);

  *out = NULL;
  if (rc != 0)
    return rc;
  *out = persistence(&q);
  rc = q.failed ? CAPSID_EIO : 0;
  q_close(&q);
  if (rc != 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}


int scale_queue_status(const scale_queue_config_t* cfg, json_t** out,
                       char* err, size_t err_size) {
  char results[512], dead[512];
  const char* group = cfg->group != NULL ? cfg->group : "capsid";
  json_t* o;
  json_t* g;
  long long now;
  q_t q;
  int rc;

  *out = NULL;
  if (cfg->stream == NULL || cfg->stream[0] == '\0') {
    snprintf(err, err_size, "--stream NAME is required");
    return CAPSID_EINVAL;
  }
  snprintf(results, sizeof(results), "%s-results", cfg->stream);
  snprintf(dead, sizeof(dead), "%s-dead", cfg->stream);
  rc = q_open(&q, cfg->redis, err, err_size);
  if (rc != 0)
    return rc;
  now = server_ms(&q);
  o = json_object();
  json_object_set_new(o, "stream", json_string(cfg->stream));
  json_object_set_new(o, "length", json_integer(xlen(&q, cfg->stream)));
  g = group_status(&q, cfg->stream, group);
  json_object_set_new(o, "group", g != NULL ? g : json_null());
  json_object_set_new(o, "results", results_status(&q, cfg->results != NULL
                                                           ? cfg->results
                                                           : results,
                                                   now));
  json_object_set_new(o, "dead_letters",
                      dead_status(&q, cfg->dead_letter != NULL
                                          ? cfg->dead_letter
                                          : dead));
  json_object_set_new(o, "persistence", persistence(&q));
  json_object_set_new(o, "time_ms", json_integer(now));
  rc = q.failed ? CAPSID_EIO : 0;
  q_close(&q);
  if (rc != 0) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return 0;
}
