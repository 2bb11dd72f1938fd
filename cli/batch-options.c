/* The options of `capsid batch`, into a cli_batch_opts_t: what to run
 * and how (-j, --grace, --progress), the habits of GNU parallel
 * (--joblog, --resume, --retries, --halt, --json-summary), and
 * the defaults every line inherits (the options of `capsid run`). Each
 * bad value is refused here, naming its option. */
#include "batch.h"

#include "cli-log.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

enum {
  OPT_JOBS = 1, OPT_PROGRESS, OPT_HELP, OPT_GRACE, OPT_JOBLOG, OPT_RESUME,
  OPT_RESUME_FAILED, OPT_RETRIES, OPT_HALT, OPT_JSON_SUMMARY,
  OPT_SERVER,
  OPT_DEFAULT /* the rest: a default for every line (batch_defaults) */
};

static const capsid__option_t batch_options[] = {
    {'j', "jobs", 1, OPT_JOBS},
    {0, "progress", 0, OPT_PROGRESS},
    {0, "grace", 1, OPT_GRACE},
    {0, "joblog", 1, OPT_JOBLOG},
    {0, "resume", 1, OPT_RESUME},
    {0, "resume-failed", 1, OPT_RESUME_FAILED},
    {0, "retries", 1, OPT_RETRIES},
    {0, "halt", 1, OPT_HALT},
    {0, "json-summary", 1, OPT_JSON_SUMMARY},
    {0, "server", 1, OPT_SERVER},
    {'C', "cwd", 1, OPT_DEFAULT + 0},
    {'p', "policy", 1, OPT_DEFAULT + 1},
    {'w', "writable-root", 1, OPT_DEFAULT + 2},
    {'r', "read-only", 1, OPT_DEFAULT + 3},
    {'t', "timeout", 1, OPT_DEFAULT + 4},
    {'m', "memory-limit", 1, OPT_DEFAULT + 5},
    {0, "max-processes", 1, OPT_DEFAULT + 6},
    {0, "mode", 1, OPT_DEFAULT + 7},
    {'n', "network", 0, OPT_DEFAULT + 8},
    {'e', "env", 1, OPT_DEFAULT + 9},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

/* The job line member each default option sets, in the order above. */
static const char* const default_members[] = {
    "cwd", "policy", "writable_roots", "read_only_paths", "timeout",
    "memory_limit", "max_processes", "mode", "network", "env"};

int cli_batch_parse_options(cli_batch_opts_t* b, capsid__args_t* a) {
  const char* resume = NULL;
  const char* resume_option = NULL;
  uint64_t n;
  int opt;

  memset(b, 0, sizeof(*b));
  b->grace_ms = CLI_DEFAULT_GRACE_MS;
  b->retries = 1;
  b->defaults = json_object();
  while ((opt = capsid__args_next(a, batch_options)) > 0) {
    switch (opt) {
    case OPT_JOBS:
      if (capsid__args_count(a->value, &n) != 0 || n == 0 || n > 4096) {
        fprintf(stderr, "capsid batch: -j: \"%s\" is not a number of jobs "
                "from 1 to 4096\n", a->value);
        return 2;
      }
      b->jobs = (unsigned)n;
      break;
    case OPT_PROGRESS:
      b->progress = 1;
      break;
    case OPT_GRACE:
      if (cli_parse_grace("capsid batch", a->value, &b->grace_ms) != 0)
        return 2;
      break;
    case OPT_JOBLOG:
      b->joblog = a->value;
      break;
    case OPT_RESUME:
    case OPT_RESUME_FAILED:
      if (resume != NULL) {
        fprintf(stderr, "capsid batch: %s: give --resume or "
                "--resume-failed once\n", opt == OPT_RESUME
                ? "--resume" : "--resume-failed");
        return 2;
      }
      resume = a->value;
      resume_option = opt == OPT_RESUME ? "--resume" : "--resume-failed";
      break;
    case OPT_RETRIES:
      if (capsid__args_count(a->value, &n) != 0 || n == 0 || n > 1000) {
        fprintf(stderr, "capsid batch: --retries: \"%s\" is not a number "
                "of attempts from 1 to 1000\n", a->value);
        return 2;
      }
      b->retries = (unsigned)n;
      break;
    case OPT_HALT:
      if (cli_halt_parse(a->value, &b->halt) != 0)
        return 2;
      break;
    case OPT_JSON_SUMMARY:
      b->summary = a->value;
      break;
    case OPT_SERVER:
      b->server = a->value;
      break;
    case OPT_HELP:
      cli_help_batch();
      return 0;
    default: {
      char option[40];
      const capsid__option_t* o = &batch_options[0];
      while (o->id != opt)
        o++;
      snprintf(option, sizeof(option), "--%s", o->long_name);
      if (cli_batch_default(b->defaults, option,
                            default_members[opt - OPT_DEFAULT],
                            a->value ? a->value : "") != 0)
        return 2;
    }
    }
  }
  if (opt < 0)
    return 2;
  if (resume != NULL &&
      cli_done_set_load(&b->done, resume_option, resume,
                        strcmp(resume_option, "--resume-failed") == 0) != 0)
    return 2;
  return -1;
}


void cli_batch_opts_free(cli_batch_opts_t* o) {
  cli_done_set_free(&o->done);
  json_decref(o->defaults);
  o->defaults = NULL;
}
