/* capsid submit: pushes a JSONL batch onto a Redis stream, one entry per
 * non-blank line: {job: LINE, line: N}. The lines are not validated here:
 * the worker that takes a bad line answers it with an error result that
 * names the line and the field, exactly as `capsid batch` would. */
#include "cli.h"

#include "args.h"
#include "jobline.h"
#include "redis-sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


static int blank(const char* s, size_t len) {
  size_t i;

  for (i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}


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


int cli_cmd_submit(int argc, char** argv) {
  cli_redis_url_t url;
  const char* redis = NULL;
  const char* input = "-";
  cli_args_t a;
  submit_t s;
  FILE* in = stdin;
  char err[512];
  char* text = NULL;
  size_t cap = 0;
  ssize_t n;
  long line = 0;
  int opt;

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
  if (a.index < argc)
    input = argv[a.index++];
  if (a.index < argc) {
    fprintf(stderr, "capsid submit: one input at most (got \"%s\" too)\n",
            argv[a.index]);
    return 2;
  }
  if (redis == NULL || s.stream == NULL || s.stream[0] == '\0') {
    fprintf(stderr, "capsid submit: --redis URL and --stream NAME are "
            "required (see 'capsid submit --help')\n");
    return 2;
  }
  if (cli_redis_sync_parse_url("capsid submit", redis, &url) != 0)
    return 2;
  if (strcmp(input, "-") != 0) {
    in = fopen(input, "rb");
    if (in == NULL) {
      fprintf(stderr, "capsid submit: cannot open \"%s\": %s\n", input,
              strerror(errno));
      cli_redis_url_free(&url);
      return 2;
    }
  }
  s.c = cli_redis_sync_connect(&url, 5000, err, sizeof(err));
  cli_redis_url_free(&url);
  if (s.c == NULL) {
    fprintf(stderr, "capsid submit: %s\n", err);
    if (in != stdin)
      fclose(in);
    return 1;
  }

  while (!s.conn_lost && (n = getline(&text, &cap, in)) >= 0) {
    size_t len = (size_t)n;
    line++;
    if (len > 0 && text[len - 1] == '\n')
      len--;
    if (blank(text, len))
      continue;
    if (len > CLI_MAX_LINE) {
      fprintf(stderr, "capsid submit: line %ld is longer than %zu bytes "
              "and was not submitted\n", line, CLI_MAX_LINE);
      s.failed = 1;
      continue;
    }
    add_line(&s, text, len, line);
  }
  if (!s.conn_lost && ferror(in)) {
    fprintf(stderr, "capsid submit: reading \"%s\" failed at line %ld: %s\n",
            input, line + 1, strerror(errno));
    s.failed = 1;
  }
  if (!s.conn_lost)
    drain(&s);
  free(text);
  if (in != stdin)
    fclose(in);
  redisFree(s.c);
  fprintf(stderr, "capsid submit: %ld jobs added to stream \"%s\"\n",
          s.added, s.stream);
  return s.failed ? 1 : 0;
}
