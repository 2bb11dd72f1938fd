/* The restricted token a job runs with.
 *
 * CreateRestrictedToken(DISABLE_MAX_PRIVILEGE | LUA_TOKEN | WRITE_RESTRICTED)
 * of capsid's own token. WRITE_RESTRICTED makes Windows run a second access
 * check for every *write* request, using only the restricting SIDs: a job
 * can write an object only if its DACL grants the write to one of them as
 * well as to the user. Reads are checked as for the user.
 *
 * The default restricting list is the one the Codex seed runs with:
 * {capability SIDs, logon SID, Everyone}. PowerShell/.NET (CLR start-up),
 * user32 (desktop objects grant the logon SID) and named objects in the
 * session's namespace need the logon SID or Everyone to pass the write
 * check; with the capability SIDs alone they fail to start. The price is
 * that every directory granting Everyone or the logon SID write passes the
 * second check too: the Everyone-writable audit puts a deny ACE for the
 * job's capability SIDs on those outside the roots (docs/windows.md). The
 * STRICT variant keeps the capability SIDs only.
 *
 * BUILTIN\Administrators is made deny-only: when capsid runs elevated it
 * is an enabled group, and LUA_TOKEN is not documented to disable it.
 *
 * The default DACL (used for objects the job creates without an explicit
 * descriptor: its process, threads, events, pipes) grants the user, SYSTEM
 * and the capability SIDs, so the write check passes on the job's own
 * objects. Not the logon SID or Everyone: they are restricting SIDs of
 * every job of this user, so granting them would let a job of another
 * workspace write this job's process and pipes. */
#include "token-win.h"

#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sids_s {
  PSID sid[CAPSID__TOKEN_SIDS_MAX];
  char text[CAPSID__TOKEN_SIDS_MAX][CAPSID__SID_MAX];
  size_t n;     /* the whole restricting list */
  size_t n_cap; /* of which the capability SIDs (first) */
} sids_t;

static const char everyone_sid[] = "S-1-1-0";
static const char admins_sid[] = "S-1-5-32-544";
static const char system_sid[] = "S-1-5-18";


static void sids_free(sids_t* s) {
  size_t i;

  for (i = 0; i < s->n; i++)
    LocalFree(s->sid[i]);
  s->n = 0;
}


static int sids_add(sids_t* s, const char* text) {
  if (s->n == CAPSID__TOKEN_SIDS_MAX || strlen(text) >= CAPSID__SID_MAX ||
      !ConvertStringSidToSidA(text, &s->sid[s->n]))
    return -1;
  memcpy(s->text[s->n], text, strlen(text) + 1);
  s->n++;
  return 0;
}


/* The restricting list of plan, the logon SID taken from base (the token
 * the restricted one is made from, or the restricted one: it keeps its
 * groups). */
static int sids_plan(const capsid__token_plan_t* plan, HANDLE base,
                     sids_t* s, capsid_error_t* err) {
  char logon[CAPSID__SID_MAX];
  size_t i;

  memset(s, 0, sizeof(*s));
  if (plan->n == 0 || plan->n > CAPSID__MAX_RESTRICT)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_CAPABILITY, 0,
                             NULL, NULL, "a token needs 1 to %d capability "
                             "SIDs, not %zu", CAPSID__MAX_RESTRICT, plan->n);
  for (i = 0; i < plan->n; i++)
    if (sids_add(s, plan->sids[i]) != 0) {
      int e = (int)GetLastError();
      sids_free(s);
      return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_CAPABILITY, e,
                               NULL, NULL, "invalid capability SID %s",
                               plan->sids[i]);
    }
  s->n_cap = s->n;
  if (plan->variant == CAPSID__TOKEN_STRICT)
    return 0;
  if (capsid__token_logon_sid(base, logon) != 0) {
    sids_free(s);
    return capsid__error_set(
        err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY, 0, NULL, NULL,
        "capsid's token has no logon SID, which the default job token "
        "needs: run from an interactive or service logon, or set "
        "CAPSID_WIN_TOKEN=strict");
  }
  if (sids_add(s, logon) != 0 || sids_add(s, everyone_sid) != 0) {
    int e = (int)GetLastError();
    sids_free(s);
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY, e,
                             NULL, NULL, "cannot convert the logon SID %s",
                             logon);
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


