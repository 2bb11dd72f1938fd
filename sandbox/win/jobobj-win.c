/* The job object that holds every process of a job.
 *
 * The launcher puts the child in it before the child runs a single
 * instruction (PROC_THREAD_ATTRIBUTE_JOB_LIST, or CREATE_SUSPENDED +
 * AssignProcessToJobObject), so every descendant is in it too:
 * TerminateJobObject kills the whole tree, and KILL_ON_JOB_CLOSE does the
 * same when capsid exits or crashes, since the kernel closes its handles.
 *
 * A job's cpu_limit (CPUs, as on Linux's cpu.max) becomes a hard CPU-rate
 * cap of the job object (JOB_OBJECT_CPU_RATE_CONTROL_ENABLE | HARD_CAP):
 * Windows counts it in 1/10000 of all processors' cycles.
 *
 * UI restrictions (JOBOBJECT_BASIC_UI_RESTRICTIONS), all that Windows
 * has, each for a reason:
 *  - HANDLES: no USER handle (window, hook target) of a process outside
 *    the job: on the fallback desktop (winsta0\default) it is what stops
 *    SendMessage/PostMessage to the user's own windows ("shatter").
 *  - READCLIPBOARD, WRITECLIPBOARD: the clipboard belongs to the window
 *    station, not the desktop, so a private desktop does not hide it; it
 *    holds what the user copied (passwords, tokens), and writing it
 *    plants a command the user may paste.
 *  - DESKTOP: no CreateDesktop/SwitchDesktop: a job cannot switch the
 *    user's screen to a desktop of its own (a fake prompt).
 *  - GLOBALATOMS: the job gets its own atom table: no atom-based
 *    messaging with (or exhausting the table of) the user's programs.
 *  - DISPLAYSETTINGS, SYSTEMPARAMETERS, EXITWINDOWS: a job changes no
 *    machine-wide setting of the user's session and cannot log it off or
 *    shut the machine down.
 * The price, and why they are not always set: see capsid__jobobj_ui. */
#include "jobobj-win.h"

#include <stdio.h>
#include <string.h>

static DWORD wanted_flags(const capsid__jobobj_plan_t* plan) {
  DWORD flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE |
                JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;

  if (plan->max_processes > 0)
    flags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
  if (plan->memory_limit > 0)
    flags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
  return flags;
}


uint32_t capsid__jobobj_cpu_rate(double cpu_limit, uint32_t ncpus) {
  double rate;

  if (!(cpu_limit > 0) || ncpus == 0 || cpu_limit >= (double)ncpus)
    return 0;
  rate = cpu_limit / (double)ncpus * 10000.0;
  return rate < 1.0 ? 1u : (uint32_t)(rate + 0.5);
}


static int set_cpu_rate(HANDLE job, uint32_t rate) {
  JOBOBJECT_CPU_RATE_CONTROL_INFORMATION cr;

  memset(&cr, 0, sizeof(cr));
  cr.ControlFlags =
      JOB_OBJECT_CPU_RATE_CONTROL_ENABLE | JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP;
  cr.CpuRate = rate;
  return SetInformationJobObject(job, JobObjectCpuRateControlInformation, &cr,
                                 sizeof(cr))
             ? 0
             : -1;
}


int capsid__jobobj_ui(const char* setting, int in_job, int elevated,
                      uint32_t* out, const char** why) {
  *out = 0;
  *why = NULL;
  if (setting != NULL && setting[0] != '\0' && strcmp(setting, "on") != 0 &&
      strcmp(setting, "off") != 0)
    return CAPSID_EINVAL;
  if (setting != NULL && strcmp(setting, "off") == 0)
    *why = "CAPSID_WIN_UILIMIT=off";
  else if (elevated)
    *why = "elevated mode (the runner may be in the logon service's job)";
  else if (in_job)
    *why = "capsid runs in a job object (a job with UI limits cannot nest "
           "in it)";
  else
    *out = CAPSID__JOBOBJ_UI_ALL;
  return 0;
}


static int set_ui(HANDLE job, uint32_t limits) {
  JOBOBJECT_BASIC_UI_RESTRICTIONS ui;

  ui.UIRestrictionsClass = limits;
  return SetInformationJobObject(job, JobObjectBasicUIRestrictions, &ui,
                                 sizeof(ui))
             ? 0
             : -1;
}


