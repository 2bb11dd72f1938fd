/* Path canonicalisation for Windows.
 *
 * The canonical spelling of a path is what GetFinalPathNameByHandleW
 * reports for the opened file (junctions and symbolic links resolved, the
 * case as stored on disk, 8.3 short names expanded), written with forward
 * slashes: "C:/Users/me/ws", "//server/share/dir". One path therefore has
 * one spelling however the user typed it ("c:\users\ME\ws\."), which is
 * what the capability store and the portable policy code (which compares
 * paths on '/') rely on. Win32 accepts '/' everywhere capsid passes paths. */
#include "path.h"

#include "fault.h"
#include "win-util.h"

#include <string.h>

static int is_sep(char c) {
  return c == '/' || c == '\\';
}


static int is_absolute(const char* p) {
  return (((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z') && p[1] == ':' &&
          is_sep(p[2])) ||
         (is_sep(p[0]) && is_sep(p[1]));
}


static void to_slashes(char* s) {
  for (; *s != '\0'; s++)
    if (*s == '\\')
      *s = '/';
}


/* Length of the root of an absolute '/'-path: 3 for "C:/", the
 * "//server/share/" prefix for UNC paths. */
static size_t root_len(const char* p) {
  const char* c;
  int seps = 0;

  if (p[0] != '/' || p[1] != '/')
    return 3;
  for (c = p + 2; *c != '\0'; c++)
    if (*c == '/' && ++seps == 2)
      return (size_t)(c - p) + 1;
  return strlen(p);
}


/* The absolute, lexically normalised path (GetFullPathNameW collapses "."
 * and "..", as Windows itself does when it opens a path), '/'-separated. */
static char* full_path(const char* base, const char* path, int* os_error) {
  char* joined;
  WCHAR* wide;
  WCHAR* full;
  char* out;
  DWORD n;

  if (is_absolute(path) || base == NULL)
    joined = capsid__strdup(path);
  else
    joined = capsid__sprintf("%s/%s", base, path);
  if (joined == NULL)
    return NULL;
  wide = capsid__utf16(joined);
  capsid__free(joined);
  if (wide == NULL) {
    *os_error = (int)GetLastError();
    return NULL;
  }
  n = GetFullPathNameW(wide, 0, NULL, NULL);
  full = n ? capsid__malloc((size_t)n * sizeof(WCHAR)) : NULL;
  if (full == NULL || GetFullPathNameW(wide, n, full, NULL) == 0) {
    *os_error = (int)GetLastError();
    capsid__free(full);
    capsid__free(wide);
    return NULL;
  }
  capsid__free(wide);
  out = capsid__utf8(full);
  capsid__free(full);
  if (out != NULL)
    to_slashes(out);
  return out;
}


static void drop_trailing_slash(char* s) {
  size_t n = strlen(s), root = root_len(s);

  while (n > root && s[n - 1] == '/')
    s[--n] = '\0';
}


int capsid__path_canonical(const char* base, const char* path, char** out,
                           int* os_error) {
  WCHAR* wide;
  WCHAR* final;
  WCHAR* w;
  HANDLE h;
  char* full;
  DWORD n;
  int fault;

  *out = NULL;
  *os_error = 0;
  if (path == NULL || *path == '\0')
    return CAPSID_EINVAL;
  full = full_path(base, path, os_error);
  if (full == NULL)
    return *os_error ? capsid__translate_os_error(*os_error) : CAPSID_ENOMEM;
  wide = capsid__utf16(full);
  capsid__free(full);
  if (wide == NULL)
    return CAPSID_ENOMEM;
  fault = capsid__fault("realpath");
  /* FILE_FLAG_BACKUP_SEMANTICS opens directories too; no access right is
   * needed to ask for the name. */
  h = fault ? INVALID_HANDLE_VALUE
            : CreateFileW(wide, 0,
                          FILE_SHARE_READ | FILE_SHARE_WRITE |
                              FILE_SHARE_DELETE,
                          NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS,
                          NULL);
  capsid__free(wide);
  if (h == INVALID_HANDLE_VALUE) {
    *os_error = fault ? ERROR_FILE_NOT_FOUND : (int)GetLastError();
    return capsid__translate_os_error(*os_error);
  }
  n = GetFinalPathNameByHandleW(h, NULL, 0, VOLUME_NAME_DOS);
  final = n ? capsid__malloc((size_t)(n + 1) * sizeof(WCHAR)) : NULL;
  if (final == NULL ||
      GetFinalPathNameByHandleW(h, final, n + 1, VOLUME_NAME_DOS) == 0) {
    *os_error = (int)GetLastError();
    CloseHandle(h);
    capsid__free(final);
    return *os_error ? capsid__translate_os_error(*os_error) : CAPSID_ENOMEM;
  }
  CloseHandle(h);
  /* "\\?\C:\x" -> "C:\x"; "\\?\UNC\srv\share" -> "\\srv\share". */
  w = final;
  if (wcsncmp(w, L"\\\\?\\UNC\\", 8) == 0) {
    w += 6;
    w[0] = L'\\';
  } else if (wcsncmp(w, L"\\\\?\\", 4) == 0) {
    w += 4;
  }
  *out = capsid__utf8(w);
  capsid__free(final);
  if (*out == NULL)
    return CAPSID_ENOMEM;
  to_slashes(*out);
  if ((*out)[0] >= 'a' && (*out)[0] <= 'z' && (*out)[1] == ':')
    (*out)[0] = (char)((*out)[0] - 'a' + 'A');
  drop_trailing_slash(*out);
  return 0;
}


int capsid__path_canonical_lax(const char* base, const char* path,
                               char** out, int* os_error) {
  char* joined;
  char* cut;
  char* head = NULL;
  size_t root;
  int rc;

  *out = NULL;
  *os_error = 0;
  if (path == NULL || *path == '\0')
    return CAPSID_EINVAL;
  /* The missing tail is appended as text below, so it must not climb out:
   * refuse "." and ".." components before GetFullPathNameW folds them. */
  {
    const char* c = path;
    while (*c != '\0') {
      size_t len = strcspn(c, "/\\");
      if ((len == 1 && c[0] == '.') ||
          (len == 2 && c[0] == '.' && c[1] == '.')) {
        rc = capsid__path_canonical(base, path, out, os_error);
        if (rc != CAPSID_ENOENT)
          return rc;
        *os_error = 0; /* the missing path is not the reason */
        return CAPSID_EINVAL;
      }
      c += len;
      while (is_sep(*c))
        c++;
    }
  }
  rc = capsid__path_canonical(base, path, out, os_error);
  if (rc != CAPSID_ENOENT)
    return rc;
  joined = full_path(base, path, os_error);
  if (joined == NULL)
    return *os_error ? capsid__translate_os_error(*os_error) : CAPSID_ENOMEM;
  drop_trailing_slash(joined);
  root = root_len(joined);
  cut = joined + strlen(joined);
  for (;;) {
    while (cut > joined && cut[-1] != '/')
      cut--;
    if (cut <= joined + root) {
      rc = CAPSID_ENOENT;
      break;
    }
    cut[-1] = '\0';
    rc = capsid__path_canonical(NULL, joined, &head, os_error);
    cut[-1] = '/';
    if (rc != CAPSID_ENOENT)
      break;
    cut--;
  }
  if (rc != 0) {
    capsid__free(joined);
    return rc;
  }
  *out = capsid__sprintf("%s%s%s", head,
                         head[strlen(head) - 1] == '/' ? "" : "/", cut);
  capsid__free(joined);
  capsid__free(head);
  return *out ? 0 : CAPSID_ENOMEM;
}


int capsid__path_is_dir(const char* path, int* os_error) {
  WCHAR* wide = capsid__utf16(path);
  DWORD attrs;

  if (wide == NULL)
    return CAPSID_ENOMEM;
  attrs = GetFileAttributesW(wide);
  capsid__free(wide);
  if (attrs == INVALID_FILE_ATTRIBUTES) {
    *os_error = (int)GetLastError();
    return capsid__translate_os_error(*os_error);
  }
  return (attrs & FILE_ATTRIBUTE_DIRECTORY) ? 1 : 0;
}


int capsid__path_exists(const char* path) {
  WCHAR* wide = capsid__utf16(path);
  DWORD attrs;

  if (wide == NULL)
    return 0;
  attrs = GetFileAttributesW(wide);
  capsid__free(wide);
  return attrs != INVALID_FILE_ATTRIBUTES;
}


/* "/tmp" would name C:\tmp here, a directory any user may have made: it is
 * no shared temp directory on Windows, and never a root. */
const char* capsid__path_system_tmp(void) {
  return NULL;
}


int capsid__path_is_absolute(const char* path) {
  /* The canonical spelling only: '/' separators, as path_canonical
   * writes them. */
  return (path[0] == '/' && path[1] == '/') ||
         (((path[0] | 0x20) >= 'a' && (path[0] | 0x20) <= 'z') &&
          path[1] == ':' && path[2] == '/');
}


size_t capsid__path_root_len(const char* path) {
  const char* c;

  if (!capsid__path_is_absolute(path))
    return 0;
  if (path[0] != '/')
    return 3; /* "C:/" */
  /* "//server/share/": the server and the share name are the root. */
  c = strchr(path + 2, '/');
  if (c == NULL)
    return strlen(path);
  c = strchr(c + 1, '/');
  return c == NULL ? strlen(path) : (size_t)(c - path) + 1;
}


int capsid__path_is_sep(char c) {
  return is_sep(c);
}
