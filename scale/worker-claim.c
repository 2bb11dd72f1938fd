/* Taking over the jobs of dead workers, and keeping our own from being
 * taken.
 *
 * Claim pass: XAUTOCLAIM gives us the entries pending longer than
 * --claim-idle (their worker stopped showing signs of life); XPENDING then
 * tells how often each was delivered, and one delivered more than
 * --max-deliveries times is dead-lettered instead of run once more: a job
 * that kills its worker must not take down the whole fleet in turn.
 *
 * Heartbeat: a long job must not look dead. Every third of --claim-idle we
 * XCLAIM our own held entries with JUSTID (which resets their idle time
 * and leaves the delivery count alone). */
#include "worker-claim.h"

#include "worker-entry.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

typedef struct claim_s {
  worker_t* w;
  worker_entry_t* entries;
  size_t n;
} claim_t;


static void claim_free(claim_t* c) {
  size_t i;

  for (i = 0; i < c->n; i++)
    worker_entry_free(&c->entries[i]);
  capsid__free(c->entries);
  capsid__free(c);
}


static int held_by_us(worker_t* w, const char* id) {
  worker_job_t* j;

  for (j = w->held.next; j != &w->held; j = j->next)
    if (strcmp(j->entry.id, id) == 0)
      return 1;
  return 0;
}


/* The pass runs again at its next period, so only say what failed (at
 * most every few seconds while it goes on); a permanent error stops the
 * worker. */
static void report(worker_t* w, const char* what, const redisReply* r) {
  char msg[512];

  /* NOGROUP: the reader recreates the group; nothing to say here. */
  if (r != NULL && r->type == REDIS_REPLY_ERROR &&
      strncmp(r->str, "NOGROUP", 7) != 0) {
    snprintf(msg, sizeof(msg), "%s on \"%s\" failed: %s", what, w->stream,
             r->str);
    worker_write_failed(w, msg, r->str);
  }
}


/* [[id, consumer, idle, deliveries], ...] for our claimed range. */
static void on_pending(redisAsyncContext* ac, void* reply, void* priv) {
  claim_t* c = priv;
  worker_t* w = c->w;
  redisReply* r = reply;
  size_t i, k;

  (void)ac;
  w->claim_inflight = 0;
  if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
    /* The entries stay pending under our name and are claimed again
     * after --claim-idle. */
    report(w, "XPENDING", r);
    claim_free(c);
    return;
  }
  for (i = 0; i < c->n; i++) {
    long deliveries = -1;
    for (k = 0; k < r->elements; k++) {
      const redisReply* p = r->element[k];
      if (p->type == REDIS_REPLY_ARRAY && p->elements == 4 &&
          p->element[0]->type == REDIS_REPLY_STRING &&
          p->element[3]->type == REDIS_REPLY_INTEGER &&
          strcmp(p->element[0]->str, c->entries[i].id) == 0) {
        deliveries = (long)p->element[3]->integer;
        break;
      }
    }
    /* Not ours any more (another worker claimed it in between): leave
     * it to that worker. */
    if (deliveries < 0)
      continue;
    worker_entry_take(w, &c->entries[i], deliveries);
  }
  claim_free(c);
  worker_pump(w);
}


/* [cursor, [[id, fields], ...], [deleted ids]] */
static void on_autoclaim(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;
  const redisReply* list;
  const char* argv[8];
  char count[32];
  claim_t* c;
  size_t i;

  (void)ac;
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
      r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_ARRAY) {
    report(w, "XAUTOCLAIM", r);
    w->claim_inflight = 0;
    return;
  }
  snprintf(w->claim_cursor, sizeof(w->claim_cursor), "%s",
           r->element[0]->str);
  list = r->element[1];
  c = capsid__calloc(1, sizeof(*c));
  if (c != NULL && list->elements > 0)
    c->entries = capsid__calloc(list->elements, sizeof(*c->entries));
  if (c == NULL || (list->elements > 0 && c->entries == NULL)) {
    capsid__free(c);
    w->claim_inflight = 0;
    return;
  }
  c->w = w;
  for (i = 0; i < list->elements; i++) {
    worker_entry_t e;
    if (worker_entry_parse(list->element[i], &e) != 0)
      continue;
    if (held_by_us(w, e.id)) {
      worker_entry_free(&e);
      continue;
    }
    c->entries[c->n++] = e;
  }
  if (c->n == 0) {
    claim_free(c);
    w->claim_inflight = 0;
    return;
  }
  fprintf(stderr, "capsid worker: %s: took over %zu jobs idle for more "
          "than %llu ms\n", w->consumer, c->n,
          (unsigned long long)w->claim_idle_ms);
  /* Entries come in id order, so one XPENDING range covers them. */
  snprintf(count, sizeof(count), "%zu", c->n + w->held_count + 16);
  argv[0] = "XPENDING";
  argv[1] = w->stream;
  argv[2] = w->group;
  argv[3] = c->entries[0].id;
  argv[4] = c->entries[c->n - 1].id;
  argv[5] = count;
  argv[6] = w->consumer;
  if (scale_redis_conn_send(w->wconn, on_pending, c, 7, argv, NULL) != 0) {
    claim_free(c);
    w->claim_inflight = 0;
  }
}


void worker_claim_pass(worker_t* w) {
  const char* argv[8];
  char idle[32], count[32];
  unsigned free_slots = worker_free_slots(w);

  if (w->claim_inflight || w->stopping || free_slots == 0 ||
      !w->cancel_known ||
      !scale_redis_conn_is_ready(w->wconn) ||
      worker_now_ms() < w->claim_fence_ms)
    return;
  snprintf(idle, sizeof(idle), "%llu", (unsigned long long)w->claim_idle_ms);
  snprintf(count, sizeof(count), "%u", free_slots);
  argv[0] = "XAUTOCLAIM";
  argv[1] = w->stream;
  argv[2] = w->group;
  argv[3] = w->consumer;
  argv[4] = idle;
  argv[5] = w->claim_cursor;
  argv[6] = "COUNT";
  argv[7] = count;
  if (scale_redis_conn_send(w->wconn, on_autoclaim, w, 8, argv, NULL) == 0) {
    w->claim_inflight = 1;
    w->last_claim_ms = worker_now_ms();
  }
}


static void on_beat(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;

  (void)ac;
  w->beat_inflight = 0;
  report(w, "XCLAIM (heartbeat)", reply);
}


void worker_heartbeat(worker_t* w) {
  const char** argv;
  worker_job_t* j;
  size_t n = 0;

  w->last_beat_ms = worker_now_ms();
  if (w->beat_inflight || w->held_count == 0 ||
      !scale_redis_conn_is_ready(w->wconn))
    return;
  argv = capsid__calloc(w->held_count + 6, sizeof(*argv));
  if (argv == NULL)
    return;
  argv[n++] = "XCLAIM";
  argv[n++] = w->stream;
  argv[n++] = w->group;
  argv[n++] = w->consumer;
  argv[n++] = "0";
  /* Not the handed-back ones: refreshing them would undo the hand-back. */
  for (j = w->held.next; j != &w->held; j = j->next)
    if (j->state != WJ_REQUEUE)
      argv[n++] = j->entry.id;
  if (n == 5) {
    capsid__free(argv);
    return;
  }
  argv[n++] = "JUSTID";
  if (scale_redis_conn_send(w->wconn, on_beat, w, (int)n, argv, NULL) == 0)
    w->beat_inflight = 1;
  capsid__free(argv);
}
