/* \\.\NUL for the job's SIDs (nul-win.c): a restricted token cannot open
 * the NUL device unless its DACL names the token's restricting SIDs. */
#ifndef CAPSID_NUL_WIN_H
#define CAPSID_NUL_WIN_H

#include "report.h"
#include "token-win.h"

/* What a capability SID is granted on \\.\NUL: read, write, execute. */
#define CAPSID__NUL_MASK                                                     \
  (FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE)
/* Makes sure the DACL of the NUL device lets each of the token plan's
 * SIDs open it for reading and writing (an allow ACE, no inheritance, on
 * the kernel object), then reads it back. 0 when every SID is granted;
 * CAPSID_EACCES when one is not and this process may not change the
 * device's DACL (only administrators may); CAPSID_EVERIFY when the write
 * did not stick. A job is not refused for it: without the grant it is
 * more confined, not less. */
int capsid__nul_grant(const capsid__token_plan_t* plan, capsid_error_t* err);
/* Uninstall: removes the ACEs of the SID domain from the device's DACL,
 * reading it back. Reports one line; returns 1 when some stayed. */
int capsid__nul_strip(const char* domain, capsid__report_cb cb, void* data);
/* Doctor: one line saying whether this process can grant it. */
void capsid__nul_report(capsid__report_cb cb, void* data);

#endif
