/* Small helpers every Windows file needs: UTF-8 <-> UTF-16 conversion.
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

#endif
