/* Job plumbing on Windows, end to end through the public API: CreateProcess
 * with the token and the job object, stdio through libuv's overlapped pipes,
 * exit codes, timeouts killing the whole tree. Under Wine the confinement
 * cannot be verified, so these run with the test build's override
 * (capsid__win_test_unverified_ok) and assert that they did
 * (result.mode == "none"); on real Windows they run verified. */
#include "wintest-util.h"

#include "jobobj-win.h"
#include "verify-win.h"
#include "fault.h"

#include <uv.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run(const char* const* argv, capsid_job_spec_t* spec,
                capsid_result_t* r) {
  int before = capsid__win_test_overridden;

  spec->argv = argv;
  spec->cwd = wt_ws;
  spec->network = -1;
  assert_int_equal(capsid_run_capture(spec, r), 0);
  if (r->error.code != 0)
    print_message("job error: %s\n", r->error.message ? r->error.message
                                                      : "(none)");
  assert_int_equal(r->error.code, 0);
  /* Honest about what ran: verified confinement, or the override. */
  if (wt_enforcing()) {
    assert_int_equal(r->mode, CAPSID_MODE_UNPRIVILEGED);
  } else {
    assert_int_equal(r->mode, CAPSID_MODE_NONE);
    assert_true(capsid__win_test_overridden > before);
  }
}


