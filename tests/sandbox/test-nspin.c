/* Elevated mode's per-workspace namespaces pinned across processes
 * (sandbox/linux/nspin-linux.c): the next process of a workspace joins
 * the network and IPC namespaces the first one made; another workspace
 * never does; a stale pin is removed by `capsid doctor --fix`, a planted
 * file that is no namespace is never joined, and uninstall leaves no pin
 * mounted. Needs root (CI runs it as root). */
#include "test-common.h"

#include "sandbox-int.h"
#include "elevated-linux.h"
#include "system.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_ CAPSID_NSPIN_TEST_DIR

static void need_root(void) {
  if (geteuid() == 0)
    return;
  if (test_may_skip("pinning a namespace is a bind mount: needs root (CI "
                    "runs as root)"))
    skip();
  fail();
}


static void quiet(void* data, const char* feature, int ok,
                  const char* detail) {
  (void)data;
  printf("  %s %s: %s\n", ok ? "ok" : "--", feature, detail);
}


static void fresh_setup(void) {
  capsid_error_t err = {0};

  setenv("CAPSID_STATE_DIR", DIR_ "/state", 1);
  test_system("rm -rf '%s'", DIR_);
  assert_int_equal(test_system("mkdir -p '%s/a' '%s/b'", DIR_, DIR_), 0);
  assert_int_equal(capsid__system_setup(quiet, NULL, &err), 0);
}


/* Whether the namespace "kind:[N]" named at the start of s is held by a
 * pin (a mounted nsfs file has the namespace's inode number). While a pin
 * holds it, no other namespace can get its number: two jobs reporting the
 * same number are in the same namespace. */
static int pinned(const char* s) {
  unsigned long long ino;
  const char* p = strchr(s, '[');

  if (p == NULL || sscanf(p + 1, "%llu", &ino) != 1)
    return 0;
  /* stat, not find -inum: find takes readdir's number, the mount point's. */
  return test_system("stat -c %%i '%s'/state/ns/* | grep -qx %llu", DIR_,
                     ino) == 0;
}


/* "net:[N] ipc:[M]" of an offline elevated job in ws, through the API
 * (fresh = this process forgets its workspaces first, as a new process
 * starts) or through the CLI, a process of its own. */
static char* job_namespaces(const char* ws, int fresh) {
  const char* argv[] = {"/bin/sh", "-c",
                        "echo $(readlink /proc/self/ns/net) "
                        "$(readlink /proc/self/ns/ipc)",
                        NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  char* out;

  if (fresh)
    capsid__elevated_forget_all();
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = ws;
  spec.mode = CAPSID_MODE_ELEVATED;
  spec.network = 0;
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.exit_code, 0);
  assert_non_null(strstr(r.out.data, "net:["));
  out = strdup(r.out.data);
  assert_true(pinned(out));
  assert_true(pinned(strchr(out, ' ') + 1));
  capsid_result_free(&r);
  return out;
}


static char* cli_namespaces(const char* ws) {
  char cmd[1024], *out;
  FILE* p;
  size_t n;

  snprintf(cmd, sizeof(cmd),
           "cd '%s' && '%s' run --mode elevated -- /bin/sh -c "
           "'echo $(readlink /proc/self/ns/net) "
           "$(readlink /proc/self/ns/ipc)'",
           ws, CAPSID_TEST_BIN);
  out = calloc(1, 256);
  p = popen(cmd, "r");
  assert_non_null(p);
  n = fread(out, 1, 255, p);
  out[n] = '\0';
  assert_int_equal(pclose(p), 0);
  return out;
}


/* Pins (mounted nsfs files) under the test directory. */
static int pins_mounted(void) {
  return test_system("grep -q ' %s/state/ns/' /proc/self/mountinfo", DIR_) ==
         0;
}


