/* --joblog FILE: one tab-separated line per job that ended, with GNU
 * parallel's columns (so its readers work) and then capsid's:
 *
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *   id mode oom timed_out
 *
 * Seq is the job's line in the input; Host is ":" (this machine, as
 * parallel writes it); Starttime is Unix seconds and JobRuntime seconds,
 * both with milliseconds; Send is the bytes given to the job's stdin and
 * Receive the bytes it wrote; Exitval is -1 when a signal ended the job
 * or capsid could not run it; Command is argv, quoted for a shell where
 * needed. id is the line's id as JSON (a string in quotes), or null. */
#include "batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char* const cli_joblog_columns[] = {
    "Seq",     "Host",   "Starttime", "JobRuntime", "Send", "Receive",
    "Exitval", "Signal", "Command",   "id",         "mode", "oom",
    "timed_out", NULL};


int cli_joblog_open(cli_joblog_t* log, const char* path, int append) {
  size_t i;
  long size;

  log->f = fopen(path, append ? "a" : "w");
  if (log->f == NULL) {
    fprintf(stderr, "capsid batch: --joblog: cannot open \"%s\" for "
            "writing: %s\n", path, strerror(errno));
    return -1;
  }
  fseek(log->f, 0, SEEK_END);
  size = ftell(log->f);
  if (size > 0)
    return 0;
  for (i = 0; cli_joblog_columns[i] != NULL; i++)
    fprintf(log->f, "%s%s", i ? "\t" : "", cli_joblog_columns[i]);
  fputc('\n', log->f);
  return fflush(log->f) == 0 ? 0 : -1;
}


/* An argument as a shell reads it back, on one line: plain words as they
 * are, others in single quotes; control characters, which would break
 * the line or the columns, become '?'. */
static void put_arg(FILE* f, const char* s) {
  const char* p;
  int plain = s[0] != '\0';

  for (p = s; *p != '\0'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || strchr("-_./=:,+@%", *p) != NULL))
      plain = 0;
  if (plain) {
    fputs(s, f);
    return;
  }
  fputc('\'', f);
  for (p = s; *p != '\0'; p++) {
    if (*p == '\'')
      fputs("'\\''", f);
    else
      fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
  }
  fputc('\'', f);
}


int cli_joblog_write(cli_joblog_t* log, long seq, const json_t* id,
                     const char* const* argv, size_t stdin_len,
                     const capsid_result_t* r) {
  char* idtext;
  size_t i;
  int ran = r->error.code == 0;

  if (log->f == NULL)
    return 0;
  idtext = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  fprintf(log->f, "%ld\t:\t%.3f\t%.3f\t%zu\t%llu\t%d\t%d\t", seq,
          (double)r->started_at_us / 1e6, r->wall_ms / 1000.0,
          ran ? stdin_len : 0,
          (unsigned long long)(r->out.total + r->err.total),
          ran && r->signal == 0 ? r->exit_code : -1, r->signal);
  for (i = 0; argv != NULL && argv[i] != NULL; i++) {
    if (i > 0)
      fputc(' ', log->f);
    put_arg(log->f, argv[i]);
  }
  fprintf(log->f, "\t%s\t%s\t%s\t%s\n", idtext ? idtext : "null",
          capsid_mode_name(r->mode), r->oom ? "true" : "false",
          r->timed_out ? "true" : "false");
  free(idtext);
  return fflush(log->f) == 0 ? 0 : -1;
}


int cli_joblog_close(cli_joblog_t* log) {
  int rc = 0;

  if (log->f != NULL && fclose(log->f) != 0)
    rc = -1;
  log->f = NULL;
  return rc;
}
