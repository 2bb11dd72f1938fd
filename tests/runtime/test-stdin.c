/* Streamed stdin (capsid_job_write_stdin): a job reads what is written
 * while it runs, answers before EOF, and a job that stops reading does
 * not wedge its writer. Real processes and pipes. */
#include "test-common.h"

#include "job-submit.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  capsid_job_t* job;
  int exits;
  capsid_result_t result;
  capsid__buf_t out;
  int written_ok;
  int written_canceled;
  int written_after_exit; /* an on_written that came after the exit */
  int answered;           /* the job answered the first line */
  int64_t spawned_pid;
} session_t;


static void on_exit_keep(capsid_job_t* job, capsid_result_t* r, void* data) {
  session_t* s = data;

  (void)job;
  s->exits++;
  /* Past its exit callback a job takes no more stdin. */
  capsid_result_move(&s->result, r);
}


static void on_written(capsid_job_t* job, int status, void* data) {
  session_t* s = data;

  (void)job;
  if (s->exits > 0)
    s->written_after_exit++;
  if (status == 0)
    s->written_ok++;
  else if (status == CAPSID_ECANCELED)
    s->written_canceled++;
}


/* Sends the second line (and EOF) only once the job has answered the
 * first: the answer cannot have come from an EOF. */
static void on_output(capsid_job_t* job, int stream, const char* b,
                      size_t len, void* data) {
  session_t* s = capsid_job_data(job);

  (void)data;
  if (stream != CAPSID_STDOUT)
    return;
  assert_int_equal(capsid__buf_append(&s->out, b, len), 0);
  if (!s->answered && memmem(s->out.data, s->out.len, "got one\n", 8)) {
    s->answered = 1;
    assert_int_equal(capsid_job_write_stdin(job, "two\n", 4, 1, on_written,
                                            s),
                     0);
  }
}


/* A runtime of its own with one job of spec started, s its data. */
static capsid_runtime_t* start_one(const capsid_job_spec_t* spec,
                                   session_t* s) {
  capsid_runtime_t* rt;

  memset(s, 0, sizeof(*s));
  assert_int_equal(capsid_runtime_new(NULL, &rt), 0);
  assert_int_equal(capsid_job_start(rt, spec, on_exit_keep, s, &s->job), 0);
  return rt;
}


static void run_to_end(capsid_runtime_t* rt) {
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
}


