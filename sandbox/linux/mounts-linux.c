/* The job's mount namespace.
 *
 * Landlock stops writes outside the writable roots, but it does not cover
 * chmod, chown or extended attributes, and it cannot take rights away
 * beneath a root it granted (.git inside the workspace). So the job sees
 * a copy of the host's mounts where:
 *
 *   1. every mount is read-only (one mount_setattr(AT_RECURSIVE) call);
 *   2. each writable root is bound onto itself and made writable again;
 *   3. each protected path (.git, .codex, .agents, carve-outs) is bound
 *      onto itself read-only: writes fail with EROFS, and a rename or
 *      rmdir of a mount point fails with EBUSY, so .git cannot be moved
 *      aside and replaced either; one that does not exist yet is an
 *      empty placeholder directory for the job's life;
 *   4. /tmp becomes a private tmpfs when the policy gives tmp access and
 *      nothing else the job needs lives under it; /dev/shm is always a
 *      private tmpfs (the host's is shared by every user);
 *   5. /run is hidden behind an empty read-only tmpfs when the job is
 *      offline (path sockets of host daemons live there, and neither a
 *      network namespace nor Landlock blocks them); online, only the
 *      caller's login session /run/user/<uid> is hidden (its session
 *      bus would run commands outside the sandbox);
 *   6. capsid's state directory (every workspace path and its uid) is
 *      hidden behind an empty read-only tmpfs, and /dev/mqueue, where the
 *      host mounts one, shows the job's own IPC namespace instead;
 *   7. /proc is the job's own pid namespace's.
 *
 * The plan is built in the parent; the child only walks it. */
#include "mounts-linux.h"
#include "denyread-linux.h"
#include "system.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Not every libc declares it; the kernel's layout is fixed. */
struct capsid_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};


static int push(capsid__mounts_t* m, capsid__mnt_op_t op, const char* path,
                capsid_error_t* err) {
  if (m->n == CAPSID__MNT_MAX_STEPS)
    return capsid__error_set(err, CAPSID_ETOOLONG, CAPSID_STAGE_MOUNT, 0,
                             path, "policy",
                             "the policy needs more than %d mounts",
                             CAPSID__MNT_MAX_STEPS);
  m->steps[m->n].op = op;
  m->steps[m->n].path = path;
  m->n++;
  return 0;
}


int capsid__mounts_push(capsid__mounts_t* m, capsid__mnt_op_t op,
                        const char* path, capsid_error_t* err) {
  return push(m, op, path, err);
}


static int is_dir(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}


/* Does anything the job must see from the host live beneath dir? */
static int needs_host(const capsid__sandbox_t* sb, const char* program,
                      const char* dir, int tmp_root_allowed) {
  size_t i;

  if (capsid__path_is_within(sb->cwd, dir))
    return 1;
  if (program != NULL && capsid__path_is_within(program, dir))
    return 1;
  for (i = 0; i < sb->writable.n; i++) {
    if (tmp_root_allowed && strcmp(sb->writable.v[i], dir) == 0)
      continue;
    if (capsid__path_is_within(sb->writable.v[i], dir))
      return 1;
  }
  for (i = 0; i < sb->protected_paths.n; i++)
    if (capsid__path_is_within(sb->protected_paths.v[i], dir))
      return 1;
  return 0;
}


#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* The canonical state directory and whether the host mounts message
 * queues, looked up once per process rather than per job: realpath()
 * costs a readlink per component, and a missing /dev/mqueue a failed
 * statfs, on every launch. Keyed by the state directory's name (a test
 * may point CAPSID_STATE_DIR elsewhere between jobs); a name that did
 * not resolve is looked up again by the next job, so a state directory
 * made later (setup) is hidden from then on, and one removed later is
 * skipped by the child (CAPSID__MNT_HIDE). */
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static char host_state_name[PATH_MAX];
static char host_state_real[PATH_MAX];
static int host_mqueue = -1;

