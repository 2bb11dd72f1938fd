/* From a stream entry to a running job, and from a finished job to its
 * result line. Bad entries (no "job" field, malformed JSON, an invalid
 * spec) get an error result that names the field, like `capsid batch`. */
#include "worker-entry.h"

#include "metrics.h"
#include "resultline.h"
#include "worker-output.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int worker_entry_parse(const void* reply, worker_entry_t* out) {
  const redisReply* e = reply;
  const redisReply* f;
  size_t i;

  memset(out, 0, sizeof(*out));
  if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING)
    return CAPSID_EINVAL;
  out->id = capsid__strndup(e->element[0]->str, e->element[0]->len);
  if (out->id == NULL)
    return CAPSID_ENOMEM;
  f = e->element[1];
  if (f->type != REDIS_REPLY_ARRAY)
    return 0; /* a deleted entry: no fields, so no "job" */
  for (i = 0; i + 1 < f->elements; i += 2) {
    const redisReply* k = f->element[i];
    const redisReply* v = f->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    if (strcmp(k->str, "job") == 0 && out->job == NULL) {
      out->job = capsid__malloc(v->len + 1);
      if (out->job == NULL) {
        worker_entry_free(out);
        return CAPSID_ENOMEM;
      }
      memcpy(out->job, v->str, v->len);
      out->job[v->len] = '\0';
      out->job_len = v->len;
    } else if (strcmp(k->str, "line") == 0) {
      char* end;
      long n = strtol(v->str, &end, 10);
      if (*end == '\0' && n > 0)
        out->line = n;
    }
  }
  return 0;
}


/* The result line, in the batch format plus "worker" and "entry". */
static int result_add(worker_job_t* j, const capsid_result_t* r) {
  worker_t* w = j->w;
  capsid__buf_t b = {0};
  json_t* extra = json_object();
  char* idtext = NULL;
  const char* fields[6];
  size_t lens[6];
  int rc;

  scale_metrics_result(r);
  json_object_set_new(extra, "worker", json_string(w->consumer));
  json_object_set_new(extra, "entry", json_string(j->entry.id));
  rc = cli_result_format(&b, j->have_jl ? j->jl.id : NULL, j->entry.line, r,
                         extra);
  json_decref(extra);
  if (rc != 0) {
    capsid__buf_free(&b);
    return CAPSID_ENOMEM;
  }
  /* The job's own id, as JSON, so a reader can match results to jobs
   * without parsing the result. */
  if (j->have_jl && j->jl.id != NULL)
    idtext = json_dumps(j->jl.id, JSON_ENCODE_ANY | JSON_COMPACT);
  fields[0] = "entry";
  fields[1] = j->entry.id;
  fields[2] = "worker";
  fields[3] = w->consumer;
  fields[4] = "result";
  fields[5] = b.data;
  lens[0] = 5;
  lens[1] = strlen(j->entry.id);
  lens[2] = 6;
  lens[3] = strlen(w->consumer);
  lens[4] = 6;
  lens[5] = b.len;
  rc = worker_add_init(&j->adds[j->nadds], w->results, 6, fields, lens);
  if (rc == 0 && idtext != NULL) {
    worker_add_t* a = &j->adds[j->nadds];
    a->fields[6] = capsid__strdup("id");
    a->lens[6] = 2;
    a->fields[7] = capsid__strdup(idtext);
    a->lens[7] = strlen(idtext);
    a->nfields = 8;
    if (a->fields[6] == NULL || a->fields[7] == NULL)
      rc = CAPSID_ENOMEM;
  }
  free(idtext);
  capsid__buf_free(&b);
  j->nadds++;
  return rc;
}


static void to_output(worker_job_t* j) {
  if (j->state == WJ_RUNNING)
    j->w->running--, scale_metrics_job_stopped();
  j->state = WJ_OUTPUT;
  worker_output_flush(j->w);
}


/* Shutting down past the deadline: the job goes back to the group. */
static void to_requeue(worker_job_t* j) {
  if (j->state == WJ_RUNNING)
    j->w->running--, scale_metrics_job_stopped();
  j->state = WJ_REQUEUE;
  worker_output_flush(j->w);
}


static void error_result(worker_job_t* j, capsid_error_t* err) {
  capsid_result_t r;

  cli_result_of_error(&r, err);
  if (result_add(j, &r) != 0)
    fprintf(stderr, "capsid worker: entry %s: out of memory building its "
            "result\n", j->entry.id);
  capsid_result_free(&r);
  to_output(j);
}


