/* capsid setup, an elevated job, a read root, capsid uninstall: the
 * machine ends as it began. Compared: the ACLs of every path of the
 * workspace and of the read root's tree that existed before and of their
 * ancestors, the state directory, and the cgroups; and no inode of the
 * workspace is left owned by, or naming, a capsid identity. Needs root (CI
 * runs it as root). */
#include "test-common.h"

#include "confine-linux.h"
#include "system.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
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


/* Every report line, also kept for the assertions on what it says. */
static char said[65536];

static void report(void* data, const char* feature, int ok,
                   const char* detail) {
  size_t n = strlen(said);

  (void)data;
  printf("  %s %s: %s\n", ok ? "ok" : "--", feature, detail);
  snprintf(said + n, sizeof(said) - n, "%s %s: %s\n", ok ? "ok" : "--",
           feature, detail);
}


/* Setup and uninstall need root: CI runs this as root. */
static void need_root(void) {
  if (geteuid() == 0)
    return;
  if (test_may_skip("setup and uninstall need root (CI runs as root)"))
    skip();
  fail();
}


/* A fresh test directory with a workspace, and setup into a private
 * state directory. */
static void fresh_setup(char* ws, size_t size) {
  capsid_error_t err = {0};

  setenv("CAPSID_STATE_DIR", DIR_ "/state", 1);
  test_system("chattr -R -i '%s' 2>/dev/null; rm -rf '%s'", DIR_, DIR_);
  snprintf(ws, size, "%s/ws", DIR_);
  assert_int_equal(test_system("mkdir -p '%s'", ws), 0);
  said[0] = '\0';
  assert_int_equal(capsid__system_setup(report, NULL, &err), 0);
}


/* Inodes under dir owned by a reserved id (uid or gid). */
static int reserved_left(const char* dir) {
  return test_system("find '%s' \\( -uid +3209999999 -o -gid +3209999999 "
                     "\\) | grep -q .",
                     dir) == 0;
}


/* Runs argv as an elevated job in ws; returns its exit code. want, when
 * not NULL, is what it must print. */
static int run_elevated(const char* ws, const char* const* argv,
                        const char* want) {
  capsid_job_spec_t spec;
  capsid_result_t r;
  int code;

  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
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
  need_root();
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
  /* The grants were really there: an ACL names the workspace identity,
   * on what the job made too; what it made is the owner's again. */
  assert_int_equal(test_system("getfacl -p '%s' | grep -q '^user:32'", ws), 0);
  assert_int_equal(
      test_system("getfacl -p '%s/made' | grep -q '^user:32'", ws), 0);
  assert_false(reserved_left(ws));

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


/* Uninstall hands back every inode a workspace identity owns, at any
 * depth and of any type: a tree 300 levels deep, symlinks, FIFOs, unix
 * sockets, hard links (the post-job pass leaves those), and says it
 * checked. */
static void test_uninstall_hands_back_everything(void** state) {
  const char* argv[] = {"/bin/sh", "-c",
                        "echo h > h1 && ln h1 h2 && mkdir deep", NULL};
  struct sockaddr_un sa;
  capsid_error_t err = {0};
  char ws[512], deepest[4096];
  struct stat st;
  int fd, i;

  (void)state;
  need_root();
  fresh_setup(ws, sizeof(ws));
  assert_int_equal(run_elevated(ws, argv, NULL), 0);
  snprintf(deepest, sizeof(deepest), "%s/h1", ws);
  assert_int_equal(stat(deepest, &st), 0);
  assert_true(st.st_uid > 3209999999u); /* two links: the job's still */
  /* What a job of an older capsid, or one that ran beside another, left:
   * every type, deeper than any fixed recursion limit. */
  snprintf(deepest, sizeof(deepest), "%s/deep", ws);
  for (i = 0; i < 300; i++)
    strcat(deepest, "/d");
  assert_int_equal(test_system("mkdir -p '%s' && cd '%s' && mkfifo fifo && "
                               "ln -s /etc/passwd link && ln -s gone dangling",
                               deepest, deepest),
                   0);
  strcat(deepest, "/sock");
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  assert_int_equal(chdir(ws), 0);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "deep/sock");
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof(sa)), 0);
  close(fd);
  assert_int_equal(chdir("/"), 0);
  assert_int_equal(test_system("cd '%s' && chown -R -h --reference=h1 deep",
                               ws),
                   0);
  assert_true(reserved_left(ws));

  assert_int_equal(capsid__system_uninstall(report, NULL, &err), 0);
  assert_false(reserved_left(ws));
  assert_non_null(strstr(said, "checked: no inode"));
  assert_non_null(strstr(said, "verified"));
  assert_int_equal(lstat("/etc/passwd", &st), 0);
  assert_int_equal(st.st_uid, 0); /* the link's target untouched */
  test_system("rm -rf '%s'", DIR_);
}


