/* A post-job pass (elevated mode's hand-back) lists a changed directory
 * again and stats each entry once, not once for the hand-back check and
 * again for the apply (acl/linux/posix-acl-linux.c): 10,000 calls more
 * for a job that made a file in each of 100 directories of 100 files
 * (issue 17). Counted with the library's statx calls wrapped; the
 * hand-back itself still happens (the control). Root only: it chowns. */
#include "acl-test-util.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOB_UID 3210000042u
#define FILES 200

struct statx;
int __real_statx(int dfd, const char* path, int flags, unsigned mask,
                 struct statx* out);
int __wrap_statx(int dfd, const char* path, int flags, unsigned mask,
                 struct statx* out);
static unsigned statx_calls;

int __wrap_statx(int dfd, const char* path, int flags, unsigned mask,
                 struct statx* out) {
  statx_calls++;
  return __real_statx(dfd, path, flags, mask, out);
}


static int apply(const fixture_t* f, int reclaim) {
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t st;
  capsid_error_t err = {0};
  int rc;

  simple_plan(f->ws, &plan);
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f->state;
  opts.threads = 1;
  opts.reclaim = reclaim;
  opts.reclaim_uid = JOB_UID;
  rc = capsid__acl_run(CAPSID__ACL_APPLY, &plan, &opts, &st, &err);
  capsid__error_free(&err);
  capsid__acl_plan_free(&plan);
  return rc;
}


static void test_listed_entries_statted_once(void** state) {
  char path[1200];
  struct stat sb;
  fixture_t f;

  (void)state;
  if (geteuid() != 0) {
    if (test_may_skip("the hand-back pass chowns: needs root"))
      skip();
    fail();
  }
  fixture_new(&f);
  assert_int_equal(test_system("mkdir '%s/d' && cd '%s/d' && for i in "
                               "$(seq %d); do : > f$i; done",
                               f.ws, f.ws, FILES),
                   0);
  assert_int_equal(apply(&f, CAPSID__ACL_RECLAIM_NONE), 0);
  /* A job made one file there. */
  assert_int_equal(test_system("cd '%s/d' && : > made && chown %u made",
                               f.ws, JOB_UID),
                   0);
  statx_calls = 0;
  assert_int_equal(apply(&f, CAPSID__ACL_RECLAIM_HAND_BACK), 0);
  /* FILES + 1 entries, the two recorded directories, the handed-back
   * file's own checks: well under two per entry. */
  if (statx_calls >= FILES + 50)
    fail_msg("%u statx for %d entries", statx_calls, FILES + 1);
  snprintf(path, sizeof(path), "%s/d/made", f.ws);
  assert_int_equal(stat(path, &sb), 0);
  assert_true(sb.st_uid != JOB_UID);
  fixture_free(&f);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listed_entries_statted_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
