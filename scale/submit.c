/* The submit engine (submit.h). */
#include "submit.h"

#include "capsid-common.h"
#include "log.h"
#include "manifest.h"
#include "redis-retry.h"
#include "redis-sync.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Commands written before their replies are read: one round trip per
 * this many jobs (or this many bytes) instead of one per job. */
#define SUBMIT_PIPELINE 512
#define SUBMIT_PIPELINE_BYTES (8u << 20)
#define LABEL "capsid submit"

/* One line held until Redis confirms it. */
typedef struct submit_line_s {
  long number;
  size_t len;
  char* key;   /* "STREAM:id:ID" when the line has an id and ids are kept */
  char text[]; /* NUL-terminated */
} submit_line_t;

/* Adds the entry only if the id's key could be made (SET NX): atomic, so
 * two submitters of one id cannot both add it. A skipped line is answered
 * [batch that has the id]; an added one, with the entry id. */
static const char ADD_ONCE[] =
    "if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then "
    "return redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'line', "
    "ARGV[2], 'submit', ARGV[3]) end "
    "return {redis.call('GET', KEYS[2])}";

/* Redis failures (redis-retry.h): a transient one is retried with backoff
 * and never loses or doubles a line. An XADD answered with an error was
 * not applied, so it is simply sent again. An XADD whose reply was lost
 * with the connection may or may not have been applied: every entry
 * carries this run's token ("submit") and its line number, so after the
 * reconnect the entries added since the last confirmed one tell which
 * lines are already in, and only the others are sent again. */
struct scale_submit_s {
  scale_redis_url_t url;
  redisContext* c;
  const char* stream;
  /* This run's batch id, "MS-HEX": Redis' clock (in ms) when it began,
   * so a collector knows where in the results stream to start, and 64
   * random bits; empty until the first connection. */
  char token[64];
  char last_id[64];  /* every line of ours that is in is at or before it */
  submit_line_t* lines[SUBMIT_PIPELINE]; /* sent or to send, unconfirmed */
  int n;
  size_t bytes;
  int lost_at;       /* >= 0: lines[lost_at..n) may have been applied */
  scale_redis_backoff_t backoff;
  long added;
  long skipped;
  char window[32];   /* --id-window in ms, as text; "" when off */
  int failed;
  int fatal;         /* a permanent error: stop reading */
  void (*on_line)(long number, const char* text, size_t len, int fate,
                  const char* what, void* data);
  void* data;
};

typedef struct scale_submit_s submit_t;


static void make_token(char* out, size_t size) {
  unsigned char raw[16];
  uint64_t t = capsid__hrtime() ^ ((uint64_t)getpid() << 32);
  size_t i;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

  memset(raw, 0, sizeof(raw));
  if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
    memcpy(raw, &t, sizeof(t));
  if (fd >= 0)
    close(fd);
  for (i = 0; i < sizeof(raw) && 2 * i + 2 < size; i++)
    snprintf(out + 2 * i, 3, "%02x", raw[i]);
}


/* The value of a field of a stream entry's [f, v, ...] array, or NULL. */
static const char* entry_field(const redisReply* fields, const char* name) {
  size_t i;

  if (fields->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (i = 0; i + 1 < fields->elements; i += 2)
    if (fields->element[i]->type == REDIS_REPLY_STRING &&
        fields->element[i + 1]->type == REDIS_REPLY_STRING &&
        strcmp(fields->element[i]->str, name) == 0)
      return fields->element[i + 1]->str;
  return NULL;
}


static void tell(submit_t* s, int i, int fate, const char* what) {
  if (s->on_line != NULL)
    s->on_line(s->lines[i]->number, s->lines[i]->text, s->lines[i]->len,
               fate, what, s->data);
}


static void drop_line(submit_t* s, int i) {
  s->bytes -= s->lines[i]->len;
  capsid__free(s->lines[i]->key);
  capsid__free(s->lines[i]);
  s->lines[i] = NULL;
}


/* Keeps the lines still owed, in order. */
static void compact(submit_t* s) {
  int i, k = 0;

  for (i = 0; i < s->n; i++)
    if (s->lines[i] != NULL)
      s->lines[k++] = s->lines[i];
  s->n = k;
}


/* The batch id from Redis' clock (TIME: [seconds, microseconds]). */
static int make_batch(submit_t* s, char* what, size_t size, int* transient) {
  const char* argv[] = {"TIME"};
  char hex[33];
  redisReply* r = scale_redis_sync_command(&s->c, &s->url, s->stream, 1, argv,
                                           what, size, transient);

  if (r == NULL)
    return -1;
  make_token(hex, sizeof(hex));
  hex[16] = '\0';
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[0]->type == REDIS_REPLY_STRING &&
      r->element[1]->type == REDIS_REPLY_STRING)
    snprintf(s->token, sizeof(s->token), "%llu-%s",
             strtoull(r->element[0]->str, NULL, 10) * 1000u +
                 strtoull(r->element[1]->str, NULL, 10) / 1000u,
             hex);
  else
    snprintf(s->token, sizeof(s->token), "0-%s", hex);
  freeReplyObject(r);
  return 0;
}