int capsid__jobobj_create(const capsid__jobobj_plan_t* plan, HANDLE* out,
                          capsid_error_t* err) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  HANDLE job;
  DWORD os_error;

  *out = NULL;
  job = CreateJobObjectW(NULL, NULL);
  if (job == NULL)
    return capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                             (int)GetLastError(), NULL, NULL,
                             "CreateJobObjectW failed");
  memset(&li, 0, sizeof(li));
  li.BasicLimitInformation.LimitFlags = wanted_flags(plan);
  li.BasicLimitInformation.ActiveProcessLimit = plan->max_processes;
  li.JobMemoryLimit = (SIZE_T)plan->memory_limit;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li,
                               sizeof(li))) {
    os_error = GetLastError();
    CloseHandle(job);
    return capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                             (int)os_error, NULL, NULL,
                             "cannot set the job object's limits");
  }
  if (plan->cpu_rate > 0 && set_cpu_rate(job, plan->cpu_rate) != 0) {
    os_error = GetLastError();
    CloseHandle(job);
    return capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                             (int)os_error, NULL, "cpu_limit",
                             "cannot set the job object's CPU rate "
                             "(%u/10000)", (unsigned)plan->cpu_rate);
  }
  if (plan->ui_limits != 0 && set_ui(job, plan->ui_limits) != 0) {
    os_error = GetLastError();
    CloseHandle(job);
    return capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                             (int)os_error, NULL, NULL,
                             "cannot set the job object's UI restrictions "
                             "(0x%lx; CAPSID_WIN_UILIMIT=off runs without)",
                             (unsigned long)plan->ui_limits);
  }
  *out = job;
  return 0;
}


int capsid__jobobj_verify(HANDLE job, const capsid__jobobj_plan_t* plan,
                          capsid_error_t* err) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  JOBOBJECT_CPU_RATE_CONTROL_INFORMATION cr;
  DWORD want = wanted_flags(plan), got_flags;
  char missing[256] = "";

  memset(&li, 0, sizeof(li));
  if (!QueryInformationJobObject(job, JobObjectExtendedLimitInformation, &li,
                                 sizeof(li), NULL))
    return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY,
                             (int)GetLastError(), NULL, NULL,
                             "cannot read the job object's limits back");
  got_flags = li.BasicLimitInformation.LimitFlags;
#define CHECK(cond, text)                                                    \
  if (!(cond))                                                               \
    snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),   \
             "%s%s", missing[0] ? ", " : "", text)
  CHECK(got_flags & JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, "kill-on-close");
  if (want & JOB_OBJECT_LIMIT_ACTIVE_PROCESS)
    CHECK((got_flags & JOB_OBJECT_LIMIT_ACTIVE_PROCESS) &&
              li.BasicLimitInformation.ActiveProcessLimit ==
                  plan->max_processes,
          "active-process limit");
  if (want & JOB_OBJECT_LIMIT_JOB_MEMORY)
    CHECK((got_flags & JOB_OBJECT_LIMIT_JOB_MEMORY) &&
              (uint64_t)li.JobMemoryLimit == plan->memory_limit,
          "job memory limit");
  if (plan->cpu_rate > 0) {
    memset(&cr, 0, sizeof(cr));
    CHECK(QueryInformationJobObject(job, JobObjectCpuRateControlInformation,
                                    &cr, sizeof(cr), NULL) &&
              (cr.ControlFlags & JOB_OBJECT_CPU_RATE_CONTROL_ENABLE) &&
              (cr.ControlFlags & JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP) &&
              cr.CpuRate == plan->cpu_rate,
          "CPU rate");
  }
  if (plan->ui_limits != 0) {
    JOBOBJECT_BASIC_UI_RESTRICTIONS ui;
    memset(&ui, 0, sizeof(ui));
    CHECK(QueryInformationJobObject(job, JobObjectBasicUIRestrictions, &ui,
                                    sizeof(ui), NULL) &&
              (ui.UIRestrictionsClass & plan->ui_limits) == plan->ui_limits,
          "UI restrictions");
  }
#undef CHECK
  if (missing[0] == '\0')
    return 0;
  return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, NULL,
                           NULL, "the job object did not take effect: %s "
                           "not set", missing);
}
