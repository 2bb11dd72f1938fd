/* DACLs as the ACL engine's Windows backend writes them: one object at a
 * time, on capsid's worker pool, with NtSetSecurityObject on a handle the
 * walker opened without following reparse points.
 *
 * Why per object and not SetNamedSecurityInfoW on the root: that call
 * rewrites the inherited ACEs of the whole tree on every change, on one
 * thread, which is the 20 s - 2 min refresh Codex users report. Here the
 * walker's record lets an unchanged tree be skipped, the changed parts
 * are written in parallel, and NtSetSecurityObject stores exactly the
 * DACL given (no propagation), which is what a per-object walk wants.
 *
 * How entries become ACEs (a principal must be a SID here):
 *   R -> FILE_GENERIC_READ, W -> FILE_GENERIC_WRITE | DELETE,
 *   X (and setfacl's conditional X) -> FILE_GENERIC_EXECUTE;
 *   W | DENY -> a deny ACE of CAPSID__DENY_WRITE_MASK (every right that
 *   changes the object, its DACL or its children); R | DENY -> one of
 *   CAPSID__DENY_READ_MASK (deny_read).
 *   FILE_DELETE_CHILD is never granted: it lets a holder delete or rename
 *   any child of a directory whatever the child's DACL says (.git).
 *   Scope ACCESS -> an explicit ACE on the object; DEFAULT -> inheritable
 *   (OBJECT_INHERIT | CONTAINER_INHERIT) on directories, INHERIT_ONLY when
 *   the entry is DEFAULT alone. Files take only ACCESS entries.
 * Entries of one SID replace its explicit ACEs of the same kind (allow or
 * deny); those of the other kind stay. A new DACL keeps canonical order: explicit deny, explicit allow (capsid's
 * first), inherited (capsid__dacl_rebuild, shared with the launcher's
 * grants). Removing a principal removes its explicit ACEs and
 * the inherited copies files made under a grant took from it. */
#include "acl-int.h"

#include "fault.h"
#include "win-dacl.h"
#include "win-fs.h"
#include "win-util.h"

#include <aclapi.h>
#include <sddl.h>
#include <winternl.h>

#include <string.h>

#define PLAN_MAX 16
#define INHERIT_BOTH (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)

/* ntdll's; declared in the DDK's ntifs.h, which user code does not get. */
NTSTATUS NTAPI NtSetSecurityObject(HANDLE handle, SECURITY_INFORMATION info,
                                   PSECURITY_DESCRIPTOR sd);

typedef struct want_s {
  PSID sid;
  DWORD mask;
  int deny;       /* a deny ACE */
  BYTE dir_flags; /* AceFlags on a directory */
  int on_files;   /* an ACCESS entry: files get it too (flags 0) */
} want_t;

struct capsid__acl_fsplan_s {
  want_t set[PLAN_MAX];
  int n_set;
  PSID rm[PLAN_MAX];
  int rm_deny[PLAN_MAX]; /* a removed deny entry takes deny ACEs only */
  int n_rm;
  int only_if_needed;
};


DWORD capsid__deny_mask(unsigned perms) {
  return (perms & CAPSID__ACL_W ? CAPSID__DENY_WRITE_MASK : 0) |
         (perms & CAPSID__ACL_R ? CAPSID__DENY_READ_MASK : 0);
}


static DWORD perms_mask(unsigned perms) {
  DWORD m = 0;

  if (perms & CAPSID__ACL_DENY)
    return capsid__deny_mask(perms);
  if (perms & CAPSID__ACL_R)
    m |= FILE_GENERIC_READ;
  if (perms & CAPSID__ACL_W)
    m |= FILE_GENERIC_WRITE | DELETE;
  if (perms & (CAPSID__ACL_X | CAPSID__ACL_XCOND))
    m |= FILE_GENERIC_EXECUTE;
  return m;
}


