/* The submit engine (submit.h). */
#include "submit.h"

#include "capsid-common.h"
#include "redis-retry.h"
#include "redis-sync.h"

#include <errno.h>
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
  char text[]; /* NUL-terminated */
} submit_line_t;

/* Redis failures (redis-retry.h): a transient one is retried with backoff
 * and never loses or doubles a line. An XADD answered with an error was
 * not applied, so it is simply sent again. An XADD whose reply was lost
 * with the connection may or may not have been applied: every entry
 * carries this run's token ("submit") and its line number, so after the
 * reconnect the entries added since the last confirmed one tell which
 * lines are already in, and only the others are sent again. */
struct scale_submit_s {
  cli_redis_url_t url;
  redisContext* c;
  const char* stream;
  char token[33];
  char last_id[64];  /* every line of ours that is in is at or before it */
  submit_line_t* lines[SUBMIT_PIPELINE]; /* sent or to send, unconfirmed */
  int n;
  size_t bytes;
  int lost_at;       /* >= 0: lines[lost_at..n) may have been applied */
  cli_redis_backoff_t backoff;
  long added;
  int failed;
  int fatal;         /* a permanent error: stop reading */
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


static void drop_line(submit_t* s, int i) {
  s->bytes -= s->lines[i]->len;
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


/* At the first connection: where the stream ends now, so that a later
 * look for our lines starts there. */
static int find_start(submit_t* s, char* what, size_t size, int* transient) {
  const char* argv[] = {"XREVRANGE", s->stream, "+", "-", "COUNT", "1"};
  redisReply* r = cli_redis_sync_command(&s->c, &s->url, s->stream, 6, argv,
                                         what, size, transient);

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
    r = cli_redis_sync_command(&s->c, &s->url, s->stream, 6, argv, what,
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
    s->c = cli_redis_sync_connect(&s->url, 5000, what, size, transient);
    if (s->c == NULL)
      return -1;
  }
  if (s->last_id[0] == '\0' && find_start(s, what, size, transient) != 0)
    return -1;
  if (s->lost_at >= 0 && resolve(s, what, size, transient) != 0)
    return -1;
  return 0;
}


static void append_xadd(submit_t* s, const submit_line_t* l) {
  char num[32];
  const char* argv[9];
  size_t lens[9];

  snprintf(num, sizeof(num), "%ld", l->number);
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
  int i, transient, again = 0;

  if (get_ready(s, what, size, &transient) != 0)
    return transient ? 1 : -1;
  if (s->n == 0)
    return 0;
  for (i = 0; i < s->n; i++)
    append_xadd(s, s->lines[i]);
  for (i = 0; i < s->n; i++) {
    if (redisGetReply(s->c, (void**)&r) != REDIS_OK) {
      s->lost_at = i;
      return cli_redis_sync_lost(&s->c, &s->url, what, size) ? 1 : -1;
    }
    if (r->type == REDIS_REPLY_ERROR && cli_redis_reply_transient(r->str)) {
      snprintf(what, size, "line %ld: XADD to \"%s\" failed: %s",
               s->lines[i]->number, s->stream, r->str);
      again = 1; /* not applied: sent again */
    } else if (r->type == REDIS_REPLY_ERROR) {
      fprintf(stderr, LABEL ": line %ld: XADD to \"%s\" failed: %s\n",
              s->lines[i]->number, s->stream, r->str);
      s->failed = 1;
      drop_line(s, i);
    } else {
      if (r->type == REDIS_REPLY_STRING)
        snprintf(s->last_id, sizeof(s->last_id), "%s", r->str);
      s->added++;
      drop_line(s, i);
    }
    freeReplyObject(r);
  }
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
      cli_redis_sync_sleep(cli_redis_backoff_failed(&s->backoff, LABEL, what),
                           0);
    } else {
      cli_redis_backoff_ok(&s->backoff, LABEL, "redis answers again");
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
  s = capsid__calloc(1, sizeof(*s));
  if (s == NULL) {
    snprintf(err, err_size, "out of memory");
    return CAPSID_ENOMEM;
  }
  if (cli_redis_url_parse(cfg->redis, &s->url, url_err,
                          sizeof(url_err)) != 0) {
    snprintf(err, err_size, "--redis: %s", url_err);
    capsid__free(s);
    return CAPSID_EINVAL;
  }
  s->stream = cfg->stream;
  s->lost_at = -1;
  make_token(s->token, sizeof(s->token));
  *out = s;
  return 0;
}


int scale_submit_start(scale_submit_t* s) {
  flush(s);
  return s->fatal ? -1 : 0;
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
  s->lines[s->n++] = line;
  s->bytes += len;
  if (s->n == SUBMIT_PIPELINE || s->bytes >= SUBMIT_PIPELINE_BYTES)
    flush(s);
  return s->fatal ? -1 : 0;
}


int scale_submit_finish(scale_submit_t* s) {
  flush(s);
  if (s->fatal && s->n > 0)
    fprintf(stderr, LABEL ": %d lines from line %ld on were not confirmed "
            "(submitting them again may run some twice)\n", s->n,
            s->lines[0]->number);
  while (s->n > 0)
    drop_line(s, --s->n);
  return s->failed ? 1 : 0;
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
  cli_redis_url_free(&s->url);
  capsid__free(s);
}
