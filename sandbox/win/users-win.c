/* The sandbox users of elevated mode: local accounts CapsidOffline and
 * CapsidOnline, members of the local group CapsidSandboxUsers, which read
 * grants name. Offline jobs run as CapsidOffline, whose network the
 * firewall blocks (firewall-win.c); online jobs as CapsidOnline.
 *
 * Each account gets a fresh random password at every setup (an existing
 * account is kept and its password reset, since the old one may be lost).
 * The password never reaches a file in clear: it is protected with DPAPI
 * (CryptProtectData, bound to the user who ran setup) and kept in
 * STATE/sandbox-users.json with the account's SID. Only that user can
 * unprotect it, which is what starting a job as the sandbox user needs. */
#include "users-win.h"

#include "env.h"
#include "file.h"
#include "win-util.h"

#include <bcrypt.h>
#include <dpapi.h>
#include <jansson.h>
#include <lm.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_LEN 24
#define SECRETS_FILE "sandbox-users.json"

const char* const capsid__sandbox_user_names[2] = {"CapsidOffline",
                                                   "CapsidOnline"};


/* 24 characters from a set with upper, lower, digits and symbols, so any
 * complexity policy is met; drawn from the system RNG. */
static int make_password(WCHAR out[PASSWORD_LEN + 1]) {
  static const char set[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
                            "23456789!#%+-.:=?@_";
  BYTE r[PASSWORD_LEN];
  int i;

  if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, r, sizeof(r),
                                      BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
    return CAPSID_EIO;
  for (i = 0; i < PASSWORD_LEN; i++)
    out[i] = (WCHAR)set[r[i] % (sizeof(set) - 1)];
  /* One of each class in fixed places, whatever the draw was. */
  out[0] = L'A' + (WCHAR)(r[0] % 26);
  out[1] = L'a' + (WCHAR)(r[1] % 26);
  out[2] = L'2' + (WCHAR)(r[2] % 8);
  out[3] = L'#';
  out[PASSWORD_LEN] = 0;
  SecureZeroMemory(r, sizeof(r));
  return 0;
}


int capsid__secret_protect(const void* data, size_t len, char** hex) {
  DATA_BLOB in, out;
  char* h;
  DWORD i;

  *hex = NULL;
  in.pbData = (BYTE*)data;
  in.cbData = (DWORD)len;
  if (!CryptProtectData(&in, L"capsid sandbox user", NULL, NULL, NULL,
                        CRYPTPROTECT_UI_FORBIDDEN, &out))
    return CAPSID_EIO;
  h = capsid__malloc((size_t)out.cbData * 2 + 1);
  if (h == NULL) {
    LocalFree(out.pbData);
    return CAPSID_ENOMEM;
  }
  for (i = 0; i < out.cbData; i++)
    snprintf(h + 2 * i, 3, "%02x", out.pbData[i]);
  LocalFree(out.pbData);
  *hex = h;
  return 0;
}


int capsid__secret_unprotect(const char* hex, void** data, size_t* len) {
  DATA_BLOB in, out;
  size_t n = strlen(hex), i;
  BYTE* raw;

  *data = NULL;
  *len = 0;
  if (n == 0 || n % 2 != 0)
    return CAPSID_ECORRUPT;
  raw = capsid__malloc(n / 2);
  if (raw == NULL)
    return CAPSID_ENOMEM;
  for (i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
      capsid__free(raw);
      return CAPSID_ECORRUPT;
    }
    raw[i] = (BYTE)v;
  }
  in.pbData = raw;
  in.cbData = (DWORD)(n / 2);
  if (!CryptUnprotectData(&in, NULL, NULL, NULL, NULL,
                          CRYPTPROTECT_UI_FORBIDDEN, &out)) {
    capsid__free(raw);
    return CAPSID_ECORRUPT;
  }
  capsid__free(raw);
  *data = capsid__malloc(out.cbData + 2);
  if (*data != NULL) {
    memcpy(*data, out.pbData, out.cbData);
    memset((char*)*data + out.cbData, 0, 2);
    *len = out.cbData;
  }
  SecureZeroMemory(out.pbData, out.cbData);
  LocalFree(out.pbData);
  return *data != NULL ? 0 : CAPSID_ENOMEM;
}


