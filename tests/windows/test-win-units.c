/* Pure pieces of the Windows backend that Wine runs honestly: SID
 * generation, the capability store, DACL construction, path
 * canonicalisation. */
#include "wintest-util.h"

#include "capstore-win.h"
#include "grant-win.h"
#include "plan-win.h"
#include "resolve-win.h"
#include "env.h"
#include "file.h"
#include "policy.h"

#include <windows.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_sid_domain(void** state) {
  char a[CAPSID__SID_DOMAIN_MAX], b[CAPSID__SID_DOMAIN_MAX];
  char sid_text[CAPSID__SID_MAX];
  unsigned long v[3];
  PSID sid;
  char tail;

  (void)state;
  assert_int_equal(capsid__sid_domain_random(a), 0);
  assert_int_equal(capsid__sid_domain_random(b), 0);
  assert_string_not_equal(a, b);
  assert_int_equal(sscanf(a, "S-1-5-21-%lu-%lu-%lu%c", &v[0], &v[1], &v[2],
                          &tail), 3);
  /* Id n of the store is the last sub-authority of a valid SID. */
  capsid__sid_of(a, 3210000007u, sid_text);
  assert_true(ConvertStringSidToSidA(sid_text, &sid));
  assert_int_equal(*GetSidSubAuthorityCount(sid), 5);
  assert_int_equal(*GetSidSubAuthority(sid, 4), 3210000007u);
  assert_int_equal(*GetSidSubAuthority(sid, 1), v[0]);
  LocalFree(sid);
}


/* 1 when dir holds a file whose name starts with prefix. */
static int has_file(const char* dir, const char* prefix) {
  WIN32_FIND_DATAA fd;
  char* pattern = capsid__sprintf("%s/%s*", dir, prefix);
  HANDLE h = FindFirstFileA(pattern, &fd);

  capsid__free(pattern);
  if (h == INVALID_HANDLE_VALUE)
    return 0;
  FindClose(h);
  return 1;
}


static void get_caps(const char* ws, const char* extra, capsid__caps_t* out) {
  const char* roots[2] = {ws, extra};
  capsid_error_t err = {0};

  assert_int_equal(capsid__caps_get(roots, ws == NULL ? 0 : extra ? 2 : 1,
                                    out, &err), 0);
}


static void test_capstore_round_trip(void** state) {
  capsid__caps_t c1, c1b, c2, c3;
  capsid__capstore_t s;
  capsid_error_t err = {0};
  size_t n;

  (void)state;
  get_caps("C:/Work/ws1", NULL, &c1);
  /* One identity per workspace, however the path is spelled in case. */
  get_caps("c:/WORK/Ws1", NULL, &c1b);
  assert_string_equal(c1.workspace, c1b.workspace);
  get_caps("C:/Work/ws2", "C:/Extra", &c2);
  assert_string_not_equal(c1.workspace, c2.workspace);
  /* The fixed SIDs are the same for every workspace, and all differ. */
  assert_string_equal(c1.generic, c2.generic);
  assert_string_equal(c1.read_only, c2.read_only);
  assert_string_not_equal(c1.read_only, c1.generic);
  assert_string_not_equal(c1.users, c1.generic);
  assert_string_not_equal(c1.workspace, c1.generic);
  get_caps(NULL, NULL, &c3);
  assert_string_equal(c3.workspace, "");
  assert_string_equal(c3.read_only, c1.read_only);

  /* Persisted in the one capability store, keys upper-cased, the extra
   * root recorded (uninstall strips it), every SID in its domain. */
  assert_int_equal(capsid__capstore_load(wt_state_dir, &s, &err), 0);
  assert_int_equal(s.n_workspaces, 2);
  assert_int_equal(s.n_roots, 1);
  assert_string_equal(s.workspaces[0].path, "C:/WORK/WS1");
  assert_string_equal(s.roots[0].path, "C:/EXTRA");
  n = strlen(s.sid_domain);
  assert_true(n > 9);
  assert_memory_equal(c1.workspace, s.sid_domain, n);
  assert_memory_equal(c2.generic, s.sid_domain, n);
  capsid__capstore_free(&s);
  /* The atomic write leaves no temporary file. */
  assert_false(has_file(wt_state_dir, "capabilities.json.tmp"));
}


