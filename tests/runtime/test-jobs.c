/* The runtime end to end: real child processes, real pipes, real timers. */
#include "test-common.h"

#include "job-submit.h"
#include "policy.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#define CHILD CAPSID_TEST_HELPER

typedef struct {
  int calls;
  capsid_result_t result;
  uint64_t streamed[3];
} outcome_t;


static void on_exit_keep(capsid_job_t* job, capsid_result_t* r, void* data) {
  outcome_t* o = data;

  (void)job;
  o->calls++;
  capsid_result_move(&o->result, r);
}


static void on_output_count(capsid_job_t* job, int stream, const char* b,
                            size_t len, void* data) {
  outcome_t* o = capsid_job_data(job);

  (void)b;
  (void)data;
  o->streamed[stream] += len;
}


/* Runs one job on a fresh runtime and returns its outcome. */
static void run_one(capsid_job_spec_t* spec, outcome_t* o) {
  capsid_runtime_t* rt;

  memset(o, 0, sizeof(*o));
  assert_int_equal(capsid_runtime_new(NULL, &rt), 0);
  assert_int_equal(capsid_job_start(rt, spec, on_exit_keep, o, NULL), 0);
  /* Never from inside capsid_job_start. */
  assert_int_equal(o->calls, 0);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  assert_int_equal(o->calls, 1);
}


static void test_exit_codes_and_signals(void** state) {
  const char* ok[] = {CHILD, "exit", "0", NULL};
  const char* three[] = {CHILD, "exit", "3", NULL};
  const char* sig[] = {CHILD, "signal", "9", NULL};
  capsid_job_spec_t spec;
  outcome_t o;

  struct timeval before, after;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = ok;
  gettimeofday(&before, NULL);
  run_one(&spec, &o);
  gettimeofday(&after, NULL);
  assert_int_equal(o.result.error.code, 0);
  assert_int_equal(o.result.exit_code, 0);
  assert_int_equal(o.result.signal, 0);
  assert_true(o.result.wall_ms > 0);
  /* The result says which process ran and when it was started. */
  assert_true(o.result.pid > 0);
  assert_in_range(o.result.started_at_us,
                  before.tv_sec * 1000000LL + before.tv_usec,
                  after.tv_sec * 1000000LL + after.tv_usec);
  /* auto confines: unprivileged, or Landlock only where user namespaces
   * are blocked. */
  assert_true(o.result.mode == CAPSID_MODE_UNPRIVILEGED ||
              o.result.mode == CAPSID_MODE_LANDLOCK_ONLY ||
              o.result.mode == CAPSID_MODE_ELEVATED);
  capsid_result_free(&o.result);

  spec.argv = three;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, 3);
  capsid_result_free(&o.result);

  spec.argv = sig;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, -1);
  assert_int_equal(o.result.signal, 9);
  assert_false(o.result.timed_out);
  capsid_result_free(&o.result);
}


static void test_stdin_delivered(void** state) {
  const char* argv[] = {CHILD, "echo-stdin", NULL};
  capsid_job_spec_t spec;
  outcome_t o;
  size_t n = 3 << 20, i;
  char* data = malloc(n);

  (void)state;
  for (i = 0; i < n; i++)
    data[i] = (char)(i * 31 + 7);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.stdin_data = data;
  spec.stdin_len = n;
  spec.output_limit = 4 << 20;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, 0);
  assert_int_equal(o.result.out.len, n);
  assert_memory_equal(o.result.out.data, data, n);
  capsid_result_free(&o.result);

  /* No stdin at all: the job sees EOF at once instead of hanging. */
  spec.stdin_data = NULL;
  spec.stdin_len = 0;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, 0);
  assert_int_equal(o.result.out.len, 0);
  capsid_result_free(&o.result);
  free(data);
}


