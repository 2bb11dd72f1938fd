/* Linux confinement of one job: which mode runs, what the parent prepares
 * and the order the child applies it in.
 *
 * Unprivileged mode (any user, no set-up): the job's first child joins
 * its workspace's user namespace, IPC namespace and (offline) network
 * namespace, made on the workspace's first job and held open
 * (heldns-linux.c: a new netns per job was the largest cost of a spawn),
 * and unshares a mount and a pid namespace of the job's own; where that
 * cannot be had the clone itself creates all of them and the child maps
 * its own uid/gid and brings its loopback up. Then the child builds the
 * mounts (mounts-linux.c), drops every capability, sets NO_NEW_PRIVS,
 * enters the Landlock domain and installs the seccomp filter. The pid
 * namespace is what guarantees that no process of the job outlives it
 * even without cgroups: when the job's first process dies the kernel
 * kills the rest.
 *
 * Landlock-only mode: auto's fallback where user namespaces are refused
 * (never what `--mode unprivileged` turns into: a mode asked for by name
 * runs in full or is refused), the same minus the namespaces. Offline
 * then rests on seccomp (no socket at all) and Landlock (no TCP
 * bind/connect), and seccomp refuses SysV IPC; protected paths inside
 * writable roots are NOT enforced (Landlock cannot take back rights
 * beneath a granted root), which `capsid doctor`, the result's mode and a
 * line on stderr say.
 *
 * Elevated mode (root, after `capsid setup`): no user namespace. The job
 * runs as its workspace's own uid and gid, with its extra roots' gids,
 * capsid-users and the read-only gid (elevated-linux.c), in the
 * workspace's IPC namespace and offline network namespace (held open,
 * joined with setns), with the same mounts, Landlock and seccomp. Its
 * writes to the workspace are granted by the ACL engine before the first
 * job.
 *
 * Limits (cgroup-linux.c) are independent of the mode. */
#include "confine-linux.h"

#include "caps-linux.h"
#include "seccomp-linux.h"
#include "verify-linux.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Refuses a mode this host cannot give in full. */
static int refuse(capsid_error_t* err, int stage, const char* mode,
                  const char* missing) {
  return capsid__error_set(err, CAPSID_ENOTSUP, stage, 0, NULL, "mode",
                           "%s mode cannot run here: %s (see `capsid "
                           "doctor`); the job was not run",
                           mode, missing);
}

#define NO_USERNS                                                            \
  "user namespaces are blocked (AppArmor, user.max_user_namespaces=0 or "   \
  "a container's seccomp policy)"
#define NO_LANDLOCK "Landlock is off in this kernel"


/* How the mode runs. The mode itself was decided once, by
 * capsid__prelaunch: auto became the mode it can have in full (elevated,
 * unprivileged or landlock-only, the result says which), or stayed auto
 * when nothing confines here, which is refused; a mode asked for by name
 * either runs with every restriction it promises or is refused:
 * unprivileged never turns into landlock-only, nor runs without Landlock
 * (its abstract-socket scope and write rules are part of what it
 * promises). */