static void test_capstore_corrupt(void** state) {
  capsid__caps_t caps;
  capsid_error_t err = {0};
  const char* roots[1] = {"C:/Y"};
  char* path = capsid__sprintf("%s/%s", wt_state_dir, CAPSID__CAPSTORE_FILE);
  FILE* f;

  (void)state;
  f = fopen(path, "wb");
  assert_non_null(f);
  fputs("{\"version\":1,\"first\":1000,\"count\":10,\"next\":1004,"
        "\"sid_domain\":\"S-1-5-21-oops\",\"workspaces\":{},"
        "\"roots\":{}}",
        f);
  fclose(f);
  /* A damaged store is an error, never a silent fresh identity; the file
   * is kept aside for a person to look at. */
  assert_int_equal(capsid__caps_get(roots, 1, &caps, &err), CAPSID_ECORRUPT);
  assert_int_equal(err.stage, CAPSID_STAGE_CAPABILITY);
  assert_non_null(strstr(err.message, "sid_domain"));
  assert_non_null(strstr(err.message, "moved aside"));
  capsid__error_free(&err);
  assert_int_equal(GetFileAttributesA(path), INVALID_FILE_ATTRIBUTES);
  assert_true(has_file(wt_state_dir, "capabilities.json.corrupt-"));
  capsid__free(path);
}


typedef struct {
  char sid[CAPSID__SID_MAX];
  int rc;
} racer_t;

static DWORD WINAPI race_cb(void* arg) {
  const char* roots[1] = {"D:/Race/ws"};
  racer_t* r = arg;
  capsid_error_t err = {0};
  capsid__caps_t caps;

  r->rc = capsid__caps_get(roots, 1, &caps, &err);
  memcpy(r->sid, caps.workspace, sizeof(r->sid));
  capsid__error_free(&err);
  return 0;
}


/* Two capsid processes (here: threads) meeting a new workspace at once
 * must agree on one SID: the store is updated under a named mutex. */
static void test_capstore_concurrent(void** state) {
  racer_t racers[6];
  HANDLE threads[6];
  char* fresh = capsid__sprintf("%s/race", wt_state_dir);
  int i;

  (void)state;
  /* A fresh state directory, so the racers also race to create the store
   * and its SID domain. */
  assert_int_equal(_putenv_s("CAPSID_STATE_DIR", fresh), 0);
  memset(racers, 0, sizeof(racers));
  for (i = 0; i < 6; i++) {
    threads[i] = CreateThread(NULL, 0, race_cb, &racers[i], 0, NULL);
    assert_non_null(threads[i]);
  }
  assert_int_equal(WaitForMultipleObjects(6, threads, TRUE, 60000),
                   WAIT_OBJECT_0);
  for (i = 0; i < 6; i++) {
    CloseHandle(threads[i]);
    assert_int_equal(racers[i].rc, 0);
    assert_string_equal(racers[i].sid, racers[0].sid);
  }
  assert_int_equal(_putenv_s("CAPSID_STATE_DIR", wt_state_dir), 0);
  capsid__free(fresh);
}


/* The launcher's presence check: an explicit ACE of the right type, SID,
 * inheritance and a mask covering the wanted rights counts; an inherited
 * copy, a narrower mask or the other type does not. (The DACL the engine
 * writes is built by capsid__dacl_rebuild, tested in test-win-acl.) */
