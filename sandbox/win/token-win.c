/* The restricted token a job runs with.
 *
 * CreateRestrictedToken(DISABLE_MAX_PRIVILEGE | LUA_TOKEN | WRITE_RESTRICTED)
 * of capsid's own token. WRITE_RESTRICTED makes Windows run a second access
 * check for every *write* request, using only the restricting SIDs: a job
 * can write an object only if its DACL grants the write to one of them as
 * well as to the user. The restricting SIDs are the job's capability SIDs
 * and nothing else: adding Everyone or the logon SID (as the Codex seed
 * did) would let the job write every Everyone-writable directory. Reads are
 * checked as for the user.
 *
 * The default DACL (used for objects the job creates without an explicit
 * descriptor: its threads, events, pipes) grants the user, SYSTEM and the
 * capability SIDs, so the write check passes on the job's own objects. */
#include "token-win.h"

#include <sddl.h>

#include <stdio.h>
#include <string.h>

typedef struct sids_s {
  PSID sid[CAPSID__MAX_RESTRICT];
  size_t n;
} sids_t;


static void sids_free(sids_t* s) {
  size_t i;

  for (i = 0; i < s->n; i++)
    LocalFree(s->sid[i]);
  s->n = 0;
}


static int sids_parse(const capsid__token_plan_t* plan, sids_t* s,
                      capsid_error_t* err) {
  size_t i;

  memset(s, 0, sizeof(*s));
  if (plan->n == 0 || plan->n > CAPSID__MAX_RESTRICT)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_CAPABILITY, 0,
                             NULL, NULL, "a token needs 1 to %d restricting "
                             "SIDs, not %zu", CAPSID__MAX_RESTRICT, plan->n);
  for (i = 0; i < plan->n; i++) {
    if (!ConvertStringSidToSidA(plan->sids[i], &s->sid[i])) {
      int e = (int)GetLastError();
      sids_free(s);
      return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_CAPABILITY, e,
                               NULL, NULL, "invalid capability SID %s",
                               plan->sids[i]);
    }
    s->n++;
  }
  return 0;
}


/* A buffer with GetTokenInformation's answer (capsid__free it). */
static void* token_info(HANDLE token, TOKEN_INFORMATION_CLASS cls,
                        DWORD* os_error) {
  DWORD size = 0;
  void* buf;

  GetTokenInformation(token, cls, NULL, 0, &size);
  if (size == 0) {
    *os_error = GetLastError();
    return NULL;
  }
  buf = capsid__malloc(size);
  if (buf == NULL) {
    *os_error = ERROR_NOT_ENOUGH_MEMORY;
    return NULL;
  }
  if (!GetTokenInformation(token, cls, buf, size, &size)) {
    *os_error = GetLastError();
    capsid__free(buf);
    return NULL;
  }
  return buf;
}


static int set_default_dacl(HANDLE token, const sids_t* s, DWORD* os_error) {
  BYTE system_buf[SECURITY_MAX_SID_SIZE];
  DWORD system_size = sizeof(system_buf);
  TOKEN_DEFAULT_DACL dd;
  TOKEN_USER* user;
  DWORD size;
  ACL* acl;
  size_t i;
  int ok;

  user = token_info(token, TokenUser, os_error);
  if (user == NULL)
    return -1;
  if (!CreateWellKnownSid(WinLocalSystemSid, NULL, system_buf,
                          &system_size)) {
    *os_error = GetLastError();
    capsid__free(user);
    return -1;
  }
  size = sizeof(ACL) +
         (DWORD)(2 + s->n) * (sizeof(ACCESS_ALLOWED_ACE) - sizeof(DWORD)) +
         GetLengthSid(user->User.Sid) + GetLengthSid(system_buf);
  for (i = 0; i < s->n; i++)
    size += GetLengthSid(s->sid[i]);
  size = (size + 3) & ~3u;
  acl = capsid__calloc(1, size);
  ok = acl != NULL && InitializeAcl(acl, size, ACL_REVISION) &&
       AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, user->User.Sid) &&
       AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, system_buf);
  for (i = 0; ok && i < s->n; i++)
    ok = AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, s->sid[i]);
  if (ok) {
    dd.DefaultDacl = acl;
    ok = SetTokenInformation(token, TokenDefaultDacl, &dd, sizeof(dd));
  }
  *os_error = ok ? 0 : (acl ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY);
  capsid__free(acl);
  capsid__free(user);
  return ok ? 0 : -1;
}


