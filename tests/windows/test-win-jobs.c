/* Job plumbing on Windows, end to end through the public API: CreateProcess
 * with the token and the job object, stdio through libuv's overlapped pipes,
 * exit codes, timeouts killing the whole tree. Under Wine the confinement
 * cannot be verified, so these run with the test build's override
 * (capsid__win_test_unverified_ok) and assert that they did
 * (result.mode == "none"); on real Windows they run verified. */
#include "wintest-util.h"

#include "capsid-win.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* ws;
static char* store;

static int setup(void** state) {
  (void)state;
  ws = wt_mkdtemp();
  store = wt_mkdtemp();
  if (ws == NULL || store == NULL)
    return -1;
  _putenv_s("CAPSID_STATE_DIR", store);
  capsid__win_test_unverified_ok = 1;
  return 0;
}


static int teardown(void** state) {
  (void)state;
  wt_rmtree(ws);
  wt_rmtree(store);
  capsid__free(ws);
  capsid__free(store);
  return 0;
}


static void run(const char* const* argv, capsid_job_spec_t* spec,
                capsid_result_t* r) {
  int before = capsid__win_test_overridden;

  spec->argv = argv;
  spec->cwd = ws;
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
  memset(&spec, 0, sizeof(spec));
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
  memset(&spec, 0, sizeof(spec));
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
  memset(&spec, 0, sizeof(spec));
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
  memset(&spec, 0, sizeof(spec));
  run(args, &spec, &r);
  assert_string_equal(r.out.data,
                      "[plain]\n[two words]\n[]\n[quote\"inside]\n[trail\\]\n"
                      "[back\\\\slash\\\"q]\n[tab\there]\n");
  capsid_result_free(&r);
}


static int process_gone(DWORD pid) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, pid);
  DWORD w;

  if (h == NULL)
    return 1;
  /* Killed by the job object: wait for the kernel to finish with it. */
  w = WaitForSingleObject(h, 10000);
  CloseHandle(h);
  return w == WAIT_OBJECT_0;
}


/* A timeout kills the job's whole tree, not just its main process. */
static void test_timeout_kills_tree(void** state) {
  char* pidfile = capsid__sprintf("%s/grandchild.pid", ws);
  const char* tree[] = {wt_child(), "tree", pidfile, NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;
  unsigned long pid = 0;
  FILE* f;

  (void)state;
  memset(&spec, 0, sizeof(spec));
  spec.timeout_ms = 2000;
  run(tree, &spec, &r);
  assert_true(r.timed_out);
  assert_int_equal(r.exit_code, -1);
  assert_int_equal(r.signal, 9);
  assert_non_null(strstr(r.out.data, "started"));
  f = fopen(pidfile, "r");
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%lu", &pid), 1);
  fclose(f);
  assert_true(pid != 0);
  assert_true(process_gone(pid));
  capsid_result_free(&r);
  capsid__free(pidfile);
}


static void test_system_program_and_not_found(void** state) {
  const char* cmd[] = {"cmd", "/c", "echo", "hi", NULL};
  const char* missing[] = {"capsid-no-such-program", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  memset(&spec, 0, sizeof(spec));
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


static void test_bad_cwd(void** state) {
  const char* zero[] = {wt_child(), "exit", "0", NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  memset(&spec, 0, sizeof(spec));
  spec.argv = zero;
  spec.cwd = "C:/capsid-no-such-dir/x";
  spec.network = -1;
  assert_int_equal(capsid_run_capture(&spec, &r), CAPSID_ENOENT);
  assert_non_null(strstr(r.error.message, "capsid-no-such-dir"));
  assert_int_equal(r.error.stage, CAPSID_STAGE_POLICY);
  capsid_result_free(&r);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_stdout_stderr_stdin),
      cmocka_unit_test(test_large_output_capped),
      cmocka_unit_test(test_argv_quoting),
      cmocka_unit_test(test_timeout_kills_tree),
      cmocka_unit_test(test_system_program_and_not_found),
      cmocka_unit_test(test_bad_cwd),
  };

  capsid_init();
  return cmocka_run_group_tests(tests, setup, teardown);
}