/* The default DACL's SIDs: the user, SYSTEM, the capability SIDs. */
static int dacl_sids(HANDLE token, const sids_t* s, sids_t* out,
                     DWORD* os_error) {
  TOKEN_USER* user;
  char* text = NULL;
  size_t i;
  int rc = -1;

  memset(out, 0, sizeof(*out));
  user = token_info(token, TokenUser, os_error);
  if (user != NULL && ConvertSidToStringSidA(user->User.Sid, &text) &&
      sids_add(out, text) == 0 && sids_add(out, system_sid) == 0) {
    rc = 0;
    for (i = 0; rc == 0 && i < s->n_cap; i++)
      rc = sids_add(out, s->text[i]);
  }
  if (rc != 0) {
    if (*os_error == 0)
      *os_error = GetLastError();
    sids_free(out);
  }
  LocalFree(text);
  capsid__free(user);
  return rc;
}


static int set_default_dacl(HANDLE token, const sids_t* s, DWORD* os_error) {
  TOKEN_DEFAULT_DACL dd;
  sids_t who;
  DWORD size;
  ACL* acl;
  size_t i;
  int ok;

  if (dacl_sids(token, s, &who, os_error) != 0)
    return -1;
  size = sizeof(ACL) +
         (DWORD)who.n * (sizeof(ACCESS_ALLOWED_ACE) - sizeof(DWORD));
  for (i = 0; i < who.n; i++)
    size += GetLengthSid(who.sid[i]);
  size = (size + 3) & ~3u;
  acl = capsid__calloc(1, size);
  ok = acl != NULL && InitializeAcl(acl, size, ACL_REVISION);
  for (i = 0; ok && i < who.n; i++)
    ok = AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, who.sid[i]);
  if (ok) {
    dd.DefaultDacl = acl;
    ok = SetTokenInformation(token, TokenDefaultDacl, &dd, sizeof(dd));
  }
  *os_error = ok ? 0 : (acl ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY);
  capsid__free(acl);
  sids_free(&who);
  return ok ? 0 : -1;
}


int capsid__token_create(const capsid__token_plan_t* plan, HANDLE* out,
                         capsid_error_t* err) {
  SID_AND_ATTRIBUTES restricting[CAPSID__TOKEN_SIDS_MAX], disable;
  HANDLE self = NULL, token = NULL;
  PSID admins = NULL;
  DWORD os_error = 0;
  sids_t s;
  size_t i;
  int rc;

  *out = NULL;
  rc = sids_plan(plan, NULL, &s, err);
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
  /* CreateRestrictedToken ignores a SID to disable that the token does
   * not hold: Administrators is named whether capsid is elevated or not. */
  ConvertStringSidToSidA(admins_sid, &admins);
  disable.Sid = admins;
  disable.Attributes = 0;
  if (!CreateRestrictedToken(self,
                             DISABLE_MAX_PRIVILEGE | LUA_TOKEN |
                                 WRITE_RESTRICTED,
                             admins ? 1 : 0, admins ? &disable : NULL, 0,
                             NULL, (DWORD)s.n, restricting, &token)) {
    os_error = GetLastError();
    rc = capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY,
                           (int)os_error, NULL, NULL,
                           "CreateRestrictedToken failed");
  } else if (set_default_dacl(token, &s, &os_error) != 0) {
    rc = capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_IDENTITY,
                           (int)os_error, NULL, NULL,
                           "cannot set the token's default DACL");
  }
  LocalFree(admins);
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


static void note_item(char* msg, size_t size, const char* text) {
  note(msg, size, msg[0] ? ", " : "");
  note(msg, size, text);
}


