/* Starting a job's process on Linux.
 *
 * The child is created with clone(CLONE_VM | CLONE_VFORK), the way
 * posix_spawn does it: no page tables are copied (fork costs 1-3 ms on
 * these VMs against tens of microseconds), and the parent sleeps until the
 * child has called execve or exited. Everything the child does between clone
 * and execve is a plain system call on data prepared by the parent: it must
 * not allocate, take locks or return from child_main. A failure before
 * execve is reported as {stage, errno} through a close-on-exec pipe.
 *
 * The parent watches the child through a pidfd on the loop (uv_poll), and
 * reaps it with wait4 to collect its resource usage. */
#include "sandbox-int.h"
#include "confine-linux.h"
#include "verify-linux.h"

#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define CHILD_STACK_SIZE (256 * 1024)


/* The children run on stacks AddressSanitizer does not know, and never
 * return: instrumenting them only makes ASan warn about the stack switch
 * (and its fake stacks do not belong there). */
#if defined(__clang__) || defined(__GNUC__)
#define CHILD_CODE __attribute__((no_sanitize_address))
#else
#define CHILD_CODE
#endif

struct capsid__proc_s {
  uv_poll_t poll;
  pid_t pid;
  int pidfd;
  int status_fd;   /* read end: the job's wait status from its init */
  void* stack;     /* the children's stacks, kept while init runs */
  int reaped;
  int polling;
  capsid__proc_exit_cb exit_cb;
  void* data;
  void (*close_cb)(void* data);
  void* close_data;
  capsid__confine_t confine;
};

/* What the children read. It lives on the parent's stack, which stays put
 * until the parent has the report; init copies what it needs later. */
typedef struct child_ctx_s {
  const capsid__launch_t* launch;
  capsid__confine_t* confine;
  int report_fd; /* close-on-exec: EOF means execve succeeded */
  int status_fd; /* init writes the job's wait status here */
  char* job_stack; /* top of the stack of the process that execs */
  /* With held namespaces: init's stack, and what the first child reports
   * of the init it started (-1 until then). */
  char* init_stack;
  pid_t init_pid;
  int init_pidfd;
  /* The failure the children reported, also kept here (shared memory):
   * a job in a memory cgroup at its limit cannot even write to a pipe
   * (pipe pages are charged to it), so this copy is what tells. */
  int failed_stage;
  int failed_errno;
} child_ctx_t;

/* What init sends when the job's process has ended. */
typedef struct init_status_s {
  int status;
  int pad;
  struct rusage ru;
} init_status_t;


/* A failure travels through a close-on-exec pipe rather than through the
 * shared memory: it is the same cost, and it stays correct where clone
 * degrades to fork (valgrind runs CLONE_VM|CLONE_VFORK children that
 * way). */
CHILD_CODE static void report(child_ctx_t* ctx, int stage, int error) {
  int msg[2];

  ctx->failed_stage = stage;
  ctx->failed_errno = error;
  msg[0] = stage;
  msg[1] = error;
  while (write(ctx->report_fd, msg, sizeof(msg)) < 0 && errno == EINTR)
    ;
}


CHILD_CODE static int child_fail(child_ctx_t* ctx, int stage, int error) {
  report(ctx, stage, error);
  _exit(127);
  return 0;
}


/* After execve of the resolved path failed with err: go on through PATH
 * the way execvp does. capsid resolved the program as itself, so in
 * elevated mode it may have picked an entry the workspace identity cannot
 * enter (a directory only root reads); the job's own identity skips it
 * like any shell would. Tries every entry (the failed one again costs one
 * failed call), returns the errno to report: EACCES if any candidate was
 * refused, else err. Only for names without a '/'. */
