/* Starting a job's process on Windows.
 *
 * Order (each step verified before the next; see plan-win.h):
 *   capability SIDs -> job object -> DACL grants -> then
 *   unprivileged: restricted token of capsid's own token ->
 *     CreateProcessAsUserW (spawn-win.c) -> ResumeThread;
 *   elevated: the runner, started as the sandbox user, builds the
 *     restricted token from its own and creates the process the same way
 *     (runner-client-win.c, runner-win.c).
 * The exit is watched with RegisterWaitForSingleObject, whose callback (on
 * a system thread) only wakes the loop through a uv_async_t, as libuv does
 * for its own processes. In elevated mode the process watched is the
 * runner, which exits with the job's exit code. */
#include "sandbox-int.h"

#include "desktop-win.h"
#include "grant-win.h"
#include "jobobj-win.h"
#include "nul-win.h"
#include "placeholder-win.h"
#include "plan-win.h"
#include "runner-win.h"
#include "spawn-win.h"
#include "token-win.h"
#include "verify-win.h"

#include "win-util.h"

#include <stdlib.h>
#include <string.h>

struct capsid__proc_s {
  uv_async_t async;
  HANDLE process;
  HANDLE job;
  HANDLE port;   /* the job object's messages (memory limit hits) */
  HANDLE wait;
  capsid__win_placeholders_t placeholders;
  capsid__desktop_t desktop; /* the job's own, closed after it */
  int reaped;
  int killed;
  capsid__proc_exit_cb exit_cb;
  void* data;
  void (*close_cb)(void* data);
  void* close_data;
};


static int elevated(const capsid__launch_t* l) {
  return l->mode == CAPSID_MODE_ELEVATED;
}


/* ---- exit ---- */

static void CALLBACK exit_wait_cb(void* arg, BOOLEAN timed_out) {
  capsid__proc_t* p = arg;

  (void)timed_out;
  uv_async_send(&p->async);
}


/* The job object posts its notifications to a completion port; a hit of
 * the memory limit is how a Windows job "runs out of memory" (its
 * allocations fail, nothing is killed). Windows does not promise to
 * deliver every message, so this can miss one: oom is best effort here. */
static HANDLE memory_port(HANDLE job) {
  JOBOBJECT_ASSOCIATE_COMPLETION_PORT acp;
  HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);

  if (port == NULL)
    return NULL;
  acp.CompletionKey = NULL;
  acp.CompletionPort = port;
  if (!SetInformationJobObject(job,
                               JobObjectAssociateCompletionPortInformation,
                               &acp, sizeof(acp))) {
    CloseHandle(port);
    return NULL;
  }
  return port;
}


static int memory_limit_hit(HANDLE port) {
  OVERLAPPED* ov;
  ULONG_PTR key;
  DWORD msg;
  int hit = 0;

  if (port == NULL)
    return 0;
  /* Drain without waiting: the messages queued while the job ran. */
  while (GetQueuedCompletionStatus(port, &msg, &key, &ov, 0))
    if (msg == JOB_OBJECT_MSG_JOB_MEMORY_LIMIT ||
        msg == JOB_OBJECT_MSG_PROCESS_MEMORY_LIMIT)
      hit = 1;
  return hit;
}


static void async_cb(uv_async_t* handle) {
  capsid__proc_t* p = CAPSID__CONTAINER_OF(handle, capsid__proc_t, async);
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION acct;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  capsid__exit_t st;
  DWORD code = 0;

  if (p->reaped || WaitForSingleObject(p->process, 0) != WAIT_OBJECT_0)
    return;
  p->reaped = 1;
  memset(&st, 0, sizeof(st));
  st.peak_memory = -1;
  if (!GetExitCodeProcess(p->process, &code))
    st.exit_code = -1;
  else if (p->killed && code == CAPSID__KILL_EXIT_CODE) {
    st.exit_code = -1;
    st.signal = 9;
  } else {
    st.exit_code = (int)code;
  }
  /* Times and peak memory of the whole job (every process of the tree),
   * in 100 ns units. */
  if (QueryInformationJobObject(p->job, JobObjectBasicAccountingInformation,
                                &acct, sizeof(acct), NULL)) {
    st.user_cpu_ms = (double)acct.TotalUserTime.QuadPart / 1e4;
    st.sys_cpu_ms = (double)acct.TotalKernelTime.QuadPart / 1e4;
  }
  st.oom = memory_limit_hit(p->port);
  memset(&li, 0, sizeof(li));
  if (QueryInformationJobObject(p->job, JobObjectExtendedLimitInformation,
                                &li, sizeof(li), NULL) &&
      li.PeakJobMemoryUsed > 0)
    st.peak_memory = (int64_t)li.PeakJobMemoryUsed;
  p->exit_cb(p, &st, p->data);
}


/* ---- spawn ---- */

