/* From a stream entry to a running job, and from a finished job to its
 * result line. Bad entries (no "job" field, malformed JSON, an invalid
 * spec) get an error result that names the field, like `capsid batch`. */
#include "worker-entry.h"

#include "metrics.h"
#include "resultline.h"
#include "worker-output.h"

#include "log.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int worker_entry_parse(const void* reply, worker_entry_t* out) {
  const redisReply* e = reply;
  const redisReply* f;
  size_t i, total = 0;

  memset(out, 0, sizeof(*out));
  if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
      e->element[0]->type != REDIS_REPLY_STRING)
    return CAPSID_EINVAL;
  out->id = capsid__strndup(e->element[0]->str, e->element[0]->len);
  if (out->id == NULL)
    return CAPSID_ENOMEM;
  /* The claim script's [id, small fields, deliveries, size] of an entry
   * too large to send. */
  if (e->elements >= 4 && e->element[3]->type == REDIS_REPLY_INTEGER &&
      e->element[3]->integer > 0)
    out->oversize = (size_t)e->element[3]->integer;
  f = e->element[1];
  if (f->type != REDIS_REPLY_ARRAY)
    return 0; /* a deleted entry: no fields, so no "job" */
  for (i = 0; i < f->elements; i++)
    if (f->element[i]->type == REDIS_REPLY_STRING)
      total += f->element[i]->len;
  if (total > WORKER_MAX_ENTRY && out->oversize == 0)
    out->oversize = total;
  for (i = 0; i + 1 < f->elements; i += 2) {
    const redisReply* k = f->element[i];
    const redisReply* v = f->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    if (strcmp(k->str, "job") == 0 && out->job == NULL && !out->oversize) {
      out->job = capsid__malloc(v->len + 1);
      if (out->job == NULL) {
        worker_entry_free(out);
        return CAPSID_ENOMEM;
      }
      memcpy(out->job, v->str, v->len);
      out->job[v->len] = '\0';
      out->job_len = v->len;
    } else if (strcmp(k->str, "submit") == 0 && out->batch == NULL) {
      out->batch = capsid__strndup(v->str, v->len);
      if (out->batch == NULL) {
        worker_entry_free(out);
        return CAPSID_ENOMEM;
      }
    } else if (strcmp(k->str, "line") == 0) {
      char* end;
      long n = strtol(v->str, &end, 10);
      if (*end == '\0' && n > 0)
        out->line = n;
    }
  }
  return 0;
}


/* Room left for the small fields of a result line (code, id, error
 * message, worker, entry...) under --max-result-bytes. */
#define RESULT_META_BYTES 4096u


/* o cut to at most keep bytes of the job's output: the first and last
 * halves around a marker, as the runtime's own output cap does (into
 * buf, which the caller frees). */
static int cut_output(capsid_output_t* o, size_t keep, char** buf) {
  char marker[96];
  size_t head = keep / 2, tail = keep - keep / 2, mlen;
  uint64_t dropped;

  *buf = NULL;
  if (o->len <= keep)
    return 0;
  dropped = o->dropped + (o->len - head - tail);
  mlen = (size_t)snprintf(marker, sizeof(marker), "\n[capsid: %llu bytes "
                          "dropped: --max-result-bytes]\n",
                          (unsigned long long)dropped);
  *buf = capsid__malloc(head + mlen + tail + 1);
  if (*buf == NULL)
    return CAPSID_ENOMEM;
  memcpy(*buf, o->data, head);
  memcpy(*buf + head, marker, mlen);
  memcpy(*buf + head + mlen, o->data + o->len - tail, tail);
  (*buf)[head + mlen + tail] = '\0';
  o->data = *buf;
  o->len = head + mlen + tail;
  o->dropped = dropped;
  o->truncated = 1;
  return 0;
}


/* The result line into b, its outputs cut so that it fits in
 * --max-result-bytes (a result Redis refuses would be retried for ever).
 * A stream of n bytes costs at most n * FACTOR + SLACK bytes of the line
 * (resultline.h), so each keeps what half the room can hold. */
static int format_capped(worker_job_t* j, const capsid_result_t* r,
                         json_t* extra, capsid__buf_t* b) {
  uint64_t max = j->w->max_result_bytes;
  json_t* id = j->have_jl ? j->jl.id : NULL;
  capsid_result_t cut;
  char *out_buf = NULL, *err_buf = NULL;
  size_t keep;
  int rc;

  rc = scale_result_format(b, id, j->entry.line, r, extra);
  if (rc != 0 || b->len <= max)
    return rc;
  keep = (size_t)((max - RESULT_META_BYTES) / 2 / CLI_RESULT_STREAM_FACTOR);
  keep = keep > CLI_RESULT_STREAM_SLACK ? keep - CLI_RESULT_STREAM_SLACK : 0;
  cut = *r;
  b->len = 0;
  rc = cut_output(&cut.out, keep, &out_buf);
  if (rc == 0)
    rc = cut_output(&cut.err, keep, &err_buf);
  if (rc == 0)
    rc = scale_result_format(b, id, j->entry.line, &cut, extra);
  capsid__free(out_buf);
  capsid__free(err_buf);
  return rc;
}


