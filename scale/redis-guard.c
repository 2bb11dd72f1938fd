/* The reply guard (redis-guard.h): hiredis' own reply builders, wrapped
 * to count. hiredis 0.14 keeps its default builders private; every reader
 * starts with a pointer to them, which the first attach keeps. */
#include "redis-guard.h"

#include <hiredis/hiredis.h>

static redisReplyObjectFunctions* plain;


static int depth_of(const redisReadTask* task) {
  int d = 0;

  for (; task->parent != NULL; task = task->parent)
    d++;
  return d;
}


/* A new element at the bounded depth (or above it) starts the count. */
static void step(const redisReadTask* task, size_t len) {
  scale_redis_guard_t* g = task->privdata;
  int d;

  if (g == NULL)
    return;
  d = depth_of(task);
  if (d <= g->depth)
    g->unit = 0;
  if (d >= g->depth)
    g->unit += len;
}


static void* guard_string(const redisReadTask* task, char* str, size_t len) {
  step(task, len);
  return plain->createString(task, str, len);
}


static void* guard_array(const redisReadTask* task, int elements) {
  step(task, 0);
  return plain->createArray(task, elements);
}


static void* guard_integer(const redisReadTask* task, long long value) {
  step(task, 0);
  return plain->createInteger(task, value);
}


static void* guard_nil(const redisReadTask* task) {
  step(task, 0);
  return plain->createNil(task);
}


static void guard_free(void* reply) {
  plain->freeObject(reply);
}


static redisReplyObjectFunctions guarded = {
    guard_string, guard_array, guard_integer, guard_nil, guard_free};


void scale_redis_guard_attach(redisAsyncContext* ac, scale_redis_guard_t* g) {
  redisReader* r = ac->c.reader;

  if (r == NULL || g == NULL)
    return;
  if (plain == NULL && r->fn != &guarded)
    plain = r->fn;
  if (plain == NULL)
    return;
  g->unit = 0;
  r->fn = &guarded;
  r->privdata = g;
}


/* The length in a bulk string's header (hiredis has read its '$'; p is
 * at the digits), once the header is whole; 0 before. */
static size_t declared_length(const char* p, size_t n) {
  size_t i, v = 0;

  for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
    if (v > ((size_t)-1 - 9) / 10)
      return (size_t)-1;
    v = v * 10 + (size_t)(p[i] - '0');
  }
  return i > 0 && i < n && p[i] == '\r' ? v : 0;
}


size_t scale_redis_guard_over(const redisAsyncContext* ac,
                              const scale_redis_guard_t* g) {
  const redisReader* r = ac->c.reader;
  size_t held, coming;

  if (g->max == 0 || r == NULL || r->fn != &guarded)
    return 0;
  /* Unparsed bytes: the string still arriving (hiredis parses every
   * whole item as soon as it is in), or the length its header declares
   * when that is more, so that a string too large is refused at its
   * header rather than after max bytes. */
  coming = r->len - r->pos;
  if (r->ridx >= 0 && r->rstack[r->ridx].type == REDIS_REPLY_STRING) {
    size_t declared = declared_length(r->buf + r->pos, r->len - r->pos);
    if (declared > coming)
      coming = declared;
  }
  held = g->unit + coming;
  return held > g->max ? held : 0;
}