int capsid__state_dir_real(char* out, size_t size) {
  const char* name = capsid__state_dir();
  int ok;

  pthread_mutex_lock(&host_lock);
  ok = host_state_name[0] != '\0' && strcmp(host_state_name, name) == 0;
  if (!ok && strlen(name) < sizeof(host_state_name) &&
      realpath(name, host_state_real) != NULL && is_dir(host_state_real)) {
    memcpy(host_state_name, name, strlen(name) + 1);
    ok = 1;
  }
  if (ok && strlen(host_state_real) < size)
    memcpy(out, host_state_real, strlen(host_state_real) + 1);
  else
    ok = 0;
  pthread_mutex_unlock(&host_lock);
  return ok;
}


static int host_has_mqueue(void) {
  struct statfs fs;
  int has;

  pthread_mutex_lock(&host_lock);
  if (host_mqueue < 0)
    host_mqueue =
        statfs("/dev/mqueue", &fs) == 0 && fs.f_type == MQUEUE_MAGIC;
  has = host_mqueue;
  pthread_mutex_unlock(&host_lock);
  return has;
}


/* What the job must not see of the host, whatever its policy: capsid's
 * state directory, even inside a writable root (the mount point cannot
 * be removed or renamed, and nothing can be written beneath it), and the
 * host IPC namespace's message queues, which /dev/mqueue would show. */
static int push_hidden(capsid__mounts_t* m, capsid_error_t* err) {
  int rc = 0;

  if (capsid__state_dir_real(m->state_dir, sizeof(m->state_dir)) &&
      strcmp(m->state_dir, "/") != 0)
    rc = push(m, CAPSID__MNT_HIDE, m->state_dir, err);
  if (rc == 0 && host_has_mqueue())
    rc = push(m, CAPSID__MNT_MQUEUE, "/dev/mqueue", err);
  return rc;
}


int capsid__mounts_plan(capsid__mounts_t* m, const capsid__sandbox_t* sb,
                        const char* program, int new_pid_ns,
                        capsid_error_t* err) {
  size_t i;
  int rc;

  memset(m, 0, sizeof(*m));
  m->private_tmp = capsid__strv_contains(&sb->writable, "/tmp") &&
                   !needs_host(sb, program, "/tmp", 1);
  m->private_shm = is_dir("/dev/shm");

  rc = push(m, CAPSID__MNT_PRIVATE, "/", err);
  if (rc == 0)
    rc = push(m, CAPSID__MNT_ALL_RDONLY, "/", err);
  for (i = 0; rc == 0 && i < sb->writable.n; i++) {
    if (m->private_tmp && strcmp(sb->writable.v[i], "/tmp") == 0)
      rc = push(m, CAPSID__MNT_TMPFS_RW, "/tmp", err);
    else
      rc = push(m, CAPSID__MNT_BIND_RW, sb->writable.v[i], err);
  }
  if (rc == 0 && m->private_shm)
    rc = push(m, CAPSID__MNT_TMPFS_RW, "/dev/shm", err);
  /* Protected paths last among the binds, so a writable root bound later
   * cannot cover them. A missing one is skipped: the placeholder the
   * launcher made on its way (placeholder-linux.c) is bound instead, and
   * the job can create nothing beneath it; one it could not make (a
   * read-only filesystem) the job cannot make either. */
  for (i = 0; rc == 0 && i < sb->protected_paths.n; i++)
    if (capsid__path_exists(sb->protected_paths.v[i]))
      rc = push(m, CAPSID__MNT_BIND_RO, sb->protected_paths.v[i], err);
  for (i = 0; rc == 0 && i < sb->missing_protected.n; i++)
    if (!capsid__strv_contains(&sb->protected_paths,
                               sb->missing_protected.v[i]) &&
        capsid__path_exists(sb->missing_protected.v[i]))
      rc = push(m, CAPSID__MNT_BIND_RO, sb->missing_protected.v[i], err);
  if (rc == 0)
    rc = capsid__denyread_plan(m, sb, err);
  if (rc == 0 && !sb->network && is_dir("/run") &&
      !needs_host(sb, program, "/run", 0))
    rc = push(m, CAPSID__MNT_TMPFS_RO, "/run", err);
  /* Online jobs keep /run (resolv.conf may point into it) but not the
   * caller's login session: its session bus and systemd's user manager
   * run commands outside the sandbox on request (systemd-run --user). */
  snprintf(m->session, sizeof(m->session), "/run/user/%u",
           (unsigned)getuid());
  if (rc == 0 && sb->network && is_dir(m->session) &&
      !needs_host(sb, program, m->session, 0))
    rc = push(m, CAPSID__MNT_TMPFS_RO, m->session, err);
  if (rc == 0)
    rc = push_hidden(m, err);
  if (rc == 0 && new_pid_ns)
    rc = push(m, CAPSID__MNT_PROC, "/proc", err);
  return rc;
}