static void note_sid(char* msg, size_t size, PSID sid) {
  char* text = NULL;

  if (ConvertSidToStringSidA(sid, &text))
    note_item(msg, size, text);
  LocalFree(text);
}


static int sids_has(const sids_t* s, PSID sid) {
  size_t i;

  for (i = 0; i < s->n; i++)
    if (EqualSid(s->sid[i], sid))
      return 1;
  return 0;
}


/* Compares a read-back SID list with the planned one: planned SIDs not
 * there go to missing, others to extra. */
static void compare_sids(const sids_t* want, PSID const* got, size_t n_got,
                         char* missing, size_t m_size, char* extra,
                         size_t e_size) {
  size_t i, j;
  int found;

  for (i = 0; i < want->n; i++) {
    for (found = 0, j = 0; j < n_got && !found; j++)
      found = EqualSid(got[j], want->sid[i]);
    if (!found)
      note_item(missing, m_size, want->text[i]);
  }
  for (j = 0; j < n_got; j++)
    if (!sids_has(want, got[j]))
      note_sid(extra, e_size, got[j]);
}


static void check_restricting(HANDLE token, const sids_t* s, char* missing,
                              size_t m_size, char* extra, size_t e_size) {
  PSID got[32];
  TOKEN_GROUPS* groups;
  DWORD os_error = 0, j;
  size_t n = 0;

  /* Wine drops them all (IsTokenRestricted FALSE, TokenRestrictedSids
   * empty or failing). */
  groups = token_info(token, TokenRestrictedSids, &os_error);
  for (j = 0; groups != NULL && j < groups->GroupCount && n < 32; j++)
    got[n++] = groups->Groups[j].Sid;
  compare_sids(s, got, n, missing, m_size, extra, e_size);
  capsid__free(groups);
  if (missing[0] == '\0' && !IsTokenRestricted(token))
    snprintf(missing, m_size, "all (the token is not restricted)");
}


/* DISABLE_MAX_PRIVILEGE leaves SeChangeNotifyPrivilege only (Wine ignores
 * the flag and keeps them all). */
static void check_privileges(HANDLE token, char* kept, size_t size) {
  TOKEN_PRIVILEGES* privs;
  LUID change_notify;
  DWORD os_error = 0, i;

  privs = token_info(token, TokenPrivileges, &os_error);
  if (privs == NULL) {
    snprintf(kept, size, "(cannot read: error %lu)", os_error);
    return;
  }
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
    note_item(kept, size, name);
  }
  capsid__free(privs);
}


/* Administrators, where the token has it, may only deny. */
static void check_admins(HANDLE token, char* out, size_t size) {
  TOKEN_GROUPS* groups;
  PSID admins = NULL;
  DWORD os_error = 0, i;

  groups = token_info(token, TokenGroups, &os_error);
  if (groups == NULL || !ConvertStringSidToSidA(admins_sid, &admins)) {
    snprintf(out, size, "(cannot read the groups: error %lu)",
             os_error ? os_error : GetLastError());
  } else {
    for (i = 0; i < groups->GroupCount; i++)
      if (EqualSid(groups->Groups[i].Sid, admins) &&
          (groups->Groups[i].Attributes & SE_GROUP_USE_FOR_DENY_ONLY) == 0)
        snprintf(out, size, "%s", admins_sid);
  }
  LocalFree(admins);
  capsid__free(groups);
}


/* The default DACL: one allow per planned SID, nothing else. */
static void check_default_dacl(HANDLE token, const sids_t* s, char* missing,
                               size_t m_size, char* extra, size_t e_size) {
  TOKEN_DEFAULT_DACL* dd;
  PSID got[32];
  DWORD os_error = 0;
  sids_t want;
  size_t n = 0;
  WORD i;
  void* ace;

  dd = token_info(token, TokenDefaultDacl, &os_error);
  if (dd == NULL || dd->DefaultDacl == NULL ||
      dacl_sids(token, s, &want, &os_error) != 0) {
    snprintf(missing, m_size, "(cannot read: error %lu)", os_error);
    capsid__free(dd);
    return;
  }
  for (i = 0; i < dd->DefaultDacl->AceCount && n < 32; i++)
    if (GetAce(dd->DefaultDacl, i, &ace)) {
      ACE_HEADER* h = ace;
      if (h->AceType == ACCESS_ALLOWED_ACE_TYPE)
        got[n++] = (PSID)&((ACCESS_ALLOWED_ACE*)ace)->SidStart;
      else
        note_item(extra, e_size, "a non-allow ACE");
    }
  compare_sids(&want, got, n, missing, m_size, extra, e_size);
  sids_free(&want);
  capsid__free(dd);
}


