#include "wintest-util.h"

#include "capstore-win.h"
#include "path.h"
#include "verify-win.h"
#include "win-dacl.h"

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <shellapi.h>

#include <stdio.h>
#include <string.h>

char* wt_beside(const char* name) {
  char self[MAX_PATH + 1];
  DWORD n = GetModuleFileNameA(NULL, self, MAX_PATH);
  char* slash;

  self[n] = '\0';
  slash = strrchr(self, '\\');
  if (slash == NULL)
    slash = strrchr(self, '/');
  if (slash != NULL)
    slash[1] = '\0';
  else
    self[0] = '\0';
  return capsid__sprintf("%s%s", self, name);
}


const char* wt_child(void) {
  static char* path;

  if (path == NULL)
    path = wt_beside("win-child.exe");
  return path;
}


char* wt_mkdtemp(void) {
  static LONG counter;
  char base[MAX_PATH];
  char* dir;
  char* c;

  GetTempPathA(MAX_PATH, base);
  /* Wine reuses process ids quickly: retry past names left by a crash. */
  for (;;) {
    dir = capsid__sprintf("%scapsid-wt-%lu-%ld", base, GetCurrentProcessId(),
                          InterlockedIncrement(&counter));
    if (dir == NULL)
      return NULL;
    if (CreateDirectoryA(dir, NULL))
      break;
    capsid__free(dir);
    if (GetLastError() != ERROR_ALREADY_EXISTS || counter > 1000)
      return NULL;
  }
  for (c = dir; *c != '\0'; c++)
    if (*c == '\\')
      *c = '/';
  return dir;
}


void wt_rmtree(const char* path) {
  SHFILEOPSTRUCTA op;
  char* from = capsid__sprintf("%s%c", path, '\0');
  char* c;

  if (from == NULL)
    return;
  for (c = from; *c != '\0'; c++)
    if (*c == '/')
      *c = '\\';
  memset(&op, 0, sizeof(op));
  op.wFunc = FO_DELETE;
  op.pFrom = from;
  op.fFlags = FOF_NO_UI;
  SHFileOperationA(&op);
  capsid__free(from);
}


int wt_enforcing(void) {
  static int known = -1;
  SID_AND_ATTRIBUTES sa;
  HANDLE self, tok;
  PSID sid;

  if (known >= 0)
    return known;
  known = 0;
  if (!ConvertStringSidToSidA("S-1-5-21-1-2-3-4", &sid))
    return known;
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_ALL_ACCESS, &self)) {
    sa.Sid = sid;
    sa.Attributes = 0;
    if (CreateRestrictedToken(self, 0, 0, NULL, 0, NULL, 1, &sa, &tok)) {
      known = IsTokenRestricted(tok) ? 1 : 0;
      CloseHandle(tok);
    }
    CloseHandle(self);
  }
  LocalFree(sid);
  return known;
}


int wt_random_sid(char* out) {
  char domain[CAPSID__SID_DOMAIN_MAX];
  int rc = capsid__sid_domain_random(domain);

  if (rc == 0)
    capsid__sid_of(domain, 1000, out);
  return rc;
}


char* wt_state_dir;

int wt_state_setup(void** state) {
  (void)state;
  wt_state_dir = wt_mkdtemp();
  return wt_state_dir != NULL &&
                 _putenv_s("CAPSID_STATE_DIR", wt_state_dir) == 0
             ? 0
             : -1;
}


int wt_state_teardown(void** state) {
  (void)state;
  wt_rmtree(wt_state_dir);
  capsid__free(wt_state_dir);
  wt_state_dir = NULL;
  return 0;
}


char* wt_ws;

int wt_jobs_setup(void** state) {
  if (wt_state_setup(state) != 0 || (wt_ws = wt_mkdtemp()) == NULL)
    return -1;
  capsid__win_test_unverified_ok = 1;
  return 0;
}


int wt_jobs_teardown(void** state) {
  wt_rmtree(wt_ws);
  capsid__free(wt_ws);
  wt_ws = NULL;
  return wt_state_teardown(state);
}


