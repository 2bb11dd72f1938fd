/* Pure pieces of the Windows backend that Wine runs honestly: SID
 * generation, the capability store, DACL construction, path
 * canonicalisation. */
#include "wintest-util.h"

#include "capsid-win.h"
#include "policy.h"

#include <windows.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_sid_random(void** state) {
  char a[CAPSID__SID_MAX], b[CAPSID__SID_MAX];
  unsigned long v[4];
  PSID sid;
  char tail;

  (void)state;
  assert_int_equal(capsid__sid_random(a), 0);
  assert_int_equal(capsid__sid_random(b), 0);
  assert_string_not_equal(a, b);
  assert_int_equal(sscanf(a, "S-1-5-21-%lu-%lu-%lu-%lu%c", &v[0], &v[1],
                          &v[2], &v[3], &tail), 4);
  assert_true(ConvertStringSidToSidA(a, &sid));
  assert_int_equal(*GetSidSubAuthorityCount(sid), 5);
  LocalFree(sid);
}


static char* store_dir;

static int store_setup(void** state) {
  (void)state;
  store_dir = wt_mkdtemp();
  if (store_dir == NULL)
    return -1;
  return _putenv_s("CAPSID_STATE_DIR", store_dir) == 0 ? 0 : -1;
}


static int store_teardown(void** state) {
  (void)state;
  wt_rmtree(store_dir);
  capsid__free(store_dir);
  return 0;
}


static void test_capstore_round_trip(void** state) {
  char ws1[CAPSID__SID_MAX], ws1b[CAPSID__SID_MAX], ws2[CAPSID__SID_MAX];
  char gen[CAPSID__SID_MAX], gen2[CAPSID__SID_MAX], ro[CAPSID__SID_MAX];
  capsid_error_t err = {0};
  char* path;
  char* text;
  char* c;
  int lines = 0;
  FILE* f;
  long n;

  (void)state;
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_WORKSPACE, "C:/Work/ws1",
                                        ws1, &err), 0);
  /* One identity per workspace, however the path is spelled in case. */
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_WORKSPACE, "c:/WORK/Ws1",
                                        ws1b, &err), 0);
  assert_string_equal(ws1, ws1b);
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_WORKSPACE, "C:/Work/ws2",
                                        ws2, &err), 0);
  assert_string_not_equal(ws1, ws2);
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_GENERIC, NULL, gen, &err),
                   0);
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_GENERIC, NULL, gen2,
                                        &err), 0);
  assert_string_equal(gen, gen2);
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_READONLY, NULL, ro, &err),
                   0);
  assert_string_not_equal(ro, gen);
  assert_string_not_equal(ro, ws1);

  /* Persisted: header plus one line per identity, no temp file left. */
  path = capsid__capstore_path();
  f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  text = calloc(1, (size_t)n + 1);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  for (c = text; *c != '\0'; c++)
    lines += *c == '\n';
  assert_int_equal(lines, 5);
  assert_non_null(strstr(text, ws1));
  assert_non_null(strstr(text, ws2));
  free(text);
  text = capsid__sprintf("%s.tmp", path);
  assert_int_equal(GetFileAttributesA(text), INVALID_FILE_ATTRIBUTES);
  capsid__free(text);
  capsid__free(path);
}


static void test_capstore_corrupt(void** state) {
  char sid[CAPSID__SID_MAX];
  capsid_error_t err = {0};
  char* path = capsid__capstore_path();
  FILE* f;

  (void)state;
  f = fopen(path, "wb");
  assert_non_null(f);
  fputs("capsid-capsids v1\nworkspace\tC:/X\tS-1-5-21-1-2-3-4\ngarbage\n", f);
  fclose(f);
  /* A damaged store is an error, never a silent fresh identity. */
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_WORKSPACE, "C:/Y", sid,
                                        &err), CAPSID_ECORRUPT);
  assert_int_equal(err.stage, CAPSID_STAGE_CAPABILITY);
  assert_non_null(strstr(err.message, ":3: malformed entry"));
  capsid__error_free(&err);

  /* A valid entry is still found, and a bad SID in it is reported. */
  f = fopen(path, "wb");
  fputs("capsid-capsids v1\nworkspace\tC:/X\tS-1-5-21-1-2-3-4\n"
        "workspace\tC:/Z\tS-1-5-21-oops\n", f);
  fclose(f);
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_WORKSPACE, "C:/X", sid,
                                        &err), 0);
  assert_string_equal(sid, "S-1-5-21-1-2-3-4");
  assert_int_equal(capsid__capstore_get(CAPSID__CAP_WORKSPACE, "C:/Z", sid,
                                        &err), CAPSID_ECORRUPT);
  assert_non_null(strstr(err.message, ":3: invalid SID"));
  capsid__error_free(&err);
  DeleteFileA(path);
  capsid__free(path);
}


