/* Network lockdown, both systems: the one contract sandbox/ calls.
 *
 * Offline (the default; a job's policy says network: true for online)
 * means no network of the host's, by any route:
 *
 *   Linux, unprivileged and elevated modes: the job runs in a network
 *   namespace of its workspace's own with only a loopback, up (shared by
 *   the jobs of that workspace, never with another workspace), made by
 *   the one maker below and held open per workspace. Landlock-only mode
 *   has no namespace: offline rests on seccomp (no socket but AF_UNIX)
 *   and Landlock (no TCP bind/connect).
 *   Every offline job also loses the host's unix sockets: socket(AF_UNIX)
 *   and datagram socketpairs (a network namespace does not separate
 *   pathname sockets). capsid__net_offline_denials says which socket
 *   families a job loses; the seccomp filter (sandbox/linux/
 *   seccomp-linux.c) enforces them as part of the job's one filter.
 *
 *   Windows: offline jobs run as the offline sandbox user, whom two
 *   firewall rules block (net/win/firewall-win.c).
 *
 * Online jobs keep the host's network (Linux: the host's namespace, with
 * a Landlock scope on abstract unix sockets; Windows: the online user).
 *
 * Declarations of both systems sit here side by side; each is defined
 * only by its system's files (net/linux/, net/win/). */
#ifndef CAPSID_NET_H
#define CAPSID_NET_H

#include "capsid-common.h"
#include "report.h"

/* ---- Linux: making namespaces (net/linux/netns-linux.c) ------------------ */

#define CAPSID__NS_USER 1 /* a user namespace mapping the caller's own ids */
#define CAPSID__NS_NET 2  /* a network namespace, its loopback up */
#define CAPSID__NS_IPC 4  /* an IPC namespace (SysV IPC, message queues) */

typedef struct capsid__ns_set_s {
  int user_fd; /* open O_RDONLY|O_CLOEXEC on /proc/<pid>/ns/..., or -1 */
  int net_fd;
  int ipc_fd;
} capsid__ns_set_t;

/* The one namespace maker: a short-lived child is cloned into new
 * namespaces of the kinds asked for (any of CAPSID__NS_*), brings the
 * loopback up in a new network namespace, and hands the namespaces back
 * as descriptors over a socket pair (which works where clone degrades to
 * fork, under valgrind), so they outlive it. Returns 0 with every kind
 * asked for open in *out (the others -1), or an errno value with nothing
 * open. Not for the clone child. */
int capsid__netns_make(unsigned kinds, capsid__ns_set_t* out);
/* Closes what is open in s and sets it to -1. */
void capsid__ns_set_close(capsid__ns_set_t* s);

/* Child (no allocation, no locks): brings "lo" up in the calling
 * process's network namespace. 0 or an errno value. */
int capsid__loopback_up_child(void);

/* ---- Linux: the workspace's held namespaces (net/linux/heldns-linux.c) --- */

/* Unprivileged mode's per-workspace user, network and IPC namespaces,
 * made on a workspace's first job and held open for the life of the
 * process (heldns-linux.c says why and what is shared). */
typedef struct capsid__heldns_s capsid__heldns_t;

/* The held namespaces of the workspace rooted at key, made when new.
 * Returns 0 with *out referenced (put it back with capsid__heldns_put),
 * or an errno value: the caller then falls back to namespaces of the
 * job's own. Thread-safe. */
int capsid__heldns_get(const char* key, capsid__heldns_t** out);
void capsid__heldns_put(capsid__heldns_t* h);
/* Close-on-exec descriptors, valid while the reference is held. */
int capsid__heldns_user_fd(const capsid__heldns_t* h);
int capsid__heldns_net_fd(const capsid__heldns_t* h);
int capsid__heldns_ipc_fd(const capsid__heldns_t* h);
/* Drops every entry (their descriptors close once no spawn uses them);
 * uninstall and the leak checks of the tests call it. */
void capsid__heldns_clear(void);

/* ---- Linux: what an offline job loses (net/linux/offline-linux.c) -------- */

#define CAPSID__NET_DENY_INET 1 /* every socket family but AF_UNIX */
#define CAPSID__NET_DENY_UNIX 2 /* socket(AF_UNIX), AF_UNIX datagram pairs */

/* The CAPSID__NET_DENY_* set of an offline job: with a network namespace
 * of its own (own_netns) only the host's unix sockets, which a namespace
 * does not separate; without one every family but AF_UNIX as well. An
 * online job loses none (0). */
unsigned capsid__net_offline_denials(int offline, int own_netns);

/* ---- Windows: the firewall rules (net/win/firewall-win.c) --------------- */

/* Adds (or reconfigures) the blocking rules scoped to offline_sid and
 * reads them back; CAPSID_EVERIFY names a property that did not stick. */
int capsid__firewall_setup(const char* offline_sid, capsid__report_cb cb,
                           void* data, capsid_error_t* err);
/* 1 when both rules are in place as planned; why says what is not. */
int capsid__firewall_probe(const char* offline_sid, char* why, size_t size);
/* Removes both rules; returns the number left behind. */
int capsid__firewall_uninstall(capsid__report_cb cb, void* data);

#endif
