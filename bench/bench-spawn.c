/* capsid bench spawn: the cost of one sandboxed /bin/true, sequentially,
 * against a plain posix_spawn + waitpid loop in this process and against
 * bubblewrap when it is installed. Rounds are interleaved so that noise
 * from other tenants hits every contender alike.
 *
 * Without --mode (auto) every confining mode this machine offers is
 * measured: unprivileged, and elevated when running as root -- set up for
 * the run in a temporary state directory (and uninstalled after) when the
 * machine is not set up. The first job of each mode is a warm-up: it
 * builds the seccomp filter and, in elevated mode, grants the workspace. */
#include "bench.h"

#include "acl.h"
#include "acl-int.h"
#include "system.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

static const char help[] =
    "Usage: capsid bench spawn [-n N] [--mode MODE]\n"
    "\n"
    "Runs N (default 1000) sequential /bin/true jobs through the capsid\n"
    "runtime, network off, and compares the median per job with a plain\n"
    "posix_spawn+waitpid loop and with `bwrap --unshare-net --ro-bind / /\n"
    "true` when bubblewrap is installed. Without --mode, each mode this\n"
    "machine offers is measured (elevated needs root; it is set up in a\n"
    "temporary state directory for the run when needed).\n";

typedef struct {
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  double* samples;
  long n;
  long done;
  double t0;
  int failures;
  capsid_mode_t mode_ran;
} spawn_run_t;


static void next_job(spawn_run_t* r);


static void on_exit_cb(capsid_job_t* job, capsid_result_t* res, void* data) {
  spawn_run_t* r = data;

  (void)job;
  r->samples[r->done++] = (bench_now() - r->t0) * 1e3;
  if (res->error.code != 0 || res->exit_code != 0) {
    if (r->failures++ == 0) {
      char msg[512];
      bench_note("a job failed: %s (exit %d)",
                 capsid_error_format(&res->error, msg, sizeof(msg)),
                 res->exit_code);
    }
  }
  r->mode_ran = res->mode;
  if (r->done < r->n)
    next_job(r);
}


static void next_job(spawn_run_t* r) {
  r->t0 = bench_now();
  if (capsid_job_start(r->rt, &r->spec, on_exit_cb, r, NULL) != 0) {
    r->failures++;
    r->done = r->n;
  }
}


/* count jobs through the runtime; per-job milliseconds into samples. */
static const char* workspace;

static int run_capsid(capsid_mode_t mode, long count, double* samples,
                      capsid_mode_t* mode_ran) {
  static const char* argv[] = {"/bin/true", NULL};
  capsid_runtime_options_t ro;
  spawn_run_t r;

  memset(&r, 0, sizeof(r));
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = 1;
  if (capsid_runtime_new(&ro, &r.rt) != 0)
    return -1;
  r.spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  r.spec.argv = argv;
  r.spec.mode = mode;
  r.spec.network = 0;
  r.spec.cwd = workspace;
  r.samples = samples;
  r.n = count;
  next_job(&r);
  capsid_runtime_run(r.rt);
  capsid_runtime_close(r.rt, NULL, NULL);
  *mode_ran = r.mode_ran;
  return r.failures;
}


static void run_plain(char* const* argv, long count, double* samples) {
  long i;
  double t0;

  for (i = 0; i < count; i++) {
    t0 = bench_now();
    bench_spawn_wait(argv, 0);
    samples[i] = (bench_now() - t0) * 1e3;
  }
}


#define MAX_MODES 2

/* The elevated runs granted the temporary workspace in the machine's
 * state directory: take the grants and their record back, so a
 * benchmark leaves nothing there (a temporary setup is uninstalled
 * whole instead). */
static void forget_workspace(const char* ws) {
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t stats;
  capsid_error_t err = {0};
  char* lock;
  int os_error = 0;

  memset(&plan, 0, sizeof(plan));
  memset(&opts, 0, sizeof(opts));
  plan.key = (char*)ws; /* revoke reads the record; the plan names it */
  opts.state_dir = capsid__state_dir();
  if (capsid__acl_run(CAPSID__ACL_REVOKE, &plan, &opts, &stats, &err) != 0)
    bench_note("elevated mode: cannot revoke the bench workspace: %s",
               err.message ? err.message : "unknown error");
  capsid__error_free(&err);
  lock = capsid__acl_record_path(opts.state_dir, ws, ".lock");
  if (lock != NULL)
    capsid__acl_fs_unlink(lock, &os_error);
  capsid__free(lock);
}