CHILD_CODE static int exec_rest_of_path(const capsid__launch_t* l, int err) {
  const char* path = "/usr/local/bin:/usr/bin:/bin";
  const char* name = l->argv[0];
  const char* dir;
  const char* src;
  const char* end;
  char candidate[4096];
  size_t dlen, nlen = strlen(name);
  int i;

  if (strchr(name, '/') != NULL || (err != EACCES && err != ENOENT))
    return err;
  for (i = 0; l->envp[i] != NULL; i++)
    if (strncmp(l->envp[i], "PATH=", 5) == 0)
      path = l->envp[i] + 5;
  for (dir = path;; dir = end + 1) {
    end = strchr(dir, ':');
    dlen = end ? (size_t)(end - dir) : strlen(dir);
    src = dir;
    if (dlen == 0) { /* an empty entry is the current directory */
      src = ".";
      dlen = 1;
    }
    if (dlen + 1 + nlen < sizeof(candidate)) {
      memcpy(candidate, src, dlen);
      candidate[dlen] = '/';
      memcpy(candidate + dlen + 1, name, nlen + 1);
      execve(candidate, l->argv, l->envp);
      if (errno == EACCES)
        err = EACCES;
      else if (errno != ENOENT && errno != ENOTDIR)
        return errno; /* found but broken (ENOEXEC, E2BIG...): say so */
    }
    if (end == NULL)
      return err;
  }
}


/* The process that becomes the job: its own session, the pipes on 0-2,
 * the per-process confinement, execve. */
CHILD_CODE static int job_main(void* arg) {
  child_ctx_t* ctx = arg;
  const capsid__launch_t* l = ctx->launch;
  sigset_t empty;
  int fds[3], i, stage = 0, rc;

  /* A new session: the job's processes form a group capsid can kill as one,
   * and the job has no controlling terminal to inject input into. */
  if (setsid() < 0)
    return child_fail(ctx, CAPSID_STAGE_SPAWN, errno);

  /* Move the pipe ends clear of 0-2 first, so dup2 below cannot clobber a
   * source it still needs. */
  for (i = 0; i < 3; i++) {
    fds[i] = l->child_stdio[i];
    if (fds[i] < 3) {
      fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      if (fds[i] < 0)
        return child_fail(ctx, CAPSID_STAGE_PIPE, errno);
    }
  }
  for (i = 0; i < 3; i++)
    if (dup2(fds[i], i) < 0)
      return child_fail(ctx, CAPSID_STAGE_PIPE, errno);

  if (ctx->confine != NULL && !ctx->confine->pidns) {
    rc = capsid__confine_child_ns(ctx->confine, &stage);
    if (rc != 0)
      return child_fail(ctx, stage, rc);
  }
  if (ctx->confine != NULL) {
    rc = capsid__confine_child_proc(ctx->confine, &stage);
    if (rc != 0)
      return child_fail(ctx, stage, rc);
  }

  if (chdir(l->cwd) != 0)
    return child_fail(ctx, CAPSID_STAGE_CHDIR, errno);

  /* Nothing the runtime holds (other jobs' pipes, pidfds, state files)
   * may reach the job. Marked close-on-exec rather than closed, so a
   * failed execve can still report. */
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, NULL);
  execve(l->path, l->argv, l->envp);
  return child_fail(ctx, CAPSID_STAGE_EXEC, exec_rest_of_path(l, errno));
}


/* The signals whose disposition is not the default in this process, from
 * the kernel's own account (SigIgn, SigCgt of /proc/self/status): three
 * system calls instead of one per signal. Read by the child itself, so it
 * is exactly what the clone copied, whatever another thread of the parent
 * installed meanwhile. 0 when /proc cannot be read (the caller then
 * resets every signal). */
CHILD_CODE static int changed_signals(unsigned long long* mask) {
  unsigned long long ign, cgt;
  char buf[4096];

  if (!capsid__status_read_child(buf, sizeof(buf)) ||
      !capsid__status_mask_child(buf, "SigIgn:\t", &ign) ||
      !capsid__status_mask_child(buf, "SigCgt:\t", &cgt))
    return 0;
  *mask = ign | cgt;
  return 1;
}


