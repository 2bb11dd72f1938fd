/* Taking over the jobs of dead workers, and keeping our own from being
 * taken.
 *
 * Claim pass: XAUTOCLAIM gives us the entries pending longer than
 * --claim-idle (their worker stopped showing signs of life), with how
 * often each was delivered: one delivered more than --max-deliveries
 * times is dead-lettered instead of run once more (a job that kills its
 * worker must not take down the whole fleet in turn). It runs in a script
 * that also measures each entry, so an entry too large to hold never
 * comes back whole (WORKER_MAX_ENTRY).
 *
 * Orphans: entries a read delivered to us but whose reply we never got
 * (the connection was lost, or dropped because an entry in it was too
 * large) are fetched back at once through the same script, instead of
 * waiting --claim-idle for a claim pass.
 *
 * Heartbeat: a long job must not look dead. Every third of --claim-idle we
 * XCLAIM our own held entries with JUSTID (which resets their idle time
 * and leaves the delivery count alone). */
#include "worker-claim.h"

#include "worker-entry.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

/* Claims, with each entry's size checked inside Redis: an entry larger
 * than the bound (ARGV[3]) comes back as [id, its small fields (not
 * "job"), deliveries, size], so that no claim ever carries it; others
 * as [id, fields, deliveries, 0]. Mode "auto" (ARGV[4]) is XAUTOCLAIM
 * (ARGV[5] min idle, ARGV[6] cursor, ARGV[7] count) and answers
 * [cursor, entries]; mode "own" fetches the ids that follow, each only
 * while it is still pending under this consumer, and answers
 * ["0-0", entries]. One script, so an entry cannot change hands between
 * the claim and the delivery count read with it. */
static const char CLAIM[] =
    "local s, g, me, max = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]) "
    "local function shape(e) "
    "  local f, n = e[2], 0 "
    "  local p = redis.call('XPENDING', s, g, e[1], e[1], 1) "
    "  local d = p[1] and p[1][4] or 1 "
    "  if type(f) ~= 'table' then return {e[1], {}, d, 0} end "
    "  for i = 1, #f do n = n + #f[i] end "
    "  if n <= max then return {e[1], f, d, 0} end "
    "  local small = {} "
    "  for i = 1, #f - 1, 2 do "
    "    if f[i] ~= 'job' and #f[i + 1] <= 1024 then "
    "      small[#small + 1] = f[i] small[#small + 1] = f[i + 1] end "
    "  end "
    "  return {e[1], small, d, n} "
    "end "
    "local out = {} "
    "if ARGV[4] == 'auto' then "
    "  local r = redis.call('XAUTOCLAIM', s, g, me, ARGV[5], ARGV[6], "
    "                       'COUNT', ARGV[7]) "
    "  for _, e in ipairs(r[2]) do out[#out + 1] = shape(e) end "
    "  return {r[1], out} "
    "end "
    "for i = 5, #ARGV do "
    "  local p = redis.call('XPENDING', s, g, ARGV[i], ARGV[i], 1) "
    "  if p[1] and p[1][2] == me then "
    "    local e = redis.call('XRANGE', s, ARGV[i], ARGV[i]) "
    "    if e[1] then out[#out + 1] = shape(e[1]) end "
    "  end "
    "end "
    "return {'0-0', out}";


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
      strstr(r->str, "NOGROUP") == NULL) {
    snprintf(msg, sizeof(msg), "%s on \"%s\" failed: %s", what, w->stream,
             r->str);
    worker_write_failed(w, msg, r->str);
  }
}


/* Takes the entries of a CLAIM reply ([cursor, entries]) that are not
 * held here already; returns how many, or -1 when r is not one. */
static long take_claimed(worker_t* w, const redisReply* r) {
  const redisReply* list;
  long n = 0;
  size_t i;

  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
      r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_ARRAY)
    return -1;
  list = r->element[1];
  for (i = 0; i < list->elements; i++) {
    const redisReply* e = list->element[i];
    worker_entry_t entry;
    long deliveries = 1;
    if (e->type == REDIS_REPLY_ARRAY && e->elements >= 3 &&
        e->element[2]->type == REDIS_REPLY_INTEGER)
      deliveries = (long)e->element[2]->integer;
    if (worker_entry_parse(e, &entry) != 0)
      continue;
    if (held_by_us(w, entry.id)) {
      worker_entry_free(&entry);
      continue;
    }
    worker_entry_take(w, &entry, deliveries);
    n++;
  }
  return n;
}


