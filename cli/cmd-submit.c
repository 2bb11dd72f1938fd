/* capsid submit: pushes a JSONL batch onto a Redis stream, one entry per
 * non-blank line: {job: LINE, line: N}. The lines are not validated here:
 * the worker that takes a bad line answers it with an error result that
 * names the line and the field, exactly as `capsid batch` would. */
#include "cli.h"

#include "args.h"
#include "jobline.h"
#include "linereader.h"
#include "redis-sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_HELP };

static const cli_option_t submit_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

/* Commands written before their replies are read: one round trip per
 * this many jobs instead of one per job. */
#define SUBMIT_PIPELINE 512

typedef struct submit_s {
  redisContext* c;
  const char* stream;
  long inflight_lines[SUBMIT_PIPELINE];
  int inflight;
  long added;
  int failed;
  int conn_lost;
} submit_t;


/* Reads the replies of the pipelined XADDs. */
static void drain(submit_t* s) {
  redisReply* r;
  int i;

  for (i = 0; i < s->inflight; i++) {
    if (redisGetReply(s->c, (void**)&r) != REDIS_OK) {
      fprintf(stderr, "capsid submit: connection lost: %s; %ld lines were "
              "added; lines from %ld on were not confirmed (resubmitting "
              "them may run some twice)\n",
              s->c->errstr, s->added, s->inflight_lines[i]);
      s->conn_lost = 1;
      s->failed = 1;
      s->inflight = 0;
      return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      fprintf(stderr, "capsid submit: line %ld: XADD to \"%s\" failed: %s\n",
              s->inflight_lines[i], s->stream, r->str);
      s->failed = 1;
    } else {
      s->added++;
    }
    freeReplyObject(r);
  }
  s->inflight = 0;
}


static void add_line(submit_t* s, const char* text, size_t len, long line) {
  char num[32];
  const char* argv[7];
  size_t lens[7];

  snprintf(num, sizeof(num), "%ld", line);
  argv[0] = "XADD";
  argv[1] = s->stream;
  argv[2] = "*";
  argv[3] = "job";
  argv[4] = text;
  argv[5] = "line";
  argv[6] = num;
  lens[0] = 4;
  lens[1] = strlen(s->stream);
  lens[2] = 1;
  lens[3] = 3;
  lens[4] = len;
  lens[5] = 4;
  lens[6] = strlen(num);
  redisAppendCommandArgv(s->c, 7, argv, lens);
  s->inflight_lines[s->inflight++] = line;
  if (s->inflight == SUBMIT_PIPELINE)
    drain(s);
}


/* cli_lines_read's sink: one line, one XADD. Over-long lines were never
 * buffered and are refused here with their number. */
static int submit_line(cli_line_t* line, void* data) {
  submit_t* s = data;

  if (line->read_error != 0) {
    fprintf(stderr, "capsid submit: reading the input failed at line %ld: "
            "%s\n", line->number, strerror(line->read_error));
    s->failed = 1;
  } else if (line->too_long) {
    fprintf(stderr, "capsid submit: line %ld is longer than %zu bytes and "
            "was not submitted\n", line->number, (size_t)CLI_MAX_LINE);
    s->failed = 1;
  } else {
    add_line(s, line->text, line->len, line->number);
  }
  capsid__free(line);
  return s->conn_lost;
}


int cli_cmd_submit(int argc, char** argv) {
  cli_redis_url_t url;
  const char* redis = NULL;
  cli_args_t a;
  submit_t s;
  char err[512];
  int opt, fd;

  memset(&s, 0, sizeof(s));
  cli_args_init(&a, "capsid submit", argc, argv);
  while ((opt = cli_args_next(&a, submit_options)) > 0) {
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
  s.c = cli_redis_sync_connect(&url, 5000, err, sizeof(err));
  cli_redis_url_free(&url);
  if (s.c == NULL) {
    fprintf(stderr, "capsid submit: %s\n", err);
    if (fd != 0)
      close(fd);
    return 1;
  }

  cli_lines_read(fd, submit_line, &s);
  if (!s.conn_lost)
    drain(&s);
  if (fd != 0)
    close(fd);
  redisFree(s.c);
  fprintf(stderr, "capsid submit: %ld jobs added to stream \"%s\"\n",
          s.added, s.stream);
  return s.failed ? 1 : 0;
}