CHILD_CODE static void reset_signals(void) {
  unsigned long long mask = ~0ULL;
  struct sigaction sa;
  int sig;

  /* Handlers of the parent must not run in the child, which shares its
   * memory; and the job should start with default dispositions, not the
   * parent's ignored ones (SIGPIPE). Only the signals that are not at
   * their default already (a handful: the CLI's stop signals and SIGPIPE)
   * cost a call; glibc keeps 32 and 33 for itself. */
  changed_signals(&mask);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (sig = 1; sig < _NSIG && sig <= 64; sig++)
    if ((mask >> (sig - 1)) & 1 && sig != SIGKILL && sig != SIGSTOP &&
        sig != 32 && sig != 33)
      sigaction(sig, &sa, NULL);
}


/* The stop requests capsid_job_signal sends init (capsid__proc_signal). */
static const int forwarded[] = {SIGHUP, SIGINT, SIGTERM};


/* Init passes a stop request on to every process of the job's pid
 * namespace: kill(-1) from init reaches each of them and nothing outside
 * (nor init itself). It cannot fail (so it leaves errno, which init shares
 * with a thread of capsid, alone): init unblocks these signals only while
 * the job's main process exists, alive or a zombie not yet reaped. */
CHILD_CODE static void init_forward(int sig) {
  kill(-1, sig);
}


/* Init of the job's pid namespace. The job must not be pid 1 itself: the
 * kernel drops every signal sent to a namespace's init from inside unless
 * init handles it, so `kill $$`, raise(SIGTERM) or abort() would not end
 * the job. So this process sets up the namespaces, starts the job as
 * pid 2 (a CLONE_VM|CLONE_VFORK child again), tells the parent that the
 * job runs, and then only reaps: when the job's process ends, it passes
 * the wait status on and exits, and the kernel kills whatever else is
 * left in the namespace before init is reported dead. Meanwhile it passes
 * the signals capsid sends it on to the whole namespace (init_forward):
 * the kernel delivers a signal from outside to a namespace's init only
 * when init handles it.
 *
 * It runs next to the parent in the parent's address space (CLONE_VM
 * without CLONE_VFORK, so no page tables are copied). After the report it
 * touches only its own stack and makes only calls that cannot fail here,
 * so it never writes errno, which it shares with the parent's thread. */
CHILD_CODE static int init_main(void* arg) {
  child_ctx_t* ctx = arg;
  init_status_t st;
  int stage = 0, rc, status_fd = ctx->status_fd, ok[2] = {0, 0};
  struct sigaction sa;
  sigset_t fwd;
  siginfo_t si;
  unsigned i;
  pid_t job, got;

  reset_signals();
  /* capsid gone means the job goes: init dies, the namespace with it. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (setsid() < 0)
    return child_fail(ctx, CAPSID_STAGE_SPAWN, errno);
  rc = capsid__confine_child_ns(ctx->confine, &stage);
  if (rc != 0)
    return child_fail(ctx, stage, rc);
  job = clone(job_main, ctx->job_stack, CLONE_VM | CLONE_VFORK | SIGCHLD,
              ctx);
  if (job < 0)
    return child_fail(ctx, CAPSID_STAGE_SPAWN, errno);
  /* The job has exec'ed or failed (and reported): the parent may go on.
   * A failure the job could not write (ENOMEM at its memory limit) is
   * passed on from the shared memory. */
  ok[0] = ctx->failed_stage;
  ok[1] = ctx->failed_errno;
  if (write(ctx->report_fd, ok, sizeof(ok)) != sizeof(ok))
    _exit(127);
  /* From here on, ctx is gone (it was on the parent's stack). Keep only
   * the status pipe: the rest are copies of the parent's descriptors. */
  if (status_fd != 3) {
    dup2(status_fd, 3);
    status_fd = 3;
  }
  syscall(SYS_close_range, 0U, 2U, 0U);
  syscall(SYS_close_range, 4U, ~0U, 0U);
  /* Every signal is still blocked (capsid blocks them around clone). */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = init_forward;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigemptyset(&fwd);
  for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
    sigaction(forwarded[i], &sa, NULL);
    sigaddset(&fwd, forwarded[i]);
  }
  sigprocmask(SIG_UNBLOCK, &fwd, NULL);
  /* Reap what the namespace orphans, but leave the job's own process a
   * zombie (WNOWAIT) until forwarding is blocked again. */
  for (;;) {
    memset(&si, 0, sizeof(si));
    if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT | __WALL) != 0 ||
        si.si_pid == job)
      break;
    wait4(si.si_pid, NULL, __WALL, NULL);
  }
  sigprocmask(SIG_BLOCK, &fwd, NULL);
  memset(&st, 0, sizeof(st));
  got = wait4(job, &st.status, __WALL, &st.ru);
  if (got == job)
    (void)!write(status_fd, &st, sizeof(st));
  _exit(0);
  return 0;
}


