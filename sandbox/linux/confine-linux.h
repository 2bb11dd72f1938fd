/* The pieces of Linux confinement, one file each:
 *
 *   userns-linux.c   probe of user namespaces
 *   mounts-linux.c   the mount plan: read-only world, writable roots,
 *                    read-only binds over protected paths, private /tmp,
 *                    /dev/shm, hidden /run, a fresh /proc
 *   placeholder-linux.c  missing protected paths, made for the job's
 *                    life so a bind can keep them read-only
 *   landlock-linux.c the Landlock ruleset (built in the parent)
 *   seccomp-linux.c  the seccomp filter (built once per profile)
 *   cgroup-linux.c   limits, membership, kill, oom
 *   caps-linux.c     dropping every capability, NO_NEW_PRIVS
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
#include "idmap-linux.h"
#include "net.h"
#include "policy.h"
#include "sandbox-int.h"

#include <linux/filter.h>
#include <sys/types.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* 1 when running under valgrind (the runtime tests' leak check). valgrind
 * does not know mount_setattr or Landlock's calls, cannot run a seccomp
 * filter, and exits on CLONE_VM children without CLONE_VFORK; the launcher
 * adapts so the runtime's own code can still be checked there. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CAPSID__ON_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef CAPSID__ON_VALGRIND
#define CAPSID__ON_VALGRIND() 0
#endif

/* ---- user namespaces ---------------------------------------------------- */

/* 1 if this process can create a user namespace (probed once, cached;
 * thread-safe). The fault site "userns" makes it answer 0, so tests can
 * exercise the Landlock-only fallback on a host that allows them. */
int capsid__userns_available(void);
#ifdef CAPSID_FAULT_INJECTION
/* Tests: behave as if user namespaces were blocked (AppArmor). */
void capsid__userns_force_blocked(int on);
#endif

/* What `auto` runs when elevated mode is not usable: unprivileged (user
 * namespaces and Landlock), else landlock-only (Landlock), else
 * CAPSID_MODE_AUTO, which the launch refuses: no mode runs half-made. */
capsid_mode_t capsid__unprivileged_auto(void);


/* ---- mounts --------------------------------------------------------------- */

typedef enum {
  CAPSID__MNT_PRIVATE = 1, /* stop propagation to and from the host */
  CAPSID__MNT_ALL_RDONLY,  /* every mount read-only, recursively */
  CAPSID__MNT_BIND_RW,     /* bind path onto itself, writable */
  CAPSID__MNT_BIND_RO,     /* bind path onto itself, read-only (recursive) */
  CAPSID__MNT_TMPFS_RW,    /* a private writable tmpfs over path */
  CAPSID__MNT_TMPFS_RO,    /* an empty read-only tmpfs over path (hide) */
  CAPSID__MNT_PROC,        /* a proc of the job's own pid namespace */
  CAPSID__MNT_HIDE,        /* TMPFS_RO, and nothing to do where the path
                              is already gone from the job's view */
  CAPSID__MNT_MQUEUE       /* the job's IPC namespace's own mqueue */
} capsid__mnt_op_t;

typedef struct capsid__mnt_step_s {
  capsid__mnt_op_t op;
  const char* path; /* borrowed from the sandbox or static */
} capsid__mnt_step_t;

#define CAPSID__MNT_MAX_STEPS 64

typedef struct capsid__mounts_s {
  capsid__mnt_step_t steps[CAPSID__MNT_MAX_STEPS];
  unsigned n;
  const char* failed_path; /* set by the child on failure (shared memory) */
  int private_tmp;         /* /tmp is a private tmpfs */
  int private_shm;         /* /dev/shm is a private tmpfs */
  char state_dir[4096];    /* capsid's state directory, canonical, hidden */
  char session[48];       /* /run/user/<uid>: hidden from online jobs */
} capsid__mounts_t;

/* Builds the plan. Paths are borrowed from sb, which must outlive the
 * spawn. Fails with CAPSID_ETOOLONG when a policy needs more steps than
 * the plan holds. */
int capsid__mounts_plan(capsid__mounts_t* m, const capsid__sandbox_t* sb,
                        const char* program, int new_pid_ns,
                        capsid_error_t* err);
int capsid__mounts_child(capsid__mounts_t* m);

/* ---- placeholders (placeholder-linux.c) ------------------------------------ */

typedef struct capsid__guard_s {
  int parent_fd;  /* O_PATH: the directory holding it */
  int fd;         /* the directory itself, under a shared flock */
  char* name;
  int made;       /* this job made it */
} capsid__guard_t;

typedef struct capsid__placeholders_s {
  capsid__guard_t* v;
  size_t n;
} capsid__placeholders_t;

/* Parent, before the mount plan is built: makes each missing protected
 * path of sb an empty directory, never through a link, and holds it and
 * every existing protected directory under a shared lock (so a
 * concurrent job's release does not remove it). On failure nothing is
 * held and nothing made is left. */
int capsid__placeholders_hold(capsid__placeholders_t* ph,
                              const capsid__sandbox_t* sb,
                              capsid_error_t* err);
/* After the job's processes are gone: removes each placeholder no other
 * job holds, if still empty (rmdir only), and lets go of the rest.
 * Idempotent. */
void capsid__placeholders_release(capsid__placeholders_t* ph);

