/* Unprivileged mode: one user namespace, one offline network namespace and
 * one IPC namespace per workspace, made on the workspace's first job and
 * held open (made by net/linux/netns-linux.c, the one namespace maker).
 *
 * Creating a network namespace per job cost ~0.6 ms of CPU in the spawn
 * path (plus ~0.3 ms of asynchronous teardown in a kernel worker, on a
 * 2-core machine that competes with the next job), more than anything
 * else a job's confinement does. Elevated mode already holds one netns
 * per workspace; this gives unprivileged mode the same: a job's first
 * child joins the workspace's user namespace (which owns the netns and
 * so lets it join that too), unshares a mount and a pid namespace, and
 * starts the job's init from there (sandbox/linux/launch-linux.c).
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
#include "net.h"

#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/* Workspaces whose namespaces stay held; beyond that the least recently
 * used entry is dropped (its jobs keep their namespaces alive). */
#define HELD_MAX 64

struct capsid__heldns_s {
  char* key;            /* the workspace root (the sandbox's cwd) */
  capsid__ns_set_t ns;  /* user, net (loopback up) and ipc */
  unsigned refs;        /* the table's own, plus one per spawn using it */
  uint64_t used;        /* for eviction: higher is more recent */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static capsid__heldns_t* held[HELD_MAX];
static uint64_t held_clock;


static int make(capsid__heldns_t* h) {
  int e;

  if ((e = capsid__fault("heldns")) != 0)
    return e;
  /* The user namespace owns the other two, so a job's first child that
   * joins it may join them as well. */
  return capsid__netns_make(CAPSID__NS_USER | CAPSID__NS_NET | CAPSID__NS_IPC,
                            &h->ns);
}


static void unref(capsid__heldns_t* h) {
  /* Under held_lock. */
  if (--h->refs > 0)
    return;
  capsid__ns_set_close(&h->ns);
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
  return h->ns.user_fd;
}


int capsid__heldns_net_fd(const capsid__heldns_t* h) {
  return h->ns.net_fd;
}


int capsid__heldns_ipc_fd(const capsid__heldns_t* h) {
  return h->ns.ipc_fd;
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
