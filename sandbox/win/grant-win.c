/* DACL grants that make a job's writable roots writable to its capability
 * SIDs, and keep its protected paths (.git, .codex, .agents, carve-outs)
 * read-only to them.
 *
 * The new DACL is built by capsid__dacl_rebuild (acl/win/win-dacl.h), in
 * the canonical order the ACL engine's walk writes too.
 *
 * A root that already has the wanted ACE is skipped, so a second job in a
 * workspace costs one GetNamedSecurityInfoW per path. The first grant on a
 * root uses SetNamedSecurityInfoW, which lets Windows propagate the
 * inheritable ACE to the existing tree once; the per-object incremental
 * walk on the worker pool is the ACL engine's (acl/). */
#include "capsid-win.h"

#include "win-dacl.h"
#include "win-util.h"

#include <aclapi.h>
#include <sddl.h>

#include <string.h>

#define INHERIT (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)

static DWORD wanted_mask(const capsid__ace_plan_t* a) {
  return a->deny ? CAPSID__DENY_MASK
                 : a->read ? CAPSID__READ_MASK : CAPSID__ALLOW_MASK;
}


/* Does the explicit ACE at ace equal the wanted one (type, SID, inherit
 * flags, and a mask covering the wanted rights)? */
static int ace_matches(const ACE_HEADER* h, const capsid__ace_plan_t* a,
                       PSID sid) {
  const ACCESS_ALLOWED_ACE* ace = (const ACCESS_ALLOWED_ACE*)h;
  BYTE want_type = a->deny ? ACCESS_DENIED_ACE_TYPE : ACCESS_ALLOWED_ACE_TYPE;

  if (h->AceType != want_type || (h->AceFlags & INHERITED_ACE))
    return 0;
  if ((h->AceFlags & INHERIT) != INHERIT)
    return 0;
  if ((ace->Mask & wanted_mask(a)) != wanted_mask(a))
    return 0;
  return EqualSid(capsid__ace_sid(h), sid);
}


int capsid__acl_has(const ACL* acl, const capsid__ace_plan_t* a) {
  PSID sid;
  DWORD i;
  void* ace;
  int found = 0;

  if (acl == NULL || !ConvertStringSidToSidA(a->sid, &sid))
    return 0;
  for (i = 0; !found && i < acl->AceCount; i++)
    if (GetAce((ACL*)acl, i, &ace))
      found = ace_matches(ace, a, sid);
  LocalFree(sid);
  return found;
}


int capsid__acl_merge(const ACL* old, const capsid__ace_plan_t* aces,
                      size_t n, ACL** out) {
  capsid__ace_t add[8];
  size_t k, n_add = 0;
  int rc = 0;

  *out = NULL;
  if (n > CAPSID__ARRAY_SIZE(add))
    return CAPSID_EINVAL;
  /* Only the ACEs not there yet; every old ACE stays. */
  for (k = 0; rc == 0 && k < n; k++) {
    if (capsid__acl_has(old, &aces[k]))
      continue;
    if (!ConvertStringSidToSidA(aces[k].sid, &add[n_add].sid)) {
      rc = CAPSID_EINVAL;
      break;
    }
    add[n_add].mask = wanted_mask(&aces[k]);
    add[n_add].flags = INHERIT;
    add[n_add].deny = aces[k].deny;
    n_add++;
  }
  if (rc == 0)
    rc = capsid__dacl_rebuild(old, add, n_add, NULL, NULL, out);
  for (k = 0; k < n_add; k++)
    LocalFree(add[k].sid);
  return rc;
}


/* Reads the DACL of path. *sd is LocalFree'd by the caller. */
static DWORD read_dacl(const WCHAR* path, ACL** dacl,
                       PSECURITY_DESCRIPTOR* sd) {
  return GetNamedSecurityInfoW(path, SE_FILE_OBJECT,
                               DACL_SECURITY_INFORMATION, NULL, NULL, dacl,
                               NULL, sd);
}


