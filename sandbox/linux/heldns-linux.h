/* Unprivileged mode's per-workspace user, network and IPC namespaces, made on
 * a workspace's first job and held open for the life of the process
 * (heldns-linux.c says why and what is shared). */
#ifndef CAPSID_HELDNS_LINUX_H
#define CAPSID_HELDNS_LINUX_H

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

#endif
