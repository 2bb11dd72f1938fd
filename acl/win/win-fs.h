/* Shared by the ACL engine's Windows files (acl/win/). */
#ifndef CAPSID_ACL_WIN_FS_H
#define CAPSID_ACL_WIN_FS_H

#include "acl-int.h"

#include <windows.h>

/* The capsid__acl_stat_t of an open handle (type LNK for any reparse
 * point); the file attributes into *attrs when not NULL. -1 with
 * GetLastError() set on failure. */
int capsid__win_stat(HANDLE h, capsid__acl_stat_t* st, DWORD* attrs);

/* Opens the child name (one component) of the directory parent, never
 * following a reparse point: Windows' openat. Returns 0 or a Win32
 * error. */
DWORD capsid__win_open_at(HANDLE parent, const char* name, ACCESS_MASK access,
                          ULONG options, HANDLE* out);

/* dacl-win.c, exposed for tests: the mask and directory AceFlags an entry
 * becomes (*on_files: files get it too; *deny: a deny ACE); CAPSID_EINVAL
 * for a principal without a SID or a deny of nothing. */
int capsid__acl_win_want(const capsid__acl_entry_t* e, DWORD* mask,
                         BYTE* dir_flags, int* on_files, int* deny);
/* The DACL p makes of old on a directory or a file (LocalFree it). */
int capsid__acl_win_dacl(const capsid__acl_fsplan_t* p, const ACL* old,
                         int is_dir, ACL** out);

#endif
