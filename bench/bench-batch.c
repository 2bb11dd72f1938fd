/* capsid bench batch: `capsid batch -j 8` against `xargs -P 8` running the
 * same commands without a sandbox. Both read their commands from a file
 * and send their output to /dev/null; capsid also captures every byte
 * and writes a JSON result per job, which is the work being measured. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "Usage: capsid bench batch [-n N] [-j J] [--mode MODE]\n"
    "\n"
    "Two workloads, each through `capsid batch -j J` (default 8) and through\n"
    "`xargs -P J`, interleaved over three rounds (best of each is kept):\n"
    "  true:  N jobs of /bin/true (default 2000)\n"
    "  1mb:   N/4 jobs of a shell script writing 1 MB to stdout\n";

static const char* mode_field(capsid_mode_t m) {
  return m == CAPSID_MODE_AUTO ? "" : m == CAPSID_MODE_ELEVATED
                                          ? ",\"mode\":\"elevated\""
                                          : ",\"mode\":\"unprivileged\"";
}


/* Writes the job file for capsid and the command file for xargs. */
static int write_inputs(const char* dir, long n, int big, capsid_mode_t m,
                        char* jobs, char* cmds, size_t size) {
  FILE* fj;
  FILE* fc;
  long i;

  snprintf(jobs, size, "%s/%s.jsonl", dir, big ? "big" : "true");
  snprintf(cmds, size, "%s/%s.cmds", dir, big ? "big" : "true");
  fj = fopen(jobs, "w");
  fc = fopen(cmds, "w");
  if (fj == NULL || fc == NULL) {
    if (fj)
      fclose(fj);
    if (fc)
      fclose(fc);
    return -1;
  }
  for (i = 0; i < n; i++) {
    if (big) {
      fprintf(fj, "{\"id\":%ld,\"argv\":[\"sh\",\"-c\",\"yes | head -c "
              "1000000\"],\"cwd\":\"%s\",\"network\":false%s}\n",
              i, dir, mode_field(m));
    } else {
      fprintf(fj, "{\"id\":%ld,\"argv\":[\"/bin/true\"],\"cwd\":\"%s\","
              "\"network\":false%s}\n", i, dir, mode_field(m));
    }
    /* xargs gets only a job number per line: the command itself is given
     * on xargs's command line (a line holding the command would make
     * xargs run `echo` on it, not the command). */
    fprintf(fc, "%ld\n", i);
  }
  fclose(fj);
  fclose(fc);
  return 0;
}


static long read_count(const char* dir) {
  char path[512];
  long count = -1;
  FILE* f;

  snprintf(path, sizeof(path), "%s/count", dir);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld", &count) != 1)
    count = -1;
  fclose(f);
  return count;
}


static double time_shell(const char* cmd) {
  char* argv[] = {"/bin/sh", "-c", (char*)cmd, NULL};
  double t0 = bench_now();

  if (bench_spawn_wait(argv, 1) != 0)
    return -1;
  return bench_now() - t0;
}


static int run_workload(const bench_opts_t* o, const char* dir, int big,
                        long n, int jobs, int rounds) {
  char jf[512], cf[512], cmd[2048], name[96];
  double t, best_x = 1e30, best_c = 1e30;
  int r;

  if (write_inputs(dir, n, big, o->mode, jf, cf, sizeof(jf)) != 0)
    return -1;
  for (r = 0; r < rounds; r++) {
    /* The baseline's output goes through a pipe to a reader, as capsid's
     * does, and the reader counts it: a baseline that did not run the
     * commands would show up as a wrong byte count, not as a fast time. */
    snprintf(cmd, sizeof(cmd),
             "xargs -P %d -n 1 -a '%s' %s | wc -c > '%s/count'", jobs, cf,
             big ? "sh -c 'yes | head -c 1000000'" : "/bin/true", dir);
    t = time_shell(cmd);
    if (t < 0)
      return -1;
    if (read_count(dir) != (big ? n * 1000000L : 0)) {
      fprintf(stderr, "capsid bench batch: the xargs baseline wrote %ld "
              "bytes, expected %ld\n", read_count(dir),
              big ? n * 1000000L : 0L);
      return -1;
    }
    if (t < best_x)
      best_x = t;
    snprintf(cmd, sizeof(cmd), "'%s' batch -j %d '%s' >/dev/null",
             bench_self(), jobs, jf);
    t = time_shell(cmd);
    if (t < 0)
      return -1;
    if (t < best_c)
      best_c = t;
  }
  snprintf(name, sizeof(name), "%s: xargs -P %d (baseline)",
           big ? "1mb" : "true", jobs);
  bench_row(o, "batch", name, best_x, "s", 1.0);
  snprintf(name, sizeof(name), "%s: capsid batch -j %d", big ? "1mb" : "true",
           jobs);
  bench_row(o, "batch", name, best_c, "s", best_c / best_x);
  snprintf(name, sizeof(name), "%s: capsid jobs per second",
           big ? "1mb" : "true");
  bench_row(o, "batch", name, (double)n / best_c, "jobs/s", 0);
  return 0;
}


int bench_batch_main(int argc, char** argv) {
  bench_opts_t o;
  char dir[] = "/tmp/capsid-bench-batch-XXXXXX";
  char rm[128];
  long n;
  int jobs, rounds, rc;

  rc = bench_parse("batch", help, argc, argv, &o);
  if (rc != 0)
    return rc < 0 ? 2 : 0;
  n = o.n ? o.n : (o.quick ? 40 : 2000);
  jobs = o.jobs ? o.jobs : 8;
  rounds = o.quick ? 1 : 3;
  if (mkdtemp(dir) == NULL)
    return 1;
  bench_header("batch", "wall seconds for the whole batch, best of "
               "rounds (ratio: to xargs)");
  rc = run_workload(&o, dir, 0, n, jobs, rounds);
  if (rc == 0)
    rc = run_workload(&o, dir, 1, n / 4 > 0 ? n / 4 : 1, jobs, rounds);
  snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
  if (system(rm) != 0)
    rc = -1;
  if (rc != 0)
    bench_note("a run failed");
  return rc == 0 ? 0 : 1;
}