/* At the first connection: where the stream ends now, so that a later
 * look for our lines starts there. */
static int find_start(submit_t* s, char* what, size_t size, int* transient) {
  const char* argv[] = {"XREVRANGE", s->stream, "+", "-", "COUNT", "1"};
  redisReply* r;

  if (s->token[0] == '\0' && make_batch(s, what, size, transient) != 0)
    return -1;
  r = scale_redis_sync_command(&s->c, &s->url, s->stream, 6, argv, what, size,
                               transient);
  if (r == NULL)
    return -1;
  snprintf(s->last_id, sizeof(s->last_id), "0-0");
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
      r->element[0]->type == REDIS_REPLY_ARRAY &&
      r->element[0]->elements == 2 &&
      r->element[0]->element[0]->type == REDIS_REPLY_STRING)
    snprintf(s->last_id, sizeof(s->last_id), "%s",
             r->element[0]->element[0]->str);
  freeReplyObject(r);
  return 0;
}


/* After a lost reply: which of the uncertain lines are in the stream
 * already (entries after last_id with our token). Those are done. */
static int resolve(submit_t* s, char* what, size_t size, int* transient) {
  char from[80];
  const char* argv[] = {"XRANGE", s->stream, from, "+", "COUNT", "1000"};
  redisReply* r;
  size_t e;
  long number;
  int i, more = 1;

  while (more) {
    snprintf(from, sizeof(from), "(%s", s->last_id);
    r = scale_redis_sync_command(&s->c, &s->url, s->stream, 6, argv, what,
                                 size, transient);
    if (r == NULL)
      return -1;
    more = r->type == REDIS_REPLY_ARRAY && r->elements == 1000;
    for (e = 0; r->type == REDIS_REPLY_ARRAY && e < r->elements; e++) {
      const redisReply* ent = r->element[e];
      const char *tok, *line;
      if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
          ent->element[0]->type != REDIS_REPLY_STRING)
        continue;
      snprintf(s->last_id, sizeof(s->last_id), "%s", ent->element[0]->str);
      tok = entry_field(ent->element[1], "submit");
      line = entry_field(ent->element[1], "line");
      if (tok == NULL || line == NULL || strcmp(tok, s->token) != 0)
        continue;
      number = atol(line);
      for (i = s->lost_at; i < s->n; i++)
        if (s->lines[i] != NULL && s->lines[i]->number == number) {
          s->added++;
          tell(s, i, SCALE_MANIFEST_ADDED, ent->element[0]->str);
          drop_line(s, i);
        }
    }
    freeReplyObject(r);
  }
  s->lost_at = -1;
  compact(s);
  return 0;
}


/* Connects (first time: notes where the stream ends; after a lost reply:
 * finds which lines made it). */
static int get_ready(submit_t* s, char* what, size_t size, int* transient) {
  if (s->c == NULL) {
    s->c = scale_redis_sync_connect(&s->url, 5000, what, size, transient);
    if (s->c == NULL)
      return -1;
  }
  if (s->last_id[0] == '\0' && find_start(s, what, size, transient) != 0)
    return -1;
  if (s->lost_at >= 0 && resolve(s, what, size, transient) != 0)
    return -1;
  return 0;
}


static void append_add_once(submit_t* s, const submit_line_t* l,
                            const char* num) {
  const char* argv[9] = {"EVAL", ADD_ONCE, "2", s->stream, l->key,
                         l->text, num, s->token, s->window};
  size_t lens[9];
  int i;

  for (i = 0; i < 9; i++)
    lens[i] = strlen(argv[i]);
  lens[5] = l->len;
  redisAppendCommandArgv(s->c, 9, argv, lens);
}


