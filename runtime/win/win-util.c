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
