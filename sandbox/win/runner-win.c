/* The runner: capsid-runner.exe, started by capsid as a sandbox user
 * (runner-client-win.c). It exists because only a process already
 * running as that user can make a restricted token of the user that
 * CreateProcessAsUserW accepts without SeAssignPrimaryTokenPrivilege (a
 * token derived from the caller's own is "assignable"); capsid itself
 * runs as the real user and holds no such privilege.
 *
 * It reads one request from its pipe, checks it runs as the user capsid
 * meant, builds and verifies the restricted token (token-win.c), creates
 * the job's process with the job's stdio (pipes capsid duplicated into
 * this process; their values come in the request) and answers with the
 * process id or the error. Then it waits for the process and exits with
 * its exit code. Both live in the job
 * object capsid put the runner in, so a kill or timeout ends both. */
#include "runner-win.h"
#include "runner-wire-win.h"
#include "verify-win.h"

#include <string.h>

/* The runner could not start the job: the same code capsid's own
 * refusals exit with. */
#define RUNNER_FAILED 125

typedef struct request_s {
  uint32_t flags;
  capsid__spawn_t spawn;         /* pointers into the frame */
  char* user_sid;                /* NULL: do not check (test build) */
  capsid__token_plan_t token;
  char* path;
  char* cwd8;
  HANDLE stdio[3];               /* put into this process by capsid */
} request_t;


static void request_free(request_t* rq) {
  capsid__free(rq->user_sid);
  capsid__free(rq->path);
  capsid__free(rq->cwd8);
}


static int request_parse(const capsid__buf_t* frame, request_t* rq) {
  capsid__wire_rd_t r = {(const uint8_t*)frame->data, frame->len, 0};
  uint32_t i, n;
  char* sid;

  memset(rq, 0, sizeof(*rq));
  if (capsid__wire_get_u32(&r) != CAPSID__WIRE_VERSION)
    return -1;
  rq->flags = capsid__wire_get_u32(&r);
  rq->spawn.app = (WCHAR*)capsid__wire_get_wstr(&r, 0);
  rq->spawn.cmdline = (WCHAR*)capsid__wire_get_wstr(&r, 0);
  rq->spawn.cwd = (WCHAR*)capsid__wire_get_wstr(&r, 0);
  rq->spawn.env = (WCHAR*)capsid__wire_get_wstr(&r, 1);
  rq->user_sid = capsid__wire_get_str(&r);
  n = capsid__wire_get_u32(&r);
  if (r.bad || n == 0 || n > CAPSID__MAX_RESTRICT)
    return -1;
  for (i = 0; i < n; i++) {
    sid = capsid__wire_get_str(&r);
    if (sid == NULL || strlen(sid) >= CAPSID__SID_MAX) {
      capsid__free(sid);
      return -1;
    }
    memcpy(rq->token.sids[i], sid, strlen(sid) + 1);
    capsid__free(sid);
  }
  rq->token.n = n;
  rq->token.variant = (rq->flags & CAPSID__WIRE_STRICT_TOKEN)
                          ? CAPSID__TOKEN_STRICT
                          : CAPSID__TOKEN_DEFAULT;
  rq->path = capsid__wire_get_str(&r);
  rq->cwd8 = capsid__wire_get_str(&r);
  rq->spawn.path = rq->path;
  rq->spawn.cwd8 = rq->cwd8;
  for (i = 0; i < 3; i++)
    rq->stdio[i] = (HANDLE)(uintptr_t)capsid__wire_get_u32(&r);
  return r.bad || r.left != 0 ? -1 : 0;
}


static int answer(HANDLE pipe, const capsid_error_t* err, DWORD pid,
                  int overridden) {
  capsid__buf_t b = {0};
  int rc;

  rc = capsid__wire_u32(&b, CAPSID__WIRE_VERSION);
  rc |= capsid__wire_u32(&b, (uint32_t)err->code);
  rc |= capsid__wire_u32(&b, (uint32_t)err->stage);
  rc |= capsid__wire_u32(&b, (uint32_t)err->os_error);
  rc |= capsid__wire_u32(&b, pid);
  rc |= capsid__wire_u32(&b, (uint32_t)overridden);
  rc |= capsid__wire_str(&b, err->path);
  rc |= capsid__wire_str(&b, err->field);
  rc |= capsid__wire_str(&b, err->message);
  if (rc == 0)
    rc = capsid__wire_send(pipe, &b, NULL, CAPSID__WIRE_TIMEOUT_MS);
  capsid__buf_free(&b);
  return rc;
}


