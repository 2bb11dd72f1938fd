/* Hostile jobs (issue 6): each is contained, reported, and leaves no
 * process behind. Every job carries a unique marker in its command line
 * so the host can look for survivors. */
#include "smoke.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* ws;

/* A job in the shared workspace with the given timeout (0: default). */
static smoke_job_t job_in_ws(uint64_t timeout_ms) {
  smoke_job_t j;

  memset(&j, 0, sizeof(j));
  j.cwd = ws;
  j.network = -1;
  j.timeout_ms = timeout_ms;
  return j;
}


/* Runs fmt with every %1$s replaced by a fresh marker, which
 * finish_marked then looks for among the host's processes. */
static const char* run_marked(const smoke_job_t* j, const char* fmt,
                              capsid_result_t* r) {
  const char* tok = smoke_token();
  char script[1024];

  snprintf(script, sizeof(script), fmt, tok);
  smoke_sh(j, script, r);
  return tok;
}


/* Frees the result and asserts that nothing carrying tok survived. */
static void finish_marked(capsid_result_t* r, const char* tok) {
  capsid_result_free(r);
  assert_int_equal(test_wait_gone(tok), 0);
}


int smoke_hostile_setup(void** state) {
  (void)state;
  ws = smoke_workspace();
  return 0;
}


int smoke_hostile_teardown(void** state) {
  (void)state;
  smoke_rmtree(ws);
  ws = NULL;
  return 0;
}


/* A timeout kills the whole tree, background processes included. */
void smoke_timeout_kills_all(void** state) {
  smoke_job_t j = job_in_ws(700);
  capsid_result_t r;
  const char* tok;

  (void)state;
  /* The marker rides as $0 of each sh -c. */
  tok = run_marked(&j,
      "sh -c 'sleep 300' %1$s & (sh -c 'sleep 300' %1$s &); "
      "sh -c 'sleep 300' %1$s",
      &r);
  assert_true(r.timed_out);
  assert_int_equal(r.signal, SIGKILL);
  finish_marked(&r, tok);
}


/* A memory bomb under a memory limit is killed and reported as oom. */
void smoke_memory_bomb(void** state) {
  smoke_job_t j;
  capsid_result_t r;

  (void)state;
  j = job_in_ws(20000);
  j.memory_limit = 64 << 20;
  smoke_sh(&j,
           "python3 -c \"b=[]\nwhile True: b.append(bytearray(8<<20))\" || "
           "exit 99",
           &r);
  if (r.limits == CAPSID_LIMITS_CGROUP) {
    assert_true(r.oom);
    assert_true(r.signal == SIGKILL || r.exit_code == 99);
  } else {
    /* setrlimit: the allocation fails instead (MemoryError). */
    assert_int_equal(r.exit_code, 99);
  }
  assert_false(r.timed_out);
  capsid_result_free(&r);
}


/* A job's memory limit never takes its host down (issue 14): this
 * process embeds the runtime and holds 200 MB it has touched, a job
 * limited to 64M allocates 300 MB. The job is killed and reported as
 * oom, this process lives on, and the next job runs normally. A limit too
 * small for a shell to start gives an oom or an error, never a dead host.
 * Before the fix the pid namespace's init, which shares this process's
 * memory, sat in the job's memory cgroup and the OOM killer took this
 * process with it. */
void smoke_oom_spares_host(void** state) {
  static const char* const tiny[] = {"8k", "64k", "200k"};
  size_t held = (size_t)200 << 20, i;
  smoke_job_t j = job_in_ws(60000);
  capsid_result_t r;
  uint64_t limit;
  char* hold;

  (void)state;
  hold = malloc(held);
  assert_non_null(hold);
  memset(hold, 0x5a, held);
  j.memory_limit = 64 << 20;
  smoke_sh(&j, "python3 -c \"b = b'a' * (300 << 20)\" || exit 99", &r);
  if (r.limits == CAPSID_LIMITS_CGROUP) {
    assert_true(r.oom);
    assert_true(r.signal == SIGKILL || r.exit_code == 99);
  } else {
    assert_int_equal(r.exit_code, 99); /* rlimit: MemoryError */
  }
  capsid_result_free(&r);

  /* The shell-only form of the issue: $(...) grows the shell itself. */
  for (i = 0; i < CAPSID__ARRAY_SIZE(tiny); i++) {
    assert_int_equal(capsid_parse_size(tiny[i], &limit), 0);
    j.memory_limit = limit;
    smoke_run(&j, "x=$(head -c 10000000 /dev/zero | tr '\\0' a); echo ran",
              &r);
    if (r.error.code != 0) {
      /* Too small to start at all: said so, naming the limit. */
      assert_int_equal(r.error.code, CAPSID_ELIMIT);
      assert_string_equal(r.error.field, "memory_limit");
    } else if (r.limits == CAPSID_LIMITS_CGROUP) {
      assert_true(r.oom);
      assert_int_equal(r.signal, SIGKILL);
    } else {
      assert_int_not_equal(r.exit_code, 0);
    }
    capsid_result_free(&r);
  }

  /* Still here, and the runtime still runs jobs. */
  assert_int_equal(hold[held - 1], 0x5a);
  j.memory_limit = 0;
  smoke_sh(&j, "echo after", &r);
  assert_int_equal(r.exit_code, 0);
  assert_string_equal(r.out.data, "after\n");
  capsid_result_free(&r);
  free(hold);
}


