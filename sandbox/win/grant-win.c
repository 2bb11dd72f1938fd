/* DACL grants that make a job's writable roots writable to its capability
 * SIDs, and keep its protected paths (.git, .codex, .agents, carve-outs)
 * read-only to them.
 *
 * A path that already has the wanted ACE is skipped, so a second job in a
 * workspace costs one GetNamedSecurityInfoW per path and no walk. When an
 * ACE is missing, the ACL engine (acl/) writes the grants: its parallel,
 * per-object walk on capsid's worker pool, with deny-write entries on the
 * protected paths, recorded per workspace (so revoke and uninstall find
 * every object it changed), then every path is read back. Why not one
 * propagating SetNamedSecurityInfoW per root: it rewrites the whole tree
 * on one thread and keeps no record, so the deny ACE on a carve-out deep
 * in a root was left behind by uninstall. */
#include "grant-win.h"

#include "acl.h"
#include "env.h"
#include "win-dacl.h"
#include "win-util.h"

#include <aclapi.h>
#include <sddl.h>

#include <string.h>

#define INHERIT (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)

static int is_deny(const capsid__acl_entry_t* e) {
  return (e->perms & CAPSID__ACL_DENY) != 0;
}


static DWORD wanted_mask(const capsid__acl_entry_t* e) {
  return is_deny(e)                     ? capsid__deny_mask(e->perms)
         : (e->perms & CAPSID__ACL_W) ? CAPSID__ALLOW_MASK
                                        : CAPSID__READ_MASK;
}


/* The entries whose ACE confines the job and is read back: all but the
 * read entries that accompany a deny (a protected directory's, for
 * revoke: acl/plan.c). */
static int checked(const capsid__acl_target_t* t,
                   const capsid__acl_entry_t* e) {
  return t->kind != CAPSID__ACL_T_READ_ONLY || is_deny(e);
}


/* Does the explicit ACE at ace equal the wanted one (type, SID, inherit
 * flags where asked, and a mask covering the wanted rights)? */
static int ace_matches(const ACE_HEADER* h, const capsid__acl_entry_t* e,
                       PSID sid, int inherits) {
  const ACCESS_ALLOWED_ACE* ace = (const ACCESS_ALLOWED_ACE*)h;
  BYTE want_type = is_deny(e) ? ACCESS_DENIED_ACE_TYPE
                              : ACCESS_ALLOWED_ACE_TYPE;

  if (h->AceType != want_type || (h->AceFlags & INHERITED_ACE))
    return 0;
  if (inherits && (h->AceFlags & INHERIT) != INHERIT)
    return 0;
  if ((ace->Mask & wanted_mask(e)) != wanted_mask(e))
    return 0;
  return EqualSid(capsid__ace_sid(h), sid);
}


static int has_ace(const ACL* acl, const capsid__acl_entry_t* e,
                   int inherits) {
  PSID sid;
  DWORD i;
  void* ace;
  int found = 0;

  if (acl == NULL || e->who.sid == NULL ||
      !ConvertStringSidToSidA(e->who.sid, &sid))
    return 0;
  for (i = 0; !found && i < acl->AceCount; i++)
    if (GetAce((ACL*)acl, i, &ace))
      found = ace_matches(ace, e, sid, inherits);
  LocalFree(sid);
  return found;
}


int capsid__acl_has(const ACL* acl, const capsid__acl_entry_t* e) {
  return has_ace(acl, e, 1);
}


/* Reads the DACL of path. *sd is LocalFree'd by the caller. */
static DWORD read_dacl(const WCHAR* path, ACL** dacl,
                       PSECURITY_DESCRIPTOR* sd) {
  return GetNamedSecurityInfoW(path, SE_FILE_OBJECT,
                               DACL_SECURITY_INFORMATION, NULL, NULL, dacl,
                               NULL, sd);
}


/* The deny ACEs of target t written straight onto the placeholder
 * make_missing just created: one empty object, so no walk and no record
 * (the ACL engine would record a target that comes and goes with every
 * job, and walk for it before each). */
