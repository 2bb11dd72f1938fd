/* The Landlock ruleset (landlock-linux.c): probed and built in the
 * parent; the child functions run in the clone child (no allocation, no
 * locks). */
#ifndef CAPSID_LANDLOCK_LINUX_H
#define CAPSID_LANDLOCK_LINUX_H

#include "capsid-common.h"
#include "policy.h"

#include <sys/socket.h>
#include <sys/un.h>

/* The Landlock ABI version of the kernel, or 0 when Landlock is off. The
 * fault site "landlock" makes it answer 0, so tests can show that a mode
 * needing Landlock is refused rather than run without it. Not for the
 * clone child. */
int capsid__landlock_abi(void);
#ifdef CAPSID_FAULT_INJECTION
/* Tests: behave as if the kernel had no Landlock. */
void capsid__landlock_force_off(int on);
#endif

#define CAPSID__LL_DENY_TCP 1    /* handle TCP bind/connect, allow none */
#define CAPSID__LL_ALLOW_SHM 2   /* /dev/shm writable (a private tmpfs) */
#define CAPSID__LL_NO_SCOPE 4    /* tests only: leave the scopes out */

/* Builds a ruleset for sb: read and execute everywhere, every right
 * beneath the writable roots, write to the harmless character devices.
 * *fd is -1 when Landlock is not available. */
int capsid__landlock_build(const capsid__sandbox_t* sb, int flags, int* fd,
                           capsid_error_t* err);
/* Child: adds a full-access rule for a path that only exists in the job's
 * mount namespace (a private tmpfs). */
int capsid__landlock_child_allow(int ruleset_fd, const char* path);
int capsid__landlock_child_restrict(int ruleset_fd);
/* The abstract address, in this process's network namespace, that a job
 * scoped by Landlock (ABI 6) cannot reach: 1 with *addr and *len set, 0
 * where the kernel has no scopes or the socket cannot be made. */
int capsid__landlock_scope_probe(const struct sockaddr_un** addr,
                                 socklen_t* len);

#endif
