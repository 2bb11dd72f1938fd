/* Which Redis failures are retried, and the waits between tries: one
 * classification for submit, worker and collect (scale/redis-retry.c). */
#include "test-common.h"

#include "redis-retry.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

static void test_transient_replies(void** state) {
  static const char* const transient[] = {
      "LOADING Redis is loading the dataset in memory",
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL "
      "or SHUTDOWN NOSAVE.",
      "TRYAGAIN Multiple keys request during rehashing of slot",
      "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is "
      "set to 'no'.",
      "CLUSTERDOWN The cluster is down",
      "READONLY You can't write against a read only replica.",
      "UNBLOCKED force unblock from blocking operation, instance state "
      "changed (master -> replica?)",
      "LOADING",
  };
  static const char* const permanent[] = {
      "WRONGTYPE Operation against a key holding the wrong kind of value",
      "WRONGPASS invalid username-password pair or user is disabled.",
      "NOAUTH Authentication required.",
      "ERR unknown command 'XAUTOCLAIM'",
      /* A group that exists is not a busy server. */
      "BUSYGROUP Consumer Group name already exists",
      "NOGROUP No such key 's' or consumer group 'g'",
      "LOADINGX", "", "loading",
  };
  size_t i;

  (void)state;
  for (i = 0; i < CAPSID__ARRAY_SIZE(transient); i++)
    if (!scale_redis_reply_transient(transient[i]))
      fail_msg("\"%s\" should be transient", transient[i]);
  for (i = 0; i < CAPSID__ARRAY_SIZE(permanent); i++)
    if (scale_redis_reply_transient(permanent[i]))
      fail_msg("\"%s\" should be permanent", permanent[i]);
  assert_false(scale_redis_reply_transient(NULL));
}


static void test_connection_errors(void** state) {
  (void)state;
  /* Refused, reset, closed, timed out, a failed lookup: try again. */
  assert_true(scale_redis_io_transient(REDIS_ERR_IO));
  assert_true(scale_redis_io_transient(REDIS_ERR_EOF));
  assert_true(scale_redis_io_transient(REDIS_ERR_OTHER));
  /* Not Redis at the other end, or out of memory here: no. */
  assert_false(scale_redis_io_transient(REDIS_ERR_PROTOCOL));
  assert_false(scale_redis_io_transient(REDIS_ERR_OOM));
  assert_false(scale_redis_io_transient(0));
}


/* Waits double from the minimum to the cap, each drawn between half and
 * all of its step; a success ends the run and starts again small. */
static void test_backoff_grows_to_a_cap(void** state) {
  scale_redis_backoff_t b;
  unsigned step = CLI_REDIS_BACKOFF_MIN_MS, wait;
  int i;

  (void)state;
  memset(&b, 0, sizeof(b));
  assert_false(scale_redis_backoff_failing(&b));
  for (i = 0; i < 20; i++) {
    wait = scale_redis_backoff_failed(&b, "test", "redis: LOADING");
    if (wait < step / 2 || wait > step)
      fail_msg("try %d: wait %u outside [%u, %u]", i, wait, step / 2, step);
    step = step * 2 > CLI_REDIS_BACKOFF_MAX_MS ? CLI_REDIS_BACKOFF_MAX_MS
                                               : step * 2;
  }
  assert_true(scale_redis_backoff_failing(&b));
  scale_redis_backoff_ok(&b, "test", "again");
  assert_false(scale_redis_backoff_failing(&b));
  wait = scale_redis_backoff_failed(&b, "test", "redis: LOADING");
  assert_true(wait <= CLI_REDIS_BACKOFF_MIN_MS);
}


/* Jitter: two clients failing in step do not wait the same times. */
static void test_backoff_jitter(void** state) {
  scale_redis_backoff_t a, b;
  int i, differ = 0;

  (void)state;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  a.rng = 1;
  b.rng = 2;
  for (i = 0; i < 10; i++)
    differ += scale_redis_backoff_failed(&a, "a", "x") !=
              scale_redis_backoff_failed(&b, "b", "x");
  assert_true(differ > 0);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_transient_replies),
      cmocka_unit_test(test_connection_errors),
      cmocka_unit_test(test_backoff_grows_to_a_cap),
      cmocka_unit_test(test_backoff_jitter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
