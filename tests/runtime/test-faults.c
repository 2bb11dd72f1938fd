/* Failure injection: each OS call the launch path makes fails once, and
 * the job must report the failure with its stage, leave no descriptor
 * open and no process behind, and the next job must run normally. */
#include "test-common.h"

#include "fault.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

typedef struct {
  const char* spec;
  int code;
  int stage;
} fault_case_t;

static const fault_case_t cases[] = {
    {"pipe=1:EMFILE", CAPSID_EMFILE, CAPSID_STAGE_PIPE},
    {"pipe=3:ENOSPC", CAPSID_EIO, CAPSID_STAGE_PIPE},
    {"pipe-open=2:EIO", CAPSID_EIO, CAPSID_STAGE_PIPE},
    {"stack=1:ENOMEM", CAPSID_ENOMEM, CAPSID_STAGE_SPAWN},
    {"report-pipe=1:EMFILE", CAPSID_EMFILE, CAPSID_STAGE_SPAWN},
    {"clone=1:EAGAIN", CAPSID_EAGAIN, CAPSID_STAGE_SPAWN},
    {"clone=1:ENOMEM", CAPSID_ENOMEM, CAPSID_STAGE_SPAWN},
    {"poll=1:ENOMEM", CAPSID_EIO, CAPSID_STAGE_WAIT},
    {"environ=1:ENOMEM", CAPSID_ENOMEM, CAPSID_STAGE_SPEC},
    {"realpath=1:EACCES", CAPSID_EACCES, CAPSID_STAGE_POLICY},
    {"realpath=1:EINTR", CAPSID_EUNKNOWN, CAPSID_STAGE_POLICY},
};


static void run(capsid_result_t* r) {
  const char* argv[] = {CAPSID_TEST_HELPER, "write-bytes", "100", "65",
                        NULL};
  capsid_job_spec_t spec;

  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  capsid_run_capture(&spec, r);
}


static void test_each_fault_is_reported_and_cleaned_up(void** state) {
  capsid_result_t r;
  size_t i;
  int fds_before, status;

  (void)state;
  /* A first job warms up whatever allocates lazily. */
  run(&r);
  capsid_result_free(&r);
  fds_before = test_count_fds();
  for (i = 0; i < CAPSID__ARRAY_SIZE(cases); i++) {
    capsid__fault_set(cases[i].spec);
    run(&r);
    if (r.error.code != cases[i].code || r.error.stage != cases[i].stage)
      fail_msg("%s: got %s at stage %s, want %s at %s", cases[i].spec,
               capsid_err_name(r.error.code), capsid_stage_name(r.error.stage),
               capsid_err_name(cases[i].code),
               capsid_stage_name(cases[i].stage));
    capsid_result_free(&r);
    /* Nothing left open, nothing left running or unreaped. */
    assert_int_equal(test_count_fds(), fds_before);
    errno = 0;
    assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    /* The fault fired once; the same runtime path works again. */
    run(&r);
    assert_int_equal(r.error.code, 0);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out.len, 100);
    capsid_result_free(&r);
  }
  capsid__fault_set(NULL);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_fault_is_reported_and_cleaned_up),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
