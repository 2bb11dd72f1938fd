/* Who a client of the named pipe is: the token it connected with, its
 * user and groups as the numbers serve_peer_t carries (serve-win.h), and
 * the --allow-user and --allow-group accounts as those numbers. */
#include "serve-win.h"

#include "win-util.h"

#include <sddl.h>
#include <stdio.h>
#include <string.h>

/* Distinct accounts one server meets: its own, the allowed ones, its
 * clients' users and primary groups. */
#define SID_TABLE_MAX 4096
#define SID_ID_BASE 1000

static PSID sid_table[SID_TABLE_MAX];
static uint32_t sid_count;
static SRWLOCK sid_lock = SRWLOCK_INIT;


static int sid_find(PSID sid, uint32_t* id) {
  uint32_t i;

  if (IsWellKnownSid(sid, WinLocalSystemSid)) {
    *id = 0;
    return 0;
  }
  for (i = 0; i < sid_count; i++)
    if (EqualSid(sid_table[i], sid)) {
      *id = SID_ID_BASE + i;
      return 0;
    }
  return -1;
}


int serve__win_sid_known(PSID sid, uint32_t* id) {
  int rc;

  if (sid == NULL || !IsValidSid(sid))
    return -1;
  AcquireSRWLockShared(&sid_lock);
  rc = sid_find(sid, id);
  ReleaseSRWLockShared(&sid_lock);
  return rc;
}


int serve__win_sid_id(PSID sid, uint32_t* id) {
  DWORD len;
  PSID copy;
  int rc;

  if (sid == NULL || !IsValidSid(sid))
    return -1;
  AcquireSRWLockExclusive(&sid_lock);
  rc = sid_find(sid, id);
  if (rc != 0 && sid_count < SID_TABLE_MAX) {
    len = GetLengthSid(sid);
    copy = capsid__malloc(len);
    if (copy != NULL && CopySid(len, copy, sid)) {
      sid_table[sid_count] = copy;
      *id = SID_ID_BASE + sid_count++;
      rc = 0;
    } else {
      capsid__free(copy);
    }
  }
  ReleaseSRWLockExclusive(&sid_lock);
  return rc;
}


PSID serve__win_id_sid(uint32_t id) {
  static BYTE system_sid[SECURITY_MAX_SID_SIZE];
  PSID sid = NULL;
  DWORD len = sizeof(system_sid);

  if (id == 0)
    return CreateWellKnownSid(WinLocalSystemSid, NULL, system_sid, &len)
               ? (PSID)system_sid
               : NULL;
  AcquireSRWLockShared(&sid_lock);
  if (id >= SID_ID_BASE && id - SID_ID_BASE < sid_count)
    sid = sid_table[id - SID_ID_BASE];
  ReleaseSRWLockShared(&sid_lock);
  return sid;
}


const char* serve__win_id_text(uint32_t id, char* buf, size_t size) {
  PSID sid = serve__win_id_sid(id);
  char* text = NULL;

  if (sid != NULL && ConvertSidToStringSidA(sid, &text)) {
    snprintf(buf, size, "%s", text);
    LocalFree(text);
  } else {
    snprintf(buf, size, "uid %u", id);
  }
  return buf;
}


/* ------------------------------------------------------------------------ */
/* Tokens                                                                   */

/* GetTokenInformation into a new buffer (capsid__free it), or NULL. */
static void* token_info(HANDLE token, TOKEN_INFORMATION_CLASS cls) {
  DWORD len = 0;
  void* buf;

  GetTokenInformation(token, cls, NULL, 0, &len);
  if (len == 0 || (buf = capsid__malloc(len)) == NULL)
    return NULL;
  if (!GetTokenInformation(token, cls, buf, len, &len)) {
    capsid__free(buf);
    return NULL;
  }
  return buf;
}


/* A token the server must not serve: one that is restricted (a sandboxed
 * job's, capsid's own included) or an AppContainer's could otherwise
 * have the server run what it may not run itself; and a network logon
 * is a remote client, which a local server does not take. */
static int token_refused(HANDLE token, const TOKEN_GROUPS* groups) {
  DWORD app = 0, len = sizeof(app), i;

  if (IsTokenRestricted(token))
    return 1;
  if (!GetTokenInformation(token, TokenIsAppContainer, &app, len, &len) ||
      app != 0)
    return 1;
  for (i = 0; i < groups->GroupCount; i++)
    if (IsWellKnownSid(groups->Groups[i].Sid, WinNetworkSid) &&
        (groups->Groups[i].Attributes & SE_GROUP_ENABLED))
      return 1;
  return 0;
}


/* Fills out from token (an impersonation token, which out then owns).
 * Of the token's groups only those already known go into out->groups:
 * the allowed groups and primary groups are the only ones compared. */
