/* capsid bench serve: what a long-lived server saves an agent that runs
 * one command at a time. Per-command latency of /bin/true through
 * `capsid serve` (one connection, one job after another) in a small
 * workspace and in one of 300,000 files (after its first job), against
 * a `capsid run` process per command and against posix_spawn+waitpid in
 * this process; then jobs/s with 8 clients at once against 8 threads of
 * posix_spawn. All in the same run, rounds interleaved. */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char help[] =
    "Usage: capsid bench serve [-n N] [-j CLIENTS] [--mode MODE]\n"
    "\n"
    "Starts `capsid serve` on a private socket and measures, for /bin/true\n"
    "with the network off: the median latency of one job through the\n"
    "server (a client that waits for each result before sending the next)\n"
    "in a small workspace and in one of 300,000 files (3,000 with --quick)\n"
    "after its first job, of the same job through the C API in this\n"
    "process (what the server adds is the difference), of one `capsid run`\n"
    "process per command, and of posix_spawn+waitpid;\n"
    "then jobs/s with -j (default 8) clients at once against as many\n"
    "threads of posix_spawn. N (default 500) jobs per contender; `capsid\n"
    "run` gets N/5. --mode picks the jobs' mode (default: the server's\n"
    "auto: elevated where set up, else unprivileged).\n";

typedef struct conn_s {
  int fd;
  char buf[65536];
  size_t len;
} conn_t;

static const char* workspace;
static const char* mode_name = "auto";

/* The large workspace: files, in files/100 directories. */
#define BIG_FILES 300000L
#define BIG_FILES_QUICK 3000L


static int conn_open(conn_t* c, const char* path) {
  struct sockaddr_un sa;
  size_t n = strlen(path);

  /* A longer path would be cut short: another socket, or none. */
  if (n >= sizeof(sa.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n + 1);
  c->len = 0;
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -1;
  if (connect(c->fd, (struct sockaddr*)&sa, sizeof(sa)) != 0) {
    close(c->fd);
    return -1;
  }
  return 0;
}


/* Sends one run request and reads events until its exit. Returns 0 when
 * the job exited 0. */
static int conn_job_in(conn_t* c, const char* ws) {
  static const char exit_head[] = "{\"v\":1,\"event\":\"exit\"";
  char req[4600];
  char* nl;
  int n, ok = -1;
  ssize_t r;

  n = snprintf(req, sizeof(req),
               "{\"v\":1,\"type\":\"run\",\"job\":{\"argv\":[\"/bin/true\"],"
               "\"cwd\":\"%s\",\"network\":false,\"mode\":\"%s\"}}\n",
               ws, mode_name);
  if (write(c->fd, req, (size_t)n) != n)
    return -1;
  for (;;) {
    while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
      size_t line = (size_t)(nl - c->buf) + 1;
      int is_exit = strncmp(c->buf, exit_head, sizeof(exit_head) - 1) == 0;
      if (is_exit)
        ok = strstr(c->buf, "\"exit_code\":0,") != NULL &&
                     memmem(c->buf, line, "\"error\":null", 12) != NULL
                 ? 0
                 : -1;
      memmove(c->buf, c->buf + line, c->len - line);
      c->len -= line;
      if (is_exit)
        return ok;
    }
    if (c->len == sizeof(c->buf))
      c->len = 0; /* an event longer than the buffer: not ours to keep */
    r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (r <= 0)
      return -1;
    c->len += (size_t)r;
  }
}


static int conn_job(conn_t* c) {
  return conn_job_in(c, workspace);
}


static int run_served_in(const char* sock, const char* ws, long count,
                         double* samples) {
  conn_t c;
  long i;
  double t0;
  int failures = 0;

  if (conn_open(&c, sock) != 0)
    return (int)count;
  for (i = 0; i < count; i++) {
    t0 = bench_now();
    failures += conn_job_in(&c, ws) != 0;
    samples[i] = (bench_now() - t0) * 1e3;
  }
  close(c.fd);
  return failures;
}


static int run_served(const char* sock, long count, double* samples) {
  return run_served_in(sock, workspace, count, samples);
}


static void on_api_exit(capsid_job_t* job, capsid_result_t* r, void* data) {
  int* failed = data;

  (void)job;
  *failed = r->error.code != 0 || r->exit_code != 0;
}


/* The same job through the C API in this process, one after another: what
 * the library costs without the server around it. */