int capsid__acl_win_want(const capsid__acl_entry_t* e, DWORD* mask,
                         BYTE* dir_flags, int* on_files, int* deny) {
  if (e->who.sid == NULL)
    return CAPSID_EINVAL; /* POSIX ids mean nothing to NTFS */
  *mask = perms_mask(e->perms);
  *deny = (e->perms & CAPSID__ACL_DENY) != 0;
  if (*mask == 0)
    return CAPSID_EINVAL; /* a deny of nothing */
  *on_files = (e->scope & CAPSID__ACL_ACCESS) != 0;
  *dir_flags = 0;
  if (e->scope & CAPSID__ACL_DEFAULT)
    *dir_flags = INHERIT_BOTH | (*on_files ? 0 : INHERIT_ONLY_ACE);
  return 0;
}


static void plan_free(capsid__acl_fsplan_t* p) {
  int i;

  for (i = 0; i < p->n_set; i++)
    LocalFree(p->set[i].sid);
  for (i = 0; i < p->n_rm; i++)
    LocalFree(p->rm[i]);
  capsid__free(p);
}


int capsid__acl_fsplan_new(const capsid__acl_entry_t* set, size_t n_set,
                           const capsid__acl_entry_t* remove,
                           size_t n_remove, int only_if_needed,
                           capsid__acl_fsplan_t** out) {
  capsid__acl_fsplan_t* p;
  size_t i;
  int rc = 0;

  *out = NULL;
  if (n_set > PLAN_MAX || n_remove > PLAN_MAX)
    return CAPSID_EINVAL;
  p = capsid__calloc(1, sizeof(*p));
  if (p == NULL)
    return CAPSID_ENOMEM;
  p->only_if_needed = only_if_needed;
  /* Every SID is parsed before any walker thread starts. */
  for (i = 0; rc == 0 && i < n_set; i++) {
    want_t* w = &p->set[p->n_set];
    rc = capsid__acl_win_want(&set[i], &w->mask, &w->dir_flags, &w->on_files,
                              &w->deny);
    if (rc == 0 && !ConvertStringSidToSidA(set[i].who.sid, &w->sid))
      rc = CAPSID_EINVAL;
    if (rc == 0)
      p->n_set++;
  }
  for (i = 0; rc == 0 && i < n_remove; i++) {
    if (remove[i].who.sid == NULL ||
        !ConvertStringSidToSidA(remove[i].who.sid, &p->rm[p->n_rm]))
      rc = CAPSID_EINVAL;
    else
      p->rm_deny[p->n_rm++] = (remove[i].perms & CAPSID__ACL_DENY) != 0;
  }
  if (rc != 0) {
    plan_free(p);
    return rc;
  }
  *out = p;
  return 0;
}


void capsid__acl_fsplan_free(capsid__acl_fsplan_t* p) {
  if (p != NULL)
    plan_free(p);
}


/* Files a job makes on Windows belong to the caller's token already (the
 * launcher runs it with a restricted copy of it): nothing to hand back. */
void capsid__acl_fsplan_reclaim(capsid__acl_fsplan_t* p, int mode,
                                uint32_t uid, uint32_t to_uid,
                                uint32_t to_gid) {
  (void)p;
  (void)mode;
  (void)uid;
  (void)to_uid;
  (void)to_gid;
}


int capsid__acl_fs_reclaim(const capsid__acl_fsplan_t* p,
                           capsid__acl_dir_t d, const char* name,
                           uint64_t root_mnt, int* os_error) {
  (void)p;
  (void)d;
  (void)name;
  (void)root_mnt;
  *os_error = 0;
  return 0;
}


static int is_allow(const ACE_HEADER* h) {
  return h->AceType == ACCESS_ALLOWED_ACE_TYPE;
}


/* The plain allow and deny ACEs, the only kinds capsid writes. */
static int is_plain(const ACE_HEADER* h) {
  return h->AceType == ACCESS_ALLOWED_ACE_TYPE ||
         h->AceType == ACCESS_DENIED_ACE_TYPE;
}


static int is_deny_ace(const ACE_HEADER* h) {
  return h->AceType == ACCESS_DENIED_ACE_TYPE;
}


/* An allow or deny ACE, explicit or inherited, of a removed entry: a
 * removed allow takes the SID's allow ACEs, a removed deny its deny ACEs,
 * so taking back a protected path's deny leaves the grant beneath it. */