/* The job's stdio as inheritable handles (closed by the caller). */
static int stdio_handles(const capsid__launch_t* l, HANDLE out[3],
                         capsid_error_t* err) {
  int i;

  for (i = 0; i < 3; i++) {
    out[i] = capsid__inheritable((HANDLE)_get_osfhandle(l->child_stdio[i]));
    if (out[i] == NULL)
      return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_PIPE,
                               (int)GetLastError(), NULL, NULL,
                               "cannot pass stdio handle %d to the job", i);
  }
  return 0;
}


/* Unprivileged: the restricted token of capsid's own token, made and
 * verified before any DACL is touched. */
static int token_direct(const capsid__prep_t* plan, HANDLE* token,
                        int* overridden, capsid_error_t* err) {
  int rc = capsid__token_create(&plan->token, token, err);

  if (rc == 0)
    rc = capsid__verify_checked(
        capsid__token_verify(*token, &plan->token, err), err, overridden);
  return rc;
}


/* The job object's limits of a launch. */
static int jobobj_plan(const capsid__launch_t* l, capsid__jobobj_plan_t* j,
                       capsid_error_t* err) {
  const char* ui = getenv("CAPSID_WIN_UILIMIT");
  const char* why = NULL;
  BOOL in_job = FALSE;

  memset(j, 0, sizeof(*j));
  if (!IsProcessInJob(GetCurrentProcess(), NULL, &in_job))
    in_job = TRUE; /* unknown: do not risk a job that cannot nest */
  if (capsid__jobobj_ui(ui, in_job, elevated(l), &j->ui_limits, &why) != 0)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_POLICY, 0, NULL,
                             "CAPSID_WIN_UILIMIT",
                             "CAPSID_WIN_UILIMIT is \"%s\": use on or off",
                             ui);
  j->memory_limit = l->limits.memory;
  /* In elevated mode the runner is one of the job object's processes. */
  j->max_processes =
      l->limits.processes + (l->limits.processes > 0 && elevated(l) ? 1 : 0);
  j->cpu_rate = capsid__jobobj_cpu_rate(
      l->limits.cpu, (uint32_t)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS));
  return 0;
}


/* Everything up to a created (suspended, or in elevated mode running)
 * process in its verified job object, following the plan prelaunch
 * made. */
static int start(const capsid__launch_t* launch, HANDLE* job, HANDLE* port,
                 PROCESS_INFORMATION* pi, int* overridden,
                 capsid__win_placeholders_t* ph, capsid__desktop_t* desk,
                 capsid_error_t* err) {
  HANDLE stdio[3] = {NULL, NULL, NULL}, token = NULL;
  const capsid__prep_t* plan = launch->prep;
  capsid__jobobj_plan_t jobobj;
  capsid__spawn_t s;
  int rc = 0, i;

  memset(&s, 0, sizeof(s));
  if (plan == NULL)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, "the job was launched without its plan "
                             "(capsid__prelaunch)");
  rc = jobobj_plan(launch, &jobobj, err);
  if (rc == 0 && !elevated(launch))
    rc = token_direct(plan, &token, overridden, err);
  if (rc == 0)
    rc = capsid__jobobj_create(&jobobj, job, err);
  if (rc == 0)
    rc = capsid__verify_checked(capsid__jobobj_verify(*job, &jobobj, err),
                                err, overridden);
  if (rc == 0)
    rc = capsid__verify_checked(capsid__grant_ensure(&plan->acl, err), err,
                                overridden);
  /* The placeholders grant_ensure made: held for the job's life. */
  if (rc == 0)
    rc = capsid__win_placeholders_hold(ph, launch->sandbox, err);
  if (rc == 0) /* best effort: see nul-win.c */
    (void)capsid__nul_grant(&plan->token, NULL);
  if (rc == 0 && launch->limits.memory > 0)
    *port = memory_port(*job);
  if (rc == 0)
    rc = capsid__spawn_prepare(launch, &s, err);
  /* Unprivileged jobs get a desktop of their own; the runner of elevated
   * mode starts its job on the default one (the sandbox user's logon SID
   * is not the one this desktop would grant). */
  if (rc == 0 && !elevated(launch)) {
    capsid__desktop_make(desk);
    s.desktop = desk->name;
  }
  if (rc == 0)
    rc = stdio_handles(launch, stdio, err);
  if (rc == 0 && elevated(launch)) {
    capsid__runner_req_t rq;
    int runner_overridden = 0;

    rq.spawn = &s;
    rq.token = &plan->token;
    rq.offline = !launch->sandbox->network;
    rc = capsid__runner_start(&rq, stdio, *job, pi, &runner_overridden, err);
    *overridden |= runner_overridden;
  } else if (rc == 0) {
    rc = capsid__create_process(token, &s, stdio, *job, pi, err);
  }
  if (token != NULL)
    CloseHandle(token);
  for (i = 0; i < 3; i++)
    if (stdio[i] != NULL)
      CloseHandle(stdio[i]);
  capsid__spawn_free(&s);
  return rc;
}