static void test_env_modes(void** state) {
  const char* argv_foo[] = {CHILD, "env", "CAPSID_T_FOO", NULL};
  const char* argv_path[] = {CHILD, "env", "PATH", NULL};
  const char* add[] = {"CAPSID_T_FOO=from-spec", NULL};
  const char* bad[] = {"NOEQUALS", NULL};
  capsid_job_spec_t spec;
  outcome_t o;

  (void)state;
  setenv("CAPSID_T_FOO", "inherited", 1);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv_foo;
  run_one(&spec, &o);
  assert_string_equal(o.result.out.data, "inherited");
  capsid_result_free(&o.result);

  spec.env = add;
  run_one(&spec, &o);
  assert_string_equal(o.result.out.data, "from-spec");
  capsid_result_free(&o.result);

  /* Replace: exactly the spec's variables, so PATH is gone. */
  spec.env_mode = CAPSID_ENV_REPLACE;
  spec.argv = argv_path;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, 3);
  capsid_result_free(&o.result);
  spec.argv = argv_foo;
  run_one(&spec, &o);
  assert_string_equal(o.result.out.data, "from-spec");
  capsid_result_free(&o.result);

  spec.env = bad;
  run_one(&spec, &o);
  assert_int_equal(o.result.error.code, CAPSID_ESPEC);
  assert_string_equal(o.result.error.field, "env[0]");
  capsid_result_free(&o.result);
  unsetenv("CAPSID_T_FOO");
}


static void test_capture_cap_keeps_head_and_tail(void** state) {
  const char* argv[] = {CHILD, "write-bytes", "5242880", "120", NULL};
  capsid_job_spec_t spec;
  outcome_t o;
  size_t i;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.on_output = on_output_count;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, 0);
  assert_int_equal(o.result.out.total, 5242880);
  assert_int_equal(o.result.out.dropped, 5242880 - (1 << 20));
  assert_true(o.result.out.truncated);
  /* The streaming callback saw every byte, not just the kept ones. */
  assert_int_equal(o.streamed[CAPSID_STDOUT], 5242880);
  for (i = 0; i < (1 << 19); i++)
    if (o.result.out.data[i] != 'x')
      fail_msg("head byte %zu is %d", i, o.result.out.data[i]);
  assert_non_null(strstr(o.result.out.data + (1 << 19),
                         "[capsid: 4194304 bytes dropped]"));
  assert_int_equal(o.result.out.data[o.result.out.len - 1], 'x');
  assert_false(o.result.err.truncated);
  capsid_result_free(&o.result);
}


static void test_capture_drains_past_cap(void** state) {
  /* 16 MiB on each stream against a 1 KiB cap: the child would block on
   * full pipes if capsid stopped reading at the cap. */
  const char* argv[] = {CHILD, "write-both", "16777216", NULL};
  capsid_job_spec_t spec;
  outcome_t o;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.output_limit = 1024;
  spec.timeout_ms = 60000;
  run_one(&spec, &o);
  assert_false(o.result.timed_out);
  assert_int_equal(o.result.exit_code, 0);
  assert_int_equal(o.result.out.total, 16777216);
  assert_int_equal(o.result.err.total, 16777216);
  assert_int_equal(o.result.out.dropped, 16777216 - 1024);
  assert_int_equal(o.result.err.dropped, 16777216 - 1024);
  capsid_result_free(&o.result);
}


static void test_binary_output_is_exact(void** state) {
  const char* argv[] = {CHILD, "binary", NULL};
  capsid_job_spec_t spec;
  outcome_t o;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  run_one(&spec, &o);
  assert_int_equal(o.result.out.len, 6);
  assert_memory_equal(o.result.out.data, "ok\xff\xfe\x00z", 6);
  capsid_result_free(&o.result);
}


static void test_timeout_kills_tree(void** state) {
  char* dir = test_mkdtemp();
  char pidfile[512];
  const char* argv[] = {CHILD, "tree", pidfile, "30", NULL};
  capsid_job_spec_t spec;
  outcome_t o;
  char* text;
  int pid = 0, pgid = 0;

  (void)state;
  snprintf(pidfile, sizeof(pidfile), "%s/pids", dir);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = dir; /* the pid file is written in the workspace */
  spec.timeout_ms = 500;
  run_one(&spec, &o);
  assert_true(o.result.timed_out);
  assert_int_equal(o.result.signal, SIGKILL);
  assert_true(o.result.wall_ms >= 450);
  text = test_read_file(pidfile, NULL);
  assert_non_null(text);
  assert_int_equal(sscanf(text, "%d %d", &pid, &pgid), 2);
  /* The main process, its child and the detached grandchild: all gone. */
  assert_int_equal(pid, pgid);
  assert_int_equal(test_wait_gone(pidfile), 0);
  free(text);
  capsid_result_free(&o.result);
  test_rmtree(dir);
  free(dir);
}