static int in_rm(const capsid__acl_fsplan_t* p, const ACE_HEADER* h) {
  int i;

  if (!is_plain(h))
    return 0;
  for (i = 0; i < p->n_rm; i++)
    if (p->rm_deny[i] == is_deny_ace(h) &&
        EqualSid(capsid__ace_sid(h), p->rm[i]))
      return 1;
  return 0;
}


/* Is the explicit ACE h of a set entry's SID and kind (allow or deny), so
 * capsid's, to be replaced by the wanted one? An ACE of the other kind
 * stays: a file carve-out inside a writable root gets the root's allow
 * from one target and its own deny from another, and neither may undo
 * the other's. */
static int of_set_sid(const capsid__acl_fsplan_t* p, const ACE_HEADER* h) {
  int i;

  if (!is_plain(h) || (h->AceFlags & INHERITED_ACE))
    return 0;
  for (i = 0; i < p->n_set; i++)
    if (p->set[i].deny == is_deny_ace(h) &&
        EqualSid(capsid__ace_sid(h), p->set[i].sid))
      return 1;
  return 0;
}


static int wanted_here(const want_t* w, int is_dir, BYTE* flags) {
  *flags = is_dir ? w->dir_flags : 0;
  return is_dir ? (w->on_files || w->dir_flags != 0) : w->on_files;
}


/* Is h exactly the ACE w makes on this object? */
static int is_wanted(const ACE_HEADER* h, const want_t* w, int is_dir) {
  BYTE flags;

  return wanted_here(w, is_dir, &flags) &&
         h->AceType == (w->deny ? ACCESS_DENIED_ACE_TYPE
                                : ACCESS_ALLOWED_ACE_TYPE) &&
         h->AceFlags == flags &&
         ((const ACCESS_ALLOWED_ACE*)h)->Mask == w->mask &&
         EqualSid(capsid__ace_sid(h), w->sid);
}


/* The DACL already says what the plan says: every wanted ACE is there
 * exactly, no other explicit ACE of those SIDs, nothing of a removed
 * one. */
static int already(const capsid__acl_fsplan_t* p, const ACL* acl,
                   int is_dir) {
  DWORD i;
  void* ace;
  int k, found;
  BYTE flags;

  for (k = 0; k < p->n_set; k++) {
    if (!wanted_here(&p->set[k], is_dir, &flags))
      continue;
    found = 0;
    for (i = 0; acl != NULL && !found && i < acl->AceCount; i++)
      found = GetAce((ACL*)acl, i, &ace) && is_wanted(ace, &p->set[k], is_dir);
    if (!found)
      return 0;
  }
  for (i = 0; acl != NULL && i < acl->AceCount; i++) {
    if (!GetAce((ACL*)acl, i, &ace))
      continue;
    if (in_rm(p, ace))
      return 0;
    if (of_set_sid(p, ace)) {
      /* Some other explicit ACE of a set SID: not what the plan says. */
      int matches = 0;
      for (k = 0; k < p->n_set && !matches; k++)
        matches = is_wanted(ace, &p->set[k], is_dir);
      if (!matches)
        return 0;
    }
  }
  return 1;
}


/* Old ACEs the plan replaces or takes away. */
static int plan_drops(const ACE_HEADER* h, void* data) {
  const capsid__acl_fsplan_t* p = data;

  return in_rm(p, h) || of_set_sid(p, h);
}


int capsid__acl_win_dacl(const capsid__acl_fsplan_t* p, const ACL* old,
                         int is_dir, ACL** out) {
  capsid__ace_t add[PLAN_MAX];
  size_t n_add = 0;
  int k;

  for (k = 0; k < p->n_set; k++) {
    if (!wanted_here(&p->set[k], is_dir, &add[n_add].flags))
      continue;
    add[n_add].sid = p->set[k].sid;
    add[n_add].mask = p->set[k].mask;
    add[n_add].deny = p->set[k].deny;
    n_add++;
  }
  return capsid__dacl_rebuild(old, add, n_add, plan_drops, (void*)p, out);
}