/* Unprivileged, with the workspace's held namespaces (heldns-linux.c):
 * the first child joins the workspace's user namespace, where it holds
 * every capability and so may join the network namespace that user
 * namespace owns; unshares a mount and a pid namespace; and starts init in
 * them as its sibling. CLONE_PARENT makes capsid init's parent (it waits
 * for init and PDEATHSIG ties init to it), and since this child shares
 * capsid's descriptor table (CLONE_FILES), init's pidfd lands there. Its
 * exit ends capsid's vfork wait; init then runs on as in the other
 * modes. */
CHILD_CODE static int held_main(void* arg) {
  child_ctx_t* ctx = arg;
  const capsid__confine_t* c = ctx->confine;
  pid_t pid;

  if (setns(c->held_user_fd, CLONE_NEWUSER) != 0)
    return child_fail(ctx, CAPSID_STAGE_USERNS, errno);
  if (c->held_net_fd >= 0 && setns(c->held_net_fd, CLONE_NEWNET) != 0)
    return child_fail(ctx, CAPSID_STAGE_NETNS, errno);
  if (c->held_ipc_fd >= 0 && setns(c->held_ipc_fd, CLONE_NEWIPC) != 0)
    return child_fail(ctx, CAPSID_STAGE_USERNS, errno);
  if (unshare(CLONE_NEWNS | CLONE_NEWPID) != 0)
    return child_fail(ctx, CAPSID_STAGE_USERNS, errno);
  pid = clone(init_main, ctx->init_stack,
              CLONE_VM | CLONE_PARENT | CLONE_PIDFD | SIGCHLD, ctx,
              &ctx->init_pidfd);
  if (pid < 0)
    return child_fail(ctx, CAPSID_STAGE_SPAWN, errno);
  ctx->init_pid = pid;
  _exit(0);
  return 0;
}


/* Without a pid namespace: this process is the job. */
CHILD_CODE static int child_main(void* arg) {
  reset_signals();
  return job_main(arg);
}


static int exec_error(int error) {
  if (error == ENOENT || error == ENOTDIR)
    return CAPSID_ENOTFOUND;
  if (error == EACCES || error == ENOEXEC || error == EISDIR)
    return CAPSID_ENOEXEC;
  return capsid__translate_os_error(error);
}


/* The job's own wait status, when an init ran it: init's status is only
 * the job's when init itself was killed (timeout, kill), and init's
 * resource usage would count the parent's address space it shares. */
static int init_report(capsid__proc_t* p, int* status, struct rusage* ru) {
  init_status_t st;
  ssize_t n;

  if (p->status_fd < 0)
    return 0;
  do
    n = read(p->status_fd, &st, sizeof(st));
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof(st))
    return 0;
  *status = st.status;
  *ru = st.ru;
  return 1;
}


