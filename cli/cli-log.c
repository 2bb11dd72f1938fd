#include "cli-log.h"

#include <stdio.h>
#include <stdlib.h>

int cli_log_setup(const char* cmd, int verbose) {
  const char* env = getenv("CAPSID_LOG");
  int level = CAPSID__LOG_WARN;

  if (env != NULL && env[0] != '\0') {
    level = capsid__log_level_parse(env);
    if (level < 0) {
      fprintf(stderr, "%s: CAPSID_LOG: \"%s\" is not one of debug, info, "
              "warn, off\n", cmd, env);
      return -1;
    }
  }
  if (verbose)
    level = CAPSID__LOG_DEBUG;
  capsid__log_set_level(level);
  return 0;
}


void cli_log_stage(const char* cmd, const char* who,
                   const capsid__stage_event_t* ev) {
  const char* stage = capsid__job_stage_name(ev->stage);

  if (ev->status != 0)
    capsid__log(CAPSID__LOG_DEBUG, cmd, "%s: %s failed after %.3f ms: %s",
                who, stage, ev->ms, capsid_err_name(ev->status));
  else if (ev->stage == CAPSID__STAGE_SPAWN)
    capsid__log(CAPSID__LOG_DEBUG, cmd, "%s: %s %.3f ms (pid %lld)", who,
                stage, ev->ms, (long long)ev->pid);
  else
    capsid__log(CAPSID__LOG_DEBUG, cmd, "%s: %s %.3f ms", who, stage,
                ev->ms);
  if (ev->stage == CAPSID__STAGE_SPAWN && ev->status == 0 &&
      capsid__log_level() == CAPSID__LOG_INFO)
    capsid__log(CAPSID__LOG_INFO, cmd, "%s: started (pid %lld)", who,
                (long long)ev->pid);
}


void cli_log_result(const char* cmd, const char* who,
                    const capsid_result_t* r) {
  char msg[512];

  if (!capsid__log_enabled(CAPSID__LOG_INFO))
    return;
  if (r->error.code != 0)
    capsid__log(CAPSID__LOG_INFO, cmd, "%s: not run: %s", who,
                capsid_error_format(&r->error, msg, sizeof(msg)));
  else if (r->signal != 0)
    capsid__log(CAPSID__LOG_INFO, cmd, "%s: ended by signal %d after "
                "%.3f ms%s%s", who, r->signal, r->wall_ms,
                r->timed_out ? " (timed out)" : "", r->oom ? " (oom)" : "");
  else
    capsid__log(CAPSID__LOG_INFO, cmd, "%s: exit %d after %.3f ms "
                "(cpu %.3f ms user, %.3f ms system)", who, r->exit_code,
                r->wall_ms, r->user_cpu_ms, r->sys_cpu_ms);
}