static void test_pin_reused_by_its_workspace_only(void** state) {
  char *a1, *a2, *a3, *b1, *b2;
  capsid_error_t err = {0};

  (void)state;
  need_root();
  fresh_setup();
  a1 = job_namespaces(DIR_ "/a", 1);
  /* A new process of the same workspace joins the same namespaces... */
  a2 = job_namespaces(DIR_ "/a", 1);
  assert_string_equal(a1, a2);
  a3 = cli_namespaces(DIR_ "/a");
  assert_string_equal(a1, a3);
  /* ... another workspace never does (neither the network nor IPC). */
  b1 = job_namespaces(DIR_ "/b", 1);
  assert_true(strncmp(a1, b1, strcspn(a1, " ")) != 0);
  assert_null(strstr(b1, strchr(a1, ' ') + 1));
  b2 = cli_namespaces(DIR_ "/b");
  assert_string_equal(b1, b2);
  assert_true(pins_mounted());
  /* Uninstall takes every pin down. */
  assert_int_equal(capsid__system_uninstall(quiet, NULL, &err), 0);
  assert_false(pins_mounted());
  free(a1);
  free(a2);
  free(a3);
  free(b1);
  free(b2);
  test_system("rm -rf '%s'", DIR_);
}


static void test_stale_pin_cleaned(void** state) {
  char *a1, *a2, *b1;
  capsid_error_t err = {0};

  (void)state;
  need_root();
  fresh_setup();
  a1 = job_namespaces(DIR_ "/a", 1);
  b1 = job_namespaces(DIR_ "/b", 1);
  capsid__elevated_forget_all();
  /* A pin nothing names (an old identity) and b's, whose workspace is
   * gone, are stale; a's is not. */
  assert_int_equal(
      test_system("touch '%s/state/ns/7-0000000000000000.net'", DIR_), 0);
  assert_int_equal(test_system("rm -rf '%s/b'", DIR_), 0);
  assert_int_equal(test_system("ls '%s/state/ns' | wc -l | grep -qx 5", DIR_),
                   0);
  assert_int_equal(capsid__system_fix(quiet, NULL), 0);
  assert_int_equal(test_system("ls '%s/state/ns' | wc -l | grep -qx 2", DIR_),
                   0);
  a2 = job_namespaces(DIR_ "/a", 1);
  assert_string_equal(a1, a2);
  /* `capsid doctor --fix` is the same call. */
  assert_int_equal(test_system("mkdir '%s/b' && cd '%s/b' && '%s' run "
                               "--mode elevated -- true",
                               DIR_, DIR_, CAPSID_TEST_BIN),
                   0);
  assert_int_equal(test_system("rm -rf '%s/b'", DIR_), 0);
  assert_int_equal(test_system("'%s' doctor --fix | grep -c 'removed .*/ns/' "
                               "| grep -qx 2",
                               CAPSID_TEST_BIN),
                   0);
  assert_int_equal(test_system("ls '%s/state/ns' | wc -l | grep -qx 2", DIR_),
                   0);
  assert_int_equal(capsid__system_uninstall(quiet, NULL, &err), 0);
  assert_false(pins_mounted());
  free(a1);
  free(a2);
  free(b1);
  test_system("rm -rf '%s'", DIR_);
}


/* A file at a pin's name that is no namespace (a crash between making
 * the mount point and the bind, or anything planted there) is never
 * joined: the job gets a namespace of its own, pinned in its place. */
static void test_planted_pin_not_joined(void** state) {
  char *a1, *a2, host[64];
  capsid_error_t err = {0};
  ssize_t n;

  (void)state;
  need_root();
  fresh_setup();
  a1 = job_namespaces(DIR_ "/a", 1);
  capsid__elevated_forget_all();
  /* Unpin the network namespace, leaving its mount point: a plain file. */
  assert_int_equal(test_system("umount '%s'/state/ns/*.net", DIR_), 0);
  a2 = job_namespaces(DIR_ "/a", 1);
  n = readlink("/proc/self/ns/net", host, sizeof(host) - 1);
  assert_true(n > 0);
  host[n] = '\0';
  assert_null(strstr(a2, host));
  assert_true(pins_mounted());
  /* The IPC pin was left alone and is joined again. */
  assert_string_equal(strchr(a1, ' '), strchr(a2, ' '));
  assert_int_equal(capsid__system_uninstall(quiet, NULL, &err), 0);
  assert_false(pins_mounted());
  free(a1);
  free(a2);
  test_system("rm -rf '%s'", DIR_);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pin_reused_by_its_workspace_only),
      cmocka_unit_test(test_stale_pin_cleaned),
      cmocka_unit_test(test_planted_pin_not_joined),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
