/* deny_read on Windows (sandbox/win/denyread-win.c): not enforced there
 * yet, so a job whose policy denies an existing path is refused before
 * anything runs, naming the field, and its result still names the
 * sandbox; a deny_read that matches nothing hides nothing and the job
 * runs; so does the same job without deny_read (the control). */
#include "wintest-util.h"

#include <stdio.h>
#include <string.h>

static void test_refused_not_ignored(void** state) {
  const char* argv[] = {wt_child(), "exit", "0", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  char path[4096];
  FILE* f;

  (void)state;
  snprintf(path, sizeof(path), "%s/secret.txt", wt_ws);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("secret\n", f);
  fclose(f);

  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = wt_ws;
  spec.network = -1;
  spec.policy = "{\"mode\":\"workspace-write\",\"deny_read\":"
                "[\"secret.txt\"]}";
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, CAPSID_ENOTSUP);
  assert_string_equal(r.error.field, "policy.deny_read");
  assert_non_null(r.sandbox);
  assert_non_null(strstr(r.sandbox, "secret.txt"));
  assert_null(r.denials); /* it never ran */
  capsid_result_free(&r);

  /* Matching nothing: nothing to hide, the job runs. */
  spec.policy = "{\"mode\":\"workspace-write\",\"deny_read\":"
                "[\"missing-*.txt\"]}";
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.exit_code, 0);
  assert_non_null(r.denials);
  capsid_result_free(&r);

  /* The control: the same job without deny_read. */
  spec.policy = NULL;
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.exit_code, 0);
  capsid_result_free(&r);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_refused_not_ignored,
                                      wt_jobs_setup, wt_jobs_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
