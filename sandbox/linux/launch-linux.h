/* Confinement of one Linux job: prepared in the parent, applied in the
 * clone child before execve. The launcher (launch-linux.c) calls these in
 * this order: prepare -> (clone) child -> after_exit -> release; kill at any
 * time after a successful spawn. */
#ifndef CAPSID_LAUNCH_LINUX_H
#define CAPSID_LAUNCH_LINUX_H

#include "sandbox-int.h"
#include "confine-linux.h"
#include "elevated-linux.h"
#include "net.h"

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

/* The restrictions verify-linux.c reads back in the child. */
enum {
  CAPSID__VERIFY_NNP = 1,
  CAPSID__VERIFY_SECCOMP,
  CAPSID__VERIFY_LANDLOCK,
  CAPSID__VERIFY_IDENTITY,
  CAPSID__VERIFY_CAPS,
  CAPSID__VERIFY_LIMITS,
  CAPSID__VERIFY_IPC,
  CAPSID__VERIFY_SCOPE
};
#define CAPSID__SKIPPED(c, check) (((c)->test_skips >> (check)) & 1)

/* Child: 0 when every restriction c asked for is in force, else the
 * CAPSID__VERIFY_* check that failed. */
int capsid__verify_child(const capsid__confine_t* c, int seccomp_applied);
/* What a check verifies, for the error message. */
const char* capsid__verify_name(int check);
/* Parent: the restrictions the fault sites "skip.*" say to leave out, so
 * tests can show that verification catches each; 0 in release builds. */
int capsid__verify_test_skips(void);

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