static void deny_new(const capsid__acl_target_t* t, const WCHAR* wpath) {
  EXPLICIT_ACCESS_W ea[4];
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID sids[4];
  ACL* old = NULL;
  ACL* acl = NULL;
  size_t i, k = 0;

  memset(ea, 0, sizeof(ea));
  for (i = 0; i < t->n_entries && k < CAPSID__ARRAY_SIZE(ea); i++) {
    if (!is_deny(&t->entries[i]) || t->entries[i].who.sid == NULL ||
        !ConvertStringSidToSidA(t->entries[i].who.sid, &sids[k]))
      continue;
    ea[k].grfAccessPermissions = CAPSID__DENY_MASK;
    ea[k].grfAccessMode = DENY_ACCESS;
    ea[k].grfInheritance = SUB_CONTAINERS_AND_OBJECTS_INHERIT;
    ea[k].Trustee.TrusteeForm = TRUSTEE_IS_SID;
    ea[k].Trustee.TrusteeType = TRUSTEE_IS_GROUP;
    ea[k].Trustee.ptstrName = (LPWSTR)sids[k];
    k++;
  }
  /* Whatever fails here, check_all reads the DACL back and the engine
   * writes what is missing. */
  if (k > 0 && read_dacl(wpath, &old, &sd) == ERROR_SUCCESS &&
      SetEntriesInAclW((ULONG)k, ea, old, &acl) == ERROR_SUCCESS)
    (void)SetNamedSecurityInfoW((WCHAR*)wpath, SE_FILE_OBJECT,
                                DACL_SECURITY_INFORMATION, NULL, NULL, acl,
                                NULL);
  if (acl != NULL)
    LocalFree(acl);
  if (sd != NULL)
    LocalFree(sd);
  for (i = 0; i < k; i++)
    LocalFree(sids[i]);
}


/* A deny ACE needs an object to sit on. A protected path that does not
 * exist is a placeholder (policy.h, missing_protected: .git, .codex or
 * .agents of a root, or the first missing component of a carve-out):
 * it is made here as one empty directory, its parent must exist, with
 * its deny ACEs, so the job finds it read-only instead of creating it
 * with content of its choosing; placeholder-win.c removes it after the
 * job. A path that appears meanwhile (made by someone else) is used as
 * it is. Called only when reading the DACL found no object: a path that
 * exists costs nothing more. */
static int make_missing(const capsid__acl_target_t* t, const WCHAR* wpath,
                        capsid_error_t* err) {
  DWORD e;

  if (CreateDirectoryW(wpath, NULL)) {
    deny_new(t, wpath);
    return 0;
  }
  e = GetLastError();
  if (GetFileAttributesW(wpath) != INVALID_FILE_ATTRIBUTES)
    return 0;
  return capsid__error_set(err, capsid__translate_os_error((int)e),
                           CAPSID_STAGE_ACL, (int)e, t->path,
                           "read_only_paths",
                           "cannot create the read-only path %s", t->path);
}


/* Is the wanted ACE in dacl? On a file the engine writes it without
 * inheritance flags (they mean nothing there), so a file is asked only for
 * type, SID and mask. */
static int has_on(const ACL* dacl, const capsid__acl_entry_t* e,
                  const WCHAR* wpath) {
  DWORD attrs;

  if (has_ace(dacl, e, 1))
    return 1;
  attrs = GetFileAttributesW(wpath);
  return attrs != INVALID_FILE_ATTRIBUTES &&
         !(attrs & FILE_ATTRIBUTE_DIRECTORY) && has_ace(dacl, e, 0);
}


/* Reads the DACL of each target of plan: *missing says whether an ACE is
 * not there yet. A protected path that does not exist is created first
 * (make_missing). With verify, a missing ACE is CAPSID_EVERIFY naming it:
 * the read-back after the walk. */
static int check_all(const capsid__acl_plan_t* plan, int verify,
                     int* missing, capsid_error_t* err) {
  size_t i, k;
  int rc = 0;

  *missing = 0;
  for (i = 0; rc == 0 && i < plan->n_targets; i++) {
    const capsid__acl_target_t* t = &plan->targets[i];
    PSECURITY_DESCRIPTOR sd = NULL;
    ACL* dacl = NULL;
    WCHAR* wpath;
    DWORD e;

    wpath = capsid__utf16(t->path);
    if (wpath == NULL)
      return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0,
                               t->path, NULL, NULL);
    e = read_dacl(wpath, &dacl, &sd);
    if ((e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) &&
        t->optional) {
      capsid__free(wpath); /* an audit finding gone since: nothing to deny */
      continue;
    }
    if ((e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) &&
        t->kind == CAPSID__ACL_T_READ_ONLY && !verify) {
      rc = make_missing(t, wpath, err);
      if (rc == 0)
        e = read_dacl(wpath, &dacl, &sd);
    }
    if (rc == 0 && e != ERROR_SUCCESS)
      rc = capsid__error_set(err, verify ? CAPSID_EVERIFY
                                         : capsid__translate_os_error((int)e),
                             verify ? CAPSID_STAGE_VERIFY : CAPSID_STAGE_ACL,
                             (int)e, t->path, NULL,
                             verify ? "cannot read the DACL of %s back"
                                    : "cannot read the DACL of %s",
                             t->path);
    for (k = 0; rc == 0 && k < t->n_entries; k++) {
      const capsid__acl_entry_t* en = &t->entries[k];
      if (!checked(t, en) || has_on(dacl, en, wpath))
        continue;
      *missing = 1;
      if (verify && is_deny(en) && !(en->perms & CAPSID__ACL_W))
        rc = capsid__error_set(
            err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, t->path,
            "policy.deny_read",
            "the deny-read ACE for %s on %s did not take effect: the job "
            "was not run", en->who.sid, t->path);
      else if (verify && t->kind == CAPSID__ACL_T_DENY)
        rc = capsid__error_set(
            err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, t->path, NULL,
            "%s is writable by Everyone and capsid could not deny it to the "
            "job (no WRITE_DAC there?): fix its DACL, let an administrator "
            "run the job once, or set CAPSID_WIN_TOKEN=strict", t->path);
      else if (verify)
        rc = capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0,
                               t->path, NULL,
                               "the %s ACE for %s on %s did not take effect",
                               is_deny(en) ? "deny-write"
                               : !(en->perms & CAPSID__ACL_W) ? "allow-read"
                                                              : "allow",
                               en->who.sid ? en->who.sid : "?", t->path);
    }
    if (sd != NULL)
      LocalFree(sd);
    capsid__free(wpath);
  }
  return rc;
}


