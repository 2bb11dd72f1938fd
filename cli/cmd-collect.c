/* capsid collect: reads a results stream from its start and prints the
 * first result of each job as one JSON line, until COUNT distinct jobs have
 * a result. Delivery is at-least-once (a worker that dies between writing
 * a result and acknowledging its job leaves the job to be run again), so a
 * job may have several results in the stream; they are told apart by the
 * job's stream entry id ("entry"), which is unique per submitted line even
 * when job ids repeat or are missing. */
#include "cli.h"

#include "args.h"
#include "redis-retry.h"
#include "redis-sync.h"

#include <stdio.h>
#include <string.h>

enum { OPT_REDIS = 1, OPT_RESULTS, OPT_COUNT, OPT_TIMEOUT, OPT_FROM,
       OPT_PROGRESS, OPT_HELP };

static const capsid__option_t collect_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "results", 1, OPT_RESULTS},
    {'n', "count", 1, OPT_COUNT},
    {'t', "timeout", 1, OPT_TIMEOUT},
    {0, "from", 1, OPT_FROM},
    {0, "progress", 0, OPT_PROGRESS},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

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
  strset_t seen;
  long want;
  long duplicates;
  long foreign; /* entries that are not capsid results */
  char last_id[64];
  cli_progress_t progress;
  int write_failed;
} collect_t;


/* Handles one XREAD reply: [[stream, [[id, fields], ...]]]. */
static int take(collect_t* co, const redisReply* r) {
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
    if ((long)co->seen.n >= co->want)
      continue;
    entry = field(e->element[1], "entry");
    result = field(e->element[1], "result");
    if (entry == NULL || result == NULL) {
      co->foreign++;
      continue;
    }
    added = strset_add(&co->seen, entry->str, entry->len);
    if (added < 0)
      return CAPSID_ENOMEM;
    if (added == 0) {
      co->duplicates++;
      continue;
    }
    if (fwrite(result->str, 1, result->len, stdout) != result->len ||
        fputc('\n', stdout) == EOF)
      co->write_failed = 1;
    co->progress.done++;
  }
  fflush(stdout);
  cli_progress_draw(&co->progress, 0);
  return 0;
}


static uint64_t now_ms(void) {
  return capsid__hrtime() / 1000000u;
}


/* A failure that retrying cannot cure ends the command. */
static int give_up(collect_t* co, const char* why) {
  cli_progress_end(&co->progress);
  fprintf(stderr, "capsid collect: %s\n", why);
  return 1;
}


int cli_cmd_collect(int argc, char** argv) {
  cli_redis_url_t url;
  const char* redis = NULL;
  const char* results = NULL;
  redisContext* c = NULL;
  collect_t co;
  capsid__args_t a;
  cli_redis_backoff_t backoff;
  uint64_t n, timeout_ms = 0, deadline = 0;
  char err[600];
  int opt, progress = 0, rc = 0, transient;

  memset(&co, 0, sizeof(co));
  memset(&backoff, 0, sizeof(backoff));
  co.want = -1;
  snprintf(co.last_id, sizeof(co.last_id), "0");
  capsid__args_init(&a, "capsid collect", argc, argv);
  while ((opt = capsid__args_next(&a, collect_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      redis = a.value;
      break;
    case OPT_RESULTS:
      results = a.value;
      break;
    case OPT_COUNT:
      if (capsid_parse_size(a.value, &n) != 0 || n == 0 ||
          n > 1000000000u) {
        fprintf(stderr, "capsid collect: --count: \"%s\" is not a number of "
                "results from 1 to 1000000000\n", a.value);
        return 2;
      }
      co.want = (long)n;
      break;
    case OPT_TIMEOUT:
      if (capsid_parse_duration(a.value, &timeout_ms) != 0 ||
          timeout_ms == 0) {
        fprintf(stderr, "capsid collect: --timeout: \"%s\" is not a "
                "duration such as 500ms, 30s, 5m\n", a.value);
        return 2;
      }
      break;
    case OPT_FROM:
      if (strlen(a.value) >= sizeof(co.last_id) || a.value[0] == '\0') {
        fprintf(stderr, "capsid collect: --from: \"%s\" is not a stream "
                "entry id\n", a.value);
        return 2;
      }
      snprintf(co.last_id, sizeof(co.last_id), "%s", a.value);
      break;
    case OPT_PROGRESS:
      progress = 1;
      break;
    case OPT_HELP:
      cli_help_collect();
      return 0;
    }
  }
  if (opt < 0)
    return 2;
  if (a.index < argc) {
    fprintf(stderr, "capsid collect: unexpected argument \"%s\"\n",
            argv[a.index]);
    return 2;
  }
  if (redis == NULL || results == NULL || results[0] == '\0' ||
      co.want < 0) {
    fprintf(stderr, "capsid collect: --redis URL, --results NAME and "
            "--count N are required (see 'capsid collect --help')\n");
    return 2;
  }
  if (cli_redis_sync_parse_url("capsid collect", redis, &url) != 0)
    return 2;
  cli_progress_init(&co.progress, progress, co.want);
  if (timeout_ms != 0)
    deadline = now_ms() + timeout_ms;

  while ((long)co.seen.n < co.want) {
    redisReply* r;
    const char* cmd[8];

    if (deadline != 0 && now_ms() >= deadline) {
      cli_progress_end(&co.progress);
      fprintf(stderr, "capsid collect: timed out with %zu of %ld results "
              "from \"%s\"\n", co.seen.n, co.want, results);
      rc = 1;
      break;
    }
    /* Workers ride out a Redis restart; so does collect. Transient
     * failures (redis-retry.h) are retried with backoff until --timeout;
     * the others end the command. */
    if (c == NULL)
      c = cli_redis_sync_connect(&url, 5000, err, sizeof(err), &transient);
    r = NULL;
    if (c != NULL) {
      cmd[0] = "XREAD";
      cmd[1] = "COUNT";
      cmd[2] = "1000";
      cmd[3] = "BLOCK";
      cmd[4] = "1000";
      cmd[5] = "STREAMS";
      cmd[6] = results;
      cmd[7] = co.last_id;
      r = cli_redis_sync_command(&c, &url, results, 8, cmd, err, sizeof(err),
                                 &transient);
    }
    if (r == NULL) {
      if (!transient) {
        rc = give_up(&co, err);
        break;
      }
      cli_redis_sync_sleep(
          cli_redis_backoff_failed(&backoff, "capsid collect", err),
          deadline);
      continue;
    }
    cli_redis_backoff_ok(&backoff, "capsid collect", "redis answers again");
    rc = take(&co, r);
    freeReplyObject(r);
    if (rc != 0) {
      fprintf(stderr, "capsid collect: out of memory\n");
      rc = 1;
      break;
    }
  }
  if (rc == 0)
    cli_progress_end(&co.progress);
  if (c != NULL)
    redisFree(c);
  if (co.duplicates > 0)
    fprintf(stderr, "capsid collect: %ld duplicate results skipped (jobs "
            "run again after a worker was lost)\n", co.duplicates);
  if (co.foreign > 0)
    fprintf(stderr, "capsid collect: %ld entries without \"entry\" and "
            "\"result\" fields skipped\n", co.foreign);
  cli_redis_url_free(&url);
  strset_free(&co.seen);
  if (co.write_failed) {
    fprintf(stderr, "capsid collect: writing the results failed\n");
    rc = 1;
  }
  return rc;
}
