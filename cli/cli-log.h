/* The log level of every command: -v/--verbose, -q/--quiet (before the
 * command or among its options) and CAPSID_LOG, parsed here alone. */
#ifndef CAPSID_CLI_LOG_H
#define CAPSID_CLI_LOG_H

#include "log.h"

#include <stdio.h>

/* Makes every command's option parser take --verbose and --quiet
 * (base/args.h), and logs the stages of any job a command runs as "job"
 * until the command installs its own stage hook. */
void cli_log_init(void);
/* How many of argv[1..] are log options given before the command
 * (`capsid -v doctor`); applies them. */
int cli_log_leading(int argc, char** argv);
/* Names the program in log lines ("capsid acl") and sets the level from
 * CAPSID_LOG (debug, info, warn, off) unless an option has set it.
 * Returns 0, or -1 after saying on stderr that CAPSID_LOG holds something
 * else. */
int cli_log_setup(const char* cmd);
/* The options above, as a help section (`capsid help CMD` ends with it). */
void cli_log_help(FILE* f);
/* Logs a stage of the job named who ("job a1"): at debug every stage
 * with its duration, at info the start (with its pid). */
void cli_log_stage(const char* cmd, const char* who,
                   const capsid__stage_event_t* ev);
/* Logs the end of a job at info: how it ended and how long it ran. */
void cli_log_result(const char* cmd, const char* who,
                    const capsid_result_t* r);

#endif
