/* Worker metrics (see metrics.h). */
#include "metrics.h"

#include "redis-sync.h"
#include "redis-url.h"
#include "scale-net.h"

#include "capsid-common.h"

#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { O_OK, O_FAILED, O_SIGNAL, O_TIMEOUT, O_OOM, O_ERROR, O_COUNT };
static const char* const outcome_names[O_COUNT] = {
    "ok", "failed", "signal", "timeout", "oom", "error"};

/* Seconds; the last bucket is +Inf. */
static const double bounds[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800,
                                7200};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

typedef struct metrics_s {
  atomic_int on;
  atomic_llong outcome[O_COUNT];
  atomic_llong bucket[N_BOUNDS + 1];
  atomic_llong sum_ms;
  atomic_llong running;
  atomic_llong dead;
  atomic_llong rewritten;
  atomic_llong redis_down;
  int listen_fd;
  scale_redis_url_t url;
  char* stream;
  char* group;
  char* consumer;
  redisContext* c;
} metrics_t;

static metrics_t g;


void scale_metrics_job_started(void) {
  if (atomic_load(&g.on))
    atomic_fetch_add(&g.running, 1);
}


void scale_metrics_job_stopped(void) {
  if (atomic_load(&g.on))
    atomic_fetch_sub(&g.running, 1);
}


void scale_metrics_dead_letter(void) {
  if (atomic_load(&g.on))
    atomic_fetch_add(&g.dead, 1);
}


void scale_metrics_result_rewritten(void) {
  if (atomic_load(&g.on))
    atomic_fetch_add(&g.rewritten, 1);
}


void scale_metrics_redis_down(void) {
  if (atomic_load(&g.on))
    atomic_fetch_add(&g.redis_down, 1);
}


void scale_metrics_result(const capsid_result_t* r) {
  double s = r->wall_ms / 1000.0;
  size_t i;
  int o;

  if (!atomic_load(&g.on))
    return;
  if (r->error.code != 0)
    o = O_ERROR;
  else if (r->timed_out)
    o = O_TIMEOUT;
  else if (r->oom)
    o = O_OOM;
  else if (r->signal != 0)
    o = O_SIGNAL;
  else
    o = r->exit_code == 0 ? O_OK : O_FAILED;
  atomic_fetch_add(&g.outcome[o], 1);
  for (i = 0; i < N_BOUNDS && s > bounds[i]; i++)
    ;
  atomic_fetch_add(&g.bucket[i], 1);
  atomic_fetch_add(&g.sum_ms, (long long)r->wall_ms);
}


/* The queue's depth (entries not yet delivered to the group: its lag) and
 * pending count, from this thread's own connection; -1 when Redis does
 * not answer (the scrape says so with capsid_redis_up 0). */
static void queue_numbers(long long* lag, long long* pending,
                          long long* length) {
  const char* argv[3] = {"XINFO", "GROUPS", g.stream};
  char err[512];
  redisReply* r;
  size_t i, k;
  int transient;

  *lag = *pending = *length = -1;
  if (g.c == NULL)
    g.c = scale_redis_sync_connect(&g.url, 2000, err, sizeof(err), &transient);
  if (g.c == NULL)
    return;
  r = redisCommandArgv(g.c, 3, argv, NULL);
  if (r == NULL) {
    redisFree(g.c);
    g.c = NULL;
    return;
  }
  for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    const redisReply* e = r->element[i];
    int mine = 0;
    for (k = 0; e->type == REDIS_REPLY_ARRAY && k + 1 < e->elements; k += 2)
      if (strcmp(e->element[k]->str, "name") == 0 &&
          e->element[k + 1]->type == REDIS_REPLY_STRING)
        mine = strcmp(e->element[k + 1]->str, g.group) == 0;
    for (k = 0; mine && k + 1 < e->elements; k += 2) {
      if (e->element[k + 1]->type != REDIS_REPLY_INTEGER)
        continue;
      if (strcmp(e->element[k]->str, "pending") == 0)
        *pending = e->element[k + 1]->integer;
      else if (strcmp(e->element[k]->str, "lag") == 0)
        *lag = e->element[k + 1]->integer;
    }
  }
  freeReplyObject(r);
  argv[0] = "XLEN";
  argv[1] = g.stream;
  r = redisCommandArgv(g.c, 2, argv, NULL);
  if (r == NULL) {
    redisFree(g.c);
    g.c = NULL;
    return;
  }
  if (r->type == REDIS_REPLY_INTEGER)
    *length = r->integer;
  freeReplyObject(r);
}


static void gauge(capsid__buf_t* b, const char* name, const char* help,
                  long long v) {
  char line[512];

  snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n",
           name, help, name, name, v);
  capsid__buf_append(b, line, strlen(line));
}


static void counter(capsid__buf_t* b, const char* name, const char* help,
                    long long v) {
  char line[512];

  snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s counter\n%s %lld\n",
           name, help, name, name, v);
  capsid__buf_append(b, line, strlen(line));
}