static int peer_from_token(HANDLE token, int pid, serve_peer_t* out) {
  TOKEN_USER* user = token_info(token, TokenUser);
  TOKEN_PRIMARY_GROUP* primary = token_info(token, TokenPrimaryGroup);
  TOKEN_GROUPS* groups = token_info(token, TokenGroups);
  DWORD i;
  uint32_t id;
  int rc = -1;

  memset(out, 0, sizeof(*out));
  out->pid = pid;
  if (user == NULL || primary == NULL || groups == NULL ||
      token_refused(token, groups) ||
      serve__win_sid_id(user->User.Sid, &out->uid) != 0 ||
      serve__win_sid_id(primary->PrimaryGroup, &out->gid) != 0)
    goto done;
  for (i = 0; i < groups->GroupCount && out->n_groups < SERVE_MAX_GROUPS;
       i++) {
    DWORD attr = groups->Groups[i].Attributes;
    if ((attr & SE_GROUP_ENABLED) && !(attr & SE_GROUP_USE_FOR_DENY_ONLY) &&
        serve__win_sid_known(groups->Groups[i].Sid, &id) == 0)
      out->groups[out->n_groups++] = id;
  }
  out->token = token;
  rc = 0;
done:
  capsid__free(user);
  capsid__free(primary);
  capsid__free(groups);
  return rc;
}


/* This process's token, as an impersonation token (AccessCheck takes
 * only those), or NULL. */
static HANDLE self_token(void) {
  HANDLE process = NULL, dup = NULL;

  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY | TOKEN_DUPLICATE,
                        &process))
    return NULL;
  if (!DuplicateTokenEx(process, TOKEN_QUERY | TOKEN_IMPERSONATE, NULL,
                        SecurityImpersonation, TokenImpersonation, &dup))
    dup = NULL;
  CloseHandle(process);
  return dup;
}


uint32_t serve__self_uid(void) {
  HANDLE token = self_token();
  TOKEN_USER* user = token != NULL ? token_info(token, TokenUser) : NULL;
  uint32_t id = UINT32_MAX; /* nobody's: no client is the owner */

  if (user == NULL || serve__win_sid_id(user->User.Sid, &id) != 0)
    id = UINT32_MAX;
  capsid__free(user);
  if (token != NULL)
    CloseHandle(token);
  return id;
}


void serve__peer_self(serve_peer_t* out) {
  HANDLE token = self_token();

  if (token == NULL || peer_from_token(token, (int)GetCurrentProcessId(),
                                       out) != 0) {
    /* No token to check with: the stdio client's paths are refused. */
    if (token != NULL)
      CloseHandle(token);
    memset(out, 0, sizeof(*out));
    out->uid = serve__self_uid();
    out->pid = (int)GetCurrentProcessId();
  }
}


void serve__win_revert(void) {
  if (!RevertToSelf()) {
    fputs("capsid serve: cannot revert from a client's token\n", stderr);
    TerminateProcess(GetCurrentProcess(), 1);
  }
}


void serve__peer_release(serve_peer_t* peer) {
  if (peer->token != NULL)
    CloseHandle((HANDLE)peer->token);
  peer->token = NULL;
}


int serve__peer_of(uv_pipe_t* pipe, serve_peer_t* out) {
  uv_os_fd_t fd;
  HANDLE token = NULL;
  ULONG pid = 0;
  BOOL ok;

  memset(out, 0, sizeof(*out));
  if (uv_fileno((uv_handle_t*)pipe, &fd) != 0 ||
      !GetNamedPipeClientProcessId((HANDLE)fd, &pid))
    return -1;
  /* The token the pipe took when the client opened it: the system's
   * record of who connected, nothing the client says, and not a token
   * looked up by process id (the process may be gone and its id
   * reused). */
  if (!ImpersonateNamedPipeClient((HANDLE)fd))
    return -1;
  ok = OpenThreadToken(GetCurrentThread(),
                       TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_IMPERSONATE,
                       TRUE, &token);
  serve__win_revert();
  if (!ok)
    return -1;
  if (peer_from_token(token, (int)pid, out) != 0) {
    CloseHandle(token);
    return -1;
  }
  return 0;
}


/* ------------------------------------------------------------------------ */
/* --allow-user, --allow-group                                              */

/* A SID string or an account name, of a user (want_group 0) or a group,
 * to its number. */
static int account_id(const char* name, int want_group, uint32_t* id) {
  BYTE sid[SECURITY_MAX_SID_SIZE];
  WCHAR domain[256];
  DWORD sid_len = sizeof(sid), domain_len = CAPSID__ARRAY_SIZE(domain);
  SID_NAME_USE use = SidTypeUnknown;
  PSID parsed = NULL;
  WCHAR* wide;
  int rc, is_group;

  if (strncmp(name, "S-1-", 4) == 0) {
    if (!ConvertStringSidToSidA(name, &parsed))
      return -1;
    rc = serve__win_sid_id(parsed, id);
    LocalFree(parsed);
    return rc;
  }
  wide = capsid__utf16(name);
  if (wide == NULL)
    return -1;
  rc = LookupAccountNameW(NULL, wide, sid, &sid_len, domain, &domain_len,
                          &use)
           ? 0
           : -1;
  capsid__free(wide);
  is_group = use == SidTypeGroup || use == SidTypeWellKnownGroup ||
             use == SidTypeAlias;
  if (rc != 0 || (want_group ? !is_group : use != SidTypeUser))
    return -1;
  return serve__win_sid_id(sid, id);
}


int serve_user_id(const char* name, uint32_t* uid) {
  return account_id(name, 0, uid);
}


int serve_group_id(const char* name, uint32_t* gid) {
  return account_id(name, 1, gid);
}
