/* Starting a job's process on Windows.
 *
 * Order (each step verified before the next; see capsid-win.h):
 *   capability SIDs -> restricted token -> job object -> DACL grants ->
 *   CreateProcessAsUserW(token, CREATE_SUSPENDED) with the child placed in
 *   the job object at creation (PROC_THREAD_ATTRIBUTE_JOB_LIST) and only
 *   its three stdio handles inheritable (PROC_THREAD_ATTRIBUTE_HANDLE_LIST)
 *   -> check the child is in the job -> ResumeThread.
 * The exit is watched with RegisterWaitForSingleObject, whose callback (on
 * a system thread) only wakes the loop through a uv_async_t, as libuv does
 * for its own processes. */
#include "capsid-win.h"

#include "fault.h"
#include "win-util.h"

#include <stdlib.h>
#include <string.h>

/* Exit status given to processes capsid kills; reported as signal 9 so
 * results read the same as on Linux. */
#define KILL_EXIT_CODE 137

struct capsid__proc_s {
  uv_async_t async;
  HANDLE process;
  HANDLE job;
  HANDLE port;   /* the job object's messages (memory limit hits) */
  HANDLE wait;
  int reaped;
  int killed;
  capsid__proc_exit_cb exit_cb;
  void* data;
  void (*close_cb)(void* data);
  void* close_data;
};


/* ---- plan ---- */

typedef struct plan_s {
  capsid__token_plan_t token;
  capsid__jobobj_plan_t jobobj;
  capsid__ace_plan_t aces[16];
  size_t n_aces;
} plan_t;


static int plan_ace(plan_t* pl, const char* path, const char* sid, int deny,
                    capsid_error_t* err) {
  capsid__ace_plan_t* a;

  if (pl->n_aces >= CAPSID__ARRAY_SIZE(pl->aces))
    return capsid__error_set(err, CAPSID_ETOOLONG, CAPSID_STAGE_ACL, 0, path,
                             NULL, "too many writable roots and protected "
                             "paths for one job (at most %zu)",
                             CAPSID__ARRAY_SIZE(pl->aces));
  a = &pl->aces[pl->n_aces++];
  a->path = path;
  a->deny = deny;
  memcpy(a->sid, sid, CAPSID__SID_MAX);
  return 0;
}


static int plan_build(const capsid__launch_t* l, plan_t* pl,
                      capsid_error_t* err) {
  const capsid__sandbox_t* sb = l->sandbox;
  const int read_only =
      sb->kind == CAPSID__POLICY_READ_ONLY || sb->writable.n == 0;
  capsid__caps_t caps;
  int rc, have_generic;
  size_t i;

  memset(pl, 0, sizeof(*pl));
  pl->jobobj.memory_limit = l->memory_limit;
  pl->jobobj.max_processes = l->max_processes;
  rc = capsid__caps_get((const char* const*)sb->writable.v,
                       read_only ? 0 : sb->writable.n, &caps, err);
  if (rc != 0)
    return rc;
  if (read_only) {
    pl->token.n = 1;
    memcpy(pl->token.sids[0], caps.read_only, sizeof(caps.read_only));
    return 0;
  }
  /* The workspace's own SID writes the first root (the workspace); the
   * generic SID writes the extra roots and temp dirs, which are shared by
   * every workspace. Two SIDs per token however many workspaces exist. */
  memcpy(pl->token.sids[pl->token.n++], caps.workspace,
         sizeof(caps.workspace));
  have_generic = sb->writable.n > 1;
  if (have_generic)
    memcpy(pl->token.sids[pl->token.n++], caps.generic,
           sizeof(caps.generic));
  for (i = 0; i < sb->writable.n && rc == 0; i++)
    rc = plan_ace(pl, sb->writable.v[i],
                  i == 0 ? caps.workspace : caps.generic, 0, err);
  /* Protected paths lie inside writable roots: deny writes to both SIDs,
   * since a protected path may sit in an extra root too. */
  for (i = 0; i < sb->protected_paths.n && rc == 0; i++) {
    rc = plan_ace(pl, sb->protected_paths.v[i], caps.workspace, 1, err);
    if (rc == 0 && have_generic)
      rc = plan_ace(pl, sb->protected_paths.v[i], caps.generic, 1, err);
  }
  return rc;
}


