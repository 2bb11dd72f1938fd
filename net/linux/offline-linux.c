/* What an offline job loses at the socket layer (net.h). The seccomp
 * filter of sandbox/linux/seccomp-linux.c enforces the set as part of the
 * job's one filter; the decision is network lockdown's. */
#include "net.h"

unsigned capsid__net_offline_denials(int offline, int own_netns) {
  if (!offline)
    return 0;
  /* A pathname socket of a host daemon is reached by connect() or
   * sendto() with its path, and a network namespace does not stop that:
   * every offline job loses AF_UNIX sockets (pairs of streams stay). */
  if (own_netns)
    return CAPSID__NET_DENY_UNIX;
  /* No namespace of its own (landlock-only mode): the host's network is
   * right there, so no family but AF_UNIX at all. */
  return CAPSID__NET_DENY_UNIX | CAPSID__NET_DENY_INET;
}
