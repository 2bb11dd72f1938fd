/* What this Windows machine offers (doctor), and elevated mode's set-up
 * and uninstall. See sandbox/system.h.
 *
 * The probe does not trust the API's return codes: it builds what a job
 * gets (a restricted token, a job object with limits) and reads it back,
 * exactly as the launcher's verification does. Under Wine both read-backs
 * fail (Wine drops restricting SIDs and job limits), so doctor says that
 * no confining mode is available there, and `capsid run` refuses. */
#include "system.h"

#include "acl.h"
#include "capstore-win.h"
#include "elevated-win.h"
#include "grant-win.h"
#include "jobobj-win.h"
#include "nul-win.h"
#include "token-win.h"
#include "win-util.h"
#include "wwdeny-win.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds a restricted token with one throw-away capability SID and reads
 * it back. */
static int probe_token(char* why, size_t size) {
  capsid__token_plan_t plan;
  capsid_error_t err = {0};
  HANDLE token = NULL;
  int rc;

  memset(&plan, 0, sizeof(plan));
  plan.n = 1;
  snprintf(plan.sids[0], sizeof(plan.sids[0]), "S-1-5-21-1-2-3-4");
  rc = capsid__token_create(&plan, &token, &err);
  if (rc == 0)
    rc = capsid__token_verify(token, &plan, &err);
  snprintf(why, size, "%s",
           rc == 0 ? "restricting SIDs and privileges read back as planned"
                   : err.message ? err.message : capsid_strerror(rc));
  if (token != NULL)
    CloseHandle(token);
  capsid__error_free(&err);
  return rc == 0;
}


static int probe_jobobj(char* why, size_t size) {
  capsid__jobobj_plan_t plan = {64u << 20, 8, 0, 0};
  capsid_error_t err = {0};
  HANDLE job = NULL;
  int rc;

  rc = capsid__jobobj_create(&plan, &job, &err);
  if (rc == 0)
    rc = capsid__jobobj_verify(job, &plan, &err);
  snprintf(why, size, "%s",
           rc == 0 ? "kill-on-close, memory and process limits read back"
                   : err.message ? err.message : capsid_strerror(rc));
  if (job != NULL)
    CloseHandle(job);
  capsid__error_free(&err);
  return rc == 0;
}


/* The UI restrictions a job of this process would get, set on a job
 * object and read back (jobobj-win.h says when there are none). */
static void probe_ui(capsid__report_cb cb, void* data) {
  capsid__jobobj_plan_t plan;
  capsid_error_t err = {0};
  const char* setting = getenv("CAPSID_WIN_UILIMIT");
  const char* why = NULL;
  BOOL in_job = FALSE;
  HANDLE job = NULL;
  int rc;

  memset(&plan, 0, sizeof(plan));
  if (!IsProcessInJob(GetCurrentProcess(), NULL, &in_job))
    in_job = TRUE;
  if (capsid__jobobj_ui(setting, in_job, 0, &plan.ui_limits, &why) != 0) {
    capsid__say(cb, data, "job UI restrictions", 0,
                "CAPSID_WIN_UILIMIT is \"%s\": use on or off; jobs are "
                "refused", setting);
    return;
  }
  if (plan.ui_limits == 0) {
    capsid__say(cb, data, "job UI restrictions", 1, "none: %s", why);
    return;
  }
  rc = capsid__jobobj_create(&plan, &job, &err);
  if (rc == 0)
    rc = capsid__jobobj_verify(job, &plan, &err);
  capsid__say(cb, data, "job UI restrictions", rc == 0, "%s",
              rc == 0 ? "desktop, display settings, exit windows, global "
                        "atoms, handles, clipboard read and write, system "
                        "parameters: read back (elevated jobs get none)"
              : err.message ? err.message : capsid_strerror(rc));
  if (job != NULL)
    CloseHandle(job);
  capsid__error_free(&err);
}


/* Windows keeps nothing between processes for doctor --fix to clean. */
int capsid__system_fix(capsid__report_cb cb, void* data) {
  (void)cb;
  (void)data;
  return 0;
}


capsid_mode_t capsid__system_probe(const char* workspace,
                                   capsid__report_cb cb, void* data) {
  char why[1024];
  capsid__capstore_t store;
  capsid_error_t err = {0};
  int token_ok, job_ok, elevated_ok;

  (void)workspace;
  token_ok = probe_token(why, sizeof(why));
  capsid__say(cb, data, "restricted token", token_ok, "%s", why);
  job_ok = probe_jobobj(why, sizeof(why));
  capsid__say(cb, data, "job objects", job_ok, "%s", why);
  probe_ui(cb, data);
  if (capsid__capstore_load(capsid__state_dir(), &store, &err) == 0) {
    capsid__say(cb, data, "capability store", 1,
                "%s: %zu workspace SIDs under %s", capsid__state_dir(),
                store.n_workspaces,
                store.sid_domain[0] ? store.sid_domain : "(no SID domain)");
    capsid__capstore_free(&store);
  } else if (err.code == CAPSID_ENOSETUP) {
    capsid__say(cb, data, "capability store", 1,
                "none yet in %s: the first job creates it",
                capsid__state_dir());
  } else {
    capsid__say(cb, data, "capability store", 0, "%s",
                err.message ? err.message : capsid_strerror(err.code));
  }
  capsid__error_free(&err);
  capsid__nul_report(cb, data);
  elevated_ok = capsid__elevated_probe(cb, data);
  capsid__say(cb, data, "mode unprivileged", token_ok && job_ok, "%s",
              token_ok && job_ok
                  ? "available"
                  : "not available: this Windows does not apply restricted "
                    "tokens or job limits (Wine?); jobs are refused");
  if (token_ok && job_ok)
    return elevated_ok ? CAPSID_MODE_ELEVATED : CAPSID_MODE_UNPRIVILEGED;
  return CAPSID_MODE_NONE;
}