static void test_acl_has(void** state) {
  BYTE old_buf[1024];
  ACL* old = (ACL*)old_buf;
  capsid__acl_entry_t allow[2], deny[2];
  const BYTE oici = OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE;

  (void)state;
  /* A SID plan's allow on a root and its deny on a protected file. */
  assert_int_equal(capsid__acl_sid_entries(CAPSID__ACL_T_WRITE,
                                           "S-1-5-21-1-2-3-4", 1, allow),
                   1);
  assert_int_equal(capsid__acl_sid_entries(CAPSID__ACL_T_READ_ONLY,
                                           "S-1-5-21-1-2-3-4", 0, deny),
                   1);

  assert_true(InitializeAcl(old, sizeof(old_buf), ACL_REVISION));
  wt_add_ace(old, "S-1-5-21-1-2-3-4", CAPSID__DENY_MASK, oici, 1);
  wt_add_ace(old, "S-1-5-21-1-2-3-4", CAPSID__ALLOW_MASK, oici, 0);
  assert_true(capsid__acl_has(old, &allow[0]));
  assert_true(capsid__acl_has(old, &deny[0]));

  /* An inherited copy of the wanted ACE does not count as present: only an
   * explicit ACE survives a change of the parent. */
  assert_true(InitializeAcl(old, sizeof(old_buf), ACL_REVISION));
  wt_add_ace(old, "S-1-5-21-1-2-3-4", CAPSID__ALLOW_MASK,
             INHERITED_ACE | oici, 0);
  assert_false(capsid__acl_has(old, &allow[0]));
  /* Nor does a narrower mask, an ACE that is not inherited by children,
   * or an allow where a deny is wanted. */
  assert_true(InitializeAcl(old, sizeof(old_buf), ACL_REVISION));
  wt_add_ace(old, "S-1-5-21-1-2-3-4", FILE_GENERIC_READ, oici, 0);
  wt_add_ace(old, "S-1-5-21-1-2-3-4", CAPSID__ALLOW_MASK, 0, 0);
  wt_add_ace(old, "S-1-5-21-1-2-3-4", CAPSID__DENY_MASK, oici, 0);
  assert_false(capsid__acl_has(old, &allow[0]));
  assert_false(capsid__acl_has(old, &deny[0]));
}


/* Uninstall's ACE removal: only explicit ACEs of the store's own SID
 * domain go; a domain that merely starts with the same digits stays, and
 * so do inherited copies (they go when the parent's ACE is propagated). */
static void test_acl_strip(void** state) {
  BYTE old_buf[1024];
  ACL* old = (ACL*)old_buf;
  ACL* stripped;
  int removed = -1;
  const BYTE oici = OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE;

  (void)state;
  assert_true(InitializeAcl(old, sizeof(old_buf), ACL_REVISION));
  wt_add_ace(old, "S-1-5-21-1-2-3-1001", CAPSID__DENY_MASK, oici, 1);
  wt_add_ace(old, "S-1-5-21-1-2-3-1000", CAPSID__ALLOW_MASK, oici, 0);
  wt_add_ace(old, "S-1-5-21-1-2-30-1000", CAPSID__ALLOW_MASK, oici, 0);
  wt_add_ace(old, "S-1-1-0", FILE_GENERIC_READ, 0, 0);
  wt_add_ace(old, "S-1-5-21-1-2-3-1000", CAPSID__ALLOW_MASK,
              INHERITED_ACE | oici, 0);
  assert_int_equal(capsid__acl_strip(old, "S-1-5-21-1-2-3", &stripped,
                                     &removed), 0);
  assert_int_equal(removed, 2);
  assert_int_equal(stripped->AceCount, 3);
  wt_expect_ace(stripped, 0, ACCESS_ALLOWED_ACE_TYPE, oici, CAPSID__ALLOW_MASK,
             "S-1-5-21-1-2-30-1000");
  wt_expect_ace(stripped, 1, ACCESS_ALLOWED_ACE_TYPE, 0, FILE_GENERIC_READ,
             "S-1-1-0");
  wt_expect_ace(stripped, 2, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE | oici,
             CAPSID__ALLOW_MASK, "S-1-5-21-1-2-3-1000");
  assert_true(IsValidAcl(stripped));
  LocalFree(stripped);
}


static DWORD WINAPI close_later(void* handle) {
  Sleep(50);
  CloseHandle(handle);
  return 0;
}


