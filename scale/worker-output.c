/* Writing what finished jobs owe Redis, in an order that never loses a
 * result: every XADD of the job first, each confirmed, and only then the
 * XACK. A connection lost in between leaves the job in the held list with
 * what is done recorded; after the reconnect the rest is sent (an XADD
 * whose reply was lost may then land twice: at-least-once). */
#include "worker-output.h"

#include "log.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

/* 100 days, past any --claim-idle (at most 24 h), so a handed-back job
 * is claimable at once. Not larger: Redis treats an idle time that would
 * put the delivery before the epoch as 0. */
#define REQUEUE_IDLE "8640000000"

int worker_add_init(worker_add_t* a, const char* stream, int n,
                    const char* const* fields, const size_t* lens) {
  int i;

  memset(a, 0, sizeof(*a));
  a->stream = stream;
  for (i = 0; i < n && i < WORKER_MAX_FIELDS; i++) {
    a->fields[i] = capsid__malloc(lens[i] + 1);
    if (a->fields[i] == NULL)
      return CAPSID_ENOMEM;
    memcpy(a->fields[i], fields[i], lens[i]);
    a->fields[i][lens[i]] = '\0';
    a->lens[i] = lens[i];
    a->nfields = i + 1;
  }
  return 0;
}


/* An error reply: a transient one (LOADING, BUSY...) is tried again after
 * a backoff; a permanent one (a stream of the wrong type...) stops the
 * worker, and the job stays pending for a worker that can write it. */
static int failed(worker_job_t* j, const redisReply* r, const char* what) {
  char msg[512];

  if (r == NULL)
    return 1; /* connection lost: resent once it is back */
  if (r->type != REDIS_REPLY_ERROR) {
    scale_redis_backoff_ok(&j->w->write_backoff, "capsid worker",
                           "redis takes writes again");
    return 0;
  }
  snprintf(msg, sizeof(msg), "entry %s: %s failed: %s", j->entry.id, what,
           r->str);
  j->retry_at = worker_now_ms() + worker_write_failed(j->w, msg, r->str);
  return 1;
}


/* A result Redis cannot take (larger than its proto-max-bulk-len, ...)
 * is met in one of two ways: an error reply to its XADD, or, when Redis
 * closes the socket while the command is still being written, a lost
 * connection. The first replaces the result with a dead letter at once;
 * after the second the XADD is sent alone (nothing else in flight), and
 * when the connection is lost twice more that way, the same. A
 * replacement Redis refuses too stops the worker (failed()). */
#define ALONE_LOSSES 2

static size_t add_bytes(const worker_add_t* a) {
  size_t n = 0;
  int i;

  for (i = 0; i < a->nfields; i++)
    n += a->lens[i];
  return n;
}

static void on_add(redisAsyncContext* ac, void* reply, void* priv) {
  worker_job_t* j = priv;
  const redisReply* r = reply;
  worker_t* w = j->w;
  char why[512];

  (void)ac;
  j->inflight = 0;
  if (r == NULL) {
    j->losses++;
    if (j->sent_alone)
      j->alone_losses++;
    j->sent_alone = 0;
    if (j->alone_losses >= ALONE_LOSSES && !j->replaced) {
      snprintf(why, sizeof(why), "Redis closed the connection each time its "
               "result (%zu bytes) was written (%d times); is it larger "
               "than proto-max-bulk-len? (see --max-result-bytes)",
               add_bytes(&j->adds[j->adds_done]), j->losses);
      w->unwritable_hook(j, why);
    }
    return;
  }
  j->sent_alone = 0;
  if (r->type == REDIS_REPLY_ERROR && !j->replaced &&
      !scale_redis_reply_transient(r->str)) {
    snprintf(why, sizeof(why), "XADD of its result to \"%s\" was refused: "
             "%s", j->adds[j->adds_done].stream, r->str);
    w->unwritable_hook(j, why);
    return;
  }
  if (failed(j, reply, "XADD"))
    return;
  j->adds_done++;
  worker_output_flush(w);
}