static int choose_mode(capsid__confine_t* c, const capsid__launch_t* launch,
                       int* ll_flags, int* sc_profile, capsid_error_t* err) {
  const capsid__sandbox_t* sb = launch->sandbox;
  capsid_mode_t mode = launch->mode;
  int no_landlock = capsid__landlock_missing(), rc;

  if (mode == CAPSID_MODE_AUTO)
    return capsid__error_set(err, CAPSID_ENOTSUP, CAPSID_STAGE_LANDLOCK, 0,
                             NULL, "mode",
                             "no confinement is available here: Landlock "
                             "is off (see `capsid doctor`)");
  if (mode == CAPSID_MODE_ELEVATED) {
    if (no_landlock)
      return refuse(err, CAPSID_STAGE_LANDLOCK, "elevated", NO_LANDLOCK);
    /* capsid__prelaunch put the grants in place and made the netns. */
    rc = capsid__elevated_identity(launch->prep, sb, &c->identity, err);
    if (rc != 0)
      return rc;
    c->mode = CAPSID_MODE_ELEVATED;
    c->elevated = 1;
    c->clone_flags = CLONE_NEWNS | CLONE_NEWPID;
    c->pidns = 1;
  } else if (mode == CAPSID_MODE_LANDLOCK_ONLY) {
    if (no_landlock)
      return refuse(err, CAPSID_STAGE_LANDLOCK, "landlock-only", NO_LANDLOCK);
    c->mode = CAPSID_MODE_LANDLOCK_ONLY;
    /* No mount namespace: the Landlock rules hide deny_read. */
    *ll_flags |= CAPSID__LL_DENY_READ;
    /* No IPC namespace: the host's SysV IPC and message queues are the
     * caller's own, so the job gets none. */
    *sc_profile |= CAPSID__SC_IPC_DENIED;
    if (!sb->network)
      *ll_flags |= CAPSID__LL_DENY_TCP;
  } else {
    if (!capsid__userns_available())
      return refuse(err, CAPSID_STAGE_USERNS, "unprivileged", NO_USERNS);
    if (no_landlock)
      return refuse(err, CAPSID_STAGE_LANDLOCK, "unprivileged", NO_LANDLOCK);
    c->mode = CAPSID_MODE_UNPRIVILEGED;
    c->userns = 1;
    c->pidns = 1;
    /* The workspace's held namespaces when they can be had (valgrind runs
     * no CLONE_FILES child, see launch-linux.c); else the clone makes
     * namespaces of the job's own, as before. */
    if (!CAPSID__ON_VALGRIND() && capsid__heldns_get(sb->cwd, &c->held) == 0) {
      c->held_user_fd = capsid__heldns_user_fd(c->held);
      c->held_net_fd = sb->network ? -1 : capsid__heldns_net_fd(c->held);
      if (!CAPSID__SKIPPED(c, CAPSID__VERIFY_IPC))
        c->held_ipc_fd = capsid__heldns_ipc_fd(c->held);
    } else {
      c->held = NULL;
      c->clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID;
      if (!CAPSID__SKIPPED(c, CAPSID__VERIFY_IPC))
        c->clone_flags |= CLONE_NEWIPC;
      if (!sb->network) {
        c->clone_flags |= CLONE_NEWNET;
        c->netns = 1;
      }
    }
  }
  /* Offline is no host socket of any kind; which families that takes is
   * net.h's decision (landlock-only has no network namespace). */
  *sc_profile |= (int)capsid__net_offline_denials(
      !sb->network, c->mode != CAPSID_MODE_LANDLOCK_ONLY);
  return 0;
}


/* What the job's process reads back beyond its own state: that its IPC
 * namespace is not the host's, and (online, in the host's network
 * namespace) that the Landlock scope keeps host abstract sockets out. */
static void prepare_readbacks(capsid__confine_t* c, const capsid__sandbox_t* sb,
                              int* ll_flags) {
  struct stat st;

  if ((c->userns || c->elevated) && stat("/proc/self/ns/ipc", &st) == 0)
    c->host_ipc_ino = (unsigned long)st.st_ino;
  if (sb->network)
    capsid__landlock_scope_probe(&c->scope_probe, &c->scope_probe_len);
  if (CAPSID__SKIPPED(c, CAPSID__VERIFY_SCOPE))
    *ll_flags |= CAPSID__LL_NO_SCOPE;
}


