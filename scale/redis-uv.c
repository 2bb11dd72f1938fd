/* hiredis <-> libuv adapter. hiredis' ev hooks are idempotent "I want to
 * read/write" switches; we keep the wanted set and restart the poll with
 * it. The poll is freed in its close callback, after hiredis has already
 * forgotten it, so no hook can reach freed memory. */
#include "redis-uv.h"

#include "capsid-common.h"

typedef struct redis_uv_s {
  uv_poll_t poll;
  redisAsyncContext* ac;
  int events;  /* UV_READABLE | UV_WRITABLE wanted by hiredis */
  int closing; /* hiredis called cleanup: ac is gone */
  void (*after_read)(redisAsyncContext* ac, void* data);
  void* after_read_data;
} redis_uv_t;


static void on_poll(uv_poll_t* handle, int status, int events) {
  redis_uv_t* p = handle->data;

  if (p->closing)
    return;
  /* On a poll error, let hiredis find the socket's error itself by trying
   * what it asked for: it then reports and tears the connection down. */
  if (status < 0)
    events = p->events;
  if (events & UV_READABLE) {
    redisAsyncHandleRead(p->ac);
    /* The hook may free the context (cleanup then sets closing). */
    if (!p->closing && p->after_read != NULL)
      p->after_read(p->ac, p->after_read_data);
  }
  /* Reading may have ended the connection and freed the context. */
  if (!p->closing && (events & UV_WRITABLE))
    redisAsyncHandleWrite(p->ac);
}


static void update(redis_uv_t* p, int events) {
  if (p->closing || events == p->events)
    return;
  p->events = events;
  if (events != 0)
    uv_poll_start(&p->poll, events, on_poll);
  else
    uv_poll_stop(&p->poll);
}


static void add_read(void* data) {
  redis_uv_t* p = data;
  update(p, p->events | UV_READABLE);
}


static void del_read(void* data) {
  redis_uv_t* p = data;
  update(p, p->events & ~UV_READABLE);
}


static void add_write(void* data) {
  redis_uv_t* p = data;
  update(p, p->events | UV_WRITABLE);
}


static void del_write(void* data) {
  redis_uv_t* p = data;
  update(p, p->events & ~UV_WRITABLE);
}


static void on_close(uv_handle_t* handle) {
  capsid__free(handle->data);
}


static void cleanup(void* data) {
  redis_uv_t* p = data;

  p->closing = 1;
  p->ac = NULL;
  uv_close((uv_handle_t*)&p->poll, on_close);
}


int scale_redis_uv_attach(redisAsyncContext* ac, uv_loop_t* loop) {
  redis_uv_t* p;
  int rc;

  if (ac->ev.data != NULL)
    return CAPSID_EINVAL;
  p = capsid__calloc(1, sizeof(*p));
  if (p == NULL)
    return CAPSID_ENOMEM;
  rc = uv_poll_init_socket(loop, &p->poll, ac->c.fd);
  if (rc != 0) {
    capsid__free(p);
    return CAPSID_EIO;
  }
  p->ac = ac;
  p->poll.data = p;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = p;
  return 0;
}


void scale_redis_uv_after_read(redisAsyncContext* ac,
                               void (*fn)(redisAsyncContext* ac, void* data),
                               void* data) {
  redis_uv_t* p = ac->ev.data;

  if (p == NULL)
    return;
  p->after_read = fn;
  p->after_read_data = data;
}
