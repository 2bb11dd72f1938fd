/* Starting an elevated job: capsid's side of the runner (runner-win.c).
 *
 *   named pipe (DACL: the sandbox user only, one instance, local only)
 *   -> CreateProcessWithLogonW(sandbox user, LOGON_WITH_PROFILE,
 *      capsid-runner.exe <pipe>, suspended)
 *   -> the runner into the job object, checked; the job's stdio handles
 *      duplicated into it; resumed
 *   -> connect (the client must be the runner's pid) -> request -> answer.
 *
 * CreateProcessWithLogonW needs no privilege, only the password (DPAPI,
 * users-win.c): capsid runs as the real user. The secondary logon service
 * puts the runner in a job of its own; nested jobs (Windows 8+) let capsid
 * add it to the job's object as well.
 *
 * This waits on the loop thread for the logon and the runner's answer
 * (bounded by CAPSID__WIRE_TIMEOUT_MS), as the Linux launcher waits for
 * its child's exec. */
#include "runner-win.h"
#include "runner-wire-win.h"
#include "users-win.h"
#include "verify-win.h"
#include "win-util.h"

#include <bcrypt.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

/* "<dir of the running program>\capsid-runner.exe" (capsid__free it). */
static WCHAR* runner_path(void) {
  WCHAR self[MAX_PATH + 1];
  DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
  WCHAR* out;
  size_t dir, len;

  if (n == 0 || n >= MAX_PATH)
    return NULL;
  self[n] = 0;
  for (dir = n; dir > 0 && self[dir - 1] != L'\\' && self[dir - 1] != L'/';)
    dir--;
  len = dir + wcslen(CAPSID__RUNNER_EXE);
  out = capsid__malloc((len + 1) * sizeof(WCHAR));
  if (out == NULL)
    return NULL;
  memcpy(out, self, dir * sizeof(WCHAR));
  memcpy(out + dir, CAPSID__RUNNER_EXE,
         (wcslen(CAPSID__RUNNER_EXE) + 1) * sizeof(WCHAR));
  return out;
}


int capsid__runner_exists(void) {
  WCHAR* app = runner_path();
  int ok = app != NULL && GetFileAttributesW(app) != INVALID_FILE_ATTRIBUTES;

  capsid__free(app);
  return ok;
}


/* A pipe with a random name that only sid may open, at most once. */
static HANDLE pipe_create(const char* sid, char name[96],
                          capsid_error_t* err) {
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd = NULL;
  unsigned char r[16];
  char sddl[CAPSID__SID_MAX + 32];
  WCHAR* wname;
  HANDLE h = INVALID_HANDLE_VALUE;
  DWORD e = 0;
  size_t i, n;

  if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, r, sizeof(r),
                                      BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
    capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_SPAWN, 0, NULL, NULL,
                      "no random pipe name");
    return INVALID_HANDLE_VALUE;
  }
  n = (size_t)snprintf(name, 96, "%s", CAPSID__RUNNER_PIPE);
  for (i = 0; i < sizeof(r); i++)
    n += (size_t)snprintf(name + n, 96 - n, "%02x", r[i]);
  /* Protected (no inherited ACEs), read and write for the runner's user
   * only: another process of another user cannot take the pipe first. */
  snprintf(sddl, sizeof(sddl), "D:P(A;;GRGW;;;%s)", sid);
  wname = capsid__utf16(name);
  if (wname != NULL &&
      ConvertStringSecurityDescriptorToSecurityDescriptorA(
          sddl, SDDL_REVISION_1, &sd, NULL)) {
    sa.nLength = sizeof(sa);
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    h = CreateNamedPipeW(wname,
                         PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                             FILE_FLAG_FIRST_PIPE_INSTANCE,
                         PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                             PIPE_REJECT_REMOTE_CLIENTS,
                         1, 65536, 65536, 0, &sa);
  }
  e = GetLastError();
  LocalFree(sd);
  capsid__free(wname);
  if (h == INVALID_HANDLE_VALUE)
    capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_SPAWN, (int)e, NULL,
                      NULL, "cannot create the runner's pipe");
  return h;
}


