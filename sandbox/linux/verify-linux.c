/* Fail closed: the last thing the job's process does before execve is to
 * read back, from the kernel, each restriction it just applied. A call
 * that returned 0 but left nothing in force (a kernel or a seccomp/LSM
 * layer that silently ignores it, an emulator, a bug in capsid) must not
 * turn into a job that runs unconfined. The failed check travels to the
 * parent as {CAPSID_STAGE_VERIFY, check} and becomes CAPSID_EVERIFY with a
 * message naming the restriction.
 *
 * The checks are plain system calls (this runs in the CLONE_VM child):
 *   no-new-privs  prctl(PR_GET_NO_NEW_PRIVS) is 1
 *   seccomp       prctl(PR_GET_SECCOMP) is 2 (filter mode)
 *   landlock      opening /proc/self/comm for writing is refused: the
 *                 process owns that file and /proc is mounted writable, so
 *                 only the Landlock domain can refuse it (in elevated mode
 *                 the identity switch makes the process non-dumpable and
 *                 its /proc files root's, so there the probe only shows
 *                 that the write is refused, by Landlock or by DAC)
 *   identity      real, effective and saved uid and gid are the
 *                 workspace's
 *   capabilities  bounding, effective, permitted, inheritable and ambient
 *                 sets are empty (one read of /proc/self/status; a
 *                 prctl per capability where it cannot be read)
 *   limits        the job's cgroup shows in /proc/self/cgroup once per
 *                 hierarchy joined; a rlimit fallback reads back its value
 *   IPC namespace /proc/self/ns/ipc is not the host's (unprivileged and
 *                 elevated: SysV IPC of the workspace's own)
 *   scope         with Landlock's scopes (ABI 6) and the host's network
 *                 namespace (online jobs), connecting a datagram socket
 *                 to an abstract socket capsid holds is refused (EPERM)
 *
 * Tests prove each check by skipping the matching restriction through the
 * fault sites "skip.<name>" (compiled in Debug builds only) and expecting
 * the job to be refused. */
#include "verify-linux.h"

#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char* const check_names[] = {
    "", "no-new-privs", "seccomp filter", "Landlock domain",
    "workspace identity", "capability drop",
    "resource limits (cgroup membership or rlimit)", "IPC namespace",
    "Landlock abstract-socket scope"};


const char* capsid__verify_name(int check) {
  if (check <= 0 || check >= (int)CAPSID__ARRAY_SIZE(check_names))
    return "unknown check";
  return check_names[check];
}


int capsid__verify_test_skips(void) {
  int skips = 0;

#ifdef CAPSID_FAULT_INJECTION
  /* Indexed by CAPSID__VERIFY_*. */
  static const char* const sites[] = {
      NULL, "skip.nnp", "skip.seccomp", "skip.landlock", "skip.identity",
      "skip.caps", "skip.cgroup", "skip.ipc", "skip.scope"};
  int i;

  for (i = 1; i < (int)CAPSID__ARRAY_SIZE(sites); i++)
    if (capsid__fault(sites[i]) != 0)
      skips |= 1 << i;
#endif
  return skips;
}


/* The last path component of a cgroup directory. */
static const char* leaf(const char* dir) {
  const char* slash = strrchr(dir, '/');

  return slash != NULL ? slash + 1 : dir;
}


/* Occurrences of "/name\n" in /proc/self/cgroup: one per hierarchy the
 * process is a member of that cgroup in. -1 when it cannot be read. */
