/* The pieces of `capsid batch` around its loop (cli/cmd-batch.c): the
 * defaults every line inherits, the job log, resuming an earlier run,
 * --halt and the closing summary. Each lives in its own cli/batch-*.c. */
#ifndef CAPSID_CLI_BATCH_H
#define CAPSID_CLI_BATCH_H

#include "args.h"
#include "capsid-common.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>

/* ---- batch-defaults.c: -C, -p, -w, -r, -t, -m, --max-processes, --mode,
 * -n, -e given to the batch, as the JSON members a line may set. */

/* Adds the option (a batch option id of cmd-batch.c's table, passed as
 * its JSON member name) to defaults. Returns 0, or -1 after saying on
 * stderr what is wrong with value, naming the option. */
int cli_batch_default(json_t* defaults, const char* option,
                      const char* member, const char* value);
/* The line with every default it does not set itself ("env" is merged,
 * the line's variables winning). *out is a new string (capsid__free)
 * or NULL when the line is kept as it is (no defaults, or not a JSON
 * object: the job parser then says what is wrong with it). */
int cli_batch_apply_defaults(const json_t* defaults, const char* text,
                             size_t len, char** out, size_t* out_len);

/* ---- batch-resume.c: --resume / --resume-failed FILE. */

typedef struct cli_done_set_s {
  json_t* keys; /* key -> true */
  int failed_only; /* --resume-failed: only successes count as done */
} cli_done_set_t;

/* The key a job is resumed by: its id as compact JSON ("\"a1\"", "7"),
 * or "line:N" for a line without an id. Returns buf. */
char* cli_job_key(const json_t* id, long line, char* buf, size_t size);
/* Reads the results (JSON lines) or the job log (detected by its header)
 * of an earlier run. Returns 0, or -1 after naming the option, the file
 * and the line on stderr. */
int cli_done_set_load(cli_done_set_t* set, const char* option,
                      const char* path, int failed_only);
int cli_done_set_has(const cli_done_set_t* set, const char* key);
void cli_done_set_free(cli_done_set_t* set);

/* ---- batch-joblog.c: --joblog FILE, parallel's columns and capsid's. */

typedef struct cli_joblog_s {
  FILE* f;
} cli_joblog_t;

/* Opens the log: appended to when resuming, else replaced. The header
 * goes into an empty file. Returns 0 or -1 (said on stderr). */
int cli_joblog_open(cli_joblog_t* log, const char* path, int append);
/* One line for a job that ended. */
int cli_joblog_write(cli_joblog_t* log, long seq, const json_t* id,
                     const char* const* argv, size_t stdin_len,
                     const capsid_result_t* r);
int cli_joblog_close(cli_joblog_t* log);
/* The column names, in order (for the reader of batch-resume.c). */
extern const char* const cli_joblog_columns[];

/* ---- batch-halt.c: --halt now|soon,fail=N|fail=P%|success=..|done=.. */

typedef enum { HALT_NEVER = 0, HALT_SOON, HALT_NOW } cli_halt_when_t;
typedef enum { HALT_FAIL = 0, HALT_SUCCESS, HALT_DONE } cli_halt_on_t;

typedef struct cli_halt_s {
  cli_halt_when_t when;
  cli_halt_on_t on;
  long count;      /* N, or 0 when percent is used */
  double percent;  /* P, or 0 */
} cli_halt_t;

/* Returns 0, or -1 after saying on stderr what --halt accepts. */
int cli_halt_parse(const char* value, cli_halt_t* h);
/* Whether the batch halts after these counts of finished jobs. */
int cli_halt_reached(const cli_halt_t* h, long done, long ok, long failed);
/* "now,fail=1" back, for messages. */
void cli_halt_format(const cli_halt_t* h, char* buf, size_t size);
/* A SIGINT or SIGTERM to a batch: the first stops taking lines and lets
 * the running jobs end within grace_ms, a second kills them. Updates
 * *interrupted (the first signal) and *killed_all, says which on stderr;
 * returns 0, or -1 when everything is being killed already. */
int cli_batch_signal(int signum, uint64_t grace_ms, int* interrupted,
                     int* killed_all);

/* ---- batch-summary.c: the closing counts. */

typedef struct cli_batch_counts_s {
  long jobs;       /* result lines written */
  long ok;         /* exit 0, no error */
  long failed;     /* ran, and exit != 0, a signal, a timeout or oom */
  long timed_out;
  long oom;
  long errors;     /* never ran: invalid line, capsid error, canceled */
  long interrupted;
  long retried;    /* attempts beyond the first */
  long skipped;    /* resumed: already done */
  long not_started; /* --halt dropped them before they started */
  json_t* skipped_ids;
} cli_batch_counts_t;

/* Counts a job's final result. */
void cli_batch_count(cli_batch_counts_t* c, const capsid_result_t* r);
/* Whether a result counts as failed for --retries and --halt: it ran
 * and did not succeed, or capsid could not run it. */
int cli_result_failed(const capsid_result_t* r);
/* Says on stderr which jobs --resume skipped (the first 20 ids). */
void cli_batch_report_skipped(const cli_batch_counts_t* c);
/* The line on stderr, and the JSON file when json_path is not NULL.
 * halted describes --halt when it stopped the batch, else NULL. */
int cli_batch_summary(const cli_batch_counts_t* c, double wall_ms,
                      const char* halted, const char* json_path);

/* ---- batch-options.c: the command line. */

typedef struct cli_batch_opts_s {
  unsigned jobs;        /* -j; 0: the number of CPUs */
  int progress;
  uint64_t grace_ms;
  const char* joblog;   /* --joblog FILE, or NULL */
  const char* summary;  /* --json-summary FILE, or NULL */
  unsigned retries;     /* attempts a job may take (1: no retry) */
  cli_halt_t halt;
  json_t* defaults;     /* members every line inherits */
  cli_done_set_t done;  /* --resume: jobs an earlier run finished */
  const char* server;   /* --server ADDR: run through capsid serve */
} cli_batch_opts_t;

/* Parses the options (and sets the log level). Returns -1 when the
 * batch is to run, else the status to exit with (0 after --help, 2 after
 * saying on stderr what is wrong). a->index is then the input operand. */
int cli_batch_parse_options(cli_batch_opts_t* o, capsid__args_t* a);
void cli_batch_opts_free(cli_batch_opts_t* o);

#endif