/* The plan the engine writes when some ACE of plan is missing: 0 with
 * *need 0 when all are there, 0 with *need 1 and *out filled (freed by
 * the caller), or an error. */
static int plan_missing(const capsid__acl_plan_t* plan,
                        capsid__acl_plan_t* out, int* need,
                        capsid_error_t* err) {
  int rc;

  /* Every path already has its ACEs: one GetNamedSecurityInfoW each, and
   * no walk (what a workspace's second job costs). */
  rc = check_all(plan, 0, need, err);
  if (rc != 0 || !*need)
    return rc;
  /* Grants accumulate, as ACEs did before the engine wrote them: a job's
   * plan names only its own extra roots and carve-outs, and the engine
   * takes back what a record lists and a plan does not, which would pull
   * the grants from under another job of the workspace. */
  rc = capsid__acl_plan_copy(plan, out);
  if (rc == 0 &&
      (rc = capsid__acl_plan_keep_recorded(out, capsid__state_dir())) != 0)
    capsid__acl_plan_free(out);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0,
                             plan->targets[0].path, NULL,
                             "cannot plan the grants of %s",
                             plan->targets[0].path);
  return 0;
}


static void engine_opts(capsid__acl_opts_t* opts) {
  memset(opts, 0, sizeof(*opts));
  opts->state_dir = capsid__state_dir();
}


typedef struct ahead_s {
  capsid__prelaunch_cb cb;
  void* data;
} ahead_t;


static void ahead_done(capsid__acl_op_t* op, int status,
                       const capsid__acl_stats_t* stats,
                       const capsid_error_t* err, void* data) {
  ahead_t* a = data;

  (void)op;
  (void)stats;
  /* A walk that wrote what it could is not judged here: the launcher reads
   * every ACE back before the job starts. */
  a->cb(a->data, status, err);
  capsid__free(a);
}


int capsid__grant_ahead(uv_loop_t* loop, capsid__pool_t* pool,
                        const capsid__acl_plan_t* plan,
                        capsid__prelaunch_cb cb, void* data,
                        capsid_error_t* err) {
  capsid__acl_plan_t todo;
  capsid__acl_opts_t opts;
  ahead_t* a;
  int need, rc;

  rc = plan_missing(plan, &todo, &need, err);
  if (rc != 0 || !need)
    return rc;
  a = capsid__calloc(1, sizeof(*a));
  engine_opts(&opts);
  rc = a == NULL ? CAPSID_ENOMEM
                 : capsid__acl_op_start(loop, pool, CAPSID__ACL_APPLY, &todo,
                                        &opts, ahead_done, a, NULL);
  capsid__acl_plan_free(&todo);
  if (rc != 0) {
    capsid__free(a);
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0,
                             plan->targets[0].path, NULL,
                             "cannot start the grants of %s",
                             plan->targets[0].path);
  }
  a->cb = cb;
  a->data = data;
  return 1;
}


int capsid__grant_ensure(const capsid__acl_plan_t* plan,
                         capsid_error_t* err) {
  capsid__acl_plan_t todo;
  capsid__acl_opts_t opts;
  int need, rc;

  rc = plan_missing(plan, &todo, &need, err);
  if (rc != 0 || !need)
    return rc;
  engine_opts(&opts);
  rc = capsid__acl_run(CAPSID__ACL_APPLY, &todo, &opts, NULL, err);
  capsid__acl_plan_free(&todo);
  if (rc != 0)
    return rc;
  /* Read back: Wine accepts the writes and keeps no ACE for a capability
   * SID. */
  return check_all(plan, 1, &need, err);
}


