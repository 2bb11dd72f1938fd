/* Rebuilding a DACL from the old one plus capsid's ACEs, in canonical
 * order (explicit deny, explicit allow, inherited).
 *
 * Why by hand and not with SetEntriesInAclW: Wine's SetEntriesInAclW
 * appends deny ACEs last, and an access check walks the DACL first-match,
 * so a deny placed after an allow would be dead. Why one function: the
 * launcher's grants and the ACL engine's per-object writes must agree on
 * the order, or a DACL one of them wrote would be reshuffled (and its
 * deny ACEs possibly moved behind allows) by the other. */
#include "win-dacl.h"

#include "capsid-common.h"

#include <sddl.h>

int capsid__ace_is_deny(const ACE_HEADER* h) {
  return h->AceType == ACCESS_DENIED_ACE_TYPE ||
         h->AceType == ACCESS_DENIED_OBJECT_ACE_TYPE ||
         h->AceType == ACCESS_DENIED_CALLBACK_ACE_TYPE ||
         h->AceType == ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE;
}


PSID capsid__ace_sid(const ACE_HEADER* h) {
  return (PSID)&((const ACCESS_ALLOWED_ACE*)h)->SidStart;
}


int capsid__dacl_has(const ACL* dacl, const char* sid_text, BYTE type) {
  PSID sid = NULL;
  DWORD i;
  void* ace;
  int found = 0;

  if (dacl == NULL || !ConvertStringSidToSidA(sid_text, &sid))
    return 0;
  for (i = 0; i < dacl->AceCount && !found; i++)
    found = GetAce((ACL*)dacl, i, &ace) &&
            ((ACE_HEADER*)ace)->AceType == type &&
            EqualSid(capsid__ace_sid(ace), sid);
  LocalFree(sid);
  return found;
}


/* Which section of the new DACL an old ACE goes to: 0 explicit deny, 1
 * explicit allow (and every other explicit type: allow-callback, ...), 2
 * inherited. */
static int section_of(const ACE_HEADER* h) {
  if (h->AceFlags & INHERITED_ACE)
    return 2;
  return capsid__ace_is_deny(h) ? 0 : 1;
}


int capsid__dacl_rebuild(const ACL* old, const capsid__ace_t* add,
                         size_t n_add, capsid__ace_drop_fn drop, void* data,
                         ACL** out) {
  DWORD size = sizeof(ACL), rev = ACL_REVISION, i;
  size_t k;
  void* ace;
  ACL* acl;
  int pass, ok = 1;

  *out = NULL;
  for (k = 0; k < n_add; k++) {
    if (add[k].sid == NULL || !IsValidSid(add[k].sid))
      return CAPSID_EINVAL;
    /* Allowed and denied ACEs have the same layout: the mask, then the
     * SID in place of SidStart. */
    size += sizeof(ACCESS_ALLOWED_ACE) - sizeof(DWORD) +
            GetLengthSid(add[k].sid);
  }
  for (i = 0; old != NULL && i < old->AceCount; i++)
    if (GetAce((ACL*)old, i, &ace))
      size += ((ACE_HEADER*)ace)->AceSize;
  size = (size + 3) & ~3u;
  /* An old DACL with object ACEs is of the DS revision, and AddAce
   * refuses to copy them into a DACL of a lower one. */
  if (old != NULL && old->AclRevision > rev)
    rev = old->AclRevision;
  acl = LocalAlloc(LPTR, size);
  if (acl == NULL || !InitializeAcl(acl, size, rev)) {
    if (acl != NULL)
      LocalFree(acl);
    return CAPSID_ENOMEM;
  }
  for (pass = 0; ok && pass < 3; pass++) {
    /* capsid's own ACEs lead their section. */
    for (k = 0; ok && pass < 2 && k < n_add; k++) {
      if (add[k].deny != (pass == 0))
        continue;
      ok = add[k].deny ? AddAccessDeniedAceEx(acl, rev, add[k].flags,
                                              add[k].mask, add[k].sid)
                       : AddAccessAllowedAceEx(acl, rev, add[k].flags,
                                               add[k].mask, add[k].sid);
    }
    for (i = 0; ok && old != NULL && i < old->AceCount; i++) {
      const ACE_HEADER* h;
      if (!GetAce((ACL*)old, i, &ace))
        continue;
      h = ace;
      if (section_of(h) != pass || (drop != NULL && drop(h, data)))
        continue;
      ok = AddAce(acl, rev, MAXDWORD, ace, h->AceSize);
    }
  }
  if (!ok) {
    LocalFree(acl);
    return CAPSID_ENOMEM;
  }
  *out = acl;
  return 0;
}
