/* Confinement objects: built, read back, and refused when they did not
 * take effect. Under Wine the read-back fails (it drops restricting SIDs and
 * job limits), and these tests check that capsid notices and refuses; on a
 * real Windows they check that the objects are what the plan says. The
 * enforcement itself (a denied write) needs real Windows: those tests skip
 * under Wine and tests/windows/windows-smoke.ps1 covers them too. */
#include "wintest-util.h"

#include "acl.h"
#include "desktop-win.h"
#include "env.h"
#include "grant-win.h"
#include "helper-win.h"
#include "jobobj-win.h"
#include "nul-win.h"
#include "placeholder-win.h"
#include "sid-win.h"
#include "token-win.h"
#include "verify-win.h"
#include "win-util.h"

#include <uv.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <string.h>

/* Both variants are built and read back. Real Windows: exactly the
 * planned restricting SIDs, privileges stripped, the planned default DACL.
 * Wine drops restricting SIDs and keeps privileges, so the refusal must
 * name every planned SID; the default DACL and the deny-only
 * Administrators group do read back there. */
static void token_read_back(capsid__token_variant_t variant) {
  capsid__token_plan_t plan;
  capsid_error_t err = {0};
  char logon[CAPSID__SID_MAX];
  HANDLE token;
  int rc;

  memset(&plan, 0, sizeof(plan));
  plan.variant = variant;
  plan.n = 2;
  assert_int_equal(wt_random_sid(plan.sids[0]), 0);
  assert_int_equal(wt_random_sid(plan.sids[1]), 0);
  assert_int_equal(capsid__token_create(&plan, &token, &err), 0);
  rc = capsid__token_verify(token, &plan, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
  } else {
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_int_equal(err.stage, CAPSID_STAGE_VERIFY);
    print_message("%s: %s\n", capsid__token_variant_name(variant),
                  err.message);
    assert_non_null(strstr(err.message, "restricting SIDs missing"));
    assert_non_null(strstr(err.message, plan.sids[0]));
    assert_non_null(strstr(err.message, plan.sids[1]));
    assert_int_equal(capsid__token_logon_sid(NULL, logon), 0);
    if (variant == CAPSID__TOKEN_DEFAULT) {
      assert_non_null(strstr(err.message, "S-1-1-0"));
      assert_non_null(strstr(err.message, logon));
    } else {
      assert_null(strstr(err.message, "S-1-1-0"));
      assert_null(strstr(err.message, logon));
    }
    assert_null(strstr(err.message, "default DACL"));
    assert_null(strstr(err.message, "deny-only"));
  }
  capsid__error_free(&err);
  CloseHandle(token);
}


static void test_token_read_back(void** state) {
  (void)state;
  token_read_back(CAPSID__TOKEN_DEFAULT);
}


static void test_token_strict_read_back(void** state) {
  (void)state;
  token_read_back(CAPSID__TOKEN_STRICT);
}


/* A token made for one plan does not verify against another: the
 * read-back compares SIDs, not counts. */
static void test_token_verify_other_plan(void** state) {
  capsid__token_plan_t plan, other;
  capsid_error_t err = {0};
  HANDLE token;

  (void)state;
  memset(&plan, 0, sizeof(plan));
  plan.n = 1;
  assert_int_equal(wt_random_sid(plan.sids[0]), 0);
  other = plan;
  assert_int_equal(wt_random_sid(other.sids[0]), 0);
  assert_int_equal(capsid__token_create(&plan, &token, &err), 0);
  assert_int_equal(capsid__token_verify(token, &other, &err), CAPSID_EVERIFY);
  /* The default DACL was made for plan's SID: other's is missing. */
  assert_non_null(strstr(err.message, "default DACL lacks: "));
  assert_non_null(strstr(err.message, other.sids[0]));
  capsid__error_free(&err);
  CloseHandle(token);
}


/* capsid's own token is not what a job gets: the read-back says so, and
 * names Administrators when it is an enabled group (Wine runs programs as
 * an administrator; the restricted token made from the same token has it
 * deny-only, test_token_read_back). */
static void test_token_verify_unrestricted(void** state) {
  capsid__token_plan_t plan;
  capsid_error_t err = {0};
  HANDLE self;
  BYTE admins[SECURITY_MAX_SID_SIZE];
  DWORD size = sizeof(admins);
  BOOL is_admin = FALSE;

  (void)state;
  memset(&plan, 0, sizeof(plan));
  plan.n = 1;
  assert_int_equal(wt_random_sid(plan.sids[0]), 0);
  assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &self));
  assert_int_equal(capsid__token_verify(self, &plan, &err), CAPSID_EVERIFY);
  print_message("%s\n", err.message);
  assert_non_null(strstr(err.message, "restricting SIDs missing"));
  assert_non_null(strstr(err.message, "default DACL lacks: "));
  assert_true(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins,
                                 &size));
  assert_true(CheckTokenMembership(NULL, admins, &is_admin));
  if (is_admin)
    assert_non_null(strstr(err.message, "not deny-only: S-1-5-32-544"));
  capsid__error_free(&err);
  CloseHandle(self);
}