/* Someone everybody is: Everyone, Authenticated Users, Users. */
static int is_everybody(PSID sid) {
  return IsWellKnownSid(sid, WinWorldSid) ||
         IsWellKnownSid(sid, WinAuthenticatedUserSid) ||
         IsWellKnownSid(sid, WinBuiltinUsersSid);
}


/* Which kind of everybody an effective allow ACE with any of rights
 * names: 2 Everyone, 1 Authenticated Users or Users, 0 none. */
static int everybody_has(const ACL* acl, DWORD rights) {
  DWORD i;
  void* ace;
  int found = 0;

  for (i = 0; acl != NULL && i < acl->AceCount; i++)
    if (GetAce((ACL*)acl, i, &ace) && is_allow(ace) &&
        !(((ACE_HEADER*)ace)->AceFlags & INHERIT_ONLY_ACE) &&
        (((ACCESS_ALLOWED_ACE*)ace)->Mask & rights) &&
        is_everybody(capsid__ace_sid(ace))) {
      if (IsWellKnownSid(capsid__ace_sid(ace), WinWorldSid))
        return 2;
      found = 1;
    }
  return found;
}


const char capsid__ww_no_dacl[] = "no DACL: everyone has full access";
const char capsid__ww_everyone_dir[] = "DACL lets Everyone create files";
const char capsid__ww_everyone_file[] = "DACL lets Everyone write";
static const char users_dir[] =
    "DACL lets Users or Authenticated Users create files";
static const char users_file[] =
    "DACL lets Users or Authenticated Users write";


int capsid__ww_job_writable(const char* why) {
  return why == capsid__ww_no_dacl || why == capsid__ww_everyone_dir ||
         why == capsid__ww_everyone_file;
}


static int apply_handle(const capsid__acl_fsplan_t* p, HANDLE h, int is_dir,
                        int dry_run, int* os_error) {
  PSECURITY_DESCRIPTOR old_sd = NULL;
  SECURITY_DESCRIPTOR sd;
  SECURITY_DESCRIPTOR_CONTROL control = 0;
  DWORD revision, e;
  ACL* dacl = NULL;
  ACL* neu = NULL;
  NTSTATUS st;
  int rc, f;

  e = GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL,
                      NULL, &dacl, NULL, &old_sd);
  if (e != ERROR_SUCCESS) {
    *os_error = (int)e;
    return capsid__translate_os_error((int)e);
  }
  /* A traverse grant where everybody may traverse already adds nothing. */
  if ((p->only_if_needed && p->n_set > 0 &&
       everybody_has(dacl, FILE_TRAVERSE)) ||
      already(p, dacl, is_dir)) {
    LocalFree(old_sd);
    return CAPSID__ACL_R_UNCHANGED;
  }
  if (dry_run) {
    LocalFree(old_sd);
    return CAPSID__ACL_R_CHANGED;
  }
  rc = capsid__acl_win_dacl(p, dacl, is_dir, &neu);
  GetSecurityDescriptorControl(old_sd, &control, &revision);
  LocalFree(old_sd);
  if (rc != 0)
    return rc;
  /* Keep whether the object inherits at all (a protected DACL stays
   * protected) and that its inherited ACEs are marked as such. */
  InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
  SetSecurityDescriptorDacl(&sd, TRUE, neu, FALSE);
  SetSecurityDescriptorControl(&sd,
                               SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED,
                               control & (SE_DACL_PROTECTED |
                                          SE_DACL_AUTO_INHERITED));
  f = capsid__fault("acl.setxattr");
  st = f ? (NTSTATUS)0xC0000022L /* STATUS_ACCESS_DENIED */
         : NtSetSecurityObject(h, DACL_SECURITY_INFORMATION, &sd);
  LocalFree(neu);
  if (st < 0) {
    *os_error = (int)RtlNtStatusToDosError(st);
    return capsid__translate_os_error(*os_error);
  }
  return CAPSID__ACL_R_CHANGED;
}


