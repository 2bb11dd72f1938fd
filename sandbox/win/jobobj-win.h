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
} capsid__jobobj_plan_t;

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
