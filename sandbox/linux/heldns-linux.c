/* Unprivileged mode: one user namespace, one offline network namespace and
 * one IPC namespace per workspace, made on the workspace's first job and
 * held open.
 *
 * Creating a network namespace per job cost ~0.6 ms of CPU in the spawn
 * path (plus ~0.3 ms of asynchronous teardown in a kernel worker, on a
 * 2-core machine that competes with the next job), more than anything
 * else a job's confinement does. Elevated mode already holds one netns
 * per workspace; this gives unprivileged mode the same: a job's first
 * child joins the workspace's user namespace (which owns the netns and
 * so lets it join that too), unshares a mount and a pid namespace, and
 * starts the job's init from there (launch-linux.c).
 *
 * What is shared, and why that is the design's own boundary: jobs of one
 * workspace share a loopback (as in elevated mode: "loopback of its own,
 * never shared with another workspace") and a user namespace in which
 * every job drops all capabilities before execve; each job still has its
 * own mount and pid namespace, Landlock domain and seccomp filter. Jobs of
 * different workspaces never share any of them.
 *
 * The IPC namespace is joined by every job, online or offline: SysV
 * shared memory, semaphores and message queues and POSIX message queues
 * live in it, and the host's (where the caller's own 0600 segments are,
 * with the job's uid) must stay out of reach, as must another
 * workspace's. Jobs of one workspace share it, as they share files.
 *
 * Entries are reference-counted: a spawn holds its entry from prepare to
 * release, so an entry evicted meanwhile (the table is bounded) closes
 * its descriptors only when its last job has used them; a descriptor
 * number is never reused under a running spawn. The descriptors are
 * close-on-exec, and the job's child closes everything above 2 anyway. */
#include "confine-linux.h"
#include "heldns-linux.h"

#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Workspaces whose namespaces stay held; beyond that the least recently
 * used entry is dropped (its jobs keep their namespaces alive). */
#define HELD_MAX 64

struct capsid__heldns_s {
  char* key;     /* the workspace root (the sandbox's cwd) */
  int user_fd;   /* /proc/<helper>/ns/user */
  int net_fd;    /* /proc/<helper>/ns/net, loopback up */
  int ipc_fd;    /* /proc/<helper>/ns/ipc */
  unsigned refs; /* the table's own, plus one per spawn using it */
  uint64_t used; /* for eviction: higher is more recent */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static capsid__heldns_t* held[HELD_MAX];
static uint64_t held_clock;

typedef struct make_ctx_s {
  capsid__idmap_t idmap;
  int user_fd;
  int net_fd;
  int ipc_fd;
  int error;
} make_ctx_t;


/* Runs in new user and network namespaces, sharing the parent's memory
 * and descriptor table (CLONE_VM | CLONE_VFORK | CLONE_FILES): what it
 * opens lands in the parent's table, and the namespaces outlive it through
 * those descriptors. */
static int make_child(void* arg) {
  make_ctx_t* m = arg;
  int rc;

  rc = capsid__idmap_child(&m->idmap);
  if (rc == 0)
    rc = capsid__loopback_up_child();
  if (rc == 0) {
    m->user_fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
    if (m->user_fd < 0)
      rc = errno;
  }
  if (rc == 0) {
    m->net_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (m->net_fd < 0)
      rc = errno;
  }
  if (rc == 0) {
    m->ipc_fd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
    if (m->ipc_fd < 0)
      rc = errno;
  }
  m->error = rc;
  _exit(rc == 0 ? 0 : 1);
  return 0;
}


static int make(capsid__heldns_t* h) {
  size_t size = 64 * 1024;
  make_ctx_t m;
  sigset_t all, old;
  void* stack;
  int status, e = 0;
  pid_t pid;

  if ((e = capsid__fault("heldns")) != 0)
    return e;
  memset(&m, 0, sizeof(m));
  capsid__idmap_init(&m.idmap);
  m.user_fd = m.net_fd = m.ipc_fd = -1;
  m.error = EIO;
  stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return errno;
  /* No handler of ours may run in the child, which shares our memory. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pid = clone(make_child, (char*)stack + size,
              CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWUSER |
                  CLONE_NEWNET | CLONE_NEWIPC | SIGCHLD,
              &m);
  if (pid < 0)
    e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  munmap(stack, size);
  if (pid > 0)
    e = m.error;
  if (e != 0) {
    if (m.user_fd >= 0)
      close(m.user_fd);
    if (m.net_fd >= 0)
      close(m.net_fd);
    if (m.ipc_fd >= 0)
      close(m.ipc_fd);
    return e;
  }
  h->user_fd = m.user_fd;
  h->net_fd = m.net_fd;
  h->ipc_fd = m.ipc_fd;
  return 0;
}


static void unref(capsid__heldns_t* h) {
  /* Under held_lock. */
  if (--h->refs > 0)
    return;
  close(h->user_fd);
  close(h->net_fd);
  close(h->ipc_fd);
  capsid__free(h->key);
  capsid__free(h);
}


int capsid__heldns_get(const char* key, capsid__heldns_t** out) {
  capsid__heldns_t* h = NULL;
  size_t i, slot = 0;
  int rc;

  *out = NULL;
  pthread_mutex_lock(&held_lock);
  for (i = 0; i < HELD_MAX; i++) {
    if (held[i] != NULL && strcmp(held[i]->key, key) == 0) {
      h = held[i];
      break;
    }
    /* The slot to fill if the key is new: a free one, else the oldest. */
    if (held[slot] != NULL &&
        (held[i] == NULL || held[i]->used < held[slot]->used))
      slot = i;
  }
  if (h == NULL) {
    h = capsid__calloc(1, sizeof(*h));
    if (h == NULL || (h->key = capsid__strdup(key)) == NULL) {
      capsid__free(h);
      pthread_mutex_unlock(&held_lock);
      return ENOMEM;
    }
    /* Made under the lock: two threads starting the same workspace's
     * first job must not make two loopbacks for it. */
    rc = make(h);
    if (rc != 0) {
      capsid__free(h->key);
      capsid__free(h);
      pthread_mutex_unlock(&held_lock);
      return rc;
    }
    h->refs = 1;
    if (held[slot] != NULL)
      unref(held[slot]);
    held[slot] = h;
  }
  h->used = ++held_clock;
  h->refs++;
  pthread_mutex_unlock(&held_lock);
  *out = h;
  return 0;
}


int capsid__heldns_user_fd(const capsid__heldns_t* h) {
  return h->user_fd;
}


int capsid__heldns_net_fd(const capsid__heldns_t* h) {
  return h->net_fd;
}


int capsid__heldns_ipc_fd(const capsid__heldns_t* h) {
  return h->ipc_fd;
}


void capsid__heldns_put(capsid__heldns_t* h) {
  if (h == NULL)
    return;
  pthread_mutex_lock(&held_lock);
  unref(h);
  pthread_mutex_unlock(&held_lock);
}


void capsid__heldns_clear(void) {
  size_t i;

  pthread_mutex_lock(&held_lock);
  for (i = 0; i < HELD_MAX; i++) {
    if (held[i] != NULL)
      unref(held[i]);
    held[i] = NULL;
  }
  pthread_mutex_unlock(&held_lock);
}
