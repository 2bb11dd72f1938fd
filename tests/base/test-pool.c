/* capsid's own worker pool. */
#include "test-common.h"

#include "pool.h"

#include <string.h>
#include <unistd.h>

typedef struct {
  capsid__work_t w;
  int ran;
  int status;
  int done;
  int order;
  uv_sem_t* gate; /* when set, the work waits on it */
} item_t;

static int done_counter;


static void work(capsid__work_t* w) {
  item_t* it = w->data;

  if (it->gate != NULL)
    uv_sem_wait(it->gate);
  it->ran = 1;
}


static void done(capsid__work_t* w, int status) {
  item_t* it = w->data;

  it->done++;
  it->status = status;
  it->order = ++done_counter;
}


static void init_item(item_t* it) {
  memset(it, 0, sizeof(*it));
  it->w.work_cb = work;
  it->w.done_cb = done;
  it->w.data = it;
}


static void test_pool_runs_everything(void** state) {
  uv_loop_t loop;
  capsid__pool_t* pool;
  item_t items[100];
  int i;

  (void)state;
  uv_loop_init(&loop);
  assert_int_equal(capsid__pool_new(&loop, 2, &pool), 0);
  assert_int_equal(capsid__pool_threads(pool), 2);
  for (i = 0; i < 100; i++) {
    init_item(&items[i]);
    capsid__pool_submit(pool, &items[i].w);
  }
  /* Outstanding work keeps the loop alive until every result is in. */
  uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 0; i < 100; i++) {
    assert_int_equal(items[i].ran, 1);
    assert_int_equal(items[i].done, 1);
    assert_int_equal(items[i].status, 0);
  }
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}


static void test_pool_cancel_queued(void** state) {
  uv_loop_t loop;
  capsid__pool_t* pool;
  uv_sem_t gate;
  item_t blocker, queued;

  (void)state;
  uv_loop_init(&loop);
  uv_sem_init(&gate, 0);
  assert_int_equal(capsid__pool_new(&loop, 1, &pool), 0);
  init_item(&blocker);
  blocker.gate = &gate;
  init_item(&queued);
  capsid__pool_submit(pool, &blocker.w);
  capsid__pool_submit(pool, &queued.w);
  /* Let the one thread pick up the blocker, so `queued` stays queued. */
  usleep(50000);
  capsid__pool_cancel(&queued.w);
  /* The blocker is running: cancel only raises its flag. */
  capsid__pool_cancel(&blocker.w);
  assert_true(capsid__work_canceled(&blocker.w));
  uv_sem_post(&gate);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(queued.ran, 0);
  assert_int_equal(queued.done, 1);
  assert_int_equal(queued.status, CAPSID_ECANCELED);
  assert_int_equal(blocker.ran, 1);
  assert_int_equal(blocker.status, 0);
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  uv_sem_destroy(&gate);
}


static void test_pool_close_cancels_rest(void** state) {
  uv_loop_t loop;
  capsid__pool_t* pool;
  uv_sem_t gate;
  item_t blocker, rest[5];
  int i;

  (void)state;
  uv_loop_init(&loop);
  uv_sem_init(&gate, 0);
  assert_int_equal(capsid__pool_new(&loop, 1, &pool), 0);
  init_item(&blocker);
  blocker.gate = &gate;
  capsid__pool_submit(pool, &blocker.w);
  for (i = 0; i < 5; i++) {
    init_item(&rest[i]);
    capsid__pool_submit(pool, &rest[i].w);
  }
  usleep(50000);
  uv_sem_post(&gate); /* close joins the thread: let the blocker finish */
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(blocker.done, 1);
  for (i = 0; i < 5; i++) {
    assert_int_equal(rest[i].done, 1);
    /* Each either ran before close or was canceled, never both. */
    if (rest[i].ran)
      assert_int_equal(rest[i].status, 0);
    else
      assert_int_equal(rest[i].status, CAPSID_ECANCELED);
  }
  assert_int_equal(uv_loop_close(&loop), 0);
  uv_sem_destroy(&gate);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_runs_everything),
      cmocka_unit_test(test_pool_cancel_queued),
      cmocka_unit_test(test_pool_close_cancels_rest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