int wt_process_gone(unsigned long pid) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  DWORD w;

  if (h == NULL)
    return 1;
  /* Killed by the job object: wait for the kernel to finish with it. */
  w = WaitForSingleObject(h, 10000);
  CloseHandle(h);
  return w == WAIT_OBJECT_0;
}


void wt_expect_tree_killed(const capsid_result_t* r, const char* pidfile) {
  unsigned long pid = 0;
  FILE* f;

  assert_true(r->timed_out);
  assert_int_equal(r->exit_code, -1);
  assert_int_equal(r->signal, 9);
  assert_non_null(strstr(r->out.data, "started"));
  f = fopen(pidfile, "r");
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%lu", &pid), 1);
  fclose(f);
  assert_true(pid != 0);
  assert_true(wt_process_gone(pid));
}


unsigned wt_count_handles(void) {
  unsigned n = 0;
  uintptr_t v;
  DWORD flags;

  /* Asks the handle table about every slot (GetProcessHandleCount is a
   * stub answering 0 under Wine). A test process holds well under a
   * hundred handles, so their values stay far below the bound; each probe
   * is a wineserver call, hence no larger one. */
  for (v = 4; v < 0x8000; v += 4)
    if (GetHandleInformation((HANDLE)v, &flags))
      n++;
  return n;
}


void wt_expect_no_handle_leak(wt_run_fn run, int rounds, int vary_memory) {
  const char* echo[] = {wt_child(), "echo", "x", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  unsigned before, after;
  int i;

  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  /* Warm-up: libuv's and the system's one-time handles. */
  run(echo, &spec, &r);
  capsid_result_free(&r);
  before = wt_count_handles();
  assert_true(before > 0);
  for (i = 0; i < rounds; i++) {
    spec.memory_limit = vary_memory && i % 2 ? (uint64_t)512 << 20 : 0;
    run(echo, &spec, &r);
    assert_string_equal(r.out.data, "x\n");
    assert_false(r.oom);
    capsid_result_free(&r);
  }
  after = wt_count_handles();
  /* A leak of one handle per job shows as `rounds` more. */
  if (after > before + 5)
    print_message("open handles: %u before, %u after %d jobs\n", before,
                  after, rounds);
  assert_true(after <= before + 5);
}


void wt_add_ace(ACL* acl, const char* sid_text, DWORD mask, BYTE flags,
                int deny) {
  PSID sid;

  assert_true(ConvertStringSidToSidA(sid_text, &sid));
  if (deny)
    assert_true(AddAccessDeniedAceEx(acl, ACL_REVISION, flags, mask, sid));
  else
    assert_true(AddAccessAllowedAceEx(acl, ACL_REVISION, flags, mask, sid));
  LocalFree(sid);
}


void wt_expect_ace(ACL* acl, DWORD i, BYTE type, BYTE flags, DWORD mask,
                   const char* sid_text) {
  ACCESS_ALLOWED_ACE* ace;
  char* text;

  assert_true(GetAce(acl, i, (void**)&ace));
  assert_int_equal(ace->Header.AceType, type);
  assert_int_equal(ace->Header.AceFlags, flags);
  assert_int_equal(ace->Mask, mask);
  assert_true(ConvertSidToStringSidA((PSID)&ace->SidStart, &text));
  assert_string_equal(text, sid_text);
  LocalFree(text);
}


int wt_has_ace(const char* path, const char* sid_text, BYTE type) {
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  int found;

  if (GetNamedSecurityInfoA(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                            NULL, NULL, &dacl, NULL, &sd) != ERROR_SUCCESS)
    return 0;
  found = capsid__dacl_has(dacl, sid_text, type);
  LocalFree(sd);
  return found;
}


char* wt_canonical(const char* path) {
  char* out = NULL;
  int os_error = 0;

  assert_int_equal(capsid__path_canonical(NULL, path, &out, &os_error), 0);
  return out;
}