int capsid__token_verify(HANDLE token, const capsid__token_plan_t* plan,
                         capsid_error_t* err) {
  char missing[512] = "", extra[256] = "", kept[512] = "", admins[64] = "";
  char d_missing[256] = "", d_extra[256] = "";
  sids_t s;
  int rc;

  rc = sids_plan(plan, token, &s, err);
  if (rc != 0)
    return rc;
  check_restricting(token, &s, missing, sizeof(missing), extra,
                    sizeof(extra));
  check_privileges(token, kept, sizeof(kept));
  check_admins(token, admins, sizeof(admins));
  check_default_dacl(token, &s, d_missing, sizeof(d_missing), d_extra,
                     sizeof(d_extra));
  sids_free(&s);
  if (missing[0] == '\0' && extra[0] == '\0' && kept[0] == '\0' &&
      admins[0] == '\0' && d_missing[0] == '\0' && d_extra[0] == '\0')
    return 0;
  return capsid__error_set(
      err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, NULL, NULL,
      "the restricted token did not take effect:%s%s%s%s%s%s%s%s%s%s%s%s",
      missing[0] ? " restricting SIDs missing: " : "", missing,
      extra[0] ? "; unexpected restricting SIDs: " : "", extra,
      kept[0] ? "; privileges not removed: " : "", kept,
      admins[0] ? "; group not deny-only: " : "", admins,
      d_missing[0] ? "; default DACL lacks: " : "", d_missing,
      d_extra[0] ? "; default DACL also grants: " : "", d_extra);
}


int capsid__token_variant_from_env(capsid__token_variant_t* out,
                                   capsid_error_t* err) {
  const char* v = getenv("CAPSID_WIN_TOKEN");

  *out = CAPSID__TOKEN_DEFAULT;
  if (v == NULL || v[0] == '\0' || strcmp(v, "default") == 0)
    return 0;
  if (strcmp(v, "strict") == 0) {
    *out = CAPSID__TOKEN_STRICT;
    return 0;
  }
  return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_CAPABILITY, 0,
                           NULL, "CAPSID_WIN_TOKEN",
                           "CAPSID_WIN_TOKEN is \"%s\": use default or strict",
                           v);
}


const char* capsid__token_variant_name(capsid__token_variant_t v) {
  return v == CAPSID__TOKEN_STRICT ? "strict" : "default";
}


int capsid__token_logon_sid(HANDLE token, char out[CAPSID__SID_MAX]) {
  HANDLE self = NULL;
  TOKEN_GROUPS* groups;
  DWORD os_error = 0, i;
  char* text = NULL;
  int rc = -1;

  if (token == NULL) {
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &self))
      return -1;
    token = self;
  }
  groups = token_info(token, TokenGroups, &os_error);
  for (i = 0; groups != NULL && i < groups->GroupCount && rc != 0; i++)
    if ((groups->Groups[i].Attributes & SE_GROUP_LOGON_ID) ==
            SE_GROUP_LOGON_ID &&
        ConvertSidToStringSidA(groups->Groups[i].Sid, &text)) {
      if (strlen(text) < CAPSID__SID_MAX) {
        memcpy(out, text, strlen(text) + 1);
        rc = 0;
      }
      LocalFree(text);
    }
  capsid__free(groups);
  if (self != NULL)
    CloseHandle(self);
  return rc;
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