static int request_build(const capsid__runner_req_t* rq, const char* sid,
                         const HANDLE remote[3], capsid__buf_t* b) {
  const capsid__spawn_t* s = rq->spawn;
  uint32_t flags = capsid__win_test_mode() ? CAPSID__WIRE_UNVERIFIED_OK : 0;
  int rc;
  size_t i;

  if (rq->token->variant == CAPSID__TOKEN_STRICT)
    flags |= CAPSID__WIRE_STRICT_TOKEN;
  rc = capsid__wire_u32(b, CAPSID__WIRE_VERSION);
  rc |= capsid__wire_u32(b, flags);
  rc |= capsid__wire_bytes(b, s->app, (wcslen(s->app) + 1) * sizeof(WCHAR));
  rc |= capsid__wire_bytes(b, s->cmdline,
                           (wcslen(s->cmdline) + 1) * sizeof(WCHAR));
  rc |= capsid__wire_bytes(b, s->cwd, (wcslen(s->cwd) + 1) * sizeof(WCHAR));
  rc |= capsid__wire_bytes(b, s->env, capsid__env_block_size(s->env));
  rc |= capsid__wire_str(b, sid);
  rc |= capsid__wire_u32(b, (uint32_t)rq->token->n);
  for (i = 0; i < rq->token->n; i++)
    rc |= capsid__wire_str(b, rq->token->sids[i]);
  rc |= capsid__wire_str(b, s->path);
  rc |= capsid__wire_str(b, s->cwd8);
  /* Handle values fit in 32 bits on 64-bit Windows (documented for
   * 32/64-bit interop). */
  for (i = 0; i < 3; i++)
    rc |= capsid__wire_u32(b, (uint32_t)(uintptr_t)remote[i]);
  return rc;
}


/* The runner's answer into err (and *overridden); 0 when it started the
 * job. */
static int answer_read(const capsid__buf_t* frame, const char* user,
                       int* overridden, capsid_error_t* err) {
  capsid__wire_rd_t r = {(const uint8_t*)frame->data, frame->len, 0};
  int code, stage, os_error;
  char *path, *field, *msg;

  if (capsid__wire_get_u32(&r) != CAPSID__WIRE_VERSION)
    r.bad = 1;
  code = (int)capsid__wire_get_u32(&r);
  stage = (int)capsid__wire_get_u32(&r);
  os_error = (int)capsid__wire_get_u32(&r);
  (void)capsid__wire_get_u32(&r); /* the job's pid: not needed yet */
  *overridden = capsid__wire_get_u32(&r) != 0;
  path = capsid__wire_get_str(&r);
  field = capsid__wire_get_str(&r);
  msg = capsid__wire_get_str(&r);
  if (r.bad)
    code = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, "the runner's answer is malformed");
  else if (code > 0 || code < CAPSID_EUNKNOWN)
    code = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, "the runner answered error %d", code);
  else if (code != 0)
    capsid__error_set(err, code, stage, os_error, path, field,
                      "runner (as %s): %s", user,
                      msg ? msg : capsid_strerror(code));
  capsid__free(path);
  capsid__free(field);
  capsid__free(msg);
  return code;
}


/* Starts the runner suspended, as the sandbox user or, in the Wine test
 * build, as the caller (Wine cannot log a user on). */
