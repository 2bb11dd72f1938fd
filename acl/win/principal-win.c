/* Principals on Windows: SID strings and account names (see acl.h).
 *
 * A numeric POSIX id means nothing to NTFS, so it is refused here, naming
 * the option, instead of being planned and then failing in the walk. */
#include "acl.h"

#include "win-util.h"

#include <aclapi.h>
#include <sddl.h>

#include <string.h>

/* The canonical string of sid (a new copy), or NULL. */
static char* sid_text(PSID sid) {
  char* text = NULL;
  char* copy;

  if (!ConvertSidToStringSidA(sid, &text))
    return NULL;
  copy = capsid__strdup(text);
  LocalFree(text);
  return copy;
}


/* "S-1-..." as ConvertStringSidToSidA reads it. That function also takes
 * SDDL's two-letter aliases ("BA", "WD"), which are account-like names,
 * not SID strings: only text spelled as a SID is taken as one. */
static char* parse_sid(const char* text) {
  PSID sid;
  char* copy;

  if ((text[0] != 'S' && text[0] != 's') || text[1] != '-')
    return NULL;
  if (!ConvertStringSidToSidA(text, &sid))
    return NULL;
  copy = IsValidSid(sid) ? sid_text(sid) : NULL;
  LocalFree(sid);
  return copy;
}


/* The SID of an account name on this machine (or its domain). */
static char* lookup_name(const char* text, DWORD* os_error) {
  WCHAR* name = capsid__utf16(text);
  WCHAR* domain = NULL;
  DWORD sid_size = 0, domain_size = 0;
  SID_NAME_USE use;
  PSID sid = NULL;
  char* copy = NULL;

  *os_error = 0;
  if (name == NULL)
    return NULL;
  /* The first call only says how large the SID and the domain are. */
  LookupAccountNameW(NULL, name, NULL, &sid_size, NULL, &domain_size, &use);
  *os_error = GetLastError();
  if (*os_error == ERROR_INSUFFICIENT_BUFFER && sid_size > 0) {
    sid = capsid__malloc(sid_size);
    domain = capsid__malloc((domain_size + 1) * sizeof(WCHAR));
    if (sid != NULL && domain != NULL &&
        LookupAccountNameW(NULL, name, sid, &sid_size, domain, &domain_size,
                           &use))
      copy = sid_text(sid);
    else
      *os_error = GetLastError();
  }
  capsid__free(sid);
  capsid__free(domain);
  capsid__free(name);
  return copy;
}


int capsid__acl_principal_parse(const char* text, capsid__acl_who_kind_t kind,
                                const char* field,
                                capsid__acl_principal_t* out,
                                capsid_error_t* err) {
  DWORD os_error = 0;
  char* sid;

  memset(out, 0, sizeof(*out));
  sid = parse_sid(text);
  if (sid == NULL && text[0] != '\0')
    sid = lookup_name(text, &os_error);
  if (sid == NULL)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL,
                             (int)os_error, NULL, field,
                             "%s: \"%s\" is neither a SID (S-1-...) nor an "
                             "account name this machine knows",
                             field, text);
  out->kind = kind;
  out->sid = sid;
  return 0;
}


int capsid__acl_principal_owner(const char* path,
                                capsid__acl_principal_t* out,
                                capsid_error_t* err) {
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  WCHAR* wpath = capsid__utf16(path);
  DWORD e;

  memset(out, 0, sizeof(*out));
  if (wpath == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0, path,
                             NULL, NULL);
  e = GetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                            OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                            NULL, &sd);
  capsid__free(wpath);
  if (e == ERROR_SUCCESS && owner != NULL)
    out->sid = sid_text(owner);
  if (sd != NULL)
    LocalFree(sd);
  if (out->sid == NULL)
    return capsid__error_set(err, e ? capsid__translate_os_error((int)e)
                                    : CAPSID_ENOMEM,
                             CAPSID_STAGE_ACL, (int)e, path, NULL,
                             "cannot find the owner of %s", path);
  out->kind = CAPSID__ACL_USER;
  return 0;
}


void capsid__acl_principal_free(capsid__acl_principal_t* p) {
  capsid__free((char*)p->sid);
  p->sid = NULL;
}