static void test_token_variant_env(void** state) {
  capsid__token_variant_t v;
  capsid_error_t err = {0};

  (void)state;
  _putenv("CAPSID_WIN_TOKEN=");
  assert_int_equal(capsid__token_variant_from_env(&v, &err), 0);
  assert_int_equal(v, CAPSID__TOKEN_DEFAULT);
  _putenv("CAPSID_WIN_TOKEN=strict");
  assert_int_equal(capsid__token_variant_from_env(&v, &err), 0);
  assert_int_equal(v, CAPSID__TOKEN_STRICT);
  _putenv("CAPSID_WIN_TOKEN=lax");
  assert_int_equal(capsid__token_variant_from_env(&v, &err), CAPSID_EINVAL);
  assert_non_null(strstr(err.message, "\"lax\""));
  capsid__error_free(&err);
  _putenv("CAPSID_WIN_TOKEN=");
}


/* The job's desktop: made with a DACL granting exactly the logon SID, the
 * user and SYSTEM, its name what lpDesktop gets; or the fallback to
 * winsta0\default with its reason (no interactive station, SSH, or, under
 * Wine, a desktop whose DACL does not read back). An SSH session always
 * takes the fallback. */
static void test_private_desktop(void** state) {
  capsid__desktop_t d;
  char logon[CAPSID__SID_MAX], user[CAPSID__SID_MAX];

  (void)state;
  capsid__desktop_make(&d);
  if (d.handle == NULL) {
    print_message("desktop fallback: %s\n", d.fallback_why);
    assert_non_null(d.fallback_why);
    assert_true(wcscmp(d.name, L"winsta0\\default") == 0);
  } else {
    PSECURITY_DESCRIPTOR sd = NULL;
    ACL* dacl = NULL;
    PSID want = NULL;
    DWORD i;
    void* ace;
    int n_logon = 0, n_other = 0;

    assert_null(d.fallback_why);
    assert_true(wcsncmp(d.name, L"WinSta0\\capsid-", 15) == 0);
    assert_int_equal(capsid__token_logon_sid(NULL, logon), 0);
    assert_int_equal(capsid__token_user_sid(NULL, user), 0);
    assert_int_equal(GetSecurityInfo(d.handle, SE_WINDOW_OBJECT,
                                     DACL_SECURITY_INFORMATION, NULL, NULL,
                                     &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    assert_true(ConvertStringSidToSidA(logon, &want));
    for (i = 0; dacl != NULL && i < dacl->AceCount; i++) {
      assert_true(GetAce(dacl, i, &ace));
      if (EqualSid((PSID)&((ACCESS_ALLOWED_ACE*)ace)->SidStart, want))
        n_logon++;
      else
        n_other++;
    }
    print_message("desktop %ls: %d logon ACE, %d other\n", d.name, n_logon,
                  n_other);
    assert_int_equal(n_logon, 1);
    assert_true(n_other <= 2); /* the user and SYSTEM */
    LocalFree(want);
    LocalFree(sd);
  }
  capsid__desktop_close(&d);
  assert_null(d.handle);
  _putenv("SSH_CONNECTION=10.0.0.1 22 10.0.0.2 22");
  capsid__desktop_make(&d);
  _putenv("SSH_CONNECTION=");
  assert_null(d.handle);
  assert_string_equal(d.fallback_why, "an SSH logon");
  capsid__desktop_close(&d);
}


static void test_token_plan_bounded(void** state) {
  capsid__token_plan_t plan;
  capsid_error_t err = {0};
  HANDLE token;

  (void)state;
  memset(&plan, 0, sizeof(plan));
  /* Zero SIDs would make an unrestricted token: refused. */
  assert_int_equal(capsid__token_create(&plan, &token, &err), CAPSID_EINVAL);
  capsid__error_free(&err);
  plan.n = 1;
  strcpy(plan.sids[0], "S-1-5-21-not-a-sid");
  assert_int_equal(capsid__token_create(&plan, &token, &err), CAPSID_EINVAL);
  assert_non_null(strstr(err.message, "S-1-5-21-not-a-sid"));
  capsid__error_free(&err);
}


static void test_job_object_read_back(void** state) {
  capsid__jobobj_plan_t plan = {64u << 20, 4, 0, 0};
  capsid_error_t err = {0};
  HANDLE job;
  int rc;

  (void)state;
  assert_int_equal(capsid__jobobj_create(&plan, &job, &err), 0);
  rc = capsid__jobobj_verify(job, &plan, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
  } else {
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_non_null(strstr(err.message, "kill-on-close"));
    assert_non_null(strstr(err.message, "active-process limit"));
    assert_non_null(strstr(err.message, "job memory limit"));
  }
  capsid__error_free(&err);
  CloseHandle(job);
}

/* The job object's UI restrictions: which a job gets (pure), then set on
 * a job object and read back with QueryInformationJobObject. */
static void test_job_object_ui_limits(void** state) {
  capsid__jobobj_plan_t plan = {0, 0, 0, 0};
  JOBOBJECT_BASIC_UI_RESTRICTIONS ui;
  capsid_error_t err = {0};
  const char* why = NULL;
  uint32_t got = 1;
  HANDLE job = NULL;
  int rc;

  (void)state;
  assert_int_equal(capsid__jobobj_ui(NULL, 0, 0, &got, &why), 0);
  assert_int_equal(got, CAPSID__JOBOBJ_UI_ALL);
  assert_null(why);
  assert_int_equal(capsid__jobobj_ui("on", 0, 0, &got, &why), 0);
  assert_int_equal(got, CAPSID__JOBOBJ_UI_ALL);
  assert_int_equal(capsid__jobobj_ui("off", 0, 0, &got, &why), 0);
  assert_int_equal(got, 0);
  assert_non_null(strstr(why, "CAPSID_WIN_UILIMIT=off"));
  /* A job with UI limits cannot nest in capsid's own job. */
  assert_int_equal(capsid__jobobj_ui(NULL, 1, 0, &got, &why), 0);
  assert_int_equal(got, 0);
  assert_non_null(strstr(why, "job object"));
  assert_int_equal(capsid__jobobj_ui("on", 0, 1, &got, &why), 0);
  assert_int_equal(got, 0);
  assert_non_null(strstr(why, "elevated"));
  assert_int_equal(capsid__jobobj_ui("yes", 0, 0, &got, &why),
                   CAPSID_EINVAL);
  /* Every one of the eight, none else. */
  assert_int_equal(CAPSID__JOBOBJ_UI_ALL, 0xff);

  plan.ui_limits = CAPSID__JOBOBJ_UI_ALL;
  assert_int_equal(capsid__jobobj_create(&plan, &job, &err), 0);
  memset(&ui, 0, sizeof(ui));
  rc = capsid__jobobj_verify(job, &plan, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
    assert_true(QueryInformationJobObject(job, JobObjectBasicUIRestrictions,
                                          &ui, sizeof(ui), NULL));
    assert_int_equal(ui.UIRestrictionsClass, CAPSID__JOBOBJ_UI_ALL);
  } else {
    /* Wine accepts the restrictions but cannot read them back: the
     * read-back says so by name (jobs there run under the test
     * override, as for the other limits). */
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_non_null(strstr(err.message, "UI restrictions"));
  }
  capsid__error_free(&err);
  CloseHandle(job);
}


/* cpu_limit becomes a hard CPU-rate cap in 1/10000 of the machine, read
 * back like the other limits. Wine refuses to set one: the job object is
 * then not made at all, and the error names the field (a job asking for
 * a CPU limit is refused there, never run without it). */
static void test_job_object_cpu_rate(void** state) {
  capsid__jobobj_plan_t plan = {0, 0, 2500, 0};
  capsid_error_t err = {0};
  HANDLE job = NULL;
  int rc;

  (void)state;
  assert_int_equal(capsid__jobobj_cpu_rate(0.5, 4), 1250);
  assert_int_equal(capsid__jobobj_cpu_rate(1, 3), 3333);
  assert_int_equal(capsid__jobobj_cpu_rate(4, 4), 0); /* the whole machine */
  assert_int_equal(capsid__jobobj_cpu_rate(8, 4), 0);
  assert_int_equal(capsid__jobobj_cpu_rate(0.00001, 64), 1);
  assert_int_equal(capsid__jobobj_cpu_rate(0, 4), 0);
  rc = capsid__jobobj_create(&plan, &job, &err);
  if (rc == 0) {
    rc = capsid__jobobj_verify(job, &plan, &err);
    if (wt_enforcing())
      assert_int_equal(rc, 0);
    else
      assert_non_null(strstr(err.message, "CPU rate"));
    CloseHandle(job);
  } else {
    assert_false(wt_enforcing());
    assert_int_equal(rc, CAPSID_ELIMIT);
    assert_string_equal(err.field, "cpu_limit");
    assert_non_null(strstr(err.message, "CPU rate"));
    assert_null(job);
  }
  capsid__error_free(&err);
}


/* DACL grants: applied by the ACL engine, then read back. Wine turns a
 * DACL into Unix mode bits and stores no ACE for a capability SID, so
 * there capsid must notice; on Windows the grant holds, and a second call
 * finds it present and changes nothing. */
typedef struct ahead_result_s {
  int called;
  int status;
} ahead_result_t;

static void ahead_cb(void* data, int status, const capsid_error_t* err) {
  ahead_result_t* r = data;

  (void)err;
  r->called++;
  r->status = status;
}


/* A SID plan of one target (acl/plan.c's entries for sid), keyed by its
 * path as the launcher's plan of that one path would be. */
static void one_grant(capsid__acl_plan_t* plan,
                      capsid__acl_target_kind_t kind, const char* path,
                      int is_dir, const char* sid) {
  memset(plan, 0, sizeof(*plan));
  plan->key = capsid__strdup(path);
  assert_non_null(plan->key);
  assert_int_equal(capsid__acl_plan_add_sid(plan, kind, path, is_dir, sid),
                   0);
}


/* Prelaunch's grants: a missing ACE starts the engine's walk on the worker
 * pool and returns at once (1); the callback comes later from the loop,
 * and the engine's record then lists the root. Real Windows keeps the
 * ACE, so a second call has nothing to do (0); Wine keeps none, so there
 * it walks again. */
static void test_grant_ahead_on_pool(void** state) {
  capsid__acl_plan_t plan;
  char sid[CAPSID__SID_MAX];
  capsid__acl_info_t info;
  capsid_error_t err = {0};
  ahead_result_t r = {0, -1};
  capsid__pool_t* pool = NULL;
  uv_loop_t loop;
  char* root = wt_mkdtemp();
  int rc;

  (void)state;
  assert_int_equal(wt_random_sid(sid), 0);
  one_grant(&plan, CAPSID__ACL_T_WRITE, root, 1, sid);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(capsid__pool_new(&loop, 2, &pool), 0);
  assert_int_equal(capsid__grant_ahead(&loop, pool, &plan, ahead_cb, &r,
                                       &err), 1);
  assert_int_equal(r.called, 0); /* not on this thread, not yet */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(r.called, 1);
  assert_int_equal(r.status, 0);
  assert_int_equal(capsid__acl_info(capsid__state_dir(), root, &info, NULL),
                   0);
  assert_true(info.present);
  assert_int_equal(info.plan.n_targets, 1);
  assert_string_equal(info.plan.targets[0].path, root);
  capsid__acl_info_free(&info);
  rc = capsid__grant_ahead(&loop, pool, &plan, ahead_cb, &r, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
  } else {
    assert_int_equal(rc, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.called, 2);
  }
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  capsid__acl_plan_free(&plan);
  wt_rmtree(root);
  capsid__free(root);
}


static void test_grant_read_back(void** state) {
  capsid__acl_plan_t plan, none;
  char sid[CAPSID__SID_MAX];
  capsid_error_t err = {0};
  char* root = wt_mkdtemp();
  char* git = capsid__sprintf("%s/.git", root);
  int rc;

  (void)state;
  assert_true(CreateDirectoryA(git, NULL));
  assert_int_equal(wt_random_sid(sid), 0);
  one_grant(&plan, CAPSID__ACL_T_WRITE, root, 1, sid);
  assert_int_equal(capsid__acl_plan_add_sid(&plan, CAPSID__ACL_T_READ_ONLY,
                                            git, 1, sid),
                   0);
  rc = capsid__grant_ensure(&plan, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
    assert_int_equal(capsid__grant_ensure(&plan, &err), 0);
  } else {
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_int_equal(err.stage, CAPSID_STAGE_VERIFY);
    assert_non_null(strstr(err.message, sid));
    assert_non_null(strstr(err.message, "did not take effect"));
  }
  capsid__error_free(&err);
  /* The walk was the ACL engine's: its record under the workspace lists
   * the write target and the deny-write entry on .git (what revoke and
   * uninstall take back), whatever Windows kept. */
  {
    capsid__acl_info_t info;
    size_t i;
    int saw_write = 0, saw_deny = 0;

    assert_int_equal(capsid__acl_info(capsid__state_dir(), root, &info,
                                      NULL), 0);
    assert_true(info.present);
    for (i = 0; i < info.plan.n_targets; i++) {
      const capsid__acl_target_t* t = &info.plan.targets[i];
      if (t->kind == CAPSID__ACL_T_WRITE && strcmp(t->path, root) == 0)
        saw_write = t->n_entries == 1 && t->recursive &&
                    strcmp(t->entries[0].who.sid, sid) == 0;
      if (t->kind == CAPSID__ACL_T_READ_ONLY && strcmp(t->path, git) == 0)
        saw_deny = t->n_entries == 2 && t->recursive &&
                   t->entries[0].perms ==
                       (CAPSID__ACL_W | CAPSID__ACL_DENY) &&
                   t->entries[1].perms == (CAPSID__ACL_R | CAPSID__ACL_X);
    }
    assert_true(saw_write);
    assert_true(saw_deny);
    capsid__acl_info_free(&info);

    /* Grants accumulate: a later job's plan without .git but with a
     * carve-out of its own keeps .git's target in the record. */
    {
      capsid__acl_plan_t later;
      char* carve = capsid__sprintf("%s/carve", root);
      int saw_git = 0, saw_carve = 0;

      one_grant(&later, CAPSID__ACL_T_WRITE, root, 1, sid);
      assert_int_equal(capsid__acl_plan_add_sid(
                           &later, CAPSID__ACL_T_READ_ONLY, carve, 1, sid),
                       0);
      rc = capsid__grant_ensure(&later, &err);
      capsid__acl_plan_free(&later);
      assert_true(rc == 0 || (!wt_enforcing() && rc == CAPSID_EVERIFY));
      capsid__error_free(&err);
      assert_int_equal(capsid__acl_info(capsid__state_dir(), root, &info,
                                        NULL), 0);
      for (i = 0; i < info.plan.n_targets; i++) {
        const capsid__acl_target_t* t = &info.plan.targets[i];
        saw_git |= t->kind == CAPSID__ACL_T_READ_ONLY &&
                   strcmp(t->path, git) == 0;
        saw_carve |= t->kind == CAPSID__ACL_T_READ_ONLY &&
                     strcmp(t->path, carve) == 0;
      }
      assert_true(saw_git);
      assert_true(saw_carve);
      capsid__acl_info_free(&info);
      capsid__free(carve);
    }
  }
  /* A path that does not exist is an ACL-stage error naming it. */
  one_grant(&none, CAPSID__ACL_T_WRITE, "C:/capsid-no-such-root", 1, sid);
  assert_int_equal(capsid__grant_ensure(&none, &err), CAPSID_ENOENT);
  assert_int_equal(err.stage, CAPSID_STAGE_ACL);
  assert_string_equal(err.path, "C:/capsid-no-such-root");
  capsid__error_free(&err);
  capsid__acl_plan_free(&none);
  capsid__acl_plan_free(&plan);
  wt_rmtree(root);
  capsid__free(git);
  capsid__free(root);
}


/* A placeholder (a protected path that does not exist yet) is created,
 * one empty directory whose parent exists, before its deny ACE is set,
 * so the ACE has an object to sit on. Wine stores no ACE for a capability
 * SID: there the directory must exist and the missing ACE be named; on
 * Windows the DACL read back carries the deny ACE. A path whose parent is
 * missing is refused and nothing is created. */
static void test_missing_carve_out_created(void** state) {
  capsid__acl_plan_t plan, other;
  char sid[CAPSID__SID_MAX];
  capsid_error_t err = {0};
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  char* root = wt_mkdtemp();
  char* carve = capsid__sprintf("%s/build", root);
  char* deep = capsid__sprintf("%s/nope/out", root);
  char* file = capsid__sprintf("%s/notes.txt", root);
  char* under_file = capsid__sprintf("%s/notes.txt/x", root);
  WCHAR* wcarve = capsid__utf16(carve);
  DWORD attrs;
  FILE* f;
  int rc;

  (void)state;
  assert_int_equal(wt_random_sid(sid), 0);
  /* A placeholder is planned as the directory it becomes. */
  one_grant(&plan, CAPSID__ACL_T_READ_ONLY, carve, 1, sid);
  rc = capsid__grant_ensure(&plan, &err);
  attrs = GetFileAttributesW(wcarve);
  assert_true(attrs != INVALID_FILE_ATTRIBUTES &&
              (attrs & FILE_ATTRIBUTE_DIRECTORY));
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
    assert_int_equal(GetNamedSecurityInfoW(wcarve, SE_FILE_OBJECT,
                                           DACL_SECURITY_INFORMATION, NULL,
                                           NULL, &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    assert_true(capsid__acl_has(dacl, &plan.targets[0].entries[0]));
    LocalFree(sd);
  } else {
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_non_null(strstr(err.message, "deny-write"));
    assert_string_equal(err.path, carve);
  }
  capsid__error_free(&err);

  /* A carve-out that exists as a file stays a file. */
  f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  one_grant(&other, CAPSID__ACL_T_READ_ONLY, file, 0, sid);
  rc = capsid__grant_ensure(&other, &err);
  capsid__acl_plan_free(&other);
  assert_true(rc == 0 || (!wt_enforcing() && rc == CAPSID_EVERIFY));
  assert_true(GetFileAttributesA(file) != INVALID_FILE_ATTRIBUTES &&
              !(GetFileAttributesA(file) & FILE_ATTRIBUTE_DIRECTORY));
  capsid__error_free(&err);

  /* One that cannot be created (beneath a file) refuses the job, naming
   * the path. */
  one_grant(&other, CAPSID__ACL_T_READ_ONLY, under_file, 1, sid);
  rc = capsid__grant_ensure(&other, &err);
  capsid__acl_plan_free(&other);
  assert_true(rc != 0 && rc != CAPSID_EVERIFY);
  assert_int_equal(err.stage, CAPSID_STAGE_ACL);
  assert_string_equal(err.path, under_file);
  capsid__error_free(&err);

  /* No parents are made. */
  one_grant(&other, CAPSID__ACL_T_READ_ONLY, deep, 1, sid);
  assert_int_not_equal(capsid__grant_ensure(&other, &err), 0);
  capsid__acl_plan_free(&other);
  assert_string_equal(err.path, deep);
  capsid__error_free(&err);
  assert_true(GetFileAttributesA(deep) == INVALID_FILE_ATTRIBUTES);
  *strrchr(deep, '/') = '\0';
  assert_true(GetFileAttributesA(deep) == INVALID_FILE_ATTRIBUTES);

  capsid__acl_plan_free(&plan);
  capsid__free(wcarve);
  capsid__free(deep);
  wt_rmtree(root);
  capsid__free(under_file);
  capsid__free(file);
  capsid__free(carve);
  capsid__free(root);
}


/* Placeholders after the job: held open without FILE_SHARE_DELETE by
 * every job that relies on them, removed by the last one to let go, and
 * only while empty. Two jobs of one workspace: the first to end leaves
 * the placeholder to the second. */
static void test_placeholders_released(void** state) {
  capsid__win_placeholders_t first, second;
  capsid__acl_plan_t plan;
  char sid[CAPSID__SID_MAX];
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  char* root = wt_mkdtemp();
  char* git = capsid__sprintf("%s/.git", root);
  char* kept = capsid__sprintf("%s/.codex", root);
  char* inside = capsid__sprintf("%s/.codex/config", root);
  FILE* f;
  int rc;

  (void)state;
  memset(&sb, 0, sizeof(sb));
  assert_int_equal(capsid__strv_push(&sb.missing_protected, git), 0);
  assert_int_equal(capsid__strv_push(&sb.missing_protected, kept), 0);
  assert_int_equal(wt_random_sid(sid), 0);
  one_grant(&plan, CAPSID__ACL_T_READ_ONLY, git, 1, sid);
  rc = capsid__grant_ensure(&plan, &err);
  capsid__acl_plan_free(&plan);
  assert_true(rc == 0 || (!wt_enforcing() && rc == CAPSID_EVERIFY));
  capsid__error_free(&err);
  one_grant(&plan, CAPSID__ACL_T_READ_ONLY, kept, 1, sid);
  rc = capsid__grant_ensure(&plan, &err);
  capsid__acl_plan_free(&plan);
  assert_true(rc == 0 || (!wt_enforcing() && rc == CAPSID_EVERIFY));
  capsid__error_free(&err);
  assert_true(GetFileAttributesA(git) & FILE_ATTRIBUTE_DIRECTORY);
  assert_true(GetFileAttributesA(git) != INVALID_FILE_ATTRIBUTES);

  assert_int_equal(capsid__win_placeholders_hold(&first, &sb, &err), 0);
  assert_int_equal(capsid__win_placeholders_hold(&second, &sb, &err), 0);
  capsid__win_placeholders_release(&first);
  assert_true(GetFileAttributesA(git) != INVALID_FILE_ATTRIBUTES);
  /* The owner puts something into one meanwhile: it stays. */
  f = fopen(inside, "w");
  assert_non_null(f);
  fclose(f);
  capsid__win_placeholders_release(&second);
  assert_true(GetFileAttributesA(git) == INVALID_FILE_ATTRIBUTES);
  assert_true(GetFileAttributesA(inside) != INVALID_FILE_ATTRIBUTES);

  capsid__strv_free(&sb.missing_protected);
  wt_rmtree(root);
  capsid__free(inside);
  capsid__free(kept);
  capsid__free(git);
  capsid__free(root);
}


/* \\.\NUL for the job's SIDs: granted and read back where this process
 * may change the device's DACL (an administrator on Windows), refused
 * naming the device and the SID where it may not; Wine keeps no ACE for a
 * capability SID, which the read-back must notice. A granted ACE is taken
 * away again (uninstall's strip), so the test leaves the device as it
 * found it. */
static void test_nul_grant(void** state) {
  capsid__token_plan_t plan;
  capsid_error_t err = {0};
  char domain[CAPSID__SID_MAX];
  int rc;

  (void)state;
  memset(&plan, 0, sizeof(plan));
  plan.n = 1;
  assert_int_equal(wt_random_sid(plan.sids[0]), 0);
  rc = capsid__nul_grant(&plan, &err);
  if (rc == 0) {
    /* Present now: a second call finds it and writes nothing. */
    assert_int_equal(capsid__nul_grant(&plan, &err), 0);
  } else {
    assert_true(rc == CAPSID_EACCES ||
                (rc == CAPSID_EVERIFY && !wt_enforcing()));
    assert_string_equal(err.path, "\\\\.\\NUL");
    assert_non_null(strstr(err.message, plan.sids[0]));
    printf("\\\\.\\NUL not granted here: %s\n", err.message);
  }
  capsid__error_free(&err);
  strcpy(domain, plan.sids[0]);
  *strrchr(domain, '-') = '\0';
  assert_int_equal(capsid__nul_strip(domain, NULL, NULL), 0);

  /* A SID that is not one is refused before the device is touched. */
  strcpy(plan.sids[0], "not-a-sid");
  assert_int_equal(capsid__nul_grant(&plan, &err), CAPSID_EINVAL);
  assert_int_equal(err.stage, CAPSID_STAGE_ACL);
  capsid__error_free(&err);
}


typedef struct {
  const WCHAR* name;
  int rc;
  int abandoned;
  int keep; /* exit the thread still holding it */
} mutex_try_t;

static DWORD WINAPI mutex_thread(void* arg) {
  mutex_try_t* t = arg;
  capsid_error_t err = {0};
  HANDLE m;

  t->rc = capsid__mutex_try(t->name, &m, &t->abandoned, &err);
  capsid__error_free(&err);
  if (t->rc == 0 && !t->keep)
    capsid__mutex_release(m);
  return 0;
}


static void try_in_thread(mutex_try_t* t) {
  HANDLE th = CreateThread(NULL, 0, mutex_thread, t, 0, NULL);

  assert_non_null(th);
  assert_int_equal(WaitForSingleObject(th, 30000), WAIT_OBJECT_0);
  CloseHandle(th);
}


/* One ACL helper at a time; a helper that died does not block the next. */
static void test_helper_mutex(void** state) {
  WCHAR name[64];
  mutex_try_t t;
  capsid_error_t err = {0};
  HANDLE m;
  int abandoned;

  (void)state;
  swprintf(name, 64, L"Local\\CapsidTest-%lu", GetCurrentProcessId());
  memset(&t, 0, sizeof(t));
  t.name = name;
  assert_int_equal(capsid__mutex_try(name, &m, &abandoned, &err), 0);
  assert_false(abandoned);
  try_in_thread(&t);
  assert_int_equal(t.rc, CAPSID_EBUSY);
  capsid__mutex_release(m);
  try_in_thread(&t);
  assert_int_equal(t.rc, 0);
  assert_false(t.abandoned);

  /* The holder exits without releasing: the next one takes over. */
  t.keep = 1;
  try_in_thread(&t);
  assert_int_equal(t.rc, 0);
  assert_int_equal(capsid__mutex_try(name, &m, &abandoned, &err), 0);
  assert_true(abandoned);
  capsid__mutex_release(m);
}


/* The cwd junction: where the platform supports it, the files of the
 * target are reachable through it; where it does not (Wine answers
 * ERROR_NOT_SUPPORTED), the failure is reported and nothing is left. */
static void test_junction(void** state) {
  capsid_error_t err = {0};
  char* dir = wt_mkdtemp();
  char* target = capsid__sprintf("%s/target", dir);
  char* file = capsid__sprintf("%s/target/f.txt", dir);
  char* link = capsid__sprintf("%s/link", dir);
  char* via = capsid__sprintf("%s/link/f.txt", dir);
  FILE* f;
  int rc;

  (void)state;
  assert_true(CreateDirectoryA(target, NULL));
  f = fopen(file, "w");
  assert_non_null(f);
  fputs("through", f);
  fclose(f);
  rc = capsid__junction_create(link, target, &err);
  if (rc == 0) {
    char buf[16] = "";
    f = fopen(via, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "through");
    assert_true(GetFileAttributesA(link) & FILE_ATTRIBUTE_REPARSE_POINT);
    assert_true(RemoveDirectoryA(link));
    /* Removing the junction leaves the target alone. */
    assert_int_not_equal(GetFileAttributesA(file), INVALID_FILE_ATTRIBUTES);
  } else {
    print_message("junction refused here: %s\n", err.message);
    assert_true(rc == CAPSID_ENOTSUP || rc == CAPSID_EVERIFY);
    assert_int_equal(err.stage, CAPSID_STAGE_MOUNT);
    assert_string_equal(err.path, link);
    assert_int_equal(GetFileAttributesA(link), INVALID_FILE_ATTRIBUTES);
  }
  capsid__error_free(&err);
  /* A relative target is refused before anything is created. */
  assert_int_equal(capsid__junction_create(link, "relative/dir", &err),
                   CAPSID_EINVAL);
  assert_int_equal(GetFileAttributesA(link), INVALID_FILE_ATTRIBUTES);
  capsid__error_free(&err);
  wt_rmtree(dir);
  capsid__free(dir);
  capsid__free(target);
  capsid__free(file);
  capsid__free(link);
  capsid__free(via);
}


/* The real build has no override: a job whose confinement cannot be
 * verified is refused, never run unconfined. */
static void test_unverified_job_refused(void** state) {
  const char* argv[] = {wt_child(), "echo", "must-not-run", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  if (wt_enforcing())
    skip(); /* real Windows: the token verifies, nothing to refuse */
  capsid__win_test_unverified_ok = 0;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = wt_state_dir;
  spec.network = -1;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_EVERIFY);
  assert_int_equal(r.error.code, CAPSID_EVERIFY);
  assert_int_equal(r.error.stage, CAPSID_STAGE_VERIFY);
  assert_non_null(strstr(r.error.message, "restricting SIDs missing: S-1-5-21-"));
  assert_int_equal(r.out.len, 0);
  capsid_result_free(&r);
}


/* Needs real Windows: a write outside the workspace is refused by the
 * restricting-SID check, and the control write inside it succeeds. */
static void test_write_outside_workspace_denied(void** state) {
  char* ws;
  char* outside;
  char* inside_file;
  char* outside_file;
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  if (!wt_enforcing()) {
    print_message("skipped: Wine does not enforce restricting SIDs; "
                  "run tests/windows/windows-smoke.ps1 on Windows\n");
    skip();
  }
  ws = wt_mkdtemp();
  outside = wt_mkdtemp();
  inside_file = capsid__sprintf("%s/inside.txt", ws);
  outside_file = capsid__sprintf("%s/outside.txt", outside);
  {
    const char* argv[] = {wt_child(), "write", inside_file, NULL};
    spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
    spec.argv = argv;
    spec.cwd = ws;
    spec.network = -1;
    spec.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
                  "\"exclude_tmpdir_env_var\":true}";
    assert_int_equal(capsid_run_capture(&spec, &r), 0);
    assert_int_equal(r.error.code, 0);
    assert_int_equal(r.exit_code, 0);
    capsid_result_free(&r);
  }
  {
    const char* argv[] = {wt_child(), "write", outside_file, NULL};
    spec.argv = argv;
    assert_int_equal(capsid_run_capture(&spec, &r), 0);
    assert_int_equal(r.error.code, 0);
    assert_int_equal(r.exit_code, 1);
    assert_int_equal(GetFileAttributesA(outside_file),
                     INVALID_FILE_ATTRIBUTES);
    capsid_result_free(&r);
  }
  capsid__free(inside_file);
  capsid__free(outside_file);
  wt_rmtree(ws);
  wt_rmtree(outside);
  capsid__free(ws);
  capsid__free(outside);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token_read_back),
      cmocka_unit_test(test_token_strict_read_back),
      cmocka_unit_test(test_token_verify_other_plan),
      cmocka_unit_test(test_token_verify_unrestricted),
      cmocka_unit_test(test_token_variant_env),
      cmocka_unit_test(test_private_desktop),
      cmocka_unit_test(test_token_plan_bounded),
      cmocka_unit_test(test_job_object_read_back),
      cmocka_unit_test(test_job_object_ui_limits),
      cmocka_unit_test(test_job_object_cpu_rate),
      cmocka_unit_test(test_grant_ahead_on_pool),
      cmocka_unit_test(test_grant_read_back),
      cmocka_unit_test(test_missing_carve_out_created),
      cmocka_unit_test(test_placeholders_released),
      cmocka_unit_test(test_nul_grant),
      cmocka_unit_test(test_helper_mutex),
      cmocka_unit_test(test_junction),
      cmocka_unit_test(test_unverified_job_refused),
      cmocka_unit_test(test_write_outside_workspace_denied),
  };

  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  return cmocka_run_group_tests(tests, wt_state_setup, wt_state_teardown);
}
