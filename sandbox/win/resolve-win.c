/* Finding the program of a job on Windows: the PATH search CreateProcess
 * would do, with the extensions of PATHEXT tried in order, but never in
 * the job's cwd unless PATH says so (a workspace must not be able to plant
 * a "git.exe" that capsid then runs), and with the system directory as the
 * last resort so "cmd" works in a job whose environment has no PATH. */
#include "sandbox-int.h"

#include "resolve-win.h"
#include "win-util.h"

#include <stdlib.h>
#include <string.h>

/* App Execution Aliases (the 0-byte stubs in
 * %LOCALAPPDATA%\Microsoft\WindowsApps: python.exe, pwsh.exe, winget.exe)
 * are passed over: they start a packaged app, which a restricted token
 * cannot (CreateProcessAsUserW fails with error 5, as Codex users report),
 * and python's stub opens the Store. The search goes on to a real program
 * later in PATH. */
const char* capsid__resolve_skip(const char* path, DWORD attrs, DWORD tag) {
  const char* base = path;
  const char* dir = NULL;
  const char* c;
  static const char apps[] = "windowsapps";

  if (attrs & FILE_ATTRIBUTE_DIRECTORY)
    return "a directory";
  if (!(attrs & FILE_ATTRIBUTE_REPARSE_POINT))
    return NULL;
  if (tag == (DWORD)IO_REPARSE_TAG_APPEXECLINK)
    return "an App Execution Alias";
  /* The last directory's name: "...\WindowsApps\x.exe". */
  for (c = path; *c != '\0'; c++)
    if (*c == '/' || *c == '\\') {
      dir = base;
      base = c + 1;
    }
  if (dir != NULL && (size_t)(base - 1 - dir) == sizeof(apps) - 1 &&
      _strnicmp(dir, apps, sizeof(apps) - 1) == 0)
    return "a reparse point in WindowsApps (an App Execution Alias)";
  return NULL;
}


/* A regular file the search may pick (capsid__resolve_skip says which
 * not). FindFirstFileW gives the reparse tag in dwReserved0. */
static int is_file(const char* path) {
  WCHAR* w = capsid__utf16(path);
  WIN32_FIND_DATAW fd;
  HANDLE h;

  if (w == NULL || wcspbrk(w, L"*?") != NULL) { /* no wildcards: one file */
    capsid__free(w);
    return 0;
  }
  h = FindFirstFileW(w, &fd);
  capsid__free(w);
  if (h == INVALID_HANDLE_VALUE)
    return 0;
  FindClose(h);
  return capsid__resolve_skip(path, fd.dwFileAttributes, fd.dwReserved0) ==
         NULL;
}


static int has_extension(const char* name) {
  const char* base = name;
  const char* c;

  for (c = name; *c != '\0'; c++)
    if (*c == '/' || *c == '\\' || *c == ':')
      base = c + 1;
  return strchr(base, '.') != NULL;
}


/* Tries dir/name as is (when it has an extension) and with each PATHEXT
 * extension. Returns a new string or NULL. */
static char* try_dir(const char* dir, size_t dir_len, const char* name) {
  const char* exts = getenv("PATHEXT");
  const char* e;
  const char* end;
  char* c;

  if (exts == NULL || *exts == '\0')
    exts = ".COM;.EXE;.BAT;.CMD";
  if (has_extension(name)) {
    c = dir_len ? capsid__sprintf("%.*s/%s", (int)dir_len, dir, name)
                : capsid__strdup(name);
    if (c != NULL && is_file(c))
      return c;
    capsid__free(c);
  }
  for (e = exts; *e != '\0'; e = *end ? end + 1 : end) {
    end = strchr(e, ';');
    if (end == NULL)
      end = e + strlen(e);
    if (end == e)
      continue;
    c = dir_len ? capsid__sprintf("%.*s/%s%.*s", (int)dir_len, dir, name,
                                  (int)(end - e), e)
                : capsid__sprintf("%s%.*s", name, (int)(end - e), e);
    if (c != NULL && is_file(c))
      return c;
    capsid__free(c);
  }
  return NULL;
}


static int is_absolute(const char* p) {
  return (p[0] != '\0' && p[1] == ':' && (p[2] == '/' || p[2] == '\\')) ||
         ((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\'));
}


/* Programs are named the native way: some (cmd.exe among them) read a '/'
 * in their own argv[0] as the start of a switch. */
static char* native(char* path) {
  char* c;

  for (c = path; c != NULL && *c != '\0'; c++)
    if (*c == '/')
      *c = '\\';
  return path;
}


int capsid__proc_resolve(const char* program, const char* path_env,
                         const char* cwd, char** out, capsid_error_t* err) {
  WCHAR sysdir[MAX_PATH];
  const char* dir;
  const char* end;
  char* found = NULL;
  char* sys8;

  *out = NULL;
  if (strpbrk(program, "/\\:") != NULL) {
    char* full = is_absolute(program) ? capsid__strdup(program)
                                      : capsid__sprintf("%s/%s", cwd, program);
    if (full == NULL)
      return CAPSID_ENOMEM;
    found = try_dir("", 0, full);
    capsid__free(full);
    if (found == NULL)
      return capsid__error_set(err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC,
                               ERROR_FILE_NOT_FOUND, program, "argv[0]",
                               "%s: program not found", program);
    *out = native(found);
    return 0;
  }
  /* path_env is the job's PATH however it is spelled (Windows variable
   * names have no case; base/win/env-win.c). A job without one gets
   * the system directory only, not capsid's own PATH. */
  for (dir = path_env ? path_env : ""; found == NULL && *dir != '\0';
       dir = *end ? end + 1 : end) {
    end = strchr(dir, ';');
    if (end == NULL)
      end = dir + strlen(dir);
    if (end > dir)
      found = try_dir(dir, (size_t)(end - dir), program);
  }
  if (found == NULL && GetSystemDirectoryW(sysdir, MAX_PATH) > 0 &&
      (sys8 = capsid__utf8(sysdir)) != NULL) {
    found = try_dir(sys8, strlen(sys8), program);
    capsid__free(sys8);
  }
  if (found == NULL)
    return capsid__error_set(err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC,
                             ERROR_FILE_NOT_FOUND, program, "argv[0]",
                             "%s: program not found in PATH", program);
  *out = native(found);
  return 0;
}