static int prepare(capsid__confine_t* c, const capsid__launch_t* launch,
                   capsid_error_t* err) {
  const capsid__sandbox_t* sb = launch->sandbox;
  int rc, ll_flags = 0, sc_profile = 0;

  memset(c, 0, sizeof(*c));
  c->landlock_fd = -1;
  c->test_skips = capsid__verify_test_skips();
  c->cgroup.procs_fd[0] = -1;

  c->identity.netns_fd = -1;
  c->identity.ipcns_fd = -1;
  c->held_ipc_fd = -1;
  rc = choose_mode(c, launch, &ll_flags, &sc_profile, err);
  if (rc != 0)
    return rc;
  prepare_readbacks(c, sb, &ll_flags);

  if (c->userns && c->held == NULL)
    capsid__idmap_init(&c->idmap);
  if (c->userns || c->elevated) {
    /* Missing protected paths become placeholders the binds keep
     * read-only. Only where binds are made: landlock-only mode could not
     * protect them, and creates nothing. */
    rc = capsid__placeholders_hold(&c->placeholders, sb, err);
    if (rc == 0)
      rc = capsid__mounts_plan(&c->mounts, sb, launch->path, 1, err);
    if (rc != 0)
      return rc;
  }
  capsid__caps_prepare();
  c->seccomp = capsid__seccomp_filter(sc_profile, err);
  if (c->seccomp == NULL)
    return CAPSID_ECONFINE;
  rc = capsid__landlock_build(sb, ll_flags, &c->landlock_fd, err);
  if (rc != 0)
    return rc;
  /* With a pid namespace, the kernel already ends every process of the
   * job with its init, so a job without limits needs no cgroup: creating
   * and removing one is most of a cgroup's cost per job. */
  if (c->pidns && launch->limits.memory == 0 &&
      launch->limits.processes == 0 && launch->limits.cpu <= 0)
    return 0;
  rc = capsid__cgroup_prepare(&c->cgroup, &launch->limits, err);
  if (rc != 0) {
    capsid__confine_release(c);
    return rc;
  }
  return 0;
}


int capsid__confine_prepare(capsid__confine_t* c,
                            const capsid__launch_t* launch,
                            capsid_error_t* err) {
  int rc = prepare(c, launch, err);

  /* A failed prepare leaves nothing for release to do but this. */
  if (rc != 0) {
    capsid__heldns_put(c->held);
    c->held = NULL;
    capsid__elevated_release(&c->identity);
    capsid__placeholders_release(&c->placeholders, !c->elevated);
  }
  return rc;
}


int capsid__confine_child_ns(capsid__confine_t* c, int* stage) {
  int rc;

  if (c->elevated && c->identity.netns_fd >= 0) {
    /* The workspace's own offline namespace, made once and held open. */
    *stage = CAPSID_STAGE_NETNS;
    if (setns(c->identity.netns_fd, CLONE_NEWNET) != 0)
      return errno;
  }
  if (c->elevated && c->identity.ipcns_fd >= 0 &&
      !CAPSID__SKIPPED(c, CAPSID__VERIFY_IPC)) {
    /* The workspace's own IPC namespace, likewise (before the mounts: a
     * fresh /dev/mqueue shows the namespace it is mounted in). */
    *stage = CAPSID_STAGE_SPAWN;
    if (setns(c->identity.ipcns_fd, CLONE_NEWIPC) != 0)
      return errno;
  }
  if (c->userns && c->held == NULL) {
    *stage = CAPSID_STAGE_USERNS;
    if ((rc = capsid__idmap_child(&c->idmap)) != 0)
      return rc;
  }
  if (c->userns || c->elevated) {
    *stage = CAPSID_STAGE_MOUNT;
    if ((rc = capsid__mounts_child(&c->mounts)) != 0) {
      c->failed_path = c->mounts.failed_path;
      return rc;
    }
    *stage = CAPSID_STAGE_NETNS;
    if (c->netns && (rc = capsid__loopback_up_child()) != 0)
      return rc;
    *stage = CAPSID_STAGE_LANDLOCK;
    if (c->landlock_fd >= 0 && c->mounts.private_tmp &&
        (rc = capsid__landlock_child_allow(c->landlock_fd, "/tmp")) != 0)
      return rc;
    if (c->landlock_fd >= 0 && c->mounts.private_shm &&
        (rc = capsid__landlock_child_allow(c->landlock_fd, "/dev/shm")) != 0)
      return rc;
  }
  *stage = 0;
  return 0;
}


/* Each step is skipped only when a test asked for it (test_skips is 0
 * outside Debug builds), to show that the read-back catches it. */
