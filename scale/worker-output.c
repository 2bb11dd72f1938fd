/* Writing what finished jobs owe Redis, in an order that never loses a
 * result: every XADD of the job first, each confirmed, and only then the
 * XACK. A connection lost in between leaves the job in the held list with
 * what is done recorded; after the reconnect the rest is sent (an XADD
 * whose reply was lost may then land twice: at-least-once).
 *
 * "Confirmed" is only true of the server that confirmed it. After a
 * failover the reconnect reaches another server, which may never have
 * received the XADD (replication is asynchronous), and an XACK sent
 * there would end a job whose result exists nowhere. So the XACK is sent
 * in a script that first looks up each of the job's written entries by
 * the id Redis gave it, and acknowledges only when all are there; the
 * ones missing are written again. */
#include "worker-output.h"

#include "log.h"
#include "metrics.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

/* 100 days, past any --claim-idle (at most 24 h), so a handed-back job
 * is claimable at once. Not larger: Redis treats an idle time that would
 * put the delivery before the epoch as 0. */
#define REQUEUE_IDLE "8640000000"

/* KEYS[1] the job stream, KEYS[2..] the streams written; ARGV[1] the
 * group, ARGV[2] the job's entry, ARGV[3..] the id of what was written
 * to each of KEYS[2..]. An entry counts as there when it holds "entry"
 * = ARGV[2] (another server could have given the same id to another
 * entry). Answers the positions (1 = KEYS[2]) of those not there, or
 * XACK's count when none is missing. */
static const char ACK_IF_WRITTEN[] =
    "local missing = {} "
    "for i = 2, #KEYS do "
    "  local e = redis.call('XRANGE', KEYS[i], ARGV[i + 1], ARGV[i + 1]) "
    "  local ok = false "
    "  if e[1] then "
    "    local f = e[1][2] "
    "    for k = 1, #f - 1, 2 do "
    "      if f[k] == 'entry' and f[k + 1] == ARGV[2] then ok = true end "
    "    end "
    "  end "
    "  if not ok then missing[#missing + 1] = i - 1 end "
    "end "
    "if #missing > 0 then return missing end "
    "return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])";

/* A result found gone this many times is acknowledged without looking
 * again: only a --results-ttl shorter than a round trip trims a result
 * that fast, and the job must not be written forever. */
#define MAX_REWRITES 3

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
  j->adds[j->adds_done].written = 1;
  if (r->type == REDIS_REPLY_STRING && r->len < sizeof(j->adds[0].rid))
    memcpy(j->adds[j->adds_done].rid, r->str, r->len + 1);
  j->adds_done++;
  worker_output_flush(w);
}


/* The adds the XACK script looks up: written, with a known id. Also how
 * a position in its answer maps back to an add. */
static int checked(const worker_job_t* j, int i) {
  return j->rewrites < MAX_REWRITES && j->adds[i].written &&
         j->adds[i].rid[0] != '\0';
}


/* The script found some of what the job wrote gone: write those again,
 * then try the XACK again. */
static void rewrite(worker_job_t* j, const redisReply* missing) {
  int map[WORKER_MAX_ADDS], n = 0, i;
  size_t k;

  for (i = 0; i < j->nadds; i++)
    if (checked(j, i))
      map[n++] = i;
  for (k = 0; k < missing->elements; k++) {
    const redisReply* e = missing->element[k];
    if (e->type == REDIS_REPLY_INTEGER && e->integer >= 1 &&
        e->integer <= n) {
      worker_add_t* a = &j->adds[map[e->integer - 1]];
      fprintf(stderr, "capsid worker: %s: entry %s: what it wrote to "
              "\"%s\" (%s), confirmed before the connection was lost, is "
              "not on the server now answering (a failover or a restart "
              "lost it); writing it again\n", j->w->consumer, j->entry.id,
              a->stream, a->rid);
      a->written = 0;
      a->rid[0] = '\0';
      scale_metrics_result_rewritten();
    }
  }
  j->rewrites++;
  if (j->rewrites == MAX_REWRITES)
    fprintf(stderr, "capsid worker: %s: entry %s: its result went missing "
            "%d times after it was written (is --results-ttl shorter than "
            "a round trip?); acknowledging it without looking again\n",
            j->w->consumer, j->entry.id, MAX_REWRITES);
  j->adds_done = 0;
}


static void on_ack(redisAsyncContext* ac, void* reply, void* priv) {
  worker_job_t* j = priv;
  worker_t* w = j->w;
  const redisReply* r = reply;
  char stage[160];

  (void)ac;
  j->inflight = 0;
  if (failed(j, reply, "XACK"))
    return;
  if (r->type == REDIS_REPLY_ARRAY) {
    rewrite(j, r);
    worker_output_flush(w);
    return;
  }
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
  const char* keys[1 + WORKER_MAX_ADDS];
  const char* ids[WORKER_MAX_ADDS];
  const char* argv[5 + 2 * WORKER_MAX_ADDS + 2];
  char nkeys[16];
  int n = 0, nk = 0, i;

  keys[nk++] = j->w->stream;
  for (i = 0; i < j->nadds; i++)
    if (checked(j, i)) {
      ids[nk - 1] = j->adds[i].rid;
      keys[nk++] = j->adds[i].stream;
    }
  snprintf(nkeys, sizeof(nkeys), "%d", nk);
  argv[n++] = "EVAL";
  argv[n++] = ACK_IF_WRITTEN;
  argv[n++] = nkeys;
  for (i = 0; i < nk; i++)
    argv[n++] = keys[i];
  argv[n++] = j->w->group;
  argv[n++] = j->entry.id;
  for (i = 0; i < nk - 1; i++)
    argv[n++] = ids[i];
  return scale_redis_conn_send(j->w->wconn, on_ack, j, n, argv, NULL);
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
    /* After a rewrite() only the adds found gone are sent again. */
    while (j->adds_done < j->nadds && j->adds[j->adds_done].written)
      j->adds_done++;
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
