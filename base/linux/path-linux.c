/* Path canonicalisation for Linux: realpath() of what exists. */
#include "path.h"

#include "fault.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char* join(const char* base, const char* path) {
  char cwd[PATH_MAX];

  if (path[0] == '/')
    return capsid__strdup(path);
  if (base == NULL) {
    if (getcwd(cwd, sizeof(cwd)) == NULL)
      return NULL;
    base = cwd;
  }
  return capsid__sprintf("%s/%s", base, path);
}


int capsid__path_canonical(const char* base, const char* path, char** out,
                           int* os_error) {
  char* joined;
  char* real;

  *out = NULL;
  if (path == NULL || *path == '\0')
    return CAPSID_EINVAL;
  joined = join(base, path);
  if (joined == NULL) {
    *os_error = errno;
    return CAPSID_ENOMEM;
  }
  errno = capsid__fault("realpath");
  real = errno != 0 ? NULL : realpath(joined, NULL);
  capsid__free(joined);
  if (real == NULL) {
    *os_error = errno;
    return capsid__translate_os_error(errno);
  }
  *out = capsid__strdup(real);
  free(real);
  return *out ? 0 : CAPSID_ENOMEM;
}


int capsid__path_canonical_lax(const char* base, const char* path,
                               char** out, int* os_error) {
  char* joined;
  char* cut;
  char* head = NULL;
  const char* rest;
  const char* c;
  int rc;

  *out = NULL;
  if (path == NULL || *path == '\0')
    return CAPSID_EINVAL;
  rc = capsid__path_canonical(base, path, out, os_error);
  if (rc != CAPSID_ENOENT)
    return rc;
  joined = join(base, path);
  if (joined == NULL)
    return CAPSID_ENOMEM;
  /* Walk back one component at a time until a prefix exists. */
  cut = joined + strlen(joined);
  for (;;) {
    while (cut > joined && cut[-1] == '/')
      cut--;
    while (cut > joined && cut[-1] != '/')
      cut--;
    if (cut <= joined + 1) {
      rc = CAPSID_ENOENT;
      break;
    }
    cut[-1] = '\0';
    rc = capsid__path_canonical(NULL, joined, &head, os_error);
    cut[-1] = '/';
    if (rc == 0)
      break;
    if (rc != CAPSID_ENOENT)
      break;
  }
  if (rc != 0) {
    capsid__free(joined);
    return rc;
  }
  rest = cut;
  /* The missing tail is appended as text, so it must not climb out. */
  for (c = rest; *c != '\0';) {
    size_t len = strcspn(c, "/");
    if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
      capsid__free(joined);
      capsid__free(head);
      *os_error = 0; /* the ENOENT above is not the reason */
      return CAPSID_EINVAL;
    }
    c += len;
    while (*c == '/')
      c++;
  }
  *out = capsid__sprintf("%s%s%s", head, strcmp(head, "/") ? "/" : "", rest);
  capsid__free(joined);
  capsid__free(head);
  if (*out == NULL)
    return CAPSID_ENOMEM;
  /* Drop a trailing slash the caller may have written. */
  {
    size_t n = strlen(*out);
    while (n > 1 && (*out)[n - 1] == '/')
      (*out)[--n] = '\0';
  }
  return 0;
}


int capsid__path_is_dir(const char* path, int* os_error) {
  struct stat st;

  if (stat(path, &st) != 0) {
    *os_error = errno;
    return capsid__translate_os_error(errno);
  }
  return S_ISDIR(st.st_mode) ? 1 : 0;
}


int capsid__path_exists(const char* path) {
  struct stat st;

  return lstat(path, &st) == 0;
}


const char* capsid__path_system_tmp(void) {
  return "/tmp";
}


int capsid__path_is_absolute(const char* path) {
  return path[0] == '/';
}


size_t capsid__path_root_len(const char* path) {
  return path[0] == '/' ? 1 : 0;
}


int capsid__path_is_sep(char c) {
  return c == '/';
}