/* base/file.h on Windows: whole reads, atomic replacement (also while
 * a reader briefly has the file open), and no temporary file left. */
static void test_file_read_write(void** state) {
  char* path = capsid__sprintf("%s/state.txt", wt_state_dir);
  char* data = NULL;
  size_t len = 0;
  int os_error = 0;
  HANDLE reader, closer;
  WCHAR wpath[MAX_PATH];

  (void)state;
  assert_int_equal(capsid__file_read(path, 100, &data, &len, &os_error),
                   CAPSID_ENOENT);
  assert_int_equal(capsid__file_write_atomic(path, "first", 5, 0644,
                                             &os_error), 0);
  assert_int_equal(capsid__file_read(path, 100, &data, &len, &os_error), 0);
  assert_int_equal(len, 5);
  assert_string_equal(data, "first");
  capsid__free(data);
  assert_int_equal(capsid__file_read(path, 4, &data, &len, &os_error),
                   CAPSID_ETOOLONG);
  assert_null(data);

  /* A reader that holds the file for a moment (a scanner, another
   * capsid's read) delays the replacement, it does not fail it. */
  MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, MAX_PATH);
  reader = CreateFileW(wpath, GENERIC_READ,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       NULL, OPEN_EXISTING, 0, NULL);
  assert_true(reader != INVALID_HANDLE_VALUE);
  closer = CreateThread(NULL, 0, close_later, reader, 0, NULL);
  assert_non_null(closer);
  assert_int_equal(capsid__file_write_atomic(path, "second!", 7, 0644,
                                             &os_error), 0);
  assert_int_equal(WaitForSingleObject(closer, 10000), WAIT_OBJECT_0);
  CloseHandle(closer);
  assert_int_equal(capsid__file_read(path, 100, &data, &len, &os_error), 0);
  assert_string_equal(data, "second!");
  capsid__free(data);
  assert_false(has_file(wt_state_dir, "state.txt.tmp"));
  DeleteFileW(wpath);
  capsid__free(path);
}


typedef struct {
  const char* path;
  volatile LONG got;
} locker_t;

static DWORD WINAPI lock_cb(void* arg) {
  locker_t* l = arg;
  intptr_t h;
  int os_error = 0;

  if (capsid__file_lock(l->path, &h, &os_error) != 0)
    return 1;
  InterlockedExchange(&l->got, 1);
  capsid__file_unlock(h);
  return 0;
}


/* The lock is exclusive and waits: a second taker gets it only once the
 * first lets go (what serialises capsid processes on the store). */
static void test_file_lock(void** state) {
  char* path = capsid__sprintf("%s/test.lock", wt_state_dir);
  locker_t l;
  intptr_t h;
  HANDLE t;
  int os_error = 0;
  DWORD code = 99;

  (void)state;
  assert_int_equal(capsid__file_lock(path, &h, &os_error), 0);
  l.path = path;
  l.got = 0;
  t = CreateThread(NULL, 0, lock_cb, &l, 0, NULL);
  assert_non_null(t);
  assert_int_equal(WaitForSingleObject(t, 300), WAIT_TIMEOUT);
  assert_int_equal(l.got, 0);
  capsid__file_unlock(h);
  assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
  GetExitCodeThread(t, &code);
  CloseHandle(t);
  assert_int_equal(code, 0);
  assert_int_equal(l.got, 1);
  capsid__free(path);
}


/* Windows variable names have no case: a job's "path=" replaces the
 * inherited "Path" (one entry, not two), and PATH finds it. */
