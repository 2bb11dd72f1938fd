/* Linux confinement. Until the confinement issue lands this applies only
 * resource limits through setrlimit and reports mode "none": jobs are NOT
 * sandboxed yet, and the CLI and README say so. */
#include "launch-linux.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

int capsid__confine_prepare(capsid__confine_t* c,
                            const capsid__launch_t* launch,
                            capsid_error_t* err) {
  (void)err;
  memset(c, 0, sizeof(*c));
  c->mode = CAPSID_MODE_NONE;
  c->memory_limit = launch->memory_limit;
  c->max_processes = launch->max_processes;
  return 0;
}


int capsid__confine_child(const capsid__confine_t* c, int* stage) {
  struct rlimit rl;

  /* Last-resort limits: RLIMIT_AS caps address space, not resident memory,
   * and RLIMIT_NPROC counts every process of the uid, not of the job. */
  if (c->memory_limit > 0) {
    rl.rlim_cur = rl.rlim_max = (rlim_t)c->memory_limit;
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
      *stage = CAPSID_STAGE_LIMITS;
      return errno;
    }
  }
  if (c->max_processes > 0) {
    rl.rlim_cur = rl.rlim_max = (rlim_t)c->max_processes;
    if (setrlimit(RLIMIT_NPROC, &rl) != 0) {
      *stage = CAPSID_STAGE_LIMITS;
      return errno;
    }
  }
  return 0;
}


void capsid__confine_after_exit(capsid__confine_t* c, capsid__exit_t* st) {
  (void)c;
  (void)st;
}


void capsid__confine_kill(capsid__confine_t* c) {
  (void)c;
}


void capsid__confine_release(capsid__confine_t* c) {
  (void)c;
}
