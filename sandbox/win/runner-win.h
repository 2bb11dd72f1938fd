/* Elevated jobs: the runner, a small program started as the sandbox user
 * that makes the job's restricted token from its own token and creates the
 * job's process (capsid's side: runner-client-win.c; the runner's:
 * runner-win.c; their frames: runner-wire-win.h). */
#ifndef CAPSID_RUNNER_WIN_H
#define CAPSID_RUNNER_WIN_H

#include "spawn-win.h"
#include "token-win.h"

/* The runner executable, next to the program that runs capsid. */
#define CAPSID__RUNNER_EXE L"capsid-runner.exe"
/* Its named pipe's prefix; the runner opens nothing else. */
#define CAPSID__RUNNER_PIPE "\\\\.\\pipe\\capsid-runner-"

typedef struct capsid__runner_req_s {
  const capsid__spawn_t* spawn;
  const capsid__token_plan_t* token;
  int offline;                       /* which sandbox user */
} capsid__runner_req_t;

/* Starts the runner as the sandbox user (CreateProcessWithLogonW) inside
 * job with the job's stdio, hands it the request over a named pipe only
 * that user may open, and waits for its answer: the runner builds the
 * restricted token from its own token, verifies it and creates the job's
 * process. On success *pi is the runner (its exit code is the job's;
 * hThread already closed) and *overridden says whether a verification
 * failed and was let through (Wine test build only). On failure the
 * runner is killed and err holds the runner's error. */
int capsid__runner_start(const capsid__runner_req_t* rq, HANDLE stdio[3],
                         HANDLE job, PROCESS_INFORMATION* pi,
                         int* overridden, capsid_error_t* err);
/* 1 when capsid-runner.exe is next to the running program. */
int capsid__runner_exists(void);
/* The runner's side; argv[1] is the pipe. Returns its exit code: the
 * job's, or 125 when the job could not be started. */
int capsid__runner_main(int argc, char** argv);

#endif
