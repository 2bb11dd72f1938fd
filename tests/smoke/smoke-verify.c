/* Fail closed (sandbox/linux/verify-linux.c): a restriction that is
 * skipped, as if the kernel had ignored it, makes the job refused with
 * CAPSID_EVERIFY naming it, and the job's command never runs. The skip
 * comes from the fault sites "skip.*" of Debug builds. The control: the
 * same job with nothing skipped runs. */
#include "smoke.h"

#include "confine-linux.h"
#include "fault.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Only builds with failure injection (Debug) can skip a restriction; in
 * the others this case is not registered (smoke-main.c). */
#ifdef CAPSID_FAULT_INJECTION
typedef struct skip_case_s {
  const char* faults; /* capsid__fault_set spec */
  const char* names; /* what the error message must name */
  int modes;         /* 1 unprivileged, 2 landlock-only, 4 elevated */
  /* Also a valid refusal: a mount of this path failing first. */
  const char* or_mount;
} skip_case_t;

/* Landlock is not listed for elevated mode: there the job's /proc files
 * belong to root after the identity switch, so the probe is refused by
 * DAC as well and cannot tell (verify-linux.c says so). Capabilities are
 * not checked in landlock-only mode, where a non-root caller has none to
 * drop and root keeps the bounding set. */
static const skip_case_t skip_cases[] = {
    /* Landlock and seccomp refuse to apply without no-new-privs (that
     * refusal alone fails the job): skip them too, to reach the check. */
    {"skip.nnp=1:EPERM,skip.landlock=1:EPERM,skip.seccomp=1:EPERM",
     "no-new-privs", 7, NULL},
    {"skip.seccomp=1:EPERM", "seccomp filter", 7, NULL},
    {"skip.landlock=1:EPERM", "Landlock domain", 3, NULL},
    {"skip.caps=1:EPERM", "capability drop", 5, NULL},
    {"skip.identity=1:EPERM", "workspace identity", 4, NULL},
    {"skip.cgroup=1:EPERM", "resource limits", 7, NULL},
    /* The host's SysV IPC (landlock-only has none: seccomp refuses it). */
    /* Where the host mounts /dev/mqueue, the job's own mqueue cannot be
     * mounted from the host's IPC namespace in unprivileged mode: that
     * refuses the job first. */
    {"skip.ipc=1:EPERM", "IPC namespace", 5, "/dev/mqueue"},
};

/* Online, in the host's network namespace: host abstract sockets stay
 * out of reach only through the scope. */
static const skip_case_t online_cases[] = {
    {"skip.scope=1:EPERM", "abstract-socket scope", 7, NULL},
};


static int mode_bit(void) {
  switch (smoke_mode_ran) {
  case CAPSID_MODE_UNPRIVILEGED:
    return 1;
  case CAPSID_MODE_LANDLOCK_ONLY:
    return 2;
  case CAPSID_MODE_ELEVATED:
    return 4;
  default:
    return 0;
  }
}


/* Runs the job once per case of this mode with the case's restriction
 * skipped; each must be refused naming it, its command never run. */
static int try_skips(const smoke_job_t* j, const char* script,
                     const char* marker, const skip_case_t* cases,
                     size_t n) {
  char msg[1024];
  capsid_result_t r;
  struct stat st;
  size_t i;
  int tried = 0;

  for (i = 0; i < n; i++) {
    if ((cases[i].modes & mode_bit()) == 0)
      continue;
    assert_int_equal(capsid__fault_set(cases[i].faults), 0);
    smoke_run(j, script, &r);
    capsid__fault_set(NULL);
    capsid_error_format(&r.error, msg, sizeof(msg));
    if ((r.error.code != CAPSID_EVERIFY ||
         r.error.stage != CAPSID_STAGE_VERIFY ||
         strstr(msg, cases[i].names) == NULL) &&
        (cases[i].or_mount == NULL || r.error.stage != CAPSID_STAGE_MOUNT ||
         r.error.path == NULL ||
         strcmp(r.error.path, cases[i].or_mount) != 0)) {
      fprintf(stderr, "%s: want CAPSID_EVERIFY naming \"%s\", got: %s\n",
              cases[i].faults, cases[i].names, msg);
      fail();
    }
    assert_int_not_equal(stat(marker, &st), 0); /* the command never ran */
    capsid_result_free(&r);
    tried++;
  }
  return tried;
}


void smoke_verify_fails_closed(void** state) {
  char* ws = smoke_workspace();
  /* A memory limit, so the job has a cgroup (or rlimit) to verify. */
  smoke_job_t j = {.cwd = ws, .network = -1, .memory_limit = 256 << 20};
  char marker[1200], script[1400];
  capsid_result_t r;
  struct stat st;
  int tried;

  (void)state;
  snprintf(marker, sizeof(marker), "%s/ran", ws);
  snprintf(script, sizeof(script), "touch '%s'", marker);
  tried = try_skips(&j, script, marker, skip_cases,
                    CAPSID__ARRAY_SIZE(skip_cases));
  j.network = 1;
  if (capsid__landlock_abi() >= 6)
    tried += try_skips(&j, script, marker, online_cases,
                       CAPSID__ARRAY_SIZE(online_cases));
  j.network = -1;
  assert_true(tried > 0);
  /* Control: nothing skipped, the job runs and its command takes effect. */
  smoke_sh(&j, script, &r);
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(stat(marker, &st), 0);
  capsid_result_free(&r);
  smoke_rmtree(ws);
}
#endif
