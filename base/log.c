#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int log_level = CAPSID__LOG_WARN;
static const char* log_program = "capsid";
static uint64_t last_step_ns;
static capsid__stage_hook_t stage_hook;
static void* stage_hook_data;

static const char* const level_names[] = {"debug", "info", "warn", "off"};
static const char* const stage_names[] = {"resolve", "prelaunch", "spawn",
                                          "exit", "postexit"};


int capsid__log_level_parse(const char* text) {
  size_t i;

  if (text == NULL)
    return -1;
  if (strcmp(text, "warning") == 0)
    return CAPSID__LOG_WARN;
  for (i = 0; i < CAPSID__ARRAY_SIZE(level_names); i++)
    if (strcmp(text, level_names[i]) == 0)
      return (int)i;
  return -1;
}


void capsid__log_set_level(int level) {
  if (level >= CAPSID__LOG_DEBUG && level <= CAPSID__LOG_OFF)
    log_level = level;
}


int capsid__log_level(void) {
  return log_level;
}


int capsid__log_enabled(int level) {
  return level >= log_level && level < CAPSID__LOG_OFF;
}


void capsid__log(int level, const char* prefix, const char* fmt, ...) {
  char msg[1024];
  va_list ap;

  if (!capsid__log_enabled(level))
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* One write per line, so lines of concurrent jobs do not interleave. */
  fprintf(stderr, "%s: [%s] %s\n", prefix, level_names[level], msg);
}


void capsid__log_set_program(const char* name) {
  log_program = name != NULL ? name : "capsid";
  last_step_ns = capsid__hrtime();
}


const char* capsid__log_program(void) {
  return log_program;
}


static double ms_since(uint64_t since_ns, uint64_t now) {
  return since_ns != 0 && now > since_ns ? (double)(now - since_ns) / 1e6
                                         : 0.0;
}


int capsid__log_stage(const char* stage, uint64_t since_ns, int status) {
  double ms;

  if (!capsid__log_enabled(CAPSID__LOG_DEBUG))
    return status;
  ms = ms_since(since_ns, capsid__hrtime());
  if (status < 0)
    capsid__log(CAPSID__LOG_DEBUG, log_program, "%s failed after %.3f ms: %s",
                stage, ms, capsid_err_name(status));
  else if (status > 0)
    capsid__log(CAPSID__LOG_DEBUG, log_program,
                "%s failed after %.3f ms (status %d)", stage, ms, status);
  else
    capsid__log(CAPSID__LOG_DEBUG, log_program, "%s %.3f ms", stage, ms);
  return status;
}


void capsid__log_step(const char* what, int ok) {
  uint64_t now;

  if (!capsid__log_enabled(CAPSID__LOG_DEBUG))
    return;
  now = capsid__hrtime();
  capsid__log(CAPSID__LOG_DEBUG, log_program, "%s %.3f ms%s", what,
              ms_since(last_step_ns, now), ok ? "" : " (not ok)");
  last_step_ns = now;
}


const char* capsid__job_stage_name(int stage) {
  if (stage < 0 || (size_t)stage >= CAPSID__ARRAY_SIZE(stage_names))
    return "unknown";
  return stage_names[stage];
}


void capsid__stage_hook_set(capsid__stage_hook_t hook, void* hook_data) {
  stage_hook = hook;
  stage_hook_data = hook_data;
}


void capsid__stage_note(void* job_data, int stage, uint64_t since_ns,
                        int status, int64_t pid) {
  capsid__stage_event_t ev;
  uint64_t now;

  if (stage_hook == NULL)
    return;
  now = capsid__hrtime();
  ev.job_data = job_data;
  ev.stage = stage;
  ev.ms = ms_since(since_ns, now);
  ev.status = status;
  ev.pid = pid;
  stage_hook(&ev, stage_hook_data);
}
