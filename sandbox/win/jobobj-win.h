/* The job object every process of a job runs in (jobobj-win.c):
 * kill-on-close and the job's limits, read back after they are set. */
#ifndef CAPSID_JOBOBJ_WIN_H
#define CAPSID_JOBOBJ_WIN_H

#include "capsid-common.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

typedef struct capsid__jobobj_plan_s {
  uint64_t memory_limit;  /* bytes, 0 none */
  uint32_t max_processes; /* 0 none */
  uint32_t cpu_rate;      /* hard cap in 1/10000 of the machine, 0 none */
  uint32_t ui_limits;     /* JOB_OBJECT_UILIMIT_* (capsid__jobobj_ui), 0 none */
} capsid__jobobj_plan_t;

/* The UI restrictions capsid sets, each with its reason in jobobj-win.c
 * and docs/windows.md: desktop, display settings, exit windows, global
 * atoms, USER handles, clipboard read and write, system parameters. */
#define CAPSID__JOBOBJ_UI_ALL                                                \
  (JOB_OBJECT_UILIMIT_DESKTOP | JOB_OBJECT_UILIMIT_DISPLAYSETTINGS |         \
   JOB_OBJECT_UILIMIT_EXITWINDOWS | JOB_OBJECT_UILIMIT_GLOBALATOMS |         \
   JOB_OBJECT_UILIMIT_HANDLES | JOB_OBJECT_UILIMIT_READCLIPBOARD |           \
   JOB_OBJECT_UILIMIT_WRITECLIPBOARD | JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS)

/* Which UI restrictions a job's object gets (pure): *out is
 * CAPSID__JOBOBJ_UI_ALL, or 0 with *why saying why not. A job object with
 * UI limits cannot nest in another job, nor hold one (Microsoft's "Nested
 * Jobs": jobs nest only if neither sets UI limits), so there are none
 * when capsid itself runs in a job (in_job), for elevated jobs (the
 * runner comes from CreateProcessWithLogonW, which may put it in the
 * secondary logon service's job), and when setting (the value of
 * CAPSID_WIN_UILIMIT) is "off". NULL, "" and "on" mean the default.
 * Returns 0, or CAPSID_EINVAL for any other setting. */
int capsid__jobobj_ui(const char* setting, int in_job, int elevated,
                      uint32_t* out, const char** why);

/* The job object CPU rate of a job spec's cpu_limit (CPUs) on a machine
 * with ncpus processors: cycles in 1/10000 of the whole machine, at least
 * 1; 0 (no cap) when the limit covers every processor. */
uint32_t capsid__jobobj_cpu_rate(double cpu_limit, uint32_t ncpus);

/* A job object with kill-on-close (and the plan's limits). */
int capsid__jobobj_create(const capsid__jobobj_plan_t* plan, HANDLE* out,
                          capsid_error_t* err);
/* Reads the limits back; CAPSID_EVERIFY names the ones missing. */
int capsid__jobobj_verify(HANDLE job, const capsid__jobobj_plan_t* plan,
                          capsid_error_t* err);

#endif
