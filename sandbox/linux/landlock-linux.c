/* Landlock: the job may write only beneath its writable roots.
 *
 * The ruleset is built in the parent (opening each root and adding a rule
 * costs a few system calls per path) and the child only calls
 * landlock_restrict_self on it. Rules attach to inodes, so they hold in
 * the job's mount namespace too, where the roots are bind mounts of the
 * same inodes. A private tmpfs exists only in the child: the child adds
 * its rule after mounting it.
 *
 * The kernel headers of Debian 12 stop at ABI 3; the later constants are
 * defined here. */
#include "landlock-linux.h"

#include "denyread.h"
#include "fault.h"
#include "kdenials-linux.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LL_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)
#define LL_LOG_SAME_EXEC_OFF (1U << 0)
#define LL_LOG_NEW_EXEC_ON (1U << 1)

/* The ruleset attribute as of ABI 6; older kernels read a prefix. */
struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

#define FS_READ CAPSID__LL_FS_READ
/* Rights that apply to a file (not a directory) in a path_beneath rule. */
#define FS_FILE                                                              \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |              \
   LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |              \
   LANDLOCK_ACCESS_FS_IOCTL_DEV)


static int forced_off;

#ifdef CAPSID_FAULT_INJECTION
void capsid__landlock_force_off(int on) {
  forced_off = on;
}
#endif


/* The kernel's answer, asked once per process (it cannot change while
 * the kernel runs): a launch asked it four times, twice in the child. */
static int kernel_abi_seen = -1;

/* What the kernel says, with no test hook: safe in the clone child (the
 * fault sites take a lock), which only reads what the parent stored. */
static int kernel_abi(void) {
  long v;

  if (kernel_abi_seen >= 0)
    return kernel_abi_seen;
  v = syscall(SYS_landlock_create_ruleset, NULL, 0,
              LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}


int capsid__landlock_abi(void) {
  if (forced_off || capsid__fault("landlock") != 0)
    return 0;
  if (kernel_abi_seen < 0)
    kernel_abi_seen = kernel_abi();
  return kernel_abi_seen;
}


static uint64_t fs_rights(int abi) {
  uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0-12 */
  if (abi >= 2)
    r |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    r |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5)
    r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return r;
}


int capsid__landlock_add_fd(int ruleset, int fd, int is_dir, uint64_t rights,
                            uint64_t handled) {
  struct landlock_path_beneath_attr pb;

  if (!is_dir)
    rights &= FS_FILE;
  memset(&pb, 0, sizeof(pb));
  pb.allowed_access = rights & handled;
  pb.parent_fd = fd;
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb,
              0) != 0)
    return errno;
  return 0;
}


/* Is fd the inode at path (canonical) now? A job of the same workspace
 * may have swapped a component for a symbolic link since the policy was
 * resolved; the rule must not follow it (ELOOP then). */
int capsid__landlock_still_at(int fd, const char* path) {
  char proc[64], real[PATH_MAX];
  ssize_t n;

  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  n = readlink(proc, real, sizeof(real) - 1);
  if (n < 0)
    return errno;
  real[n] = '\0';
  return strcmp(real, path) == 0 ? 0 : ELOOP;
}


int capsid__landlock_add_path(int ruleset, const char* path, uint64_t rights,
                              uint64_t handled) {
  struct stat st;
  int fd, rc;

  fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : errno; /* no such device here: fine */
  if ((rc = capsid__landlock_still_at(fd, path)) != 0) {
    close(fd);
    return rc;
  }
  if (fstat(fd, &st) != 0) {
    rc = errno;
    close(fd);
    return rc;
  }
  rc = capsid__landlock_add_fd(ruleset, fd, S_ISDIR(st.st_mode), rights,
                               handled);
  close(fd);
  return rc;
}


/* The paths every ruleset has: the root (read and execute) and the
 * devices every program writes to; nothing that reaches hardware. */
static const char* const fixed_paths[] = {
    "/", "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
    "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts"};
#define N_FIXED CAPSID__ARRAY_SIZE(fixed_paths)

/* Opened once per process and kept (close-on-exec; the job's child also
 * marks everything above 2 so): a ruleset is still built per job, since
 * the job's private /tmp and /dev/shm are new inodes each time and their
 * rules go into it, but these nine open/fstat/close triples were a third
 * of its cost. Only the writable roots, which differ between jobs, are
 * looked up per job. */
static pthread_once_t fixed_once = PTHREAD_ONCE_INIT;
static int fixed_fd[N_FIXED];
static int fixed_dir[N_FIXED];

static void fixed_open(void) {
  struct stat st;
  size_t i;

  for (i = 0; i < N_FIXED; i++) {
    fixed_fd[i] = open(fixed_paths[i], O_PATH | O_CLOEXEC);
    if (fixed_fd[i] >= 0 && fstat(fixed_fd[i], &st) != 0) {
      close(fixed_fd[i]);
      fixed_fd[i] = -1;
    }
    fixed_dir[i] = fixed_fd[i] >= 0 && S_ISDIR(st.st_mode);
  }
}


/* Where Landlock's audit records can be read (kdenials-linux.c), the
 * name the job's process takes before it enters its domain, per ruleset
 * descriptor: the child reads its own slot, written before it was
 * cloned. "" where the job is not followed. */
#define N_TAGS 1024
static char tags[N_TAGS][16];