static int runner_create(const char* user, int offline, WCHAR* cmdline,
                         PROCESS_INFORMATION* pi, capsid_error_t* err) {
  STARTUPINFOW si;
  WCHAR* wuser = capsid__utf16(user);
  WCHAR* app = runner_path();
  WCHAR* password = NULL;
  WCHAR sysdir[MAX_PATH + 1];
  DWORD e;
  BOOL ok;
  int rc = 0;

  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if (wuser == NULL || app == NULL ||
      GetSystemDirectoryW(sysdir, MAX_PATH) == 0) {
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, 0, NULL,
                           NULL, NULL);
  } else if (GetFileAttributesW(app) == INVALID_FILE_ATTRIBUTES) {
    char* a8 = capsid__utf8(app);
    rc = capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_SPAWN,
                           (int)GetLastError(), a8, NULL,
                           "elevated mode needs capsid-runner.exe next to "
                           "the program that runs capsid");
    capsid__free(a8);
  } else if (capsid__win_test_mode()) {
    ok = CreateProcessW(app, cmdline, NULL, NULL, FALSE,
                        CREATE_SUSPENDED | CREATE_NO_WINDOW |
                            CREATE_UNICODE_ENVIRONMENT,
                        NULL, sysdir, &si, pi);
    if (!ok)
      rc = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN,
                             (int)GetLastError(), NULL, NULL,
                             "cannot start the runner");
  } else if ((rc = capsid__users_password(offline, &password, err)) == 0) {
    /* A NULL environment: the runner gets the sandbox user's profile
     * variables; the job's own environment travels in the request. A
     * NULL desktop lets the logon service grant the user the caller's
     * window station and desktop, which the job uses. No stdio handles:
     * the job's are put into the runner with DuplicateHandle below, which
     * does not depend on what the logon service passes on. */
    ok = CreateProcessWithLogonW(wuser, L".", password, LOGON_WITH_PROFILE,
                                 app, cmdline,
                                 CREATE_SUSPENDED | CREATE_NO_WINDOW |
                                     CREATE_UNICODE_ENVIRONMENT,
                                 NULL, sysdir, &si, pi);
    e = GetLastError();
    SecureZeroMemory(password, wcslen(password) * sizeof(WCHAR));
    capsid__free(password);
    if (!ok && (e == ERROR_LOGON_FAILURE || e == ERROR_ACCOUNT_DISABLED ||
                e == ERROR_PASSWORD_EXPIRED))
      rc = capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY,
                             (int)e, NULL, NULL,
                             "%s cannot log on: run `capsid setup` again",
                             user);
    else if (!ok)
      rc = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_IDENTITY,
                             (int)e, NULL, NULL,
                             "CreateProcessWithLogonW as %s failed", user);
  }
  capsid__free(wuser);
  capsid__free(app);
  return rc;
}


/* Copies the job's stdio handles into the (suspended) runner; their
 * values there go in the request. They die with the runner. */
static int stdio_give(HANDLE stdio[3], HANDLE runner, HANDLE remote[3],
                      capsid_error_t* err) {
  int i;

  for (i = 0; i < 3; i++)
    if (!DuplicateHandle(GetCurrentProcess(), stdio[i], runner, &remote[i],
                         0, FALSE, DUPLICATE_SAME_ACCESS))
      return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_PIPE,
                               (int)GetLastError(), NULL, NULL,
                               "cannot pass stdio handle %d to the runner",
                               i);
  return 0;
}


/* Connects the runner and checks that the client is the runner. */
static int runner_connect(HANDLE pipe, const PROCESS_INFORMATION* pi,
                          capsid_error_t* err) {
  OVERLAPPED ov;
  ULONG client = 0;
  int rc = 0;

  memset(&ov, 0, sizeof(ov));
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (ov.hEvent == NULL)
    return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_SPAWN,
                             (int)GetLastError(), NULL, NULL, NULL);
  if (!ConnectNamedPipe(pipe, &ov)) {
    DWORD e = GetLastError();
    if (e == ERROR_IO_PENDING)
      rc = capsid__wire_wait(pipe, &ov, pi->hProcess,
                             CAPSID__WIRE_TIMEOUT_MS);
    else if (e != ERROR_PIPE_CONNECTED)
      rc = CAPSID_EIO;
  }
  CloseHandle(ov.hEvent);
  if (rc != 0)
    return capsid__error_set(err, rc == CAPSID_ETIMEDOUT ? rc : CAPSID_ESPAWN,
                             CAPSID_STAGE_SPAWN, 0, NULL, NULL,
                             rc == CAPSID_ETIMEDOUT
                                 ? "the runner did not connect in time"
                                 : "the runner ended before connecting");
  if (!GetNamedPipeClientProcessId(pipe, &client) ||
      client != pi->dwProcessId)
    return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_SPAWN, 0,
                             NULL, NULL, "the runner's pipe was opened by "
                             "process %lu, not by the runner (%lu)",
                             (unsigned long)client,
                             (unsigned long)pi->dwProcessId);
  return 0;
}