static int add_field(worker_add_t* a, const char* name, const char* value) {
  int n = a->nfields;

  if (n + 2 > WORKER_MAX_FIELDS)
    return CAPSID_EINVAL;
  a->fields[n] = capsid__strdup(name);
  a->fields[n + 1] = capsid__strdup(value);
  a->nfields = n + 2;
  if (a->fields[n] == NULL || a->fields[n + 1] == NULL)
    return CAPSID_ENOMEM;
  a->lens[n] = strlen(name);
  a->lens[n + 1] = strlen(value);
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
  if (j->entry.batch != NULL)
    json_object_set_new(extra, "batch", json_string(j->entry.batch));
  json_object_set_new(extra, "attempt", json_integer(j->attempt));
  rc = format_capped(j, r, extra, &b);
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
  if (rc == 0 && idtext != NULL)
    rc = add_field(&j->adds[j->nadds], "id", idtext);
  /* The batch, so that a collector of one batch skips the others. */
  if (rc == 0 && j->entry.batch != NULL)
    rc = add_field(&j->adds[j->nadds], "batch", j->entry.batch);
  /* The job file's line, which a collector with a manifest matches. */
  if (rc == 0 && j->entry.line > 0) {
    char line[32];
    snprintf(line, sizeof(line), "%ld", j->entry.line);
    rc = add_field(&j->adds[j->nadds], "line", line);
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

  scale_result_of_error(&r, err);
  if (result_add(j, &r) != 0)
    fprintf(stderr, "capsid worker: entry %s: out of memory building its "
            "result\n", j->entry.id);
  capsid_result_free(&r);
  to_output(j);
}


/* Ran and failed in a way running again may cure. Not a job capsid
 * could not start (a bad spec stays bad), nor one killed on purpose. */
static int retryable(const capsid_result_t* r) {
  return r->error.code == 0 && !r->killed &&
         (r->exit_code != 0 || r->signal != 0 || r->timed_out || r->oom);
}


/* The wait before attempt n + 1: --retry-backoff doubled n - 1 times,
 * at most 10 min, drawn between half and all of it so that jobs failing
 * together (a service down) do not come back together. */
static uint64_t retry_wait(const worker_t* w, int n) {
  uint64_t wait = w->retry_backoff_ms;
  int i;

  for (i = 1; i < n && wait < 600000u; i++)
    wait *= 2;
  if (wait > 600000u)
    wait = 600000u;
  /* The clock's low bits: jitter needs only to differ between jobs. */
  return wait / 2 + (capsid__hrtime() / 1000u) % (wait / 2 + 1);
}


static void to_retry(worker_job_t* j, const capsid_result_t* r) {
  uint64_t wait = retry_wait(j->w, j->attempt);

  fprintf(stderr, "capsid worker: entry %s: attempt %d of %u failed (%s%d); "
          "again in %llu ms\n", j->entry.id, j->attempt, j->w->retries + 1,
          r->timed_out ? "timed out, " : r->oom ? "out of memory, " :
          r->signal ? "signal " : "exit status ",
          r->signal ? r->signal : r->exit_code, (unsigned long long)wait);
  j->w->running--;
  j->state = WJ_RETRY;
  j->retry_at = worker_now_ms() + wait;
}


static void on_job_exit(capsid_job_t* job, capsid_result_t* result,
                        void* data);


static void start(worker_job_t* j) {
  capsid_error_t err;
  int rc;

  rc = scale_jobline_start(j->w->rt, &j->jl, on_job_exit, j, &j->job);
  if (rc != 0) {
    memset(&err, 0, sizeof(err));
    capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      "cannot start the job: %s", capsid_strerror(rc));
    error_result(j, &err);
  }
}


void worker_entry_retry_due(worker_t* w) {
  worker_job_t* j;
  uint64_t now = worker_now_ms();

  for (j = w->held.next; j != &w->held; j = j->next) {
    if (j->state != WJ_RETRY)
      continue;
    if (w->stopping) {
      /* Another worker starts it again, from attempt 1. */
      to_requeue(j);
      continue;
    }
    if (j->retry_at > now || worker_free_slots(w) == 0)
      continue;
    j->retry_at = 0;
    j->attempt++;
    j->state = WJ_RUNNING;
    w->running++;
    start(j);
  }
}


