/* capsid run's pass-through of a job's output to its own stdout and
 * stderr, held to --output-limit like captured output is. */
#ifndef CAPSID_CLI_PASSTHRU_H
#define CAPSID_CLI_PASSTHRU_H

#include "capsid-common.h"

typedef struct cli_passthru_s {
  uint64_t limit;    /* bytes shown per stream; 0: all */
  uint64_t shown[2]; /* stdout, stderr */
  uint64_t cut[2];   /* bytes past the limit, not shown */
} cli_passthru_t;

/* Writes what of len new bytes of stream (CAPSID_STDOUT or CAPSID_STDERR)
 * fits under the limit to capsid's own stdout or stderr, whole; the rest
 * is counted. A reader that went away ends the write, not the run. */
void cli_passthru_write(cli_passthru_t* p, int stream, const char* bytes,
                        size_t len);
/* After the job: one note on stderr per stream that passed the limit. */
void cli_passthru_report(const cli_passthru_t* p);

#endif
