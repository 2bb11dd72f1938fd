/* capsid submit: pushes a JSONL batch onto a Redis stream, one entry per
 * non-blank line: {job: LINE, line: N}. The lines are not validated here:
 * the worker that takes a bad line answers it with an error result that
 * names the line and the field, exactly as `capsid batch` would. */
#include "cli.h"

#include "args.h"
#include "jobline.h"
#include "linereader.h"
#include "redis-retry.h"
#include "redis-sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_HELP };

static const capsid__option_t submit_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

/* Commands written before their replies are read: one round trip per
 * this many jobs (or this many bytes) instead of one per job. */
#define SUBMIT_PIPELINE 512
#define SUBMIT_PIPELINE_BYTES (8u << 20)
#define LABEL "capsid submit"

/* Redis failures (redis-retry.h): a transient one is retried with backoff
 * and never loses or doubles a line. An XADD answered with an error was
 * not applied, so it is simply sent again. An XADD whose reply was lost
 * with the connection may or may not have been applied: every entry
 * carries this run's token ("submit") and its line number, so after the
 * reconnect the entries added since the last confirmed one tell which
 * lines are already in, and only the others are sent again. */
typedef struct submit_s {
  const cli_redis_url_t* url;
  redisContext* c;
  const char* stream;
  char token[33];
  char last_id[64];  /* every line of ours that is in is at or before it */
  cli_line_t* lines[SUBMIT_PIPELINE]; /* sent or to send, not confirmed */
  int n;
  size_t bytes;
  int lost_at;       /* >= 0: lines[lost_at..n) may have been applied */
  cli_redis_backoff_t backoff;
  long added;
  int failed;
  int fatal;         /* a permanent error: stop reading */
} submit_t;


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
  redisReply* r = cli_redis_sync_command(&s->c, s->url, s->stream, 6, argv,
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
    r = cli_redis_sync_command(&s->c, s->url, s->stream, 6, argv, what,
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
    s->c = cli_redis_sync_connect(s->url, 5000, what, size, transient);
    if (s->c == NULL)
      return -1;
  }
  if (s->last_id[0] == '\0' && find_start(s, what, size, transient) != 0)
    return -1;
  if (s->lost_at >= 0 && resolve(s, what, size, transient) != 0)
    return -1;
  return 0;
}


static void append_xadd(submit_t* s, const cli_line_t* l) {
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
      return cli_redis_sync_lost(&s->c, s->url, what, size) ? 1 : -1;
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


/* cli_lines_read's sink: one line, one XADD. Over-long lines were never
 * buffered and are refused here with their number. */
static int submit_line(cli_line_t* line, void* data) {
  submit_t* s = data;

  if (line->read_error != 0) {
    fprintf(stderr, LABEL ": reading the input failed at line %ld: %s\n",
            line->number, strerror(line->read_error));
    s->failed = 1;
  } else if (line->too_long) {
    fprintf(stderr, LABEL ": line %ld is longer than %zu bytes and was "
            "not submitted\n", line->number, (size_t)CLI_MAX_LINE);
    s->failed = 1;
  } else {
    s->lines[s->n++] = line;
    s->bytes += line->len;
    if (s->n == SUBMIT_PIPELINE || s->bytes >= SUBMIT_PIPELINE_BYTES)
      flush(s);
    return s->fatal;
  }
  capsid__free(line);
  return s->fatal;
}


int cli_cmd_submit(int argc, char** argv) {
  cli_redis_url_t url;
  const char* redis = NULL;
  capsid__args_t a;
  submit_t s;
  int opt, fd;

  memset(&s, 0, sizeof(s));
  capsid__args_init(&a, "capsid submit", argc, argv);
  while ((opt = capsid__args_next(&a, submit_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      redis = a.value;
      break;
    case OPT_STREAM:
      s.stream = a.value;
      break;
    case OPT_HELP:
      cli_help_submit();
      return 0;
    }
  }
  if (opt < 0)
    return 2;
  if (redis == NULL || s.stream == NULL || s.stream[0] == '\0') {
    fprintf(stderr, "capsid submit: --redis URL and --stream NAME are "
            "required (see 'capsid submit --help')\n");
    return 2;
  }
  if (cli_redis_sync_parse_url("capsid submit", redis, &url) != 0)
    return 2;
  if ((fd = cli_input_open(&a)) < 0) {
    cli_redis_url_free(&url);
    return 2;
  }
  s.url = &url;
  s.lost_at = -1;
  make_token(s.token, sizeof(s.token));
  /* Connect before reading: a server that refuses for good is said at
   * once, not after the input was read. */
  flush(&s);
  if (!s.fatal)
    cli_lines_read(fd, submit_line, &s);
  flush(&s);
  if (fd != 0)
    close(fd);
  if (s.fatal && s.n > 0)
    fprintf(stderr, LABEL ": %d lines from line %ld on were not confirmed "
            "(submitting them again may run some twice)\n", s.n,
            s.lines[0]->number);
  while (s.n > 0)
    drop_line(&s, --s.n);
  if (s.c != NULL)
    redisFree(s.c);
  cli_redis_url_free(&url);
  fprintf(stderr, LABEL ": %ld jobs added to stream \"%s\"\n", s.added,
          s.stream);
  return s.failed ? 1 : 0;
}