static void render(capsid__buf_t* b) {
  char line[512];
  long long lag, pending, length, cum = 0;
  size_t i;

  static const char jobs_head[] =
      "# HELP capsid_jobs_total Results written by this worker, by "
      "outcome.\n# TYPE capsid_jobs_total counter\n";

  capsid__buf_append(b, jobs_head, sizeof(jobs_head) - 1);
  for (i = 0; i < O_COUNT; i++) {
    snprintf(line, sizeof(line), "capsid_jobs_total{outcome=\"%s\"} %lld\n",
             outcome_names[i], (long long)atomic_load(&g.outcome[i]));
    capsid__buf_append(b, line, strlen(line));
  }
  snprintf(line, sizeof(line), "# HELP capsid_job_duration_seconds Wall "
           "time of the jobs this worker ran.\n# TYPE "
           "capsid_job_duration_seconds histogram\n");
  capsid__buf_append(b, line, strlen(line));
  for (i = 0; i <= N_BOUNDS; i++) {
    cum += atomic_load(&g.bucket[i]);
    if (i < N_BOUNDS)
      snprintf(line, sizeof(line),
               "capsid_job_duration_seconds_bucket{le=\"%g\"} %lld\n",
               bounds[i], cum);
    else
      snprintf(line, sizeof(line),
               "capsid_job_duration_seconds_bucket{le=\"+Inf\"} %lld\n"
               "capsid_job_duration_seconds_sum %.3f\n"
               "capsid_job_duration_seconds_count %lld\n",
               cum, (double)atomic_load(&g.sum_ms) / 1000.0, cum);
    capsid__buf_append(b, line, strlen(line));
  }
  gauge(b, "capsid_jobs_running", "Jobs running on this worker now.",
        atomic_load(&g.running));
  counter(b, "capsid_dead_letters_total",
          "Jobs this worker moved to the dead-letter stream.",
          atomic_load(&g.dead));
  counter(b, "capsid_results_rewritten_total",
          "Results Redis confirmed and then no longer held at the job's "
          "XACK (a failover, a restart), written again.",
          atomic_load(&g.rewritten));
  counter(b, "capsid_redis_reconnects_total",
          "Redis connections of this worker that were lost and remade.",
          atomic_load(&g.redis_down));
  queue_numbers(&lag, &pending, &length);
  gauge(b, "capsid_redis_up", "1 when this scrape could read the queue.",
        length >= 0);
  if (length >= 0) {
    gauge(b, "capsid_queue_length", "Entries in the job stream.", length);
    gauge(b, "capsid_queue_depth", "Jobs not yet delivered to any worker "
          "(the group's lag).", lag);
    gauge(b, "capsid_queue_pending", "Jobs delivered and without a result "
          "yet, over all workers.", pending);
  }
}


static void serve(int fd) {
  static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0"
                           "\r\nConnection: close\r\n\r\n";
  char req[4096], head[256];
  capsid__buf_t b = {0};
  int n;

  if (scale_net_read_head(fd, req, sizeof(req), 5000) != 0)
    return;
  if (strncmp(req, "GET /metrics ", 13) != 0) {
    scale_net_send_all(fd, nf, sizeof(nf) - 1);
    return;
  }
  render(&b);
  n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
               "text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n", b.len);
  scale_net_send_all(fd, head, (size_t)n);
  scale_net_send_all(fd, b.data, b.len);
  capsid__buf_free(&b);
}


static void* serve_main(void* arg) {
  int fd;

  (void)arg;
  for (;;) {
    fd = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    serve(fd);
    close(fd);
  }
  return NULL;
}


int scale_metrics_start(const char* addr, const char* redis,
                        const char* stream, const char* group,
                        const char* consumer, char* err, size_t err_size) {
  char where[300];
  int fd;

  if (scale_redis_url_parse(redis, &g.url, err, err_size) != 0)
    return CAPSID_EINVAL;
  fd = scale_net_listen(addr, "--metrics", err, err_size);
  if (fd < 0) {
    scale_redis_url_free(&g.url);
    return fd;
  }
  g.listen_fd = fd;
  g.stream = capsid__strdup(stream);
  g.group = capsid__strdup(group != NULL ? group : "capsid");
  g.consumer = capsid__strdup(consumer != NULL ? consumer : "");
  if (g.stream == NULL || g.group == NULL || g.consumer == NULL) {
    snprintf(err, err_size, "--metrics: out of memory");
    return CAPSID_ENOMEM;
  }
  if (scale_thread_start(serve_main, NULL) != 0) {
    snprintf(err, err_size, "--metrics: cannot start a thread");
    return CAPSID_EIO;
  }
  atomic_store(&g.on, 1);
  if (scale_net_where(fd, where, sizeof(where)) == 0)
    fprintf(stderr, "capsid worker: metrics on http://%s/metrics\n", where);
  return 0;
}
