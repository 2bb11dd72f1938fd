/* Placeholders on Windows: protected paths that do not exist yet.
 *
 * A deny ACE needs an object to sit on, so the missing .git, .codex and
 * .agents of a root, and the first missing component of a missing
 * carve-out (policy.h, missing_protected), are created as empty
 * directories before the job (capsid__grant_ensure) and carry the deny
 * ACE of an existing protected path. After the job they are removed
 * again (RemoveDirectoryW: only an empty directory goes, so what the
 * owner put there meanwhile stays), leaving the host as it was.
 *
 * Concurrent jobs of one workspace: each job holds every protected
 * directory it relies on open without FILE_SHARE_DELETE for its life, so
 * no other job's removal can take a placeholder from under it (the
 * removal fails with a sharing violation); the job ending last, which
 * listed the path as missing, removes it. A placeholder that another
 * capsid process made and ended before this one is left (Windows has no
 * cheap mark to tell it from a directory the owner made). */
#include "placeholder-win.h"

#include "sandbox-int.h"
#include "win-util.h"

#include <string.h>

static HANDLE open_dir(const char* path) {
  WCHAR* w = capsid__utf16(path);
  HANDLE h;

  if (w == NULL)
    return INVALID_HANDLE_VALUE;
  /* The directory itself, never what a reparse point names. */
  h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE,
                  NULL, OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                  NULL);
  capsid__free(w);
  return h;
}


static int hold(capsid__win_placeholders_t* ph, const char* path,
                capsid_error_t* err) {
  HANDLE h = open_dir(path);

  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    return capsid__error_set(err, capsid__translate_os_error((int)e),
                             CAPSID_STAGE_ACL, (int)e, path,
                             "read_only_paths", "cannot hold %s open", path);
  }
  if (ph->n == CAPSID__ARRAY_SIZE(ph->h)) {
    CloseHandle(h);
    return capsid__error_set(err, CAPSID_ETOOLONG, CAPSID_STAGE_ACL, 0, path,
                             "read_only_paths",
                             "too many protected paths for one job (at "
                             "most %zu)",
                             CAPSID__ARRAY_SIZE(ph->h));
  }
  ph->h[ph->n++] = h;
  return 0;
}


int capsid__win_placeholders_hold(capsid__win_placeholders_t* ph,
                                  const capsid__sandbox_t* sb,
                                  capsid_error_t* err) {
  size_t i;
  int rc = 0, os_error = 0;

  memset(ph, 0, sizeof(*ph));
  ph->sb = sb;
  /* Made by capsid__grant_ensure just before: they must be there. */
  for (i = 0; rc == 0 && i < sb->missing_protected.n; i++)
    rc = hold(ph, sb->missing_protected.v[i], err);
  /* An existing protected directory may be another job's placeholder. */
  for (i = 0; rc == 0 && i < sb->protected_paths.n; i++)
    if (!capsid__strv_contains(&sb->missing_protected,
                               sb->protected_paths.v[i]) &&
        capsid__path_is_dir(sb->protected_paths.v[i], &os_error) == 1)
      rc = hold(ph, sb->protected_paths.v[i], err);
  if (rc != 0)
    capsid__win_placeholders_release(ph);
  return rc;
}


void capsid__win_placeholders_release(capsid__win_placeholders_t* ph) {
  WCHAR* w;
  size_t i;

  for (i = 0; i < ph->n; i++)
    CloseHandle(ph->h[i]);
  ph->n = 0;
  /* Only what this job found missing; only if empty and no other job
   * holds it open. */
  for (i = 0; ph->sb != NULL && i < ph->sb->missing_protected.n; i++) {
    w = capsid__utf16(ph->sb->missing_protected.v[i]);
    if (w != NULL)
      (void)RemoveDirectoryW(w);
    capsid__free(w);
  }
  ph->sb = NULL;
}


/* Windows removes its placeholders with the job (placeholder-win.c's
 * header): nothing is kept between jobs. */
unsigned capsid__sandbox_idle(uint64_t idle_ms) {
  (void)idle_ms;
  return 0;
}


void capsid__sandbox_loop_closed(uv_loop_t* loop) {
  (void)loop; /* nothing is kept per loop here */
}
