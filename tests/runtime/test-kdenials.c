/* A job's kernel-reported denials (sandbox/linux/kdenials-linux.c) must
 * not stall the runtime's loop: a result waiting for the kernel's last
 * record of the job's Landlock domain waits off the loop thread, so the
 * other jobs of the runtime start, run and get their results meanwhile.
 *
 * No kernel audit is needed: the test hook of kdenials-linux.h follows
 * every job without the kernel, and the test hands in the records the
 * reader would have read (a refusal and its domain's "allocated" record
 * for job A; its "deallocated" record when the test decides). Nothing
 * here depends on time: the order of the results is what is checked,
 * and the bound of the wait is set far beyond any run of the test, except
 * in the case about the bound itself. Where Landlock cannot be used
 * (under valgrind, which lacks its system calls), nothing builds a
 * ruleset, which is where a job is followed: the test follows the job
 * itself, as the ruleset's build would have. */
#include "test-common.h"

#include "kdenials-linux.h"
#include "landlock-linux.h"
#include "runtime-int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#define CHILD CAPSID_TEST_HELPER
#define REFUSED "/etc/capsid-kd-test-refused"

enum { ORDER, CLOSE, BOUND };

typedef struct {
  int what;               /* ORDER, CLOSE or BOUND */
  uv_loop_t loop;
  capsid_runtime_t* rt;
  uv_async_t waiting;     /* on_wait -> the loop */
  pthread_t loop_thread;
  unsigned domain;        /* job A's domain id */
  const void* key_a;      /* job A's sandbox, once followed */
  int waits;              /* on_wait calls */
  int wait_on_loop;       /* a wait ran on the loop thread */
  char order[8];          /* 'A', 'B': the results, in the order they came */
  int calls_a, calls_b, closed;
  capsid_result_t a, b;
} kd_t;


static void record(kd_t* t, int domain_record, const char* fmt,
                   const char* arg) {
  char text[512];

  snprintf(text, sizeof(text), fmt, t->domain, arg);
  capsid__kdenials_test_record(domain_record, text);
}


static void domain_ends(kd_t* t) {
  record(t, 1, "domain=%x status=deallocated denials=1%s", "");
}


/* Job A (the first followed) was refused a write; the kernel writes the
 * refusal, then its domain's first record naming the job's tag. */
static void on_expect(const void* key, const char* tag, void* data) {
  kd_t* t = data;

  if (t->key_a == NULL)
    t->key_a = key;
  if (key != t->key_a)
    return;
  record(t, 0,
         "domain=%x blockers=fs.write_file path=\"%s\" dev=\"vda\" ino=1",
         REFUSED);
  record(t, 1,
         "domain=%x status=allocated mode=enforcing pid=1 uid=0 "
         "exe=\"/bin/sh\" comm=\"%s\"",
         tag);
}


/* On the thread that waits for A's domain's end. */
static void on_wait(const void* key, void* data) {
  kd_t* t = data;

  /* No cmocka assertion off the test's thread: counted, checked after. */
  if (key == t->key_a)
    t->waits++;
  if (pthread_equal(pthread_self(), t->loop_thread)) {
    /* The loop waits: nothing else of it can run until the wait ends,
     * so end it here rather than hang. The checks below fail. */
    t->wait_on_loop = 1;
    if (t->what != BOUND)
      domain_ends(t);
  }
  uv_async_send(&t->waiting);
}


static capsid__kdenials_hook_t hook = {on_expect, on_wait, 0, NULL};


/* A result came: noted in order; the last one lets the loop end. */
static void got(kd_t* t, const char* which, capsid_result_t* keep,
                capsid_result_t* r) {
  strcat(t->order, which);
  capsid_result_move(keep, r);
  if (strlen(t->order) == (t->what == ORDER ? 2 : 1))
    uv_close((uv_handle_t*)&t->waiting, NULL);
}


static void on_exit_a(capsid_job_t* job, capsid_result_t* r, void* data) {
  kd_t* t = data;

  (void)job;
  t->calls_a++;
  got(t, "A", &t->a, r);
}


static void on_exit_b(capsid_job_t* job, capsid_result_t* r, void* data) {
  kd_t* t = data;

  (void)job;
  t->calls_b++;
  /* Only now does A's domain end: A's result cannot have come before
   * B's, unless A's wait held the loop until B could not run. */
  domain_ends(t);
  got(t, "B", &t->b, r);
}


