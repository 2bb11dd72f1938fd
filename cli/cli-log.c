#include "cli-log.h"

#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_LOG_VERBOSE = 1, OPT_LOG_QUIET };

static const capsid__option_t log_options[] = {
    {'v', "verbose", 0, OPT_LOG_VERBOSE},
    {'q', "quiet", 0, OPT_LOG_QUIET},
    {0, NULL, 0, 0}};

/* The level an option asked for; -1: none, CAPSID_LOG decides. */
static int option_level = -1;


static int apply(const capsid__args_t* a, int id, const char* value) {
  (void)a;
  (void)value;
  option_level = id == OPT_LOG_VERBOSE ? CAPSID__LOG_DEBUG : CAPSID__LOG_OFF;
  capsid__log_set_level(option_level);
  return 0;
}


static void on_stage(const capsid__stage_event_t* ev, void* data) {
  (void)data;
  cli_log_stage(capsid__log_program(), "job", ev);
}


void cli_log_init(void) {
  capsid__args_set_common(log_options, apply);
  capsid__stage_hook_set(on_stage, NULL);
}


int cli_log_leading(int argc, char** argv) {
  const capsid__option_t* o;
  int i;

  for (i = 1; i < argc; i++) {
    for (o = log_options; o->id != 0; o++)
      if ((argv[i][0] == '-' && argv[i][1] == o->short_name &&
           argv[i][2] == '\0') ||
          (strncmp(argv[i], "--", 2) == 0 &&
           strcmp(argv[i] + 2, o->long_name) == 0))
        break;
    if (o->id == 0)
      break;
    apply(NULL, o->id, NULL);
  }
  return i - 1;
}


int cli_log_setup(const char* cmd) {
  const char* env = getenv("CAPSID_LOG");
  int level = CAPSID__LOG_WARN;

  capsid__log_set_program(cmd);
  if (env != NULL && env[0] != '\0') {
    level = capsid__log_level_parse(env);
    if (level < 0) {
      fprintf(stderr, "%s: CAPSID_LOG: \"%s\" is not one of debug, info, "
              "warn, off\n", cmd, env);
      return -1;
    }
  }
  capsid__log_set_level(option_level >= 0 ? option_level : level);
  return 0;
}


void cli_log_help(FILE* f) {
  fputs(
"\n"
"Logging:\n"
"  -v, --verbose  log each stage with its duration on stderr\n"
"  -q, --quiet    no log lines (warnings and errors still show)\n"
"\n"
"Every command takes these, also before its name (capsid -v COMMAND).\n"
"CAPSID_LOG=debug|info|warn|off sets the level without them (debug is\n"
"--verbose; info logs a line per job and one when the command ends; warn\n"
"is the default); an option wins over it. A bad value is an error.\n",
      f);
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
