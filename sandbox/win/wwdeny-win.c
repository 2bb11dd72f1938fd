/* The Everyone-writable audit's deny ACEs: see wwdeny-win.h.
 *
 * Why a deny and not a refusal: Codex's alpha refused to run when the
 * scan found anything, which makes a machine with one badly installed
 * program unusable; its later versions deny the capability SIDs on what
 * the scan finds (PR 7022), which is what capsid does. A deny ACE is
 * evaluated before any allow, so the job's restricting check fails on the
 * capability SID; Everyone's own allow is untouched for everybody else.
 *
 * The scan of the global places is cached for the process (WW_TTL_NS):
 * they change rarely, and the scan runs on the thread that plans the job.
 * The workspace's direct children are scanned at every job. Both scans
 * fan out on the worker pool and keep a record in the state directory,
 * so a new process re-lists only the places that changed since. */
#include "wwdeny-win.h"

#include "audit-scan.h"
#include "capstore.h"
#include "env.h"
#include "grant-win.h"
#include "path.h"
#include "win-util.h"
#include "win-dacl.h"

#include <uv.h>
#include <aclapi.h>

#include <stdlib.h>
#include <string.h>

#define WW_TTL_NS (600ull * 1000000000ull)
#define WW_BUDGET_MS 1000

static uv_once_t ww_once = UV_ONCE_INIT;
static uv_mutex_t ww_mutex;
static capsid__acl_audit_t ww_cache;
static uint64_t ww_cached_at;
static int ww_have;

static void ww_init(void) {
  uv_mutex_init(&ww_mutex);
}


/* Adds the canonical form of path, when it exists and is not there yet. */
static int add_place(capsid__strv_t* out, const char* path) {
  char* canon = NULL;
  int os_error = 0;

  if (path == NULL || path[0] == '\0' ||
      capsid__path_canonical(NULL, path, &canon, &os_error) != 0)
    return 0;
  /* A drive root is not a place: the audit looks at a place through its
   * parent. Its children are added one by one (add_root_children). */
  if (strlen(canon) <= capsid__path_root_len(canon) ||
      capsid__strv_contains(out, canon)) {
    capsid__free(canon);
    return 0;
  }
  return capsid__strv_push_owned(out, canon) == 0 ? 0 : CAPSID_ENOMEM;
}


/* Is path (as PATH spells it) root or beneath it? */
static int under_root(const char* path, const char* root) {
  char* a = NULL;
  char* b = NULL;
  int os_error = 0, within;

  if (root == NULL ||
      capsid__path_canonical(NULL, path, &a, &os_error) != 0 ||
      capsid__path_canonical(NULL, root, &b, &os_error) != 0) {
    capsid__free(a);
    return 0;
  }
  within = capsid__path_is_within(a, b);
  capsid__free(a);
  capsid__free(b);
  return within;
}


static int add_under(capsid__strv_t* out, const char* base,
                     const char* rest) {
  char* p;
  int rc;

  if (base == NULL)
    return 0;
  p = capsid__sprintf("%s/%s", base, rest);
  if (p == NULL)
    return CAPSID_ENOMEM;
  rc = add_place(out, p);
  capsid__free(p);
  return rc;
}


/* Every directory directly under the system drive's root, reparse points
 * left out (the audit does not follow them either). */
static int add_root_children(capsid__strv_t* out) {
  const char* drive = getenv("SystemDrive");
  WIN32_FIND_DATAW fd;
  WCHAR pattern[8];
  HANDLE h;
  int rc = 0;

  if (drive == NULL || strlen(drive) != 2 || drive[1] != ':')
    drive = "C:";
  pattern[0] = (WCHAR)drive[0];
  memcpy(pattern + 1, L":\\*", 4 * sizeof(WCHAR));
  h = FindFirstFileW(pattern, &fd);
  if (h == INVALID_HANDLE_VALUE)
    return 0;
  do {
    char name[MAX_PATH * 3];
    char* p;
    if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
        (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ||
        wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
      continue;
    if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name,
                            (int)sizeof(name), NULL, NULL) == 0)
      continue;
    p = capsid__sprintf("%c:/%s", drive[0], name);
    rc = p == NULL ? CAPSID_ENOMEM : add_place(out, p);
    capsid__free(p);
  } while (rc == 0 && FindNextFileW(h, &fd));
  FindClose(h);
  return rc;
}