static void append_xadd(submit_t* s, const submit_line_t* l) {
  char num[32];
  const char* argv[9];
  size_t lens[9];

  snprintf(num, sizeof(num), "%ld", l->number);
  if (l->key != NULL) {
    append_add_once(s, l, num);
    return;
  }
  argv[0] = "XADD";
  argv[1] = s->stream;
  argv[2] = "*";
  argv[3] = "job";
  argv[4] = l->text;
  argv[5] = "line";
  argv[6] = num;
  argv[7] = "submit";
  argv[8] = s->token;
  lens[0] = 4;
  lens[1] = strlen(s->stream);
  lens[2] = 1;
  lens[3] = 3;
  lens[4] = l->len;
  lens[5] = 4;
  lens[6] = strlen(num);
  lens[7] = 6;
  lens[8] = strlen(s->token);
  redisAppendCommandArgv(s->c, 9, argv, lens);
}


/* Sends the lines owed and reads their replies: 0 when each was added or
 * refused for good, 1 to try again (what says why), -1 on a permanent
 * failure of the connection. */
static int send_once(submit_t* s, char* what, size_t size) {
  redisReply* r;
  int i, n, transient, again = 0;
  char stage[48];
  uint64_t t;

  if (get_ready(s, what, size, &transient) != 0)
    return transient ? 1 : -1;
  if (s->n == 0)
    return 0;
  t = capsid__hrtime();
  n = s->n;
  for (i = 0; i < s->n; i++)
    append_xadd(s, s->lines[i]);
  for (i = 0; i < s->n; i++) {
    if (redisGetReply(s->c, (void**)&r) != REDIS_OK) {
      s->lost_at = i;
      return scale_redis_sync_lost(&s->c, &s->url, what, size) ? 1 : -1;
    }
    if (r->type == REDIS_REPLY_ERROR && scale_redis_reply_transient(r->str)) {
      snprintf(what, size, "line %ld: XADD to \"%s\" failed: %s",
               s->lines[i]->number, s->stream, r->str);
      again = 1; /* not applied: sent again */
    } else if (r->type == REDIS_REPLY_ERROR) {
      fprintf(stderr, LABEL ": line %ld: XADD to \"%s\" failed: %s\n",
              s->lines[i]->number, s->stream, r->str);
      s->failed = 1;
      tell(s, i, SCALE_MANIFEST_REFUSED, r->str);
      drop_line(s, i);
    } else if (r->type == REDIS_REPLY_ARRAY) {
      /* The id is in already (queued, running or done): not again. */
      if (s->skipped++ < 10)
        fprintf(stderr, LABEL ": line %ld: its id was submitted within "
                "the last %s ms (batch %s); skipped\n",
                s->lines[i]->number, s->window,
                r->elements == 1 && r->element[0]->type == REDIS_REPLY_STRING
                    ? r->element[0]->str
                    : "?");
      tell(s, i, SCALE_MANIFEST_SKIPPED,
           r->elements == 1 && r->element[0]->type == REDIS_REPLY_STRING
               ? r->element[0]->str
               : "?");
      drop_line(s, i);
    } else {
      if (r->type == REDIS_REPLY_STRING)
        snprintf(s->last_id, sizeof(s->last_id), "%s", r->str);
      s->added++;
      tell(s, i, SCALE_MANIFEST_ADDED,
           r->type == REDIS_REPLY_STRING ? r->str : "");
      drop_line(s, i);
    }
    freeReplyObject(r);
  }
  snprintf(stage, sizeof(stage), "XADD of %d line(s)", n);
  capsid__log_stage(stage, t, 0);
  compact(s);
  return again;
}


/* Sends what is owed until it is all in (or refused for good). */
static void flush(submit_t* s) {
  char what[600];
  int rc;

  while (!s->fatal && (s->n > 0 || s->c == NULL)) {
    rc = send_once(s, what, sizeof(what));
    if (rc < 0) {
      fprintf(stderr, LABEL ": %s\n", what);
      s->fatal = s->failed = 1;
    } else if (rc > 0) {
      scale_redis_sync_sleep(
          scale_redis_backoff_failed(&s->backoff, LABEL, what), 0);
    } else {
      scale_redis_backoff_ok(&s->backoff, LABEL, "redis answers again");
      break;
    }
  }
}


