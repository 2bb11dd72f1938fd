/* Elevated mode's set-up pieces: what Wine can honestly check.
 *
 * Wine runs DPAPI for real, so the secret round trip is checked
 * everywhere. Wine's NetUserAdd keeps accounts in the calling process
 * only (LookupAccountNameW does not find them), Wine stores no ACE for a
 * capability SID, and its firewall objects keep no rules: under Wine these
 * tests check that capsid notices and fails closed, naming what did not
 * take effect. The successful path needs a real Windows run as an
 * administrator: there the tests check it (and clean up), and otherwise
 * they are skipped, never counted as passed. */
#include "wintest-util.h"

#include "helper-win.h"
#include "net.h"
#include "users-win.h"

#include <windows.h>
#include <shlobj.h>

#include <stdio.h>
#include <string.h>

static void no_report(void* data, const char* feature, int ok,
                      const char* detail) {
  (void)data;
  print_message("  %s %s: %s\n", ok ? "ok" : "--", feature, detail);
}


/* The passwords reach the disk only DPAPI-protected, and come back
 * intact; a damaged secret is refused, not half-decoded. */
static void test_dpapi_round_trip(void** state) {
  const WCHAR pw[] = L"Zq2#secret-password-1234";
  char* hex = NULL;
  void* back = NULL;
  size_t len = 0;
  char* plain_hex;
  size_t i;

  (void)state;
  assert_int_equal(capsid__secret_protect(pw, sizeof(pw) - 2, &hex), 0);
  assert_non_null(hex);
  /* Not the password in another spelling: its hex is nowhere in it. */
  plain_hex = capsid__malloc(sizeof(pw) * 2 + 1);
  for (i = 0; i < sizeof(pw) - 2; i++)
    snprintf(plain_hex + 2 * i, 3, "%02x", ((const BYTE*)pw)[i]);
  assert_null(strstr(hex, plain_hex));
  capsid__free(plain_hex);
  assert_int_equal(capsid__secret_unprotect(hex, &back, &len), 0);
  assert_int_equal(len, sizeof(pw) - 2);
  assert_memory_equal(back, pw, len);
  capsid__free(back);
  /* Flip one byte of the ciphertext's tail (its MAC covers it). */
  hex[strlen(hex) - 3] = hex[strlen(hex) - 3] == '0' ? '1' : '0';
  assert_int_equal(capsid__secret_unprotect(hex, &back, &len),
                   CAPSID_ECORRUPT);
  assert_int_equal(capsid__secret_unprotect("abc", &back, &len),
                   CAPSID_ECORRUPT);
  capsid__free(hex);
}


/* setup's sandbox users: on Windows as an administrator they exist
 * afterwards with SIDs, their password unprotects, and uninstall removes
 * them. Under Wine the accounts never become visible to
 * LookupAccountNameW, and setup must fail naming the account, not report
 * success. */
/* The logon-screen entry: written as a DWORD 0, read back, removed and
 * gone (Wine keeps HKLM in its prefix; the test runs as an
 * administrator there). Removing an entry that is not there is fine. */
static void test_users_hidden(void** state) {
  const WCHAR* key = L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\"
                     L"Winlogon\\SpecialAccounts\\UserList";
  DWORD value = 1, size = sizeof(value);

  (void)state;
  if (!IsUserAnAdmin()) {
    print_message("skipped: the logon screen's list needs an administrator\n");
    skip();
  }
  assert_int_equal(capsid__users_hide("CapsidTestHidden", 1), 0);
  assert_int_equal(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"CapsidTestHidden",
                                RRF_RT_REG_DWORD, NULL, &value, &size),
                   ERROR_SUCCESS);
  assert_int_equal(value, 0);
  assert_int_equal(capsid__users_hide("CapsidTestHidden", 0), 0);
  assert_int_equal(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"CapsidTestHidden",
                                RRF_RT_REG_DWORD, NULL, &value, &size),
                   ERROR_FILE_NOT_FOUND);
  assert_int_equal(capsid__users_hide("CapsidTestHidden", 0), 0);
}


