/* The identity map of a user namespace capsid makes: the caller's own uid
 * and gid, nothing else, which an unprivileged process may write for
 * itself. Used by the job's own namespaces (sandbox/) and by the
 * workspace's held ones (net/), so it sits below both. */
#ifndef CAPSID_IDMAP_LINUX_H
#define CAPSID_IDMAP_LINUX_H

typedef struct capsid__idmap_s {
  char uid_map[32]; /* "<uid> <uid> 1": the caller's own uid, unchanged */
  char gid_map[32];
} capsid__idmap_t;

/* Parent: fills the map from the effective uid and gid. */
void capsid__idmap_init(capsid__idmap_t* m);
/* Child, in the new user namespace (no allocation, no locks): denies
 * setgroups and writes both maps. 0 or an errno value. */
int capsid__idmap_child(const capsid__idmap_t* m);

#endif
