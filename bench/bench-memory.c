/* capsid bench memory: resident memory of the runtime while it holds many
 * queued jobs and some running ones, and of `capsid batch` over a long
 * input. The baseline is the same process before any job exists. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

static const char help[] =
    "Usage: capsid bench memory [-n QUEUED] [-j RUNNING]\n"
    "\n"
    "Starts RUNNING (default 64) long jobs and QUEUED (default 10000) more\n"
    "through the C API, then reads this process's resident memory; and\n"
    "runs `capsid batch -j RUNNING` over QUEUED+RUNNING short jobs and\n"
    "reports its peak resident memory.\n";

/* VmRSS or VmHWM of this process, in bytes. */
static long status_kb(const char* key) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  size_t n = strlen(key);

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, key, n) == 0 && line[n] == ':')
      kb = atol(line + n + 1);
  fclose(f);
  return kb;
}


static void on_exit_cb(capsid_job_t* job, capsid_result_t* r, void* data) {
  (void)job;
  (void)r;
  ++*(long*)data;
}


int bench_memory_main(int argc, char** argv) {
  const char* sleeper[] = {"sleep", "30", NULL};
  capsid_runtime_options_t ro;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  struct rusage ru;
  bench_opts_t o;
  char path[] = "/tmp/capsid-bench-mem-XXXXXX";
  /* A workspace of its own: /tmp itself is everyone's (root capsid
   * refuses it). */
  char ws[] = "/tmp/capsid-bench-mem-ws-XXXXXX";
  char* bargv[6];
  char jobs_arg[16];
  long queued, running, i, done = 0, base_kb, held_kb;
  int fd, rc, status;
  pid_t pid;
  FILE* f;

  rc = bench_parse("memory", help, argc, argv, &o);
  if (rc != 0)
    return rc < 0 ? 2 : 0;
  queued = o.n ? o.n : (o.quick ? 500 : 10000);
  running = o.jobs ? o.jobs : (o.quick ? 8 : 64);
  if (mkdtemp(ws) == NULL)
    return 1;

  base_kb = status_kb("VmRSS");
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = (unsigned)running;
  if (capsid_runtime_new(&ro, &rt) != 0) {
    rmdir(ws);
    return 1;
  }
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = sleeper;
  spec.cwd = ws;
  spec.mode = o.mode;
  for (i = 0; i < queued + running; i++)
    if (capsid_job_start(rt, &spec, on_exit_cb, &done, NULL) != 0)
      break;
  /* Let the running ones get spawned and their pipes opened. */
  uv_run(capsid_runtime_loop(rt), UV_RUN_NOWAIT);
  held_kb = status_kb("VmRSS");
  bench_header("memory", "resident memory (ratio: to the process before "
               "any job)");
  bench_row(&o, "memory", "process before jobs (baseline)",
            (double)base_kb / 1024, "MiB", 1.0);
  bench_row(&o, "memory", "C API: queued + running jobs held",
            (double)held_kb / 1024, "MiB", (double)held_kb / base_kb);
  bench_row(&o, "memory", "C API: bytes per queued job",
            (double)(held_kb - base_kb) * 1024 / (double)(queued + running),
            "B", 0);
  bench_note("%u running, %u queued", capsid_runtime_running(rt),
             capsid_runtime_queued(rt));
  capsid_runtime_close(rt, NULL, NULL);

  /* The batch command over a long input, measured from outside. */
  fd = mkstemp(path);
  if (fd < 0) {
    rmdir(ws);
    return 1;
  }
  f = fdopen(fd, "w");
  for (i = 0; i < queued + running; i++)
    fprintf(f, "{\"id\":%ld,\"argv\":[\"sleep\",\"0.05\"],\"cwd\":\"%s\"}\n",
            i, ws);
  fclose(f);
  snprintf(jobs_arg, sizeof(jobs_arg), "%ld", running);
  bargv[0] = (char*)bench_self();
  bargv[1] = "batch";
  bargv[2] = "-j";
  bargv[3] = jobs_arg;
  bargv[4] = path;
  bargv[5] = NULL;
  fflush(stdout); /* or the child would print our buffer again */
  pid = fork();
  if (pid == 0) {
    if (freopen("/dev/null", "w", stdout) == NULL)
      _exit(127);
    execv(bargv[0], bargv);
    _exit(127);
  }
  wait4(pid, &status, 0, &ru);
  unlink(path);
  rmdir(ws);
  bench_row(&o, "memory", "capsid batch: peak RSS over the whole input",
            (double)ru.ru_maxrss / 1024, "MiB", 0);
  bench_note("batch of %ld jobs at -j %ld; exit status %d", queued + running,
             running, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