int capsid__account_sid(const char* name, char out[CAPSID__SID_MAX]) {
  BYTE sid[SECURITY_MAX_SID_SIZE];
  WCHAR domain[256];
  DWORD sid_size = sizeof(sid), domain_len = 256;
  SID_NAME_USE use;
  WCHAR* wname = capsid__utf16(name);
  char* text = NULL;
  BOOL ok;

  out[0] = '\0';
  if (wname == NULL)
    return CAPSID_ENOMEM;
  ok = LookupAccountNameW(NULL, wname, sid, &sid_size, domain, &domain_len,
                          &use);
  capsid__free(wname);
  if (!ok)
    return capsid__translate_os_error((int)GetLastError());
  if (!ConvertSidToStringSidA(sid, &text))
    return CAPSID_ENOMEM;
  snprintf(out, CAPSID__SID_MAX, "%s", text);
  LocalFree(text);
  return 0;
}


static int net_error(capsid_error_t* err, NET_API_STATUS st,
                     const char* what, const char* name) {
  return capsid__error_set(err, st == ERROR_ACCESS_DENIED ? CAPSID_EPERM
                                                          : CAPSID_EIO,
                           CAPSID_STAGE_IDENTITY, (int)st, NULL, NULL,
                           "%s %s failed (error %lu)%s", what, name,
                           (unsigned long)st,
                           st == ERROR_ACCESS_DENIED
                               ? ": run capsid setup as an administrator"
                               : "");
}


/* Creates the account with the password, or resets the password of the
 * one that exists. */
static int ensure_user(const WCHAR* name, WCHAR* password, int* created,
                       capsid_error_t* err) {
  USER_INFO_1 ui;
  USER_INFO_1003 pw;
  NET_API_STATUS st;
  char* name8 = capsid__utf8(name);
  int rc = 0;

  memset(&ui, 0, sizeof(ui));
  ui.usri1_name = (WCHAR*)name;
  ui.usri1_password = password;
  ui.usri1_priv = USER_PRIV_USER;
  ui.usri1_comment = L"capsid sandbox user (managed by capsid setup)";
  ui.usri1_flags = UF_SCRIPT | UF_DONT_EXPIRE_PASSWD | UF_PASSWD_CANT_CHANGE;
  st = NetUserAdd(NULL, 1, (BYTE*)&ui, NULL);
  *created = st == NERR_Success;
  if (st == NERR_UserExists) {
    pw.usri1003_password = password;
    st = NetUserSetInfo(NULL, name, 1003, (BYTE*)&pw, NULL);
    if (st != NERR_Success)
      rc = net_error(err, st, "NetUserSetInfo", name8 ? name8 : "?");
  } else if (st != NERR_Success) {
    rc = net_error(err, st, "NetUserAdd", name8 ? name8 : "?");
  }
  capsid__free(name8);
  return rc;
}


static int ensure_group(capsid_error_t* err) {
  LOCALGROUP_INFO_1 gi;
  NET_API_STATUS st;

  gi.lgrpi1_name = CAPSID__SANDBOX_GROUP_W;
  gi.lgrpi1_comment = L"capsid sandbox users (managed by capsid setup)";
  st = NetLocalGroupAdd(NULL, 1, (BYTE*)&gi, NULL);
  if (st != NERR_Success && st != NERR_GroupExists &&
      st != ERROR_ALIAS_EXISTS)
    return net_error(err, st, "NetLocalGroupAdd", CAPSID__SANDBOX_GROUP);
  return 0;
}


static int add_member(const WCHAR* user, capsid_error_t* err) {
  LOCALGROUP_MEMBERS_INFO_3 m;
  NET_API_STATUS st;

  m.lgrmi3_domainandname = (WCHAR*)user;
  st = NetLocalGroupAddMembers(NULL, CAPSID__SANDBOX_GROUP_W, 3, (BYTE*)&m,
                               1);
  if (st != NERR_Success && st != ERROR_MEMBER_IN_ALIAS)
    return net_error(err, st, "NetLocalGroupAddMembers",
                     CAPSID__SANDBOX_GROUP);
  return 0;
}


