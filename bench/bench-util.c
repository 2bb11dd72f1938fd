#include "bench.h"

#include "args.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

enum { OPT_N = 1, OPT_JOBS, OPT_CSV, OPT_MODE, OPT_QUICK, OPT_HELP };

static const capsid__option_t bench_options[] = {
    {'n', "count", 1, OPT_N},   {'j', "jobs", 1, OPT_JOBS},
    {0, "csv", 1, OPT_CSV},     {0, "mode", 1, OPT_MODE},
    {0, "quick", 0, OPT_QUICK}, {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};


int bench_parse(const char* name, const char* help, int argc, char** argv,
                bench_opts_t* o) {
  char cmd[64];
  capsid__args_t a;
  uint64_t v;
  int opt;

  memset(o, 0, sizeof(*o));
  snprintf(cmd, sizeof(cmd), "capsid bench %s", name);
  capsid__args_init(&a, cmd, argc, argv);
  while ((opt = capsid__args_next(&a, bench_options)) > 0) {
    switch (opt) {
    case OPT_N:
    case OPT_JOBS:
      if (capsid_parse_size(a.value, &v) != 0 || v == 0 || v > 10000000) {
        fprintf(stderr, "%s: %s: \"%s\" is not a positive count\n", cmd,
                opt == OPT_N ? "-n" : "-j", a.value);
        return -1;
      }
      if (opt == OPT_N)
        o->n = (long)v;
      else
        o->jobs = (int)v;
      break;
    case OPT_CSV:
      o->csv = a.value;
      break;
    case OPT_MODE:
      if (strcmp(a.value, "auto") == 0)
        o->mode = CAPSID_MODE_AUTO;
      else if (strcmp(a.value, "elevated") == 0)
        o->mode = CAPSID_MODE_ELEVATED;
      else if (strcmp(a.value, "unprivileged") == 0)
        o->mode = CAPSID_MODE_UNPRIVILEGED;
      else {
        fprintf(stderr, "%s: --mode: \"%s\" is not auto, elevated or "
                "unprivileged\n", cmd, a.value);
        return -1;
      }
      break;
    case OPT_QUICK:
      o->quick = 1;
      break;
    case OPT_HELP:
      fputs(help, stdout);
      fputs("\nCommon options:\n"
            "  -n, --count N    iterations or jobs (default: see above)\n"
            "  -j, --jobs N     parallelism where it applies\n"
            "      --mode MODE  auto | elevated | unprivileged\n"
            "      --csv FILE   append the rows to FILE\n"
            "      --quick      a small run that proves the benchmark works\n",
            stdout);
      return 1;
    }
  }
  if (opt < 0)
    return -1;
  if (a.index < argc) {
    fprintf(stderr, "%s: unexpected argument \"%s\"\n", cmd, argv[a.index]);
    return -1;
  }
  return 0;
}


static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;

  return x < y ? -1 : x > y;
}


void bench_stats(double* s, size_t n, bench_stats_t* out) {
  double sum = 0;
  size_t i;

  memset(out, 0, sizeof(*out));
  if (n == 0)
    return;
  qsort(s, n, sizeof(*s), cmp_double);
  for (i = 0; i < n; i++)
    sum += s[i];
  out->mean = sum / (double)n;
  out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  out->p90 = s[(size_t)((double)(n - 1) * 0.9)];
  out->min = s[0];
}


double bench_now(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


void bench_header(const char* bench, const char* what) {
  printf("\n%s: %s\n", bench, what);
  printf("  %-44s %14s %-8s %8s\n", "measurement", "value", "unit",
         "ratio");
}


void bench_row(const bench_opts_t* o, const char* bench, const char* name,
               double value, const char* unit, double ratio) {
  FILE* f;

  if (ratio > 0)
    printf("  %-44s %14.3f %-8s %7.2fx\n", name, value, unit, ratio);
  else
    printf("  %-44s %14.3f %-8s %8s\n", name, value, unit, "-");
  fflush(stdout);
  if (o->csv == NULL)
    return;
  f = fopen(o->csv, "a");
  if (f == NULL)
    return;
  /* Names such as "capsid runtime, mode elevated" carry commas: in the
   * CSV they become semicolons, so every row has exactly five fields. */
  fprintf(f, "%s,", bench);
  for (; *name != '\0'; name++)
    fputc(*name == ',' ? ';' : *name, f);
  fprintf(f, ",%.6f,%s,%.4f\n", value, unit, ratio > 0 ? ratio : 0);
  fclose(f);
}


void bench_note(const char* fmt, ...) {
  va_list ap;

  printf("  note: ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}


int bench_spawn_wait(char* const* argv, int keep_output) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t dfl;
  pid_t pid;
  int status, rc;

  /* capsid ignores SIGPIPE and an ignored signal survives exec: give the
   * baselines the default, as a shell would, or `yes | head` spins on
   * EPIPE instead of dying. */
  posix_spawnattr_init(&attr);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_init(&fa);
  if (!keep_output) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return -1;
  while (waitpid(pid, &status, 0) < 0)
    ;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}


const char* bench_self(void) {
  static char path[4096];
  ssize_t n;

  if (path[0] != '\0')
    return path;
  n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n < 0)
    return "capsid";
  path[n] = '\0';
  return path;
}