/* ---- Landlock --------------------------------------------------------------- */

/* The Landlock ABI version of the kernel, or 0 when Landlock is off. The
 * fault site "landlock" makes it answer 0, so tests can show that a mode
 * needing Landlock is refused rather than run without it. Not for the
 * clone child. */
int capsid__landlock_abi(void);
/* 1 when a mode that needs Landlock must be refused: Landlock is off
 * (never under valgrind, which cannot run its calls; confine-linux.c). */
int capsid__landlock_missing(void);
#ifdef CAPSID_FAULT_INJECTION
/* Tests: behave as if the kernel had no Landlock. */
void capsid__landlock_force_off(int on);
#endif

#define CAPSID__LL_DENY_TCP 1    /* handle TCP bind/connect, allow none */
#define CAPSID__LL_ALLOW_SHM 2   /* /dev/shm writable (a private tmpfs) */
#define CAPSID__LL_NO_SCOPE 4    /* tests only: leave the scopes out */

/* Builds a ruleset for sb: read and execute everywhere, every right
 * beneath the writable roots, write to the harmless character devices.
 * *fd is -1 when Landlock is not available. */
int capsid__landlock_build(const capsid__sandbox_t* sb, int flags, int* fd,
                           capsid_error_t* err);
/* Child: adds a full-access rule for a path that only exists in the job's
 * mount namespace (a private tmpfs). */
int capsid__landlock_child_allow(int ruleset_fd, const char* path);
int capsid__landlock_child_restrict(int ruleset_fd);
/* The abstract address, in this process's network namespace, that a job
 * scoped by Landlock (ABI 6) cannot reach: 1 with *addr and *len set, 0
 * where the kernel has no scopes or the socket cannot be made. */
int capsid__landlock_scope_probe(const struct sockaddr_un** addr,
                                 socklen_t* len);

/* ---- seccomp ------------------------------------------------------------------ */

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

/* ---- capabilities, no-new-privs ---------------------------------------------- */

/* Dropping every capability, in two steps so an identity switch can sit
 * between them: bound_child empties the bounding and ambient sets and
 * locks securebits so that exec as uid 0 grants nothing (errors from calls
 * the process has no right to make, without CAP_SETPCAP, are ignored:
 * there is then nothing to drop); clear_child empties the effective,
 * permitted and inheritable sets. */
void capsid__caps_bound_child(void);
int capsid__caps_clear_child(void);
int capsid__nnp_child(void);

/* ---- cgroups ------------------------------------------------------------------- */

typedef enum {
  CAPSID__LIMITS_NONE = 0,
  CAPSID__LIMITS_CGROUP = 1,
  CAPSID__LIMITS_RLIMIT = 2
} capsid__limits_kind_t;

#define CAPSID__CG_MAX_FDS 4

typedef struct capsid__cgroup_s {
  capsid__limits_kind_t kind;
  char* v2;                       /* the job's cgroup in the v2 tree */
  char* v1[3];                    /* memory, pids, cpu (hybrid hosts) */
  int procs_fd[CAPSID__CG_MAX_FDS]; /* cgroup.procs, written by the child */
  unsigned n_fds;
  capsid__limits_t limits;       /* as asked (the rlimit fallback) */
} capsid__cgroup_t;

typedef struct capsid__cgroup_stats_s {
  int oom;
  int pids_limited;
  int64_t peak_memory; /* -1 unknown */
  double user_cpu_ms;  /* of every process of the job; -1 unknown */
  double sys_cpu_ms;
} capsid__cgroup_stats_t;

/* The host's layout, probed once: "v2" (pure), "hybrid", "v1" or "none",
 * and whether this process may create cgroups. Thread-safe. */
typedef struct capsid__cgroup_layout_s {
  const char* name;
  char v2_root[256];    /* where this process's v2 cgroup is, or "" */
  char v1_root[3][256]; /* memory, pids, cpu, or "" */
  int writable;
  int controllers_v2;   /* memory/pids/cpu usable through v2 */
} capsid__cgroup_layout_t;

const capsid__cgroup_layout_t* capsid__cgroup_layout(void);

/* Creates the job's cgroups and writes its limits. When cgroups cannot be
 * used, kind becomes RLIMIT (limits requested) or NONE and nothing fails:
 * the child then applies setrlimit. */
int capsid__cgroup_prepare(capsid__cgroup_t* cg,
                           const capsid__limits_t* limits,
                           capsid_error_t* err);
int capsid__cgroup_child(const capsid__cgroup_t* cg);
void capsid__cgroup_kill(capsid__cgroup_t* cg);
/* Sends sig to every process of the job's cgroups (no cgroup.kill for
 * anything but SIGKILL), but those of process group skip (0: none), which
 * the caller signals as a group: a process must not get it twice. */
void capsid__cgroup_signal(const capsid__cgroup_t* cg, int sig, pid_t skip);
void capsid__cgroup_stats(const capsid__cgroup_t* cg,
                          capsid__cgroup_stats_t* st);
/* 1 when the job's memory cgroup has refused a charge at its limit. */
int capsid__cgroup_memory_hit(const capsid__cgroup_t* cg);
/* Kills what is left, waits (bounded) for the cgroups to empty and
 * removes them. */
void capsid__cgroup_release(capsid__cgroup_t* cg);

#endif
