/* Elevated mode's per-workspace state in this process: identities from
 * the capability store, the workspace's offline network namespace (held
 * open as an fd) and whether its ACL grants are in place. */
#ifndef CAPSID_ELEVATED_LINUX_H
#define CAPSID_ELEVATED_LINUX_H

#include "capsid-common.h"
#include "policy.h"

#include <sys/types.h>
#include <uv.h>

/* workspace, 32 extra roots, capsid-users, read-only */
#define CAPSID__MAX_GROUPS 35

typedef struct capsid__identity_s {
  uid_t uid;              /* the workspace's uid */
  /* primary: the workspace's own gid (same number as its uid), so what a
   * job creates belongs to no group another workspace holds */
  gid_t gid;
  gid_t groups[CAPSID__MAX_GROUPS];
  size_t n_groups;
  int netns_fd;           /* the workspace's offline netns, or -1 */
  void* running;          /* the workspace entry counting this job */
  int ipcns_fd;           /* the workspace's IPC namespace, or -1 */
} capsid__identity_t;

/* 1 when elevated mode can run in this process: root, set up, Landlock.
 * Otherwise 0 with why filled (CAPSID_ENOSETUP or CAPSID_EPERM). */
int capsid__elevated_usable(capsid_error_t* why);

/* The identity of a workspace whose grants are in place (after
 * capsid__prelaunch said so). */
int capsid__elevated_identity(const capsid__prep_t* prep,
                              const capsid__sandbox_t* sb,
                              capsid__identity_t* out, capsid_error_t* err);

/* The job that capsid__elevated_identity counted is over (its process is
 * gone or never started): the post-job pass hands what jobs created back
 * to the owner only when no other job of the workspace runs. Idempotent. */
void capsid__elevated_release(capsid__identity_t* id);

/* Child: setgroups, setresgid, setresuid. */
int capsid__identity_child(const capsid__identity_t* id);

/* Drops every workspace this process knows (closing the namespaces);
 * uninstall calls it. */
void capsid__elevated_forget_all(void);

#endif