static int cgroup_memberships(const char* name) {
  char buf[4096];
  size_t len = strlen(name), got = 0;
  ssize_t n;
  int fd, count = 0;
  char* p;

  fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  while (got < sizeof(buf) - 1 &&
         (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
    got += (size_t)n;
  close(fd);
  buf[got] = '\0';
  for (p = buf; (p = strstr(p, name)) != NULL; p += len)
    if (p > buf && p[-1] == '/' && p[len] == '\n')
      count++;
  return count;
}


static int limits_hold(const capsid__cgroup_t* cg) {
  const char* dir = cg->v2;
  struct rlimit rl;
  unsigned i;

  for (i = 0; dir == NULL && i < CAPSID__ARRAY_SIZE(cg->v1); i++)
    dir = cg->v1[i];
  if (cg->n_fds > 0 && dir != NULL &&
      cgroup_memberships(leaf(dir)) < (int)cg->n_fds)
    return 0;
  if (cg->kind == CAPSID__LIMITS_RLIMIT) {
    if (cg->limits.memory > 0 && getrlimit(RLIMIT_AS, &rl) == 0 &&
        rl.rlim_cur > (rlim_t)cg->limits.memory)
      return 0;
    if (cg->limits.processes > 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 &&
        rl.rlim_cur > (rlim_t)cg->limits.processes)
      return 0;
  }
  return 1;
}


int capsid__status_read_child(char* buf, size_t size) {
  ssize_t n, got = 0;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return 0;
  while ((n = read(fd, buf + got, size - 1 - (size_t)got)) > 0)
    got += n;
  close(fd);
  if (n < 0 || got == 0)
    return 0;
  buf[got] = '\0';
  return 1;
}


int capsid__status_mask_child(const char* text, const char* name,
                              unsigned long long* out) {
  const char* p = strstr(text, name);
  unsigned long long mask = 0;
  int i, d;

  if (p == NULL)
    return 0;
  p += strlen(name);
  for (i = 0; i < 16; i++) {
    d = p[i] >= '0' && p[i] <= '9'   ? p[i] - '0'
        : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                                     : -1;
    if (d < 0)
      return 0;
    mask = (mask << 4) | (unsigned)d;
  }
  *out = mask;
  return 1;
}


/* Every capability set, from the kernel's own account in one read of
 * /proc/self/status: a query per capability of the bounding set was 41
 * prctl calls per job. 0 with *empty set, or -1 when it cannot be read
 * (the caller then asks capability by capability). */
static int caps_from_status(int* empty) {
  static const char* const sets[] = {"CapInh:\t", "CapPrm:\t", "CapEff:\t",
                                     "CapBnd:\t", "CapAmb:\t"};
  unsigned long long m, all = 0;
  char buf[4096];
  size_t i;

  if (!capsid__status_read_child(buf, sizeof(buf)))
    return -1;
  for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
    if (!capsid__status_mask_child(buf, sets[i], &m))
      return -1;
    all |= m;
  }
  *empty = all == 0;
  return 0;
}


static int caps_empty(void) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  int cap, in, empty;

  if (caps_from_status(&empty) == 0)
    return empty;
  /* The bounding set too: after an identity switch the other sets are
   * empty anyway, the bounding set only if it was dropped. */
  for (cap = 0; cap <= 63; cap++) {
    if ((in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) < 0)
      break; /* past the last capability this kernel knows */
    if (in == 1)
      return 0;
  }

  memset(data, 0xff, sizeof(data));
  if (syscall(SYS_capget, &hdr, data) != 0)
    return 0;
  return (data[0].effective | data[1].effective | data[0].permitted |
          data[1].permitted | data[0].inheritable | data[1].inheritable) == 0;
}


static int identity_holds(const capsid__identity_t* id) {
  uid_t r, e, s;
  gid_t rg, eg, sg;

  if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
    return 0;
  return r == id->uid && e == id->uid && s == id->uid && rg == id->gid &&
         eg == id->gid && sg == id->gid;
}


static int landlock_holds(void) {
  int fd = open("/proc/self/comm", O_WRONLY | O_CLOEXEC);

  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno == EACCES;
}


static int ipc_ns_holds(unsigned long host_ino) {
  struct stat st;

  return stat("/proc/self/ns/ipc", &st) == 0 &&
         (unsigned long)st.st_ino != host_ino;
}


static int scope_holds(const struct sockaddr_un* addr, socklen_t len) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc, e;

  if (fd < 0)
    return errno == EPERM; /* offline: no unix socket at all */
  rc = connect(fd, (const struct sockaddr*)addr, len);
  e = errno;
  close(fd);
  return rc != 0 && e == EPERM;
}


int capsid__verify_child(const capsid__confine_t* c, int seccomp_applied) {
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    return CAPSID__VERIFY_NNP;
  if (seccomp_applied && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
    return CAPSID__VERIFY_SECCOMP;
  if (c->landlock_fd >= 0 && !landlock_holds())
    return CAPSID__VERIFY_LANDLOCK;
  if (c->elevated && !identity_holds(&c->identity))
    return CAPSID__VERIFY_IDENTITY;
  if ((c->userns || c->elevated) && !caps_empty())
    return CAPSID__VERIFY_CAPS;
  if (!limits_hold(&c->cgroup))
    return CAPSID__VERIFY_LIMITS;
  if (c->host_ipc_ino != 0 && !ipc_ns_holds(c->host_ipc_ino))
    return CAPSID__VERIFY_IPC;
  if (c->scope_probe != NULL && c->landlock_fd >= 0 &&
      !scope_holds(c->scope_probe, c->scope_probe_len))
    return CAPSID__VERIFY_SCOPE;
  return 0;
}
