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

/* `capsid doctor --fix`: removes what capsid keeps between processes and
 * nothing uses any more (Linux: the namespace pins of workspaces that are
 * gone, sandbox/linux/nspin-linux.c). Reports one line per removal;
 * returns the number of things it could not remove. */
int capsid__system_fix(capsid__report_cb cb, void* data);

/* Removes everything setup and every job added, then checks that nothing
 * is left; returns 0 or CAPSID_EVERIFY / another code with err filled. */
int capsid__system_uninstall(capsid__report_cb cb, void* data,
                             capsid_error_t* err);

#endif