/* Is the ACE's SID one of the domain's ("<domain>-<rid>")? */
static int ace_in_domain(const ACE_HEADER* h, const char* domain) {
  size_t n = strlen(domain);
  char* text = NULL;
  int in;

  if (h->AceType != ACCESS_ALLOWED_ACE_TYPE &&
      h->AceType != ACCESS_DENIED_ACE_TYPE)
    return 0;
  if (!ConvertSidToStringSidA(capsid__ace_sid(h), &text))
    return 0;
  in = strncmp(text, domain, n) == 0 && text[n] == '-';
  LocalFree(text);
  return in;
}


int capsid__acl_strip(const ACL* old, const char* domain, ACL** out,
                      int* removed) {
  DWORD i;
  void* ace;
  ACL* acl;

  *out = NULL;
  *removed = 0;
  if (old == NULL || domain[0] == '\0')
    return 0;
  acl = LocalAlloc(LPTR, old->AclSize);
  if (acl == NULL || !InitializeAcl(acl, old->AclSize, ACL_REVISION)) {
    if (acl != NULL)
      LocalFree(acl);
    return CAPSID_ENOMEM;
  }
  /* Only explicit ACEs: the inherited ones go when the parent's explicit
   * ACE goes and Windows propagates the new DACL. */
  for (i = 0; i < old->AceCount; i++) {
    if (!GetAce((ACL*)old, i, &ace))
      continue;
    if (!(((ACE_HEADER*)ace)->AceFlags & INHERITED_ACE) &&
        ace_in_domain(ace, domain)) {
      (*removed)++;
      continue;
    }
    if (!AddAce(acl, ACL_REVISION, MAXDWORD, ace, ((ACE_HEADER*)ace)->AceSize)) {
      LocalFree(acl);
      return CAPSID_ENOMEM;
    }
  }
  *out = acl;
  return 0;
}


/* Removes the domain's explicit ACEs from path. Returns the number
 * removed (0 for a path that does not exist), or -1 when they could not be
 * removed or are still there afterwards. */
static int strip_path(const char* path, const char* domain) {
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  ACL* stripped = NULL;
  WCHAR* wpath = capsid__utf16(path);
  DWORD e;
  int removed = 0, again = 0;

  if (wpath == NULL)
    return -1;
  e = read_dacl(wpath, &dacl, &sd);
  if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) {
    capsid__free(wpath);
    return 0;
  }
  if (e != ERROR_SUCCESS ||
      capsid__acl_strip(dacl, domain, &stripped, &removed) != 0) {
    if (sd != NULL)
      LocalFree(sd);
    capsid__free(wpath);
    return -1;
  }
  LocalFree(sd);
  if (removed > 0) {
    e = SetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION, NULL, NULL,
                              stripped, NULL);
    sd = NULL;
    if (e == ERROR_SUCCESS && read_dacl(wpath, &dacl, &sd) == ERROR_SUCCESS) {
      ACL* check = NULL;
      if (capsid__acl_strip(dacl, domain, &check, &again) != 0)
        again = 1;
      if (check != NULL)
        LocalFree(check);
    } else {
      again = 1;
    }
    if (sd != NULL)
      LocalFree(sd);
  }
  if (stripped != NULL)
    LocalFree(stripped);
  capsid__free(wpath);
  return e != ERROR_SUCCESS || again ? -1 : removed;
}


int capsid__grant_strip_store(const capsid__capstore_t* s,
                              capsid__report_cb cb, void* data) {
  static const char* const protected_names[] = {"", "/.git", "/.codex",
                                                "/.agents"};
  unsigned long removed = 0;
  size_t i, j;
  int failed = 0, r;

  for (i = 0; i < s->n_workspaces + s->n_roots; i++) {
    const char* root = i < s->n_workspaces
                           ? s->workspaces[i].path
                           : s->roots[i - s->n_workspaces].path;
    for (j = 0; j < CAPSID__ARRAY_SIZE(protected_names); j++) {
      char* path = capsid__sprintf("%s%s", root, protected_names[j]);
      r = path ? strip_path(path, s->sid_domain) : -1;
      if (r < 0) {
        capsid__say(cb, data, "acl entries", 0,
                    "could not remove capsid's ACEs from %s",
                    path ? path : root);
        failed++;
      } else {
        removed += (unsigned long)r;
      }
      capsid__free(path);
    }
  }
  if (failed == 0)
    capsid__say(cb, data, "acl entries", 1,
                "%lu ACE(s) of capsid's SIDs removed from %zu root(s)",
                removed, s->n_workspaces + s->n_roots);
  return failed;
}
