/* A tiny logger to stderr with levels, and the stages of a job.
 *
 * The library reports the stages a job goes through (capsid__stage_note)
 * to a hook that the program installs (the capsid command, to log them
 * under --verbose or CAPSID_LOG, and to learn which jobs have started).
 * Without a hook a stage costs a branch. The engines below the command
 * (ACL walks, set-up steps, scale-out) log their own stages at debug with
 * capsid__log_stage; the level is warn unless the program raises it, so a
 * program embedding libcapsid sees none of those lines.
 *
 * Everything here is process-wide and meant for the loop thread, except
 * the delivery record, which is per thread. */
#ifndef CAPSID_BASE_LOG_H
#define CAPSID_BASE_LOG_H

#include "capsid-common.h"

#include <stdint.h>

typedef enum {
  CAPSID__LOG_DEBUG = 0, /* every stage of every job, with its duration */
  CAPSID__LOG_INFO = 1,  /* a line per job: started, ended */
  CAPSID__LOG_WARN = 2,  /* warnings only (the default) */
  CAPSID__LOG_OFF = 3
} capsid__log_level_t;

/* "debug", "info", "warn" (or "warning"), "off"; -1 for anything else. */
int capsid__log_level_parse(const char* text);
void capsid__log_set_level(int level);
int capsid__log_level(void);
int capsid__log_enabled(int level);
/* Writes "<prefix>: [level] message\n" to stderr when level is enabled.
 * prefix names the program ("capsid batch"). */
void capsid__log(int level, const char* prefix, const char* fmt, ...)
    CAPSID__PRINTF(3, 4);

/* The name lines logged from below the command begin with ("capsid
 * acl"); set by the program once it knows its command. Also starts the
 * clock of capsid__log_step. Default "capsid". */
void capsid__log_set_program(const char* name);
const char* capsid__log_program(void);
/* Logs at debug that a stage which began at since_ns (capsid__hrtime)
 * ended: "<program>: [debug] <stage> 1.234 ms", or "<stage> failed after
 * 1.234 ms: CAPSID_EIO" when status is a CAPSID_E* code. Returns status,
 * so that a call can wrap the last line of a stage. */
int capsid__log_stage(const char* stage, uint64_t since_ns, int status);
/* A step of a command that reports one line per step (each check of
 * doctor, each step of setup and uninstall, through capsid__say): logs
 * "<program>: [debug] <what> 1.234 ms" at debug, timed from the step
 * before (or from capsid__log_set_program), "(not ok)" when it failed. */
void capsid__log_step(const char* what, int ok);

/* The stages of a job, in order. */
typedef enum {
  CAPSID__STAGE_RESOLVE = 0, /* policy, environment, program */
  CAPSID__STAGE_PRELAUNCH,   /* what must be in place first (ACL grants) */
  CAPSID__STAGE_SPAWN,       /* the confined process starts */
  CAPSID__STAGE_EXIT,        /* spawn to the main process's exit */
  CAPSID__STAGE_POSTEXIT     /* work on what the job left (ACL fix-up) */
} capsid__job_stage_t;

const char* capsid__job_stage_name(int stage);

typedef struct capsid__stage_event_s {
  void* job_data;  /* the data pointer given to capsid_job_start */
  int stage;       /* capsid__job_stage_t */
  double ms;       /* how long the stage took */
  int status;      /* 0, or the CAPSID_E* code the stage failed with */
  int64_t pid;     /* spawn: the job's first process; else 0 */
} capsid__stage_event_t;

typedef void (*capsid__stage_hook_t)(const capsid__stage_event_t* ev,
                                     void* hook_data);

/* Installs the hook (NULL removes it). */
void capsid__stage_hook_set(capsid__stage_hook_t hook, void* hook_data);
/* Reports that a stage which began at since_ns (capsid__hrtime) ended. */
void capsid__stage_note(void* job_data, int stage, uint64_t since_ns,
                        int status, int64_t pid);

#endif