static void on_job_exit(capsid_job_t* job, capsid_result_t* result,
                        void* data) {
  worker_job_t* j = data;

  (void)job;
  j->job = NULL;
  /* A job killed because the worker is going away has no result: it
   * runs again on another worker. */
  if (j->w->killing) {
    to_requeue(j);
  } else {
    if (result_add(j, result) != 0)
      fprintf(stderr, "capsid worker: entry %s: out of memory building "
              "its result\n", j->entry.id);
    to_output(j);
  }
  worker_pump(j->w);
}


/* A job whose workers kept dying: record it in the dead-letter stream and
 * answer it with an error result, so collectors waiting for every job are
 * not left waiting. */
static void dead_letter(worker_job_t* j, long deliveries) {
  worker_t* w = j->w;
  capsid_error_t err;
  const char* fields[10];
  size_t lens[10];
  char reason[256], count[32], line[32];
  int n = 0;

  snprintf(reason, sizeof(reason), "delivered %ld times without a result "
           "(limit --max-deliveries %ld): the workers that took it died or "
           "were stopped", deliveries, w->max_deliveries);
  snprintf(count, sizeof(count), "%ld", deliveries);
  snprintf(line, sizeof(line), "%ld", j->entry.line);
  fields[n] = "entry", lens[n++] = 5;
  fields[n] = j->entry.id, lens[n++] = strlen(j->entry.id);
  fields[n] = "reason", lens[n++] = 6;
  fields[n] = reason, lens[n++] = strlen(reason);
  fields[n] = "deliveries", lens[n++] = 10;
  fields[n] = count, lens[n++] = strlen(count);
  fields[n] = "worker", lens[n++] = 6;
  fields[n] = w->consumer, lens[n++] = strlen(w->consumer);
  if (j->entry.job != NULL) {
    fields[n] = "job", lens[n++] = 3;
    fields[n] = j->entry.job, lens[n++] = j->entry.job_len;
  }
  if (worker_add_init(&j->adds[j->nadds], w->dead, n, fields, lens) == 0)
    j->nadds++;
  fprintf(stderr, "capsid worker: entry %s: %s; moved to \"%s\"\n",
          j->entry.id, reason, w->dead);
  scale_metrics_dead_letter();
  memset(&err, 0, sizeof(err));
  capsid__error_set(&err, CAPSID_ECANCELED, CAPSID_STAGE_SPEC, 0,
                    NULL, NULL, "job not run: %s; see stream \"%s\"", reason,
                    w->dead);
  error_result(j, &err);
}


void worker_entry_take(worker_t* w, worker_entry_t* e, long deliveries) {
  worker_job_t* j = capsid__calloc(1, sizeof(*j));
  capsid_error_t err;
  int rc;

  if (j == NULL) {
    /* Left pending: another pass (here or elsewhere) claims it again. */
    fprintf(stderr, "capsid worker: entry %s: out of memory; left pending\n",
            e->id);
    worker_entry_free(e);
    return;
  }
  j->w = w;
  j->entry = *e;
  memset(e, 0, sizeof(*e));
  j->state = WJ_RUNNING;
  j->next = &w->held;
  j->prev = w->held.prev;
  w->held.prev->next = j;
  w->held.prev = j;
  w->held_count++;
  w->running++;
  scale_metrics_job_started();

  memset(&err, 0, sizeof(err));
  if (w->stopping) {
    /* Read or claimed after the stop signal: not ours to run. */
    to_requeue(j);
    return;
  }
  if (deliveries > w->max_deliveries) {
    /* Parsed only so that the error result carries the job's id. */
    if (j->entry.job != NULL) {
      cli_jobline_parse(j->entry.job, j->entry.job_len, j->entry.line,
                        &j->jl, &err);
      j->have_jl = 1;
      capsid__error_free(&err);
    }
    dead_letter(j, deliveries);
    return;
  }
  if (j->entry.job == NULL) {
    capsid__error_set(&err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL, "job",
                      "stream entry %s has no \"job\" field (add jobs with "
                      "'capsid submit' or XADD %s * job LINE)",
                      j->entry.id, w->stream);
    error_result(j, &err);
    return;
  }
  rc = cli_jobline_parse(j->entry.job, j->entry.job_len, j->entry.line,
                         &j->jl, &err);
  j->have_jl = 1;
  if (rc != 0) {
    error_result(j, &err);
    return;
  }
  rc = cli_jobline_start(w->rt, &j->jl, on_job_exit, j, &j->job);
  if (rc != 0) {
    capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      "cannot start the job: %s", capsid_strerror(rc));
    error_result(j, &err);
  }
}
