/* deny_read on Windows (sandbox/win/denyread-win.c): enforced in
 * elevated mode only, by a deny-read ACE for the sandbox users' group.
 * In unprivileged mode a job whose policy denies an existing path is
 * refused before anything runs, naming the field and the mode, and its
 * result still names the sandbox; a deny_read that matches nothing hides
 * nothing and the job runs; so does the same job without deny_read (the
 * control). The elevated plan's ACEs are written by the ACL engine into
 * the workspace's record and taken back by uninstall's removal of every
 * record; Wine stores no ACE for such a SID, so there the read-back
 * refuses the job by name, and the ACE's own read-back (and the
 * forbidden read) run on Windows (the enforcing branch here and
 * tests/windows/windows-smoke.ps1). */
#include "wintest-util.h"

#include "acl.h"
#include "denyread-win.h"
#include "env.h"
#include "grant-win.h"
#include "path.h"
#include "users-win.h"

#include <windows.h>

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
  assert_non_null(strstr(r.error.message, "unprivileged mode"));
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


static const capsid__acl_target_t* find(const capsid__acl_plan_t* p,
                                        const char* path) {
  size_t i;

  for (i = 0; i < p->n_targets; i++)
    if (strcmp(p->targets[i].path, path) == 0)
      return &p->targets[i];
  return NULL;
}


/* The elevated plan: a deny-read entry for the group on each denied path
 * (the whole tree of a directory), written and recorded by the ACL
 * engine, and removed again by uninstall's removal of the records. */
static void test_elevated_deny_ace_recorded_and_removed(void** state) {
  capsid__sandbox_t sb;
  capsid__acl_plan_t acl;
  capsid__acl_info_t info;
  capsid__acl_stats_t stats;
  capsid_error_t err = {0};
  const capsid__acl_target_t* t;
  char sid[CAPSID__SID_MAX];
  char path[4096];
  char* file;
  char* dir;
  FILE* f;
  int rc;

  (void)state;
  assert_int_equal(wt_random_sid(sid), 0);
  snprintf(path, sizeof(path), "%s/token.txt", wt_ws);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("secret\n", f);
  fclose(f);
  file = wt_canonical(path);
  snprintf(path, sizeof(path), "%s/.ssh", wt_ws);
  assert_true(CreateDirectoryA(path, NULL));
  snprintf(path, sizeof(path), "%s/.ssh/id_ed25519", wt_ws);
  f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/.ssh", wt_ws);
  dir = wt_canonical(path);

  memset(&sb, 0, sizeof(sb));
  assert_int_equal(capsid__strv_push(&sb.deny_read, file), 0);
  assert_int_equal(capsid__strv_push(&sb.deny_read, dir), 0);
  memset(&acl, 0, sizeof(acl));
  acl.key = wt_canonical(wt_ws);

  /* Without the group's SID there is nothing to deny with: refused. */
  assert_int_equal(capsid__denyread_win_plan(&sb, "", &acl, &err),
                   CAPSID_ENOTSUP);
  assert_string_equal(err.field, "policy.deny_read");
  capsid__error_free(&err);

  assert_int_equal(capsid__denyread_win_plan(&sb, sid, &acl, &err), 0);
  t = find(&acl, file);
  assert_non_null(t);
  assert_int_equal(t->kind, CAPSID__ACL_T_DENY);
  assert_false(t->recursive);
  assert_false(t->optional);
  assert_int_equal(t->n_entries, 1);
  assert_string_equal(t->entries[0].who.sid, sid);
  assert_int_equal(t->entries[0].perms, CAPSID__ACL_R | CAPSID__ACL_DENY);
  assert_int_equal(t->entries[0].scope, CAPSID__ACL_ACCESS);
  t = find(&acl, dir);
  assert_non_null(t);
  assert_true(t->recursive); /* a file is read by its path: every object */
  assert_int_equal(t->entries[0].scope,
                   CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__deny_mask(CAPSID__ACL_R),
                   FILE_READ_DATA | FILE_READ_EA | FILE_EXECUTE);

  rc = capsid__grant_ensure(&acl, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
    assert_true(wt_has_ace(file, sid, ACCESS_DENIED_ACE_TYPE));
    assert_true(wt_has_ace(dir, sid, ACCESS_DENIED_ACE_TYPE));
    /* The file in .ssh carries its own explicit deny (the walk). */
    snprintf(path, sizeof(path), "%s/.ssh/id_ed25519", wt_ws);
    assert_true(wt_has_ace(path, sid, ACCESS_DENIED_ACE_TYPE));
  } else {
    /* Wine keeps no ACE for this SID: the read-back refuses, by name. */
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_string_equal(err.field, "policy.deny_read");
    assert_non_null(strstr(err.message, "deny-read"));
  }
  capsid__error_free(&err);
  assert_int_equal(capsid__acl_info(capsid__state_dir(), acl.key, &info,
                                    NULL), 0);
  assert_true(info.present);
  t = find(&info.plan, dir);
  assert_non_null(t);
  assert_int_equal(t->kind, CAPSID__ACL_T_DENY);
  assert_int_equal(t->entries[0].perms, CAPSID__ACL_R | CAPSID__ACL_DENY);
  assert_non_null(find(&info.plan, file));
  capsid__acl_info_free(&info);

  memset(&stats, 0, sizeof(stats));
  assert_int_equal(capsid__acl_remove_all(capsid__state_dir(), 0, &stats,
                                          &err), 0);
  assert_false(wt_has_ace(file, sid, ACCESS_DENIED_ACE_TYPE));
  assert_false(wt_has_ace(dir, sid, ACCESS_DENIED_ACE_TYPE));
  snprintf(path, sizeof(path), "%s/.ssh/id_ed25519", wt_ws);
  assert_false(wt_has_ace(path, sid, ACCESS_DENIED_ACE_TYPE));
  assert_int_equal(capsid__acl_info(capsid__state_dir(), acl.key, &info,
                                    NULL), 0);
  assert_false(info.present);
  capsid__acl_info_free(&info);
  capsid__acl_plan_free(&acl);
  capsid__strv_free(&sb.deny_read);
  capsid__free(file);
  capsid__free(dir);
}


