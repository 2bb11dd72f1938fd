/* The sandbox users and their secrets (users-win.c): the two local
 * accounts elevated jobs run as, their group, and their passwords kept
 * DPAPI-protected in the state directory. */
#ifndef CAPSID_USERS_WIN_H
#define CAPSID_USERS_WIN_H

#include "capsid-common.h"
#include "report.h"
#include "sid-win.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

#define CAPSID__SANDBOX_GROUP "CapsidSandboxUsers"
#define CAPSID__SANDBOX_GROUP_W L"CapsidSandboxUsers"
/* CapsidOffline, CapsidOnline. */
extern const char* const capsid__sandbox_user_names[2];
/* Creates (or resets the password of) both users, the group, the
 * membership, and writes STATE/sandbox-users.json with their SIDs and
 * DPAPI-protected passwords. Needs an administrator. */
int capsid__users_setup(capsid__report_cb cb, void* data,
                        capsid_error_t* err);
/* The password of the offline (or online) user, unprotected (capsid__free
 * it after SecureZeroMemory). */
int capsid__users_password(int offline, WCHAR** password,
                           capsid_error_t* err);
/* How many of the two users exist; the offline one's SID into sid. */
int capsid__users_probe(char offline_sid[CAPSID__SID_MAX]);
/* Deletes both users, the group and the secrets; verified by looking the
 * names up again. Returns the number left behind. */
int capsid__users_uninstall(capsid__report_cb cb, void* data);
/* Hides (hide 1) or shows again (hide 0) a local account on the logon
 * screen: a DWORD 0 named after it under HKLM\...\Winlogon\
 * SpecialAccounts\UserList (what Codex's setup does), read back. 0, or
 * -1 (needs an administrator). Exposed for tests. */
int capsid__users_hide(const char* name, int hide);
/* The SID of a local account or group, as a string. */
int capsid__account_sid(const char* name, char out[CAPSID__SID_MAX]);
/* DPAPI (CryptProtectData, current user) of data, hex-encoded; and back.
 * Exposed for tests. */
int capsid__secret_protect(const void* data, size_t len, char** hex);
int capsid__secret_unprotect(const char* hex, void** data, size_t* len);

#endif