void worker_entry_cancel(worker_job_t* j) {
  capsid_error_t err;

  memset(&err, 0, sizeof(err));
  capsid__error_set(&err, CAPSID_ECANCELED, CAPSID_STAGE_SPEC, 0, NULL,
                    NULL, "canceled by capsid cancel (set \"%s\")%s",
                    j->w->cancel_key,
                    j->canceled ? "; it was killed while running" : "");
  fprintf(stderr, "capsid worker: entry %s: canceled\n", j->entry.id);
  error_result(j, &err);
}


static void on_job_exit(capsid_job_t* job, capsid_result_t* result,
                        void* data) {
  worker_job_t* j = data;
  char stage[160];

  (void)job;
  j->job = NULL;
  snprintf(stage, sizeof(stage), "entry %s: run", j->entry.id);
  capsid__log_stage(stage, j->log_ns, 0);
  j->log_ns = capsid__hrtime();
  /* A job killed because the worker is going away has no result: it
   * runs again on another worker. */
  if (j->w->killing) {
    to_requeue(j);
  } else if (j->canceled) {
    worker_entry_cancel(j);
  } else if (!j->w->stopping && (unsigned)j->attempt <= j->w->retries &&
             retryable(result)) {
    to_retry(j, result);
  } else {
    if (result_add(j, result) != 0)
      fprintf(stderr, "capsid worker: entry %s: out of memory building "
              "its result\n", j->entry.id);
    to_output(j);
  }
  worker_pump(j->w);
}


/* Records j in the dead-letter stream with reason (and the delivery
 * count when known, > 0) and answers it with an error result, so
 * collectors waiting for every job are not left waiting. */
static void dead_letter(worker_job_t* j, const char* reason,
                        long deliveries) {
  worker_t* w = j->w;
  capsid_error_t err;
  const char* fields[10];
  size_t lens[10];
  char count[32];
  int n = 0;

  snprintf(count, sizeof(count), "%ld", deliveries);
  fields[n] = "entry", lens[n++] = 5;
  fields[n] = j->entry.id, lens[n++] = strlen(j->entry.id);
  fields[n] = "reason", lens[n++] = 6;
  fields[n] = reason, lens[n++] = strlen(reason);
  if (deliveries > 0) {
    fields[n] = "deliveries", lens[n++] = 10;
    fields[n] = count, lens[n++] = strlen(count);
  }
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
                    NULL, NULL, "%s: %s; see stream \"%s\"",
                    j->replaced ? "result not stored" : "job not run",
                    reason, w->dead);
  error_result(j, &err);
}


/* A job whose workers kept dying: a job that kills its worker must not
 * take down the whole fleet in turn. */
static void dead_letter_deliveries(worker_job_t* j, long deliveries) {
  char reason[256];

  snprintf(reason, sizeof(reason), "delivered %ld times without a result "
           "(limit --max-deliveries %ld): the workers that took it died or "
           "were stopped", deliveries, j->w->max_deliveries);
  dead_letter(j, reason, deliveries);
}


/* An entry too large to run (or to read whole): put on the stream by
 * hand, past what submit takes. */
static void dead_letter_oversize(worker_job_t* j, long deliveries) {
  char reason[256];

  snprintf(reason, sizeof(reason), "the entry is %zu bytes, larger than "
           "the %zu an entry may hold (a job line of at most %zu bytes and "
           "its other fields); not read", j->entry.oversize,
           (size_t)WORKER_MAX_ENTRY, (size_t)CLI_MAX_LINE);
  dead_letter(j, reason, deliveries);
}


void worker_entry_unwritable(worker_job_t* j, const char* why) {
  int i, k;

  for (i = 0; i < j->nadds; i++)
    for (k = 0; k < j->adds[i].nfields; k++)
      capsid__free(j->adds[i].fields[k]);
  memset(j->adds, 0, sizeof(j->adds));
  j->nadds = 0;
  j->adds_done = 0;
  j->replaced = 1;
  dead_letter(j, why, 0);
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
  j->log_ns = capsid__hrtime();
  capsid__log(CAPSID__LOG_DEBUG, capsid__log_program(),
              "entry %s: claimed (delivery %ld)", j->entry.id, deliveries);
  j->attempt = 1;
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
  if (j->entry.oversize > 0) {
    dead_letter_oversize(j, deliveries);
    return;
  }
  if (deliveries > w->max_deliveries) {
    /* Parsed only so that the error result carries the job's id. */
    if (j->entry.job != NULL) {
      scale_jobline_parse(j->entry.job, j->entry.job_len, j->entry.line,
                          &j->jl, &err);
      j->have_jl = 1;
      capsid__error_free(&err);
    }
    dead_letter_deliveries(j, deliveries);
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
  rc = scale_jobline_parse(j->entry.job, j->entry.job_len, j->entry.line,
                           &j->jl, &err);
  j->have_jl = 1;
  if (rc != 0) {
    error_result(j, &err);
    return;
  }
  if (worker_job_canceled(w, j)) {
    worker_entry_cancel(j);
    return;
  }
  start(j);
}
