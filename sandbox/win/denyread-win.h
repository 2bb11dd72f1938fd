/* deny_read on Windows (denyread-win.c). */
#ifndef CAPSID_DENYREAD_WIN_H
#define CAPSID_DENYREAD_WIN_H

#include "acl.h"
#include "capsid.h"
#include "policy.h"

/* Refuses a job whose policy denies reads where that cannot be enforced
 * (CAPSID_ENOTSUP naming policy.deny_read and the mode): every mode but
 * elevated. 0 without deny_read, and in elevated mode. */
int capsid__denyread_win_check(const capsid__sandbox_t* sb,
                               capsid_mode_t mode, capsid_error_t* err);

/* Adds to acl a deny-read entry for sid (the sandbox users' group) on
 * every path of sb->deny_read: recursive on a directory (an ACE on the
 * directory alone would not stop a read of a file by its path: the token
 * keeps SeChangeNotifyPrivilege, so traverse is not checked), recorded by
 * the ACL engine with the job's other grants, so that uninstall and
 * revoke remove exactly these ACEs. An empty sid refuses (CAPSID_ENOTSUP).
 * 0 or a CAPSID_E* code with err filled. */
int capsid__denyread_win_plan(const capsid__sandbox_t* sb, const char* sid,
                              capsid__acl_plan_t* acl, capsid_error_t* err);

#endif