int capsid__runner_start(const capsid__runner_req_t* rq, HANDLE stdio[3],
                         HANDLE job, PROCESS_INFORMATION* pi,
                         int* overridden, capsid_error_t* err) {
  const char* user = capsid__sandbox_user_names[rq->offline ? 0 : 1];
  char sid[CAPSID__SID_MAX], name[96];
  capsid__buf_t req = {0}, ans = {0};
  HANDLE pipe = INVALID_HANDLE_VALUE, remote[3] = {NULL, NULL, NULL};
  WCHAR* cmdline = NULL;
  BOOL in_job = FALSE;
  int rc;

  memset(pi, 0, sizeof(*pi));
  *overridden = 0;
  /* The runner must come up as this SID; the pipe admits only it. */
  rc = capsid__win_test_mode() ? capsid__token_user_sid(NULL, sid)
                               : capsid__account_sid(user, sid);
  if (rc != 0)
    return capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY, 0,
                             NULL, NULL, "no sandbox user %s: run `capsid "
                             "setup` as an administrator", user);
  pipe = pipe_create(sid, name, err);
  if (pipe == INVALID_HANDLE_VALUE)
    return err->code;
  {
    char* c8 = capsid__sprintf("capsid-runner.exe %s", name);
    cmdline = c8 ? capsid__utf16(c8) : NULL;
    capsid__free(c8);
  }
  rc = cmdline == NULL ? capsid__error_set(err, CAPSID_ENOMEM,
                                           CAPSID_STAGE_SPAWN, 0, NULL, NULL,
                                           NULL)
                       : runner_create(user, rq->offline, cmdline, pi, err);
  capsid__free(cmdline);
  if (rc != 0)
    goto out;
  /* The runner, and through it the job's process, inside the job object
   * before either runs an instruction. */
  if (!AssignProcessToJobObject(job, pi->hProcess) ||
      !IsProcessInJob(pi->hProcess, job, &in_job) || !in_job) {
    rc = capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                           (int)GetLastError(), NULL, NULL,
                           "the runner could not be put in the job object");
    goto out;
  }
  rc = stdio_give(stdio, pi->hProcess, remote, err);
  if (rc != 0)
    goto out;
  ResumeThread(pi->hThread);
  rc = runner_connect(pipe, pi, err);
  if (rc == 0 && (request_build(rq, sid, remote, &req) != 0 ||
                  capsid__wire_send(pipe, &req, pi->hProcess,
                                    CAPSID__WIRE_TIMEOUT_MS) != 0 ||
                  capsid__wire_recv(pipe, &ans, pi->hProcess,
                                    CAPSID__WIRE_TIMEOUT_MS) != 0))
    rc = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN, 0, NULL,
                           NULL, "no answer from the runner (as %s)", user);
  if (rc == 0)
    rc = answer_read(&ans, user, overridden, err);

out:
  capsid__buf_free(&req);
  capsid__buf_free(&ans);
  CloseHandle(pipe);
  if (pi->hThread != NULL)
    CloseHandle(pi->hThread);
  pi->hThread = NULL;
  if (rc != 0 && pi->hProcess != NULL) {
    TerminateProcess(pi->hProcess, CAPSID__KILL_EXIT_CODE);
    CloseHandle(pi->hProcess);
    memset(pi, 0, sizeof(*pi));
  }
  return rc;
}