static void proc_reap(capsid__proc_t* p) {
  capsid__exit_t st;
  struct rusage ru;
  int status = 0;
  pid_t r;

  do
    r = wait4(p->pid, &status, WNOHANG, &ru);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return; /* spurious wake-up */
  memset(&st, 0, sizeof(st));
  st.peak_memory = -1;
  if (r < 0) {
    /* Someone else reaped it (SIGCHLD set to SIG_IGN by an embedder):
     * the exit status is lost, say so rather than invent one. */
    st.exit_code = -1;
  } else {
    int from_init = init_report(p, &status, &ru);
    if (WIFEXITED(status)) {
      st.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      st.exit_code = -1;
      st.signal = WTERMSIG(status);
    }
    st.user_cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
    st.sys_cpu_ms = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    st.peak_memory = (int64_t)ru.ru_maxrss * 1024;
    /* An init killed before it could report shares our address space:
     * its own peak would be ours. */
    if (p->status_fd >= 0 && !from_init)
      st.peak_memory = -1;
  }
  p->reaped = 1;
  capsid__confine_after_exit(&p->confine, &st);
  if (p->polling) {
    uv_poll_stop(&p->poll);
    p->polling = 0;
  }
  p->exit_cb(p, &st, p->data);
}


static void poll_cb(uv_poll_t* handle, int status, int events) {
  capsid__proc_t* p = CAPSID__CONTAINER_OF(handle, capsid__proc_t, poll);

  (void)status;
  (void)events;
  proc_reap(p);
}


/* Children's stacks are kept for reuse: an mmap and munmap per job cost
 * more than the stack is worth, and a sanitizer build would otherwise
 * grow shadow memory for every new address. */
#define STACK_CACHE 16
static void* stack_cache[STACK_CACHE];
static int n_stack_cache;
static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;

