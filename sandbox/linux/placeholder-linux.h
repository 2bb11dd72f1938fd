/* Missing protected paths (placeholder-linux.c), made empty for the
 * job's life so a read-only bind can keep them, and removed after. */
#ifndef CAPSID_PLACEHOLDER_LINUX_H
#define CAPSID_PLACEHOLDER_LINUX_H

#include "capsid-common.h"
#include "policy.h"

typedef struct capsid__guard_s {
  int parent_fd;  /* O_PATH: the directory holding it */
  int fd;         /* the directory itself, under a shared flock */
  char* name;
  int made;       /* this job made it */
} capsid__guard_t;

typedef struct capsid__placeholders_s {
  capsid__guard_t* v;
  size_t n;
} capsid__placeholders_t;

/* Is path, now, a placeholder some job holds: a directory with the mark
 * (its sticky bit), not a link, and empty? What the owner put into one
 * makes it theirs. 0 or 1; an error reads as 0. */
int capsid__placeholder_is(const char* path);

/* Parent, before the mount plan is built: makes each missing protected
 * path of sb an empty directory, never through a link, and holds it and
 * every existing protected directory under a shared lock (so a
 * concurrent job's release does not remove it). On failure nothing is
 * held and nothing made is left. */
int capsid__placeholders_hold(capsid__placeholders_t* ph,
                              const capsid__sandbox_t* sb,
                              capsid_error_t* err);
/* After the job's processes are gone: removes each placeholder no other
 * job holds, if still empty (rmdir only), and lets go of the rest; with
 * keep, parks the placeholders for the next job of the workspace instead
 * (capsid__sandbox_idle removes them). Idempotent. */
void capsid__placeholders_release(capsid__placeholders_t* ph, int keep);

#endif
