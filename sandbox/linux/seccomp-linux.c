/* The seccomp filter of a job.
 *
 * Built with libseccomp once per profile and exported as raw BPF, so a
 * launch only installs it (one system call in the child; building costs
 * far more than installing). Refused with EPERM, always: the system calls
 * that reach the kernel's attack surface or the host's state and that no
 * build or test needs -- ptrace, mount and the new mount API, bpf, keyctl,
 * perf_event_open, io_uring (its IORING_OP_SOCKET would bypass a socket()
 * filter), kexec, modules, userfaultfd, open_by_handle_at, and any new
 * namespace (unshare, setns, clone with CLONE_NEW*). clone3 answers ENOSYS
 * so libc falls back to clone, whose flags the filter can see.
 *
 * Which socket families an offline job loses is network lockdown's
 * decision (capsid__net_offline_denials, net.h); this filter enforces it:
 *
 * Profile CAPSID__SC_INET_DENIED (an offline job without a network
 * namespace of its own) also refuses every socket family but AF_UNIX.
 *
 * Every profile refuses set-id files (setid_rules): a set-user-ID or
 * set-group-ID file a job made would run with the job's identity for any
 * local user outside the sandbox.
 *
 * Profile CAPSID__SC_UNIX_DENIED (every offline job) refuses socket() for
 * AF_UNIX and socketpair() for AF_UNIX datagrams (SOCK_DGRAM, and
 * SOCK_RAW, which the kernel turns into one): a pathname socket of a
 * host daemon (an agent in $HOME, a daemon's socket in /var/tmp) is
 * reached by connect() or by sendto() with its path, and neither a
 * network namespace, a read-only mount nor Landlock (ABI 7) stops that,
 * while seccomp cannot read the address. socketpair() for streams and
 * seqpackets still works: such a pair is connected at birth and ignores
 * a destination address. docs/confinement-linux.md says what this costs.
 *
 * Profile CAPSID__SC_IPC_DENIED (a job without an IPC namespace of its
 * own: landlock-only mode) refuses SysV shared memory, semaphores and
 * message queues and POSIX message queues, which the host's user shares. */
#include "seccomp-linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROFILES 8

typedef struct built_s {
  struct sock_fprog prog;
  int error; /* errno of the failed build, or 0 */
} built_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static built_t built[PROFILES];
static int done[PROFILES];

static const int always_denied[] = {
    SCMP_SYS(ptrace), SCMP_SYS(mount), SCMP_SYS(umount2),
    SCMP_SYS(pivot_root), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
    SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(move_mount),
    SCMP_SYS(open_tree), SCMP_SYS(mount_setattr), SCMP_SYS(bpf),
    SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
    SCMP_SYS(perf_event_open), SCMP_SYS(io_uring_setup),
    SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
    SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(userfaultfd),
    SCMP_SYS(open_by_handle_at), SCMP_SYS(unshare), SCMP_SYS(setns),
    SCMP_SYS(process_vm_writev), SCMP_SYS(acct), SCMP_SYS(swapon),
    SCMP_SYS(swapoff), SCMP_SYS(reboot), SCMP_SYS(quotactl)};

/* SysV IPC and POSIX message queues (CAPSID__SC_IPC_DENIED). */
static const int ipc_calls[] = {
    SCMP_SYS(shmget), SCMP_SYS(shmat), SCMP_SYS(shmctl), SCMP_SYS(semget),
    SCMP_SYS(semop), SCMP_SYS(semtimedop), SCMP_SYS(semctl),
    SCMP_SYS(msgget), SCMP_SYS(msgsnd), SCMP_SYS(msgrcv), SCMP_SYS(msgctl),
    SCMP_SYS(mq_open), SCMP_SYS(mq_unlink), SCMP_SYS(mq_timedsend),
    SCMP_SYS(mq_timedreceive), SCMP_SYS(mq_notify), SCMP_SYS(mq_getsetattr)};

static const uint64_t ns_flags[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET,
                                    CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS,
                                    CLONE_NEWCGROUP};


#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452 /* Linux 6.6; unknown to libseccomp 2.5 */
#endif

/* Refuses (EPERM) a mode with S_ISUID or S_ISGID wherever a job can give
 * one to a file: chmod, fchmod, fchmodat, fchmodat2, mknod(at) (which
 * makes regular files too), and open, openat and creat when they create.
 * Setgid directories are refused too: seccomp cannot tell a directory
 * from a file by its path, and one inherited from a setgid parent (the
 * kernel sets it on mkdir) still works. openat2 hides its mode in a
 * struct the filter cannot read: it answers ENOSYS, and libc and the
 * programs that try it fall back to openat. */
