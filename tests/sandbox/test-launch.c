/* What a job's process starts with, whatever the embedding process set
 * up: every signal at its default disposition and none blocked, though
 * capsid's caller ignores some and handles others (init and the job's
 * process reset only those, read from /proc/self/status:
 * sandbox/linux/launch-linux.c). In unprivileged mode (the path of every
 * pid-namespace mode) and in landlock-only mode (no init). */
#include "test-common.h"

#include "landlock-linux.h"
#include "userns-linux.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_signal(int sig) {
  (void)sig;
}


/* The mask on the line "name" of the job's /proc/self/status. */
static unsigned long long job_mask(const char* status, const char* name) {
  const char* p = strstr(status, name);
  unsigned long long m = ~0ULL;

  assert_non_null(p);
  assert_int_equal(sscanf(p + strlen(name), "%llx", &m), 1);
  return m;
}


static void run_and_check(capsid_mode_t mode, capsid_mode_t want) {
  const char* argv[] = {"/bin/cat", "/proc/self/status", NULL};
  struct sigaction sa, old[4];
  static const int sigs[] = {SIGPIPE, SIGUSR2, SIGUSR1, SIGTERM};
  capsid_job_spec_t spec;
  capsid_result_t r;
  int i;

  /* Two ignored, two handled by the embedding process. */
  memset(&sa, 0, sizeof(sa));
  for (i = 0; i < 4; i++) {
    sa.sa_handler = i < 2 ? SIG_IGN : on_signal;
    sigaction(sigs[i], &sa, &old[i]);
  }
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.mode = mode;
  spec.network = -1;
  capsid_run_capture(&spec, &r);
  for (i = 0; i < 4; i++)
    sigaction(sigs[i], &old[i], NULL);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.mode, want);
  assert_int_equal(r.exit_code, 0);
  assert_true(job_mask(r.out.data, "SigIgn:") == 0);
  assert_true(job_mask(r.out.data, "SigCgt:") == 0);
  assert_true(job_mask(r.out.data, "SigBlk:") == 0);
  capsid_result_free(&r);
}


static void test_signals_default_unprivileged(void** state) {
  (void)state;
  if (!capsid__userns_available() || capsid__landlock_abi() <= 0) {
    if (test_may_skip("unprivileged mode needs user namespaces and "
                      "Landlock"))
      skip();
    fail();
  }
  run_and_check(CAPSID_MODE_UNPRIVILEGED, CAPSID_MODE_UNPRIVILEGED);
}


static void test_signals_default_landlock_only(void** state) {
  (void)state;
#ifdef CAPSID_FAULT_INJECTION
  if (capsid__landlock_abi() <= 0) {
    if (test_may_skip("landlock-only mode needs Landlock"))
      skip();
    fail();
  }
  /* auto's fallback, as the smoke suite gets it: no user namespaces and
   * no state directory (so not elevated as root either). */
  setenv("CAPSID_STATE_DIR", "/nonexistent/capsid-test-launch", 1);
  capsid__userns_force_blocked(1);
  run_and_check(CAPSID_MODE_AUTO, CAPSID_MODE_LANDLOCK_ONLY);
  capsid__userns_force_blocked(0);
#else
  if (test_may_skip("forcing landlock-only needs a Debug build"))
    skip();
#endif
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signals_default_unprivileged),
      cmocka_unit_test(test_signals_default_landlock_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
