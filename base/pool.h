/* capsid's own worker pool for long blocking work (ACL walks). It is not
 * libuv's shared pool, which also serves file and DNS requests and cannot
 * cancel a running item.
 *
 * Items are submitted and completed on the loop thread; work_cb runs on a
 * worker thread and must not touch libuv handles. Cancellation: an item
 * still queued is completed with CAPSID_ECANCELED without running; a
 * running item sees capsid__work_canceled() turn true and should return
 * early. */
#ifndef CAPSID_POOL_H
#define CAPSID_POOL_H

#include "capsid-common.h"

#include <uv.h>

typedef struct capsid__pool_s capsid__pool_t;
typedef struct capsid__work_s capsid__work_t;

typedef void (*capsid__work_cb)(capsid__work_t* w);
/* status: 0 when work_cb ran (it records its own result in the item),
 * CAPSID_ECANCELED when it was dropped before running. */
typedef void (*capsid__done_cb)(capsid__work_t* w, int status);

struct capsid__work_s {
  capsid__work_cb work_cb;
  capsid__done_cb done_cb;
  void* data;
  /* private */
  capsid__work_t* next;
  capsid__pool_t* pool;
  int state;
  volatile int canceled;
};

/* Starts n threads (0: number of CPUs) delivering completions on loop. */
int capsid__pool_new(uv_loop_t* loop, unsigned n, capsid__pool_t** out);
void capsid__pool_submit(capsid__pool_t* pool, capsid__work_t* w);
/* Thread-safe to read from work_cb. */
int capsid__work_canceled(const capsid__work_t* w);
void capsid__pool_cancel(capsid__work_t* w);
/* Cancels queued items, waits for running ones, joins the threads, and
 * closes the async handle; the pool is freed once the handle has closed.
 * Every outstanding item's done_cb runs before this returns or from the
 * loop shortly after. */
void capsid__pool_close(capsid__pool_t* pool);
/* For a caller that made loop and pool for one piece of work: when run,
 * runs the loop until that work is done; then closes the pool (NULL is
 * fine), lets its last callbacks run and closes the loop. */
void capsid__pool_run_private(uv_loop_t* loop, capsid__pool_t* pool,
                              int run);
unsigned capsid__pool_threads(const capsid__pool_t* pool);

#endif
