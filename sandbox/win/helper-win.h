/* Building blocks of the elevated mode (helper-win.c): a session-wide
 * mutex, directory junctions, and the read-ACL helper. */
#ifndef CAPSID_HELPER_WIN_H
#define CAPSID_HELPER_WIN_H

#include "capsid-common.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* The read-ACL helper runs once per session: it holds this named mutex. */
#define CAPSID__HELPER_MUTEX L"Local\\CapsidAclHelper"

/* Takes the named mutex without waiting. CAPSID_EBUSY when another thread
 * or process holds it. A mutex abandoned by a helper that died is taken
 * over (*abandoned set): the work it left is redone, never blocked on. */
int capsid__mutex_try(const WCHAR* name, HANDLE* out, int* abandoned,
                      capsid_error_t* err);
void capsid__mutex_release(HANDLE mutex);

/* Creates the directory link (which must not exist) as a junction
 * (FSCTL_SET_REPARSE_POINT, IO_REPARSE_TAG_MOUNT_POINT) to the existing
 * absolute directory target, then reads it back (FSCTL_GET_REPARSE_POINT).
 * On any failure nothing is left at link. The elevated mode uses it as the
 * job's cwd while read ACLs are pending. */
int capsid__junction_create(const char* link, const char* target,
                            capsid_error_t* err);

/* The read-ACL helper: holding CAPSID__HELPER_MUTEX (CAPSID_EBUSY when
 * another helper holds it: one at a time per session), grants group_sid
 * read and execute (inherited) on each of roots, reading every DACL back.
 * Elevated jobs start in a junction (capsid__junction_create) while it
 * runs, so they need not wait for it. */
int capsid__read_helper_run(const char* const* roots, size_t n,
                            const char* group_sid, capsid_error_t* err);

#endif
