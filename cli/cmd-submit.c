/* capsid submit: the options and the input of the submit engine (scale/
 * submit.h), which pushes a JSONL batch onto a Redis stream, one entry per
 * non-blank line. */
#include "cli.h"

#include "args.h"
#include "jobline.h"
#include "linereader.h"
#include "manifest.h"
#include "submit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_ID_WINDOW, OPT_MANIFEST, OPT_HELP };

/* How long a job id keeps a second submission of it out by default: a
 * day covers re-running a script after a failure or a lost reply. */
#define DEFAULT_ID_WINDOW_MS (24u * 60u * 60u * 1000u)
#define MAX_ID_WINDOW_MS ((uint64_t)365 * 24 * 60 * 60 * 1000)

static const capsid__option_t submit_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {0, "id-window", 1, OPT_ID_WINDOW},
    {0, "manifest", 1, OPT_MANIFEST},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

typedef struct submit_input_s {
  scale_submit_t* s;
  int failed;
  FILE* manifest;      /* --manifest, open once the batch id is known */
  int manifest_failed; /* writing it failed (errno) */
} submit_input_t;


/* The engine's word on each line, into --manifest (scale/manifest.h). */
static void manifest_line(long number, const char* text, size_t len,
                          int fate, const char* what, void* data) {
  submit_input_t* in = data;

  if (in->manifest != NULL && !in->manifest_failed &&
      scale_manifest_write_line(in->manifest, number, text, len, fate,
                                what) != 0)
    in->manifest_failed = errno ? errno : EIO;
}


/* Closes --manifest and says where it went (or that it failed). */
static int manifest_close(submit_input_t* in, const char* path) {
  if (in->manifest == NULL)
    return 0;
  if (fclose(in->manifest) != 0 && !in->manifest_failed)
    in->manifest_failed = errno ? errno : EIO;
  in->manifest = NULL;
  if (in->manifest_failed) {
    fprintf(stderr, "capsid submit: writing the manifest %s failed: %s\n",
            path, strerror(in->manifest_failed));
    return 1;
  }
  fprintf(stderr, "capsid submit: manifest of the batch written to %s "
          "(capsid collect --manifest %s)\n", path, path);
  return 0;
}


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
  const char* manifest = NULL;
  char err[600];
  int opt, fd, rc, started;

  memset(&cfg, 0, sizeof(cfg));
  memset(&in, 0, sizeof(in));
  cfg.id_window_ms = DEFAULT_ID_WINDOW_MS;
  capsid__args_init(&a, "capsid submit", argc, argv);
  while ((opt = capsid__args_next(&a, submit_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      cfg.redis = a.value;
      break;
    case OPT_STREAM:
      cfg.stream = a.value;
      break;
    case OPT_ID_WINDOW:
      if (capsid_parse_duration(a.value, &cfg.id_window_ms) != 0 ||
          cfg.id_window_ms > MAX_ID_WINDOW_MS) {
        fprintf(stderr, "capsid submit: --id-window: \"%s\" is not a "
                "duration up to a year, such as 0, 30m, 24h\n", a.value);
        return 2;
      }
      break;
    case OPT_MANIFEST:
      manifest = a.value;
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
  cfg.on_line = manifest_line;
  cfg.data = &in;
  rc = scale_submit_new(&cfg, &in.s, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "capsid submit: %s\n", err);
    return rc == CAPSID_ENOMEM ? 1 : 2;
  }
  if ((fd = cli_input_open(&a)) < 0) {
    scale_submit_free(in.s);
    return 2;
  }
  started = scale_submit_start(in.s) == 0;
  if (started && manifest != NULL) {
    /* Written as the lines are confirmed; the header first, now that
     * the batch id is known. */
    in.manifest = fopen(manifest, "w");
    if (in.manifest == NULL ||
        scale_manifest_write_header(in.manifest, scale_submit_batch(in.s),
                                    cfg.stream) != 0) {
      fprintf(stderr, "capsid submit: --manifest: cannot write %s: %s; "
              "nothing submitted\n", manifest, strerror(errno));
      if (in.manifest != NULL)
        fclose(in.manifest);
      scale_submit_free(in.s);
      if (fd != 0)
        close(fd);
      return 1;
    }
  }
  if (started)
    cli_lines_read(fd, submit_line, &in);
  rc = scale_submit_finish(in.s);
  if (manifest_close(&in, manifest) != 0)
    in.failed = 1;
  if (fd != 0)
    close(fd);
  fprintf(stderr, "capsid submit: %ld jobs added to stream \"%s\"\n",
          scale_submit_added(in.s), cfg.stream);
  if (scale_submit_skipped(in.s) > 0)
    fprintf(stderr, "capsid submit: %ld lines skipped: their ids were "
            "submitted within --id-window\n", scale_submit_skipped(in.s));
  /* On stdout, for scripts: BATCH=$(capsid submit ...), then
   * capsid collect --batch "$BATCH". */
  if (scale_submit_batch(in.s) != NULL)
    printf("%s\n", scale_submit_batch(in.s));
  scale_submit_free(in.s);
  return rc != 0 || in.failed ? 1 : 0;
}
