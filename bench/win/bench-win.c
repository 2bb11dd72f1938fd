/* The benchmarks compare capsid with Linux baselines (fork+exec, xargs,
 * epoll, cgroups) and run on Linux only; on Windows `capsid bench NAME`
 * says so instead of measuring something that has no baseline. */
#include "bench.h"

#include <stdio.h>

static int not_here(const char* name) {
  fprintf(stderr, "capsid bench %s: the benchmarks run on Linux only\n",
          name);
  return 2;
}


int bench_spawn_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("spawn");
}


int bench_batch_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("batch");
}


int bench_capture_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("capture");
}


int bench_memory_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("memory");
}


int bench_acl_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("acl");
}


int bench_workspace_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("workspace");
}


int bench_serve_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return not_here("serve");
}