/* The verification checks what it claims: an inode uninstall cannot hand
 * back (immutable) is reported by name, the store is kept, and no
 * "verified" line is printed; once it can change, uninstall again
 * finishes. */
static void test_uninstall_reports_what_is_left(void** state) {
  const char* argv[] = {"/bin/sh", "-c", "echo x > made", NULL};
  capsid_error_t err = {0};
  char ws[512];
  struct stat st;

  (void)state;
  need_root();
  fresh_setup(ws, sizeof(ws));
  assert_int_equal(run_elevated(ws, argv, NULL), 0);
  assert_int_equal(test_system("cd '%s' && echo s > stuck && "
                               "chown 3210000003:3210000003 stuck && "
                               "chattr +i stuck",
                               ws),
                   0);
  said[0] = '\0';
  assert_int_not_equal(capsid__system_uninstall(report, NULL, &err), 0);
  capsid__error_free(&err);
  assert_non_null(strstr(said, "/stuck"));
  assert_null(strstr(said, "verified"));
  assert_int_equal(stat(DIR_ "/state/capabilities.json", &st), 0);
  assert_int_equal(test_system("chattr -i '%s/stuck'", ws), 0);
  /* An ACL entry naming a capsid id that no record lists (the owner's
   * file): the check reads ACLs too. */
  assert_int_equal(test_system("cd '%s' && echo n > named && "
                               "setfacl -m u:3210000003:r named",
                               ws),
                   0);
  said[0] = '\0';
  assert_int_not_equal(capsid__system_uninstall(report, NULL, &err), 0);
  capsid__error_free(&err);
  assert_non_null(strstr(said, "/named"));
  assert_null(strstr(said, "verified"));
  assert_int_equal(test_system("setfacl -b '%s/named'", ws), 0);
  said[0] = '\0';
  assert_int_equal(capsid__system_uninstall(report, NULL, &err), 0);
  assert_non_null(strstr(said, "verified"));
  assert_false(reserved_left(ws));
  test_system("rm -rf '%s'", DIR_);
}


/* With a private state directory, the machine's capsid cgroup folders
 * (another install's) are kept by setup and still there after the
 * matching uninstall, which says why; a benchmark in elevated mode
 * leaves no ACL record in the state directory. */
static void test_uninstall_keeps_what_others_made(void** state) {
  const capsid__cgroup_layout_t* lo = capsid__cgroup_layout();
  const char* argv[] = {"/bin/true", NULL};
  const char* parents[4];
  int made[4] = {0, 0, 0, 0};
  capsid_error_t err = {0};
  size_t n = 0, i;
  char ws[512];
  struct stat st;

  (void)state;
  need_root();
  if (!lo->writable) {
    if (test_may_skip("cgroups are not writable here"))
      skip();
    fail();
  }
  if (lo->v2_root[0])
    parents[n++] = lo->v2_root;
  for (i = 0; i < 3; i++)
    if (lo->v1_root[i][0] && !lo->controllers_v2)
      parents[n++] = lo->v1_root[i];
  /* "Another install": the folders exist before this setup. */
  for (i = 0; i < n; i++)
    made[i] = mkdir(parents[i], 0755) == 0;
  fresh_setup(ws, sizeof(ws));
  assert_non_null(strstr(said, "not made by this setup"));
  assert_int_equal(run_elevated(ws, argv, NULL), 0);

  assert_int_equal(
      test_system("'%s' bench spawn --quick --mode elevated >/dev/null",
                  CAPSID_TEST_BIN),
      0);
  assert_int_equal(
      test_system("ls '%s/state/acl' | grep -v lock | wc -l | "
                  "grep -qx 1",
                  DIR_),
      0); /* the workspace's record only */

  said[0] = '\0';
  assert_int_equal(capsid__system_uninstall(report, NULL, &err), 0);
  for (i = 0; i < n; i++) {
    assert_int_equal(stat(parents[i], &st), 0);
    assert_non_null(strstr(said, parents[i]));
  }
  assert_non_null(strstr(said, "did not make it"));
  for (i = 0; i < n; i++)
    if (made[i])
      rmdir(parents[i]);
  test_system("rm -rf '%s'", DIR_);
}


