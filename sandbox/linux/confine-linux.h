/* What confinement does for the launcher, on Linux: launch-linux.c
 * clones the job's process; this contract (confine-linux.c) decides how
 * the mode runs, prepares everything in the parent and applies it in the
 * clone child before execve, in this order: prepare -> (clone) child_ns,
 * child_proc -> after_exit -> release; kill at any time after a
 * successful spawn.
 *
 * The mechanisms it uses, one file and header each:
 *
 *   modes-linux      which modes this host can run (prelaunch decides)
 *   userns-linux     probe of user namespaces
 *   mounts-linux     the mount plan: read-only world, writable roots,
 *                    read-only binds over protected paths, private /tmp,
 *                    /dev/shm, hidden /run, a fresh /proc
 *   placeholder-linux  missing protected paths, made for the job's life
 *                    so a bind can keep them read-only
 *   landlock-linux   the Landlock ruleset (built in the parent)
 *   seccomp-linux    the seccomp filter (built once per profile)
 *   cgroup-linux     limits, membership, kill, oom
 *   caps-linux       dropping every capability, NO_NEW_PRIVS
 *   elevated-linux   the workspace's identity (elevated mode)
 *   verify-linux     the child's read-back of every restriction
 *
 * Network lockdown (namespaces, loopback, the held per-workspace
 * namespaces, which socket families offline loses) is net/ (net.h).
 *
 * Every "child" function runs in the CLONE_VM|CLONE_VFORK child between
 * clone and execve: plain system calls on data the parent prepared, no
 * allocation, no locks, no stdio. They return 0 or an errno value. */
#ifndef CAPSID_CONFINE_LINUX_H
#define CAPSID_CONFINE_LINUX_H

#include "capsid-common.h"
#include "sandbox-int.h"
#include "cgroup-linux.h"
#include "elevated-linux.h"
#include "idmap-linux.h"
#include "landlock-linux.h"
#include "modes-linux.h"
#include "mounts-linux.h"
#include "net.h"
#include "placeholder-linux.h"
#include "userns-linux.h"

#include <linux/filter.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef struct capsid__confine_s {
  capsid_mode_t mode;     /* what will run */
  int clone_flags;        /* namespaces the clone itself creates */
  int userns;             /* the child maps its ids and builds its mounts */
  int pidns;              /* the child is init of a pid namespace */
  int netns;              /* a network namespace of its own: loopback up */
  int elevated;           /* switch to the workspace's identity */
  /* Unprivileged with the workspace's held namespaces: the first child
   * joins user_fd, ipc_fd (and net_fd when offline, else -1) and unshares the
   * mount and pid namespaces instead of the clone creating them. */
  capsid__heldns_t* held;
  int held_user_fd;
  int held_net_fd;
  int held_ipc_fd;        /* the workspace's IPC namespace (every job) */
  capsid__identity_t identity;
  capsid__idmap_t idmap;
  capsid__mounts_t mounts;
  capsid__placeholders_t placeholders; /* held from prepare to release */
  int landlock_fd;        /* -1: none */
  const struct sock_fprog* seccomp; /* NULL: none */
  capsid__cgroup_t cgroup;
  const char* failed_path; /* set by the child with its failure */
  int test_skips;         /* 1 << CAPSID__VERIFY_*: not applied (tests) */
  /* Read-backs of restrictions seen from outside the process: the host's
   * IPC namespace (0: the job has none of its own to check), and the
   * abstract address the Landlock scope must refuse (NULL: no check). */
  unsigned long host_ipc_ino;
  const struct sockaddr_un* scope_probe;
  socklen_t scope_probe_len;
} capsid__confine_t;

/* Parent side, before clone: everything the child needs, precomputed so the
 * child only makes system calls. */
int capsid__confine_prepare(capsid__confine_t* c,
                            const capsid__launch_t* launch,
                            capsid_error_t* err);
/* Child side: returns 0 or an errno value with *stage set. Must not
 * allocate or lock: they run in a CLONE_VM child. The namespace part runs
 * first, in the process that becomes init of the job's pid namespace when
 * there is one; the process part runs in the process that execs. */
int capsid__confine_child_ns(capsid__confine_t* c, int* stage);
int capsid__confine_child_proc(capsid__confine_t* c, int* stage);
/* Parent side, after reaping: fills oom and peak memory where known. */
void capsid__confine_after_exit(capsid__confine_t* c, capsid__exit_t* st);
/* Kills every process the confinement knows of (cgroup, pid namespace). */
void capsid__confine_kill(capsid__confine_t* c);
void capsid__confine_release(capsid__confine_t* c);

#endif
