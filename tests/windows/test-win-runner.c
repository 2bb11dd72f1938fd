/* Elevated jobs' plumbing: capsid -> capsid-runner.exe over its named
 * pipe -> the job's process, under Wine.
 *
 * Wine cannot log a user on (CreateProcessWithLogonW fails there), so the
 * test build starts the runner as the calling user, and lets the
 * verifications Wine cannot pass through (capsid__win_test_unverified_ok;
 * results then say mode "none"). What this proves: the request reaches the
 * runner intact (argv, env, cwd), its answer comes back, output flows
 * through the runner's inherited stdio, exit codes are relayed, a timeout
 * kills the runner and the job's whole tree, nothing leaks, and the runner
 * refuses (fail closed) when it is not the user capsid named or gets a
 * malformed request. That the job really runs as the sandbox user, with
 * the restricted token, is checked by tests/windows/windows-smoke.ps1 on
 * a real Windows after `capsid setup`. */
#include "wintest-util.h"

#include "path.h"
#include "runner-win.h"
#include "token-win.h"
#include "verify-win.h"
#include "runner-wire-win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs argv in elevated mode through the runner; on this Wine build the
 * runner is the caller and its checks are overridden, and the result
 * says so. */
static void run(const char* const* argv, capsid_job_spec_t* spec,
                capsid_result_t* r) {
  int before = capsid__win_test_overridden;

  if (wt_enforcing())
    skip(); /* real Windows: windows-smoke.ps1 runs elevated jobs there */
  spec->argv = argv;
  if (spec->cwd == NULL)
    spec->cwd = wt_ws;
  spec->network = -1;
  spec->mode = CAPSID_MODE_ELEVATED;
  assert_int_equal(capsid_run_capture(spec, r), 0);
  if (r->error.code != 0)
    print_message("job error: %s\n",
                  r->error.message ? r->error.message : "(none)");
  assert_int_equal(r->error.code, 0);
  assert_int_equal(r->mode, CAPSID_MODE_NONE);
  /* The runner's own overrides are reported back, not only capsid's. */
  assert_true(capsid__win_test_overridden > before);
}


