/* Small helpers every Windows file needs: UTF-8 <-> UTF-16 conversion,
 * mkdir -p.
 * capsid keeps every string in UTF-8 (as the public API does) and converts
 * at the Win32 boundary with the ...W functions, so paths and arguments
 * outside the ANSI code page survive. */
#ifndef CAPSID_WIN_UTIL_H
#define CAPSID_WIN_UTIL_H

#include "capsid-common.h"

#include <windows.h>

/* New UTF-16 copy (capsid__free it), or NULL with GetLastError() set. */
WCHAR* capsid__utf16(const char* s);
/* New UTF-8 copy (capsid__free it), or NULL. */
char* capsid__utf8(const WCHAR* s);
/* Creates the directory path and its missing parents (mkdir -p). Returns
 * 0 when path is a directory afterwards, else a CAPSID_E* code with
 * *os_error set. */
int capsid__mkdirs(const char* path, int* os_error);

#endif