static void on_claim(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;
  long n;

  (void)ac;
  w->claim_inflight = 0;
  n = take_claimed(w, r);
  if (n < 0) {
    report(w, "XAUTOCLAIM", r);
    return;
  }
  snprintf(w->claim_cursor, sizeof(w->claim_cursor), "%s",
           r->element[0]->str);
  if (n > 0)
    fprintf(stderr, "capsid worker: %s: took over %ld jobs idle for more "
            "than %llu ms\n", w->consumer, n,
            (unsigned long long)w->claim_idle_ms);
  worker_pump(w);
}


/* The CLAIM script with mode and its arguments after the bound. */
static int send_claim(worker_t* w, redisCallbackFn* fn, int nargs,
                      const char** args) {
  const char** argv = capsid__calloc((size_t)nargs + 8, sizeof(*argv));
  char max[32];
  int n = 0, i, rc;

  if (argv == NULL)
    return CAPSID_ENOMEM;
  snprintf(max, sizeof(max), "%zu", (size_t)WORKER_MAX_ENTRY);
  argv[n++] = "EVAL";
  argv[n++] = CLAIM;
  argv[n++] = "1";
  argv[n++] = w->stream;
  argv[n++] = w->group;
  argv[n++] = w->consumer;
  argv[n++] = max;
  for (i = 0; i < nargs; i++)
    argv[n++] = args[i];
  rc = scale_redis_conn_send(w->wconn, fn, w, n, argv, NULL);
  capsid__free(argv);
  return rc;
}


void worker_claim_pass(worker_t* w) {
  const char* args[4];
  char idle[32], count[32];
  unsigned free_slots = worker_free_slots(w);

  if (w->claim_inflight || w->stopping || free_slots == 0 ||
      !w->cancel_known ||
      !scale_redis_conn_is_ready(w->wconn) ||
      worker_now_ms() < w->claim_fence_ms)
    return;
  snprintf(idle, sizeof(idle), "%llu", (unsigned long long)w->claim_idle_ms);
  snprintf(count, sizeof(count), "%u", free_slots);
  args[0] = "auto";
  args[1] = idle;
  args[2] = w->claim_cursor;
  args[3] = count;
  if (send_claim(w, on_claim, 4, args) == 0) {
    w->claim_inflight = 1;
    w->last_claim_ms = worker_now_ms();
  }
}


static void on_orphans(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;
  long n;

  (void)ac;
  w->orphans_inflight = 0;
  n = take_claimed(w, r);
  if (n < 0) {
    report(w, "fetching entries of a lost read", r);
    return;
  }
  w->orphans_since_ms = 0;
  if (n > 0)
    fprintf(stderr, "capsid worker: %s: took back %ld jobs delivered by a "
            "read whose reply was lost\n", w->consumer, n);
  worker_pump(w);
}


/* [[id, consumer, idle, deliveries], ...]: ours and not held, delivered
 * since the lost read was sent (an older one was handed back, or is
 * another life's: claims take those after --claim-idle). */
static void on_own_pending(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;
  const char** ids;
  uint64_t since = worker_now_ms() - w->orphans_since_ms + 1000;
  size_t i;
  int n = 0;

  (void)ac;
  w->orphans_inflight = 0;
  if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
    report(w, "XPENDING", r);
    return;
  }
  ids = capsid__calloc(r->elements + 1, sizeof(*ids));
  if (ids == NULL)
    return;
  ids[n++] = "own";
  for (i = 0; i < r->elements; i++) {
    const redisReply* p = r->element[i];
    if (p->type == REDIS_REPLY_ARRAY && p->elements == 4 &&
        p->element[0]->type == REDIS_REPLY_STRING &&
        p->element[2]->type == REDIS_REPLY_INTEGER &&
        (uint64_t)p->element[2]->integer <= since &&
        !held_by_us(w, p->element[0]->str))
      ids[n++] = p->element[0]->str;
  }
  if (n == 1)
    w->orphans_since_ms = 0;
  else if (send_claim(w, on_orphans, n, ids) == 0)
    w->orphans_inflight = 1;
  capsid__free(ids);
}


void worker_claim_orphans(worker_t* w) {
  const char* argv[8];
  char count[32];

  if (w->orphans_since_ms == 0 || w->orphans_inflight || w->stopping ||
      !w->cancel_known || !scale_redis_conn_is_ready(w->wconn))
    return;
  snprintf(count, sizeof(count), "%u", w->held_count + w->jobs + 1000);
  argv[0] = "XPENDING";
  argv[1] = w->stream;
  argv[2] = w->group;
  argv[3] = "-";
  argv[4] = "+";
  argv[5] = count;
  argv[6] = w->consumer;
  if (scale_redis_conn_send(w->wconn, on_own_pending, w, 7, argv, NULL) ==
      0)
    w->orphans_inflight = 1;
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
