/* The owner rule's home directories (policy/linux/workspace-rule-linux.c):
 * read once per version of the accounts file instead of resolving every
 * account's home for every root of every job (issue 17: some 120 failing
 * readlink calls per elevated job), and still exact: a home made after
 * the file was read is found, a changed file is read again (a passwd
 * file bound over /etc/passwd in a child's own mount namespace). Root
 * only: the rule applies when capsid runs as root. */
#include "test-common.h"

#include "workspace-rule.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_ CAPSID_HOMES_TEST_DIR

char* __real_realpath(const char* path, char* resolved);
char* __wrap_realpath(const char* path, char* resolved);
static unsigned realpath_calls; /* all of them */
static unsigned rule_calls;     /* those of capsid__root_check */

/* Linked with --wrap=realpath: the library's calls come here. */
char* __wrap_realpath(const char* path, char* resolved) {
  realpath_calls++;
  return __real_realpath(path, resolved);
}


static void need_root(void) {
  if (geteuid() == 0)
    return;
  if (test_may_skip("the owner rule applies to capsid running as root"))
    skip();
  fail();
}


static int check(const char* dir) {
  capsid_error_t err = {0};
  char canon[PATH_MAX];
  unsigned before;
  int rc;


  assert_non_null(realpath(dir, canon));
  before = realpath_calls;
  rc = capsid__root_check(NULL, canon, canon, "cwd", 0, &err);
  rule_calls += realpath_calls - before;
  capsid__error_free(&err);
  return rc;
}


static void write_passwd(const char* lines) {
  FILE* f = fopen(DIR_ "/passwd", "w");

  assert_non_null(f);
  fputs(lines, f);
  fclose(f);
}


/* The system's own file: after the first check, the next ones resolve no
 * home again (before: one realpath per account, per check). */
static void test_homes_resolved_once(void** state) {
  unsigned i;

  (void)state;
  need_root();
  unsetenv("SUDO_UID");
  assert_int_equal(check(DIR_), 0);
  rule_calls = 0;
  for (i = 0; i < 5; i++)
    assert_int_equal(check(DIR_), 0);
  assert_int_equal(rule_calls, 0);
}


/* In a child with a mount namespace of its own, a passwd file bound over
 * /etc/passwd (as test-policy's resolve_refuses_homes does). Returns the
 * number of the first check that went wrong, 0 if none. */
static int follow_the_file(void) {
  if (unshare(CLONE_NEWNS) != 0 ||
      mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount(DIR_ "/passwd", "/etc/passwd", NULL, MS_BIND, NULL) != 0)
    return 99;
  /* Alice's home does not exist yet: nothing of hers in ws. */
  if (check(DIR_ "/ws") != 0)
    return 1;
  /* Made after the file was read: found all the same. */
  if (mkdir(DIR_ "/ws/alice", 0755) != 0 ||
      check(DIR_ "/ws") != CAPSID_EPOLICY)
    return 2;
  /* Control: a tree without it stays allowed. */
  if (check(DIR_ "/other") != 0)
    return 3;
  /* An account added to the file: read again (size, times changed). */
  write_passwd("root:x:0:0::/root:/bin/sh\n"
               "alice:x:4242:4242::" DIR_ "/ws/alice:/bin/sh\n"
               "bob:x:4243:4243::" DIR_ "/other:/bin/sh\n");
  if (check(DIR_ "/other") != CAPSID_EPOLICY)
    return 4;
  /* And both removed. */
  write_passwd("root:x:0:0::/root:/bin/sh\n");
  if (check(DIR_ "/ws") != 0 || check(DIR_ "/other") != 0)
    return 5;
  return 0;
}


static void test_homes_follow_the_file(void** state) {
  pid_t pid;
  int status;

  (void)state;
  need_root();
  unsetenv("SUDO_UID");
  assert_int_equal(test_system("rm -rf '%s/ws' '%s/other' && mkdir -p "
                               "'%s/ws' '%s/other'",
                               DIR_, DIR_, DIR_, DIR_),
                   0);
  write_passwd("root:x:0:0::/root:/bin/sh\n"
               "alice:x:4242:4242::" DIR_ "/ws/alice:/bin/sh\n");
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(follow_the_file());
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  test_system("rm -rf '%s/ws' '%s/other' '%s/passwd'", DIR_, DIR_, DIR_);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_homes_resolved_once),
      cmocka_unit_test(test_homes_follow_the_file),
  };

  test_system("mkdir -p '%s'", DIR_);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
