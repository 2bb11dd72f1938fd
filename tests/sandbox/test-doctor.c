/* capsid doctor: one line per feature, the mode auto runs, exit 0 when a
 * confining mode is available -- and that mode is the one a job in auto
 * mode really reports. */
#include "test-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char* run(const char* cmd, int* status) {
  FILE* p = popen(cmd, "r");
  static char buf[8192];
  size_t n;

  assert_non_null(p);
  n = fread(buf, 1, sizeof(buf) - 1, p);
  buf[n] = '\0';
  *status = pclose(p);
  return buf;
}


static void test_doctor_reports_every_feature(void** state) {
  static const char* features[] = {"landlock", "user namespaces", "seccomp",
                                   "cgroups", "posix acl", "setup",
                                   "mode elevated", "mode unprivileged",
                                   "mode landlock-only", "auto mode: "};
  char cmd[1024], mode[64] = "", want[80];
  capsid_job_spec_t spec;
  capsid_result_t r;
  const char* argv[] = {"/bin/true", NULL};
  const char* out;
  const char* at;
  size_t i;
  int status;

  (void)state;
  snprintf(cmd, sizeof(cmd), "'%s' doctor", CAPSID_TEST_BIN);
  out = run(cmd, &status);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
    if (strstr(out, features[i]) == NULL)
      fail_msg("no line for %s in:\n%s", features[i], out);
  at = strstr(out, "auto mode: ");
  sscanf(at + 11, "%63s", mode);
  /* What auto said is what a job in auto mode runs. */
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  snprintf(want, sizeof(want), "%s", capsid_mode_name(r.mode));
  assert_string_equal(mode, want);
  capsid_result_free(&r);

  /* A bad argument is a usage error. */
  snprintf(cmd, sizeof(cmd), "'%s' doctor --bogus 2>/dev/null",
           CAPSID_TEST_BIN);
  run(cmd, &status);
  assert_int_equal(WEXITSTATUS(status), 2);
}


#ifdef CAPSID_FAULT_INJECTION
/* doctor's output where the fault site `site` fails every use (a host
 * without that feature), with no state directory. */
static const char* doctor_on_host_without(const char* site, int* status) {
  char cmd[1024];

  snprintf(cmd, sizeof(cmd),
           "CAPSID_STATE_DIR=/nonexistent/capsid CAPSID_FAULTS=%s=0:EPERM "
           "'%s' doctor",
           site, CAPSID_TEST_BIN);
  return run(cmd, status);
}


/* On a host without user namespaces, doctor says unprivileged mode is
 * refused and auto runs landlock-only; without Landlock, that no mode is
 * available (exit 1). Simulated with the Debug-only fault sites. */
static void test_doctor_says_what_is_refused(void** state) {
  const char* out;
  int status;

  (void)state;
  out = doctor_on_host_without("userns", &status);
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_non_null(strstr(out, "--   mode unprivileged      needs user "
                              "namespaces (--mode unprivileged is refused)"));
  assert_non_null(strstr(out, "auto mode: landlock-only"));
  out = doctor_on_host_without("landlock", &status);
  assert_int_equal(WEXITSTATUS(status), 1);
  assert_non_null(strstr(out, "needs Landlock (--mode unprivileged is "
                              "refused)"));
  assert_non_null(strstr(out, "auto mode: none"));
}
#endif


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doctor_reports_every_feature),
#ifdef CAPSID_FAULT_INJECTION
      cmocka_unit_test(test_doctor_says_what_is_refused),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
