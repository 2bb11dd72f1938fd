/* What capsid keeps from one job to the next (a workspace's held network
 * namespace, Landlock path descriptors, seccomp filters, children's
 * stacks) never reaches a job, and a cache never hands one workspace's
 * state to another. */
#include "smoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>


/* The job's open descriptors, as `ls` lists them: 0-2 and the one ls
 * reads the directory through, nothing else. */
static void assert_only_stdio(const smoke_job_t* job) {
  capsid_result_t r;

  smoke_sh(job, "ls /proc/self/fd | tr '\\n' ' '", &r);
  if (strcmp(r.out.data ? r.out.data : "", "0 1 2 3 ") != 0) {
    fprintf(stderr, "job's descriptors: %s\n", r.out.data);
    fail();
  }
  capsid_result_free(&r);
}


void smoke_no_fd_leak(void** state) {
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  smoke_job_t a_off = {.cwd = a, .network = 0};
  smoke_job_t a_on = {.cwd = a, .network = 1};
  smoke_job_t b_off = {.cwd = b, .network = 0};

  (void)state;
  /* Warm every cache first: both workspaces, both network settings. */
  assert_int_equal(smoke_sh_status(&a_off, "true"), 0);
  assert_int_equal(smoke_sh_status(&b_off, "true"), 0);
  assert_int_equal(smoke_sh_status(&a_on, "true"), 0);
  assert_only_stdio(&a_off);
  assert_only_stdio(&a_on);
  assert_only_stdio(&b_off);
  smoke_rmtree(a);
  smoke_rmtree(b);
}


static void net_ns(const smoke_job_t* job, char* out, size_t size) {
  capsid_result_t r;

  smoke_sh(job, "readlink /proc/self/ns/net", &r);
  snprintf(out, size, "%s", r.out.data ? r.out.data : "");
  capsid_result_free(&r);
  assert_true(strncmp(out, "net:[", 5) == 0);
}


/* Offline jobs of one workspace reuse its network namespace; another
 * workspace gets its own (a key of the cache is the workspace); an online
 * job is in the host's. Each job here runs in a runtime of its own
 * (capsid_run_capture): unprivileged mode holds the namespaces per process,
 * elevated mode per runtime, so only the former reuses them here. */
void smoke_netns_per_workspace(void** state) {
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  smoke_job_t a_off = {.cwd = a, .network = 0};
  smoke_job_t b_off = {.cwd = b, .network = 0};
  smoke_job_t a_on = {.cwd = a, .network = 1};
  char a1[64], a2[64], b1[64], on[64], host[64];
  ssize_t n;

  (void)state;
  n = readlink("/proc/self/ns/net", host, sizeof(host) - 2);
  assert_true(n > 0);
  host[n] = '\n';
  host[n + 1] = '\0';
  net_ns(&a_off, a1, sizeof(a1));
  net_ns(&b_off, b1, sizeof(b1));
  net_ns(&a_off, a2, sizeof(a2));
  net_ns(&a_on, on, sizeof(on));
  if (smoke_mode_ran == CAPSID_MODE_UNPRIVILEGED)
    assert_string_equal(a1, a2);
  assert_string_not_equal(a1, b1);
  assert_string_not_equal(a1, host);
  assert_string_not_equal(b1, host);
  assert_string_equal(on, host);
  smoke_rmtree(a);
  smoke_rmtree(b);
}


/* Elevated mode skips the post-job re-apply when no recorded directory of
 * the workspace changed (a snapshot of the record, checked on the loop
 * thread). Jobs that change nothing must not hide the next job's files
 * from the owner: after no-op jobs, a job that makes private files, at the
 * top and two levels down in a directory an earlier job made, still leaves
 * them usable by the workspace's real owner. */