static int run_api(capsid_runtime_t* rt, capsid_mode_t mode, long count,
                   double* samples) {
  static const char* argv[] = {"/bin/true", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  int failures = 0, failed;
  long i;
  double t0;

  spec.argv = argv;
  spec.cwd = workspace;
  spec.network = 0;
  spec.mode = mode;
  for (i = 0; i < count; i++) {
    t0 = bench_now();
    failed = 1;
    if (capsid_job_start(rt, &spec, on_api_exit, &failed, NULL) == 0)
      capsid_runtime_run(rt);
    failures += failed;
    samples[i] = (bench_now() - t0) * 1e3;
  }
  return failures;
}


static void remove_tree(const char* dir) {
  char* argv[] = {"rm", "-rf", (char*)dir, NULL};

  bench_spawn_wait(argv, 0);
}


static int run_processes(char* const* argv, long count, double* samples) {
  long i;
  double t0;
  int failures = 0;

  for (i = 0; i < count; i++) {
    t0 = bench_now();
    failures += bench_spawn_wait(argv, 0) != 0;
    samples[i] = (bench_now() - t0) * 1e3;
  }
  return failures;
}


typedef struct worker_s {
  pthread_t t;
  const char* sock; /* NULL: posix_spawn */
  long count;
  int failures;
} worker_t;


static void* worker_main(void* arg) {
  static char* true_argv[] = {"/bin/true", NULL};
  worker_t* w = arg;
  conn_t* c = NULL;
  long i;

  if (w->sock != NULL) {
    c = malloc(sizeof(*c));
    if (c == NULL || conn_open(c, w->sock) != 0) {
      w->failures = (int)w->count;
      free(c);
      return NULL;
    }
  }
  for (i = 0; i < w->count; i++)
    w->failures += (c ? conn_job(c) : bench_spawn_wait(true_argv, 0)) != 0;
  if (c != NULL) {
    close(c->fd);
    free(c);
  }
  return NULL;
}


/* Jobs per second with `clients` at once, each running count/clients
 * jobs one after another. */
static double run_parallel(const char* sock, int clients, long count,
                           int* failures) {
  worker_t w[64];
  double t0;
  int i;

  t0 = bench_now();
  for (i = 0; i < clients; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].sock = sock;
    w[i].count = count / clients;
    pthread_create(&w[i].t, NULL, worker_main, &w[i]);
  }
  for (i = 0; i < clients; i++) {
    pthread_join(w[i].t, NULL);
    *failures += w[i].failures;
  }
  return (double)(count / clients * clients) / (bench_now() - t0);
}


static pid_t start_server(const char* sock) {
  char* argv[] = {(char*)bench_self(), "serve", "-q", "--socket",
                  (char*)sock, NULL};
  struct stat st;
  pid_t pid = fork();
  int i;

  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  for (i = 0; pid > 0 && i < 2000; i++) {
    if (stat(sock, &st) == 0)
      return pid;
    usleep(5000);
  }
  if (pid > 0)
    kill(pid, SIGKILL);
  return -1;
}