static void test_output_and_exit_codes(void** state) {
  const char* echo[] = {wt_child(), "echo", "through the runner", NULL};
  const char* err[] = {wt_child(), "err", "runner err", NULL};
  const char* cat[] = {wt_child(), "cat", NULL};
  const char* seven[] = {wt_child(), "exit", "7", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(echo, &spec, &r);
  assert_int_equal(r.exit_code, 0);
  assert_string_equal(r.out.data, "through the runner\n");
  capsid_result_free(&r);
  run(err, &spec, &r);
  assert_non_null(strstr(r.err.data, "runner err"));
  assert_int_equal(r.out.len, 0);
  capsid_result_free(&r);
  spec.stdin_data = "in\nput\n";
  spec.stdin_len = strlen(spec.stdin_data);
  run(cat, &spec, &r);
  assert_string_equal(r.out.data, "in\nput\n");
  capsid_result_free(&r);
  spec.stdin_data = NULL;
  spec.stdin_len = 0;
  run(seven, &spec, &r);
  assert_int_equal(r.exit_code, 7);
  assert_int_equal(r.signal, 0);
  capsid_result_free(&r);
}


/* The request carries argv (quoting intact), the job's environment and
 * its cwd; the runner's own (profile) environment does not leak in. */
static void test_request_intact(void** state) {
  const char* args[] = {wt_child(), "args", "two words", "q\"uote",
                        "trail\\", NULL};
  const char* env_argv[] = {wt_child(), "env", "CAPSID_RUNNER_PROBE", NULL};
  const char* cwd_argv[] = {wt_child(), "cwd", NULL};
  const char* envp[] = {"CAPSID_RUNNER_PROBE=from the request", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  char* want;
  size_t i;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(args, &spec, &r);
  assert_string_equal(r.out.data, "[two words]\n[q\"uote]\n[trail\\]\n");
  capsid_result_free(&r);
  spec.env = envp;
  run(env_argv, &spec, &r);
  assert_string_equal(r.out.data, "from the request\n");
  capsid_result_free(&r);
  run(cwd_argv, &spec, &r);
  want = capsid__sprintf("%s\n", wt_ws);
  for (i = 0; want[i] != '\0'; i++)
    if (want[i] == '/')
      want[i] = '\\';
  for (i = 0; r.out.data[i] != '\0'; i++)
    if (r.out.data[i] == '/')
      r.out.data[i] = '\\';
  assert_int_equal(_stricmp(r.out.data, want), 0);
  capsid__free(want);
  capsid_result_free(&r);
}


/* A timeout ends the runner, the job's process and its children: all of
 * them are in the job object. */
static void test_timeout_kills_runner_and_tree(void** state) {
  char* pidfile = capsid__sprintf("%s/grandchild.pid", wt_ws);
  const char* tree[] = {wt_child(), "tree", pidfile, NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.timeout_ms = 2000;
  spec.max_processes = 3; /* the runner counts as one of the job's */
  run(tree, &spec, &r);
  wt_expect_tree_killed(&r, pidfile);
  capsid_result_free(&r);
  capsid__free(pidfile);
}


/* Failures inside the runner come back as the job's error, with the
 * runner's stage, and say that the runner reported them: a program that
 * exists but is no executable is only found out by CreateProcessAsUserW,
 * which the runner calls. */
static void test_runner_error_reported(void** state) {
  char* bogus = capsid__sprintf("%s/not-a-program.exe", wt_ws);
  const char* argv[] = {bogus, NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  FILE* f;

  (void)state;
  if (wt_enforcing())
    skip();
  f = fopen(bogus, "wb");
  assert_non_null(f);
  fputs("this is text, not a PE image\n", f);
  fclose(f);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = wt_ws;
  spec.network = -1;
  spec.mode = CAPSID_MODE_ELEVATED;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_ENOEXEC);
  assert_int_equal(r.error.stage, CAPSID_STAGE_EXEC);
  assert_non_null(r.error.message);
  assert_non_null(strstr(r.error.message, "runner (as "));
  assert_int_equal(r.out.len, 0);
  capsid_result_free(&r);
  capsid__free(bogus);
}


/* The pipe, the runner's process and thread handles, the stdio copies:
 * all closed again after each job. */
static void test_no_handle_leak(void** state) {
  (void)state;
  wt_expect_no_handle_leak(run, 20, 0);
}


/* ---- the runner on its own: a hand-made request over a real pipe ---- */

static char* runner_exe(void) {
  return wt_beside("capsid-runner.exe");
}


/* Starts the runner on a fresh pipe; returns the pipe (connected). */
static HANDLE runner_launch(PROCESS_INFORMATION* pi) {
  char name[96], *exe = runner_exe(), *cmd;
  STARTUPINFOA si;
  HANDLE pipe;

  snprintf(name, sizeof(name), "%stest-%lu-%lu", CAPSID__RUNNER_PIPE,
           (unsigned long)GetCurrentProcessId(),
           (unsigned long)GetTickCount());
  pipe = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                          PIPE_TYPE_BYTE | PIPE_WAIT, 1, 65536, 65536, 0,
                          NULL);
  assert_true(pipe != INVALID_HANDLE_VALUE);
  cmd = capsid__sprintf("\"%s\" %s", exe, name);
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  assert_true(CreateProcessA(exe, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW,
                             NULL, NULL, &si, pi));
  CloseHandle(pi->hThread);
  {
    OVERLAPPED ov;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ConnectNamedPipe(pipe, &ov) && GetLastError() == ERROR_IO_PENDING)
      assert_int_equal(capsid__wire_wait(pipe, &ov, pi->hProcess, 15000), 0);
    CloseHandle(ov.hEvent);
  }
  capsid__free(cmd);
  capsid__free(exe);
  return pipe;
}


static DWORD runner_exit(PROCESS_INFORMATION* pi) {
  DWORD code = 0;

  assert_int_equal(WaitForSingleObject(pi->hProcess, 15000), WAIT_OBJECT_0);
  assert_true(GetExitCodeProcess(pi->hProcess, &code));
  CloseHandle(pi->hProcess);
  return code;
}


static void put_wstr(capsid__buf_t* b, const WCHAR* w, int block) {
  size_t n = (wcslen(w) + 1 + (block ? 1 : 0)) * sizeof(WCHAR);
  assert_int_equal(capsid__wire_bytes(b, w, n), 0);
}


/* A well-formed request whose user SID is user_sid and flags are flags. */
static void request(capsid__buf_t* b, const char* user_sid, uint32_t flags) {
  char sid[CAPSID__SID_MAX];

  assert_int_equal(wt_random_sid(sid), 0);
  assert_int_equal(capsid__wire_u32(b, CAPSID__WIRE_VERSION), 0);
  assert_int_equal(capsid__wire_u32(b, flags), 0);
  put_wstr(b, L"C:\\windows\\system32\\cmd.exe", 0);
  put_wstr(b, L"cmd.exe /c exit 0", 0);
  put_wstr(b, L"C:\\", 0);
  put_wstr(b, L"A=1\0", 1); /* two NULs: an environment block */
  assert_int_equal(capsid__wire_str(b, user_sid), 0);
  assert_int_equal(capsid__wire_u32(b, 1), 0);
  assert_int_equal(capsid__wire_str(b, sid), 0);
  assert_int_equal(capsid__wire_str(b, "cmd.exe"), 0);
  assert_int_equal(capsid__wire_str(b, "C:/"), 0);
  /* stdio handle values in the runner: none (it refuses before using
   * them) */
  assert_int_equal(capsid__wire_u32(b, 0), 0);
  assert_int_equal(capsid__wire_u32(b, 0), 0);
  assert_int_equal(capsid__wire_u32(b, 0), 0);
}


/* Sends b, reads the answer's code, stage and message. */
static int exchange(const capsid__buf_t* b, int* stage, char** msg) {
  PROCESS_INFORMATION pi;
  HANDLE pipe = runner_launch(&pi);
  capsid__buf_t ans = {0};
  capsid__wire_rd_t r;
  int code;

  assert_int_equal(capsid__wire_send(pipe, b, pi.hProcess, 15000), 0);
  assert_int_equal(capsid__wire_recv(pipe, &ans, pi.hProcess, 15000), 0);
  r.p = (const uint8_t*)ans.data;
  r.left = ans.len;
  r.bad = 0;
  assert_int_equal(capsid__wire_get_u32(&r), CAPSID__WIRE_VERSION);
  code = (int)capsid__wire_get_u32(&r);
  *stage = (int)capsid__wire_get_u32(&r);
  (void)capsid__wire_get_u32(&r); /* os error */
  (void)capsid__wire_get_u32(&r); /* pid */
  (void)capsid__wire_get_u32(&r); /* overridden */
  capsid__free(capsid__wire_get_str(&r));
  capsid__free(capsid__wire_get_str(&r));
  *msg = capsid__wire_get_str(&r);
  assert_false(r.bad);
  capsid__buf_free(&ans);
  CloseHandle(pipe);
  /* Refused: the runner exits 125 and starts nothing. */
  assert_int_equal(runner_exit(&pi), 125);
  return code;
}


/* Fail closed: a runner that is not the user capsid named starts
 * nothing, and says which user it is. (Without the test flag: this is the
 * check a real run makes.) */
static void test_runner_refuses_wrong_user(void** state) {
  capsid__buf_t b = {0};
  char* msg = NULL;
  int stage = 0;

  (void)state;
  request(&b, "S-1-5-21-1-2-3-4242", 0);
  assert_int_equal(exchange(&b, &stage, &msg), CAPSID_EVERIFY);
  assert_int_equal(stage, CAPSID_STAGE_IDENTITY);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "S-1-5-21-1-2-3-4242"));
  capsid__free(msg);
  capsid__buf_free(&b);
}