/* ---- command line and environment ---- */

/* Appends arg quoted the way CommandLineToArgvW and the C runtime split
 * it: backslashes are literal except before a quote. */
static int quote_arg(capsid__buf_t* b, const char* arg) {
  const char* c;
  size_t slashes = 0, k;
  int rc = 0;

  if (*arg != '\0' && strpbrk(arg, " \t\n\v\"") == NULL)
    return capsid__buf_append(b, arg, strlen(arg));
  rc |= capsid__buf_append(b, "\"", 1);
  for (c = arg; *c != '\0'; c++) {
    if (*c == '\\') {
      slashes++;
      continue;
    }
    /* Before a quote, each backslash is doubled and the quote escaped. */
    for (k = 0; k < (*c == '"' ? slashes * 2 + 1 : slashes); k++)
      rc |= capsid__buf_append(b, "\\", 1);
    slashes = 0;
    rc |= capsid__buf_append(b, c, 1);
  }
  /* Before the closing quote, too. */
  for (k = 0; k < slashes * 2; k++)
    rc |= capsid__buf_append(b, "\\", 1);
  rc |= capsid__buf_append(b, "\"", 1);
  return rc;
}


static int ends_with_ci(const char* s, const char* suffix) {
  size_t n = strlen(s), m = strlen(suffix);

  return n >= m && _stricmp(s + n - m, suffix) == 0;
}


/* The application and command line. Batch files run through cmd.exe,
 * which CreateProcess does not do by itself. */
static int build_cmdline(const capsid__launch_t* l, WCHAR** app,
                         WCHAR** cmdline) {
  capsid__buf_t b = {0};
  char* app8;
  size_t i;
  int rc = 0, batch;
  char nul = '\0';

  batch = ends_with_ci(l->path, ".bat") || ends_with_ci(l->path, ".cmd");
  if (batch) {
    const char* comspec = getenv("ComSpec");
    app8 = capsid__strdup(comspec ? comspec : "C:\\Windows\\System32\\cmd.exe");
    rc |= capsid__buf_append(&b, "cmd.exe /d /s /c \"", 18);
  } else {
    app8 = capsid__strdup(l->path);
  }
  for (i = 0; l->argv[i] != NULL; i++) {
    if (i > 0)
      rc |= capsid__buf_append(&b, " ", 1);
    rc |= quote_arg(&b, i == 0 ? l->path : l->argv[i]);
  }
  if (batch)
    rc |= capsid__buf_append(&b, "\"", 1);
  rc |= capsid__buf_append(&b, &nul, 1);
  if (rc != 0 || app8 == NULL) {
    capsid__free(app8);
    capsid__buf_free(&b);
    return CAPSID_ENOMEM;
  }
  for (i = 0; app8[i] != '\0'; i++)
    if (app8[i] == '/')
      app8[i] = '\\';
  *app = capsid__utf16(app8);
  *cmdline = capsid__utf16(b.data);
  capsid__free(app8);
  capsid__buf_free(&b);
  return *app && *cmdline ? 0 : CAPSID_ENOMEM;
}


/* Offline jobs in unprivileged mode: Windows has no per-process network
 * switch without the elevated set-up (a firewall rule scoped to the
 * offline user), so these variables only steer well-behaved tools to a
 * dead proxy (the discard port) and into offline modes, as Codex's legacy
 * mode does. Defence in depth, NOT enforcement; docs/windows.md says so.
 * A variable the job already sets is left alone. */
static const char* const offline_env[] = {
    "CAPSID_NETWORK=off",
    "HTTP_PROXY=http://127.0.0.1:9",
    "HTTPS_PROXY=http://127.0.0.1:9",
    "ALL_PROXY=http://127.0.0.1:9",
    "GIT_HTTP_PROXY=http://127.0.0.1:9",
    "GIT_HTTPS_PROXY=http://127.0.0.1:9",
    "NO_PROXY=localhost,127.0.0.1,::1",
    "PIP_NO_INDEX=1",
    "NPM_CONFIG_OFFLINE=true",
    "CARGO_NET_OFFLINE=true",
    "GIT_SSH_COMMAND=cmd /c exit 1",
};