int scale_submit_new(const scale_submit_config_t* cfg, scale_submit_t** out,
                     char* err, size_t err_size) {
  char url_err[512];
  submit_t* s;

  *out = NULL;
  if (cfg->redis == NULL || cfg->stream == NULL || cfg->stream[0] == '\0') {
    snprintf(err, err_size, "--redis URL and --stream NAME are required");
    return CAPSID_EINVAL;
  }
  if (cfg->batch != NULL &&
      (cfg->batch[0] == '\0' || strlen(cfg->batch) >= sizeof(s->token))) {
    snprintf(err, err_size, "batch \"%s\" is not a batch id of capsid "
             "submit", cfg->batch);
    return CAPSID_EINVAL;
  }
  s = capsid__calloc(1, sizeof(*s));
  if (s == NULL) {
    snprintf(err, err_size, "out of memory");
    return CAPSID_ENOMEM;
  }
  if (scale_redis_url_parse(cfg->redis, &s->url, url_err,
                            sizeof(url_err)) != 0) {
    snprintf(err, err_size, "--redis: %s", url_err);
    capsid__free(s);
    return CAPSID_EINVAL;
  }
  s->stream = cfg->stream;
  s->lost_at = -1;
  s->on_line = cfg->on_line;
  s->data = cfg->data;
  if (cfg->batch != NULL)
    snprintf(s->token, sizeof(s->token), "%s", cfg->batch);
  if (cfg->id_window_ms != 0)
    snprintf(s->window, sizeof(s->window), "%llu",
             (unsigned long long)cfg->id_window_ms);
  *out = s;
  return 0;
}


int scale_submit_start(scale_submit_t* s) {
  flush(s);
  return s->fatal ? -1 : 0;
}


/* "STREAM:id:ID" (ID as compact JSON, so 1 and "1" differ) for a line
 * that is a JSON object with a string or integer "id"; NULL otherwise
 * (such a line is added every time, and its worker answers a bad one). */
static char* id_key(const submit_t* s, const char* text, size_t len) {
  json_t* obj = json_loadb(text, len, 0, NULL);
  json_t* id = json_object_get(obj, "id");
  char* idtext = NULL;
  char* key = NULL;

  if (json_is_string(id) || json_is_integer(id))
    idtext = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
  if (idtext != NULL)
    key = capsid__sprintf("%s:id:%s", s->stream, idtext);
  free(idtext);
  json_decref(obj);
  return key;
}


int scale_submit_line(scale_submit_t* s, long number, const char* text,
                      size_t len) {
  submit_line_t* line;

  if (s->fatal)
    return -1;
  line = capsid__malloc(sizeof(*line) + len + 1);
  if (line == NULL) {
    fprintf(stderr, LABEL ": line %ld: out of memory; not submitted\n",
            number);
    s->failed = 1;
    return 0;
  }
  line->number = number;
  line->len = len;
  memcpy(line->text, text, len);
  line->text[len] = '\0';
  line->key = s->window[0] != '\0' ? id_key(s, text, len) : NULL;
  s->lines[s->n++] = line;
  s->bytes += len;
  if (s->n == SUBMIT_PIPELINE || s->bytes >= SUBMIT_PIPELINE_BYTES)
    flush(s);
  return s->fatal ? -1 : 0;
}


int scale_submit_finish(scale_submit_t* s) {
  int i;

  flush(s);
  if (s->fatal && s->n > 0)
    fprintf(stderr, LABEL ": %d lines from line %ld on were not confirmed "
            "(submitting them again may run some twice)\n", s->n,
            s->lines[0]->number);
  for (i = 0; i < s->n; i++)
    tell(s, i, SCALE_MANIFEST_UNCONFIRMED, NULL);
  while (s->n > 0)
    drop_line(s, --s->n);
  return s->failed ? 1 : 0;
}


const char* scale_submit_batch(const scale_submit_t* s) {
  return s->token[0] != '\0' ? s->token : NULL;
}


long scale_submit_skipped(const scale_submit_t* s) {
  return s->skipped;
}


long scale_submit_added(const scale_submit_t* s) {
  return s->added;
}


void scale_submit_free(scale_submit_t* s) {
  if (s == NULL)
    return;
  while (s->n > 0)
    drop_line(s, --s->n);
  if (s->c != NULL)
    redisFree(s->c);
  scale_redis_url_free(&s->url);
  capsid__free(s);
}
