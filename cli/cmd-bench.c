/* capsid bench NAME: the benchmarks, each against a baseline measured in
 * the same run. The benchmarks themselves live in bench/. */
#include "cli.h"

#include "bench.h"

#include <stdio.h>
#include <string.h>

typedef struct bench_entry_s {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* what;
} bench_entry_t;

static const bench_entry_t benches[] = {
    {"spawn", bench_spawn_main,
     "sequential /bin/true vs posix_spawn and bwrap"},
    {"batch", bench_batch_main, "capsid batch -j 8 vs xargs -P 8"},
    {"capture", bench_capture_main,
     "8 writers of 100 MB vs a minimal epoll reader"},
    {"memory", bench_memory_main,
     "resident memory with 10,000 queued jobs"},
    {"acl", bench_acl_main,
     "ACL apply / re-apply on 100k files vs setfacl -R"},
    {"workspace", bench_workspace_main,
     "per-command cost in 100k and 1M-file workspaces"},
#ifdef CAPSID_SERVE
    {"serve", bench_serve_main,
     "/bin/true through capsid serve vs capsid run vs posix_spawn"},
#endif
};


static void usage(FILE* f) {
  size_t i;

  fputs("Usage: capsid bench NAME [options]   (capsid bench NAME --help)\n"
        "\nBenchmarks, each printing a ratio against a baseline measured in\n"
        "the same run:\n",
        f);
  for (i = 0; i < CAPSID__ARRAY_SIZE(benches); i++)
    fprintf(f, "  %-9s %s\n", benches[i].name, benches[i].what);
  fputs("\nExample: capsid bench spawn -n 1000 --csv results.csv\n", f);
}


int cli_cmd_bench(int argc, char** argv) {
  size_t i;

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (i = 0; i < CAPSID__ARRAY_SIZE(benches); i++)
    if (strcmp(argv[1], benches[i].name) == 0)
      return benches[i].run(argc - 1, argv + 1);
  fprintf(stderr, "capsid bench: unknown benchmark '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