/* The right user, but a token Wine does not restrict: refused, naming the
 * restricting SID that did not take. On a real Windows the same request
 * passes this check (and the job runs). */
static void test_runner_verifies_token(void** state) {
  char self[CAPSID__SID_MAX];
  capsid__buf_t b = {0};
  char* msg = NULL;
  int stage = 0, code;

  (void)state;
  if (wt_enforcing())
    skip();
  assert_int_equal(capsid__token_user_sid(NULL, self), 0);
  request(&b, self, 0);
  code = exchange(&b, &stage, &msg);
  assert_int_equal(code, CAPSID_EVERIFY);
  assert_int_equal(stage, CAPSID_STAGE_VERIFY);
  assert_non_null(msg);
  print_message("runner refused: %s\n", msg);
  capsid__free(msg);
  capsid__buf_free(&b);
}


/* Truncated or garbled requests are refused, not half-read. */
static void test_runner_refuses_bad_request(void** state) {
  capsid__buf_t good = {0}, bad = {0};
  char* msg = NULL;
  int stage = 0;
  size_t cut;

  (void)state;
  request(&good, "S-1-5-21-1-2-3-4", 0);
  for (cut = 1; cut < good.len; cut += good.len / 5) {
    bad.len = 0;
    assert_int_equal(capsid__buf_append(&bad, good.data, cut), 0);
    assert_int_equal(exchange(&bad, &stage, &msg), CAPSID_EINVAL);
    capsid__free(msg);
    msg = NULL;
  }
  capsid__buf_free(&bad);
  capsid__buf_free(&good);
}


/* Only a capsid runner pipe is ever opened. */
static void test_runner_refuses_other_args(void** state) {
  static const char* const cmds[] = {"", " \\\\.\\pipe\\not-capsid",
                                     " a b"};
  char* exe = runner_exe();
  size_t i;

  (void)state;
  for (i = 0; i < CAPSID__ARRAY_SIZE(cmds); i++) {
    PROCESS_INFORMATION pi;
    STARTUPINFOA si;
    char* cmd = capsid__sprintf("\"%s\"%s", exe, cmds[i]);

    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    assert_true(CreateProcessA(exe, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW,
                               NULL, NULL, &si, &pi));
    CloseHandle(pi.hThread);
    assert_int_equal(runner_exit(&pi), 125);
    capsid__free(cmd);
  }
  capsid__free(exe);
}