int capsid__system_setup(capsid__report_cb cb, void* data,
                         capsid_error_t* err) {
  capsid__caps_t caps;
  int rc;

  /* The store first: its users SID is what the sandbox group's read
   * grants name, and it must exist before anything refers to it. */
  rc = capsid__caps_get(NULL, 0, &caps, err);
  if (rc != 0)
    return rc;
  capsid__say(cb, data, "capability store", 1, "%s/%s (SIDs %s...)",
              capsid__state_dir(), CAPSID__CAPSTORE_FILE, caps.generic);
  return capsid__elevated_setup(cb, data, err);
}


/* Deletes the state directory's files and then the directory (one level:
 * capsid keeps no deeper tree there but acl/, removed the same way). */
static int remove_state_dir(const char* dir) {
  WIN32_FIND_DATAW fd;
  char* pattern;
  WCHAR* wpattern;
  HANDLE h;
  int gone;

  pattern = capsid__sprintf("%s/*", dir);
  wpattern = pattern ? capsid__utf16(pattern) : NULL;
  capsid__free(pattern);
  if (wpattern == NULL)
    return -1;
  h = FindFirstFileW(wpattern, &fd);
  capsid__free(wpattern);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      char* name = capsid__utf8(fd.cFileName);
      char* child = name ? capsid__sprintf("%s/%s", dir, name) : NULL;
      WCHAR* wchild = child ? capsid__utf16(child) : NULL;
      if (wchild != NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
          remove_state_dir(child);
        else
          DeleteFileW(wchild);
      }
      capsid__free(wchild);
      capsid__free(child);
      capsid__free(name);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
  }
  wpattern = capsid__utf16(dir);
  if (wpattern == NULL)
    return -1;
  RemoveDirectoryW(wpattern);
  gone = GetFileAttributesW(wpattern) == INVALID_FILE_ATTRIBUTES;
  capsid__free(wpattern);
  return gone ? 0 : -1;
}


int capsid__system_uninstall(capsid__report_cb cb, void* data,
                             capsid_error_t* err) {
  const char* dir = capsid__state_dir();
  capsid__acl_stats_t stats;
  capsid__capstore_t store;
  capsid_error_t lerr = {0};
  int left = 0, rc;

  /* What the ACL engine wrote, from its records (the launcher's own
   * grants are stripped from the store's roots below). */
  memset(&stats, 0, sizeof(stats));
  rc = capsid__acl_remove_all(dir, 0, &stats, &lerr);
  if (rc == 0) {
    if (stats.changed > 0)
      capsid__say(cb, data, "acl records", 1,
                  "entries removed from %llu objects the ACL engine granted",
                  (unsigned long long)stats.changed);
  } else {
    capsid__say(cb, data, "acl records", 0, "%s",
                lerr.message ? lerr.message : capsid_strerror(rc));
    left++;
  }
  capsid__error_free(&lerr);
  rc = capsid__capstore_load(dir, &store, &lerr);
  if (rc == 0) {
    left += capsid__grant_strip_store(&store, cb, data);
    if (store.sid_domain[0] != '\0')
      left += capsid__nul_strip(store.sid_domain, cb, data);
    capsid__capstore_free(&store);
  } else if (rc != CAPSID_ENOSETUP) {
    capsid__say(cb, data, "acl entries", 0, "%s",
                lerr.message ? lerr.message : capsid_strerror(rc));
    left++;
  }
  capsid__error_free(&lerr);
  left += capsid__elevated_uninstall(cb, data);
  if (remove_state_dir(dir) == 0) {
    capsid__say(cb, data, "state directory", 1, "removed %s", dir);
  } else {
    capsid__say(cb, data, "state directory", 0, "%s is still there", dir);
    left++;
  }
  if (left > 0)
    return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, dir,
                             NULL, "uninstall left %d thing(s) behind (see "
                             "above)", left);
  capsid__say(cb, data, "verified", 1, "nothing capsid added is left");
  return 0;
}


int capsid__system_audit_places(const char* cwd, capsid__strv_t* out) {
  return capsid__ww_places(cwd, out);
}


int capsid__system_audit_denied(const char* path) {
  return capsid__ww_denied(path);
}
