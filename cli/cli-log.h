/* --verbose and CAPSID_LOG for the commands that run jobs. */
#ifndef CAPSID_CLI_LOG_H
#define CAPSID_CLI_LOG_H

#include "log.h"

/* Sets the log level from CAPSID_LOG (debug, info, warn), raised to
 * debug by --verbose. Returns 0, or -1 after saying on stderr that
 * CAPSID_LOG holds something else. */
int cli_log_setup(const char* cmd, int verbose);
/* Logs a stage of the job named who ("job a1"): at debug every stage
 * with its duration, at info the start (with its pid). */
void cli_log_stage(const char* cmd, const char* who,
                   const capsid__stage_event_t* ev);
/* Logs the end of a job at info: how it ended and how long it ran. */
void cli_log_result(const char* cmd, const char* who,
                    const capsid_result_t* r);

#endif