int capsid__ww_places(const char* cwd, capsid__strv_t* out) {
  static const char* const env[] = {"TEMP",   "TMP",         "USERPROFILE",
                                    "PUBLIC", "ProgramData", NULL};
  static const char* const classics[] = {
      "Tasks", "Temp", "tracing", "System32/Tasks",
      "System32/spool/drivers/color", NULL};
  const char* root = getenv("SystemRoot");
  const char* path = getenv("PATH");
  char* copy;
  char* save = NULL;
  char* p;
  int rc = add_place(out, cwd), i;

  for (i = 0; rc == 0 && env[i] != NULL; i++)
    rc = add_place(out, getenv(env[i]));
  if (rc == 0 && path != NULL) {
    copy = capsid__strdup(path);
    if (copy == NULL)
      return CAPSID_ENOMEM;
    /* PATH's separator is ';' (Codex's first scan split it on '\').
     * Entries under %SystemRoot% (System32: thousands of files, each one
     * a DACL read) are left to the classics below: the system's own. */
    for (p = strtok_r(copy, ";", &save); rc == 0 && p != NULL;
         p = strtok_r(NULL, ";", &save))
      if (!under_root(p, root))
        rc = add_place(out, p);
    capsid__free(copy);
  }
  if (rc == 0)
    rc = add_place(out, root);
  for (i = 0; rc == 0 && classics[i] != NULL; i++)
    rc = add_under(out, root, classics[i]);
  if (rc == 0)
    rc = add_root_children(out);
  return rc;
}


/* On the worker pool, incremental: a place whose change time did not move
 * since the record in the state directory is not listed again. */
static int scan(const char* const* dirs, capsid__acl_audit_t* out) {
  capsid__acl_scan_opts_t o;

  memset(&o, 0, sizeof(o));
  o.audit.dirs = dirs;
  o.audit.budget_ms = WW_BUDGET_MS;
  o.state_dir = capsid__state_dir();
  return capsid__acl_audit_scan(&o, out, NULL);
}


/* The findings of the global places, copied out of the cache (the cwd's
 * own scan is left to the caller). */
static int global_findings(capsid__acl_audit_t* out) {
  capsid__strv_t places = {0};
  uint64_t now = capsid__hrtime();
  size_t i;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  uv_once(&ww_once, ww_init);
  uv_mutex_lock(&ww_mutex);
  if (!ww_have || now - ww_cached_at > WW_TTL_NS) {
    capsid__acl_audit_free(&ww_cache);
    ww_have = 0;
    rc = capsid__ww_places(NULL, &places);
    if (rc == 0)
      rc = scan((const char* const*)places.v, &ww_cache);
    capsid__strv_free(&places);
    if (rc == 0) {
      ww_have = 1;
      ww_cached_at = now;
    }
  }
  for (i = 0; rc == 0 && i < ww_cache.n; i++) {
    capsid__acl_finding_t* f = &ww_cache.v[i];
    if (capsid__ww_job_writable(f->why))
      rc = capsid__acl_audit_add(out, f->path, f->is_dir, f->why);
  }
  uv_mutex_unlock(&ww_mutex);
  if (rc != 0)
    capsid__acl_audit_free(out);
  return rc;
}


void capsid__ww_forget(void) {
  uv_once(&ww_once, ww_init);
  uv_mutex_lock(&ww_mutex);
  capsid__acl_audit_free(&ww_cache);
  ww_have = 0;
  uv_mutex_unlock(&ww_mutex);
}


static int in_roots(const capsid__sandbox_t* sb, const char* path) {
  size_t i;

  for (i = 0; i < sb->writable.n; i++)
    if (capsid__path_is_within(path, sb->writable.v[i]))
      return 1;
  return 0;
}