/* Outside the test switch, elevated mode needs `capsid setup`: refused
 * with the field and the remedy, never downgraded. */
static void test_elevated_needs_setup(void** state) {
  const char* echo[] = {wt_child(), "echo", "x", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  capsid__win_test_unverified_ok = 0;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = echo;
  spec.cwd = wt_ws;
  spec.network = -1;
  spec.mode = CAPSID_MODE_ELEVATED;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_ENOSETUP);
  assert_string_equal(r.error.field, "mode");
  assert_non_null(strstr(r.error.message, "capsid setup"));
  assert_int_equal(r.out.len, 0);
  capsid_result_free(&r);
  capsid__win_test_unverified_ok = 1;
}


/* safe.directory names the repository's root (where .git is), not the
 * job's cwd: git compares it with the top level, so a job started in a
 * subdirectory of the repository would still be refused as "dubious
 * ownership" with the cwd named. An empty .git (capsid's placeholder in
 * a workspace without one) is walked past, as git's discovery does.
 * Control: without a repository above, the cwd. */
static void test_git_safe_directory_is_repo_root(void** state) {
  const char* argv[] = {wt_child(), "env", "GIT_CONFIG_VALUE_0", NULL};
  const char* envp[] = {"GIT_CONFIG_COUNT=0", NULL};
  char* git = capsid__sprintf("%s/.git", wt_ws);
  char* head = capsid__sprintf("%s/.git/HEAD", wt_ws);
  char* sub = capsid__sprintf("%s/src", wt_ws);
  char* deep = capsid__sprintf("%s/src/lib", wt_ws);
  char* empty_git = capsid__sprintf("%s/src/.git", wt_ws);
  char* deep_c = NULL;
  char* ws_c = NULL;
  char* want;
  capsid_job_spec_t spec;
  capsid_result_t r;
  FILE* f;
  int os_error = 0;

  (void)state;
  assert_true(CreateDirectoryA(sub, NULL));
  assert_true(CreateDirectoryA(deep, NULL));
  assert_int_equal(capsid__path_canonical(NULL, deep, &deep_c, &os_error), 0);
  assert_int_equal(capsid__path_canonical(NULL, wt_ws, &ws_c, &os_error), 0);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.cwd = deep;
  run(argv, &spec, &r); /* no repository anywhere up: the cwd */
  want = capsid__sprintf("%s\n", deep_c);
  assert_string_equal(r.out.data, want);
  capsid__free(want);
  capsid_result_free(&r);

  assert_true(CreateDirectoryA(git, NULL));
  f = fopen(head, "w");
  assert_non_null(f);
  fputs("ref: refs/heads/main\n", f);
  fclose(f);
  assert_true(CreateDirectoryA(empty_git, NULL) ||
              GetLastError() == ERROR_ALREADY_EXISTS);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.cwd = deep;
  run(argv, &spec, &r);
  want = capsid__sprintf("%s\n", ws_c);
  assert_string_equal(r.out.data, want);
  capsid__free(want);
  capsid_result_free(&r);

  /* A caller's own git configuration is left alone. */
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.cwd = deep;
  spec.env = envp;
  run(argv, &spec, &r);
  assert_int_equal(r.exit_code, 1); /* win-child: the variable is unset */
  capsid_result_free(&r);

  assert_true(DeleteFileA(head));
  assert_true(RemoveDirectoryA(git));
  wt_rmtree(sub);
  capsid__free(deep_c);
  capsid__free(ws_c);
  capsid__free(git);
  capsid__free(head);
  capsid__free(sub);
  capsid__free(deep);
  capsid__free(empty_git);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_output_and_exit_codes),
      cmocka_unit_test(test_request_intact),
      cmocka_unit_test(test_timeout_kills_runner_and_tree),
      cmocka_unit_test(test_runner_error_reported),
      cmocka_unit_test(test_no_handle_leak),
      cmocka_unit_test(test_runner_refuses_wrong_user),
      cmocka_unit_test(test_runner_verifies_token),
      cmocka_unit_test(test_runner_refuses_bad_request),
      cmocka_unit_test(test_runner_refuses_other_args),
      cmocka_unit_test(test_elevated_needs_setup),
      cmocka_unit_test(test_git_safe_directory_is_repo_root),
  };

  return cmocka_run_group_tests(tests, wt_jobs_setup, wt_jobs_teardown);
}