static int setid_rules(scmp_filter_ctx ctx) {
  static const struct {
    int nr;
    unsigned mode_arg;
    int flags_arg; /* -1: the call always creates or changes a mode */
  } calls[] = {
      {SCMP_SYS(chmod), 1, -1},    {SCMP_SYS(fchmod), 1, -1},
      {SCMP_SYS(fchmodat), 2, -1}, {__NR_fchmodat2, 2, -1},
      {SCMP_SYS(mknod), 1, -1},    {SCMP_SYS(mknodat), 2, -1},
      {SCMP_SYS(creat), 1, -1},    {SCMP_SYS(open), 2, 1},
      {SCMP_SYS(openat), 3, 2},
  };
  /* O_TMPFILE makes a file too; its bits include O_DIRECTORY, so the
   * comparison takes them all. */
  static const uint64_t creating[] = {O_CREAT, O_TMPFILE};
  static const uint64_t bits[] = {S_ISUID, S_ISGID};
  size_t i, b, f;
  int rc = 0;

  for (i = 0; rc == 0 && i < CAPSID__ARRAY_SIZE(calls); i++)
    for (b = 0; rc == 0 && b < CAPSID__ARRAY_SIZE(bits); b++) {
      struct scmp_arg_cmp mode = {calls[i].mode_arg, SCMP_CMP_MASKED_EQ,
                                  bits[b], bits[b]};
      if (calls[i].flags_arg < 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), calls[i].nr, 1,
                              mode);
        continue;
      }
      for (f = 0; rc == 0 && f < CAPSID__ARRAY_SIZE(creating); f++) {
        struct scmp_arg_cmp flag = {(unsigned)calls[i].flags_arg,
                                    SCMP_CMP_MASKED_EQ, creating[f],
                                    creating[f]};
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), calls[i].nr, 2,
                              flag, mode);
      }
    }
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
  return rc;
}


/* No unix socket but a connected pair: socket(AF_UNIX, ...) and a
 * datagram socketpair(AF_UNIX, ...), which the kernel also makes of
 * SOCK_RAW. Arguments are ints: only their low 32 bits count, as the
 * kernel reads them; the type's low 4 bits are the type, the rest flags. */
static int deny_unix(scmp_filter_ctx ctx) {
  static const uint64_t datagrams[] = {SOCK_DGRAM, SOCK_RAW};
  struct scmp_arg_cmp unix_domain = {0, SCMP_CMP_MASKED_EQ, 0xffffffffu,
                                     AF_UNIX};
  size_t i;
  int rc;

  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                        unix_domain);
  for (i = 0; rc == 0 && i < CAPSID__ARRAY_SIZE(datagrams); i++) {
    struct scmp_arg_cmp type = {1, SCMP_CMP_MASKED_EQ, 0xf, datagrams[i]};
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socketpair),
                          2, unix_domain, type);
  }
  return rc;
}


static int build(int profile, built_t* out) {
  scmp_filter_ctx ctx;
  size_t i, len;
  int rc = 0, fd = -1;
  void* mem;
  off_t size;

  ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return ENOMEM;
  for (i = 0; rc == 0 && i < CAPSID__ARRAY_SIZE(always_denied); i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), always_denied[i], 0);
  for (i = 0; rc == 0 && i < CAPSID__ARRAY_SIZE(ns_flags); i++) {
    /* Spelled out: the SCMP_A0 macros leave fields to the compiler. */
    struct scmp_arg_cmp flag = {0, SCMP_CMP_MASKED_EQ, ns_flags[i],
                                ns_flags[i]};
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                          flag);
  }
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc == 0)
    rc = setid_rules(ctx);
  if (rc == 0 && (profile & CAPSID__SC_INET_DENIED)) {
    struct scmp_arg_cmp not_unix = {0, SCMP_CMP_NE, AF_UNIX, 0};
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket),
                          1, not_unix);
  }
  if (rc == 0 && (profile & CAPSID__SC_UNIX_DENIED))
    rc = deny_unix(ctx);
  for (i = 0; rc == 0 && (profile & CAPSID__SC_IPC_DENIED) &&
              i < CAPSID__ARRAY_SIZE(ipc_calls);
       i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), ipc_calls[i], 0);
  if (rc != 0)
    goto out;

  /* libseccomp 2.5 exports only to a file descriptor. */
  fd = memfd_create("capsid-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    goto out;
  }
  rc = seccomp_export_bpf(ctx, fd);
  if (rc != 0)
    goto out;
  size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(struct sock_filter) != 0) {
    rc = -EIO;
    goto out;
  }
  len = (size_t)size;
  mem = capsid__malloc(len);
  if (mem == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  if (pread(fd, mem, len, 0) != (ssize_t)len) {
    capsid__free(mem);
    rc = -EIO;
    goto out;
  }
  out->prog.filter = mem;
  out->prog.len = (unsigned short)(len / sizeof(struct sock_filter));

out:
  if (fd >= 0)
    close(fd);
  seccomp_release(ctx);
  return rc < 0 ? -rc : rc;
}


const struct sock_fprog* capsid__seccomp_filter(int profile,
                                                capsid_error_t* err) {
  built_t* b;
  int error;

  if (profile < 0 || profile >= PROFILES)
    profile = 0;
  b = &built[profile];
  /* Kept for the life of the process: a handful of kilobytes, and every
   * later job of the profile reuses it. */
  pthread_mutex_lock(&lock);
  if (!done[profile]) {
    b->error = build(profile, b);
    done[profile] = b->error == 0;
  }
  error = b->error;
  pthread_mutex_unlock(&lock);
  if (error != 0) {
    capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_SECCOMP, error,
                      NULL, NULL, "cannot build the seccomp filter");
    return NULL;
  }
  return &b->prog;
}


int capsid__seccomp_child(const struct sock_fprog* prog) {
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0)
    return errno;
  return 0;
}
