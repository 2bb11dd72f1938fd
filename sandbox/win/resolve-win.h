/* The Windows program search's pure decisions (resolve-win.c). */
#ifndef CAPSID_RESOLVE_WIN_H
#define CAPSID_RESOLVE_WIN_H

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* Not in every SDK's headers: the reparse tag of an App Execution Alias
 * (documented in "Reparse Point Tags", [MS-FSCC] 2.1.2.1). */
#ifndef IO_REPARSE_TAG_APPEXECLINK
#define IO_REPARSE_TAG_APPEXECLINK 0x8000001BL
#endif

/* Is the search's candidate path, with these attributes and reparse tag
 * (WIN32_FIND_DATAW's dwFileAttributes and dwReserved0), to be passed
 * over? A directory is; so is an App Execution Alias: a reparse point
 * tagged IO_REPARSE_TAG_APPEXECLINK, or any reparse point directly in a
 * WindowsApps directory (the aliases' home, whatever tag a filesystem
 * filter reports). Returns NULL to take it, else why not. Pure: Wine has
 * no reparse points to test the search itself on. */
const char* capsid__resolve_skip(const char* path, DWORD attrs, DWORD tag);

#endif
