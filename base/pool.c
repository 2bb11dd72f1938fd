#include "pool.h"

#include <string.h>

enum { WORK_QUEUED = 1, WORK_RUNNING, WORK_DONE };

struct capsid__pool_s {
  uv_loop_t* loop;
  uv_async_t async;
  uv_mutex_t mutex;
  uv_cond_t cond;
  uv_thread_t* threads;
  unsigned n_threads;
  int stopping;
  capsid__work_t* queue_head; /* FIFO of queued items */
  capsid__work_t* queue_tail;
  capsid__work_t* done;       /* finished, awaiting done_cb on the loop */
  unsigned outstanding;       /* submitted, done_cb not yet run; loop only */
};


static void worker_main(void* arg) {
  capsid__pool_t* pool = arg;
  capsid__work_t* w;

  for (;;) {
    uv_mutex_lock(&pool->mutex);
    while (pool->queue_head == NULL && !pool->stopping)
      uv_cond_wait(&pool->cond, &pool->mutex);
    if (pool->queue_head == NULL) {
      uv_mutex_unlock(&pool->mutex);
      return;
    }
    w = pool->queue_head;
    pool->queue_head = w->next;
    if (pool->queue_head == NULL)
      pool->queue_tail = NULL;
    w->state = WORK_RUNNING;
    uv_mutex_unlock(&pool->mutex);

    w->work_cb(w);

    uv_mutex_lock(&pool->mutex);
    w->state = WORK_DONE;
    w->next = pool->done;
    pool->done = w;
    uv_mutex_unlock(&pool->mutex);
    uv_async_send(&pool->async);
  }
}


/* Runs done_cb for a list of items. lifo: the list is the done stack,
 * reversed first so completions keep their order. */
static void deliver(capsid__pool_t* pool, capsid__work_t* list, int lifo,
                    int status) {
  capsid__work_t* rev = NULL;
  capsid__work_t* next;

  if (lifo) {
    while (list != NULL) {
      next = list->next;
      list->next = rev;
      rev = list;
      list = next;
    }
    list = rev;
  }
  while (list != NULL) {
    next = list->next;
    list->next = NULL;
    if (--pool->outstanding == 0)
      uv_unref((uv_handle_t*)&pool->async);
    list->done_cb(list, list->canceled == 2 ? CAPSID_ECANCELED : status);
    list = next;
  }
}


static void async_cb(uv_async_t* handle) {
  capsid__pool_t* pool = CAPSID__CONTAINER_OF(handle, capsid__pool_t, async);
  capsid__work_t* list;

  uv_mutex_lock(&pool->mutex);
  list = pool->done;
  pool->done = NULL;
  uv_mutex_unlock(&pool->mutex);
  deliver(pool, list, 1, 0);
}


static void pool_closed(uv_handle_t* handle);


int capsid__pool_new(uv_loop_t* loop, unsigned n, capsid__pool_t** out) {
  capsid__pool_t* pool;
  unsigned i;

  *out = NULL;
  if (n == 0)
    n = uv_available_parallelism();
  pool = capsid__calloc(1, sizeof(*pool));
  if (pool == NULL)
    return CAPSID_ENOMEM;
  pool->loop = loop;
  pool->threads = capsid__calloc(n, sizeof(*pool->threads));
  if (pool->threads == NULL || uv_mutex_init(&pool->mutex) != 0) {
    capsid__free(pool->threads);
    capsid__free(pool);
    return CAPSID_ENOMEM;
  }
  if (uv_cond_init(&pool->cond) != 0) {
    uv_mutex_destroy(&pool->mutex);
    capsid__free(pool->threads);
    capsid__free(pool);
    return CAPSID_ENOMEM;
  }
  if (uv_async_init(loop, &pool->async, async_cb) != 0) {
    pool_closed((uv_handle_t*)&pool->async);
    return CAPSID_ENOMEM;
  }
  /* An idle pool must not keep the loop alive. */
  uv_unref((uv_handle_t*)&pool->async);
  for (i = 0; i < n; i++) {
    if (uv_thread_create(&pool->threads[i], worker_main, pool) != 0)
      break;
    pool->n_threads++;
  }
  if (pool->n_threads == 0) {
    uv_close((uv_handle_t*)&pool->async, pool_closed);
    return CAPSID_EAGAIN;
  }
  *out = pool;
  return 0;
}