/* A deny ACE needs an object to sit on. A protected path that does not
 * exist is a carve-out nothing has created yet (the policy lists .git,
 * .codex and .agents only where they exist): it is made here, as a
 * directory with its parents, the rule Linux follows, so the job finds
 * it read-only instead of creating it with content of its choosing. A
 * path that appears meanwhile (made by someone else) is used as it is.
 * Called only when reading the DACL found no object: a path that exists
 * costs nothing more. */
static int make_missing(const capsid__ace_plan_t* a, const WCHAR* wpath,
                        capsid_error_t* err) {
  int os_error = 0, rc;

  rc = capsid__mkdirs(a->path, &os_error);
  if (rc == 0 || GetFileAttributesW(wpath) != INVALID_FILE_ATTRIBUTES)
    return 0;
  return capsid__error_set(err, rc, CAPSID_STAGE_ACL, os_error, a->path,
                           "read_only_paths",
                           "cannot create the read-only path %s", a->path);
}


int capsid__grant_ensure(const capsid__ace_plan_t* aces, size_t n,
                         capsid_error_t* err) {
  size_t i, j;

  /* ACEs for one path are applied together: one write per path. */
  for (i = 0; i < n; i = j) {
    PSECURITY_DESCRIPTOR sd = NULL;
    ACL* dacl = NULL;
    ACL* merged = NULL;
    WCHAR* wpath;
    DWORD e;
    size_t k;
    int all = 1, rc;

    for (j = i; j < n && strcmp(aces[j].path, aces[i].path) == 0; j++)
      ;
    wpath = capsid__utf16(aces[i].path);
    if (wpath == NULL)
      return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0,
                               aces[i].path, NULL, NULL);
    e = read_dacl(wpath, &dacl, &sd);
    if ((e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) &&
        aces[i].deny) {
      rc = make_missing(&aces[i], wpath, err);
      if (rc != 0) {
        capsid__free(wpath);
        return rc;
      }
      e = read_dacl(wpath, &dacl, &sd);
    }
    if (e != ERROR_SUCCESS) {
      capsid__free(wpath);
      return capsid__error_set(err, capsid__translate_os_error((int)e),
                               CAPSID_STAGE_ACL, (int)e, aces[i].path, NULL,
                               "cannot read the DACL of %s", aces[i].path);
    }
    for (k = i; k < j; k++)
      all = all && capsid__acl_has(dacl, &aces[k]);
    if (all) {
      LocalFree(sd);
      capsid__free(wpath);
      continue;
    }
    rc = capsid__acl_merge(dacl, aces + i, j - i, &merged);
    LocalFree(sd);
    if (rc != 0) {
      capsid__free(wpath);
      return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, aces[i].path,
                               NULL, "cannot build the DACL of %s",
                               aces[i].path);
    }
    e = SetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION, NULL, NULL, merged,
                              NULL);
    LocalFree(merged);
    if (e != ERROR_SUCCESS) {
      capsid__free(wpath);
      return capsid__error_set(err, capsid__translate_os_error((int)e),
                               CAPSID_STAGE_ACL, (int)e, aces[i].path, NULL,
                               "cannot set the DACL of %s", aces[i].path);
    }
    /* Read back: Wine accepts the call and stores nothing. */
    sd = NULL;
    dacl = NULL;
    e = read_dacl(wpath, &dacl, &sd);
    capsid__free(wpath);
    for (k = i; e == ERROR_SUCCESS && k < j; k++)
      if (!capsid__acl_has(dacl, &aces[k])) {
        LocalFree(sd);
        return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0,
                                 aces[k].path, NULL,
                                 "the %s ACE for %s on %s did not take effect",
                                 aces[k].deny   ? "deny-write"
                                 : aces[k].read ? "allow-read"
                                                : "allow",
                                 aces[k].sid, aces[k].path);
      }
    if (sd != NULL)
      LocalFree(sd);
    if (e != ERROR_SUCCESS)
      return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY,
                               (int)e, aces[i].path, NULL,
                               "cannot read the DACL of %s back",
                               aces[i].path);
  }
  return 0;
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