int capsid__proc_spawn(uv_loop_t* loop, const capsid__launch_t* launch,
                       capsid__proc_exit_cb exit_cb, void* data,
                       capsid__proc_t** out, capsid_mode_t* mode_out,
                       capsid_error_t* err) {
  PROCESS_INFORMATION pi;
  capsid__proc_t* p = NULL;
  HANDLE job = NULL, port = NULL;
  capsid__win_placeholders_t ph;
  capsid__desktop_t desk;
  int rc, overridden = 0;

  *out = NULL;
  memset(&pi, 0, sizeof(pi));
  memset(&ph, 0, sizeof(ph));
  memset(&desk, 0, sizeof(desk));
  rc = start(launch, &job, &port, &pi, &overridden, &ph, &desk, err);
  if (rc != 0)
    goto fail;

  p = capsid__calloc(1, sizeof(*p));
  rc = p == NULL ? UV_ENOMEM : uv_async_init(loop, &p->async, async_cb);
  if (rc != 0) {
    /* Without a watcher the job would be unaccounted for: kill it. */
    TerminateJobObject(job, CAPSID__KILL_EXIT_CODE);
    if (pi.hThread != NULL)
      CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    capsid__free(p);
    rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_WAIT, 0, NULL, NULL,
                           "cannot watch the process: %s", uv_strerror(rc));
    goto fail;
  }
  p->process = pi.hProcess;
  p->desktop = desk;
  desk.handle = NULL;
  p->placeholders = ph;
  ph.n = 0;
  ph.sb = NULL;
  p->job = job;
  p->port = port;
  p->exit_cb = exit_cb;
  p->data = data;
  if (!RegisterWaitForSingleObject(&p->wait, p->process, exit_wait_cb, p,
                                   INFINITE, WT_EXECUTEONLYONCE)) {
    rc = (int)GetLastError();
    TerminateJobObject(job, CAPSID__KILL_EXIT_CODE);
    if (pi.hThread != NULL)
      CloseHandle(pi.hThread);
    p->wait = NULL;
    p->reaped = 1;
    capsid__proc_close(p, NULL, NULL);
    return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_WAIT, rc, NULL,
                             NULL, "cannot watch the process");
  }
  /* The runner is already running (it resumes the job's process itself
   * once it has answered). */
  if (pi.hThread != NULL) {
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
  }
  /* What ran: the mode asked for, or nothing verified (test build). */
  *mode_out = overridden ? CAPSID_MODE_NONE
                         : elevated(launch) ? CAPSID_MODE_ELEVATED
                                            : CAPSID_MODE_UNPRIVILEGED;
  *out = p;
  return 0;

fail:
  /* After a failed start the job never ran: what it made goes. */
  capsid__win_placeholders_release(&ph);
  capsid__desktop_close(&desk);
  if (port != NULL)
    CloseHandle(port);
  if (job != NULL)
    CloseHandle(job);
  return rc;
}


/* A job object carries no signal, and the job's console is its own
 * (CREATE_NO_WINDOW), which GenerateConsoleCtrlEvent from capsid cannot
 * reach: nothing is delivered. capsid_job_signal leaves the job its grace
 * to end by itself, then terminates the job object. */
int capsid__proc_signal(capsid__proc_t* p, int sig) {
  (void)p;
  (void)sig;
  return CAPSID_ENOTSUP;
}


int capsid__proc_kill(capsid__proc_t* p) {
  /* Every process of the tree is in the job object. */
  if (!p->reaped)
    p->killed = 1;
  if (!TerminateJobObject(p->job, CAPSID__KILL_EXIT_CODE))
    return capsid__translate_os_error((int)GetLastError());
  return 0;
}


static void proc_closed(uv_handle_t* handle) {
  capsid__proc_t* p = CAPSID__CONTAINER_OF(handle, capsid__proc_t, async);
  void (*cb)(void*) = p->close_cb;
  void* data = p->close_data;

  capsid__free(p);
  if (cb != NULL)
    cb(data);
}


void capsid__proc_close(capsid__proc_t* p, void (*close_cb)(void* data),
                        void* data) {
  capsid__proc_kill(p);
  /* INVALID_HANDLE_VALUE: wait for a running callback to finish, so no
   * uv_async_send can touch the handle once it is closing. */
  if (p->wait != NULL)
    UnregisterWaitEx(p->wait, INVALID_HANDLE_VALUE);
  CloseHandle(p->process);
  CloseHandle(p->job);
  /* The job object is gone, its processes with it (kill-on-close). */
  capsid__win_placeholders_release(&p->placeholders);
  capsid__desktop_close(&p->desktop);
  if (p->port != NULL)
    CloseHandle(p->port);
  p->close_cb = close_cb;
  p->close_data = data;
  uv_close((uv_handle_t*)&p->async, proc_closed);
}


int64_t capsid__proc_pid(const capsid__proc_t* p) {
  return (int64_t)GetProcessId(p->process);
}
