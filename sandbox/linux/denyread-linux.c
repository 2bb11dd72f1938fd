/* deny_read on Linux: each denied path is covered, in the job's own mount
 * namespace, by something empty the job cannot open.
 *
 *   - a directory by a read-only tmpfs of mode 000: listing it or opening
 *     anything beneath it fails with EACCES (the job holds no capability
 *     that overrides modes), and nothing can be created in it;
 *   - a file by a read-only bind of an empty mode-000 file the child makes
 *     in the job's private /dev/shm and unlinks once bound: opening it
 *     fails with EACCES.
 *
 * The kernel resolves every path the job uses in its namespace, so the
 * cover holds through a symbolic link, through /proc/self/root, and for a
 * hard link the job tries to make (link() cannot reach the covered inode,
 * and a link to the cover crosses a mount: EXDEV). A hard link to the
 * file that already existed elsewhere before the job is not covered: the
 * policy names paths, not inodes (docs/security.md says so).
 *
 * Landlock-only mode has no mount namespace: there the Landlock ruleset
 * grants reading around each denied path instead of on "/"
 * (landlock-deny-linux.c), with the differences docs/security.md lists. */
#include "denyread-linux.h"

#include "denyread.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* In the job's private /dev/shm, which only this job's namespace sees. */
static const char deny_source[] = "/dev/shm/.capsid-deny-read";


int capsid__denyread_plan(capsid__mounts_t* m, const capsid__sandbox_t* sb,
                          capsid_error_t* err) {
  struct stat st;
  int files = 0, rc = 0;
  size_t i;

  for (i = 0; i < sb->deny_read.n; i++)
    if (stat(sb->deny_read.v[i], &st) == 0 && !S_ISDIR(st.st_mode))
      files = 1;
  if (files && !m->private_shm)
    return capsid__error_set(err, CAPSID_ENOTSUP, CAPSID_STAGE_MOUNT, 0,
                             NULL, "policy.deny_read",
                             "policy.deny_read: this host has no /dev/shm "
                             "to make the cover of a denied file in; the "
                             "job was not run");
  if (files)
    rc = capsid__mounts_push(m, CAPSID__MNT_DENY_SOURCE, deny_source, err);
  for (i = 0; rc == 0 && i < sb->deny_read.n; i++) {
    /* Gone since resolution: nothing to read there, nothing to cover. */
    if (stat(sb->deny_read.v[i], &st) != 0)
      continue;
    rc = capsid__mounts_push(m, S_ISDIR(st.st_mode) ? CAPSID__MNT_DENY_DIR
                                                    : CAPSID__MNT_DENY_FILE,
                             sb->deny_read.v[i], err);
  }
  if (rc == 0 && files)
    rc = capsid__mounts_push(m, CAPSID__MNT_DENY_DONE, deny_source, err);
  return rc;
}


int capsid__denyread_step(const capsid__mnt_step_t* s) {
  int fd;

  switch (s->op) {
  case CAPSID__MNT_DENY_SOURCE:
    fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0)
      return errno;
    close(fd);
    /* The umask did not widen it, but a host mode could: say it again. */
    return chmod(s->path, 0) != 0 ? errno : 0;
  case CAPSID__MNT_DENY_DIR:
    /* A path under a private /tmp or a hidden /run is already gone. */
    if (mount("tmpfs", s->path, "tmpfs",
              MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
              "mode=000,size=4k") != 0)
      return errno == ENOENT ? 0 : errno;
    return 0;
  case CAPSID__MNT_DENY_FILE:
    if (mount(deny_source, s->path, "none", MS_BIND, NULL) != 0)
      return errno == ENOENT ? 0 : errno;
    /* Read-only, so the job cannot chmod its cover open (in unprivileged
     * mode the cover is the job's own uid's). */
    return mount("none", s->path, "none",
                 MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
                     MS_NOEXEC,
                 NULL) != 0
               ? errno
               : 0;
  case CAPSID__MNT_DENY_DONE:
    /* The binds hold the inode; no name of it is left for the job. */
    return unlink(s->path) != 0 ? errno : 0;
  default:
    return EINVAL;
  }
}

