/* capsid bench capture: 8 jobs each writing 100 MB to stdout at once,
 * captured with a 1 MB cap, against a minimal epoll reader of the same
 * children that reads and discards. The children are identical, so the
 * difference is the capture path. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static const char help[] =
    "Usage: capsid bench capture [-n MB] [-j J]\n"
    "\n"
    "J (default 8) concurrent jobs each write MB megabytes (default 100) of\n"
    "zeros to stdout; capsid captures them with a 1 MB cap. The baseline\n"
    "reads the same children with a minimal epoll loop (64 KiB reads,\n"
    "default pipe size). Reports MB/s and capsid's share of the baseline.\n";

typedef struct {
  int done;
  int failed;
  uint64_t bytes;
} cap_run_t;


static void on_exit_cb(capsid_job_t* job, capsid_result_t* r, void* data) {
  cap_run_t* c = data;

  (void)job;
  c->done++;
  c->bytes += r->out.total;
  if (r->error.code != 0 || r->exit_code != 0)
    c->failed++;
}


static double run_capsid(const bench_opts_t* o, const char* ws, int jobs,
                         const char* count, uint64_t* bytes) {
  const char* argv[] = {"head", "-c", count, "/dev/zero", NULL};
  capsid_runtime_options_t ro;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  cap_run_t c;
  double t0;
  int i;

  memset(&c, 0, sizeof(c));
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = (unsigned)jobs;
  if (capsid_runtime_new(&ro, &rt) != 0)
    return -1;
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = ws;
  spec.mode = o->mode;
  spec.output_limit = 1 << 20;
  t0 = bench_now();
  for (i = 0; i < jobs; i++)
    capsid_job_start(rt, &spec, on_exit_cb, &c, NULL);
  capsid_runtime_run(rt);
  t0 = bench_now() - t0;
  capsid_runtime_close(rt, NULL, NULL);
  *bytes = c.bytes;
  return c.failed ? -1 : t0;
}


static double run_epoll(int jobs, const char* count, uint64_t* bytes) {
  char* argv[] = {"head", "-c", (char*)count, "/dev/zero", NULL};
  posix_spawn_file_actions_t fa;
  struct epoll_event ev, events[64];
  pid_t pids[256];
  static char buf[65536];
  int ep, open_fds = 0, i, n, fds[2], status;
  double t0 = bench_now();
  ssize_t r;

  *bytes = 0;
  ep = epoll_create1(EPOLL_CLOEXEC);
  for (i = 0; i < jobs; i++) {
    if (pipe2(fds, O_CLOEXEC) != 0)
      return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawnp(&pids[i], "head", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    ev.events = EPOLLIN;
    ev.data.fd = fds[0];
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
    open_fds++;
  }
  while (open_fds > 0) {
    n = epoll_wait(ep, events, 64, -1);
    for (i = 0; i < n; i++) {
      for (;;) {
        r = read(events[i].data.fd, buf, sizeof(buf));
        if (r > 0) {
          *bytes += (uint64_t)r;
          continue;
        }
        if (r == 0) {
          epoll_ctl(ep, EPOLL_CTL_DEL, events[i].data.fd, NULL);
          close(events[i].data.fd);
          open_fds--;
        }
        break;
      }
    }
  }
  for (i = 0; i < jobs; i++)
    waitpid(pids[i], &status, 0);
  close(ep);
  return bench_now() - t0;
}


int bench_capture_main(int argc, char** argv) {
  bench_opts_t o;
  char ws[] = "/tmp/capsid-bench-capture-XXXXXX";
  char count[32];
  uint64_t b_caps = 0, b_base = 0;
  double t_caps = 1e30, t_base = 1e30, t, mbps_caps, mbps_base;
  long mb;
  int jobs, rounds, r, rc;

  rc = bench_parse("capture", help, argc, argv, &o);
  if (rc != 0)
    return rc < 0 ? 2 : 0;
  mb = o.n ? o.n : (o.quick ? 4 : 100);
  jobs = o.jobs ? o.jobs : 8;
  if (jobs > 256)
    jobs = 256;
  rounds = o.quick ? 1 : 3;
  snprintf(count, sizeof(count), "%ld", mb * 1000000L);
  /* A workspace of its own: /tmp itself is everyone's (root capsid
   * refuses it). */
  if (mkdtemp(ws) == NULL)
    return 1;
  for (r = 0; r < rounds; r++) {
    t = run_epoll(jobs, count, &b_base);
    if (t >= 0 && t < t_base)
      t_base = t;
    t = t < 0 ? t : run_capsid(&o, ws, jobs, count, &b_caps);
    if (t < 0) {
      bench_note("capsid jobs failed");
      rmdir(ws);
      return 1;
    }
    if (t < t_caps)
      t_caps = t;
  }
  rmdir(ws);
  if (b_caps != b_base || b_caps != (uint64_t)jobs * (uint64_t)mb * 1000000u) {
    bench_note("byte counts differ: capsid %llu, baseline %llu",
               (unsigned long long)b_caps, (unsigned long long)b_base);
    return 1;
  }
  mbps_base = (double)b_base / 1e6 / t_base;
  mbps_caps = (double)b_caps / 1e6 / t_caps;
  bench_header("capture", "throughput of concurrent writers, best of "
               "rounds (ratio: share of the baseline)");
  bench_row(&o, "capture", "minimal epoll reader (baseline)", mbps_base,
            "MB/s", 1.0);
  bench_row(&o, "capture", "capsid, 1 MB cap", mbps_caps, "MB/s",
            mbps_caps / mbps_base);
  bench_note("%d writers x %ld MB; every byte counted by both", jobs, mb);
  return 0;
}
