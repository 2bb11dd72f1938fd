/* A job's cgroups (cgroup-linux.c): its limits, membership, kill and
 * what it used; setrlimit where cgroups cannot be had. */
#ifndef CAPSID_CGROUP_LINUX_H
#define CAPSID_CGROUP_LINUX_H

#include "capsid-common.h"
#include "sandbox-int.h"

#include <stdint.h>
#include <sys/types.h>

typedef enum {
  CAPSID__LIMITS_NONE = 0,
  CAPSID__LIMITS_CGROUP = 1,
  CAPSID__LIMITS_RLIMIT = 2
} capsid__limits_kind_t;

#define CAPSID__CG_MAX_FDS 4

typedef struct capsid__cgroup_s {
  capsid__limits_kind_t kind;
  char* v2;                       /* the job's cgroup in the v2 tree */
  char* v1[3];                    /* memory, pids, cpu (hybrid hosts) */
  int procs_fd[CAPSID__CG_MAX_FDS]; /* cgroup.procs, written by the child */
  unsigned n_fds;
  capsid__limits_t limits;       /* as asked (the rlimit fallback) */
} capsid__cgroup_t;

typedef struct capsid__cgroup_stats_s {
  int oom;
  int pids_limited;
  int64_t peak_memory; /* -1 unknown */
  double user_cpu_ms;  /* of every process of the job; -1 unknown */
  double sys_cpu_ms;
} capsid__cgroup_stats_t;

/* The host's layout, probed once: "v2" (pure), "hybrid", "v1" or "none",
 * and whether this process may create cgroups. Thread-safe. */
typedef struct capsid__cgroup_layout_s {
  const char* name;
  char v2_root[256];    /* where this process's v2 cgroup is, or "" */
  char v1_root[3][256]; /* memory, pids, cpu, or "" */
  int writable;
  int controllers_v2;   /* memory/pids/cpu usable through v2 */
} capsid__cgroup_layout_t;

const capsid__cgroup_layout_t* capsid__cgroup_layout(void);

/* Creates the job's cgroups and writes its limits. When cgroups cannot be
 * used, kind becomes RLIMIT (limits requested) or NONE and nothing fails:
 * the child then applies setrlimit. */
int capsid__cgroup_prepare(capsid__cgroup_t* cg,
                           const capsid__limits_t* limits,
                           capsid_error_t* err);
int capsid__cgroup_child(const capsid__cgroup_t* cg);
void capsid__cgroup_kill(capsid__cgroup_t* cg);
/* Sends sig to every process of the job's cgroups (no cgroup.kill for
 * anything but SIGKILL), but those of process group skip (0: none), which
 * the caller signals as a group: a process must not get it twice. */
void capsid__cgroup_signal(const capsid__cgroup_t* cg, int sig, pid_t skip);
void capsid__cgroup_stats(const capsid__cgroup_t* cg,
                          capsid__cgroup_stats_t* st);
/* 1 when the job's memory cgroup has refused a charge at its limit. */
int capsid__cgroup_memory_hit(const capsid__cgroup_t* cg);
/* Kills what is left, waits (bounded) for the cgroups to empty and
 * removes them. */
void capsid__cgroup_release(capsid__cgroup_t* cg);

#endif
