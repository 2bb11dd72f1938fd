#include "win-util.h"

WCHAR* capsid__utf16(const char* s) {
  WCHAR* w;
  int n;

  n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0)
    return NULL;
  w = capsid__malloc((size_t)n * sizeof(WCHAR));
  if (w == NULL) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return NULL;
  }
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    capsid__free(w);
    return NULL;
  }
  return w;
}


char* capsid__utf8(const WCHAR* w) {
  char* s;
  int n;

  n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  if (n <= 0)
    return NULL;
  s = capsid__malloc((size_t)n);
  if (s == NULL)
    return NULL;
  if (WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
    capsid__free(s);
    return NULL;
  }
  return s;
}


int capsid__mkdirs(const char* path, int* os_error) {
  WCHAR* w = capsid__utf16(path);
  WCHAR* c;
  DWORD attrs, e = 0;

  *os_error = 0;
  if (w == NULL)
    return CAPSID_ENOMEM;
  /* Every prefix that ends before a separator, then the whole path. The
   * errors of the prefixes ("C:", a UNC server, a directory that exists)
   * do not matter: only whether the whole path is a directory at the
   * end. */
  for (c = w + 1; *c != L'\0'; c++) {
    WCHAR save = *c;
    if (save != L'/' && save != L'\\')
      continue;
    *c = L'\0';
    CreateDirectoryW(w, NULL);
    *c = save;
  }
  if (!CreateDirectoryW(w, NULL))
    e = GetLastError();
  attrs = GetFileAttributesW(w);
  if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
    e = 0;
  else if (e == 0 || e == ERROR_ALREADY_EXISTS)
    e = ERROR_DIRECTORY;
  capsid__free(w);
  *os_error = (int)e;
  return e ? capsid__translate_os_error((int)e) : 0;
}
