/* A private desktop per job (desktop-win.c).
 *
 * Microsoft's CreateRestrictedToken page: "Applications that use
 * restricted tokens should run the restricted application on desktops
 * other than the default desktop", or the job can SendMessage/PostMessage
 * the user's unrestricted windows. Each unprivileged job gets its own
 * desktop on capsid's window station, whose DACL grants the logon SID
 * (user32 start-up needs it: 0xC0000142 otherwise), the user and SYSTEM.
 * Where there is no interactive window station (a service, session 0, an
 * SSH logon) or the desktop cannot be made or its DACL does not read
 * back (Wine keeps none on window objects), the job falls back to
 * winsta0\default, as Codex does; the reason is kept for the probe. */
#ifndef CAPSID_DESKTOP_WIN_H
#define CAPSID_DESKTOP_WIN_H

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

#define CAPSID__DESKTOP_NAME_MAX 64

typedef struct capsid__desktop_s {
  HDESK handle; /* NULL: the fallback */
  /* "WinSta0\capsid-<pid>-<n>" or "winsta0\default": STARTUPINFO's
   * lpDesktop. */
  WCHAR name[CAPSID__DESKTOP_NAME_MAX];
  const char* fallback_why; /* why the fallback was taken, or NULL */
} capsid__desktop_t;

/* Makes the job's desktop, or fills the fallback. Never fails: a job on
 * the default desktop is no less confined by its token and job object. */
void capsid__desktop_make(capsid__desktop_t* d);
/* Closes the desktop (after the job's processes are gone). */
void capsid__desktop_close(capsid__desktop_t* d);

#endif