int bench_serve_main(int argc, char** argv) {
  static char* true_argv[] = {"/bin/true", NULL};
  char ws_template[] = "/tmp/capsid-bench-serve-XXXXXX";
  char big_template[] = "/tmp/capsid-bench-serve-big-XXXXXX";
  char sock[4200];
  char big[4200];
  const char* big_dir;
  bench_stats_t st_big, st_api;
  capsid_runtime_t* rt = NULL;
  double *s_big, *s_api, first_big = 0, t0;
  long big_files;
  char* run_argv[] = {(char*)bench_self(), "run", "--mode", NULL, "-C",
                      NULL, "--", "/bin/true", NULL};
  bench_opts_t o;
  bench_stats_t st_plain, st_served, st_run;
  double *s_plain, *s_served, *s_run, warm, jps_plain, jps_served;
  long n, n_run, per_round, round, rounds = 5;
  int clients, failures = 0, rc, status;
  pid_t server;

  rc = bench_parse("serve", help, argc, argv, &o);
  if (rc != 0)
    return rc < 0 ? 2 : 0;
  if (o.mode != CAPSID_MODE_AUTO)
    mode_name = capsid_mode_name(o.mode);
  n = o.n ? o.n : (o.quick ? 40 : 500);
  per_round = (n + rounds - 1) / rounds;
  n = per_round * rounds;
  n_run = n / 5 < rounds ? rounds : n / 5;
  clients = o.jobs > 0 ? (o.jobs > 64 ? 64 : o.jobs) : 8;
  workspace = mkdtemp(ws_template);
  if (workspace == NULL) {
    bench_note("cannot make a workspace under /tmp");
    return 1;
  }
  big_files = o.quick ? BIG_FILES_QUICK : BIG_FILES;
  big_dir = mkdtemp(big_template);
  snprintf(big, sizeof(big), "%s/ws", big_dir ? big_dir : "");
  t0 = bench_now();
  if (big_dir == NULL ||
      bench_make_tree(big, big_files, big_files / 100) != 0) {
    bench_note("cannot make a workspace of %ld files under /tmp", big_files);
    if (big_dir != NULL)
      remove_tree(big_dir);
    rmdir(workspace);
    return 1;
  }
  bench_note("made a workspace of %ld files in %.1f s", big_files,
             bench_now() - t0);
  snprintf(sock, sizeof(sock), "%s.sock", workspace);
  server = start_server(sock);
  if (server < 0) {
    bench_note("capsid serve did not start");
    rmdir(workspace);
    remove_tree(big_dir);
    return 1;
  }
  run_argv[3] = (char*)mode_name;
  run_argv[5] = (char*)workspace;
  s_plain = calloc((size_t)n, sizeof(double));
  s_served = calloc((size_t)n, sizeof(double));
  s_run = calloc((size_t)n_run, sizeof(double));
  s_big = calloc((size_t)n, sizeof(double));
  s_api = calloc((size_t)n, sizeof(double));
  if (capsid_runtime_new(NULL, &rt) != 0) {
    bench_note("cannot start a runtime in this process");
    failures++;
  } else {
    failures += run_api(rt, o.mode, 1, &warm);
  }
  /* First jobs: the server builds its seccomp filter, grants the
   * workspace in elevated mode, holds its network namespace. */
  failures += run_served(sock, 1, &warm);
  /* The large workspace's first job pays for what is kept warm after it
   * (elevated: the first ACL apply over the whole tree). */
  failures += run_served_in(sock, big, 1, &first_big);
  for (round = 0; round < rounds; round++) {
    run_processes(true_argv, per_round, s_plain + round * per_round);
    failures += run_served(sock, per_round, s_served + round * per_round);
    failures += run_served_in(sock, big, per_round,
                              s_big + round * per_round);
    if (rt != NULL)
      failures += run_api(rt, o.mode, per_round, s_api + round * per_round);
    failures += run_processes(run_argv, n_run / rounds,
                              s_run + round * (n_run / rounds));
  }
  jps_plain = run_parallel(NULL, clients, n, &status);
  jps_served = run_parallel(sock, clients, n, &failures);
  kill(server, SIGTERM);
  waitpid(server, &status, 0);

  bench_stats(s_plain, (size_t)n, &st_plain);
  bench_stats(s_served, (size_t)n, &st_served);
  bench_stats(s_run, (size_t)(n_run / rounds * rounds), &st_run);
  bench_stats(s_big, (size_t)n, &st_big);
  bench_stats(s_api, (size_t)n, &st_api);
  if (rt != NULL)
    capsid_runtime_close(rt, NULL, NULL);
  bench_header("serve", "per-command latency of /bin/true (median) and "
               "jobs/s with concurrent clients");
  bench_row(&o, "serve", "posix_spawn+waitpid (baseline)", st_plain.median,
            "ms", 1.0);
  bench_row(&o, "serve", "through capsid serve", st_served.median, "ms",
            st_served.median / st_plain.median);
  bench_row(&o, "serve", "C API in this process (no server)",
            st_api.median, "ms", st_api.median / st_plain.median);
  bench_row(&o, "serve", "the server's own: serve minus C API",
            st_served.median - st_api.median, "ms", 0);
  bench_row(&o, "serve", "through capsid serve, large workspace",
            st_big.median, "ms", st_big.median / st_plain.median);
  bench_row(&o, "serve", "large workspace minus small", st_big.median -
            st_served.median, "ms", 0);
  bench_row(&o, "serve", "capsid run per command", st_run.median, "ms",
            st_run.median / st_plain.median);
  bench_row(&o, "serve", "posix_spawn, threads (baseline)", jps_plain,
            "jobs/s", 1.0);
  bench_row(&o, "serve", "capsid serve, concurrent clients", jps_served,
            "jobs/s", jps_served / jps_plain);
  bench_note("mode %s, %ld jobs per contender (capsid run: %ld), %d "
             "clients; `capsid run` per command is %.1fx the server's "
             "latency",
             mode_name, n, n_run / rounds * rounds, clients,
             st_run.median / st_served.median);
  bench_note("large workspace: %ld files in %ld directories; its first job "
             "took %.1f ms", big_files, big_files / 100, first_big);
  if (failures > 0)
    bench_note("%d jobs failed", failures);
  free(s_plain);
  free(s_served);
  free(s_run);
  free(s_big);
  free(s_api);
  rmdir(workspace);
  remove_tree(big_dir);
  return failures > 0 ? 1 : 0;
}
