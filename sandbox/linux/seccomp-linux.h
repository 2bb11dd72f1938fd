/* The seccomp filter (seccomp-linux.c), one per profile, built once in
 * the parent and installed by the clone child. */
#ifndef CAPSID_SECCOMP_LINUX_H
#define CAPSID_SECCOMP_LINUX_H

#include "capsid-common.h"
#include "net.h"

#include <linux/filter.h>

/* The socket families an offline job loses are network lockdown's
 * decision (capsid__net_offline_denials, net.h); the filter enforces them. */
#define CAPSID__SC_INET_DENIED CAPSID__NET_DENY_INET /* refuse non-unix */
#define CAPSID__SC_UNIX_DENIED CAPSID__NET_DENY_UNIX /* no unix but a pair */
#define CAPSID__SC_IPC_DENIED 4  /* no IPC namespace: no SysV IPC, mqueue */

/* The filter of a profile, built once with libseccomp and kept for the
 * life of the process. Thread-safe. NULL with err set on failure. */
const struct sock_fprog* capsid__seccomp_filter(int profile,
                                                capsid_error_t* err);
int capsid__seccomp_child(const struct sock_fprog* prog);

#endif