/* Everything between the request and the answer. */
static int start_job(const request_t* rq, PROCESS_INFORMATION* pi,
                     int* overridden, capsid_error_t* err) {
  char self[CAPSID__SID_MAX];
  HANDLE token = NULL, stdio[3] = {NULL, NULL, NULL};
  int rc = 0, i;

  /* Fail closed if the logon did not make this process the sandbox user
   * capsid asked for: the restricted token below is derived from it. */
  if (capsid__token_user_sid(NULL, self) != 0)
    rc = capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_IDENTITY,
                           (int)GetLastError(), NULL, NULL,
                           "the runner cannot read its own user");
  else if (rq->user_sid == NULL || _stricmp(self, rq->user_sid) != 0)
    rc = capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_IDENTITY, 0,
                           NULL, NULL, "the runner runs as %s, not as the "
                           "sandbox user %s", self,
                           rq->user_sid ? rq->user_sid : "(none named)");
  rc = capsid__verify_checked(rc, err, overridden);
  if (rc == 0)
    rc = capsid__token_create(&rq->token, &token, err);
  if (rc == 0)
    rc = capsid__verify_checked(capsid__token_verify(token, &rq->token, err),
                                err, overridden);
  for (i = 0; i < 3 && rc == 0; i++)
    if ((stdio[i] = capsid__inheritable(rq->stdio[i])) == NULL)
      rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_PIPE,
                             (int)GetLastError(), NULL, NULL,
                             "the runner did not get stdio handle %d", i);
  if (rc == 0)
    rc = capsid__create_process(token, &rq->spawn, stdio, NULL, pi, err);
  for (i = 0; i < 3; i++)
    if (stdio[i] != NULL)
      CloseHandle(stdio[i]);
  if (token != NULL)
    CloseHandle(token);
  return rc;
}


int capsid__runner_main(int argc, char** argv) {
  PROCESS_INFORMATION pi;
  capsid_error_t err;
  capsid__buf_t frame = {0};
  request_t rq;
  HANDLE pipe;
  DWORD code = RUNNER_FAILED;
  int overridden = 0, rc, i;

  memset(&err, 0, sizeof(err));
  memset(&pi, 0, sizeof(pi));
  /* Open nothing but a runner pipe: the name comes from the command
   * line, which whoever starts this program controls. */
  if (argc != 2 || strncmp(argv[1], CAPSID__RUNNER_PIPE,
                           strlen(CAPSID__RUNNER_PIPE)) != 0)
    return RUNNER_FAILED;
  pipe = CreateFileA(argv[1], GENERIC_READ | GENERIC_WRITE, 0, NULL,
                     OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
  if (pipe == INVALID_HANDLE_VALUE)
    return RUNNER_FAILED;
  rc = capsid__wire_recv(pipe, &frame, NULL, CAPSID__WIRE_TIMEOUT_MS);
  if (rc == 0 && request_parse(&frame, &rq) != 0) {
    request_free(&rq);
    rc = CAPSID_EINVAL;
  }
  if (rc != 0) {
    capsid__error_set(&err, rc, CAPSID_STAGE_SPAWN, 0, NULL, NULL,
                      "the runner got no valid request");
  } else {
    capsid__win_test_set_unverified(
        (rq.flags & CAPSID__WIRE_UNVERIFIED_OK) != 0);
    rc = start_job(&rq, &pi, &overridden, &err);
    /* The job's process has its own copies now; the runner must not keep
     * the pipes open past it (the output would not reach EOF). */
    for (i = 0; i < 3; i++)
      if (rq.stdio[i] != NULL)
        CloseHandle(rq.stdio[i]);
    request_free(&rq);
  }
  capsid__buf_free(&frame);
  /* The answer goes before the job runs: capsid learns that it started
   * (and its pid) or why not. If capsid is gone, so is the job. */
  if (answer(pipe, &err, pi.dwProcessId, overridden) != 0 && rc == 0) {
    TerminateProcess(pi.hProcess, CAPSID__KILL_EXIT_CODE);
    rc = CAPSID_EIO;
  }
  CloseHandle(pipe);
  capsid__error_free(&err);
  if (rc != 0) {
    if (pi.hProcess != NULL) {
      CloseHandle(pi.hThread);
      CloseHandle(pi.hProcess);
    }
    return RUNNER_FAILED;
  }
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  WaitForSingleObject(pi.hProcess, INFINITE);
  if (!GetExitCodeProcess(pi.hProcess, &code))
    code = RUNNER_FAILED;
  CloseHandle(pi.hProcess);
  return (int)code;
}
