/* The one DACL rebuild every capsid writer of a DACL uses: the ACL
 * engine's walk (acl/win/dacl-win.c), the launcher's grants
 * (sandbox/win/grant-win.c) and the \\.\NUL grant. */
#ifndef CAPSID_ACL_WIN_DACL_H
#define CAPSID_ACL_WIN_DACL_H

#include <stddef.h>

#include <windows.h>

/* What a deny-write ACE takes away: every right that changes the object,
 * its attributes, its DACL or owner, or (directories) its children. */
#define CAPSID__DENY_WRITE_MASK                                              \
  (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA |                      \
   FILE_WRITE_ATTRIBUTES | FILE_DELETE_CHILD | DELETE | WRITE_DAC |          \
   WRITE_OWNER)

/* What a deny-read ACE (deny_read, elevated mode) takes away: the data,
 * the extended attributes, a directory's listing and running the file.
 * Attributes and the security descriptor stay readable, as a path's
 * existence does on Linux. */
#define CAPSID__DENY_READ_MASK (FILE_READ_DATA | FILE_READ_EA | FILE_EXECUTE)

/* The mask of a deny entry's perms (CAPSID__ACL_W and/or CAPSID__ACL_R):
 * the union of the two masks above; 0 for neither. */
DWORD capsid__deny_mask(unsigned perms);

/* One ACE capsid puts into a DACL. */
typedef struct capsid__ace_s {
  PSID sid;
  DWORD mask;
  BYTE flags; /* AceFlags: the inheritance bits */
  int deny;   /* ACCESS_DENIED_ACE_TYPE instead of ACCESS_ALLOWED */
} capsid__ace_t;

/* 1 when the ACE h of the old DACL is to be left out of the new one. */
typedef int (*capsid__ace_drop_fn)(const ACE_HEADER* h, void* data);

/* Builds the DACL Windows' access check expects (canonical order):
 *   explicit deny:  add's deny ACEs, then old's explicit deny ACEs;
 *   explicit allow: add's allow ACEs, then old's other explicit ACEs;
 *   inherited:      old's inherited ACEs, in their order.
 * Old ACEs for which drop (may be NULL) returns 1 are left out; the others
 * keep their relative order. *out is LocalFree'd by the caller. Returns 0,
 * CAPSID_EINVAL or CAPSID_ENOMEM. */
int capsid__dacl_rebuild(const ACL* old, const capsid__ace_t* add,
                         size_t n_add, capsid__ace_drop_fn drop, void* data,
                         ACL** out);

/* The Windows audit's reasons (capsid__acl_fs_audit_entry): compared by
 * address. Those three name a grant that a default job token's restricting
 * list (Everyone) passes, so capsid denies them to the job. */
extern const char capsid__ww_no_dacl[];
extern const char capsid__ww_everyone_dir[];
extern const char capsid__ww_everyone_file[];
/* 1 when the finding's why is one of the three above. */
int capsid__ww_job_writable(const char* why);

/* Is h one of the deny ACE types? */
int capsid__ace_is_deny(const ACE_HEADER* h);
/* 1 when dacl (may be NULL) holds an ACE of type (ACCESS_ALLOWED_ACE_TYPE,
 * ACCESS_DENIED_ACE_TYPE) for the SID sid_text. */
int capsid__dacl_has(const ACL* dacl, const char* sid_text, BYTE type);
/* The SID of an ACE of the plain (non-object) layouts. */
PSID capsid__ace_sid(const ACE_HEADER* h);

#endif
