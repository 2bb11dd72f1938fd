/* A private desktop per job: see desktop-win.h. */
#include "desktop-win.h"

#include "token-win.h"
#include "win-dacl.h"

#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static volatile LONG desktop_seq;

static void fallback(capsid__desktop_t* d, const char* why) {
  d->handle = NULL;
  wcscpy(d->name, L"winsta0\\default");
  d->fallback_why = why;
}


/* The window station is the interactive one (visible, named WinSta0). */
static const char* no_interactive_station(void) {
  HWINSTA station = GetProcessWindowStation();
  USEROBJECTFLAGS flags;
  WCHAR name[64];
  DWORD len = 0;

  if (getenv("SSH_CONNECTION") != NULL || getenv("SSH_CLIENT") != NULL ||
      getenv("SSH_TTY") != NULL)
    return "an SSH logon";
  if (station == NULL ||
      !GetUserObjectInformationW(station, UOI_FLAGS, &flags, sizeof(flags),
                                 &len) ||
      !(flags.dwFlags & WSF_VISIBLE))
    return "no interactive window station (a service or session 0)";
  if (!GetUserObjectInformationW(station, UOI_NAME, name, sizeof(name),
                                 &len) ||
      _wcsicmp(name, L"WinSta0") != 0)
    return "the window station is not WinSta0";
  return NULL;
}


/* The DACL read back grants the logon SID (Wine keeps no DACL on
 * window objects: there the fallback is taken). */
static int dacl_grants(HDESK desk, const char* sid_text) {
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  int found;

  if (GetSecurityInfo(desk, SE_WINDOW_OBJECT, DACL_SECURITY_INFORMATION,
                      NULL, NULL, &dacl, NULL, &sd) != ERROR_SUCCESS)
    return 0;
  found = capsid__dacl_has(dacl, sid_text, ACCESS_ALLOWED_ACE_TYPE);
  LocalFree(sd);
  return found;
}


void capsid__desktop_make(capsid__desktop_t* d) {
  char logon[CAPSID__SID_MAX], user[CAPSID__SID_MAX], sddl[256];
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd = NULL;
  WCHAR local[CAPSID__DESKTOP_NAME_MAX];
  const char* why;

  memset(d, 0, sizeof(*d));
  if ((why = no_interactive_station()) != NULL)
    return fallback(d, why);
  if (capsid__token_logon_sid(NULL, logon) != 0 ||
      capsid__token_user_sid(NULL, user) != 0)
    return fallback(d, "no logon SID to grant the desktop to");
  /* All desktop rights to the logon SID (the job's token holds it), the
   * user and SYSTEM; nobody else. */
  snprintf(sddl, sizeof(sddl), "D:P(A;;GA;;;%s)(A;;GA;;;%s)(A;;GA;;;SY)",
           logon, user);
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
          sddl, SDDL_REVISION_1, &sd, NULL))
    return fallback(d, "cannot build the desktop's DACL");
  swprintf(local, CAPSID__DESKTOP_NAME_MAX, L"capsid-%lu-%ld",
           (unsigned long)GetCurrentProcessId(),
           (long)InterlockedIncrement(&desktop_seq));
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = sd;
  sa.bInheritHandle = FALSE;
  d->handle = CreateDesktopW(local, NULL, NULL, 0, GENERIC_ALL, &sa);
  LocalFree(sd);
  if (d->handle == NULL)
    return fallback(d, "CreateDesktopW failed");
  if (!dacl_grants(d->handle, logon)) {
    CloseDesktop(d->handle);
    return fallback(d, "the desktop's DACL did not read back");
  }
  swprintf(d->name, CAPSID__DESKTOP_NAME_MAX, L"WinSta0\\%ls", local);
}


void capsid__desktop_close(capsid__desktop_t* d) {
  if (d->handle != NULL)
    CloseDesktop(d->handle);
  d->handle = NULL;
}