/* Without mount_setattr (kernels before 5.12, and valgrind, which does
 * not know the call): remount the one mount at path. A remount in a user
 * namespace must repeat the flags the mount is locked with, so they are
 * read back first. Submounts are then not covered (Landlock still stops
 * writes there). */
static int remount(const char* path, int rdonly) {
  struct statvfs sv;
  unsigned long flags = MS_REMOUNT | MS_BIND;

  if (statvfs(path, &sv) != 0)
    return errno;
  if (sv.f_flag & ST_NOSUID)
    flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    flags |= MS_RELATIME;
  if (rdonly)
    flags |= MS_RDONLY;
  return mount("none", path, "none", flags, NULL) != 0 ? errno : 0;
}


static int setattr(const char* path, unsigned flags, uint64_t set,
                   uint64_t clr) {
  struct capsid_mount_attr attr;

  memset(&attr, 0, sizeof(attr));
  attr.attr_set = set;
  attr.attr_clr = clr;
  if (syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr,
              sizeof(attr)) != 0)
    return errno == ENOSYS ? remount(path, (set & MOUNT_ATTR_RDONLY) != 0)
                           : errno;
  return 0;
}


static int step_child(const capsid__mnt_step_t* s) {
  switch (s->op) {
  case CAPSID__MNT_PRIVATE:
    return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) ? errno : 0;
  case CAPSID__MNT_ALL_RDONLY:
    return setattr("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
  case CAPSID__MNT_BIND_RW:
    if (mount(s->path, s->path, "none", MS_BIND | MS_REC, NULL) != 0)
      return errno;
    /* Only the root's own mount: a mount beneath it that the host made
     * read-only stays so (and the kernel would refuse to unlock it).
     * nosuid: a set-id file in a writable root gives nothing inside. */
    return setattr(s->path, 0, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY);
  case CAPSID__MNT_BIND_RO:
    if (mount(s->path, s->path, "none", MS_BIND | MS_REC, NULL) != 0)
      return errno;
    return setattr(s->path, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
  case CAPSID__MNT_TMPFS_RW:
    return mount("tmpfs", s->path, "tmpfs", MS_NOSUID | MS_NODEV,
                 "mode=1777,size=50%")
               ? errno
               : 0;
  case CAPSID__MNT_TMPFS_RO:
    return mount("tmpfs", s->path, "tmpfs",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=755")
               ? errno
               : 0;
  case CAPSID__MNT_HIDE:
    /* Under a private /tmp or a hidden /run the path is already gone. */
    if (mount("tmpfs", s->path, "tmpfs",
              MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=755") != 0)
      return errno == ENOENT ? 0 : errno;
    return 0;
  case CAPSID__MNT_MQUEUE:
    return mount("mqueue", s->path, "mqueue",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
               ? errno
               : 0;
  case CAPSID__MNT_PROC:
    /* A proc of the new pid namespace: the job sees only its own
     * processes. */
    return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 NULL)
               ? errno
               : 0;
  case CAPSID__MNT_DENY_SOURCE:
  case CAPSID__MNT_DENY_DIR:
  case CAPSID__MNT_DENY_FILE:
  case CAPSID__MNT_DENY_DONE:
    return capsid__denyread_step(s);
  }
  return EINVAL;
}


int capsid__mounts_child(capsid__mounts_t* m) {
  unsigned i;
  int rc;

  for (i = 0; i < m->n; i++) {
    rc = step_child(&m->steps[i]);
    if (rc != 0) {
      m->failed_path = m->steps[i].path;
      return rc;
    }
  }
  return 0;
}