static void tag_job(int fd, const capsid__sandbox_t* sb) {
  if (fd >= N_TAGS)
    return;
  if (!capsid__kdenials_expect(sb, tags[fd]))
    tags[fd][0] = '\0';
}


int capsid__landlock_build(const capsid__sandbox_t* sb, int flags, int* out,
                           capsid_error_t* err) {
  struct ll_ruleset_attr attr;
  size_t attr_size, i;
  int abi = capsid__landlock_abi(), fd, rc = 0;
  int deny = (flags & CAPSID__LL_DENY_READ) && sb->deny_read.n > 0;
  const char* where = "/";
  uint64_t handled;

  *out = -1;
  if (abi <= 0)
    return 0;
  handled = fs_rights(abi);
  memset(&attr, 0, sizeof(attr));
  attr.handled_access_fs = handled;
  attr_size = sizeof(uint64_t);
  if (abi >= 4) {
    attr_size = 2 * sizeof(uint64_t);
    if (flags & CAPSID__LL_DENY_TCP)
      attr.handled_access_net =
          LL_ACCESS_NET_BIND_TCP | LL_ACCESS_NET_CONNECT_TCP;
  }
  if (abi >= 6) {
    /* Abstract unix sockets and signals of processes outside the job's
     * domain are out of reach, whatever the uid. */
    attr_size = sizeof(attr);
    attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
    if (flags & CAPSID__LL_NO_SCOPE) /* tests: the read-back must see it */
      attr.scoped = 0;
  }
  fd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (fd < 0)
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_LANDLOCK,
                             errno, NULL, NULL,
                             "cannot create the Landlock ruleset");

  pthread_once(&fixed_once, fixed_open);
  for (i = 0; rc == 0 && i < N_FIXED; i++) {
    /* A device this machine lacks is fine; a root we cannot open is not
     * (that rule is what lets the job read anything at all). With
     * deny_read in landlock-only mode the root only lets the job list
     * directories, and landlock-deny-linux.c grants reading around each
     * denied path. */
    where = fixed_paths[i];
    if (fixed_fd[i] < 0) {
      rc = i == 0 ? ENOENT : 0;
      continue;
    }
    if (i > 0 && deny && capsid__path_within_any(&sb->deny_read, where))
      continue;
    rc = capsid__landlock_add_fd(fd, fixed_fd[i], fixed_dir[i],
                                 i == 0   ? (deny ? LANDLOCK_ACCESS_FS_READ_DIR
                                                  : FS_READ)
                                 : FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                       LANDLOCK_ACCESS_FS_TRUNCATE |
                                       LANDLOCK_ACCESS_FS_IOCTL_DEV,
                                 handled);
  }
  for (i = 0; rc == 0 && !deny && i < sb->writable.n; i++) {
    where = sb->writable.v[i];
    rc = capsid__landlock_add_path(fd, where, handled, handled);
  }
  if (rc != 0) {
    close(fd);
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_LANDLOCK, rc,
                             where, NULL, "cannot add a Landlock rule");
  }
  if (deny && (rc = capsid__landlock_deny_rules(fd, sb, handled, err)) != 0) {
    close(fd);
    return rc;
  }
  tag_job(fd, sb);
  *out = fd;
  return 0;
}


int capsid__landlock_child_allow(int ruleset_fd, const char* path) {
  struct landlock_path_beneath_attr pb;
  int fd, rc = 0;
  int abi = kernel_abi();

  fd = open(path, O_PATH | O_CLOEXEC | O_DIRECTORY);
  if (fd < 0)
    return errno;
  memset(&pb, 0, sizeof(pb));
  pb.allowed_access = fs_rights(abi);
  pb.parent_fd = fd;
  if (syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH,
              &pb, 0) != 0)
    rc = errno;
  close(fd);
  return rc;
}


int capsid__landlock_child_restrict(int ruleset_fd) {
  unsigned flags = 0;

  /* Followed: the domain's record names the job by this name, and its
   * refusals are logged once it runs the job's program, not before (the
   * read-back of verify-linux.c is capsid's own). */
  if (ruleset_fd < N_TAGS && tags[ruleset_fd][0] != '\0') {
    prctl(PR_SET_NAME, tags[ruleset_fd], 0, 0, 0);
    flags = LL_LOG_SAME_EXEC_OFF | LL_LOG_NEW_EXEC_ON;
  }
  if (syscall(SYS_landlock_restrict_self, ruleset_fd, flags) != 0)
    return errno;
  return 0;
}


/* The abstract socket the scope read-back aims at: a datagram socket of
 * this process, bound once to a name of its own in the host's network
 * namespace and kept (close-on-exec). A job in the scoped domain must
 * get EPERM connecting to it; without the scope the connect succeeds
 * (nothing is ever sent). */
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static struct sockaddr_un probe_addr;
static socklen_t probe_len;

static void probe_bind(void) {
  struct sockaddr_un sa;
  socklen_t len;
  int fd, n;

  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
               "capsid-scope-probe-%ld", (long)getpid());
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
  if (bind(fd, (struct sockaddr*)&sa, len) != 0) {
    close(fd);
    return;
  }
  probe_addr = sa;
  probe_len = len;
}


int capsid__landlock_scope_probe(const struct sockaddr_un** addr,
                                 socklen_t* len) {
  if (kernel_abi() < 6)
    return 0;
  pthread_once(&probe_once, probe_bind);
  *addr = &probe_addr;
  *len = probe_len;
  return probe_len > 0;
}
