/* capsid submit: the options and the input of the submit engine (scale/
 * submit.h), which pushes a JSONL batch onto a Redis stream, one entry per
 * non-blank line. */
#include "cli.h"

#include "args.h"
#include "jobline.h"
#include "linereader.h"
#include "submit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_HELP };

static const capsid__option_t submit_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

typedef struct submit_input_s {
  scale_submit_t* s;
  int failed;
} submit_input_t;


/* cli_lines_read's sink: one line to the engine. Over-long lines were
 * never buffered and are refused here with their number. */
static int submit_line(cli_line_t* line, void* data) {
  submit_input_t* in = data;
  int stop = 0;

  if (line->read_error != 0) {
    fprintf(stderr, "capsid submit: reading the input failed at line %ld: "
            "%s\n", line->number, strerror(line->read_error));
    in->failed = 1;
  } else if (line->too_long) {
    fprintf(stderr, "capsid submit: line %ld is longer than %zu bytes and "
            "was not submitted\n", line->number, (size_t)CLI_MAX_LINE);
    in->failed = 1;
  } else {
    stop = scale_submit_line(in->s, line->number, line->text, line->len);
  }
  capsid__free(line);
  return stop;
}


int cli_cmd_submit(int argc, char** argv) {
  scale_submit_config_t cfg;
  submit_input_t in;
  capsid__args_t a;
  char err[600];
  int opt, fd, rc;

  memset(&cfg, 0, sizeof(cfg));
  memset(&in, 0, sizeof(in));
  capsid__args_init(&a, "capsid submit", argc, argv);
  while ((opt = capsid__args_next(&a, submit_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      cfg.redis = a.value;
      break;
    case OPT_STREAM:
      cfg.stream = a.value;
      break;
    case OPT_HELP:
      cli_help_submit();
      return 0;
    }
  }
  if (opt < 0)
    return 2;
  if (cfg.redis == NULL || cfg.stream == NULL || cfg.stream[0] == '\0') {
    fprintf(stderr, "capsid submit: --redis URL and --stream NAME are "
            "required (see 'capsid submit --help')\n");
    return 2;
  }
  rc = scale_submit_new(&cfg, &in.s, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "capsid submit: %s\n", err);
    return rc == CAPSID_ENOMEM ? 1 : 2;
  }
  if ((fd = cli_input_open(&a)) < 0) {
    scale_submit_free(in.s);
    return 2;
  }
  if (scale_submit_start(in.s) == 0)
    cli_lines_read(fd, submit_line, &in);
  rc = scale_submit_finish(in.s);
  if (fd != 0)
    close(fd);
  fprintf(stderr, "capsid submit: %ld jobs added to stream \"%s\"\n",
          scale_submit_added(in.s), cfg.stream);
  scale_submit_free(in.s);
  return rc != 0 || in.failed ? 1 : 0;
}