int bench_spawn_main(int argc, char** argv) {
  static char* true_argv[] = {"/bin/true", NULL};
  static char* bwrap_argv[] = {"bwrap", "--unshare-net", "--ro-bind", "/",
                               "/", "--dev", "/dev", "true", NULL};
  char ws_template[] = "/tmp/capsid-bench-XXXXXX";
  char state_template[] = "/tmp/capsid-bench-state-XXXXXX";
  capsid_mode_t modes[MAX_MODES], ran[MAX_MODES];
  bench_opts_t o;
  bench_stats_t plain, caps[MAX_MODES], bw;
  double *s_plain, *s_caps[MAX_MODES], *s_bw, warm;
  long n, per_round, round, rounds = 5;
  int have_bwrap, rc, failures = 0, n_modes = 0, i, temp_setup = 0;
  capsid_error_t err = {0};
  char name[96];

  rc = bench_parse("spawn", help, argc, argv, &o);
  if (rc != 0)
    return rc < 0 ? 2 : 0;
  n = o.n ? o.n : (o.quick ? 50 : 1000);
  per_round = (n + rounds - 1) / rounds;
  n = per_round * rounds;
  have_bwrap = bench_spawn_wait(bwrap_argv, 0) == 0;
  workspace = mkdtemp(ws_template);
  if (workspace == NULL) {
    bench_note("cannot make a workspace under /tmp");
    return 1;
  }
  if (o.mode != CAPSID_MODE_AUTO) {
    modes[n_modes++] = o.mode;
  } else {
    modes[n_modes++] = CAPSID_MODE_UNPRIVILEGED;
    if (geteuid() == 0) {
      if (capsid__system_probe(NULL, NULL, NULL) != CAPSID_MODE_ELEVATED &&
          mkdtemp(state_template) != NULL) {
        setenv("CAPSID_STATE_DIR", state_template, 1);
        temp_setup = capsid__system_setup(NULL, NULL, &err) == 0;
        if (!temp_setup)
          bench_note("elevated mode: setup failed: %s", err.message);
        capsid__error_free(&err);
      }
      modes[n_modes++] = CAPSID_MODE_ELEVATED;
    }
  }
  s_plain = calloc((size_t)n, sizeof(double));
  s_bw = calloc((size_t)n, sizeof(double));
  for (i = 0; i < n_modes; i++) {
    s_caps[i] = calloc((size_t)n, sizeof(double));
    failures += run_capsid(modes[i], 1, &warm, &ran[i]);
  }
  for (round = 0; round < rounds; round++) {
    run_plain(true_argv, per_round, s_plain + round * per_round);
    for (i = 0; i < n_modes; i++)
      failures += run_capsid(modes[i], per_round,
                             s_caps[i] + round * per_round, &ran[i]);
    if (have_bwrap)
      run_plain(bwrap_argv, per_round, s_bw + round * per_round);
  }
  bench_stats(s_plain, (size_t)n, &plain);
  bench_stats(s_bw, (size_t)n, &bw);

  bench_header("spawn", "sequential /bin/true, median ms per job "
               "(ratio: to posix_spawn)");
  bench_row(&o, "spawn", "posix_spawn+waitpid (baseline)", plain.median,
            "ms", 1.0);
  for (i = 0; i < n_modes; i++) {
    bench_stats(s_caps[i], (size_t)n, &caps[i]);
    snprintf(name, sizeof(name), "capsid runtime, mode %s",
             capsid_mode_name(ran[i]));
    bench_row(&o, "spawn", name, caps[i].median, "ms",
              caps[i].median / plain.median);
  }
  if (have_bwrap) {
    bench_row(&o, "spawn", "bwrap --unshare-net --ro-bind / /", bw.median,
              "ms", bw.median / plain.median);
    for (i = 0; i < n_modes; i++) {
      snprintf(name, sizeof(name), "bwrap / capsid %s",
               capsid_mode_name(ran[i]));
      bench_row(&o, "spawn", name, bw.median / caps[i].median, "x", 0);
    }
  } else {
    bench_note("bubblewrap is not installed: no bwrap row");
  }
  for (i = 0; i < n_modes; i++)
    bench_note("%s: p90 %.3f ms", capsid_mode_name(ran[i]), caps[i].p90);
  bench_note("%ld jobs each, %ld interleaved rounds; p90 baseline %.3f ms%s",
             n, rounds, plain.p90,
             temp_setup ? "; elevated was set up for this run only" : "");
  /* A cgroup parent other capsid processes' jobs still use stays: that
   * is noted, not a failure of the benchmark. */
  if (temp_setup && capsid__system_uninstall(NULL, NULL, &err) != 0) {
    bench_note("uninstall after the run: %s", err.message);
    capsid__error_free(&err);
  }
  for (i = 0; !temp_setup && i < n_modes; i++)
    if (ran[i] == CAPSID_MODE_ELEVATED) {
      forget_workspace(workspace);
      break;
    }
  rmdir(workspace);
  free(s_plain);
  free(s_bw);
  for (i = 0; i < n_modes; i++)
    free(s_caps[i]);
  if (failures > 0) {
    bench_note("%d capsid jobs failed", failures);
    return 1;
  }
  return 0;
}