void smoke_fixup_after_noop(void** state) {
  char* ws;
  smoke_job_t rw;

  (void)state;
  if (smoke_mode_ran != CAPSID_MODE_ELEVATED)
    return; /* the other modes change no ACL, nothing to re-apply */
  ws = smoke_workspace();
  memset(&rw, 0, sizeof(rw));
  rw.cwd = ws;
  rw.network = -1;
  smoke_give_to_nobody(ws);
  assert_int_equal(smoke_sh_status(&rw, "mkdir -p a/b"), 0);
  assert_int_equal(smoke_sh_status(&rw, "true"), 0);
  assert_int_equal(smoke_sh_status(&rw, "cat /dev/null"), 0);
  assert_int_equal(smoke_sh_status(&rw, "umask 077; echo s > top; "
                                        "echo d > a/b/deep"),
                   0);
  assert_int_equal(smoke_sh_status(&rw, "true"), 0);
  assert_int_equal(smoke_sh_status(&rw, "umask 077; echo e > a/b/later"),
                   0);
  assert_int_equal(
      test_system("cd '%s' && setpriv --reuid=65534 --regid=65534 "
                  "--clear-groups sh -c 'cat top a/b/deep a/b/later "
                  ">/dev/null && echo more >> a/b/later && rm top'",
                  ws),
      0);
  smoke_rmtree(ws);
}


/* fanotify groups this process holds (each a watch of a workspace). */
static int fanotify_groups(void) {
  return test_count_fds_to("anon_inode:[fanotify]");
}


static void one_done(capsid_job_t* job, capsid_result_t* r, void* data) {
  int* status = data;

  (void)job;
  *status = r->error.code != 0 ? -1 : r->exit_code;
}


/* Runs script in cwd through rt (elevated, as the suite's jobs) and
 * returns its exit code, -1 when capsid failed. */
static int rt_sh(capsid_runtime_t* rt, uv_loop_t* loop, const char* cwd,
                 const char* script) {
  const char* argv[] = {"/bin/sh", "-c", script, NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  int status = -2;

  spec.argv = argv;
  spec.cwd = cwd;
  spec.mode = smoke_mode;
  spec.timeout_ms = 30000;
  assert_int_equal(capsid_job_start(rt, &spec, one_done, &status, NULL), 0);
  while (status == -2)
    uv_run(loop, UV_RUN_ONCE);
  return status;
}


/* Watches are fanotify groups, 128 per user on the whole machine: one
 * runtime keeps at most 16 however many workspaces it served, and gives
 * them back when it closes (a runtime made per job, as
 * capsid_run_capture does, left its watch behind: this suite's earlier
 * cases alone took all 128). A workspace whose watch went still gets its
 * post-job pass: a file made private by a job there is the owner's again
 * after it. */
void smoke_watches_bounded(void** state) {
  capsid_runtime_options_t opts = CAPSID_RUNTIME_OPTIONS_INIT;
  capsid_runtime_t* rt;
  uv_loop_t loop;
  char* first;
  char* ws[20];
  int i, before, during;

  (void)state;
  if (smoke_mode_ran != CAPSID_MODE_ELEVATED)
    return; /* only elevated mode watches workspaces */
  before = fanotify_groups();
  uv_loop_init(&loop);
  opts.loop = &loop;
  assert_int_equal(capsid_runtime_new(&opts, &rt), 0);
  first = smoke_workspace();
  smoke_give_to_nobody(first);
  assert_int_equal(rt_sh(rt, &loop, first, "true"), 0);
  for (i = 0; i < 20; i++) {
    ws[i] = smoke_workspace();
    assert_int_equal(rt_sh(rt, &loop, ws[i], "true"), 0);
  }
  during = fanotify_groups() - before;
  print_message("fanotify groups: %d before, %d more after 21 workspaces\n",
                before, during);
  assert_true(during >= 1); /* watches are made, and counted here */
  assert_true(during <= 16);
  smoke_give_to_nobody(first);
  assert_int_equal(rt_sh(rt, &loop, first, "umask 077; echo late > late"),
                   0);
  assert_int_equal(
      test_system("cd '%s' && setpriv --reuid=65534 --regid=65534 "
                  "--clear-groups sh -c 'cat late >/dev/null && "
                  "echo more >> late'",
                  first),
      0);
  capsid_runtime_close(rt, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(fanotify_groups(), before);
  for (i = 0; i < 20; i++)
    smoke_rmtree(ws[i]);
  smoke_rmtree(first);
}
