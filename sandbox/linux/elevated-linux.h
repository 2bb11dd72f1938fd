/* Elevated mode's per-workspace state in this process: identities from
 * the capability store, the workspace's offline network namespace (held
 * open as an fd) and whether its ACL grants are in place. */
#ifndef CAPSID_ELEVATED_LINUX_H
#define CAPSID_ELEVATED_LINUX_H

#include "capsid-common.h"
#include "policy.h"

#include <sys/types.h>
#include <uv.h>

#define CAPSID__MAX_GROUPS 34 /* workspace, 32 extra roots, read-only */

typedef struct capsid__identity_s {
  uid_t uid;              /* the workspace's uid */
  gid_t gid;              /* primary: capsid-users */
  gid_t groups[CAPSID__MAX_GROUPS];
  size_t n_groups;
  int netns_fd;           /* the workspace's offline netns, or -1 */
} capsid__identity_t;

/* 1 when elevated mode can run in this process: root, set up, Landlock.
 * Otherwise 0 with why filled (CAPSID_ENOSETUP or CAPSID_EPERM). */
int capsid__elevated_usable(capsid_error_t* why);

/* The identity of a workspace whose grants are in place (after
 * capsid__prelaunch said so). */
int capsid__elevated_identity(uv_loop_t* loop, const capsid__sandbox_t* sb,
                              capsid__identity_t* out, capsid_error_t* err);

/* Child: setgroups, setresgid, setresuid. */
int capsid__identity_child(const capsid__identity_t* id);

/* Drops every workspace this process knows (closing the namespaces);
 * uninstall calls it. */
void capsid__elevated_forget_all(void);

#endif