static void test_exit_kills_leftovers(void** state) {
  /* The main process exits at once and leaves a background sleeper that
   * still holds stdout: it must be killed, and the job must not wait for
   * its 30 seconds. */
  char script[64], marker[32];
  const char* argv[] = {"/bin/sh", "-c", script, NULL};
  capsid_job_spec_t spec;
  outcome_t o;
  int pid;

  (void)state;
  /* A sleep whose argument no other process has. */
  snprintf(marker, sizeof(marker), "30.%d", (int)getpid());
  snprintf(script, sizeof(script), "sleep %s & echo $!", marker);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  run_one(&spec, &o);
  assert_int_equal(o.result.exit_code, 0);
  assert_true(o.result.wall_ms < 10000);
  pid = atoi(o.result.out.data);
  assert_true(pid > 1);
  assert_int_equal(test_wait_gone(marker), 0);
  capsid_result_free(&o.result);
}


static void test_start_failures_report(void** state) {
  const char* missing[] = {"capsid-no-such-program", NULL};
  char* dir = test_mkdtemp();
  char plain[512];
  const char* notexec[] = {plain, NULL};
  const char* empty[] = {"", NULL};
  const char* ok[] = {CHILD, "exit", "0", NULL};
  capsid_job_spec_t spec;
  outcome_t o;

  (void)state;
  /* A plain file, mode 0644: not executable even for root. */
  snprintf(plain, sizeof(plain), "%s/plain", dir);
  test_write_file(plain, "", 0);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = missing;
  run_one(&spec, &o);
  assert_int_equal(o.result.error.code, CAPSID_ENOTFOUND);
  assert_int_equal(o.result.error.stage, CAPSID_STAGE_EXEC);
  assert_int_equal(o.result.exit_code, -1);
  capsid_result_free(&o.result);

  spec.argv = notexec;
  run_one(&spec, &o);
  assert_int_equal(o.result.error.code, CAPSID_ENOEXEC);
  capsid_result_free(&o.result);

  spec.argv = empty;
  run_one(&spec, &o);
  assert_int_equal(o.result.error.code, CAPSID_ESPEC);
  assert_string_equal(o.result.error.field, "argv");
  capsid_result_free(&o.result);

  spec.argv = ok;
  spec.cwd = "/nonexistent/capsid";
  run_one(&spec, &o);
  assert_int_equal(o.result.error.code, CAPSID_ENOENT);
  assert_string_equal(o.result.error.field, "cwd");
  capsid_result_free(&o.result);

  spec.cwd = NULL;
  spec.policy = "{\"mode\":\"workspace-write\",\"bogus\":1}";
  run_one(&spec, &o);
  assert_int_equal(o.result.error.code, CAPSID_EPOLICY);
  assert_string_equal(o.result.error.field, "policy.bogus");
  capsid_result_free(&o.result);
  test_rmtree(dir);
  free(dir);
}


typedef struct {
  capsid_runtime_t* rt;
  unsigned limit;
  unsigned max_seen;
  int done;
  int failed;
} conc_t;


static void conc_exit(capsid_job_t* job, capsid_result_t* r, void* data) {
  conc_t* c = data;

  (void)job;
  c->done++;
  if (r->error.code != 0 || r->exit_code != 0)
    c->failed++;
}


static void conc_sample(uv_check_t* check) {
  conc_t* c = check->data;
  unsigned running = capsid_runtime_running(c->rt);

  if (running > c->max_seen)
    c->max_seen = running;
}


static void test_concurrency_limit_200_jobs(void** state) {
  const char* argv[] = {CHILD, "sleep-ms", "5", NULL};
  capsid_runtime_options_t opts;
  capsid_job_spec_t spec;
  uv_loop_t loop;
  uv_check_t check;
  conc_t c;
  int i;

  (void)state;
  memset(&c, 0, sizeof(c));
  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  assert_int_equal(uv_loop_init(&loop), 0);
  opts.loop = &loop;
  opts.max_concurrency = 4;
  assert_int_equal(capsid_runtime_new(&opts, &c.rt), 0);
  uv_check_init(&loop, &check);
  check.data = &c;
  uv_check_start(&check, conc_sample);
  uv_unref((uv_handle_t*)&check);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  for (i = 0; i < 200; i++)
    assert_int_equal(capsid_job_start(c.rt, &spec, conc_exit, &c, NULL), 0);
  assert_int_equal(capsid_runtime_running(c.rt), 4);
  assert_int_equal(capsid_runtime_queued(c.rt), 196);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.done, 200);
  assert_int_equal(c.failed, 0);
  assert_int_equal(c.max_seen, 4);
  capsid_runtime_close(c.rt, NULL, NULL);
  uv_close((uv_handle_t*)&check, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}


