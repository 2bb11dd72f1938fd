/* capsid queue status|web: a queue seen from outside, read-only
 * (scale/queue-status.h, scale/queue-web.h). */
#include "cli.h"

#include "args.h"
#include "queue-status.h"
#include "queue-web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_GROUP, OPT_RESULTS, OPT_DEAD,
       OPT_JSON, OPT_LISTEN, OPT_HELP };

static const capsid__option_t queue_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {0, "group", 1, OPT_GROUP},
    {0, "results", 1, OPT_RESULTS},
    {0, "dead-letter", 1, OPT_DEAD},
    {0, "json", 0, OPT_JSON},
    {0, "listen", 1, OPT_LISTEN},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};


static void help(void) {
  fputs(
"Usage: capsid queue status --redis URL --stream NAME [--json] [options]\n"
"       capsid queue web --redis URL --stream NAME [--listen ADDR] [options]\n"
"\n"
"Shows a scale-out queue as it is now, reading Redis and writing nothing:\n"
"the jobs in the stream, how many are pending (delivered, no result yet)\n"
"and not yet delivered (lag), each worker the consumer group has seen\n"
"with the jobs it holds and how long since it was last heard of, the\n"
"results (and how many came in the last minute), the last failures, the\n"
"dead letters, and whether Redis keeps its data across a restart (AOF).\n"
"\n"
"'status' prints a table, or one JSON object with --json. 'web' serves a\n"
"small page that refreshes itself every second (GET /) and the same JSON\n"
"(GET /status.json); it has no authentication: keep it on loopback or a\n"
"private network.\n"
"\n"
"Options:\n"
"      --redis URL            as for 'capsid worker' (redis://, rediss://,\n"
"                             unix://, redis-sentinel://)\n"
"      --stream NAME          the job stream\n"
"      --group NAME           the consumer group (default capsid)\n"
"      --results NAME         the results stream (default NAME-results)\n"
"      --dead-letter NAME     the dead-letter stream (default NAME-dead)\n"
"      --json                 status: print JSON instead of a table\n"
"      --listen ADDR          web: HOST:PORT to serve on (default\n"
"                             127.0.0.1:8080; port 0 picks a free one)\n"
"  -h, --help                 show this help\n"
"\n"
"Exit status: 0; 1 when Redis cannot be read; 2 on usage errors.\n"
"\n"
"Example:\n"
"  capsid queue status --redis redis://queue.lan --stream jobs\n",
      stdout);
}


static long long num(const json_t* o, const char* key) {
  return json_integer_value(json_object_get(o, key));
}


static const char* str(const json_t* o, const char* key) {
  const char* s = json_string_value(json_object_get(o, key));
  return s != NULL ? s : "-";
}


