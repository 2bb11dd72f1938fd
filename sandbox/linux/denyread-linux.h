/* deny_read in the job's mount namespace (denyread-linux.c): the plan's
 * steps, built in the parent, and what the clone child does for each. */
#ifndef CAPSID_DENYREAD_LINUX_H
#define CAPSID_DENYREAD_LINUX_H

#include "mounts-linux.h"

/* Appends the steps that hide sb->deny_read. Runs after the binds (so a
 * writable root bound later cannot uncover a denied path) and after the
 * private /dev/shm, where the child makes the empty file it binds over
 * denied files. */
int capsid__denyread_plan(capsid__mounts_t* m, const capsid__sandbox_t* sb,
                          capsid_error_t* err);
/* One CAPSID__MNT_DENY_* step in the clone child: plain system calls, no
 * allocation. Returns 0 or an errno value. */
int capsid__denyread_step(const capsid__mnt_step_t* s);
/* Landlock-only mode has no mount namespace: its Landlock rules hide
 * deny_read instead (landlock-deny-linux.c). */

#endif