/* Adds the deny of every capability SID of token on f. */
static int add_deny(const capsid__acl_finding_t* f,
                    const capsid__token_plan_t* token,
                    capsid__acl_plan_t* acl) {
  capsid__acl_entry_t e;
  size_t i;
  int rc = 0;

  for (i = 0; rc == 0 && i < token->n; i++) {
    memset(&e, 0, sizeof(e));
    e.who.kind = CAPSID__ACL_GROUP;
    e.who.sid = token->sids[i];
    e.perms = CAPSID__ACL_W | CAPSID__ACL_DENY;
    e.scope = CAPSID__ACL_ACCESS | (f->is_dir ? CAPSID__ACL_DEFAULT : 0);
    rc = capsid__acl_plan_add(acl, CAPSID__ACL_T_DENY, f->path, 0, 1, &e, 1);
  }
  return rc;
}


static int deny_findings(const capsid__sandbox_t* sb,
                         const capsid__token_plan_t* token,
                         const capsid__acl_audit_t* found,
                         capsid__acl_plan_t* acl, size_t* n,
                         capsid_error_t* err) {
  size_t i;
  int rc = 0;

  for (i = 0; rc == 0 && i < found->n; i++) {
    const capsid__acl_finding_t* f = &found->v[i];
    /* Inside a root the job may write anyway (the read-only SID has no
     * root: sb->writable is empty for a read-only job). */
    if (!capsid__ww_job_writable(f->why) || in_roots(sb, f->path))
      continue;
    if (++*n > CAPSID__WW_MAX)
      return capsid__error_set(
          err, CAPSID_ETOOLONG, CAPSID_STAGE_ACL, 0, f->path, NULL,
          "more than %d places outside the writable roots are writable "
          "by Everyone (%s is one): fix their DACLs, or set "
          "CAPSID_WIN_TOKEN=strict", CAPSID__WW_MAX, f->path);
    rc = add_deny(f, token, acl);
    if (rc != 0)
      rc = capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, f->path, NULL,
                             NULL);
  }
  return rc;
}


int capsid__ww_deny_plan(const capsid__sandbox_t* sb,
                         const capsid__token_plan_t* token,
                         capsid__acl_plan_t* acl, size_t* n_denied,
                         capsid_error_t* err) {
  capsid__acl_audit_t global, local;
  const char* cwd_dirs[2] = {sb->cwd, NULL};
  size_t n = 0;
  int rc;

  if (n_denied != NULL)
    *n_denied = 0;
  if (token->variant == CAPSID__TOKEN_STRICT)
    return 0; /* Everyone is not a restricting SID: nothing to close */
  memset(&local, 0, sizeof(local));
  rc = global_findings(&global);
  if (rc == 0 && sb->cwd != NULL && !in_roots(sb, sb->cwd))
    rc = scan(cwd_dirs, &local); /* a read-only job's workspace */
  if (rc != 0)
    rc = capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, NULL, NULL,
                           "cannot scan for Everyone-writable directories");
  if (rc == 0)
    rc = deny_findings(sb, token, &global, acl, &n, err);
  if (rc == 0)
    rc = deny_findings(sb, token, &local, acl, &n, err);
  capsid__acl_audit_free(&global);
  capsid__acl_audit_free(&local);
  if (rc == 0 && n_denied != NULL)
    *n_denied = n;
  return rc;
}


int capsid__ww_denied(const char* path) {
  PSECURITY_DESCRIPTOR sd = NULL;
  capsid__capstore_t store;
  capsid_error_t err = {0};
  ACL* dacl = NULL;
  ACL* rest = NULL;
  WCHAR* wpath;
  int n = 0;

  if (capsid__capstore_load(capsid__state_dir(), &store, &err) != 0) {
    capsid__error_free(&err);
    return 0;
  }
  wpath = capsid__utf16(path);
  if (store.sid_domain[0] != '\0' && wpath != NULL &&
      GetNamedSecurityInfoW(wpath, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                            NULL, NULL, &dacl, NULL, &sd) == ERROR_SUCCESS &&
      capsid__acl_strip(dacl, store.sid_domain, &rest, &n) != 0)
    n = 0;
  if (rest != NULL)
    LocalFree(rest);
  if (sd != NULL)
    LocalFree(sd);
  capsid__free(wpath);
  capsid__capstore_free(&store);
  return n > 0;
}