static void test_interactive(void** state) {
  const char* argv[] = {"/bin/sh", "-c",
                        "read a; echo \"got $a\"; read b; echo \"then $b\"; "
                        "read c || echo eof",
                        NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_runtime_t* rt;
  session_t s;

  (void)state;
  spec.argv = argv;
  spec.stdin_stream = 1;
  spec.on_output = on_output;
  rt = start_one(&spec, &s);
  assert_int_equal(capsid_job_write_stdin(s.job, "one\n", 4, 0, on_written,
                                          &s),
                   0);
  /* Never from inside the call. */
  assert_int_equal(s.written_ok, 0);
  run_to_end(rt);
  assert_int_equal(s.exits, 1);
  assert_int_equal(s.result.error.code, 0);
  assert_true(s.answered);
  assert_string_equal(s.result.out.data, "got one\nthen two\neof\n");
  assert_int_equal(s.written_ok, 2);
  assert_int_equal(s.written_after_exit, 0);
  capsid_result_free(&s.result);
  capsid__buf_free(&s.out);
}


/* The job exits without reading: the big write comes back canceled
 * (EPIPE), the writer is told, nothing hangs or crashes. */
static void test_reader_gone(void** state) {
  const char* argv[] = {"/bin/sh", "-c", "exit 0", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_runtime_t* rt;
  size_t big = 4 << 20;
  char* data = calloc(1, big);
  session_t s;

  (void)state;
  spec.argv = argv;
  spec.stdin_stream = 1;
  rt = start_one(&spec, &s);
  /* One write of any size when nothing is queued; then the bound. */
  assert_int_equal(capsid_job_write_stdin(s.job, data, big, 0, on_written,
                                          &s),
                   0);
  assert_int_equal(capsid_job_write_stdin(s.job, "x", 1, 0, on_written, &s),
                   CAPSID_EAGAIN);
  run_to_end(rt);
  assert_int_equal(s.exits, 1);
  assert_int_equal(s.result.exit_code, 0);
  assert_int_equal(s.written_canceled, 1);
  assert_int_equal(s.written_ok, 0);
  assert_int_equal(s.written_after_exit, 0);
  capsid_result_free(&s.result);
  free(data);
}


static void on_spawn(capsid_job_t* job, int64_t pid, capsid_mode_t mode,
                     void* data) {
  session_t* s = data;

  (void)job;
  (void)mode;
  s->spawned_pid = pid;
}


/* A job waiting for a slot keeps what was written, in order, and gets
 * it when it starts; the spawn notice carries the pid of the result. */
static void test_held_until_start(void** state) {
  const char* argv[] = {"/bin/cat", NULL};
  capsid_runtime_options_t ro = CAPSID_RUNTIME_OPTIONS_INIT;
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_runtime_t* rt;
  session_t a, b;

  (void)state;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ro.max_concurrency = 1;
  spec.argv = argv;
  spec.stdin_stream = 1;
  spec.stdin_data = "first ";
  spec.stdin_len = 6;
  assert_int_equal(capsid_runtime_new(&ro, &rt), 0);
  assert_int_equal(capsid_job_start(rt, &spec, on_exit_keep, &a, &a.job), 0);
  assert_int_equal(capsid_job_start(rt, &spec, on_exit_keep, &b, &b.job), 0);
  capsid__job_on_spawn(a.job, on_spawn);
  capsid__job_on_spawn(b.job, on_spawn);
  assert_int_equal(capsid_runtime_queued(rt), 1);
  assert_int_equal(capsid_job_write_stdin(b.job, "held ", 5, 0, on_written,
                                          &b),
                   0);
  assert_int_equal(capsid_job_write_stdin(b.job, "bytes", 5, 1, on_written,
                                          &b),
                   0);
  assert_int_equal(capsid_job_write_stdin(b.job, "late", 4, 0, NULL, NULL),
                   CAPSID_EINVAL);
  assert_int_equal(capsid_job_write_stdin(a.job, NULL, 0, 1, NULL, NULL), 0);
  run_to_end(rt);
  assert_string_equal(a.result.out.data, "first ");
  assert_string_equal(b.result.out.data, "first held bytes");
  assert_int_equal(b.written_ok, 2);
  assert_true(a.spawned_pid > 0 && a.spawned_pid == a.result.pid);
  assert_true(b.spawned_pid > 0 && b.spawned_pid == b.result.pid);
  capsid_result_free(&a.result);
  capsid_result_free(&b.result);
}


static void test_not_streamed(void** state) {
  const char* argv[] = {"/bin/cat", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_runtime_t* rt;
  session_t s;

  (void)state;
  spec.argv = argv;
  assert_int_equal(capsid_job_write_stdin(NULL, "x", 1, 0, NULL, NULL),
                   CAPSID_EINVAL);
  rt = start_one(&spec, &s);
  assert_int_equal(capsid_job_write_stdin(s.job, "x", 1, 0, NULL, NULL),
                   CAPSID_EINVAL);
  run_to_end(rt);
  /* Without stdin_stream stdin ends at once, as before. */
  assert_int_equal(s.result.exit_code, 0);
  assert_string_equal(s.result.out.data, "");
  capsid_result_free(&s.result);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interactive),
      cmocka_unit_test(test_reader_gone),
      cmocka_unit_test(test_held_until_start),
      cmocka_unit_test(test_not_streamed),
  };

  /* As the capsid command does: a job that closed its stdin must give
   * EPIPE, not kill the writer. */
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
