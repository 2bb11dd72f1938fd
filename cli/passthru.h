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

/* How many of len new bytes of stream (CAPSID_STDOUT or CAPSID_STDERR)
 * fit under the limit and are to be shown; the rest is counted. */
size_t cli_passthru_take(cli_passthru_t* p, int stream, size_t len);
/* After the job: one note on stderr per stream that passed the limit. */
void cli_passthru_report(const cli_passthru_t* p);

#endif
