/* The runtime and job objects, shared by runtime.c (scheduling, life
 * cycle) and job.c (one job's state machine). */
#ifndef CAPSID_RUNTIME_INT_H
#define CAPSID_RUNTIME_INT_H

#include "capsid-common.h"
#include "capture.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "sandbox-int.h"
#include "job-submit.h"

#include <uv.h>

#define CAPSID__READ_BUF_SIZE (64 * 1024)
/* How long output may keep flowing after the main process exited and the
 * rest of its tree was killed. Only a process that escaped the kill (no
 * cgroup or pid namespace to hold it) can keep a pipe open that long. */
#define CAPSID__DRAIN_MS 2000

typedef enum {
  JOB_QUEUED = 1,
  JOB_RUNNING,   /* process alive or output still draining */
  JOB_CLOSING,   /* handles closing; callback next */
  JOB_DONE
} capsid__job_state_t;

typedef struct capsid__list_s {
  struct capsid__list_s* prev;
  struct capsid__list_s* next;
} capsid__list_t;

struct capsid_runtime_s {
  uv_loop_t* loop;
  uv_loop_t own_loop;
  int owns_loop;
  unsigned max_concurrency;
  unsigned worker_threads;
  capsid__pool_t* pool;
  capsid__list_t queued;  /* FIFO */
  capsid__list_t active;  /* running or closing */
  unsigned n_queued;
  unsigned n_running;     /* counted against max_concurrency */
  unsigned n_jobs;        /* every job not yet freed */
  int closing;
  void (*close_cb)(void* data);
  void* close_data;
  uv_idle_t kick;         /* starts queued jobs outside of callbacks */
  int kick_active;
  uv_timer_t idle;        /* lets go of what the sandbox keeps (runtime.c) */
  int open_handles;       /* of kick and idle, while they close */
  char read_buf[CAPSID__READ_BUF_SIZE];
};

struct capsid_job_s {
  capsid__list_t link;
  capsid_runtime_t* rt;
  capsid__job_state_t state;
  capsid_exit_cb on_exit;
  capsid_output_cb on_output;
  void* data;

  /* The spec, copied. */
  capsid__strv_t argv;
  capsid__strv_t env_vars;
  capsid_env_mode_t env_mode;
  char* cwd;
  char* stdin_data;
  size_t stdin_len;
  capsid__policy_t policy;
  capsid__strv_t extra_writable;
  capsid__strv_t extra_read_only;
  int network;
  capsid_mode_t mode;  /* requested; capsid__prelaunch decides auto */
  capsid__limits_t limits;

  /* Running state. */
  capsid__sandbox_t sandbox;
  capsid__strv_t envp;
  char* program;
  capsid__proc_t* proc;
  capsid__capture_t capture;
  int capture_live;
  uv_timer_t timer;     /* timeout, drain deadline, deferred completion */
  int timer_live;
  uv_timer_t grace;     /* capsid_job_signal: the kill after the grace */
  int grace_live;
  int exited;
  int prelaunching;     /* waiting for capsid__prelaunch's callback */
  capsid__prep_t* prep; /* capsid__prelaunch's plan for the launch */
  int proc_started;     /* a process ran: capsid__postexit applies */
  int counted;          /* holds one of the runtime's concurrency slots */
  int pending_closes;
  uint64_t start_ns;
  uint64_t stage_ns;     /* when the stage being timed began */
  capsid_result_t result;

  /* Streamed stdin (spec.stdin_stream, job-stdin.c). */
  int stdin_stream;
  int stdin_eof;         /* the caller ended it */
  capsid__list_t stdin_held; /* chunks written before the pipe existed */
  size_t stdin_queued;   /* bytes taken and not yet written or dropped */
  capsid__spawn_cb on_spawn;
};

/* job.c */
/* A job from spec, its policy parsed from spec->policy, or taken from
 * policy (already parsed; policy_err its parse error, reported as the
 * job's own) when policy is not NULL. */
int capsid__job_new(capsid_runtime_t* rt, const capsid_job_spec_t* spec,
                    const capsid__policy_t* policy,
                    const capsid_error_t* policy_err,
                    capsid_exit_cb on_exit, void* data, capsid_job_t** out);
/* Moves a queued job to running: resolves, spawns, captures. Failures
 * complete the job with an error (asynchronously). */
void capsid__job_run(capsid_job_t* job);
/* Completes a job that never ran (canceled or invalid) with err. */
void capsid__job_abort(capsid_job_t* job, int code, const char* why);

/* job-stdin.c */
/* After the capture started: hands the chunks written so far to the
 * pipe, and ends it if the caller has. */
void capsid__job_stdin_flush(capsid_job_t* job);
/* Before the exit callback: chunks that never reached the pipe are
 * reported canceled. */
void capsid__job_stdin_cancel(capsid_job_t* job);
/* The capture's callback for a streamed write. */
void capsid__job_stdin_written(capsid__capture_t* cap, uv_write_t* req,
                               int status);

/* runtime.c */
/* The worker pool, created on first use; NULL if it cannot be made. */
capsid__pool_t* capsid__runtime_pool(capsid_runtime_t* rt);
void capsid__runtime_job_finished(capsid_runtime_t* rt, capsid_job_t* job);

void capsid__list_init(capsid__list_t* l);
void capsid__list_push(capsid__list_t* head, capsid__list_t* l);
void capsid__list_remove(capsid__list_t* l);
int capsid__list_empty(const capsid__list_t* head);

#endif