static void* stack_get(void) {
  void* s = NULL;

  if ((errno = capsid__fault("stack")) != 0)
    return MAP_FAILED;
  pthread_mutex_lock(&stack_lock);
  if (n_stack_cache > 0)
    s = stack_cache[--n_stack_cache];
  pthread_mutex_unlock(&stack_lock);
  if (s != NULL)
    return s;
  return mmap(NULL, 3 * CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
}


static void stack_put(void* s) {
  pthread_mutex_lock(&stack_lock);
  if (n_stack_cache < STACK_CACHE) {
    stack_cache[n_stack_cache++] = s;
    s = NULL;
  }
  pthread_mutex_unlock(&stack_lock);
  if (s != NULL)
    munmap(s, 3 * CHILD_STACK_SIZE);
}


static void proc_free(capsid__proc_t* p) {
  if (p->status_fd >= 0)
    close(p->status_fd);
  /* Only once init is reaped: it runs on this stack until then. */
  if (p->stack != NULL)
    stack_put(p->stack);
  capsid__confine_release(&p->confine);
  capsid__free(p);
}


/* Starts the first child and waits for its report: {0, 0} from an init
 * once the job runs, {stage, errno} from whichever child failed, or EOF
 * when the job exec'ed (no init: the report pipe is close-on-exec). */
static pid_t start_children(capsid__proc_t* p, child_ctx_t* ctx,
                            int* pidfd, int* report, ssize_t* got,
                            int* clone_errno, int* fail_stage) {
  int flags = CLONE_VM | CLONE_PIDFD | SIGCHLD | p->confine.clone_flags;
  char* stack = (char*)p->stack + CHILD_STACK_SIZE;
  int (*fn)(void*) = child_main;
  int held = p->confine.held != NULL, status;
  sigset_t all, old;
  pid_t pid;

  *fail_stage = 0;
  if (held) {
    /* The first child only starts init (held_main): on a third stack. */
    fn = held_main;
    flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD;
    ctx->init_stack = stack;
    ctx->init_pid = -1;
    ctx->init_pidfd = -1;
    stack = (char*)p->stack + 3 * CHILD_STACK_SIZE;
  } else if (p->confine.pidns) {
    fn = init_main;
    /* valgrind runs CLONE_VM children only as threads or with
     * CLONE_VFORK, and exits (rather than failing the call) on anything
     * else; init as a copy works the same. */
    if (CAPSID__ON_VALGRIND())
      flags &= ~CLONE_VM;
  } else {
    flags |= CLONE_VFORK;
  }
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  errno = capsid__fault("clone");
  pid = errno != 0 ? -1 : clone(fn, stack, flags, ctx, pidfd);
  if (pid < 0 && errno == EINVAL && p->confine.pidns && !held &&
      (flags & CLONE_VM)) {
    /* A kernel or tool that refuses a CLONE_VM child without CLONE_VFORK:
     * init as a copy works the same. */
    pid = clone(fn, stack, flags & ~CLONE_VM, ctx, pidfd);
  }
  *clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  held = held && pid > 0;
  if (held) {
    /* The first child has exited (the vfork wait is over): reap it, and
     * go on with the init it started, if it got that far. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    pid = ctx->init_pid;
    *pidfd = ctx->init_pidfd;
  }
  close(ctx->report_fd);
  if (ctx->status_fd >= 0)
    close(ctx->status_fd);
  *got = 0;
  if (held && pid < 0) {
    /* The first child failed and said where. */
    do
      *got = read(report[2], report, 2 * sizeof(int));
    while (*got < 0 && errno == EINTR);
    *fail_stage = CAPSID_STAGE_SPAWN;
    *clone_errno = EIO;
    if (*got == (ssize_t)(2 * sizeof(int))) {
      *fail_stage = report[0];
      *clone_errno = report[1];
    }
    return -1;
  }
  if (pid > 0) {
    do
      *got = read(report[2], report, 2 * sizeof(int));
    while (*got < 0 && errno == EINTR);
    if (*got <= 0 && ctx->failed_stage != 0) {
      /* The exec'ing child failed but its report did not get through. */
      report[0] = ctx->failed_stage;
      report[1] = ctx->failed_errno;
      *got = (ssize_t)(2 * sizeof(int));
    }
  }
  return pid;
}


int capsid__proc_spawn(uv_loop_t* loop, const capsid__launch_t* launch,
                       capsid__proc_exit_cb exit_cb, void* data,
                       capsid__proc_t** out, capsid_mode_t* mode_out,
                       capsid_error_t* err) {
  capsid__proc_t* p;
  child_ctx_t ctx;
  int pidfd = -1, rc, status, report_pipe[2], status_pipe[2], fail_stage;
  int report[3] = {0, 0, -1};
  ssize_t got;
  pid_t pid;

  *out = NULL;
  p = capsid__calloc(1, sizeof(*p));
  if (p == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, NULL);
  p->pidfd = -1;
  p->status_fd = -1;
  rc = capsid__confine_prepare(&p->confine, launch, err);
  if (rc != 0) {
    capsid__free(p);
    return rc;
  }

  /* Three stacks: the first child's, the job's when an init runs it, and
   * the one that starts init in held namespaces. */
  p->stack = stack_get();
  if (p->stack == MAP_FAILED) {
    p->stack = NULL;
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, errno,
                           NULL, NULL, NULL);
    goto fail;
  }

  if ((errno = capsid__fault("report-pipe")) != 0 ||
      pipe2(report_pipe, O_CLOEXEC) != 0) {
    rc = capsid__error_set(err, capsid__translate_os_error(errno),
                           CAPSID_STAGE_SPAWN, errno, NULL, NULL,
                           "cannot create the status pipe");
    goto fail;
  }
  memset(&ctx, 0, sizeof(ctx));
  ctx.status_fd = -1;
  if (p->confine.pidns) {
    if (pipe2(status_pipe, O_CLOEXEC) != 0) {
      rc = capsid__error_set(err, capsid__translate_os_error(errno),
                             CAPSID_STAGE_SPAWN, errno, NULL, NULL,
                             "cannot create the status pipe");
      close(report_pipe[0]);
      close(report_pipe[1]);
      goto fail;
    }
    p->status_fd = status_pipe[0];
    ctx.status_fd = status_pipe[1];
  }
  ctx.launch = launch;
  ctx.confine = &p->confine;
  ctx.report_fd = report_pipe[1];
  ctx.job_stack = (char*)p->stack + 2 * CHILD_STACK_SIZE;
  report[2] = report_pipe[0];
  pid = start_children(p, &ctx, &pidfd, report, &got, &rc, &fail_stage);
  close(report_pipe[0]);

  if (pid < 0) {
    rc = capsid__error_set(err, capsid__translate_os_error(rc),
                           fail_stage != 0 ? fail_stage
                           : p->confine.clone_flags &&
                                   (rc == EPERM || rc == ENOSPC ||
                                    rc == EUSERS || rc == EINVAL)
                               ? CAPSID_STAGE_USERNS
                               : CAPSID_STAGE_SPAWN,
                           rc, NULL, NULL,
                           fail_stage != 0
                               ? "cannot enter the workspace's namespaces"
                               : "clone failed");
    goto fail;
  }
  p->pid = pid;
  p->pidfd = pidfd;
  if ((got == (ssize_t)(2 * sizeof(int)) && report[0] != 0) ||
      (got <= 0 && p->confine.pidns)) {
    /* The job never reached execve (or its init died before saying so). */
    if (got <= 0) {
      report[0] = CAPSID_STAGE_SPAWN;
      report[1] = EIO;
    }
    if (p->confine.pidns)
      kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    close(pidfd);
    p->pidfd = -1;
    /* At a tiny limit any step may fail for want of memory (a read-back
     * cannot even open its file): say what it is. */
    if (launch->limits.memory > 0 &&
        (report[1] == ENOMEM ||
         capsid__cgroup_memory_hit(&p->confine.cgroup))) {
      rc = capsid__error_set(err, CAPSID_ELIMIT, report[0], ENOMEM,
                             launch->path, "memory_limit",
                             "the memory limit of %llu bytes is too small "
                             "to start the program",
                             (unsigned long long)launch->limits.memory);
      goto fail;
    }
    if (report[0] == CAPSID_STAGE_VERIFY) {
      rc = capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0,
                             NULL, NULL,
                             "the %s did not take effect: it was applied "
                             "without error but the job's process reads "
                             "it back as missing; the job was not run",
                             capsid__verify_name(report[1]));
      goto fail;
    }
    rc = capsid__error_set(
        err,
        report[0] == CAPSID_STAGE_EXEC ? exec_error(report[1])
        : report[0] == CAPSID_STAGE_CHDIR
            ? capsid__translate_os_error(report[1])
            : CAPSID_ECONFINE,
        report[0], report[1],
        report[0] == CAPSID_STAGE_EXEC    ? launch->path
        : report[0] == CAPSID_STAGE_CHDIR ? launch->cwd
                                          : p->confine.failed_path,
        report[0] == CAPSID_STAGE_EXEC    ? "argv[0]"
        : report[0] == CAPSID_STAGE_CHDIR ? "cwd"
                                          : NULL,
        NULL);
    goto fail;
  }

  rc = capsid__fault("poll");
  rc = rc ? uv_translate_sys_error(rc) : uv_poll_init(loop, &p->poll, pidfd);
  if (rc != 0) {
    /* Without a watcher the job would be unaccounted for: kill it. */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    close(pidfd);
    p->pidfd = -1;
    rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_WAIT, -rc, NULL,
                           NULL, "cannot watch the process: %s",
                           uv_strerror(rc));
    goto fail;
  }
  uv_poll_start(&p->poll, UV_READABLE, poll_cb);
  p->polling = 1;
  p->exit_cb = exit_cb;
  p->data = data;
  *mode_out = p->confine.mode;
  *out = p;
  return 0;