int capsid__confine_child_proc(capsid__confine_t* c, int* stage) {
  int seccomp = c->seccomp != NULL && !CAPSID__ON_VALGRIND();
  int rc;

  /* First, while nothing is restricted: join the cgroups. Here, in the
   * process that execs, and never in the pid namespace's init: init
   * shares capsid's address space (CLONE_VM), and a process in the job's
   * memory cgroup is a candidate of the cgroup's OOM killer, which scores
   * it by capsid's memory and kills every process sharing it -- capsid
   * itself. This process shares that memory only until execve, as a
   * vfork child, which the OOM killer never picks (docs/confinement-linux.md,
   * "Memory limits and the supervisor"). */
  *stage = CAPSID_STAGE_CGROUP;
  if (!CAPSID__SKIPPED(c, CAPSID__VERIFY_LIMITS) &&
      (rc = capsid__cgroup_child(&c->cgroup)) != 0)
    return rc;
  *stage = CAPSID_STAGE_CAPS;
  if (!CAPSID__SKIPPED(c, CAPSID__VERIFY_CAPS))
    capsid__caps_bound_child();
  if (c->elevated && !CAPSID__SKIPPED(c, CAPSID__VERIFY_IDENTITY)) {
    *stage = CAPSID_STAGE_IDENTITY;
    if ((rc = capsid__identity_child(&c->identity)) != 0)
      return rc;
  }
  *stage = CAPSID_STAGE_CAPS;
  if (!CAPSID__SKIPPED(c, CAPSID__VERIFY_CAPS) &&
      (rc = capsid__caps_clear_child()) != 0 && (c->userns || c->elevated))
    return rc;
  *stage = CAPSID_STAGE_NO_NEW_PRIVS;
  if (!CAPSID__SKIPPED(c, CAPSID__VERIFY_NNP) &&
      (rc = capsid__nnp_child()) != 0)
    return rc;
  *stage = CAPSID_STAGE_LANDLOCK;
  if (c->landlock_fd >= 0 && !CAPSID__SKIPPED(c, CAPSID__VERIFY_LANDLOCK) &&
      (rc = capsid__landlock_child_restrict(c->landlock_fd)) != 0)
    return rc;
  *stage = CAPSID_STAGE_SECCOMP;
  if (seccomp && !CAPSID__SKIPPED(c, CAPSID__VERIFY_SECCOMP) &&
      (rc = capsid__seccomp_child(c->seccomp)) != 0)
    return rc;
  *stage = CAPSID_STAGE_VERIFY;
  if ((rc = capsid__verify_child(c, seccomp)) != 0)
    return rc;
  *stage = 0;
  return 0;
}


void capsid__confine_after_exit(capsid__confine_t* c, capsid__exit_t* st) {
  capsid__cgroup_stats_t cs;

  st->limits = (int)c->cgroup.kind;
  if (c->cgroup.kind != CAPSID__LIMITS_CGROUP)
    return;
  capsid__cgroup_stats(&c->cgroup, &cs);
  st->oom = cs.oom;
  st->pids_limited = cs.pids_limited;
  if (cs.peak_memory >= 0)
    st->peak_memory = cs.peak_memory;
  if (cs.user_cpu_ms >= 0) {
    st->user_cpu_ms = cs.user_cpu_ms;
    st->sys_cpu_ms = cs.sys_cpu_ms;
  }
}


void capsid__confine_kill(capsid__confine_t* c) {
  capsid__cgroup_kill(&c->cgroup);
}


void capsid__confine_release(capsid__confine_t* c) {
  capsid__heldns_put(c->held);
  c->held = NULL;
  capsid__elevated_release(&c->identity);
  /* The job's processes are gone: nothing of it binds them any more. */
  capsid__placeholders_release(&c->placeholders, !c->elevated);
  if (c->landlock_fd >= 0) {
    close(c->landlock_fd);
    c->landlock_fd = -1;
  }
  capsid__cgroup_release(&c->cgroup);
}
