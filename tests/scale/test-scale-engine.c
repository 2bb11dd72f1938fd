/* The scale-out engines as a library of their own: this suite links
 * capsid_scale and capsid_static only (no cli/ source), checks the
 * engines' configuration contracts, and drives submit -> worker -> collect
 * against a redis-server of its own on a free loopback port. */
#include "test-common.h"

#include "collect.h"
#include "submit.h"
#include "worker.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char err[600];


static void worker_base(scale_worker_config_t* cfg) {
  scale_worker_config_init(cfg);
  cfg->redis = "redis://127.0.0.1:6379";
  cfg->stream = "jobs";
}


/* Each case: one field wrong, the check says which option. */
static void expect_worker_refused(const scale_worker_config_t* cfg,
                                  const char* says) {
  err[0] = '\0';
  assert_int_equal(scale_worker_check(cfg, err, sizeof(err)), CAPSID_EINVAL);
  if (strstr(err, says) == NULL)
    fail_msg("expected \"%s\" in \"%s\"", says, err);
}


#define NAME(field, value, says) \
  {offsetof(scale_worker_config_t, field), value, says}

/* One string of the configuration wrong at a time. */
static const struct {
  size_t offset;
  const char* value;
  const char* says;
} names[] = {
    NAME(stream, NULL, "--stream NAME are required"),
    NAME(stream, "", "--stream: the name is empty"),
    NAME(group, "a b", "--group: \"a b\" holds a space"),
    NAME(consumer, "w\n1", "--consumer:"),
    NAME(redis, "http://127.0.0.1", "--redis: "),
    NAME(results, "jobs", "must differ from the job stream \"jobs\""),
    NAME(dead_letter, "jobs", "must differ from the job stream"),
};

/* One bound broken at a time, in the order test_worker_check breaks
 * them. */
static const char* const bounds[] = {"-j: ", "--claim-idle: ",
                                     "--drain-timeout: ",
                                     "--max-deliveries: "};


static void test_worker_check(void** state) {
  scale_worker_config_t cfg;
  size_t i;

  (void)state;
  worker_base(&cfg);
  assert_int_equal(scale_worker_check(&cfg, err, sizeof(err)), 0);
  assert_string_equal(cfg.group, "capsid");
  assert_int_equal(cfg.claim_idle_ms, 30000);
  assert_int_equal(cfg.max_deliveries, 5);
  assert_int_equal(cfg.drain_ms, 30000);
  cfg.results = "out";
  cfg.dead_letter = "dead";
  cfg.consumer = "w1";
  cfg.jobs = SCALE_WORKER_MAX_JOBS;
  assert_int_equal(scale_worker_check(&cfg, err, sizeof(err)), 0);

  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    worker_base(&cfg);
    *(const char**)((char*)&cfg + names[i].offset) = names[i].value;
    expect_worker_refused(&cfg, names[i].says);
  }
  for (i = 0; i < 4; i++) {
    worker_base(&cfg);
    if (i == 0)
      cfg.jobs = SCALE_WORKER_MAX_JOBS + 1;
    else if (i == 1)
      cfg.claim_idle_ms = 0;
    else if (i == 2)
      cfg.drain_ms = SCALE_WORKER_MAX_DURATION_MS + 1;
    else
      cfg.max_deliveries = 0;
    expect_worker_refused(&cfg, bounds[i]);
  }
  /* run refuses what check refuses, before touching anything. */
  worker_base(&cfg);
  cfg.stream = "";
  assert_int_equal(scale_worker_run(&cfg), 2);
}


static void ignore_result(const char* text, size_t len, void* data) {
  (void)text;
  (void)len;
  (void)data;
}


static void test_submit_collect_check(void** state) {
  scale_submit_config_t sub = {"http://127.0.0.1", "jobs", 0, NULL, NULL, NULL};
  scale_collect_config_t col;
  scale_collect_stats_t stats;
  scale_submit_t* s = (scale_submit_t*)&s;

  (void)state;
  assert_int_equal(scale_submit_new(&sub, &s, err, sizeof(err)),
                   CAPSID_EINVAL);
  assert_null(s);
  assert_non_null(strstr(err, "--redis: "));
  sub.redis = "redis://127.0.0.1";
  sub.stream = "";
  assert_int_equal(scale_submit_new(&sub, &s, err, sizeof(err)),
                   CAPSID_EINVAL);

  memset(&col, 0, sizeof(col));
  col.redis = "redis://127.0.0.1";
  col.results = "r";
  col.count = 1;
  assert_int_equal(scale_collect_run(&col, &stats, err, sizeof(err)),
                   CAPSID_EINVAL); /* nowhere to hand results to */
  col.on_result = ignore_result;
  col.count = 0;
  assert_int_equal(scale_collect_run(&col, &stats, err, sizeof(err)),
                   CAPSID_EINVAL);
  assert_non_null(strstr(err, "--count: "));
  col.count = 1;
  col.from = "";
  assert_int_equal(scale_collect_run(&col, &stats, err, sizeof(err)),
                   CAPSID_EINVAL);
  assert_non_null(strstr(err, "--from: "));
  col.from = NULL;
  col.redis = "redis://h:0";
  assert_int_equal(scale_collect_run(&col, &stats, err, sizeof(err)),
                   CAPSID_EINVAL);
  assert_non_null(strstr(err, "--redis: "));
}