fail:
  proc_free(p);
  return rc;
}


int capsid__proc_signal(capsid__proc_t* p, int sig) {
  int os = sig == CAPSID_SIGHUP ? SIGHUP : sig == CAPSID_SIGINT ? SIGINT
                                                                : SIGTERM;

  if (p->reaped)
    return 0;
  if (p->status_fd >= 0) {
    /* Init passes it on to the whole pid namespace (init_forward). */
    kill(p->pid, os);
    return 0;
  }
  /* No pid namespace: the job's process group (setsid in the child) and
   * whatever left it for a group of its own but stays in the cgroup. */
  kill(-p->pid, os);
  capsid__cgroup_signal(&p->confine.cgroup, os, p->pid);
  return 0;
}


int capsid__proc_kill(capsid__proc_t* p) {
  /* The job leads its own process group (setsid in the child); the group
   * id stays reserved while any member lives, even after the leader is
   * reaped, so this never hits an unrelated process. */
  capsid__confine_kill(&p->confine);
  /* A reaped init took its whole pid namespace with it: nothing of the
   * job is left to signal (and kill would only fail with ESRCH, twice
   * per job). */
  if (p->reaped && p->status_fd >= 0)
    return 0;
  if (kill(-p->pid, SIGKILL) != 0 && errno != ESRCH)
    return capsid__translate_os_error(errno);
  if (!p->reaped)
    kill(p->pid, SIGKILL);
  return 0;
}