static void test_users_setup(void** state) {
  capsid_error_t err = {0};
  char sid[CAPSID__SID_MAX];
  WCHAR* pw = NULL;
  int rc;

  (void)state;
  if (wt_enforcing() && !IsUserAnAdmin()) {
    skip(); /* needs an administrator on real Windows */
    return;
  }
  rc = capsid__users_setup(no_report, NULL, &err);
  if (!wt_enforcing()) {
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_non_null(strstr(err.message, "CapsidOffline"));
    assert_non_null(strstr(err.message, "SID"));
    capsid__error_free(&err);
    assert_int_equal(capsid__users_password(1, &pw, &err), CAPSID_ENOSETUP);
    capsid__error_free(&err);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(capsid__users_probe(sid), 2);
    assert_memory_equal(sid, "S-1-5-21-", 9);
    assert_int_equal(capsid__users_password(1, &pw, &err), 0);
    assert_int_equal(wcslen(pw), 24);
    SecureZeroMemory(pw, 48);
    capsid__free(pw);
  }
  assert_int_equal(capsid__users_uninstall(no_report, NULL), 0);
  assert_int_equal(capsid__users_probe(sid), 0);
}


/* Firewall rules scoped to a SID: read back as planned on Windows (as an
 * administrator); elsewhere setup must fail, never claim a blocked
 * network. Uninstall leaves no rule either way. */
static void test_firewall_rules(void** state) {
  capsid_error_t err = {0};
  char sid[CAPSID__SID_MAX], why[256];
  int rc;

  (void)state;
  if (wt_enforcing() && !IsUserAnAdmin()) {
    skip(); /* needs an administrator on real Windows */
    return;
  }
  assert_int_equal(wt_random_sid(sid), 0);
  rc = capsid__firewall_setup(sid, no_report, NULL, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
    assert_true(capsid__firewall_probe(sid, why, sizeof(why)));
  } else {
    print_message("firewall under Wine: %s\n", err.message);
    assert_true(rc == CAPSID_ECONFINE || rc == CAPSID_EVERIFY);
    assert_int_equal(err.stage, CAPSID_STAGE_NETNS);
    assert_non_null(strstr(err.message, "firewall"));
    assert_false(capsid__firewall_probe(sid, why, sizeof(why)));
  }
  capsid__error_free(&err);
  assert_int_equal(capsid__firewall_uninstall(no_report, NULL), 0);
  assert_false(capsid__firewall_probe(sid, why, sizeof(why)));
}


typedef struct {
  const char* root;
  const char* sid;
  int rc;
} helper_run_t;

static DWORD WINAPI helper_thread(void* arg) {
  helper_run_t* h = arg;
  capsid_error_t err = {0};

  h->rc = capsid__read_helper_run(&h->root, 1, h->sid, &err);
  capsid__error_free(&err);
  return 0;
}


/* The read-ACL helper runs once at a time (its named mutex), grants the
 * group read on the roots and reads the DACL back: under Wine, which
 * stores no such ACE, it must say the grant did not take effect. */
static void test_read_helper(void** state) {
  capsid_error_t err = {0};
  helper_run_t h;
  char sid[CAPSID__SID_MAX];
  char* root = wt_mkdtemp();
  HANDLE m, t;
  int abandoned, rc;

  (void)state;
  assert_int_equal(wt_random_sid(sid), 0);
  h.root = root;
  h.sid = sid;
  h.rc = 99;
  assert_int_equal(capsid__mutex_try(CAPSID__HELPER_MUTEX, &m, &abandoned,
                                     &err), 0);
  t = CreateThread(NULL, 0, helper_thread, &h, 0, NULL);
  assert_non_null(t);
  assert_int_equal(WaitForSingleObject(t, 30000), WAIT_OBJECT_0);
  CloseHandle(t);
  assert_int_equal(h.rc, CAPSID_EBUSY);
  capsid__mutex_release(m);

  rc = capsid__read_helper_run(&h.root, 1, sid, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
  } else {
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_non_null(strstr(err.message, "allow-read"));
    assert_non_null(strstr(err.message, sid));
  }
  capsid__error_free(&err);
  /* The helper let the mutex go, whatever the outcome. */
  assert_int_equal(capsid__mutex_try(CAPSID__HELPER_MUTEX, &m, &abandoned,
                                     &err), 0);
  assert_false(abandoned);
  capsid__mutex_release(m);
  wt_rmtree(root);
  capsid__free(root);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dpapi_round_trip),
      cmocka_unit_test(test_users_hidden),
      cmocka_unit_test(test_users_setup),
      cmocka_unit_test(test_firewall_rules),
      cmocka_unit_test(test_read_helper),
  };

  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  return cmocka_run_group_tests(tests, wt_state_setup, wt_state_teardown);
}
