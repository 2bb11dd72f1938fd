/* capsid worker: the options of the scale-out worker engine (scale/
 * worker.h), which runs the jobs of a Redis stream as one member of a
 * consumer group. docs/scale-out.md gives the guarantees. */
#include "cli.h"

#include "args.h"
#include "worker.h"

#include <stdio.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_RESULTS, OPT_DEAD, OPT_GROUP,
       OPT_CONSUMER, OPT_JOBS, OPT_CLAIM_IDLE, OPT_MAX_DELIVERIES,
       OPT_DRAIN, OPT_COMMAND_TIMEOUT, OPT_MAX_RESULT, OPT_RETRIES,
       OPT_RETRY_BACKOFF, OPT_RESULTS_TTL,
       OPT_METRICS, OPT_HELP };

static const capsid__option_t worker_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {0, "results", 1, OPT_RESULTS},
    {0, "dead-letter", 1, OPT_DEAD},
    {0, "group", 1, OPT_GROUP},
    {0, "consumer", 1, OPT_CONSUMER},
    {'j', "jobs", 1, OPT_JOBS},
    {0, "claim-idle", 1, OPT_CLAIM_IDLE},
    {0, "max-deliveries", 1, OPT_MAX_DELIVERIES},
    {0, "drain-timeout", 1, OPT_DRAIN},
    {0, "command-timeout", 1, OPT_COMMAND_TIMEOUT},
    {0, "max-result-bytes", 1, OPT_MAX_RESULT},
    {0, "retries", 1, OPT_RETRIES},
    {0, "retry-backoff", 1, OPT_RETRY_BACKOFF},
    {0, "results-ttl", 1, OPT_RESULTS_TTL},
    {0, "metrics", 1, OPT_METRICS},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};


static int parse_duration_opt(const char* opt, const char* value,
                              uint64_t* out) {
  if (capsid_parse_duration(value, out) != 0 || *out == 0 ||
      *out > SCALE_WORKER_MAX_DURATION_MS) {
    fprintf(stderr, "capsid worker: %s: \"%s\" is not a duration from 1ms "
            "to 24h, such as 500ms, 30s, 5m\n", opt, value);
    return -1;
  }
  return 0;
}


int cli_cmd_worker(int argc, char** argv) {
  scale_worker_config_t cfg;
  capsid__args_t a;
  uint64_t n;
  char err[600];
  int opt;

  scale_worker_config_init(&cfg);
  capsid__args_init(&a, "capsid worker", argc, argv);
  while ((opt = capsid__args_next(&a, worker_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      cfg.redis = a.value;
      break;
    case OPT_STREAM:
      cfg.stream = a.value;
      break;
    case OPT_RESULTS:
      cfg.results = a.value;
      break;
    case OPT_DEAD:
      cfg.dead_letter = a.value;
      break;
    case OPT_GROUP:
      cfg.group = a.value;
      break;
    case OPT_CONSUMER:
      cfg.consumer = a.value;
      break;
    case OPT_JOBS:
      if (capsid__args_count(a.value, &n) != 0 || n == 0 ||
          n > SCALE_WORKER_MAX_JOBS) {
        fprintf(stderr, "capsid worker: -j: \"%s\" is not a number of jobs "
                "from 1 to %u\n", a.value, SCALE_WORKER_MAX_JOBS);
        return 2;
      }
      cfg.jobs = (unsigned)n;
      break;
    case OPT_CLAIM_IDLE:
      if (parse_duration_opt("--claim-idle", a.value, &cfg.claim_idle_ms))
        return 2;
      break;
    case OPT_MAX_DELIVERIES:
      if (capsid__args_count(a.value, &n) != 0 || n == 0 ||
          n > (uint64_t)SCALE_WORKER_MAX_DELIVERIES) {
        fprintf(stderr, "capsid worker: --max-deliveries: \"%s\" is not a "
                "number from 1 to %ld\n", a.value,
                SCALE_WORKER_MAX_DELIVERIES);
        return 2;
      }
      cfg.max_deliveries = (long)n;
      break;
    case OPT_DRAIN:
      if (parse_duration_opt("--drain-timeout", a.value, &cfg.drain_ms))
        return 2;
      break;
    case OPT_COMMAND_TIMEOUT:
      if (parse_duration_opt("--command-timeout", a.value,
                             &cfg.command_timeout_ms))
        return 2;
      break;
    case OPT_MAX_RESULT:
      if (capsid_parse_size(a.value, &cfg.max_result_bytes) != 0) {
        fprintf(stderr, "capsid worker: --max-result-bytes: \"%s\" is not "
                "a size such as 512k, 16m\n", a.value);
        return 2;
      }
      break;
    case OPT_RETRIES:
      if (capsid_parse_size(a.value, &n) != 0 ||
          n > SCALE_WORKER_MAX_RETRIES) {
        fprintf(stderr, "capsid worker: --retries: \"%s\" is not a number "
                "from 0 to %u\n", a.value, SCALE_WORKER_MAX_RETRIES);
        return 2;
      }
      cfg.retries = (unsigned)n;
      break;
    case OPT_RETRY_BACKOFF:
      if (parse_duration_opt("--retry-backoff", a.value,
                             &cfg.retry_backoff_ms))
        return 2;
      break;
    case OPT_RESULTS_TTL:
      /* 0 keeps them; the 24 h bound of other durations is too short. */
      if (capsid_parse_duration(a.value, &cfg.results_ttl_ms) != 0) {
        fprintf(stderr, "capsid worker: --results-ttl: \"%s\" is not a "
                "duration such as 0, 30m, 168h\n", a.value);
        return 2;
      }
      break;
    case OPT_METRICS:
      cfg.metrics = a.value;
      break;
    case OPT_HELP:
      cli_help_worker();
      return 0;
    }
  }
  if (opt < 0)
    return 2;
  if (a.index < argc) {
    fprintf(stderr, "capsid worker: unexpected argument \"%s\"\n",
            argv[a.index]);
    return 2;
  }
  if (cfg.redis == NULL || cfg.stream == NULL) {
    fprintf(stderr, "capsid worker: --redis URL and --stream NAME are "
            "required (see 'capsid worker --help')\n");
    return 2;
  }
  if (scale_worker_check(&cfg, err, sizeof(err)) != 0) {
    fprintf(stderr, "capsid worker: %s\n", err);
    return 2;
  }
  return scale_worker_run(&cfg);
}