static void test_env_names_any_case(void** state) {
  const char* vars[] = {"path=C:/capsid-wt-bin", "Temp=C:/capsid-wt-tmp",
                        NULL};
  capsid__strv_t env;
  size_t i, n_path = 0, bad = 0;

  (void)state;
  assert_int_equal(_putenv_s("Path", "C:/windows/system32"), 0);
  assert_int_equal(capsid__env_build(CAPSID_ENV_INHERIT, vars, &env, &bad),
                   0);
  for (i = 0; i < env.n; i++)
    if (_strnicmp(env.v[i], "PATH=", 5) == 0)
      n_path++;
  assert_int_equal(n_path, 1);
  assert_string_equal(capsid__env_get(&env, "PATH"), "C:/capsid-wt-bin");
  assert_string_equal(capsid__env_get(&env, "TEMP"), "C:/capsid-wt-tmp");
  assert_int_equal(capsid__env_set(&env, "PaTh", "C:/other"), 0);
  assert_string_equal(capsid__env_get(&env, "Path"), "C:/other");
  /* Only the case folds: PATHX is another variable. */
  assert_null(capsid__env_get(&env, "PATHX"));
  capsid__strv_free(&env);
}


/* What Windows and installed programs own is never a writable root:
 * the drive root, %SystemRoot% (and a directory inside it), Program
 * Files, ProgramData; each refused naming its field. Control: a temp
 * directory of the test's. */
static void test_system_trees_refused(void** state) {
  const char* cases[][2] = {
      {"C:\\", "whole filesystem"},
      {"%SystemRoot%", "system directory"},
      {"%SystemRoot%\\system32", "system directory"},
      {"%ProgramFiles%", "system directory"},
      {"%ProgramData%", "system directory"},
  };
  char path[MAX_PATH];
  capsid__policy_t p;
  capsid__resolve_in_t in;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  char* ws = wt_mkdtemp();
  size_t i;

  (void)state;
  assert_int_equal(capsid__policy_parse("workspace-write", &p, &err), 0);
  for (i = 0; i < CAPSID__ARRAY_SIZE(cases); i++) {
    assert_true(ExpandEnvironmentStringsA(cases[i][0], path, MAX_PATH) > 0);
    memset(&in, 0, sizeof(in));
    in.cwd = path;
    in.network = -1;
    assert_int_equal(capsid__sandbox_resolve(&p, &in, &sb, &err),
                     CAPSID_EPOLICY);
    assert_string_equal(err.field, "cwd");
    if (strstr(err.message, cases[i][1]) == NULL)
      fail_msg("%s: %s", path, err.message);
    capsid__error_free(&err);
  }
  memset(&in, 0, sizeof(in));
  in.cwd = ws;
  in.network = -1;
  assert_int_equal(capsid__sandbox_resolve(&p, &in, &sb, &err), 0);
  capsid__sandbox_free(&sb);
  capsid__policy_free(&p);
  wt_rmtree(ws);
  capsid__free(ws);
}


/* workspace-write grants the job's %TMP% / %TEMP% (Windows' /tmp), once
 * when both name one directory, never C:\tmp, and nothing of it with
 * exclude_tmpdir_env_var. */
