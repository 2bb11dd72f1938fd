/* The closing counts of a batch: one line on stderr, and the same as a
 * JSON object in --json-summary FILE. */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>

int cli_result_failed(const capsid_result_t* r) {
  return r->error.code != 0 || r->signal != 0 || r->exit_code != 0 ||
         r->timed_out || r->oom;
}


void cli_batch_count(cli_batch_counts_t* c, const capsid_result_t* r) {
  c->jobs++;
  if (r->interrupted)
    c->interrupted++;
  if (r->error.code != 0) {
    c->errors++;
    return;
  }
  if (!cli_result_failed(r)) {
    c->ok++;
    return;
  }
  c->failed++;
  if (r->timed_out)
    c->timed_out++;
  if (r->oom)
    c->oom++;
}


int cli_batch_summary(const cli_batch_counts_t* c, double wall_ms,
                      const char* halted, const char* json_path) {
  double rate = wall_ms > 0 ? (double)c->jobs * 1000.0 / wall_ms : 0.0;
  json_t* obj;
  int rc = 0;

  fprintf(stderr, "capsid batch: %ld jobs, %ld ok, %ld failed, %ld timed "
          "out, %ld oom, %ld errors",
          c->jobs, c->ok, c->failed, c->timed_out, c->oom, c->errors);
  if (c->interrupted > 0)
    fprintf(stderr, ", %ld interrupted", c->interrupted);
  if (c->retried > 0)
    fprintf(stderr, ", %ld retries", c->retried);
  if (c->not_started > 0)
    fprintf(stderr, ", %ld not started", c->not_started);
  if (c->skipped > 0)
    fprintf(stderr, ", %ld skipped (done before)", c->skipped);
  fprintf(stderr, "; %.3f s, %.1f jobs/s%s%s\n", wall_ms / 1000.0, rate,
          halted ? "; halted by --halt " : "", halted ? halted : "");
  if (json_path == NULL)
    return 0;
  obj = json_pack("{sI sI sI sI sI sI sI sI sI sI sO sf sf ss?}",
                  "jobs", (json_int_t)c->jobs, "ok", (json_int_t)c->ok,
                  "failed", (json_int_t)c->failed,
                  "timed_out", (json_int_t)c->timed_out,
                  "oom", (json_int_t)c->oom,
                  "errors", (json_int_t)c->errors,
                  "interrupted", (json_int_t)c->interrupted,
                  "retries", (json_int_t)c->retried,
                  "skipped", (json_int_t)c->skipped,
                  "not_started", (json_int_t)c->not_started,
                  "skipped_ids", c->skipped_ids ? c->skipped_ids
                                                : json_array(),
                  "wall_ms", wall_ms, "jobs_per_s", rate,
                  "halted", halted);
  if (obj == NULL || json_dump_file(obj, json_path, JSON_COMPACT) != 0) {
    fprintf(stderr, "capsid batch: --json-summary: cannot write \"%s\"\n",
            json_path);
    rc = -1;
  }
  json_decref(obj);
  return rc;
}


/* Says which jobs --resume skipped (all of them are in --json-summary). */
void cli_batch_report_skipped(const cli_batch_counts_t* c) {
  size_t i, n = json_array_size(c->skipped_ids);
  char* text;

  if (n == 0)
    return;
  fprintf(stderr, "capsid batch: --resume: %zu jobs done before were "
          "skipped:", n);
  for (i = 0; i < n && i < 20; i++) {
    text = json_dumps(json_array_get(c->skipped_ids, i),
                      JSON_ENCODE_ANY | JSON_COMPACT);
    fprintf(stderr, "%s %s", i ? "," : "", text ? text : "?");
    free(text);
  }
  if (n > 20)
    fprintf(stderr, " and %zu more", n - 20);
  fputc('\n', stderr);
}
