/* The identity map of a user namespace capsid makes (idmap-linux.h). */
#include "idmap-linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void capsid__idmap_init(capsid__idmap_t* m) {
  snprintf(m->uid_map, sizeof(m->uid_map), "%u %u 1\n", (unsigned)geteuid(),
           (unsigned)geteuid());
  snprintf(m->gid_map, sizeof(m->gid_map), "%u %u 1\n", (unsigned)getegid(),
           (unsigned)getegid());
}


static int write_proc(const char* path, const char* text) {
  size_t len = strlen(text);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return errno;
  n = write(fd, text, len);
  if (n != (ssize_t)len) {
    int e = n < 0 ? errno : EIO;
    close(fd);
    return e;
  }
  close(fd);
  return 0;
}


int capsid__idmap_child(const capsid__idmap_t* m) {
  int rc;

  /* The kernel lets an unprivileged process map its own gid only once
   * setgroups is denied (else it could drop a group that denies it). */
  rc = write_proc("/proc/self/setgroups", "deny");
  if (rc == 0)
    rc = write_proc("/proc/self/uid_map", m->uid_map);
  if (rc == 0)
    rc = write_proc("/proc/self/gid_map", m->gid_map);
  return rc;
}