/* A cgroup parent this install's setup made, which jobs of another live
 * capsid process (another install, another test run) still use when this
 * one uninstalls: it stays, uninstall says why and succeeds (it failed
 * with "still busy" before, and pulling it would end those jobs' limits).
 * Control: the same parent once nobody uses it is removed. */
static void test_uninstall_keeps_a_parent_in_use(void** state) {
  const capsid__cgroup_layout_t* lo = capsid__cgroup_layout();
  capsid_error_t err = {0};
  char ws[512], job[PATH_MAX + 64], created[PATH_MAX];
  int made;
  pid_t other;
  FILE* f;
  struct stat st;

  (void)state;
  need_root();
  if (!lo->writable || lo->v2_root[0] == '\0') {
    if (test_may_skip("needs a writable cgroup v2 tree"))
      skip();
    fail();
  }
  made = mkdir(lo->v2_root, 0755) == 0;
  fresh_setup(ws, sizeof(ws));
  /* As if this setup had made it. */
  snprintf(created, sizeof(created), "%s/state/created", DIR_);
  f = fopen(created, "a");
  assert_non_null(f);
  fprintf(f, "%s\n", lo->v2_root);
  fclose(f);
  other = fork();
  assert_true(other >= 0);
  if (other == 0) {
    /* Dies with the test, and holds none of its output open. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(1);
    close(2);
    pause();
    _exit(0);
  }
  snprintf(job, sizeof(job), "%s/job-%d-1", lo->v2_root, (int)other);
  assert_int_equal(mkdir(job, 0755), 0);

  said[0] = '\0';
  assert_int_equal(capsid__system_uninstall(report, NULL, &err), 0);
  assert_int_equal(stat(lo->v2_root, &st), 0);
  assert_non_null(strstr(said, "jobs of another running capsid use it"));

  kill(other, SIGKILL);
  waitpid(other, NULL, 0);
  assert_int_equal(rmdir(job), 0);
  if (made)
    assert_int_equal(rmdir(lo->v2_root), 0);
  test_system("rm -rf '%s'", DIR_);
}


/* A missing carve-out is a placeholder directory for the job's life and
 * a target of the workspace's ACL record; after the job the owner makes
 * a *file* of that name. Uninstall used to stop there ("cannot open the
 * directory to walk") and leave every entry of the workspace behind; it
 * now takes back everything, the file's inherited entries included. */
static void test_uninstall_after_carve_out_became_a_file(void** state) {
  const char* argv[] = {"/bin/true", NULL};
  const char* ro[] = {"cfg", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  capsid_error_t err = {0};
  char ws[512];

  (void)state;
  need_root();
  fresh_setup(ws, sizeof(ws));
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = ws;
  spec.mode = CAPSID_MODE_ELEVATED;
  spec.network = -1;
  spec.read_only_paths = ro;
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.exit_code, 0);
  capsid_result_free(&r);
  /* The owner's file, with the default ACL it inherits. */
  assert_int_equal(test_system("echo x > '%s/cfg'", ws), 0);

  said[0] = '\0';
  assert_int_equal(capsid__system_uninstall(report, NULL, &err), 0);
  assert_int_equal(test_system("getfacl -pR '%s' | grep -q 'user:32'", ws),
                   1);
  assert_false(reserved_left(ws));
  test_system("rm -rf '%s'", DIR_);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_setup_uninstall_leaves_nothing),
      cmocka_unit_test(test_uninstall_hands_back_everything),
      cmocka_unit_test(test_uninstall_reports_what_is_left),
      cmocka_unit_test(test_uninstall_keeps_what_others_made),
      cmocka_unit_test(test_uninstall_keeps_a_parent_in_use),
      cmocka_unit_test(test_uninstall_after_carve_out_became_a_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