static void on_ack(redisAsyncContext* ac, void* reply, void* priv) {
  worker_job_t* j = priv;
  worker_t* w = j->w;
  char stage[160];

  (void)ac;
  j->inflight = 0;
  if (failed(j, reply, "XACK"))
    return;
  snprintf(stage, sizeof(stage), "entry %s: result written, XACK",
           j->entry.id);
  capsid__log_stage(stage, j->log_ns, 0);
  w->results_written++;
  worker_job_free(j);
  worker_pump(w);
}


static void on_requeue(redisAsyncContext* ac, void* reply, void* priv) {
  worker_job_t* j = priv;
  worker_t* w = j->w;

  (void)ac;
  j->inflight = 0;
  if (failed(j, reply, "XCLAIM (hand back)"))
    return;
  worker_job_free(j);
  worker_pump(w);
}


static int send_add(worker_job_t* j) {
  worker_add_t* a = &j->adds[j->adds_done];
  const char* argv[3 + WORKER_MAX_FIELDS];
  size_t lens[3 + WORKER_MAX_FIELDS];
  int i;

  argv[0] = "XADD";
  lens[0] = 4;
  argv[1] = a->stream;
  lens[1] = strlen(a->stream);
  argv[2] = "*";
  lens[2] = 1;
  for (i = 0; i < a->nfields; i++) {
    argv[3 + i] = a->fields[i];
    lens[3 + i] = a->lens[i];
  }
  return scale_redis_conn_send(j->w->wconn, on_add, j, 3 + a->nfields, argv,
                               lens);
}


static int send_ack(worker_job_t* j) {
  const char* argv[4];

  argv[0] = "XACK";
  argv[1] = j->w->stream;
  argv[2] = j->w->group;
  argv[3] = j->entry.id;
  return scale_redis_conn_send(j->w->wconn, on_ack, j, 4, argv, NULL);
}


/* XCLAIM to ourselves with an idle time no threshold can be above: the
 * next XAUTOCLAIM of any worker takes the job. JUSTID keeps the delivery
 * count as it is. */
static int send_requeue(worker_job_t* j) {
  const char* argv[9];

  argv[0] = "XCLAIM";
  argv[1] = j->w->stream;
  argv[2] = j->w->group;
  argv[3] = j->w->consumer;
  argv[4] = "0";
  argv[5] = j->entry.id;
  argv[6] = "IDLE";
  argv[7] = REQUEUE_IDLE;
  argv[8] = "JUSTID";
  return scale_redis_conn_send(j->w->wconn, on_requeue, j, 9, argv, NULL);
}


static int suspect(const worker_job_t* j) {
  return j->losses > 0 && j->state == WJ_OUTPUT && j->adds_done < j->nadds &&
         !j->replaced;
}


/* Sends what each held job owes next. A suspect XADD (one that was in
 * flight when a connection was lost) goes alone on the connection, and
 * while it is in flight nothing else is sent. */
void worker_output_flush(worker_t* w) {
  worker_job_t* j;
  uint64_t now;
  int rc, busy = w->claim_inflight || w->beat_inflight;

  if (w->wconn == NULL || !scale_redis_conn_is_ready(w->wconn))
    return;
  for (j = w->held.next; j != &w->held; j = j->next) {
    if (j->inflight && j->sent_alone)
      return;
    busy |= j->inflight;
  }
  now = worker_now_ms();
  for (j = w->held.next; j != &w->held; j = j->next) {
    if (j->inflight || j->state == WJ_RUNNING || j->state == WJ_RETRY ||
        j->retry_at > now)
      continue;
    j->sent_alone = suspect(j);
    if (j->sent_alone && busy)
      continue;
    if (j->state == WJ_REQUEUE)
      rc = send_requeue(j);
    else if (j->adds_done < j->nadds)
      rc = send_add(j);
    else
      rc = send_ack(j);
    if (rc != 0)
      return; /* the connection is down: on_ready flushes again */
    j->inflight = 1;
    busy = 1;
    if (j->sent_alone)
      return;
  }
}
