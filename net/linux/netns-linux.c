/* The one maker of the namespaces capsid holds open: elevated mode's
 * per-workspace network and IPC namespaces (sandbox/linux/elevated-linux.c)
 * and unprivileged mode's held user, network and IPC namespaces
 * (heldns-linux.c). Also the loopback bring-up, which a job's own network
 * namespace needs too.
 *
 * A short-lived child is cloned into the new namespaces; it maps its ids
 * (user namespace), brings the loopback up (network namespace), opens
 * /proc/self/ns/<kind> for each and sends the descriptors back over a
 * socket pair. A descriptor keeps a namespace alive after its last
 * process is gone. Passing them over SCM_RIGHTS rather than sharing the
 * descriptor table keeps the maker working where clone degrades to fork
 * (valgrind). */
#include "idmap-linux.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS 3

typedef struct make_req_s {
  unsigned kinds;
  int sock;                /* the child's end of the pair */
  capsid__idmap_t idmap;   /* CAPSID__NS_USER */
  int error;               /* the child's, seen when memory is shared */
} make_req_t;


int capsid__loopback_up_child(void) {
  struct ifreq ifr;
  int fd, rc = 0;

  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
    rc = errno;
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
      rc = errno;
  }
  close(fd);
  return rc;
}


/* The order descriptors travel in: user, net, ipc (the kinds asked). */
static const struct {
  unsigned kind;
  const char* path;
} kinds_order[MAX_FDS] = {{CAPSID__NS_USER, "/proc/self/ns/user"},
                          {CAPSID__NS_NET, "/proc/self/ns/net"},
                          {CAPSID__NS_IPC, "/proc/self/ns/ipc"}};


static int send_fds(int sock, const int* fds, size_t n) {
  char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
  struct msghdr msg;
  struct iovec iov;
  struct cmsghdr* cm;
  char byte = 'n';

  memset(&msg, 0, sizeof(msg));
  memset(cbuf, 0, sizeof(cbuf));
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
  cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(n * sizeof(int));
  memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
  return sendmsg(sock, &msg, 0) == 1 ? 0 : errno;
}


/* Runs in the new namespaces, sharing the parent's memory (CLONE_VM |
 * CLONE_VFORK): plain system calls only. */
static int make_child(void* arg) {
  make_req_t* req = arg;
  int fds[MAX_FDS];
  size_t i, n = 0;
  int rc = 0;

  if (req->kinds & CAPSID__NS_USER)
    rc = capsid__idmap_child(&req->idmap);
  if (rc == 0 && (req->kinds & CAPSID__NS_NET))
    rc = capsid__loopback_up_child();
  for (i = 0; rc == 0 && i < MAX_FDS; i++) {
    if (!(req->kinds & kinds_order[i].kind))
      continue;
    fds[n] = open(kinds_order[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[n] < 0)
      rc = errno;
    else
      n++;
  }
  if (rc == 0)
    rc = send_fds(req->sock, fds, n);
  req->error = rc;
  _exit(rc == 0 ? 0 : 1);
  return 0;
}


/* The descriptors the child sent, in kinds_order; 0 or an errno value. */
static int recv_fds(int sock, unsigned kinds, capsid__ns_set_t* out) {
  char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
  int fds[MAX_FDS];
  struct msghdr msg;
  struct iovec iov;
  struct cmsghdr* cm;
  size_t i, n = 0, want = 0;
  char byte;

  for (i = 0; i < MAX_FDS; i++)
    if (kinds & kinds_order[i].kind)
      want++;
  memset(&msg, 0, sizeof(msg));
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof(cbuf);
  if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
    return EIO;
  cm = CMSG_FIRSTHDR(&msg);
  if (cm == NULL || cm->cmsg_level != SOL_SOCKET ||
      cm->cmsg_type != SCM_RIGHTS)
    return EIO;
  n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
  memcpy(fds, CMSG_DATA(cm), (n < MAX_FDS ? n : MAX_FDS) * sizeof(int));
  if (n != want || (msg.msg_flags & MSG_CTRUNC)) {
    for (i = 0; i < n && i < MAX_FDS; i++)
      close(fds[i]);
    return EIO;
  }
  n = 0;
  for (i = 0; i < MAX_FDS; i++) {
    if (!(kinds & kinds_order[i].kind))
      continue;
    if (kinds_order[i].kind == CAPSID__NS_USER)
      out->user_fd = fds[n++];
    else if (kinds_order[i].kind == CAPSID__NS_NET)
      out->net_fd = fds[n++];
    else
      out->ipc_fd = fds[n++];
  }
  return 0;
}


static int clone_flags(unsigned kinds) {
  int flags = 0;

  if (kinds & CAPSID__NS_USER)
    flags |= CLONE_NEWUSER;
  if (kinds & CAPSID__NS_NET)
    flags |= CLONE_NEWNET;
  if (kinds & CAPSID__NS_IPC)
    flags |= CLONE_NEWIPC;
  return flags;
}


int capsid__netns_make(unsigned kinds, capsid__ns_set_t* out) {
  size_t size = 64 * 1024;
  make_req_t req;
  sigset_t all, old;
  int sv[2], status, e = 0;
  void* stack;
  pid_t pid;

  out->user_fd = out->net_fd = out->ipc_fd = -1;
  if (kinds == 0 || (kinds & ~(unsigned)(CAPSID__NS_USER | CAPSID__NS_NET |
                                         CAPSID__NS_IPC)) != 0)
    return EINVAL;
  memset(&req, 0, sizeof(req));
  req.kinds = kinds;
  req.error = EIO;
  if (kinds & CAPSID__NS_USER)
    capsid__idmap_init(&req.idmap);
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0)
    return errno;
  req.sock = sv[1];
  stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    e = errno;
    goto out;
  }
  /* No handler of ours may run in the child, which shares our memory. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pid = clone(make_child, (char*)stack + size,
              CLONE_VM | CLONE_VFORK | clone_flags(kinds) | SIGCHLD, &req);
  if (pid < 0)
    e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid > 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    e = recv_fds(sv[0], kinds, out);
    /* The child's own reason when its memory was ours to read. */
    if (e != 0 && req.error != 0)
      e = req.error;
  }
  munmap(stack, size);
out:
  close(sv[0]);
  close(sv[1]);
  return e;
}


void capsid__ns_set_close(capsid__ns_set_t* s) {
  if (s->user_fd >= 0)
    close(s->user_fd);
  if (s->net_fd >= 0)
    close(s->net_fd);
  if (s->ipc_fd >= 0)
    close(s->ipc_fd);
  s->user_fd = s->net_fd = s->ipc_fd = -1;
}