static void start(kd_t* t, capsid_exit_cb cb) {
  const char* argv[] = {CHILD, "exit", "0", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_job_t* job;
  char tag[16];

  spec.argv = argv;
  assert_int_equal(capsid_job_start(t->rt, &spec, cb, t, &job), 0);
  /* The job's sandbox is its key (landlock-linux.c). */
  if (capsid__landlock_abi() <= 0)
    assert_int_equal(capsid__kdenials_expect(&job->sandbox, tag), 1);
}


static void closed_cb(void* data) {
  kd_t* t = data;

  t->closed++;
}


/* A's result is waiting for its domain's last record. */
static void waiting_cb(uv_async_t* async) {
  kd_t* t = async->data;

  if (t->what == ORDER) {
    start(t, on_exit_b);
  } else if (t->what == CLOSE && !t->closed && t->rt != NULL) {
    capsid_runtime_close(t->rt, closed_cb, t);
    t->rt = NULL;
    domain_ends(t);
  }
}


static int setup(void** state) {
  static kd_t t;
  capsid_runtime_options_t opts = CAPSID_RUNTIME_OPTIONS_INIT;
  static unsigned domain = 0x5eed00;

  memset(&t, 0, sizeof(t));
  t.domain = ++domain;
  t.loop_thread = pthread_self();
  assert_int_equal(uv_loop_init(&t.loop), 0);
  assert_int_equal(uv_async_init(&t.loop, &t.waiting, waiting_cb), 0);
  t.waiting.data = &t;
  opts.loop = &t.loop;
  opts.max_concurrency = 2;
  opts.worker_threads = 1;
  assert_int_equal(capsid_runtime_new(&opts, &t.rt), 0);
  hook.data = &t;
  hook.wait_ms = 600 * 1000; /* never reached but on the old code */
  capsid__kdenials_test_hook(&hook);
  *state = &t;
  return 0;
}


static int teardown(void** state) {
  kd_t* t = *state;

  capsid__kdenials_test_hook(NULL);
  if (t->rt != NULL)
    capsid_runtime_close(t->rt, closed_cb, t);
  t->rt = NULL;
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_int_equal(t->closed, 1);
  /* Every handle is closed: nothing of the runtime is left behind. */
  assert_int_equal(uv_loop_close(&t->loop), 0);
  capsid_result_free(&t->a);
  capsid_result_free(&t->b);
  return 0;
}


/* A's result lists the refusal the kernel reported. */
static void assert_kernel_listed(const capsid_result_t* r) {
  if (r->denials == NULL || strstr(r->denials, REFUSED) == NULL ||
      strstr(r->denials, "\"source\":\"kernel\"") == NULL)
    fail_msg("A's denials: %s", r->denials ? r->denials : "(null)");
}


/* Job B, started once A's result waits, gets its result first; A's comes
 * when its domain ends, and lists what the kernel reported. */
static void test_wait_does_not_hold_the_loop(void** state) {
  kd_t* t = *state;

  t->what = ORDER;
  start(t, on_exit_a);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_int_equal(t->calls_a, 1);
  assert_int_equal(t->calls_b, 1);
  assert_string_equal(t->order, "BA");
  assert_false(t->wait_on_loop);
  assert_int_equal(t->a.error.code, 0);
  assert_int_equal(t->b.error.code, 0);
  assert_kernel_listed(&t->a);
  /* B had no record: no wait, no pool hop, nothing from the kernel. */
  assert_int_equal(t->waits, 1);
  assert_non_null(t->b.denials);
  assert_null(strstr(t->b.denials, "kernel"));
}


/* The runtime is closed while A's result waits: the result still comes,
 * once, with what the kernel reported, and then the close completes. */
static void test_close_while_waiting(void** state) {
  kd_t* t = *state;

  t->what = CLOSE;
  start(t, on_exit_a);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_false(t->wait_on_loop);
  assert_int_equal(t->calls_a, 1);
  assert_int_equal(t->closed, 1);
  assert_int_equal(t->waits, 1);
  assert_kernel_listed(&t->a);
}


/* The domain's last record never comes: past the bound the result lists
 * what came. */
static void test_bound_passes(void** state) {
  kd_t* t = *state;

  t->what = BOUND;
  hook.wait_ms = 1;
  start(t, on_exit_a);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_false(t->wait_on_loop);
  assert_int_equal(t->calls_a, 1);
  assert_int_equal(t->waits, 1);
  assert_kernel_listed(&t->a);
}


int main(void) {
  char state[64];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_wait_does_not_hold_the_loop,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_while_waiting, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bound_passes, setup, teardown),
  };

  /* A state directory that does not exist keeps auto from choosing
   * elevated mode as root: the jobs launch at once. */
  snprintf(state, sizeof(state), "/nonexistent-capsid-state-%d",
           (int)getpid());
  setenv("CAPSID_STATE_DIR", state, 1);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