/* A fork bomb under a process limit is contained: the job ends, the
 * limit is reported, nothing survives. */
void smoke_fork_bomb(void** state) {
  smoke_job_t j = job_in_ws(3000);
  capsid_result_t r;
  const char* tok;

  (void)state;
  j.max_processes = 64;
  tok = run_marked(&j,
      "while :; do sh -c 'sleep 100' %1$s & done 2>/dev/null",
      &r);
  /* The shell gives up when fork fails, or the timeout ends it. */
  assert_true(r.timed_out || r.exit_code != 0);
  if (r.limits == CAPSID_LIMITS_CGROUP)
    assert_true(r.pids_limited);
  finish_marked(&r, tok);
}


/* A job that closes its stdout and keeps running is ended by its
 * timeout, not waited for. */
void smoke_closes_stdout(void** state) {
  smoke_job_t j = job_in_ws(700);
  capsid_result_t r;
  const char* tok;

  (void)state;
  tok = run_marked(&j,
      "echo before; exec >&- 2>&-; sh -c 'sleep 300' %1$s",
      &r);
  assert_true(r.timed_out);
  assert_string_equal(r.out.data, "before\n");
  finish_marked(&r, tok);
}


/* 10 GB on stderr: captured within the cap, the rest counted. */
void smoke_floods_stderr(void** state) {
  smoke_job_t j;
  capsid_result_t r;

  (void)state;
  j = job_in_ws(120000);
  smoke_sh(&j, "head -c 10G /dev/zero >&2", &r);
  assert_int_equal(r.exit_code, 0);
  assert_true(r.err.total == (uint64_t)10 << 30);
  assert_true(r.err.truncated);
  assert_true(r.err.len <= CAPSID_DEFAULT_OUTPUT_LIMIT + 256);
  capsid_result_free(&r);
}


/* A job that ignores SIGTERM is killed anyway. */
void smoke_ignores_sigterm(void** state) {
  smoke_job_t j = job_in_ws(700);
  capsid_result_t r;
  const char* tok;

  (void)state;
  tok = run_marked(&j,
      "trap '' TERM INT HUP; sh -c \"trap '' TERM; sleep 300\" %1$s",
      &r);
  assert_true(r.timed_out);
  finish_marked(&r, tok);
}


/* Double fork + setsid to escape: the daemon dies with the job, even
 * though the job's main process exited at once and successfully. */
void smoke_daemonises(void** state) {
  smoke_job_t j = job_in_ws(0);
  capsid_result_t r;
  const char* tok;

  (void)state;
  tok = run_marked(&j,
      "python3 -c \"import os,sys,time\n"
      "if os.fork(): sys.exit(0)\n"
      "os.setsid()\n"
      "if os.fork(): os._exit(0)\n"
      "os.close(0); os.close(1); os.close(2)\n"
      "time.sleep(300)\" %1$s",
      &r);
  assert_int_equal(r.exit_code, 0);
  assert_false(r.timed_out);
  assert_true(r.wall_ms < 10000);
  finish_marked(&r, tok);
}


/* A million one-byte writes: every byte accounted for. */
void smoke_tiny_writes(void** state) {
  smoke_job_t j;
  capsid_result_t r;

  (void)state;
  j = job_in_ws(60000);
  smoke_sh(&j,
           "python3 -c \"import os\nfor i in range(1000000): "
           "os.write(1, b'x')\"",
           &r);
  assert_int_equal(r.exit_code, 0);
  assert_true(r.out.total == 1000000);
  capsid_result_free(&r);
}


/* A job that puts its children in a process group of their own: the
 * group is not what capsid kills, so they die all the same. */
void smoke_own_process_group(void** state) {
  smoke_job_t j = job_in_ws(0);
  capsid_result_t r;
  const char* tok;

  (void)state;
  tok = run_marked(&j,
      "python3 -c \"import os,time\n"
      "if os.fork() == 0:\n"
      "  os.setpgid(0, 0); os.close(1); os.close(2); time.sleep(300)\n"
      "\" %1$s",
      &r);
  assert_int_equal(r.exit_code, 0);
  finish_marked(&r, tok);
}