static void test_temp_is_writable_root(void** state) {
  capsid__policy_t p;
  capsid__resolve_in_t in;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  char* ws = wt_mkdtemp();
  char* tmp = wt_mkdtemp();
  char *ws_canon, *tmp_canon;
  int os_error = 0, made_c_tmp;

  (void)state;
  made_c_tmp = CreateDirectoryA("C:\\tmp", NULL);
  assert_int_equal(capsid__path_canonical(NULL, ws, &ws_canon, &os_error), 0);
  assert_int_equal(capsid__path_canonical(NULL, tmp, &tmp_canon, &os_error),
                   0);
  memset(&in, 0, sizeof(in));
  in.cwd = ws;
  in.network = -1;
  in.tmpdirs[0] = tmp; /* TMP */
  in.tmpdirs[1] = tmp; /* TEMP */
  assert_int_equal(capsid__policy_parse("workspace-write", &p, &err), 0);
  assert_int_equal(capsid__sandbox_resolve(&p, &in, &sb, &err), 0);
  assert_int_equal(sb.writable.n, 2);
  assert_int_equal(sb.first_tmp, 1);
  assert_string_equal(sb.writable.v[0], ws_canon);
  assert_string_equal(sb.writable.v[1], tmp_canon);
  {
    /* The job's plan: the workspace walked, the temp dir granted on the
     * directory alone (its old contents may not be the user's to
     * re-ACL). */
    capsid__prep_t* prep = NULL;
    size_t i;
    int saw_ws = 0, saw_tmp = 0;

    assert_int_equal(capsid__win_plan_build(&sb, CAPSID_MODE_UNPRIVILEGED,
                                            &prep, &err), 0);
    for (i = 0; i < prep->acl.n_targets; i++) {
      const capsid__acl_target_t* t = &prep->acl.targets[i];
      if (t->kind != CAPSID__ACL_T_WRITE)
        continue;
      if (strcmp(t->path, ws_canon) == 0)
        saw_ws = t->recursive ? 1 : -1;
      if (strcmp(t->path, tmp_canon) == 0)
        saw_tmp = t->recursive ? -1 : 1;
    }
    assert_int_equal(saw_ws, 1);
    assert_int_equal(saw_tmp, 1);
    capsid__prep_free(prep);
  }
  capsid__sandbox_free(&sb);
  capsid__policy_free(&p);

  assert_int_equal(capsid__policy_parse("{\"type\":\"workspace-write\","
                                        "\"exclude_tmpdir_env_var\":true}",
                                        &p, &err), 0);
  assert_int_equal(capsid__sandbox_resolve(&p, &in, &sb, &err), 0);
  assert_int_equal(sb.writable.n, 1);
  assert_string_equal(sb.writable.v[0], ws_canon);
  capsid__sandbox_free(&sb);
  capsid__policy_free(&p);

  if (made_c_tmp)
    RemoveDirectoryA("C:\\tmp");
  capsid__free(ws_canon);
  capsid__free(tmp_canon);
  wt_rmtree(ws);
  wt_rmtree(tmp);
  capsid__free(ws);
  capsid__free(tmp);
}


static void test_path_canonical(void** state) {
  char* dir = wt_mkdtemp();
  char *sub, *canon, *other, *lax, *spelled;
  int os_error = 0;
  char* c;

  (void)state;
  assert_non_null(dir);
  sub = capsid__sprintf("%s/CaseDir", dir);
  assert_true(CreateDirectoryA(sub, NULL));
  assert_int_equal(capsid__path_canonical(NULL, sub, &canon, &os_error), 0);
  /* '/'-separated, drive letter upper case, no trailing slash. */
  assert_null(strchr(canon, '\\'));
  assert_true(canon[1] == ':' && canon[0] >= 'A' && canon[0] <= 'Z');
  assert_int_not_equal(canon[strlen(canon) - 1], '/');

  /* Another spelling of the same directory: backslashes, ".", trailing
   * separator, relative to a base. */
  spelled = capsid__sprintf("%s\\.\\CaseDir\\", dir);
  for (c = spelled; *c != '\0'; c++)
    if (*c == '/')
      *c = '\\';
  assert_int_equal(capsid__path_canonical(NULL, spelled, &other, &os_error),
                   0);
  assert_string_equal(canon, other);
  capsid__free(other);
  assert_int_equal(capsid__path_canonical(dir, "CaseDir", &other, &os_error),
                   0);
  assert_string_equal(canon, other);
  capsid__free(other);

  /* Missing tails: appended to the canonical prefix; never "..". */
  assert_int_equal(capsid__path_canonical(dir, "missing", &other, &os_error),
                   CAPSID_ENOENT);
  assert_int_equal(capsid__path_canonical_lax(sub, "new/deeper", &lax,
                                              &os_error), 0);
  other = capsid__sprintf("%s/new/deeper", canon);
  assert_string_equal(lax, other);
  capsid__free(other);
  capsid__free(lax);
  assert_int_equal(capsid__path_canonical_lax(sub, "new/../../x", &lax,
                                              &os_error), CAPSID_EINVAL);
  /* What the store and the ACL records accept as absolute: the canonical
   * spellings only ("/x" is relative to the current drive here). */
  assert_true(capsid__path_is_absolute(canon));
  assert_true(capsid__path_is_absolute("//server/share/x"));
  assert_false(capsid__path_is_absolute("/x"));
  assert_false(capsid__path_is_absolute("C:x"));
  /* The root the ACL plan's traverse targets start from: "C:/", never
   * "/" or "C:" (which name the current drive and its cwd). */
  assert_int_equal(capsid__path_root_len("C:/ws/sub"), 3);
  assert_int_equal(capsid__path_root_len("c:/"), 3);
  assert_int_equal(capsid__path_root_len("//server/share/x"), 15);
  assert_int_equal(capsid__path_root_len("//server/share"), 14);
  assert_int_equal(capsid__path_root_len("/x"), 0);
  assert_int_equal(capsid__path_is_dir(canon, &os_error), 1);
  assert_true(capsid__path_exists(canon));
  assert_true(capsid__path_is_within(other = capsid__sprintf("%s/a", canon),
                                     canon));
  capsid__free(other);

  capsid__free(spelled);
  capsid__free(canon);
  capsid__free(sub);
  wt_rmtree(dir);
  capsid__free(dir);
}


