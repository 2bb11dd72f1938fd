/* DACL grants on a job's writable roots and protected paths
 * (grant-win.c), written by the ACL engine (acl.h) and read back; and
 * their removal at uninstall. */
#ifndef CAPSID_GRANT_WIN_H
#define CAPSID_GRANT_WIN_H

#include "acl.h"
#include "capstore.h"
#include "pool.h"
#include "report.h"
#include "sandbox-int.h"
#include "win-dacl.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* Masks used for grants: read/write/execute/delete, and the write rights a
 * deny ACE removes. The allow mask leaves out FILE_DELETE_CHILD on
 * purpose: NTFS lets a holder of FILE_DELETE_CHILD on a directory delete
 * or rename any child whatever the child's own DACL says, so it would
 * defeat the deny ACE on .git. Deleting and renaming inside the roots still
 * works through the DELETE right every child inherits. */
#define CAPSID__ALLOW_MASK                                                   \
  (FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE)
/* What the read-ACL helper grants the sandbox users' group. */
#define CAPSID__READ_MASK (FILE_GENERIC_READ | FILE_GENERIC_EXECUTE)
#define CAPSID__DENY_MASK CAPSID__DENY_WRITE_MASK

/* 1 if acl already holds an explicit ACE equal to the one the SID plan's
 * entry e stands for (acl/plan.c, capsid__acl_sid_entries): its type, SID,
 * inheritance by files and directories, and a mask covering
 * CAPSID__ALLOW_MASK (R|W|X), CAPSID__READ_MASK (R|X) or, for a deny,
 * CAPSID__DENY_MASK. */
int capsid__acl_has(const ACL* acl, const capsid__acl_entry_t* e);
/* Ensures every ACE of a SID plan is on its path (skipping the paths that
 * have them already), then reads every path back; CAPSID_EVERIFY names a
 * missing ACE. The read entries that accompany a deny on a protected
 * directory are written, not checked: the deny is what confines. A
 * protected path that does not exist (a placeholder: policy.h,
 * missing_protected) is created first, as an empty directory. */
int capsid__grant_ensure(const capsid__acl_plan_t* plan,
                         capsid_error_t* err);
/* Prelaunch's half of it: when some ACE is missing (missing carve-outs
 * are created first), starts the engine's walk on the worker pool and
 * returns 1; cb then runs on the loop thread when it is done. Returns 0
 * when every ACE is there already. The launcher's capsid__grant_ensure
 * still reads every ACE back before the job starts; the walk moves off
 * the loop thread so other jobs' output keeps flowing meanwhile. */
int capsid__grant_ahead(uv_loop_t* loop, capsid__pool_t* pool,
                        const capsid__acl_plan_t* plan,
                        capsid__prelaunch_cb cb, void* data,
                        capsid_error_t* err);

/* Removes the explicit ACEs whose SID lies in domain ("S-1-5-21-a-b-c")
 * from old: *out is the new DACL (LocalFree it), *removed how many went.
 * Exposed for tests. */
int capsid__acl_strip(const ACL* old, const char* domain, ACL** out,
                      int* removed);
/* Uninstall: removes the store's ACEs from every root it lists and from
 * the .git, .codex and .agents beneath them, reading each DACL back.
 * Reports one line; returns the number of paths that kept an ACE. */
int capsid__grant_strip_store(const capsid__capstore_t* s,
                              capsid__report_cb cb, void* data);

#endif
