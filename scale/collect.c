/* The collect engine (collect.h). */
#include "collect.h"

#include "capsid-common.h"
#include "redis-retry.h"
#include "redis-sync.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set of strings, open addressing, never shrinks. */
typedef struct strset_s {
  char** slots;
  size_t cap; /* power of two */
  size_t n;
} strset_t;


static uint64_t hash(const char* s, size_t len) {
  uint64_t h = 1469598103934665603u;
  size_t i;

  for (i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}


/* Returns 1 if added, 0 if present, -1 on no memory. */
static int strset_add(strset_t* set, const char* s, size_t len) {
  size_t i, j;

  if ((set->n + 1) * 2 > set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 1024;
    char** slots = capsid__calloc(cap, sizeof(*slots));
    if (slots == NULL)
      return -1;
    for (i = 0; i < set->cap; i++) {
      char* k = set->slots[i];
      if (k == NULL)
        continue;
      for (j = hash(k, strlen(k)) & (cap - 1); slots[j] != NULL;
           j = (j + 1) & (cap - 1))
        ;
      slots[j] = k;
    }
    capsid__free(set->slots);
    set->slots = slots;
    set->cap = cap;
  }
  for (j = hash(s, len) & (set->cap - 1); set->slots[j] != NULL;
       j = (j + 1) & (set->cap - 1))
    if (strlen(set->slots[j]) == len && memcmp(set->slots[j], s, len) == 0)
      return 0;
  set->slots[j] = capsid__strndup(s, len);
  if (set->slots[j] == NULL)
    return -1;
  set->n++;
  return 1;
}


static void strset_free(strset_t* set) {
  size_t i;

  for (i = 0; i < set->cap; i++)
    capsid__free(set->slots[i]);
  capsid__free(set->slots);
}


/* The value of field name in a stream entry's [f, v, f, v...] array. */
static const redisReply* field(const redisReply* fields, const char* name) {
  size_t i;

  if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (i = 0; i + 1 < fields->elements; i += 2)
    if (fields->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(fields->element[i]->str, name) == 0 &&
        fields->element[i + 1]->type == REDIS_REPLY_STRING)
      return fields->element[i + 1];
  return NULL;
}


typedef struct collect_s {
  const scale_collect_config_t* cfg;
  const char* batch; /* cfg's, or the manifest's */
  long count;        /* results wanted in this run */
  long got;          /* ... and handed over */
  strset_t seen;
  long duplicates;
  long foreign; /* entries that are not capsid results */
  long other;   /* results of other batches */
  char last_id[SCALE_COLLECT_ID_SIZE];
} collect_t;


/* The job's line number: the results stream's "line" field, or the
 * result line's own (results written before workers added the field). */
static long result_line(const redisReply* fields, const redisReply* result) {
  const redisReply* line = field(fields, "line");
  json_t* o;
  long n;

  if (line != NULL)
    return strtol(line->str, NULL, 10);
  o = json_loadb(result->str, result->len, 0, NULL);
  n = (long)json_integer_value(json_object_get(o, "line"));
  json_decref(o);
  return n;
}


/* Marks the manifest line of a result: 1 when it is the first result of
 * that line, 0 for a further one, -2 for a line the manifest does not
 * list. */
static int manifest_mark(scale_manifest_t* m, const redisReply* fields,
                         const redisReply* result) {
  scale_manifest_line_t* l =
      scale_manifest_find(m, result_line(fields, result));

  if (l == NULL || l->skipped)
    return -2;
  if (l->got)
    return 0;
  l->got = 1;
  return 1;
}


/* Handles one XREAD reply: [[stream, [[id, fields], ...]]]. */
static int take(collect_t* co, const redisReply* r) {
  const scale_collect_config_t* cfg = co->cfg;
  const redisReply* entries;
  size_t i;

  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
    return 0;
  entries = r->element[0]->type == REDIS_REPLY_ARRAY &&
                    r->element[0]->elements == 2
                ? r->element[0]->element[1]
                : NULL;
  if (entries == NULL || entries->type != REDIS_REPLY_ARRAY)
    return 0;
  for (i = 0; i < entries->elements; i++) {
    const redisReply* e = entries->element[i];
    const redisReply* entry;
    const redisReply* result;
    int added;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
      continue;
    snprintf(co->last_id, sizeof(co->last_id), "%s", e->element[0]->str);
    if (co->got >= co->count)
      continue;
    entry = field(e->element[1], "entry");
    result = field(e->element[1], "result");
    if (entry == NULL || result == NULL) {
      co->foreign++;
      continue;
    }
    if (co->batch != NULL) {
      const redisReply* batch = field(e->element[1], "batch");
      if (batch == NULL || strcmp(batch->str, co->batch) != 0) {
        co->other++;
        continue;
      }
    }
    if (cfg->manifest != NULL)
      added = manifest_mark(cfg->manifest, e->element[1], result);
    else
      added = strset_add(&co->seen, entry->str, entry->len);
    if (added < 0) {
      if (added == -2) {
        co->other++;
        continue;
      }
      return CAPSID_ENOMEM;
    }
    if (added == 0) {
      co->duplicates++;
      continue;
    }
    co->got++;
    cfg->on_result(result->str, result->len, cfg->data);
  }
  if (cfg->on_batch != NULL)
    cfg->on_batch(cfg->data);
  return 0;
}


static uint64_t now_ms(void) {
  return capsid__hrtime() / 1000000u;
}


/* The MS of a batch id "MS-HEX" (Redis' clock when submit began), or 0
 * when it is not one. */
static uint64_t batch_start(const char* batch) {
  char* end;
  unsigned long long ms = strtoull(batch, &end, 10);

  if (end == batch || *end != '-' || end[1] == '\0' ||
      strlen(batch) >= SCALE_COLLECT_ID_SIZE)
    return 0;
  return ms;
}


static int check(const scale_collect_config_t* cfg, char* err,
                 size_t err_size) {
  if (cfg->redis == NULL || cfg->results == NULL ||
      cfg->results[0] == '\0' || cfg->on_result == NULL) {
    snprintf(err, err_size, "--redis URL, --results NAME and a way to "
             "hand over results are required");
    return CAPSID_EINVAL;
  }
  if (cfg->manifest != NULL) {
    if (batch_start(cfg->manifest->batch) == 0) {
      snprintf(err, err_size, "--manifest: \"%s\" is not a batch id of "
               "capsid submit (MS-HEX)", cfg->manifest->batch);
      return CAPSID_EINVAL;
    }
    return 0;
  }
  if (cfg->count < 1 || cfg->count > SCALE_COLLECT_MAX_COUNT) {
    snprintf(err, err_size, "--count: %ld is not a number of results from "
             "1 to %ld", cfg->count, SCALE_COLLECT_MAX_COUNT);
    return CAPSID_EINVAL;
  }
  if (cfg->batch != NULL && batch_start(cfg->batch) == 0) {
    snprintf(err, err_size, "--batch: \"%s\" is not a batch id of capsid "
             "submit (MS-HEX)", cfg->batch);
    return CAPSID_EINVAL;
  }
  if (cfg->from != NULL &&
      (cfg->from[0] == '\0' || strlen(cfg->from) >= SCALE_COLLECT_ID_SIZE)) {
    snprintf(err, err_size, "--from: \"%s\" is not a stream entry id",
             cfg->from);
    return CAPSID_EINVAL;
  }
  return 0;
}


/* Reads until cfg->count results were handed over, the deadline passed
 * or Redis failed for good. */
static int collect(collect_t* co, const scale_redis_url_t* url, char* err,
                   size_t err_size) {
  const scale_collect_config_t* cfg = co->cfg;
  redisContext* c = NULL;
  scale_redis_backoff_t backoff;
  uint64_t deadline = 0;
  int rc = 0, transient;

  memset(&backoff, 0, sizeof(backoff));
  if (cfg->timeout_ms != 0)
    deadline = now_ms() + cfg->timeout_ms;
  while (co->got < co->count) {
    redisReply* r;
    const char* cmd[8];

    if (deadline != 0 && now_ms() >= deadline) {
      snprintf(err, err_size, "timed out with %ld of %ld results from "
               "\"%s\"%s%s%s after %llu ms (go on with --from %s)",
               co->got, co->count, cfg->results,
               co->batch ? " of batch \"" : "", co->batch ? co->batch : "",
               co->batch ? "\"" : "", (unsigned long long)cfg->timeout_ms,
               co->last_id);
      rc = CAPSID_ETIMEDOUT;
      break;
    }
    /* Workers ride out a Redis restart; so does collect. Transient
     * failures (redis-retry.h) are retried with backoff until --timeout;
     * the others end the command. */
    if (c == NULL) {
      c = scale_redis_sync_connect(url, 5000, err, err_size, &transient);
      /* A new master after a Sentinel failover may hold entries older
       * than the last one read from the old master: read again from the
       * start; the entries seen are skipped. */
      if (c != NULL && url->master != NULL)
        snprintf(co->last_id, sizeof(co->last_id), "%s",
                 cfg->from != NULL ? cfg->from : "0");
      /* The last result read is gone: Redis lost its data; say so
       * rather than wait quietly for results that will not come. */
      else if (c != NULL && co->got > 0 &&
               !scale_redis_sync_entry_exists(c, cfg->results, co->last_id))
        fprintf(stderr, "capsid collect: DATA LOSS: result %s of \"%s\" "
                "is gone after a reconnect: Redis lost its data (restarted "
                "without persistence?) or the stream was deleted; the "
                "results of jobs queued before may never come: resubmit "
                "them\n", co->last_id, cfg->results);
    }
    r = NULL;
    if (c != NULL) {
      cmd[0] = "XREAD";
      cmd[1] = "COUNT";
      cmd[2] = "1000";
      cmd[3] = "BLOCK";
      cmd[4] = "1000";
      cmd[5] = "STREAMS";
      cmd[6] = cfg->results;
      cmd[7] = co->last_id;
      r = scale_redis_sync_command(&c, url, cfg->results, 8, cmd, err,
                                   err_size, &transient);
    }
    if (r == NULL) {
      if (!transient) {
        rc = CAPSID_EIO;
        break;
      }
      scale_redis_sync_sleep(
          scale_redis_backoff_failed(&backoff, "capsid collect", err),
          deadline);
      continue;
    }
    scale_redis_backoff_ok(&backoff, "capsid collect", "redis answers again");
    rc = take(co, r);
    freeReplyObject(r);
    if (rc != 0) {
      snprintf(err, err_size, "out of memory");
      break;
    }
  }
  if (c != NULL)
    redisFree(c);
  return rc;
}


int scale_collect_run(const scale_collect_config_t* cfg,
                      scale_collect_stats_t* stats, char* err,
                      size_t err_size) {
  scale_redis_url_t url;
  collect_t co;
  char url_err[512];
  int rc;

  memset(stats, 0, sizeof(*stats));
  rc = check(cfg, err, err_size);
  if (rc != 0)
    return rc;
  if (scale_redis_url_parse(cfg->redis, &url, url_err, sizeof(url_err)) != 0) {
    snprintf(err, err_size, "--redis: %s", url_err);
    return CAPSID_EINVAL;
  }
  memset(&co, 0, sizeof(co));
  co.cfg = cfg;
  co.batch = cfg->batch;
  co.count = cfg->count;
  if (cfg->manifest != NULL) {
    co.batch = cfg->manifest->batch;
    co.count = scale_manifest_missing(cfg->manifest);
  }
  /* A batch's results come after its jobs, whose entry ids (like those
   * of the results, from the same clock) are not before the batch
   * began: the stream before that is skipped unread. */
  if (cfg->from == NULL && co.batch != NULL)
    snprintf(co.last_id, sizeof(co.last_id), "%llu-0",
             (unsigned long long)(batch_start(co.batch) - 1));
  else
    snprintf(co.last_id, sizeof(co.last_id), "%s",
             cfg->from != NULL ? cfg->from : "0");
  rc = collect(&co, &url, err, err_size);
  stats->results = co.got;
  stats->duplicates = co.duplicates;
  stats->foreign = co.foreign;
  stats->other = co.other;
  scale_redis_url_free(&url);
  strset_free(&co.seen);
  return rc;
}