/* The program search passes over App Execution Aliases (Wine has no
 * reparse points, so the decision is tested on its own): the tag alone
 * decides anywhere, any reparse point in a WindowsApps directory is one,
 * and plain files, symlinked programs elsewhere and directories are what
 * they look like. */
static void test_resolve_skips_app_exec_alias(void** state) {
  const DWORD rp = FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_ARCHIVE;
  const char* alias =
      "C:/Users/u/AppData/Local/Microsoft/WindowsApps/python.exe";

  (void)state;
  assert_non_null(capsid__resolve_skip(alias, rp, IO_REPARSE_TAG_APPEXECLINK));
  assert_non_null(strstr(capsid__resolve_skip(alias, rp,
                                              IO_REPARSE_TAG_APPEXECLINK),
                         "App Execution Alias"));
  /* The tag decides outside WindowsApps too. */
  assert_non_null(capsid__resolve_skip("D:/tools/pwsh.exe", rp,
                                       IO_REPARSE_TAG_APPEXECLINK));
  /* In WindowsApps any reparse point is an alias, any case, either
   * separator. */
  assert_non_null(capsid__resolve_skip(
      "C:\\Users\\u\\AppData\\Local\\Microsoft\\WINDOWSAPPS\\winget.exe",
      rp, 0));
  /* Controls: a real program in WindowsApps (no reparse point), a
   * symbolic link elsewhere, a plain file. */
  assert_null(capsid__resolve_skip(alias, FILE_ATTRIBUTE_ARCHIVE, 0));
  assert_null(capsid__resolve_skip("C:/tools/python.exe", rp,
                                   IO_REPARSE_TAG_SYMLINK));
  assert_null(capsid__resolve_skip("C:/NotWindowsApps/x.exe", rp,
                                   IO_REPARSE_TAG_SYMLINK));
  assert_null(capsid__resolve_skip("C:/Python312/python.exe",
                                   FILE_ATTRIBUTE_NORMAL, 0));
  assert_non_null(capsid__resolve_skip("C:/tools/git.exe",
                                       FILE_ATTRIBUTE_DIRECTORY, 0));
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sid_domain),
      cmocka_unit_test(test_capstore_round_trip),
      cmocka_unit_test(test_capstore_concurrent),
      cmocka_unit_test(test_capstore_corrupt),
      cmocka_unit_test(test_acl_has),
      cmocka_unit_test(test_acl_strip),
      cmocka_unit_test(test_file_read_write),
      cmocka_unit_test(test_file_lock),
      cmocka_unit_test(test_env_names_any_case),
      cmocka_unit_test(test_temp_is_writable_root),
      cmocka_unit_test(test_system_trees_refused),
      cmocka_unit_test(test_path_canonical),
      cmocka_unit_test(test_resolve_skips_app_exec_alias),
  };

  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  return cmocka_run_group_tests(tests, wt_state_setup, wt_state_teardown);
}