/* Is the variable of entry (NAME=...) set in envp? Windows compares
 * variable names without case. */
static int env_has(char* const* envp, const char* entry) {
  size_t n = strcspn(entry, "=");
  size_t i;

  for (i = 0; envp[i] != NULL; i++)
    if (_strnicmp(envp[i], entry, n) == 0 && envp[i][n] == '=')
      return 1;
  return 0;
}


static int env_push(capsid__buf_t* b, const char* entry) {
  WCHAR* w = capsid__utf16(entry);
  int rc;

  if (w == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__buf_append(b, w, (wcslen(w) + 1) * sizeof(WCHAR));
  capsid__free(w);
  return rc;
}


/* "A=1\0B=2\0\0" in UTF-16. SystemRoot is added from capsid's own
 * environment when the job's lacks it: Winsock and many system DLLs fail
 * to load without it. */
static WCHAR* build_env(char* const* envp, int offline) {
  capsid__buf_t b = {0};
  int rc = 0;
  size_t i;
  WCHAR nul = 0;

  for (i = 0; envp[i] != NULL; i++)
    rc |= env_push(&b, envp[i]);
  if (!env_has(envp, "SystemRoot=") && getenv("SystemRoot") != NULL) {
    char* e = capsid__sprintf("SystemRoot=%s", getenv("SystemRoot"));
    rc |= e ? env_push(&b, e) : CAPSID_ENOMEM;
    capsid__free(e);
  }
  for (i = 0; offline && i < CAPSID__ARRAY_SIZE(offline_env); i++)
    if (!env_has(envp, offline_env[i]))
      rc |= env_push(&b, offline_env[i]);
  /* The block ends with an empty string; an empty block still needs both
   * terminators. */
  if (b.len == 0)
    rc |= capsid__buf_append(&b, &nul, sizeof(nul));
  rc |= capsid__buf_append(&b, &nul, sizeof(nul));
  if (rc != 0) {
    capsid__buf_free(&b);
    return NULL;
  }
  return (WCHAR*)b.data;
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
  else if (p->killed && code == KILL_EXIT_CODE) {
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

static HANDLE inheritable(uv_file fd) {
  HANDLE h = (HANDLE)_get_osfhandle(fd), dup = NULL;

  if (h == INVALID_HANDLE_VALUE ||
      !DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0,
                       TRUE, DUPLICATE_SAME_ACCESS))
    return NULL;
  return dup;
}


static int verify_or_override(int rc, capsid_error_t* err, int* overridden) {
  if (rc == CAPSID_EVERIFY && capsid__verify_override(err)) {
    *overridden = 1;
    return 0;
  }
  return rc;
}


static int create_process(const capsid__launch_t* l, HANDLE token,
                          HANDLE job, PROCESS_INFORMATION* pi,
                          capsid_error_t* err) {
  STARTUPINFOEXW si;
  HANDLE stdio[3] = {NULL, NULL, NULL};
  WCHAR* app = NULL;
  WCHAR* cmdline = NULL;
  WCHAR* env = NULL;
  WCHAR* cwd = NULL;
  WCHAR desktop[] = L"winsta0\\default";
  SIZE_T attr_size = 0;
  DWORD os_error = 0;
  char* cwd8 = NULL;
  int rc = 0, i, in_job_list = 0, fault;
  BOOL in_job = FALSE;

  memset(pi, 0, sizeof(*pi));
  memset(&si, 0, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  for (i = 0; i < 3; i++) {
    stdio[i] = inheritable(l->child_stdio[i]);
    if (stdio[i] == NULL) {
      rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_PIPE,
                             (int)GetLastError(), NULL, NULL,
                             "cannot pass stdio handle %d to the job", i);
      goto out;
    }
  }
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = stdio[0];
  si.StartupInfo.hStdOutput = stdio[1];
  si.StartupInfo.hStdError = stdio[2];
  /* An explicit desktop: a token without the logon SID among its
   * restricting SIDs must not depend on inheriting capsid's. */
  si.StartupInfo.lpDesktop = desktop;

  InitializeProcThreadAttributeList(NULL, 2, 0, &attr_size);
  si.lpAttributeList = capsid__malloc(attr_size);
  if (si.lpAttributeList == NULL ||
      !InitializeProcThreadAttributeList(si.lpAttributeList, 2, 0,
                                         &attr_size)) {
    capsid__free(si.lpAttributeList);
    si.lpAttributeList = NULL;
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN,
                           (int)GetLastError(), NULL, NULL, NULL);
    goto out;
  }
  /* Only these three handles reach the child, whatever else capsid (or a
   * thread of the embedding program) has made inheritable. */
  if (!UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                 PROC_THREAD_ATTRIBUTE_HANDLE_LIST, stdio,
                                 sizeof(stdio), NULL, NULL)) {
    rc = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN,
                           (int)GetLastError(), NULL, NULL,
                           "cannot restrict the inherited handles");
    goto out;
  }
  /* Windows 10+: the child is in the job from its first instruction.
   * Where the attribute is unknown, CREATE_SUSPENDED plus
   * AssignProcessToJobObject below gives the same guarantee. */
  in_job_list = UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                          PROC_THREAD_ATTRIBUTE_JOB_LIST,
                                          &job, sizeof(job), NULL, NULL);

  if (build_cmdline(l, &app, &cmdline) != 0 ||
      (env = build_env(l->envp, !l->sandbox->network)) == NULL ||
      (cwd8 = capsid__strdup(l->cwd)) == NULL) {
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, 0, NULL,
                           NULL, NULL);
    goto out;
  }
  for (i = 0; cwd8[i] != '\0'; i++)
    if (cwd8[i] == '/')
      cwd8[i] = '\\';
  cwd = capsid__utf16(cwd8);
  fault = capsid__fault("spawn");
  if (cwd == NULL || fault ||
      !CreateProcessAsUserW(token, app, cmdline, NULL, NULL, TRUE,
                            CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT |
                                EXTENDED_STARTUPINFO_PRESENT |
                                CREATE_NO_WINDOW,
                            env, cwd, &si.StartupInfo, pi)) {
    os_error = fault ? (DWORD)fault : GetLastError();
    if (os_error == ERROR_DIRECTORY)
      rc = capsid__error_set(err, CAPSID_ENOTDIR, CAPSID_STAGE_CHDIR,
                             (int)os_error, l->cwd, "cwd", NULL);
    else if (os_error == ERROR_FILE_NOT_FOUND ||
             os_error == ERROR_PATH_NOT_FOUND)
      rc = capsid__error_set(err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC,
                             (int)os_error, l->path, "argv[0]", NULL);
    else if (os_error == ERROR_BAD_EXE_FORMAT)
      rc = capsid__error_set(err, CAPSID_ENOEXEC, CAPSID_STAGE_EXEC,
                             (int)os_error, l->path, "argv[0]", NULL);
    else
      rc = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN,
                             (int)os_error, l->path, NULL,
                             "CreateProcessAsUserW failed");
    memset(pi, 0, sizeof(*pi));
    goto out;
  }
  if (!IsProcessInJob(pi->hProcess, job, &in_job) || !in_job) {
    if (in_job_list || !AssignProcessToJobObject(job, pi->hProcess)) {
      os_error = GetLastError();
      TerminateProcess(pi->hProcess, KILL_EXIT_CODE);
      CloseHandle(pi->hThread);
      CloseHandle(pi->hProcess);
      memset(pi, 0, sizeof(*pi));
      rc = capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                             (int)os_error, NULL, NULL,
                             "the process could not be put in its job "
                             "object");
      goto out;
    }
  }

