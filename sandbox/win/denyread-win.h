/* deny_read on Windows (denyread-win.c). */
#ifndef CAPSID_DENYREAD_WIN_H
#define CAPSID_DENYREAD_WIN_H

#include "policy.h"

/* Refuses a job whose policy denies reads (CAPSID_ENOTSUP naming
 * policy.deny_read): not enforced on Windows yet. 0 without deny_read. */
int capsid__denyread_win_check(const capsid__sandbox_t* sb,
                               capsid_error_t* err);

#endif