#define USER_LIST_KEY                                                      \
  L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\"            \
  L"SpecialAccounts\\UserList"

int capsid__users_hide(const char* name, int hide) {
  WCHAR* w = capsid__utf16(name);
  DWORD zero = 0, value = 1, size = sizeof(value), type = 0;
  HKEY key = NULL;
  LONG e;
  int ok = 0;

  if (w == NULL)
    return -1;
  e = hide ? RegCreateKeyExW(HKEY_LOCAL_MACHINE, USER_LIST_KEY, 0, NULL, 0,
                             KEY_SET_VALUE | KEY_QUERY_VALUE, NULL, &key,
                             NULL)
           : RegOpenKeyExW(HKEY_LOCAL_MACHINE, USER_LIST_KEY, 0,
                           KEY_SET_VALUE | KEY_QUERY_VALUE, &key);
  if (e == ERROR_FILE_NOT_FOUND && !hide) {
    capsid__free(w);
    return 0; /* no list, nothing hidden */
  }
  if (e == ERROR_SUCCESS) {
    if (hide) {
      RegSetValueExW(key, w, 0, REG_DWORD, (const BYTE*)&zero, sizeof(zero));
      ok = RegQueryValueExW(key, w, NULL, &type, (BYTE*)&value, &size) ==
               ERROR_SUCCESS &&
           type == REG_DWORD && value == 0;
    } else {
      RegDeleteValueW(key, w);
      ok = RegQueryValueExW(key, w, NULL, NULL, NULL, NULL) ==
           ERROR_FILE_NOT_FOUND;
    }
    RegCloseKey(key);
  }
  capsid__free(w);
  return ok ? 0 : -1;
}


static char* secrets_path(void) {
  return capsid__sprintf("%s/%s", capsid__state_dir(), SECRETS_FILE);
}


int capsid__users_setup(capsid__report_cb cb, void* data,
                        capsid_error_t* err) {
  WCHAR password[PASSWORD_LEN + 1];
  char sid[CAPSID__SID_MAX];
  json_t* root = json_object();
  char* path = secrets_path();
  char* text = NULL;
  int rc, i, created, os_error = 0;

  if (root == NULL || path == NULL) {
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_IDENTITY, 0,
                           NULL, NULL, NULL);
    goto out;
  }
  rc = ensure_group(err);
  if (rc != 0)
    goto out;
  capsid__say(cb, data, "sandbox group", 1, "%s", CAPSID__SANDBOX_GROUP);
  for (i = 0; i < 2; i++) {
    const char* name = capsid__sandbox_user_names[i];
    WCHAR* wname = capsid__utf16(name);
    char* hex = NULL;
    json_t* u;

    rc = wname ? make_password(password) : CAPSID_ENOMEM;
    if (rc == 0)
      rc = ensure_user(wname, password, &created, err);
    if (rc == 0)
      rc = add_member(wname, err);
    capsid__free(wname);
    if (rc == 0 && capsid__account_sid(name, sid) != 0)
      rc = capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY,
                             (int)GetLastError(), NULL, NULL,
                             "the account %s was created but its SID "
                             "cannot be looked up", name);
    if (rc == 0 && capsid__secret_protect(password, wcslen(password) * 2,
                                          &hex) != 0)
      rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_IDENTITY,
                             (int)GetLastError(), NULL, NULL,
                             "CryptProtectData failed for %s", name);
    SecureZeroMemory(password, sizeof(password));
    if (rc != 0)
      goto out;
    u = json_object();
    json_object_set_new(u, "sid", json_string(sid));
    json_object_set_new(u, "password_dpapi", json_string(hex));
    json_object_set_new(root, name, u);
    capsid__free(hex);
    capsid__say(cb, data, "sandbox user", 1, "%s %s (%s), in %s", name,
                created ? "created" : "kept, password reset", sid,
                CAPSID__SANDBOX_GROUP);
    /* Not fatal: the account works shown or not; the line says which. */
    capsid__say(cb, data, "logon screen", capsid__users_hide(name, 1) == 0,
                "%s hidden from the logon screen", name);
  }
  text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
  rc = text ? capsid__file_write_atomic(path, text, strlen(text), 0600,
                                        &os_error)
            : CAPSID_ENOMEM;
  if (rc != 0)
    capsid__error_set(err, rc, CAPSID_STAGE_IDENTITY, os_error, path, NULL,
                      "cannot write the sandbox users' secrets");
  else
    capsid__say(cb, data, "user secrets", 1,
                "%s (passwords protected with DPAPI)", path);