/* ---- end to end, against a real redis-server ---------------------- */

typedef struct redis_s {
  pid_t pid;
  int port;
  char url[64];
} redis_t;


static int free_port(void) {
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port = -1;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr*)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}


static redisContext* redis_connect(const redis_t* r) {
  struct timeval tv = {5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", r->port, tv);

  if (c != NULL && c->err != 0) {
    redisFree(c);
    return NULL;
  }
  return c;
}


/* Starts redis-server in dir; returns 0, or -1 when it is not installed. */
static int redis_start(redis_t* r, const char* dir) {
  char port[16];
  int i;

  if (test_system("command -v redis-server >/dev/null") != 0)
    return -1;
  r->port = free_port();
  assert_true(r->port > 0);
  snprintf(port, sizeof(port), "%d", r->port);
  snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d", r->port);
  r->pid = fork();
  assert_true(r->pid >= 0);
  if (r->pid == 0) {
    execlp("redis-server", "redis-server", "--port", port, "--bind",
           "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
           "--logfile", "redis.log", (char*)NULL);
    _exit(127);
  }
  /* Up when it answers PING; a few hundred tries of 50 ms, generous for a
   * loaded machine. */
  for (i = 0; i < 600; i++) {
    redisContext* c = redis_connect(r);
    if (c != NULL) {
      redisReply* rep = redisCommand(c, "PING");
      int up = rep != NULL && rep->type == REDIS_REPLY_STATUS;
      if (rep != NULL)
        freeReplyObject(rep);
      redisFree(c);
      if (up)
        return 0;
    }
    usleep(50000);
  }
  fail_msg("redis-server did not answer PING; see %s/redis.log", dir);
  return -1;
}


static void redis_stop(redis_t* r) {
  int status;

  kill(r->pid, SIGTERM);
  waitpid(r->pid, &status, 0);
}


typedef struct collected_s {
  json_t* by_id; /* id (or "line N" when none) -> result */
  int batches;
} collected_t;


static void keep_result(const char* text, size_t len, void* data) {
  collected_t* c = data;
  json_t* r = json_loadb(text, len, 0, NULL);
  char key[64];

  assert_non_null(r);
  if (json_is_string(json_object_get(r, "id")))
    snprintf(key, sizeof(key), "%s",
             json_string_value(json_object_get(r, "id")));
  else
    snprintf(key, sizeof(key), "line %lld",
             (long long)json_integer_value(json_object_get(r, "line")));
  json_object_set_new(c->by_id, key, r);
}


static void count_batch(void* data) {
  ((collected_t*)data)->batches++;
}


static void submit_lines(const char* url, const char* stream,
                         const char* const* lines, int n) {
  scale_submit_config_t cfg = {url, stream, 0, NULL, NULL, NULL};
  scale_submit_t* s;
  int i;

  assert_int_equal(scale_submit_new(&cfg, &s, err, sizeof(err)), 0);
  assert_int_equal(scale_submit_start(s), 0);
  for (i = 0; i < n; i++)
    assert_int_equal(scale_submit_line(s, i + 1, lines[i],
                                       strlen(lines[i])), 0);
  assert_int_equal(scale_submit_finish(s), 0);
  assert_int_equal(scale_submit_added(s), n);
  scale_submit_free(s);
}


static void test_engines_end_to_end(void** state) {
  char* tmp = test_mkdtemp();
  char ws[512], state_dir[512], line_a[700], line_b[700];
  const char* lines[3];
  scale_worker_config_t wcfg;
  scale_collect_config_t ccfg;
  scale_collect_stats_t stats;
  collected_t got = {json_object(), 0};
  redisContext* c;
  redisReply* rep;
  json_t *a, *b, *bad;
  redis_t redis;
  pid_t worker;
  int status;

  (void)state;
  if (redis_start(&redis, tmp) != 0) {
    test_rmtree(tmp);
    free(tmp);
    if (test_may_skip("skipped: redis-server is not installed"))
      skip();
    fail();
  }
  /* A state dir of our own: nothing of this test touches the machine's. */
  snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
  snprintf(ws, sizeof(ws), "%s/ws", tmp);
  assert_int_equal(mkdir(state_dir, 0700), 0);
  assert_int_equal(mkdir(ws, 0755), 0);
  setenv("CAPSID_STATE_DIR", state_dir, 1);

  snprintf(line_a, sizeof(line_a),
           "{\"id\":\"a\",\"argv\":[\"echo\",\"hi\"],\"cwd\":\"%s\"}", ws);
  snprintf(line_b, sizeof(line_b),
           "{\"id\":\"b\",\"argv\":[\"sh\",\"-c\",\"exit 3\"],"
           "\"cwd\":\"%s\"}", ws);
  lines[0] = line_a;
  lines[1] = line_b;
  lines[2] = "{\"id\":"; /* the worker answers it with an error result */
  submit_lines(redis.url, "e2e", lines, 3);

  worker = fork();
  assert_true(worker >= 0);
  if (worker == 0) {
    worker_base(&wcfg);
    wcfg.redis = redis.url;
    wcfg.stream = "e2e";
    wcfg.consumer = "t0";
    wcfg.jobs = 2;
    _exit(scale_worker_run(&wcfg));
  }

  memset(&ccfg, 0, sizeof(ccfg));
  ccfg.redis = redis.url;
  ccfg.results = "e2e-results";
  ccfg.count = 3;
  ccfg.timeout_ms = 300000;
  ccfg.on_result = keep_result;
  ccfg.on_batch = count_batch;
  ccfg.data = &got;
  assert_int_equal(scale_collect_run(&ccfg, &stats, err, sizeof(err)), 0);
  assert_int_equal(stats.results, 3);
  assert_int_equal(stats.duplicates, 0);
  assert_int_equal(stats.foreign, 0);
  assert_true(got.batches >= 1);

  /* The worker stops on SIGTERM with nothing held: exit 0. */
  assert_int_equal(kill(worker, SIGTERM), 0);
  assert_int_equal(waitpid(worker, &status, 0), worker);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  a = json_object_get(got.by_id, "a");
  b = json_object_get(got.by_id, "b");
  bad = json_object_get(got.by_id, "line 3");
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(bad);
  assert_int_equal(json_integer_value(json_object_get(a, "exit_code")), 0);
  assert_string_equal(json_string_value(json_object_get(a, "stdout")),
                      "hi\n");
  assert_true(json_is_null(json_object_get(a, "error")));
  assert_string_equal(json_string_value(json_object_get(a, "worker")), "t0");
  assert_int_equal(json_integer_value(json_object_get(b, "exit_code")), 3);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(bad, "error"),
                                        "code")),
      "CAPSID_EJSON");

  c = redis_connect(&redis);
  assert_non_null(c);
  /* Every job was acknowledged once its result was written. */
  rep = redisCommand(c, "XPENDING e2e capsid");
  assert_non_null(rep);
  assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
  assert_int_equal(rep->element[0]->integer, 0);
  freeReplyObject(rep);

  /* An entry that is not a result is skipped and counted; with nothing
   * more to come the timeout ends the collection. */
  rep = redisCommand(c, "XADD e2e-results * foo bar");
  assert_non_null(rep);
  assert_int_equal(rep->type, REDIS_REPLY_STRING);
  freeReplyObject(rep);
  ccfg.count = 4;
  ccfg.timeout_ms = 1500;
  assert_int_equal(scale_collect_run(&ccfg, &stats, err, sizeof(err)),
                   CAPSID_ETIMEDOUT);
  assert_int_equal(stats.results, 3);
  assert_int_equal(stats.foreign, 1);
  assert_non_null(strstr(err, "timed out with 3 of 4 results"));

  /* A stream key of the wrong type: refused for good at the start, so
   * no input is read, and the submitter says it failed. */
  rep = redisCommand(c, "SET wrongtype x");
  assert_non_null(rep);
  freeReplyObject(rep);
  redisFree(c);
  {
    scale_submit_config_t cfg = {redis.url, "wrongtype", 0, NULL, NULL,
                                 NULL};
    scale_submit_t* s;
    assert_int_equal(scale_submit_new(&cfg, &s, err, sizeof(err)), 0);
    assert_int_equal(scale_submit_start(s), -1);
    assert_int_equal(scale_submit_line(s, 1, line_a, strlen(line_a)), -1);
    assert_int_equal(scale_submit_finish(s), 1);
    assert_int_equal(scale_submit_added(s), 0);
    scale_submit_free(s);
  }

  json_decref(got.by_id);
  redis_stop(&redis);
  unsetenv("CAPSID_STATE_DIR");
  test_rmtree(tmp);
  free(tmp);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worker_check),
      cmocka_unit_test(test_submit_collect_check),
      cmocka_unit_test(test_engines_end_to_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
