/* User namespaces: whether this host lets us create one. The identity map
 * a job's namespace gets is base/linux/idmap-linux.c. */
#include "userns-linux.h"

#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int probe_result;
static int forced_blocked;

#ifdef CAPSID_FAULT_INJECTION
void capsid__userns_force_blocked(int on) {
  forced_blocked = on;
}
#endif

static int probe_child(void* arg) {
  (void)arg;
  _exit(0);
  return 0;
}


/* Creating one is the only reliable test: AppArmor's
 * restrict_unprivileged_userns, user.max_user_namespaces=0 and seccomp
 * policies of container runtimes all say no only at clone time. */
static void probe(void) {
  size_t size = 64 * 1024;
  void* stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  int status;
  pid_t pid;

  if (stack == MAP_FAILED)
    return;
  pid = clone(probe_child, (char*)stack + size,
              CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | CLONE_NEWNS |
                  CLONE_NEWPID | CLONE_NEWNET | SIGCHLD,
              NULL);
  if (pid > 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    probe_result = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  munmap(stack, size);
}


int capsid__userns_available(void) {
  if (forced_blocked || capsid__fault("userns") != 0)
    return 0;
  pthread_once(&probe_once, probe);
  return probe_result;
}

