/* capsid collect: the options of the collect engine (scale/collect.h),
 * printing the first result of each job as one JSON line on stdout. */
#include "cli.h"

#include "args.h"
#include "collect.h"
#include "linereader.h"
#include "manifest.h"
#include "submit.h"

#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum { OPT_REDIS = 1, OPT_RESULTS, OPT_COUNT, OPT_TIMEOUT, OPT_FROM,
       OPT_PROGRESS, OPT_BATCH, OPT_MANIFEST, OPT_RESUBMIT, OPT_HELP };

/* Without --timeout: long enough for a big batch, short enough that a
 * collector of a batch that can never complete (jobs lost with a Redis
 * that restarted empty, a wrong stream name) ends and says so. */
#define DEFAULT_TIMEOUT_MS (60u * 60u * 1000u)

static const capsid__option_t collect_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "results", 1, OPT_RESULTS},
    {'n', "count", 1, OPT_COUNT},
    {'t', "timeout", 1, OPT_TIMEOUT},
    {0, "from", 1, OPT_FROM},
    {0, "progress", 0, OPT_PROGRESS},
    {0, "batch", 1, OPT_BATCH},
    {0, "manifest", 1, OPT_MANIFEST},
    {0, "resubmit", 1, OPT_RESUBMIT},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

typedef struct collect_output_s {
  cli_progress_t progress;
  int write_failed;
} collect_output_t;


static void print_result(const char* text, size_t len, void* data) {
  collect_output_t* out = data;

  if (fwrite(text, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
    out->write_failed = 1;
  out->progress.done++;
}


static void print_batch(void* data) {
  collect_output_t* out = data;

  fflush(stdout);
  cli_progress_draw(&out->progress, 0);
}


/* Says which lines of the manifest have no result, each with its id. */
static void report_missing(const scale_manifest_t* m) {
  size_t i;

  fprintf(stderr, "capsid collect: %ld of %ld jobs of batch \"%s\" have "
          "no result:\n", scale_manifest_missing(m),
          scale_manifest_expected(m), m->batch);
  for (i = 0; i < m->n; i++)
    if (!m->lines[i].skipped && !m->lines[i].got)
      fprintf(stderr, "capsid collect: no result: line %ld, id %s\n",
              m->lines[i].line, m->lines[i].id ? m->lines[i].id : "null");
}


typedef struct resubmit_s {
  scale_submit_t* s;
  const scale_manifest_t* m;
  long sent;
  int failed;
} resubmit_t;


/* cli_lines_read's sink: the job file's lines that have no result. */
static int resubmit_line(cli_line_t* line, void* data) {
  resubmit_t* rs = data;
  const scale_manifest_line_t* l = scale_manifest_find(rs->m, line->number);
  int stop = 0;

  if (l != NULL && !l->skipped && !l->got) {
    if (line->read_error != 0 || line->too_long) {
      fprintf(stderr, "capsid collect: --resubmit: line %ld cannot be "
              "read again\n", line->number);
      rs->failed = 1;
    } else {
      stop = scale_submit_line(rs->s, line->number, line->text, line->len);
      rs->sent++;
    }
  }
  capsid__free(line);
  return stop;
}


/* Submits the lines of path that have no result again, into the same
 * batch (so their results are collected as the batch's) and without the
 * id window (their ids were submitted once already). Returns 0 when each
 * went in. */
static int resubmit(const char* redis, const scale_manifest_t* m,
                    const char* path) {
  scale_submit_config_t cfg;
  resubmit_t rs;
  char err[600];
  int fd, rc;

  memset(&cfg, 0, sizeof(cfg));
  memset(&rs, 0, sizeof(rs));
  cfg.redis = redis;
  cfg.stream = m->stream;
  cfg.batch = m->batch;
  rs.m = m;
  fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "capsid collect: --resubmit: cannot open %s: %s\n",
            path, strerror(errno));
    return 1;
  }
  if (scale_submit_new(&cfg, &rs.s, err, sizeof(err)) != 0) {
    fprintf(stderr, "capsid collect: --resubmit: %s\n", err);
    if (fd != 0)
      close(fd);
    return 1;
  }
  if (scale_submit_start(rs.s) == 0)
    cli_lines_read(fd, resubmit_line, &rs);
  rc = scale_submit_finish(rs.s);
  if (fd != 0)
    close(fd);
  fprintf(stderr, "capsid collect: resubmitted %ld jobs from %s to stream "
          "\"%s\" (batch \"%s\")\n", scale_submit_added(rs.s), path,
          m->stream, m->batch);
  if (rs.sent < scale_manifest_missing(m)) {
    fprintf(stderr, "capsid collect: --resubmit: %s lacks %ld of the "
            "lines without a result (is it the file that was submitted?)\n",
            path, scale_manifest_missing(m) - rs.sent);
    rs.failed = 1;
  }
  scale_submit_free(rs.s);
  return rc != 0 || rs.failed;
}


