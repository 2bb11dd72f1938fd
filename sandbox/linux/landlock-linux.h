/* The Landlock ruleset (landlock-linux.c): probed and built in the
 * parent; the child functions run in the clone child (no allocation, no
 * locks). */
#ifndef CAPSID_LANDLOCK_LINUX_H
#define CAPSID_LANDLOCK_LINUX_H

#include "capsid-common.h"
#include "policy.h"

#include <linux/landlock.h>
#include <stdint.h>
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
#define CAPSID__LL_DENY_READ 8   /* enforce sb->deny_read by the rules */

/* The most rules deny_read may take in landlock-only mode: one per entry
 * of each directory on the way to a denied path. Each costs an open and
 * a system call at every start. */
#define CAPSID__LL_DENY_RULES_MAX 2048

/* Reading and executing. */
#define CAPSID__LL_FS_READ                                                   \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |               \
   LANDLOCK_ACCESS_FS_READ_DIR)

/* Builds a ruleset for sb: read and execute everywhere, every right
 * beneath the writable roots, write to the harmless character devices.
 * With CAPSID__LL_DENY_READ, read everywhere but sb->deny_read
 * (landlock-deny-linux.c). *fd is -1 when Landlock is not available. */
int capsid__landlock_build(const capsid__sandbox_t* sb, int flags, int* fd,
                           capsid_error_t* err);
/* For landlock*.c: a path_beneath rule on fd (rights a file cannot have
 * dropped when !is_dir), or on path opened without following it; whether
 * fd is the inode at path now (0 or ELOOP). Each returns 0 or errno. */
int capsid__landlock_add_fd(int ruleset, int fd, int is_dir, uint64_t rights,
                            uint64_t handled);
int capsid__landlock_add_path(int ruleset, const char* path, uint64_t rights,
                              uint64_t handled);
int capsid__landlock_still_at(int fd, const char* path);
/* The rules of deny_read in landlock-only mode: read beside every denied
 * path, the writable roots split the same way. CAPSID_ENOTSUP naming
 * policy.deny_read beyond CAPSID__LL_DENY_RULES_MAX rules. */
int capsid__landlock_deny_rules(int ruleset, const capsid__sandbox_t* sb,
                                uint64_t handled, capsid_error_t* err);
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