/* An elevated job with deny_read is planned, never run without its
 * deny: here (the Wine test build, whose runner is the caller) there is
 * no sandbox users' group to deny, so it is refused by name. */
static void test_elevated_without_group_refused(void** state) {
  const char* argv[] = {wt_child(), "exit", "0", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  char sid[CAPSID__SID_MAX];
  char path[4096];
  FILE* f;

  (void)state;
  if (capsid__account_sid(CAPSID__SANDBOX_GROUP, sid) == 0)
    skip(); /* setup ran here: windows-smoke.ps1 covers the real thing */
  snprintf(path, sizeof(path), "%s/secret2.txt", wt_ws);
  f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = wt_ws;
  spec.network = -1;
  spec.mode = CAPSID_MODE_ELEVATED;
  spec.policy = "{\"mode\":\"workspace-write\",\"deny_read\":"
                "[\"secret2.txt\"]}";
  capsid_run_capture(&spec, &r);
  assert_int_equal(r.error.code, CAPSID_ENOTSUP);
  assert_string_equal(r.error.field, "policy.deny_read");
  assert_non_null(strstr(r.error.message, "sandbox users' group"));
  capsid_result_free(&r);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_refused_not_ignored,
                                      wt_jobs_setup, wt_jobs_teardown),
      cmocka_unit_test_setup_teardown(
          test_elevated_deny_ace_recorded_and_removed, wt_jobs_setup,
          wt_jobs_teardown),
      cmocka_unit_test_setup_teardown(test_elevated_without_group_refused,
                                      wt_jobs_setup, wt_jobs_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