out:
  free(text);
  json_decref(root);
  capsid__free(path);
  return rc;
}


int capsid__users_password(int offline, WCHAR** password,
                           capsid_error_t* err) {
  const char* name = capsid__sandbox_user_names[offline ? 0 : 1];
  char* path = secrets_path();
  char* text = NULL;
  json_t* root = NULL;
  json_error_t jerr;
  const char* hex;
  size_t len = 0;
  void* plain = NULL;
  int rc, os_error = 0;

  *password = NULL;
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__file_read(path, 1 << 20, &text, &len, &os_error);
  if (rc == CAPSID_ENOENT)
    rc = capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY,
                           os_error, path, NULL, "no sandbox users: run "
                           "`capsid setup` as an administrator");
  else if (rc != 0)
    rc = capsid__error_set(err, rc, CAPSID_STAGE_IDENTITY, os_error, path,
                           NULL, "cannot read the sandbox users' secrets");
  if (rc == 0)
    root = json_loadb(text, len, 0, &jerr);
  hex = json_string_value(
      json_object_get(json_object_get(root, name), "password_dpapi"));
  if (rc == 0 && hex == NULL)
    rc = capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_IDENTITY, 0,
                           path, NULL, "%s has no secret for %s", path, name);
  if (rc == 0 && capsid__secret_unprotect(hex, &plain, &len) != 0)
    rc = capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_IDENTITY, 0,
                           path, NULL, "the secret of %s cannot be "
                           "unprotected (was setup run by another user?)",
                           name);
  if (rc == 0)
    *password = plain;
  json_decref(root);
  capsid__free(text);
  capsid__free(path);
  return rc;
}


int capsid__users_probe(char offline_sid[CAPSID__SID_MAX]) {
  char sid[CAPSID__SID_MAX];
  int i, n = 0;

  offline_sid[0] = '\0';
  for (i = 0; i < 2; i++)
    if (capsid__account_sid(capsid__sandbox_user_names[i], sid) == 0) {
      n++;
      if (i == 0)
        memcpy(offline_sid, sid, CAPSID__SID_MAX);
    }
  return n;
}


/* Reports the removal of an account, verified by looking the name up
 * again rather than by the status of the delete call. Returns 1 when it
 * is still there. */
static int report_removed(capsid__report_cb cb, void* data,
                          const char* feature, const char* name,
                          NET_API_STATUS st) {
  char sid[CAPSID__SID_MAX];

  if (capsid__account_sid(name, sid) == 0) {
    capsid__say(cb, data, feature, 0, "%s is still there (error %lu)", name,
                (unsigned long)st);
    return 1;
  }
  capsid__say(cb, data, feature, 1, "%s %s", name,
              st == NERR_Success ? "removed" : "not present");
  return 0;
}


int capsid__users_uninstall(capsid__report_cb cb, void* data) {
  NET_API_STATUS st;
  char* path = secrets_path();
  WCHAR* w = NULL;
  int i, left = 0;

  for (i = 0; i < 2; i++) {
    const char* name = capsid__sandbox_user_names[i];
    w = capsid__utf16(name);
    st = w ? NetUserDel(NULL, w) : ERROR_NOT_ENOUGH_MEMORY;
    capsid__free(w);
    left += report_removed(cb, data, "sandbox user", name, st);
    if (capsid__users_hide(name, 0) != 0) {
      capsid__say(cb, data, "logon screen", 0,
                  "%s is still listed under SpecialAccounts\\UserList",
                  name);
      left++;
    }
  }
  st = NetLocalGroupDel(NULL, CAPSID__SANDBOX_GROUP_W);
  left += report_removed(cb, data, "sandbox group", CAPSID__SANDBOX_GROUP, st);
  w = path ? capsid__utf16(path) : NULL;
  if (w != NULL)
    DeleteFileW(w);
  capsid__free(w);
  capsid__free(path);
  return left;
}