typedef struct {
  char sid[CAPSID__SID_MAX];
  int rc;
} racer_t;

static DWORD WINAPI race_cb(void* arg) {
  racer_t* r = arg;
  capsid_error_t err = {0};

  r->rc = capsid__capstore_get(CAPSID__CAP_WORKSPACE, "D:/Race/ws", r->sid,
                               &err);
  capsid__error_free(&err);
  return 0;
}


/* Two capsid processes (here: threads) meeting a new workspace at once
 * must agree on one SID: the store is updated under a named mutex. */
static void test_capstore_concurrent(void** state) {
  racer_t racers[6];
  HANDLE threads[6];
  int i;

  (void)state;
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
}


static void add_old_ace(ACL* acl, const char* sid_text, DWORD mask,
                        BYTE flags, int deny) {
  PSID sid;

  assert_true(ConvertStringSidToSidA(sid_text, &sid));
  if (deny)
    assert_true(AddAccessDeniedAceEx(acl, ACL_REVISION, flags, mask, sid));
  else
    assert_true(AddAccessAllowedAceEx(acl, ACL_REVISION, flags, mask, sid));
  LocalFree(sid);
}


static void expect_ace(ACL* acl, DWORD i, BYTE type, BYTE flags, DWORD mask,
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


static void test_acl_merge_canonical(void** state) {
  BYTE old_buf[1024];
  ACL* old = (ACL*)old_buf;
  ACL* merged;
  ACL* again;
  capsid__ace_plan_t plan[2];
  const BYTE oici = OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE;

  (void)state;
  assert_true(InitializeAcl(old, sizeof(old_buf), ACL_REVISION));
  /* An inherited allow first, then explicit ones out of order: the merge
   * must still produce explicit deny, explicit allow, inherited. */
  add_old_ace(old, "S-1-5-32-545", FILE_GENERIC_READ, INHERITED_ACE | oici, 0);
  add_old_ace(old, "S-1-1-0", FILE_GENERIC_READ, 0, 0);
  add_old_ace(old, "S-1-5-21-9-9-9-9", FILE_WRITE_DATA, 0, 1);

  memset(plan, 0, sizeof(plan));
  plan[0].path = "C:/ws";
  strcpy(plan[0].sid, "S-1-5-21-1-2-3-4");
  plan[1].path = "C:/ws";
  strcpy(plan[1].sid, "S-1-5-21-1-2-3-4");
  plan[1].deny = 1;
  assert_int_equal(capsid__acl_merge(old, plan, 2, &merged), 0);
  assert_int_equal(merged->AceCount, 5);
  expect_ace(merged, 0, ACCESS_DENIED_ACE_TYPE, oici, CAPSID__DENY_MASK,
             "S-1-5-21-1-2-3-4");
  expect_ace(merged, 1, ACCESS_DENIED_ACE_TYPE, 0, FILE_WRITE_DATA,
             "S-1-5-21-9-9-9-9");
  expect_ace(merged, 2, ACCESS_ALLOWED_ACE_TYPE, oici, CAPSID__ALLOW_MASK,
             "S-1-5-21-1-2-3-4");
  expect_ace(merged, 3, ACCESS_ALLOWED_ACE_TYPE, 0, FILE_GENERIC_READ,
             "S-1-1-0");
  expect_ace(merged, 4, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE | oici,
             FILE_GENERIC_READ, "S-1-5-32-545");
  assert_true(IsValidAcl(merged));
  assert_true(capsid__acl_has(merged, &plan[0]));
  assert_true(capsid__acl_has(merged, &plan[1]));
  assert_false(capsid__acl_has(old, &plan[0]));

  /* Merging what is already there adds nothing (the presence check). */
  assert_int_equal(capsid__acl_merge(merged, plan, 2, &again), 0);
  assert_int_equal(again->AceCount, 5);
  LocalFree(again);
  LocalFree(merged);

  /* An inherited copy of the wanted ACE does not count as present: only an
   * explicit ACE survives a change of the parent. */
  assert_true(InitializeAcl(old, sizeof(old_buf), ACL_REVISION));
  add_old_ace(old, "S-1-5-21-1-2-3-4", CAPSID__ALLOW_MASK,
              INHERITED_ACE | oici, 0);
  assert_false(capsid__acl_has(old, &plan[0]));
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


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sid_random),
      cmocka_unit_test(test_capstore_round_trip),
      cmocka_unit_test(test_capstore_concurrent),
      cmocka_unit_test(test_capstore_corrupt),
      cmocka_unit_test(test_acl_merge_canonical),
      cmocka_unit_test(test_path_canonical),
  };

  capsid_init();
  return cmocka_run_group_tests(tests, store_setup, store_teardown);
}
