/* The Everyone-writable audit's deny ACEs (wwdeny-win.c).
 *
 * The default job token holds Everyone as a restricting SID
 * (token-win.h), so a directory or file whose DACL grants Everyone write
 * passes a job's write check. Before a default-token job, capsid scans
 * the places a job reaches (capsid__acl_audit with capsid__ww_places) and
 * adds to the job's grant plan a deny-write entry for each of the token's
 * capability SIDs on every such object outside the writable roots: the
 * read-only SID's deny goes everywhere (a read-only job has no roots).
 * The ACL engine writes them like every other grant, into the workspace's
 * record, so `capsid revoke` and `capsid uninstall` take exactly them
 * back. Strict-token jobs need none. */
#ifndef CAPSID_WWDENY_WIN_H
#define CAPSID_WWDENY_WIN_H

#include "acl.h"
#include "policy.h"
#include "token-win.h"

/* At most this many objects get deny ACEs for one job; more refuse it
 * (something made half a drive Everyone-writable: fix that first). */
#define CAPSID__WW_MAX 64

/* The places a Windows job reaches, canonical ('/'), deduplicated: the
 * workspace (cwd, may be NULL), %TEMP%, %TMP%, %USERPROFILE%, %PUBLIC%,
 * %ProgramData%, every %PATH% entry, %SystemRoot% and its Everyone-
 * writable classics (Tasks, Temp, tracing, System32\Tasks,
 * System32\spool\drivers\color), and every directory directly under the
 * system drive's root. Each is scanned one level deep by the audit.
 * Missing places are left out. 0 or CAPSID_ENOMEM. */
int capsid__ww_places(const char* cwd, capsid__strv_t* out);

/* Scans (the global places once per process, then reused for a while;
 * the cwd at every call) and adds the deny entries of plan's token to
 * acl. *n_denied (may be NULL) gets how many objects got them. 0,
 * CAPSID_ENOMEM, or CAPSID_ETOOLONG past CAPSID__WW_MAX. */
int capsid__ww_deny_plan(const capsid__sandbox_t* sb,
                         const capsid__token_plan_t* token,
                         capsid__acl_plan_t* acl, size_t* n_denied,
                         capsid_error_t* err);

/* 1 when an ACE of the capability store's SIDs is on path (capsid's deny:
 * the audit's targets get nothing else), 0 otherwise. */
int capsid__ww_denied(const char* path);

/* Tests: forget the cached scan. */
void capsid__ww_forget(void);

#endif