static void proc_closed(uv_handle_t* handle) {
  capsid__proc_t* p = CAPSID__CONTAINER_OF(handle, capsid__proc_t, poll);
  void (*cb)(void*) = p->close_cb;
  void* data = p->close_data;

  close(p->pidfd);
  proc_free(p);
  if (cb != NULL)
    cb(data);
}


void capsid__proc_close(capsid__proc_t* p, void (*close_cb)(void* data),
                        void* data) {
  int status;

  capsid__proc_kill(p);
  if (!p->reaped) {
    /* Killed with SIGKILL just above, so this wait is short. */
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
      ;
    p->reaped = 1;
  }
  p->close_cb = close_cb;
  p->close_data = data;
  uv_close((uv_handle_t*)&p->poll, proc_closed);
}


int capsid__proc_resolve(const char* program, const char* path_env,
                         const char* cwd, char** out, capsid_error_t* err) {
  struct stat st;
  const char* dir;
  const char* end;
  char* candidate;
  int saw_denied = 0;
  size_t len;

  *out = NULL;
  if (strchr(program, '/') != NULL) {
    candidate = program[0] == '/' ? capsid__strdup(program)
                                  : capsid__sprintf("%s/%s", cwd, program);
    if (candidate == NULL)
      return CAPSID_ENOMEM;
    if (stat(candidate, &st) != 0) {
      capsid__free(candidate);
      return capsid__error_set(err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC,
                               errno, program, "argv[0]",
                               "%s: program not found", program);
    }
    if (!S_ISREG(st.st_mode) || access(candidate, X_OK) != 0) {
      capsid__free(candidate);
      return capsid__error_set(err, CAPSID_ENOEXEC, CAPSID_STAGE_EXEC,
                               EACCES, program, "argv[0]",
                               "%s: program is not executable", program);
    }
    *out = candidate;
    return 0;
  }
  if (path_env == NULL)
    path_env = "/usr/local/bin:/usr/bin:/bin";
  for (dir = path_env;; dir = end + 1) {
    end = strchr(dir, ':');
    len = end ? (size_t)(end - dir) : strlen(dir);
    /* An empty PATH entry means the current directory. */
    if (len == 0)
      candidate = capsid__sprintf("%s/%s", cwd, program);
    else if (dir[0] == '/')
      candidate = capsid__sprintf("%.*s/%s", (int)len, dir, program);
    else
      candidate = capsid__sprintf("%s/%.*s/%s", cwd, (int)len, dir, program);
    if (candidate == NULL)
      return CAPSID_ENOMEM;
    if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(candidate, X_OK) == 0) {
        *out = candidate;
        return 0;
      }
      saw_denied = 1;
    }
    capsid__free(candidate);
    if (end == NULL)
      break;
  }
  if (saw_denied)
    return capsid__error_set(err, CAPSID_ENOEXEC, CAPSID_STAGE_EXEC, EACCES,
                             program, "argv[0]",
                             "%s: program is not executable", program);
  return capsid__error_set(err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC, ENOENT,
                           program, "argv[0]",
                           "%s: program not found in PATH", program);
}


int64_t capsid__proc_pid(const capsid__proc_t* p) {
  return p->pid;
}
