/* Elevated mode: a running job's placeholder (.codex made empty for its
 * life, sandbox/linux/placeholder-linux.c) does not change the ACL plan of
 * a job that starts beside it. Counted as an existing protected path, it
 * added a read-only target; the plan's digest changed with it, and the
 * whole workspace was walked again before that job and again before the
 * next one (issue 17: a 1M-file workspace under `batch -j 8`). The
 * placeholder stays protected all the same, and a .codex of the owner's
 * (unmarked, or marked with something in it) is still planned. Needs
 * root (CI runs it as root). */
#include "test-common.h"

#include "sandbox-int.h"
#include "acl.h"
#include "elevated-linux.h"
#include "system.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_ CAPSID_PLACEHOLDER_PLAN_TEST_DIR
#define WS DIR_ "/ws"

static void quiet(void* data, const char* feature, int ok,
                  const char* detail) {
  (void)data;
  (void)feature;
  (void)ok;
  (void)detail;
}


/* "kind path" of every target the workspace's record names, one a line. */
static char* recorded_targets(void) {
  capsid__acl_info_t info;
  capsid_error_t err = {0};
  char real[4096];
  char* out;
  size_t i, len = 0;

  assert_non_null(realpath(WS, real));
  assert_int_equal(capsid__acl_info(capsid__state_dir(), real, &info, &err),
                   0);
  assert_true(info.present && info.complete);
  out = calloc(1, 65536);
  assert_non_null(out);
  for (i = 0; i < info.plan.n_targets; i++)
    len += (size_t)snprintf(out + len, 65536 - len, "%d %s\n",
                            (int)info.plan.targets[i].kind,
                            info.plan.targets[i].path);
  capsid__acl_info_free(&info);
  return out;
}


/* An elevated offline job of WS; its exit code. fresh: this process
 * forgets its workspaces first, as a new `capsid run` starts. */
static int job(const char* script, int fresh) {
  const char* argv[] = {"/bin/sh", "-c", script, NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  int code;

  if (fresh)
    capsid__elevated_forget_all();
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = WS;
  spec.mode = CAPSID_MODE_ELEVATED;
  spec.network = 0;
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.mode, CAPSID_MODE_ELEVATED);
  code = r.exit_code;
  capsid_result_free(&r);
  return code;
}


static void test_neighbours_placeholder_leaves_plan(void** state) {
  capsid_error_t err = {0};
  char *before, *after;
  int fd, fresh;

  (void)state;
  if (geteuid() != 0) {
    if (test_may_skip("elevated mode's setup needs root (CI runs as root)"))
      skip();
    fail();
  }
  setenv("CAPSID_STATE_DIR", DIR_ "/state", 1);
  test_system("rm -rf '%s'", DIR_);
  assert_int_equal(test_system("mkdir -p '%s/src' && echo x > '%s/src/f'",
                               WS, WS),
                   0);
  assert_int_equal(capsid__system_setup(quiet, NULL, &err), 0);
  assert_int_equal(job("true", 1), 0);
  before = recorded_targets();
  assert_null(strstr(before, "/.codex"));

  /* A neighbour job runs: its placeholder, marked and held shared. */
  assert_int_equal(mkdir(WS "/.codex", 01755), 0);
  fd = open(WS "/.codex", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(flock(fd, LOCK_SH), 0);
  for (fresh = 0; fresh <= 1; fresh++) {
    /* Protected all the same (the control: the workspace is written). */
    assert_int_equal(job("! touch .codex/x 2>/dev/null && touch ok", fresh),
                     0);
    after = recorded_targets();
    assert_string_equal(before, after);
    free(after);
  }
  close(fd); /* the neighbour ends: its placeholder stays for us to see */
  assert_int_equal(test_system("test -d '%s/.codex' && test -f '%s/ok'", WS,
                               WS),
                   0);

  /* The owner's own .codex is planned read-only: with something in it
   * though marked, then unmarked and empty. */
  assert_int_equal(test_system("echo mine > '%s/.codex/config'", WS), 0);
  assert_int_equal(job("true", 0), 0);
  after = recorded_targets();
  assert_non_null(strstr(after, "/ws/.codex\n"));
  free(after);
  assert_int_equal(test_system("rm '%s/.codex/config' && chmod 0755 "
                               "'%s/.codex'",
                               WS, WS),
                   0);
  assert_int_equal(job("! touch .codex/x 2>/dev/null", 1), 0);
  after = recorded_targets();
  assert_non_null(strstr(after, "/ws/.codex\n"));
  assert_string_not_equal(before, after);
  free(after);
  free(before);
  assert_int_equal(capsid__system_uninstall(quiet, NULL, &err), 0);
  test_system("rm -rf '%s'", DIR_);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_neighbours_placeholder_leaves_plan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
