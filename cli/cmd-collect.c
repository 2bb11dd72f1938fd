/* capsid collect: the options of the collect engine (scale/collect.h),
 * printing the first result of each job as one JSON line on stdout. */
#include "cli.h"

#include "args.h"
#include "collect.h"

#include <stdio.h>
#include <string.h>

enum { OPT_REDIS = 1, OPT_RESULTS, OPT_COUNT, OPT_TIMEOUT, OPT_FROM,
       OPT_PROGRESS, OPT_BATCH, OPT_HELP };

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


int cli_cmd_collect(int argc, char** argv) {
  scale_collect_config_t cfg;
  scale_collect_stats_t stats;
  collect_output_t out;
  capsid__args_t a;
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
  if (cfg.redis == NULL || cfg.results == NULL || cfg.results[0] == '\0' ||
      cfg.count == 0) {
    fprintf(stderr, "capsid collect: --redis URL, --results NAME and "
            "--count N are required (see 'capsid collect --help')\n");
    return 2;
  }
  cli_progress_init(&out.progress, progress, cfg.count);
  cfg.on_result = print_result;
  cfg.on_batch = print_batch;
  cfg.data = &out;
  rc = scale_collect_run(&cfg, &stats, err, sizeof(err));
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
  if (out.write_failed) {
    fprintf(stderr, "capsid collect: writing the results failed\n");
    rc = 1;
  }
  if (rc == CAPSID_EINVAL)
    return 2;
  return rc != 0 ? 1 : 0;
}