int capsid__acl_fs_apply(const capsid__acl_fsplan_t* p, capsid__acl_dir_t d,
                         const char* name, uint64_t root_mnt, int dry_run,
                         int* os_error) {
  capsid__acl_stat_t st;
  HANDLE h;
  DWORD e;
  int rc;

  *os_error = 0;
  if (name == NULL) {
    if (capsid__win_stat((HANDLE)d, &st, NULL) != 0) {
      *os_error = (int)GetLastError();
      return capsid__translate_os_error(*os_error);
    }
    if (st.mnt != root_mnt)
      return CAPSID__ACL_R_XDEV;
    return apply_handle(p, (HANDLE)d, st.type == CAPSID__ACL_FT_DIR, dry_run,
                        os_error);
  }
  e = capsid__win_open_at((HANDLE)d, name,
                          READ_CONTROL | FILE_READ_ATTRIBUTES |
                              (dry_run ? 0 : WRITE_DAC),
                          0, &h);
  if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
    return CAPSID__ACL_R_GONE;
  if (e != 0) {
    *os_error = (int)e;
    return capsid__translate_os_error((int)e);
  }
  /* Looked at through the handle that will be written: what is checked is
   * what is changed, even if the name is swapped meanwhile. */
  if (capsid__win_stat(h, &st, NULL) != 0) {
    *os_error = (int)GetLastError();
    rc = capsid__translate_os_error(*os_error);
  } else if (st.type == CAPSID__ACL_FT_LNK) {
    rc = CAPSID__ACL_R_SPECIAL;
  } else if (st.type == CAPSID__ACL_FT_DIR) {
    rc = CAPSID__ACL_R_DIR;
  } else if (st.nlink > 1) {
    rc = CAPSID__ACL_R_LINK;
  } else if (st.mnt != root_mnt) {
    rc = CAPSID__ACL_R_XDEV;
  } else {
    rc = apply_handle(p, h, 0, dry_run, os_error);
  }
  CloseHandle(h);
  return rc;
}


int capsid__acl_fs_apply_dir(const capsid__acl_fsplan_t* p,
                             capsid__acl_dir_t d,
                             const capsid__acl_stat_t* st, int dry_run,
                             int* os_error) {
  (void)st;
  *os_error = 0;
  return apply_handle(p, (HANDLE)d, 1, dry_run, os_error);
}


/* The Everyone-writable audit: does the DACL let everybody (Everyone,
 * Authenticated Users, Users) write or create here? Only Everyone (or no
 * DACL) passes a default job token's restricting check
 * (capsid__ww_job_writable); the others are reported all the same. POSIX
 * group ids mean
 * nothing on Windows: the job's capability SIDs never appear outside the
 * roots capsid granted. */
const char* capsid__acl_fs_audit_entry(capsid__acl_dir_t d, const char* name,
                                       const uint32_t* gids, size_t n_gids,
                                       int* is_dir) {
  PSECURITY_DESCRIPTOR sd = NULL;
  capsid__acl_stat_t st;
  const char* why = NULL;
  ACL* dacl = NULL;
  HANDLE h;

  (void)gids;
  (void)n_gids;
  *is_dir = 0;
  if (capsid__win_open_at((HANDLE)d, name,
                          READ_CONTROL | FILE_READ_ATTRIBUTES, 0, &h) != 0)
    return NULL;
  if (capsid__win_stat(h, &st, NULL) == 0 && st.type != CAPSID__ACL_FT_LNK) {
    *is_dir = st.type == CAPSID__ACL_FT_DIR;
    if (GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL,
                        NULL, &dacl, NULL, &sd) == ERROR_SUCCESS) {
      int who = dacl == NULL ? 3
                : everybody_has(dacl, FILE_WRITE_DATA | FILE_APPEND_DATA);
      if (who == 3)
        why = capsid__ww_no_dacl;
      else if (who == 2)
        why = *is_dir ? capsid__ww_everyone_dir : capsid__ww_everyone_file;
      else if (who == 1)
        why = *is_dir ? users_dir : users_file;
      LocalFree(sd);
    }
  }
  CloseHandle(h);
  return why;
}
