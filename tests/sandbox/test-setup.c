/* capsid setup, an elevated job, a read root, capsid uninstall: the
 * machine ends as it began. Compared: the ACLs of every path of the
 * workspace and of the read root's tree that existed before and of their
 * ancestors, the state directory, and the cgroups; and no inode of the
 * workspace is left owned by, or naming, a capsid identity. Needs root (CI
 * runs it as root). */
#include "test-common.h"

#include "system.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_ CAPSID_SANDBOX_TEST_DIR

static void snapshot(const char* ws, const char* list, const char* out) {
  /* The ACL of each path in list, then of each ancestor of ws. */
  assert_int_equal(test_system("xargs -0 getfacl -p < '%s' > '%s' 2>&1", list,
                               out),
                   0);
  assert_int_equal(
      test_system("d='%s'; while [ \"$d\" != / ]; do d=$(dirname \"$d\"); "
                  "getfacl -p \"$d\"; done >> '%s' 2>&1",
                  ws, out),
      0);
  test_system("ls -d /sys/fs/cgroup/*/capsid/job-%ld-* >> '%s' 2>/dev/null",
              (long)getpid(), out);
}


static void report(void* data, const char* feature, int ok,
                   const char* detail) {
  (void)data;
  printf("  %s %s: %s\n", ok ? "ok" : "--", feature, detail);
}


/* Runs argv as an elevated job in ws; returns its exit code. want, when
 * not NULL, is what it must print. */
static int run_elevated(const char* ws, const char* const* argv,
                        const char* want) {
  capsid_job_spec_t spec;
  capsid_result_t r;
  int code;

  memset(&spec, 0, sizeof(spec));
  spec.argv = argv;
  spec.cwd = ws;
  spec.mode = CAPSID_MODE_ELEVATED;
  spec.network = -1;
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.mode, CAPSID_MODE_ELEVATED);
  code = r.exit_code;
  if (want != NULL)
    assert_string_equal(r.out.data, want);
  capsid_result_free(&r);
  return code;
}


static int elevated_cat(const char* ws, const char* path, const char* want) {
  const char* argv[] = {"/bin/cat", path, NULL};

  return run_elevated(ws, argv, want);
}


static void test_setup_uninstall_leaves_nothing(void** state) {
  const char* read_roots[] = {DIR_ "/locked/private", NULL};
  char ws[512], list[600], before[600], after[600], store[600], copy[600];
  const char* argv[] = {"/bin/sh", "-c",
                        "umask 077; echo x > made; mkdir -p d/e; "
                        "echo y > d/e/f; echo z >> old; chmod 600 made",
                        NULL};
  capsid_error_t err = {0};
  struct stat st;

  (void)state;
  if (geteuid() != 0) {
    if (test_may_skip("setup and uninstall need root (CI runs as root)"))
      skip();
    fail();
  }
  setenv("CAPSID_STATE_DIR", DIR_ "/state", 1);
  test_system("rm -rf '%s'", DIR_);
  assert_int_equal(test_system("mkdir -p '%s/ws/sub' && echo 1 > '%s/ws/old'",
                               DIR_, DIR_),
                   0);
  /* A private tree outside the workspace: root's, mode 0700/0600. */
  assert_int_equal(
      test_system("umask 077 && mkdir -p '%s/locked/private' && "
                  "echo s3cret > '%s/locked/private/secret' && "
                  "echo other > '%s/locked/other'",
                  DIR_, DIR_, DIR_),
      0);
  snprintf(ws, sizeof(ws), "%s/ws", DIR_);
  snprintf(list, sizeof(list), "%s/paths", DIR_);
  snprintf(before, sizeof(before), "%s/before", DIR_);
  snprintf(after, sizeof(after), "%s/after", DIR_);
  assert_int_equal(test_system("find '%s' '%s/locked' -print0 | sort -z > '%s'",
                               ws, DIR_, list),
                   0);
  snapshot(ws, list, before);
  assert_int_not_equal(stat(DIR_ "/state", &st), 0);

  /* Setup, twice: the second keeps what the first made. */
  assert_int_equal(capsid__system_setup(report, NULL, &err), 0);
  snprintf(store, sizeof(store), "%s/state/capabilities.json", DIR_);
  snprintf(copy, sizeof(copy), "%s/store-copy", DIR_);
  assert_int_equal(test_system("cp '%s' '%s'", store, copy), 0);
  assert_int_equal(capsid__system_setup(report, NULL, &err), 0);
  assert_int_equal(test_system("cmp -s '%s' '%s'", store, copy), 0);

  /* An elevated job that creates files, one with mode 0600. */
  assert_int_equal(run_elevated(ws, argv, NULL), 0);
  /* The grants were really there: an ACL names the workspace identity. */
  assert_int_equal(test_system("getfacl -p '%s' | grep -q '^user:32'", ws), 0);
  assert_int_equal(test_system("find '%s' -uid +3209999999 | grep -q .", ws),
                   0);

  /* Read roots: denied before, allowed after, and only the root: its
   * parent gets traverse, not read. */
  assert_int_not_equal(elevated_cat(ws, DIR_ "/locked/private/secret", NULL),
                       0);
  assert_int_equal(capsid__system_read_roots(read_roots, report, NULL, &err),
                   0);
  assert_int_equal(elevated_cat(ws, DIR_ "/locked/private/secret", "s3cret\n"),
                   0);
  assert_int_not_equal(elevated_cat(ws, DIR_ "/locked/other", NULL), 0);

  assert_int_equal(capsid__system_uninstall(report, NULL, &err), 0);
  snapshot(ws, list, after);
  assert_int_equal(test_system("diff -u '%s' '%s'", before, after), 0);
  assert_int_not_equal(stat(DIR_ "/state", &st), 0);
  /* What the job made stays (it is the user's work), now the owner's. */
  assert_int_equal(test_system("test -f '%s/made' && test -f '%s/d/e/f'", ws,
                               ws),
                   0);
  assert_int_equal(test_system("find '%s' -uid +3209999999 | grep -q .", ws),
                   1);
  assert_int_equal(test_system("getfacl -R -p '%s' | grep -q ':32[0-9]\\{8\\}:'",
                               ws),
                   1);
  test_system("rm -rf '%s'", DIR_);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_setup_uninstall_leaves_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
