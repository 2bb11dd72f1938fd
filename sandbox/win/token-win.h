/* The restricted token a job runs with (token-win.c): made from a token,
 * then read back and compared with the plan before it is used. */
#ifndef CAPSID_TOKEN_WIN_H
#define CAPSID_TOKEN_WIN_H

#include "capsid-common.h"
#include "sid-win.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* Restricting SIDs in one token: the workspace's and the generic one, or
 * the read-only one. Kept fixed and small: a token that grows with the
 * number of workspaces fails with ERROR_TOO_MANY_CONTEXT_IDS (1344). */
#define CAPSID__MAX_RESTRICT 2

/* The whole restricting list: the capability SIDs, then (default variant)
 * the logon SID and Everyone. */
#define CAPSID__TOKEN_SIDS_MAX (CAPSID__MAX_RESTRICT + 2)

/* Which restricting list a job's token carries (docs/windows.md, "The
 * token"). DEFAULT is the shape known to start PowerShell, .NET and
 * user32 programs; STRICT (CAPSID_WIN_TOKEN=strict) leaves the logon SID
 * and Everyone out, for users who verify with `capsid doctor --probe`
 * that their programs still start. */
typedef enum {
  CAPSID__TOKEN_DEFAULT = 0,
  CAPSID__TOKEN_STRICT = 1
} capsid__token_variant_t;

typedef struct capsid__token_plan_s {
  capsid__token_variant_t variant;
  size_t n; /* capability SIDs */
  char sids[CAPSID__MAX_RESTRICT][CAPSID__SID_MAX];
} capsid__token_plan_t;

/* CreateRestrictedToken(DISABLE_MAX_PRIVILEGE | LUA_TOKEN |
 * WRITE_RESTRICTED) of the caller's token, with BUILTIN\Administrators
 * deny-only (it is enabled when capsid runs elevated), restricting SIDs =
 * the plan's capability SIDs (+ logon SID and Everyone unless STRICT), and
 * a default DACL granting the user, SYSTEM and the capability SIDs, so the
 * write check passes on the objects the child creates and on no one
 * else's. */
int capsid__token_create(const capsid__token_plan_t* plan, HANDLE* out,
                         capsid_error_t* err);
/* Reads the token back: it must be restricted, carry exactly the planned
 * restricting SIDs, no privilege but SeChangeNotifyPrivilege,
 * Administrators (when present) deny-only, and the planned default DACL.
 * On a mismatch fails with CAPSID_EVERIFY, naming what did not take
 * effect. (WRITE_RESTRICTED itself has no token information class to
 * read back: the probe's "write outside" row shows it.) */
int capsid__token_verify(HANDLE token, const capsid__token_plan_t* plan,
                         capsid_error_t* err);
/* The variant CAPSID_WIN_TOKEN asks for ("default", "strict"; unset:
 * default). CAPSID_EINVAL with err set for anything else. */
int capsid__token_variant_from_env(capsid__token_variant_t* out,
                                   capsid_error_t* err);
const char* capsid__token_variant_name(capsid__token_variant_t v);
/* The logon SID of token (NULL: capsid's own) as text. 0 or -1 (none:
 * some service and batch logons). */
int capsid__token_logon_sid(HANDLE token, char out[CAPSID__SID_MAX]);
/* The string SID of token's user (token NULL: capsid's own). 0 or -1. */
int capsid__token_user_sid(HANDLE token, char out[CAPSID__SID_MAX]);

#endif
