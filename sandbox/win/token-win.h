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

typedef struct capsid__token_plan_s {
  size_t n;
  char sids[CAPSID__MAX_RESTRICT][CAPSID__SID_MAX];
} capsid__token_plan_t;

/* CreateRestrictedToken(DISABLE_MAX_PRIVILEGE | LUA_TOKEN |
 * WRITE_RESTRICTED) of the caller's token, restricting SIDs = the plan's
 * SIDs only, and a default DACL that lets the child use the objects it
 * creates. */
int capsid__token_create(const capsid__token_plan_t* plan, HANDLE* out,
                         capsid_error_t* err);
/* Reads the token back: it must be restricted, carry exactly the plan's
 * restricting SIDs and no privilege but SeChangeNotifyPrivilege. On a
 * mismatch fails with CAPSID_EVERIFY, naming what did not take effect. */
int capsid__token_verify(HANDLE token, const capsid__token_plan_t* plan,
                         capsid_error_t* err);
/* The string SID of token's user (token NULL: capsid's own). 0 or -1. */
int capsid__token_user_sid(HANDLE token, char out[CAPSID__SID_MAX]);

#endif
