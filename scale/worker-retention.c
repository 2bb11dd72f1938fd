/* Retention: what a batch leaves in Redis once it is collected.
 *
 * One script, so that each decision is made on what Redis holds at that
 * instant (no other command runs in between):
 * - the results and dead-letter streams lose the entries older than
 *   --results-ttl (by Redis' clock: entry ids are its milliseconds).
 * - the job stream loses its entries older than that too, but never one
 *   at or after the group's first pending entry or after its last
 *   delivered one: only jobs delivered and acknowledged go. Only when the stream
 *   has this one group: another group's readers may still need them.
 * - a consumer with nothing pending and idle for 10 --claim-idle is
 *   deleted. A live worker reads every 2 s or holds jobs, so only gone
 *   ones match; one that comes back is made again by its next read. The
 *   check and the delete are one step, so no entry delivered in between
 *   can be dropped with it. */
#include "worker-retention.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

static const char RETAIN[] =
    "local function get(t, k) "
    "  for i = 1, #t, 2 do if t[i] == k then return t[i + 1] end end "
    "end "
    "local function before(a, b) "
    "  local am, as = string.match(a, '(%d+)-(%d+)') "
    "  local bm, bs = string.match(b, '(%d+)-(%d+)') "
    "  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), "
    "    tonumber(bs) "
    "  return am < bm or (am == bm and as < bs) "
    "end "
    "local out = {0, 0, 0, 0} "
    "local ttl = tonumber(ARGV[2]) "
    "if ttl > 0 then "
    "  local t = redis.call('TIME') "
    "  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "  local min = string.format('%d-0', math.max(ms - ttl, 0)) "
    "  out[2] = redis.call('XTRIM', KEYS[2], 'MINID', min) "
    "  out[3] = redis.call('XTRIM', KEYS[3], 'MINID', min) "
    "  local groups = redis.call('XINFO', 'GROUPS', KEYS[1]) "
    "  if #groups == 1 and get(groups[1], 'name') == ARGV[1] then "
    "    local p = redis.call('XPENDING', KEYS[1], ARGV[1]) "
    "    local keep = p[2] "
    "    if p[1] == 0 then "
    "      local lm, ls = string.match(get(groups[1], "
    "        'last-delivered-id'), '(%d+)-(%d+)') "
    "      keep = string.format('%s-%d', lm, tonumber(ls) + 1) "
    "    end "
    "    if before(keep, min) then min = keep end "
    "    out[1] = redis.call('XTRIM', KEYS[1], 'MINID', min) "
    "  end "
    "end "
    "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], "
    "ARGV[1])) do "
    "  local name = get(c, 'name') "
    "  if get(c, 'pending') == 0 and get(c, 'idle') > tonumber(ARGV[3]) "
    "     and name ~= ARGV[4] then "
    "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name) "
    "    out[4] = out[4] + 1 "
    "  end "
    "end "
    "return out";


static void on_retained(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;

  (void)ac;
  w->retain_inflight = 0;
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
    /* NOGROUP and the like: the reader remakes the group; the next pass
     * tries again. Nothing here is urgent. */
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
      fprintf(stderr, "capsid worker: %s: trimming \"%s\" failed: %s\n",
              w->consumer, w->stream, r->str);
    return;
  }
  if (r->element[3]->type == REDIS_REPLY_INTEGER &&
      r->element[3]->integer > 0)
    fprintf(stderr, "capsid worker: %s: removed %lld consumers of \"%s\" "
            "with nothing pending, idle for more than %llu ms\n",
            w->consumer, r->element[3]->integer, w->group,
            (unsigned long long)(w->claim_idle_ms * 10));
}


void worker_retention_pass(worker_t* w) {
  char ttl[32], idle[32];
  const char* argv[10];
  uint64_t every = w->claim_idle_ms * 10;
  uint64_t now = worker_now_ms();

  if (every < 1000)
    every = 1000;
  if (every > 60000)
    every = 60000;
  if (w->retain_inflight || now - w->last_retain_ms < every ||
      !w->group_ready || !scale_redis_conn_is_ready(w->wconn))
    return;
  w->last_retain_ms = now;
  snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)w->results_ttl_ms);
  snprintf(idle, sizeof(idle), "%llu",
           (unsigned long long)(w->claim_idle_ms * 10));
  argv[0] = "EVAL";
  argv[1] = RETAIN;
  argv[2] = "3";
  argv[3] = w->stream;
  argv[4] = w->results;
  argv[5] = w->dead;
  argv[6] = w->group;
  argv[7] = ttl;
  argv[8] = idle;
  argv[9] = w->consumer;
  if (scale_redis_conn_send(w->wconn, on_retained, w, 10, argv, NULL) == 0)
    w->retain_inflight = 1;
}