static void test_exit_codes(void** state) {
  const char* zero[] = {wt_child(), "exit", "0", NULL};
  const char* seven[] = {wt_child(), "exit", "7", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(zero, &spec, &r);
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(r.signal, 0);
  capsid_result_free(&r);
  run(seven, &spec, &r);
  assert_int_equal(r.exit_code, 7);
  capsid_result_free(&r);
}


static void test_stdout_stderr_stdin(void** state) {
  const char* echo[] = {wt_child(), "echo", "hello out", NULL};
  const char* err[] = {wt_child(), "err", "hello err", NULL};
  const char* cat[] = {wt_child(), "cat", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(echo, &spec, &r);
  assert_string_equal(r.out.data, "hello out\n");
  assert_int_equal(r.err.len, 0);
  capsid_result_free(&r);
  run(err, &spec, &r);
  assert_int_equal(r.out.len, 0);
  assert_non_null(strstr(r.err.data, "hello err"));
  capsid_result_free(&r);
  spec.stdin_data = "line one\nline two\n";
  spec.stdin_len = strlen(spec.stdin_data);
  run(cat, &spec, &r);
  assert_string_equal(r.out.data, "line one\nline two\n");
  capsid_result_free(&r);
}


static void test_large_output_capped(void** state) {
  const char* big[] = {wt_child(), "bytes", "3000000", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.output_limit = 100000;
  run(big, &spec, &r);
  assert_int_equal(r.exit_code, 0);
  /* Every byte was read (the child never blocked), most were dropped. */
  assert_int_equal(r.out.total, 3000000);
  assert_true(r.out.truncated);
  assert_true(r.out.len < 101000);
  capsid_result_free(&r);
}


/* Arguments survive the trip through one Windows command line. */
static void test_argv_quoting(void** state) {
  const char* args[] = {wt_child(), "args", "plain", "two words", "",
                        "quote\"inside", "trail\\", "back\\\\slash\\\"q",
                        "tab\there", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(args, &spec, &r);
  assert_string_equal(r.out.data,
                      "[plain]\n[two words]\n[]\n[quote\"inside]\n[trail\\]\n"
                      "[back\\\\slash\\\"q]\n[tab\there]\n");
  capsid_result_free(&r);
}


/* A timeout kills the job's whole tree, not just its main process. */
static void test_timeout_kills_tree(void** state) {
  char* pidfile = capsid__sprintf("%s/grandchild.pid", wt_ws);
  const char* tree[] = {wt_child(), "tree", pidfile, NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.timeout_ms = 2000;
  run(tree, &spec, &r);
  wt_expect_tree_killed(&r, pidfile);
  capsid_result_free(&r);
  capsid__free(pidfile);
}


static void test_system_program_and_not_found(void** state) {
  const char* cmd[] = {"cmd", "/c", "echo", "hi", NULL};
  const char* missing[] = {"capsid-no-such-program", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  /* Found in the system directory through PATHEXT, like CreateProcess. */
  run(cmd, &spec, &r);
  assert_int_equal(r.exit_code, 0);
  assert_non_null(strstr(r.out.data, "hi"));
  capsid_result_free(&r);
  spec.argv = missing;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_ENOTFOUND);
  assert_int_equal(r.error.code, CAPSID_ENOTFOUND);
  assert_int_equal(r.error.stage, CAPSID_STAGE_EXEC);
  capsid_result_free(&r);
}


/* A batch file's arguments reach it as given: cmd.exe's metacharacters
 * and '!' stay literal (control), and an argument that could end cmd.exe's
 * quoting or expand a variable ('"', '%') is refused before anything runs,
 * where the C runtime's escaping would have let "&" start a second
 * command ("BatBadBut"). */
static void test_batch_arguments(void** state) {
  char* script = capsid__sprintf("%s/args.cmd", wt_ws);
  char* marker = capsid__sprintf("%s/pwned", wt_ws);
  const char* literal[] = {script, "a&b|c", "(x) ^y!", "two words", NULL};
  const char* quote[] = {script, "x\"&echo pwned>pwned&\"", NULL};
  const char* percent[] = {script, "%PATH%", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  FILE* f;

  (void)state;
  /* %1 keeps the argument's quotes, so echo prints it literally. */
  f = fopen(script, "wb");
  assert_non_null(f);
  fputs("@echo off\r\necho [%1]\r\necho [%2]\r\necho [%3]\r\n", f);
  fclose(f);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(literal, &spec, &r);
  print_message("exit %d out [%s] err [%s]\n", r.exit_code,
                r.out.data ? r.out.data : "", r.err.data ? r.err.data : "");
  assert_int_equal(r.exit_code, 0);
  assert_non_null(strstr(r.out.data, "[\"a&b|c\"]"));
  assert_non_null(strstr(r.out.data, "[\"(x) ^y!\"]"));
  assert_non_null(strstr(r.out.data, "[\"two words\"]"));
  capsid_result_free(&r);

  spec.argv = quote;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_EINVAL);
  assert_int_equal(r.error.stage, CAPSID_STAGE_EXEC);
  assert_non_null(strstr(r.error.message, "argument 1 of the batch file"));
  capsid_result_free(&r);
  assert_int_equal(GetFileAttributesA(marker), INVALID_FILE_ATTRIBUTES);
  spec.argv = percent;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_EINVAL);
  capsid_result_free(&r);
  DeleteFileA(script);
  capsid__free(script);
  capsid__free(marker);
}


static void test_bad_cwd(void** state) {
  const char* zero[] = {wt_child(), "exit", "0", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = zero;
  spec.cwd = "C:/capsid-no-such-dir/x";
  spec.network = -1;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_ENOENT);
  assert_non_null(strstr(r.error.message, "capsid-no-such-dir"));
  assert_int_equal(r.error.stage, CAPSID_STAGE_POLICY);
  capsid_result_free(&r);
}


/* Offline jobs get the dead-proxy variables (defence in depth only);
 * online jobs do not, and a variable the job sets itself wins. */
static void test_offline_env(void** state) {
  const char* proxy[] = {wt_child(), "env", "HTTP_PROXY", NULL};
  const char* mine[] = {"HTTP_PROXY=http://proxy.example:3128", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  _putenv_s("HTTP_PROXY", "");
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.policy = "{\"type\":\"workspace-write\",\"network_access\":false}";
  run(proxy, &spec, &r);
  assert_int_equal(r.exit_code, 0);
  assert_string_equal(r.out.data, "http://127.0.0.1:9\n");
  capsid_result_free(&r);
  spec.env = mine;
  run(proxy, &spec, &r);
  assert_string_equal(r.out.data, "http://proxy.example:3128\n");
  capsid_result_free(&r);
  spec.env = NULL;
  spec.policy = "{\"type\":\"workspace-write\",\"network_access\":true}";
  run(proxy, &spec, &r);
  assert_int_equal(r.exit_code, 1);
  capsid_result_free(&r);
}


/* The job runs in its workspace, with an explicit environment only. */
static void test_cwd_and_replaced_env(void** state) {
  const char* cwd[] = {wt_child(), "cwd", NULL};
  const char* path[] = {wt_child(), "env", "CAPSID_WT_ONLY", NULL};
  const char* only[] = {"CAPSID_WT_ONLY=yes", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  char* want;
  char* c;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(cwd, &spec, &r);
  want = capsid__sprintf("%s\n", wt_ws);
  for (c = r.out.data; *c != '\0'; c++)
    if (*c == '\\')
      *c = '/';
  assert_int_equal(_stricmp(r.out.data, want), 0);
  capsid__free(want);
  capsid_result_free(&r);
  spec.env_mode = CAPSID_ENV_REPLACE;
  spec.env = only;
  run(path, &spec, &r);
  assert_string_equal(r.out.data, "yes\n");
  capsid_result_free(&r);
}


/* A job whose environment spells it "Path" (as Windows does) has its
 * program found along that Path, not capsid's own PATH. */
static void test_path_spelled_path(void** state) {
  const char* bare[] = {"win-child", "env", "PATH", NULL};
  const char* vars[] = {NULL, NULL, NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  char* dir = capsid__strdup(wt_child());
  char* slash = strrchr(dir, '\\');
  char* want;
  char* saved;

  (void)state;
  assert_non_null(slash);
  *slash = '\0';
  vars[0] = want = capsid__sprintf("Path=%s", dir);
  vars[1] = "SystemRoot=C:\\windows";
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.env_mode = CAPSID_ENV_REPLACE;
  spec.env = vars;
  run(bare, &spec, &r);
  assert_int_equal(r.exit_code, 0);
  assert_non_null(strstr(r.out.data, dir));
  capsid_result_free(&r);
  /* A job without a PATH does not get capsid's: with win-child's
   * directory on capsid's own PATH, it is still not found. */
  saved = capsid__strdup(getenv("PATH") ? getenv("PATH") : "");
  assert_int_equal(_putenv_s("PATH", dir), 0);
  vars[0] = vars[1];
  vars[1] = NULL;
  spec.argv = bare;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_ENOTFOUND);
  capsid_result_free(&r);
  assert_int_equal(_putenv_s("PATH", saved), 0);
  capsid__free(saved);
  capsid__free(want);
  capsid__free(dir);
}


typedef struct {
  int done;
  capsid_result_t result;
} slot_t;

static void on_exit_keep(capsid_job_t* job, capsid_result_t* r, void* data) {
  slot_t* s = data;

  (void)job;
  s->done++;
  capsid_result_move(&s->result, r);
}


/* The victim's first output: it runs, so the kill hits a running job
 * however long the launches before it took. */
static void kill_on_output(capsid_job_t* job, int stream, const char* bytes,
                           size_t len, void* data) {
  (void)stream;
  (void)bytes;
  (void)len;
  (void)data;
  capsid_job_kill(job);
}


/* Several jobs at once on one loop, one of them killed while running. */
static void test_parallel_and_kill(void** state) {
  const char* sleeper[] = {wt_child(), "started-sleep", "60000", NULL};
  char texts[6][16];
  const char* argvs[6][4];
  slot_t slots[7];
  capsid_runtime_options_t opts;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  capsid_job_t* victim = NULL;
  int i;

  (void)state;
  memset(slots, 0, sizeof(slots));
  /* All seven run at once: the kill must hit a running job, not a queued
   * one (that case is "killed before it started", without a signal). */
  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  opts.max_concurrency = 7;
  assert_int_equal(capsid_runtime_new(&opts, &rt), 0);
  for (i = 0; i < 6; i++) {
    snprintf(texts[i], sizeof(texts[i]), "job-%d", i);
    argvs[i][0] = wt_child();
    argvs[i][1] = "echo";
    argvs[i][2] = texts[i];
    argvs[i][3] = NULL;
    spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
    spec.argv = argvs[i];
    spec.cwd = wt_ws;
    spec.network = -1;
    assert_int_equal(capsid_job_start(rt, &spec, on_exit_keep, &slots[i],
                                      NULL), 0);
  }
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = sleeper;
  spec.cwd = wt_ws;
  spec.network = -1;
  spec.on_output = kill_on_output;
  assert_int_equal(capsid_job_start(rt, &spec, on_exit_keep, &slots[6],
                                    &victim), 0);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  for (i = 0; i < 6; i++) {
    char want[32];
    assert_int_equal(slots[i].done, 1);
    assert_int_equal(slots[i].result.error.code, 0);
    snprintf(want, sizeof(want), "%s\n", texts[i]);
    assert_string_equal(slots[i].result.out.data, want);
    capsid_result_free(&slots[i].result);
  }
  assert_int_equal(slots[6].done, 1);
  assert_true(slots[6].result.killed);
  assert_int_equal(slots[6].result.signal, 9);
  assert_false(slots[6].result.timed_out);
  capsid_result_free(&slots[6].result);
}


static void stop_cb(uv_timer_t* t) {
  assert_int_equal(capsid_job_signal(t->data, CAPSID_SIGTERM, 300), 0);
  uv_close((uv_handle_t*)t, NULL);
}


/* capsid_job_signal on Windows: no signal reaches the job (a job object
 * has none), so it keeps its grace and is then terminated, tree and all:
 * interrupted and killed. */
static void test_signal_terminates_after_grace(void** state) {
  const char* sleeper[] = {wt_child(), "sleep", "60000", NULL};
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  capsid_job_t* job = NULL;
  uv_timer_t timer;
  slot_t slot;

  (void)state;
  memset(&slot, 0, sizeof(slot));
  assert_int_equal(capsid_runtime_new(NULL, &rt), 0);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = sleeper;
  spec.cwd = wt_ws;
  spec.network = -1;
  assert_int_equal(capsid_job_start(rt, &spec, on_exit_keep, &slot, &job),
                   0);
  uv_timer_init(capsid_runtime_loop(rt), &timer);
  timer.data = job;
  uv_timer_start(&timer, stop_cb, 500, 0);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  assert_int_equal(slot.done, 1);
  assert_int_equal(slot.result.error.code, 0);
  assert_true(slot.result.interrupted);
  assert_true(slot.result.killed);
  assert_int_equal(slot.result.signal, 9);
  capsid_result_free(&slot.result);
  assert_int_equal(capsid_job_signal(NULL, CAPSID_SIGTERM, 0), CAPSID_EINVAL);
}


/* The job object alone: closing its last handle kills what is in it, which
 * is what happens to every job if capsid itself dies. */
static void test_job_object_kill_on_close(void** state) {
  capsid__jobobj_plan_t plan = {0, 0, 0, 0};
  capsid_error_t err = {0};
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  char* cmd = capsid__sprintf("\"%s\" sleep 60000", wt_child());
  HANDLE job;
  BOOL in_job = FALSE;

  (void)state;
  assert_int_equal(capsid__jobobj_create(&plan, &job, &err), 0);
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  assert_true(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED,
                             NULL, NULL, &si, &pi));
  assert_true(AssignProcessToJobObject(job, pi.hProcess));
  assert_true(IsProcessInJob(pi.hProcess, job, &in_job));
  assert_true(in_job);
  ResumeThread(pi.hThread);
  assert_int_equal(WaitForSingleObject(pi.hProcess, 0), WAIT_TIMEOUT);
  CloseHandle(job);
  assert_int_equal(WaitForSingleObject(pi.hProcess, 10000), WAIT_OBJECT_0);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  capsid__free(cmd);
}


/* Many jobs, nothing left open: every job's token, job object, process,
 * thread, pipes and wait registration are closed again (every other job
 * has a memory limit, hence a completion port). */
static void test_no_handle_leak(void** state) {
  (void)state;
  wt_expect_no_handle_leak(run, 25, 1);
}


#ifdef CAPSID_FAULT_INJECTION
/* Every launch failure is clean: the job reports the stage that failed,
 * nothing runs, no handle stays open, and the next job works. */
static void test_launch_failures_clean(void** state) {
  static const struct {
    const char* fault;
    int stage;
  } cases[] = {
      {"spawn=1:EIO", CAPSID_STAGE_SPAWN},
      {"pipe=2:EMFILE", CAPSID_STAGE_PIPE},
      {"pipe-open=1:EIO", CAPSID_STAGE_PIPE},
  };
  const char* echo[] = {wt_child(), "echo", "after", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  unsigned before, after;
  size_t i, k;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(echo, &spec, &r); /* warm-up */
  capsid_result_free(&r);
  before = wt_count_handles();
  /* Four rounds, so one leaked handle per failure shows above the noise. */
  for (k = 0; k < 4 * CAPSID__ARRAY_SIZE(cases); k++) {
    i = k % CAPSID__ARRAY_SIZE(cases);
    capsid__fault_set(cases[i].fault);
    spec.argv = echo;
    spec.cwd = wt_ws;
    spec.network = -1;
    assert_int_not_equal(capsid_run_capture(&spec, &r), 0);
    assert_int_equal(r.error.stage, cases[i].stage);
    assert_int_equal(r.out.len, 0);
    capsid_result_free(&r);
  }
  capsid__fault_set(NULL);
  after = wt_count_handles();
  if (after > before + 2)
    print_message("open handles: %u before, %u after\n", before, after);
  assert_true(after <= before + 2);
  run(echo, &spec, &r);
  assert_string_equal(r.out.data, "after\n");
  capsid_result_free(&r);
}
#endif


/* CAPSID_WIN_UILIMIT: "off" runs the job without UI restrictions, any
 * value but on/off refuses it before anything is created, naming the
 * variable; the job runs again once it is unset (the control). */
static void test_uilimit_setting(void** state) {
  const char* echo[] = {wt_child(), "echo", "ui", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  _putenv("CAPSID_WIN_UILIMIT=off");
  run(echo, &spec, &r);
  assert_string_equal(r.out.data, "ui\n");
  capsid_result_free(&r);

  _putenv("CAPSID_WIN_UILIMIT=maybe");
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = echo;
  spec.cwd = wt_ws;
  spec.network = -1;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_EINVAL);
  assert_int_equal(r.error.code, CAPSID_EINVAL);
  assert_string_equal(r.error.field, "CAPSID_WIN_UILIMIT");
  assert_non_null(strstr(r.error.message, "use on or off"));
  assert_int_equal(r.out.len, 0);
  capsid_result_free(&r);

  _putenv("CAPSID_WIN_UILIMIT=");
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  run(echo, &spec, &r);
  assert_string_equal(r.out.data, "ui\n");
  capsid_result_free(&r);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_batch_arguments),
      cmocka_unit_test(test_stdout_stderr_stdin),
      cmocka_unit_test(test_large_output_capped),
      cmocka_unit_test(test_argv_quoting),
      cmocka_unit_test(test_timeout_kills_tree),
      cmocka_unit_test(test_system_program_and_not_found),
      cmocka_unit_test(test_bad_cwd),
      cmocka_unit_test(test_offline_env),
      cmocka_unit_test(test_cwd_and_replaced_env),
      cmocka_unit_test(test_path_spelled_path),
      cmocka_unit_test(test_parallel_and_kill),
      cmocka_unit_test(test_signal_terminates_after_grace),
      cmocka_unit_test(test_job_object_kill_on_close),
      cmocka_unit_test(test_no_handle_leak),
#ifdef CAPSID_FAULT_INJECTION
      cmocka_unit_test(test_launch_failures_clean),
      cmocka_unit_test(test_uilimit_setting),
#endif
  };

  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  return cmocka_run_group_tests(tests, wt_jobs_setup, wt_jobs_teardown);
}