int capsid__token_create(const capsid__token_plan_t* plan, HANDLE* out,
                         capsid_error_t* err) {
  SID_AND_ATTRIBUTES restricting[CAPSID__MAX_RESTRICT];
  HANDLE self = NULL, token = NULL;
  DWORD os_error = 0;
  sids_t s;
  size_t i;
  int rc;

  *out = NULL;
  rc = sids_parse(plan, &s, err);
  if (rc != 0)
    return rc;
  /* The new token has the access of the handle it was made from: the
   * launcher needs to query it, set its default DACL and assign it. */
  if (!OpenProcessToken(GetCurrentProcess(),
                        TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY |
                            TOKEN_ADJUST_DEFAULT,
                        &self)) {
    os_error = GetLastError();
    sids_free(&s);
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY,
                             (int)os_error, NULL, NULL,
                             "OpenProcessToken failed");
  }
  for (i = 0; i < s.n; i++) {
    restricting[i].Sid = s.sid[i];
    restricting[i].Attributes = 0;
  }
  if (!CreateRestrictedToken(self,
                             DISABLE_MAX_PRIVILEGE | LUA_TOKEN |
                                 WRITE_RESTRICTED,
                             0, NULL, 0, NULL, (DWORD)s.n, restricting,
                             &token)) {
    os_error = GetLastError();
    rc = capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY,
                           (int)os_error, NULL, NULL,
                           "CreateRestrictedToken failed");
  } else if (set_default_dacl(token, &s, &os_error) != 0) {
    rc = capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY,
                           (int)os_error, NULL, NULL,
                           "cannot set the token's default DACL");
  }
  CloseHandle(self);
  sids_free(&s);
  if (rc != 0) {
    if (token != NULL)
      CloseHandle(token);
    return rc;
  }
  *out = token;
  return 0;
}


/* Appends text to a bounded message. */
static void note(char* msg, size_t size, const char* text) {
  size_t n = strlen(msg);

  if (n + 1 < size)
    snprintf(msg + n, size - n, "%s", text);
}


int capsid__token_verify(HANDLE token, const capsid__token_plan_t* plan,
                         capsid_error_t* err) {
  TOKEN_GROUPS* groups;
  TOKEN_PRIVILEGES* privs;
  LUID change_notify;
  DWORD os_error = 0, i, j;
  char missing[512] = "", extra[256] = "", kept[512] = "";
  sids_t s;
  int rc;

  rc = sids_parse(plan, &s, err);
  if (rc != 0)
    return rc;
  /* The restricting list: exactly the plan's SIDs. Wine drops them all
   * (IsTokenRestricted FALSE, TokenRestrictedSids empty or failing). */
  groups = token_info(token, TokenRestrictedSids, &os_error);
  for (i = 0; i < s.n; i++) {
    int found = 0;
    for (j = 0; groups != NULL && j < groups->GroupCount; j++)
      if (EqualSid(groups->Groups[j].Sid, s.sid[i]))
        found = 1;
    if (!found) {
      note(missing, sizeof(missing), missing[0] ? ", " : "");
      note(missing, sizeof(missing), plan->sids[i]);
    }
  }
  for (j = 0; groups != NULL && j < groups->GroupCount; j++) {
    int planned = 0;
    char* text = NULL;
    for (i = 0; i < s.n; i++)
      if (EqualSid(groups->Groups[j].Sid, s.sid[i]))
        planned = 1;
    if (!planned && ConvertSidToStringSidA(groups->Groups[j].Sid, &text)) {
      note(extra, sizeof(extra), extra[0] ? ", " : "");
      note(extra, sizeof(extra), text);
      LocalFree(text);
    }
  }
  capsid__free(groups);
  sids_free(&s);
  if (missing[0] == '\0' && !IsTokenRestricted(token))
    snprintf(missing, sizeof(missing), "all (the token is not restricted)");

  /* Privileges: DISABLE_MAX_PRIVILEGE leaves SeChangeNotifyPrivilege only
   * (Wine ignores the flag and keeps them all). */
  privs = token_info(token, TokenPrivileges, &os_error);
  if (privs == NULL) {
    snprintf(kept, sizeof(kept), "(cannot read: error %lu)", os_error);
  } else {
    LookupPrivilegeValueA(NULL, SE_CHANGE_NOTIFY_NAME, &change_notify);
    for (i = 0; i < privs->PrivilegeCount; i++) {
      char name[64];
      DWORD len = sizeof(name);
      LUID l = privs->Privileges[i].Luid;
      if (l.LowPart == change_notify.LowPart &&
          l.HighPart == change_notify.HighPart)
        continue;
      if (!LookupPrivilegeNameA(NULL, &l, name, &len))
        snprintf(name, sizeof(name), "LUID %lu", l.LowPart);
      note(kept, sizeof(kept), kept[0] ? ", " : "");
      note(kept, sizeof(kept), name);
    }
    capsid__free(privs);
  }
  if (missing[0] == '\0' && extra[0] == '\0' && kept[0] == '\0')
    return 0;
  return capsid__error_set(
      err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, NULL, NULL,
      "the restricted token did not take effect:%s%s%s%s%s%s",
      missing[0] ? " restricting SIDs missing: " : "", missing,
      extra[0] ? "; unexpected restricting SIDs: " : "", extra,
      kept[0] ? "; privileges not removed: " : "", kept);
}


int capsid__token_user_sid(HANDLE token, char out[CAPSID__SID_MAX]) {
  HANDLE self = NULL;
  TOKEN_USER* user;
  DWORD os_error = 0;
  char* s = NULL;
  int ok;

  if (token == NULL) {
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &self))
      return -1;
    token = self;
  }
  user = token_info(token, TokenUser, &os_error);
  ok = user != NULL && ConvertSidToStringSidA(user->User.Sid, &s) &&
       strlen(s) < CAPSID__SID_MAX;
  if (ok)
    memcpy(out, s, strlen(s) + 1);
  LocalFree(s);
  capsid__free(user);
  if (self != NULL)
    CloseHandle(self);
  return ok ? 0 : -1;
}
