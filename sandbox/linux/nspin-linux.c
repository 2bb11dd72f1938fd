/* Pinned per-workspace namespaces (elevated mode).
 *
 * A process that holds a namespace's descriptor keeps it alive, but only
 * for its own life: every `capsid run` used to make its workspace's
 * network namespace (about 1 ms of CPU on these VMs, plus the kernel's
 * asynchronous teardown after the process) and IPC namespace again. A
 * bind mount of the namespace's nsfs file keeps it without a process, so
 * the first process pins them under STATE/ns and the next ones of the
 * same workspace open the pin.
 *
 * A pin is named after the workspace's uid and a hash of its canonical
 * path ("<uid>-<hash>.net", ".ipc"): a workspace never opens another's
 * pin, also after an uninstall hands the uid to another path. The
 * directory is root's (the state directory is 0700), and every pin is
 * checked to be a namespace of the kind asked before it is used. Making
 * and pinning is serialised by a lock on the directory, so two processes
 * starting the same workspace at once agree on one namespace.
 *
 * Jobs never see the pins: the state directory is hidden behind an empty
 * tmpfs in every job's mount namespace. Uninstall removes them all;
 * `capsid doctor --fix` removes those of workspaces that are gone. */
#include "nspin-linux.h"

#include "net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIN_DIR "ns"


static uint64_t path_hash(const char* path) {
  uint64_t h = 1469598103934665603ull;

  for (; *path != '\0'; path++)
    h = (h ^ (unsigned char)*path) * 1099511628211ull;
  return h;
}


static const char* kind_suffix(unsigned kind) {
  return kind == CAPSID__NS_NET ? "net" : "ipc";
}


static int kind_nstype(unsigned kind) {
  return kind == CAPSID__NS_NET ? CLONE_NEWNET : CLONE_NEWIPC;
}


static void pin_name(char* out, size_t size, uint32_t uid, const char* path,
                     unsigned kind) {
  snprintf(out, size, "%u-%016llx.%s", (unsigned)uid,
           (unsigned long long)path_hash(path), kind_suffix(kind));
}


/* The pin's namespace when name is a pin of that kind, else -1. */
static int open_pin(int dfd, const char* name, unsigned kind) {
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return -1;
  if (ioctl(fd, NS_GET_NSTYPE) != kind_nstype(kind)) {
    close(fd);
    return -1;
  }
  return fd;
}


/* Binds the namespace ns_fd onto dir/name (made as an empty file). */
static int pin(const char* dir, int dfd, const char* name, int ns_fd) {
  char src[64], dst[PATH_MAX];
  int fd;

  fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return errno;
  close(fd);
  snprintf(src, sizeof(src), "/proc/self/fd/%d", ns_fd);
  if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst) ||
      mount(src, dst, NULL, MS_BIND, NULL) != 0) {
    int e = errno;
    unlinkat(dfd, name, 0);
    return e;
  }
  return 0;
}


int capsid__nspin_get(const char* state_dir, uint32_t uid, const char* path,
                      unsigned kind, int* out) {
  char dir[PATH_MAX], name[64];
  capsid__ns_set_t ns;
  int dfd, fd, e;

  *out = -1;
  pin_name(name, sizeof(name), uid, path, kind);
  dfd = -1;
  if (geteuid() == 0 &&
      snprintf(dir, sizeof(dir), "%s/" PIN_DIR, state_dir) <
          (int)sizeof(dir) &&
      (mkdir(dir, 0700) == 0 || errno == EEXIST))
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd >= 0 && flock(dfd, LOCK_EX) == 0) {
    fd = open_pin(dfd, name, kind);
    if (fd >= 0) {
      close(dfd); /* releases the lock */
      *out = fd;
      return 0;
    }
  }
  e = capsid__netns_make(kind, &ns);
  if (e == 0) {
    *out = kind == CAPSID__NS_NET ? ns.net_fd : ns.ipc_fd;
    /* Not pinned (no directory, a filesystem that refuses the bind):
     * held by this process only, as before pins. */
    if (dfd >= 0)
      (void)pin(dir, dfd, name, *out);
  }
  if (dfd >= 0)
    close(dfd);
  return e;
}


/* Whether the pin called name belongs to a workspace of store whose
 * directory still exists. */
static int pin_live(const char* name, const capsid__capstore_t* store) {
  char net[64], ipc[64];
  struct stat st;
  size_t i;

  for (i = 0; store != NULL && i < store->n_workspaces; i++) {
    const capsid__cap_entry_t* w = &store->workspaces[i];
    pin_name(net, sizeof(net), w->id, w->path, CAPSID__NS_NET);
    pin_name(ipc, sizeof(ipc), w->id, w->path, CAPSID__NS_IPC);
    if (strcmp(name, net) == 0 || strcmp(name, ipc) == 0)
      return stat(w->path, &st) == 0 && S_ISDIR(st.st_mode);
  }
  return 0;
}


int capsid__nspin_clean(const char* state_dir,
                        const capsid__capstore_t* store,
                        capsid__report_cb cb, void* data) {
  char dir[PATH_MAX], file[PATH_MAX];
  struct dirent* e;
  DIR* d;
  int left = 0;

  if (snprintf(dir, sizeof(dir), "%s/" PIN_DIR, state_dir) >=
      (int)sizeof(dir))
    return 0;
  d = opendir(dir);
  if (d == NULL)
    return 0;
  flock(dirfd(d), LOCK_EX);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || pin_live(e->d_name, store))
      continue;
    if (snprintf(file, sizeof(file), "%s/%s", dir, e->d_name) >=
        (int)sizeof(file))
      continue;
    /* Detached: jobs still running in it keep their namespace; the
     * next job of the workspace makes a new one. */
    umount2(file, MNT_DETACH | UMOUNT_NOFOLLOW);
    if (unlink(file) != 0 && errno != ENOENT) {
      capsid__say(cb, data, "namespace pin", 0, "cannot remove %s: %s",
                  file, strerror(errno));
      left++;
      continue;
    }
    capsid__say(cb, data, "namespace pin", 1, "removed %s", file);
  }
  closedir(d);
  if (store == NULL && rmdir(dir) != 0 && errno != ENOENT)
    left++;
  return left;
}