out:
  for (i = 0; i < 3; i++)
    if (stdio[i] != NULL)
      CloseHandle(stdio[i]);
  if (si.lpAttributeList != NULL) {
    DeleteProcThreadAttributeList(si.lpAttributeList);
    capsid__free(si.lpAttributeList);
  }
  capsid__free(app);
  capsid__free(cmdline);
  capsid__free(env);
  capsid__free(cwd);
  capsid__free(cwd8);
  return rc;
}


int capsid__proc_spawn(uv_loop_t* loop, const capsid__launch_t* launch,
                       capsid__proc_exit_cb exit_cb, void* data,
                       capsid__proc_t** out, capsid_mode_t* mode_out,
                       capsid_error_t* err) {
  PROCESS_INFORMATION pi;
  capsid__proc_t* p = NULL;
  HANDLE token = NULL, job = NULL, port = NULL;
  plan_t* plan;
  int rc, overridden = 0;

  *out = NULL;
  if (launch->mode == CAPSID_MODE_ELEVATED)
    return capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY, 0,
                             NULL, "mode",
                             "elevated mode needs the sandbox users, which "
                             "this Windows build cannot set up yet; use mode "
                             "\"auto\" or \"unprivileged\"");
  plan = capsid__calloc(1, sizeof(*plan));
  if (plan == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, NULL);
  rc = plan_build(launch, plan, err);
  if (rc == 0)
    rc = capsid__token_create(&plan->token, &token, err);
  if (rc == 0)
    rc = verify_or_override(capsid__token_verify(token, &plan->token, err),
                            err, &overridden);
  if (rc == 0)
    rc = capsid__jobobj_create(&plan->jobobj, &job, err);
  if (rc == 0)
    rc = verify_or_override(capsid__jobobj_verify(job, &plan->jobobj, err),
                            err, &overridden);
  if (rc == 0)
    rc = verify_or_override(
        capsid__grant_ensure(plan->aces, plan->n_aces, err), err,
        &overridden);
  if (rc == 0 && launch->memory_limit > 0)
    port = memory_port(job);
  if (rc == 0)
    rc = create_process(launch, token, job, &pi, err);
  capsid__free(plan);
  if (token != NULL)
    CloseHandle(token);
  if (rc != 0)
    goto fail;

  p = capsid__calloc(1, sizeof(*p));
  rc = p == NULL ? UV_ENOMEM : uv_async_init(loop, &p->async, async_cb);
  if (rc != 0) {
    /* Without a watcher the job would be unaccounted for: kill it. */
    TerminateJobObject(job, KILL_EXIT_CODE);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    capsid__free(p);
    rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_WAIT, 0, NULL, NULL,
                           "cannot watch the process: %s", uv_strerror(rc));
    goto fail;
  }
  p->process = pi.hProcess;
  p->job = job;
  p->port = port;
  p->exit_cb = exit_cb;
  p->data = data;
  if (!RegisterWaitForSingleObject(&p->wait, p->process, exit_wait_cb, p,
                                   INFINITE, WT_EXECUTEONLYONCE)) {
    rc = (int)GetLastError();
    TerminateJobObject(job, KILL_EXIT_CODE);
    CloseHandle(pi.hThread);
    p->wait = NULL;
    p->reaped = 1;
    capsid__proc_close(p, NULL, NULL);
    return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_WAIT, rc, NULL,
                             NULL, "cannot watch the process");
  }
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  /* What ran: the restricted token, or nothing verified (test build). */
  *mode_out = overridden ? CAPSID_MODE_NONE : CAPSID_MODE_UNPRIVILEGED;
  *out = p;
  return 0;

fail:
  if (port != NULL)
    CloseHandle(port);
  if (job != NULL)
    CloseHandle(job);
  return rc;
}


int capsid__proc_kill(capsid__proc_t* p) {
  /* Every process of the tree is in the job object. */
  if (!p->reaped)
    p->killed = 1;
  if (!TerminateJobObject(p->job, KILL_EXIT_CODE))
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
  if (p->port != NULL)
    CloseHandle(p->port);
  p->close_cb = close_cb;
  p->close_data = data;
  uv_close((uv_handle_t*)&p->async, proc_closed);
}
