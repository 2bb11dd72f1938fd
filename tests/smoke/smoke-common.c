#include "smoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

capsid_mode_t smoke_mode = CAPSID_MODE_UNPRIVILEGED;
capsid_mode_t smoke_mode_ran = CAPSID_MODE_UNPRIVILEGED;
const char* smoke_variant = "unprivileged";


void smoke_run_argv(const smoke_job_t* job, const char* const* argv,
                    capsid_result_t* result) {
  capsid_job_spec_t spec;

  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.env = job->env;
  spec.cwd = job->cwd;
  spec.policy = job->policy;
  spec.writable_roots = job->writable;
  spec.read_only_paths = job->read_only;
  spec.network = job->network;
  spec.mode = smoke_mode;
  spec.timeout_ms = job->timeout_ms ? job->timeout_ms : 30000;
  spec.memory_limit = job->memory_limit;
  spec.max_processes = job->max_processes;
  memset(result, 0, sizeof(*result));
  capsid_run_capture(&spec, result);
}


void smoke_run(const smoke_job_t* job, const char* script,
               capsid_result_t* result) {
  const char* argv[] = {"/bin/sh", "-c", script, NULL};

  smoke_run_argv(job, argv, result);
}


void smoke_check_ran(const capsid_result_t* result) {
  char msg[1024];

  if (result->error.code != 0) {
    fprintf(stderr, "capsid failed: %s\n",
            capsid_error_format(&result->error, msg, sizeof(msg)));
    fail();
  }
  if (result->mode != smoke_mode_ran) {
    fprintf(stderr, "job ran in mode %s, want %s\n",
            capsid_mode_name(result->mode), capsid_mode_name(smoke_mode_ran));
    fail();
  }
}


void smoke_sh(const smoke_job_t* job, const char* script,
              capsid_result_t* result) {
  smoke_run(job, script, result);
  smoke_check_ran(result);
}


int smoke_sh_status(const smoke_job_t* job, const char* script) {
  capsid_result_t r;
  int status;

  smoke_sh(job, script, &r);
  status = r.signal ? 1000 + r.signal : r.exit_code;
  if (getenv("SMOKE_VERBOSE") != NULL)
    fprintf(stderr, "[%s] -> %d\n  out: %.300s\n  err: %.300s\n", script,
            status, r.out.data ? r.out.data : "", r.err.data ? r.err.data : "");
  capsid_result_free(&r);
  return status;
}


/* 1 when path is dir or below it (both canonical). */
static int under(const char* path, const char* dir) {
  size_t n = strlen(dir);

  return n > 0 && strncmp(path, dir, n) == 0 &&
         (path[n] == '\0' || path[n] == '/' || dir[n - 1] == '/');
}


/* workspace-write grants /tmp and $TMPDIR, so fixtures placed there would
 * make every "outside the roots" denial pass for the wrong reason (a
 * checkout under /tmp did exactly that). The build tree is used when it is
 * clear of both; otherwise a directory under /var/tmp, which no policy
 * grants. */
const char* smoke_dir(void) {
  static char dir[4096];
  const char* tmpdir = getenv("TMPDIR");
  char build[4096], tmpreal[4096];

  if (dir[0] != '\0')
    return dir;
  mkdir(CAPSID_SMOKE_DIR, 0755);
  if (realpath(CAPSID_SMOKE_DIR, build) == NULL)
    snprintf(build, sizeof(build), "%s", CAPSID_SMOKE_DIR);
  if (tmpdir == NULL || realpath(tmpdir, tmpreal) == NULL)
    tmpreal[0] = '\0';
  if (!under(build, "/tmp") && !under(build, tmpreal)) {
    snprintf(dir, sizeof(dir), "%s", build);
    return dir;
  }
  snprintf(dir, sizeof(dir), "/var/tmp/capsid-smoke-%ld", (long)geteuid());
  mkdir(dir, 0755);
  if (under(dir, tmpreal)) {
    fprintf(stderr, "smoke: both the build tree and /var/tmp are under "
                    "writable roots ($TMPDIR=%s); unset TMPDIR\n", tmpdir);
    exit(2);
  }
  printf("smoke: fixtures in %s: the build tree %s is under /tmp or "
         "$TMPDIR, which workspace-write grants\n", dir, build);
  return dir;
}


char* smoke_workspace(void) {
  const char* base = smoke_dir();
  char* path = malloc(strlen(base) + 32);

  /* A new case: capsid is invoked by root again (smoke_give_to_nobody). */
  unsetenv("SUDO_UID");
  assert_non_null(path);
  sprintf(path, "%s/capsid-test-XXXXXX", base);
  assert_non_null(mkdtemp(path));
  /* mkdtemp makes it 0700; a workspace is an ordinary directory. */
  chmod(path, 0755);
  return path;
}


void smoke_give_to_nobody(const char* ws) {
  assert_int_equal(chown(ws, 65534, 65534), 0);
  /* As if nobody ran capsid through sudo: root capsid makes only the
   * invoking user's directories writable. */
  setenv("SUDO_UID", "65534", 1);
}


void smoke_rmtree(char* dir) {
  test_rmtree(dir);
  free(dir);
}


/* Unique per call and per run: fixtures under /var/tmp outlive a run, and
 * pids come round again, so the pid alone let a later run find an earlier
 * run's directory of the same name (mkdir: EEXIST). */
const char* smoke_token(void) {
  static char buf[64];
  static unsigned n;
  static unsigned run;

  /* Short: tokens end up in unix socket paths (108 bytes at most). */
  if (run == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    run = ((unsigned)ts.tv_sec * 1000003u ^ (unsigned)ts.tv_nsec) | 1u;
  }
  snprintf(buf, sizeof(buf), "smk%ld_%x_%u", (long)getpid(), run, ++n);
  return buf;
}


int smoke_have(const char* program) {
  char cmd[256];

  snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", program);
  return test_system("%s", cmd) == 0;
}