void capsid__pool_submit(capsid__pool_t* pool, capsid__work_t* w) {
  w->pool = pool;
  w->next = NULL;
  w->canceled = 0;
  w->state = WORK_QUEUED;
  uv_mutex_lock(&pool->mutex);
  if (pool->queue_tail != NULL)
    pool->queue_tail->next = w;
  else
    pool->queue_head = w;
  pool->queue_tail = w;
  uv_cond_signal(&pool->cond);
  uv_mutex_unlock(&pool->mutex);
  /* While work is outstanding the loop must stay alive for its result. */
  if (pool->outstanding++ == 0)
    uv_ref((uv_handle_t*)&pool->async);
}


int capsid__work_canceled(const capsid__work_t* w) {
  return w->canceled != 0;
}


void capsid__pool_cancel(capsid__work_t* w) {
  capsid__pool_t* pool = w->pool;
  capsid__work_t** pp;
  capsid__work_t* prev = NULL;

  uv_mutex_lock(&pool->mutex);
  if (w->state == WORK_QUEUED) {
    for (pp = &pool->queue_head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
      if (*pp == w) {
        *pp = w->next;
        if (pool->queue_tail == w)
          pool->queue_tail = prev;
        break;
      }
    }
    /* Deliver through the normal path so done_cb never runs re-entrantly
     * inside the caller. */
    w->canceled = 2;
    w->state = WORK_DONE;
    w->next = pool->done;
    pool->done = w;
    uv_mutex_unlock(&pool->mutex);
    uv_async_send(&pool->async);
    return;
  }
  if (w->state == WORK_RUNNING)
    w->canceled = 1;
  uv_mutex_unlock(&pool->mutex);
}


void capsid__pool_run_private(uv_loop_t* loop, capsid__pool_t* pool,
                              int run) {
  if (run)
    uv_run(loop, UV_RUN_DEFAULT);
  capsid__pool_close(pool);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
}


unsigned capsid__pool_threads(const capsid__pool_t* pool) {
  return pool->n_threads;
}


static void pool_closed(uv_handle_t* handle) {
  capsid__pool_t* pool = CAPSID__CONTAINER_OF(handle, capsid__pool_t, async);

  uv_cond_destroy(&pool->cond);
  uv_mutex_destroy(&pool->mutex);
  capsid__free(pool->threads);
  capsid__free(pool);
}


void capsid__pool_close(capsid__pool_t* pool) {
  capsid__work_t* w;
  capsid__work_t* list;
  unsigned i;

  if (pool == NULL)
    return;
  uv_mutex_lock(&pool->mutex);
  pool->stopping = 1;
  for (w = pool->queue_head; w != NULL; w = w->next)
    w->canceled = 2;
  list = pool->queue_head;
  pool->queue_head = pool->queue_tail = NULL;
  uv_cond_broadcast(&pool->cond);
  uv_mutex_unlock(&pool->mutex);
  for (i = 0; i < pool->n_threads; i++)
    uv_thread_join(&pool->threads[i]);
  /* Queued items were never run: complete them as canceled, after the
   * finished ones. */
  uv_mutex_lock(&pool->mutex);
  w = pool->done;
  pool->done = NULL;
  uv_mutex_unlock(&pool->mutex);
  deliver(pool, w, 1, 0);
  deliver(pool, list, 0, CAPSID_ECANCELED);
  uv_close((uv_handle_t*)&pool->async, pool_closed);
}