int cli_cmd_collect(int argc, char** argv) {
  scale_collect_config_t cfg;
  scale_collect_stats_t stats;
  collect_output_t out;
  capsid__args_t a;
  scale_manifest_t manifest;
  const char* manifest_path = NULL;
  const char* resubmit_path = NULL;
  char* results = NULL;
  uint64_t n;
  char err[600];
  int opt, progress = 0, rc;

  memset(&cfg, 0, sizeof(cfg));
  memset(&out, 0, sizeof(out));
  cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
  capsid__args_init(&a, "capsid collect", argc, argv);
  while ((opt = capsid__args_next(&a, collect_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      cfg.redis = a.value;
      break;
    case OPT_RESULTS:
      cfg.results = a.value;
      break;
    case OPT_COUNT:
      if (capsid__args_count(a.value, &n) != 0 || n == 0 ||
          n > (uint64_t)SCALE_COLLECT_MAX_COUNT) {
        fprintf(stderr, "capsid collect: --count: \"%s\" is not a number of "
                "results from 1 to %ld\n", a.value, SCALE_COLLECT_MAX_COUNT);
        return 2;
      }
      cfg.count = (long)n;
      break;
    case OPT_TIMEOUT:
      if (capsid_parse_duration(a.value, &cfg.timeout_ms) != 0 ||
          cfg.timeout_ms == 0) {
        fprintf(stderr, "capsid collect: --timeout: \"%s\" is not a "
                "duration such as 500ms, 30s, 5m\n", a.value);
        return 2;
      }
      break;
    case OPT_FROM:
      if (strlen(a.value) >= SCALE_COLLECT_ID_SIZE || a.value[0] == '\0') {
        fprintf(stderr, "capsid collect: --from: \"%s\" is not a stream "
                "entry id\n", a.value);
        return 2;
      }
      cfg.from = a.value;
      break;
    case OPT_BATCH:
      cfg.batch = a.value;
      break;
    case OPT_PROGRESS:
      progress = 1;
      break;
    case OPT_MANIFEST:
      manifest_path = a.value;
      break;
    case OPT_RESUBMIT:
      resubmit_path = a.value;
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
  if (resubmit_path != NULL && manifest_path == NULL) {
    fprintf(stderr, "capsid collect: --resubmit needs --manifest\n");
    return 2;
  }
  if (manifest_path != NULL) {
    if (cfg.count != 0 || cfg.batch != NULL || cfg.from != NULL) {
      fprintf(stderr, "capsid collect: --manifest says the batch and its "
              "jobs: leave out --count, --batch and --from\n");
      return 2;
    }
    rc = scale_manifest_load(manifest_path, &manifest, err, sizeof(err));
    if (rc != 0) {
      fprintf(stderr, "capsid collect: %s\n", err);
      return rc == CAPSID_EINVAL ? 2 : 1;
    }
    cfg.manifest = &manifest;
    cfg.count = scale_manifest_expected(&manifest);
    if (cfg.results == NULL)
      cfg.results = results =
          capsid__sprintf("%s-results", manifest.stream);
  }
  if (cfg.redis == NULL || cfg.results == NULL || cfg.results[0] == '\0' ||
      (cfg.count == 0 && cfg.manifest == NULL)) {
    fprintf(stderr, "capsid collect: --redis URL, --results NAME and "
            "--count N (or --manifest FILE) are required (see 'capsid "
            "collect --help')\n");
    rc = 2;
    goto done;
  }
  cli_progress_init(&out.progress, progress, cfg.count);
  cfg.on_result = print_result;
  cfg.on_batch = print_batch;
  cfg.data = &out;
  rc = scale_collect_run(&cfg, &stats, err, sizeof(err));
  if (rc == CAPSID_ETIMEDOUT && resubmit_path != NULL) {
    /* Lost jobs (a Redis that restarted empty, entries trimmed before
     * they ran): say which, send just those again, wait once more. */
    fprintf(stderr, "capsid collect: %s\n", err);
    report_missing(&manifest);
    if (resubmit(cfg.redis, &manifest, resubmit_path) != 0) {
      rc = CAPSID_EIO;
      snprintf(err, sizeof(err), "resubmitting failed");
    } else {
      scale_collect_stats_t again;
      rc = scale_collect_run(&cfg, &again, err, sizeof(err));
      stats.results += again.results;
      stats.duplicates += again.duplicates;
      stats.foreign += again.foreign;
      stats.other += again.other;
    }
  }
  if (rc != CAPSID_EINVAL && rc != CAPSID_ENOMEM)
    cli_progress_end(&out.progress);
  if (rc != 0)
    fprintf(stderr, "capsid collect: %s\n", err);
  if (stats.duplicates > 0)
    fprintf(stderr, "capsid collect: %ld duplicate results skipped (jobs "
            "run again after a worker was lost)\n", stats.duplicates);
  if (stats.other > 0)
    fprintf(stderr, "capsid collect: %ld results of other batches "
            "skipped\n", stats.other);
  if (stats.foreign > 0)
    fprintf(stderr, "capsid collect: %ld entries without \"entry\" and "
            "\"result\" fields skipped\n", stats.foreign);
  if (rc == CAPSID_ETIMEDOUT && cfg.manifest != NULL)
    report_missing(&manifest);
  if (out.write_failed) {
    fprintf(stderr, "capsid collect: writing the results failed\n");
    rc = 1;
  }
  rc = rc == CAPSID_EINVAL ? 2 : rc != 0 ? 1 : 0;
done:
  if (cfg.manifest != NULL)
    scale_manifest_free(&manifest);
  capsid__free(results);
  return rc;
}

