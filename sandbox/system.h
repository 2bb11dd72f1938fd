/* What the machine offers, and the one-time set-up of elevated mode.
 *
 * OS-neutral declarations; each OS implements them in
 * sandbox/<os>/system-<os>.c (Linux: sandbox/linux/system-linux.c). The
 * CLI's doctor, setup and uninstall commands are thin wrappers. */
#ifndef CAPSID_SYSTEM_H
#define CAPSID_SYSTEM_H

#include "capsid-common.h"
#include "env.h"
#include "report.h"

/* Probes every feature confinement uses, reporting one line each, with
 * workspace (may be NULL: the cwd) as the filesystem whose ACL support is
 * checked. Returns the mode `auto` would run (CAPSID_MODE_NONE when no
 * confining mode is available). */
capsid_mode_t capsid__system_probe(const char* workspace,
                                   capsid__report_cb cb, void* data);

/* Elevated mode's set-up (needs root): state directory, identity range,
 * capability store, cgroup parents. Idempotent: what exists is kept and
 * reported as such. Returns 0 or a CAPSID_E* code with err filled. */
int capsid__system_setup(capsid__report_cb cb, void* data,
                         capsid_error_t* err);

/* Read roots for elevated jobs (after setup): grants the sandbox users'
 * group read and traverse (r-X, inherited) on each of roots (canonical,
 * existing directories), through the ACL engine under its read-roots
 * record, so uninstall takes them back. Grants accumulate across calls.
 * On Linux the roots' ancestors get x for the group (a job must reach
 * them); on Windows the job's SeChangeNotifyPrivilege does that, and the
 * grant holds the read-ACL helper's mutex (one at a time per session).
 * Reports one line per root. */
int capsid__system_read_roots(const char* const* roots,
                              capsid__report_cb cb, void* data,
                              capsid_error_t* err);

/* The places `capsid audit` scans when given no directory: on Windows
 * the places a job reaches (sandbox/win/wwdeny-win.h); on Linux none are
 * added, and the audit uses its own (acl.h). cwd may be NULL. 0 or
 * CAPSID_ENOMEM. */
int capsid__system_audit_places(const char* cwd, capsid__strv_t* out);
/* Whether capsid has denied path to its jobs: 1 when an ACE of the
 * capability store's SIDs sits on it (Windows, where the audit's
 * findings get deny ACEs), 0 when none does, -1 where the system denies
 * nothing this way (Linux). */
int capsid__system_audit_denied(const char* path);

/* Removes everything setup and every job added, then checks that nothing
 * is left; returns 0 or CAPSID_EVERIFY / another code with err filled. */
int capsid__system_uninstall(capsid__report_cb cb, void* data,
                             capsid_error_t* err);

#endif