static void kill_later(uv_timer_t* t) {
  capsid_job_kill(t->data);
  uv_close((uv_handle_t*)t, NULL);
}


static void test_kill_running_job(void** state) {
  const char* argv[] = {CHILD, "sleep-ms", "20000", NULL};
  capsid_runtime_options_t opts;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  capsid_job_t* job;
  uv_loop_t loop;
  uv_timer_t t;
  outcome_t o;

  (void)state;
  memset(&o, 0, sizeof(o));
  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  uv_loop_init(&loop);
  opts.loop = &loop;
  assert_int_equal(capsid_runtime_new(&opts, &rt), 0);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  assert_int_equal(capsid_job_start(rt, &spec, on_exit_keep, &o, &job), 0);
  uv_timer_init(&loop, &t);
  t.data = job;
  uv_timer_start(&t, kill_later, 50, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(o.calls, 1);
  assert_true(o.result.killed);
  assert_int_equal(o.result.signal, SIGKILL);
  assert_true(o.result.wall_ms < 10000);
  capsid_result_free(&o.result);
  capsid_runtime_close(rt, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}


typedef struct {
  int exits;
  int killed;
  int canceled;
  int closed;
} close_count_t;


static void close_exit(capsid_job_t* job, capsid_result_t* r, void* data) {
  close_count_t* c = data;

  (void)job;
  c->exits++;
  if (r->error.code == CAPSID_ECANCELED)
    c->canceled++;
  else if (r->killed && r->signal == SIGKILL)
    c->killed++;
}


static void close_done(void* data) {
  ((close_count_t*)data)->closed = 1;
}


static void test_runtime_close_kills_and_cancels(void** state) {
  const char* argv[] = {CHILD, "sleep-ms", "20000", NULL};
  capsid_runtime_options_t opts;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  close_count_t c;
  uv_loop_t loop;
  uint64_t t0;
  int i;

  (void)state;
  memset(&c, 0, sizeof(c));
  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  uv_loop_init(&loop);
  opts.loop = &loop;
  opts.max_concurrency = 2;
  assert_int_equal(capsid_runtime_new(&opts, &rt), 0);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  for (i = 0; i < 5; i++)
    assert_int_equal(capsid_job_start(rt, &spec, close_exit, &c, NULL), 0);
  t0 = uv_hrtime();
  capsid_runtime_close(rt, close_done, &c);
  assert_int_equal(capsid_job_start(rt, &spec, close_exit, &c, NULL) < 0 ||
                       c.closed,
                   1);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(uv_hrtime() - t0 < 10000000000ull);
  assert_int_equal(c.exits, 5);
  assert_int_equal(c.killed, 2);
  assert_int_equal(c.canceled, 3);
  assert_int_equal(c.closed, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}


typedef struct {
  uint64_t grace_ms;
  int signalled;
  int calls;
  capsid_result_t result;
} stop_t;


/* Asks the job to stop once it says it is ready (its trap is set). */
static void stop_when_ready(capsid_job_t* job, int stream, const char* b,
                            size_t len, void* data) {
  stop_t* s = data;

  (void)stream;
  if (!s->signalled && len >= 5 && memcmp(b, "ready", 5) == 0) {
    s->signalled = 1;
    assert_int_equal(capsid_job_signal(job, CAPSID_SIGTERM, s->grace_ms), 0);
  }
}


static void stop_exit(capsid_job_t* job, capsid_result_t* r, void* data) {
  stop_t* s = data;

  (void)job;
  s->calls++;
  capsid_result_move(&s->result, r);
}


/* capsid_job_signal: a job that traps TERM cleans up and ends by itself
 * (interrupted, not killed, its trap's output in the result); one that
 * ignores TERM is killed when its grace runs out; a queued one is dropped;
 * the signal reaches the job's children too (they leave no survivor). */
static void test_signal_job(void** state) {
  const char* trap[] = {"/bin/sh", "-c",
                        "trap 'echo bye; exit 4' TERM; echo ready; "
                        "sleep 30 & wait", NULL};
  const char* deaf[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30",
                        NULL};
  const char* argv_q[] = {"/bin/sh", "-c", "echo never", NULL};
  capsid_runtime_options_t opts;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  capsid_job_t* queued;
  stop_t s[3];
  int i;

  (void)state;
  memset(s, 0, sizeof(s));
  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  opts.max_concurrency = 2;
  assert_int_equal(capsid_runtime_new(&opts, &rt), 0);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.on_output = stop_when_ready;
  s[0].grace_ms = 60000; /* ends long before: the trap exits */
  s[1].grace_ms = 100;
  spec.argv = trap;
  assert_int_equal(capsid_job_start(rt, &spec, stop_exit, &s[0], NULL), 0);
  spec.argv = deaf;
  assert_int_equal(capsid_job_start(rt, &spec, stop_exit, &s[1], NULL), 0);
  spec.argv = argv_q;
  spec.on_output = NULL;
  assert_int_equal(capsid_job_start(rt, &spec, stop_exit, &s[2], &queued), 0);
  assert_int_equal(capsid_job_signal(queued, CAPSID_SIGTERM, 60000), 0);
  capsid_runtime_run(rt);
  for (i = 0; i < 3; i++) {
    assert_int_equal(s[i].calls, 1);
    assert_true(s[i].result.interrupted);
  }
  assert_int_equal(s[0].result.error.code, 0);
  assert_int_equal(s[0].result.exit_code, 4);
  assert_string_equal(s[0].result.out.data, "ready\nbye\n");
  assert_false(s[0].result.killed);
  assert_int_equal(s[1].result.error.code, 0);
  assert_true(s[1].result.killed);
  assert_int_equal(s[1].result.signal, SIGKILL);
  assert_int_equal(s[2].result.error.code, CAPSID_ECANCELED);
  assert_true(s[2].result.killed);
  for (i = 0; i < 3; i++)
    capsid_result_free(&s[i].result);
  assert_int_equal(capsid_job_signal(NULL, CAPSID_SIGTERM, 0), CAPSID_EINVAL);
  capsid_runtime_close(rt, NULL, NULL);
}


static void test_run_capture(void** state) {
  const char* argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 5",
                        NULL};
  capsid_job_spec_t spec;
  capsid_result_t r;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  assert_int_equal(capsid_run_capture(&spec, &r), 0);
  assert_int_equal(r.exit_code, 5);
  assert_string_equal(r.out.data, "out\n");
  assert_string_equal(r.err.data, "err\n");
  capsid_result_free(&r);
  assert_int_equal(capsid_run_capture(NULL, &r), CAPSID_EINVAL);
}


/* Runs spec with its policy given as text, then with the same policy
 * parsed as a batch line parses it (a JSON value, handed to the runtime
 * parsed): both jobs must end the same way. Returns the text job's exit
 * code (-1 with its error in *code when it did not run). */
static int run_both_ways(capsid_job_spec_t* spec, const char* policy_json,
                         int* code, capsid_mode_t* mode) {
  capsid__policy_t policy;
  capsid_error_t perr;
  capsid_runtime_t* rt;
  json_error_t jerr;
  json_t* v;
  outcome_t text, parsed;

  spec->policy = policy_json;
  run_one(spec, &text);
  spec->policy = "read-only"; /* ignored by the parsed entry */
  v = json_loads(policy_json, 0, &jerr);
  assert_non_null(v);
  memset(&perr, 0, sizeof(perr));
  capsid__policy_from_json(v, &policy, &perr);
  json_decref(v);
  memset(&parsed, 0, sizeof(parsed));
  assert_int_equal(capsid_runtime_new(NULL, &rt), 0);
  assert_int_equal(capsid__job_start_parsed(rt, spec, &policy, &perr,
                                            on_exit_keep, &parsed, NULL),
                   0);
  capsid__policy_free(&policy); /* the job holds its own copy */
  capsid__error_free(&perr);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  assert_int_equal(parsed.calls, 1);

  assert_int_equal(parsed.result.exit_code, text.result.exit_code);
  assert_int_equal(parsed.result.error.code, text.result.error.code);
  assert_int_equal(parsed.result.error.stage, text.result.error.stage);
  if (text.result.error.field != NULL)
    assert_string_equal(parsed.result.error.field, text.result.error.field);
  if (text.result.error.message != NULL)
    assert_string_equal(parsed.result.error.message,
                        text.result.error.message);
  assert_int_equal(parsed.result.mode, text.result.mode);
  assert_int_equal(parsed.result.out.len, text.result.out.len);
  if (text.result.out.len > 0)
    assert_memory_equal(parsed.result.out.data, text.result.out.data,
                        text.result.out.len);
  *code = text.result.error.code;
  *mode = text.result.mode;
  capsid_result_free(&text.result);
  capsid_result_free(&parsed.result);
  return *code != 0 ? -1 : 0;
}


/* A batch line's policy object travels parsed (scale/jobline.c hands it
 * to capsid__job_start_parsed): the job it gives is the job the same
 * policy as text gives, a refusal included, and so is its error. */
static void test_parsed_policy_runs_as_text(void** state) {
  char* dir = test_mkdtemp();
  char ws[256], cmd[1400];
  const char* argv[] = {"sh", "-c", cmd, NULL};
  capsid_job_spec_t spec;
  capsid_mode_t mode;
  int code;

  (void)state;
  snprintf(ws, sizeof(ws), "%s/ws", dir);
  test_system("mkdir -p '%s/keep'", ws);
  /* Each write is reported, so the output says what the policy let the
   * job do. */
  snprintf(cmd, sizeof(cmd),
           "(echo a > '%s/w1') 2>/dev/null && echo ws-ok; "
           "(echo a > '%s/keep/w1') 2>/dev/null && echo keep-ok; true",
           ws, ws);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = ws;

  /* Writable workspace with a carve-out: the control write succeeds. */
  run_both_ways(&spec,
                "{\"mode\":\"workspace-write\","
                "\"read_only_paths\":[\"keep\"]}",
                &code, &mode);
  assert_int_equal(code, 0);
  {
    char* got;
    size_t len;
    char path[600];
    snprintf(path, sizeof(path), "%s/w1", ws);
    got = test_read_file(path, &len);
    assert_non_null(got); /* the text job wrote it; the parsed one too */
    free(got);
    snprintf(path, sizeof(path), "%s/keep/w1", ws);
    got = test_read_file(path, &len);
    /* Landlock-only mode cannot hold a carve-out (docs/security.md). */
    if (mode != CAPSID_MODE_LANDLOCK_ONLY)
      assert_null(got);
    free(got);
  }

  /* Read-only: the same write is refused both ways. */
  snprintf(cmd, sizeof(cmd), "(echo a > '%s/w2') 2>/dev/null && echo ws-ok;"
           " true", ws);
  run_both_ways(&spec, "{\"mode\":\"read-only\"}", &code, &mode);
  assert_int_equal(code, 0);
  {
    char path[600];
    struct stat st;
    snprintf(path, sizeof(path), "%s/w2", ws);
    assert_int_equal(stat(path, &st), -1);
  }

  /* A policy that does not parse: the job's error, the same both ways. */
  run_both_ways(&spec, "{\"mode\":\"workspace-write\",\"bogus\":1}", &code,
                &mode);
  assert_int_equal(code, CAPSID_EPOLICY);
  test_rmtree(dir);
  free(dir);
}


static void test_api_misuse(void** state) {
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;

  (void)state;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  assert_int_equal(capsid_runtime_new(NULL, NULL), CAPSID_EINVAL);
  assert_int_equal(capsid_runtime_new(NULL, &rt), 0);
  assert_int_equal(capsid_job_start(rt, NULL, on_exit_keep, NULL, NULL),
                   CAPSID_EINVAL);
  assert_int_equal(capsid_job_start(rt, &spec, NULL, NULL, NULL),
                   CAPSID_EINVAL);
  assert_int_equal(capsid_job_kill(NULL), CAPSID_EINVAL);
  capsid_runtime_close(rt, NULL, NULL);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_codes_and_signals),
      cmocka_unit_test(test_stdin_delivered),
      cmocka_unit_test(test_env_modes),
      cmocka_unit_test(test_capture_cap_keeps_head_and_tail),
      cmocka_unit_test(test_capture_drains_past_cap),
      cmocka_unit_test(test_binary_output_is_exact),
      cmocka_unit_test(test_timeout_kills_tree),
      cmocka_unit_test(test_exit_kills_leftovers),
      cmocka_unit_test(test_start_failures_report),
      cmocka_unit_test(test_concurrency_limit_200_jobs),
      cmocka_unit_test(test_kill_running_job),
      cmocka_unit_test(test_runtime_close_kills_and_cancels),
      cmocka_unit_test(test_signal_job),
      cmocka_unit_test(test_run_capture),
      cmocka_unit_test(test_api_misuse),
      cmocka_unit_test(test_parsed_policy_runs_as_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
