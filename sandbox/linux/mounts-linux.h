/* The mount plan (mounts-linux.c): read-only world, writable roots,
 * read-only binds over protected paths, private /tmp and /dev/shm, hidden
 * /run, a fresh /proc. Built in the parent; mounts_child runs in the
 * clone child (plain system calls, no allocation, no locks). */
#ifndef CAPSID_MOUNTS_LINUX_H
#define CAPSID_MOUNTS_LINUX_H

#include "capsid-common.h"
#include "policy.h"

typedef enum {
  CAPSID__MNT_PRIVATE = 1, /* stop propagation to and from the host */
  CAPSID__MNT_ALL_RDONLY,  /* every mount read-only, recursively */
  CAPSID__MNT_BIND_RW,     /* bind path onto itself, writable */
  CAPSID__MNT_BIND_RO,     /* bind path onto itself, read-only (recursive) */
  CAPSID__MNT_TMPFS_RW,    /* a private writable tmpfs over path */
  CAPSID__MNT_TMPFS_RO,    /* an empty read-only tmpfs over path (hide) */
  CAPSID__MNT_PROC,        /* a proc of the job's own pid namespace */
  CAPSID__MNT_HIDE,        /* TMPFS_RO, and nothing to do where the path
                              is already gone from the job's view */
  CAPSID__MNT_MQUEUE,      /* the job's IPC namespace's own mqueue */
  /* deny_read (denyread-linux.c): make the cover of denied files, cover
   * a directory, cover a file, unlink the cover's name. */
  CAPSID__MNT_DENY_SOURCE,
  CAPSID__MNT_DENY_DIR,
  CAPSID__MNT_DENY_FILE,
  CAPSID__MNT_DENY_DONE
} capsid__mnt_op_t;

typedef struct capsid__mnt_step_s {
  capsid__mnt_op_t op;
  const char* path; /* borrowed from the sandbox or static */
} capsid__mnt_step_t;

#define CAPSID__MNT_MAX_STEPS 64

typedef struct capsid__mounts_s {
  capsid__mnt_step_t steps[CAPSID__MNT_MAX_STEPS];
  unsigned n;
  const char* failed_path; /* set by the child on failure (shared memory) */
  int private_tmp;         /* /tmp is a private tmpfs */
  int private_shm;         /* /dev/shm is a private tmpfs */
  char state_dir[4096];    /* capsid's state directory, canonical, hidden */
  char session[48];       /* /run/user/<uid>: hidden from online jobs */
} capsid__mounts_t;

/* Builds the plan. Paths are borrowed from sb, which must outlive the
 * spawn. Fails with CAPSID_ETOOLONG when a policy needs more steps than
 * the plan holds. */
int capsid__mounts_plan(capsid__mounts_t* m, const capsid__sandbox_t* sb,
                        const char* program, int new_pid_ns,
                        capsid_error_t* err);
int capsid__mounts_child(capsid__mounts_t* m);
/* Appends one step; CAPSID_ETOOLONG when the plan is full. */
int capsid__mounts_push(capsid__mounts_t* m, capsid__mnt_op_t op,
                        const char* path, capsid_error_t* err);

/* Copies capsid's state directory, canonical, into out: 1, or 0 when it
 * does not resolve (not set up) or does not fit. Resolved once per
 * process and state directory name. */
int capsid__state_dir_real(char* out, size_t size);

#endif
