/* deny_read on Windows: "~" is %USERPROFILE%; wildcards are matched by
 * FindFirstFileW, which takes them in the last component only (a pattern
 * with one higher up matches nothing). */
#include "denyread.h"

#include "win-util.h"

#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* Declared in denyread.h. */
char* capsid__deny_home(void) {
  const char* env = getenv("USERPROFILE");
  char* canon = NULL;
  int os_error = 0;

  if (env == NULL || *env == '\0' ||
      capsid__path_canonical(NULL, env, &canon, &os_error) != 0)
    return NULL;
  return canon;
}


static int has_wildcard(const char* s, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    if (s[i] == '*' || s[i] == '?')
      return 1;
  return 0;
}


/* Declared in denyread.h. */
int capsid__deny_glob(const char* pattern, capsid__strv_t* out) {
  WIN32_FIND_DATAW fd;
  HANDLE h;
  WCHAR* wide;
  char* name;
  char* full;
  size_t dir_len = 0, i;
  int rc = 0;

  for (i = 0; pattern[i] != '\0'; i++)
    if (capsid__path_is_sep(pattern[i]))
      dir_len = i + 1;
  if (has_wildcard(pattern, dir_len))
    return 0;
  if (!has_wildcard(pattern + dir_len, strlen(pattern + dir_len)))
    return capsid__path_exists(pattern) ? capsid__strv_push(out, pattern)
                                        : 0;
  wide = capsid__utf16(pattern);
  if (wide == NULL)
    return CAPSID_ENOMEM;
  h = FindFirstFileW(wide, &fd);
  capsid__free(wide);
  if (h == INVALID_HANDLE_VALUE)
    return 0;
  do {
    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
      continue;
    name = capsid__utf8(fd.cFileName);
    full = name == NULL ? NULL
                        : capsid__sprintf("%.*s%s", (int)dir_len, pattern,
                                          name);
    capsid__free(name);
    /* push_owned frees full when it fails. */
    if (full == NULL || capsid__strv_push_owned(out, full) != 0)
      rc = CAPSID_ENOMEM;
  } while (rc == 0 && FindNextFileW(h, &fd));
  FindClose(h);
  return rc;
}
