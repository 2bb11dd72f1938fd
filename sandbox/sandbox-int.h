/* The launch contract every OS backend implements (sandbox/<os>/).
 *
 * The portable job code resolves the policy, builds the environment and the
 * pipes, then asks the backend to start the confined process and to tell it
 * when the process has exited. All calls happen on the loop thread. */
#ifndef CAPSID_SANDBOX_INT_H
#define CAPSID_SANDBOX_INT_H

#include "capsid-common.h"
#include "policy.h"
#include "pool.h"

#include <uv.h>

/* What capsid__prelaunch worked out for one job and hands to its launch:
 * the backend's own (Windows: the job's token SIDs and its ACL plan,
 * sandbox/win/plan-win.h; Linux: the workspace entry of an elevated job,
 * so the launch and capsid__postexit need not look it up again), NULL
 * where a backend keeps nothing. The job
 * owns it and frees it with capsid__prep_free (NULL is fine). */
typedef struct capsid__prep_s capsid__prep_t;
void capsid__prep_free(capsid__prep_t* prep);

/* A job's limits, as one value from the spec to the job, the launch and
 * the confinement (cgroups, rlimits, the job object). 0 means none. */
typedef struct capsid__limits_s {
  uint64_t memory;           /* bytes */
  uint32_t processes;
  double cpu;                /* CPUs */
  uint64_t timeout_ms;       /* the runtime's timer */
  uint64_t output;           /* bytes kept per stream */
} capsid__limits_t;

typedef struct capsid__launch_s {
  const char* path;          /* the program, resolved */
  char* const* argv;
  char* const* envp;
  const char* cwd;           /* canonical */
  uv_file child_stdio[3];    /* the child's ends of the pipes */
  const capsid__sandbox_t* sandbox;
  capsid_mode_t mode;        /* decided by capsid__prelaunch */
  capsid__limits_t limits;
  const capsid__prep_t* prep; /* capsid__prelaunch's, or NULL */
} capsid__launch_t;

typedef struct capsid__exit_s {
  int exit_code;             /* -1 when killed by a signal */
  int signal;
  int oom;
  double user_cpu_ms;
  double sys_cpu_ms;
  int64_t peak_memory;       /* -1 unknown */
  int limits;                /* capsid_limits_t */
  int pids_limited;
} capsid__exit_t;

typedef struct capsid__proc_s capsid__proc_t;

/* Called once when the job's main process has exited and been reaped. */
typedef void (*capsid__proc_exit_cb)(capsid__proc_t* proc,
                                     const capsid__exit_t* status,
                                     void* data);

/* Called once, on the loop thread, when the work capsid__prelaunch started
 * is done: status 0, or a CAPSID_E* code with err naming what failed. */
typedef void (*capsid__prelaunch_cb)(void* data, int status,
                                     const capsid_error_t* err);

/* Before launch: decides *mode, once (auto becomes the mode that will
 * run, or stays auto when no mode confines here, which the launch
 * refuses; capsid__proc_spawn takes the decision as it is), plans what
 * the launch needs into *prep (NULL when nothing; set even when an error
 * follows, for the caller to free), and does what must be in place
 * before the first job of a workspace (elevated mode: its identities and
 * its ACL grants, applied on the worker pool).
 * Returns 0 when the job can launch now, 1 when cb will be called later
 * (the job waits without blocking the loop), or a negative CAPSID_E* code
 * with err filled. A backend with nothing to prepare returns 0. */
int capsid__prelaunch(uv_loop_t* loop, capsid__pool_t* pool,
                      const capsid__sandbox_t* sb, capsid_mode_t* mode,
                      capsid__prep_t** prep, capsid__prelaunch_cb cb,
                      void* data, capsid_error_t* err);

/* After the job's processes are gone and before its result is made:
 * work on what the job left (elevated mode: an incremental re-apply of the
 * workspace's grants, which restores the entries a job's create mode or
 * chmod masked, so the real owner keeps full access to every file a job
 * made; Linux: for a job the kernel reported a refusal of, the wait on
 * the pool for the kernel's last record of it, capsid__kdenials_take).
 * Returns 0 when there is nothing to wait for, 1 when cb will be
 * called later on the loop thread (its status does not fail the job). */
int capsid__postexit(uv_loop_t* loop, capsid__pool_t* pool,
                     const capsid__sandbox_t* sb, capsid_mode_t mode,
                     const capsid__prep_t* prep, capsid__prelaunch_cb cb,
                     void* data);

/* Between jobs: lets go of what the backend keeps for the next job of a
 * workspace and no job has used for idle_ms (0: all of it). Linux keeps
 * the placeholders of protected paths (placeholder-linux.c), so back to
 * back jobs of a workspace do not each make and remove them; Windows
 * keeps nothing. Returns how many things are still kept: the caller
 * calls again later while that is not 0. Any thread. */
unsigned capsid__sandbox_idle(uint64_t idle_ms);

/* The runtime on loop is closing and has no job left: lets go of what
 * the backend kept for that loop's jobs. Linux's elevated mode keeps a
 * workspace's namespaces and change watch (a fanotify group, of which a
 * user has 128 on the machine) per loop; without this a process that
 * makes a runtime per job (capsid_run_capture) kept them all until it
 * exited. Windows keeps nothing per loop. On loop's thread. */
void capsid__sandbox_loop_closed(uv_loop_t* loop);

/* Finds the program the way execvp would, in the job's PATH, relative
 * names against cwd. Fails with CAPSID_ENOTFOUND or CAPSID_ENOEXEC (stage
 * EXEC, path set) so a job that cannot start says why before anything is
 * created. */
int capsid__proc_resolve(const char* program, const char* path_env,
                         const char* cwd, char** out, capsid_error_t* err);

/* Starts the process. On success *out is live until capsid__proc_close's
 * callback. On failure err names the stage that failed and nothing is left
 * running. The mode that actually ran is stored in *mode_out. */
int capsid__proc_spawn(uv_loop_t* loop, const capsid__launch_t* launch,
                       capsid__proc_exit_cb exit_cb, void* data,
                       capsid__proc_t** out, capsid_mode_t* mode_out,
                       capsid_error_t* err);

/* The OS id of the job's first process (on Linux, with a pid namespace,
 * the namespace's init, as the host sees it). */
int64_t capsid__proc_pid(const capsid__proc_t* proc);

/* Kills every process of the job, not just the main one. Safe to call
 * before and after exit (it then kills what the main process left behind). */
int capsid__proc_kill(capsid__proc_t* proc);

/* Sends sig (a CAPSID_SIG* number) to every process of the job, for it
 * to end by itself. Returns 0, or CAPSID_ENOTSUP where the OS has no way
 * to (Windows: the caller kills after its grace). */
int capsid__proc_signal(capsid__proc_t* proc, int sig);

/* Kills what is left, stops watching and frees the process once its
 * handles are closed; close_cb is then called with data. */
void capsid__proc_close(capsid__proc_t* proc, void (*close_cb)(void* data),
                        void* data);

#endif