static void print_table(const json_t* s) {
  const json_t* g = json_object_get(s, "group");
  const json_t* res = json_object_get(s, "results");
  const json_t* dead = json_object_get(s, "dead_letters");
  const json_t* p = json_object_get(s, "persistence");
  const json_t* aof = json_object_get(p, "aof");
  const json_t* v;
  size_t i;

  printf("stream       %s: %lld jobs\n", str(s, "stream"), num(s, "length"));
  if (json_is_object(g) && json_is_integer(json_object_get(g, "lag")))
    printf("group        %s: %lld pending, %lld not yet delivered\n",
           str(g, "name"), num(g, "pending"), num(g, "lag"));
  else if (json_is_object(g))
    printf("group        %s: %lld pending\n", str(g, "name"),
           num(g, "pending"));
  else
    printf("group        none yet (no worker has started)\n");
  printf("results      %s: %lld, %lld%s in the last minute\n",
         str(res, "stream"), num(res, "length"), num(res, "last_minute"),
         json_is_true(json_object_get(res, "last_minute_capped")) ? "+"
                                                                  : "");
  printf("dead letters %s: %lld\n", str(dead, "stream"), num(dead, "length"));
  printf("redis        %s: AOF %s%s%s\n", str(p, "server"),
         json_is_true(aof) ? "on" : json_is_false(aof) ? "OFF" : "unknown",
         json_is_string(json_object_get(p, "appendfsync"))
             ? ", appendfsync "
             : "",
         json_is_string(json_object_get(p, "appendfsync"))
             ? str(p, "appendfsync")
             : "");
  if (json_is_false(aof))
    printf("warning: without AOF a Redis restart loses the queue, its "
           "pending list and the results\n");
  if (json_is_object(g)) {
    printf("\n%-32s %8s %10s\n", "WORKER", "HELD", "IDLE");
    json_array_foreach(json_object_get(g, "consumers"), i, v)
      printf("%-32s %8lld %9.1fs\n", str(v, "name"), num(v, "pending"),
             (double)num(v, "idle_ms") / 1000.0);
  }
  if (json_array_size(json_object_get(res, "failures")) > 0) {
    printf("\n%-20s %-20s %5s  %s\n", "LAST FAILURES", "WORKER", "EXIT",
           "ERROR");
    json_array_foreach(json_object_get(res, "failures"), i, v) {
      const json_t* ec = json_object_get(v, "exit_code");
      char* idtext = json_dumps(json_object_get(v, "id"), JSON_ENCODE_ANY);
      char code[24] = "-";
      if (json_is_integer(ec))
        snprintf(code, sizeof(code), "%lld",
                 (long long)json_integer_value(ec));
      printf("%-20s %-20s %5s  %s\n", idtext != NULL ? idtext : "-",
             str(v, "worker"), code,
             json_is_string(json_object_get(v, "error")) ? str(v, "error")
                                                         : "");
      free(idtext);
    }
  }
}


int cli_cmd_queue(int argc, char** argv) {
  scale_queue_config_t cfg;
  capsid__args_t a;
  const char* sub;
  const char* listen_addr = "127.0.0.1:8080";
  json_t* status;
  char err[600];
  int opt, json = 0, rc;

  memset(&cfg, 0, sizeof(cfg));
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                    strcmp(argv[1], "-h") == 0)) {
    help();
    return 0;
  }
  if (argc < 2 || (strcmp(argv[1], "status") != 0 &&
                   strcmp(argv[1], "web") != 0)) {
    fprintf(stderr, "capsid queue: expected 'status' or 'web' (see "
            "'capsid queue --help')\n");
    return 2;
  }
  sub = argv[1];
  capsid__args_init(&a, "capsid queue", argc - 1, argv + 1);
  while ((opt = capsid__args_next(&a, queue_options)) > 0) {
    switch (opt) {
    case OPT_REDIS: cfg.redis = a.value; break;
    case OPT_STREAM: cfg.stream = a.value; break;
    case OPT_GROUP: cfg.group = a.value; break;
    case OPT_RESULTS: cfg.results = a.value; break;
    case OPT_DEAD: cfg.dead_letter = a.value; break;
    case OPT_JSON: json = 1; break;
    case OPT_LISTEN: listen_addr = a.value; break;
    case OPT_HELP: help(); return 0;
    }
  }
  if (opt < 0)
    return 2;
  if (a.index < argc - 1) {
    fprintf(stderr, "capsid queue: unexpected argument \"%s\"\n",
            argv[1 + a.index]);
    return 2;
  }
  if (cfg.redis == NULL || cfg.stream == NULL || cfg.stream[0] == '\0') {
    fprintf(stderr, "capsid queue: --redis URL and --stream NAME are "
            "required (see 'capsid queue --help')\n");
    return 2;
  }
  if (strcmp(sub, "web") == 0) {
    rc = scale_queue_web(&cfg, listen_addr, err, sizeof(err));
    fprintf(stderr, "capsid queue web: %s\n", err);
    return rc == CAPSID_EINVAL ? 2 : 1;
  }
  rc = scale_queue_status(&cfg, &status, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "capsid queue: %s\n", err);
    return rc == CAPSID_EINVAL ? 2 : 1;
  }
  if (json)
    rc = json_dumpf(status, stdout, JSON_COMPACT) != 0 ||
         fputc('\n', stdout) == EOF;
  else
    print_table(status);
  json_decref(status);
  return rc != 0 || fflush(stdout) != 0 ? 1 : 0;
}
