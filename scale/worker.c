/* The worker engine's loop: reading new entries, the tick that drives
 * claims, heartbeats and retries, and shutdown (drain, kill, hand back).
 * See worker-state.h for the life of a job and docs/scale-out.md for the
 * guarantees. */
#include "worker.h"

#include "metrics.h"
#include "redis-url.h"
#include "worker-cancel.h"
#include "worker-claim.h"
#include "worker-entry.h"
#include "worker-output.h"
#include "worker-retention.h"

#include "log.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long one XREADGROUP waits for new entries (at most; less when the
 * command timeout is short, which it must stay above). Also bounds how
 * long a stopping worker waits for its last read to come back. */
#define READ_BLOCK_MS 2000u
#define TICK_MS 100
/* After the drain deadline: how long handing back and writing may take. */
#define GIVE_UP_MS 5000


static void read_more(worker_t* w);
static void on_drain(uv_timer_t* t);
static void pump(worker_t* w);


/* worker_fatal, for the files below (worker-state.h). */
static void fatal(worker_t* w, const char* what) {
  w->exit_code = 1;
  if (w->fatal || w->closing)
    return;
  w->fatal = 1;
  fprintf(stderr, "capsid worker: %s: %s; retrying cannot help: stopping\n",
          w->consumer, what);
  if (!w->stopping) {
    w->stopping = 1;
    uv_timer_start(&w->drain, on_drain, w->drain_ms, 0);
  }
  pump(w);
}


/* An error reply on the reading connection: wait and retry, or stop. */
static void read_failed(worker_t* w, const char* what, const char* error) {
  if (scale_redis_reply_transient(error))
    w->read_retry_at =
        worker_now_ms() +
        scale_redis_backoff_failed(&w->read_backoff, "capsid worker", what);
  else
    fatal(w, what);
}


static void on_group(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;

  (void)ac;
  w->read_inflight = 0;
  if (r == NULL)
    return; /* on_ready of the next connection tries again */
  if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
    char what[512];
    snprintf(what, sizeof(what), "XGROUP CREATE \"%s\" \"%s\" failed: %s",
             w->stream, w->group, r->str);
    read_failed(w, what, r->str); /* the tick retries */
    return;
  }
  scale_redis_backoff_ok(&w->read_backoff, "capsid worker",
                         "redis answers again");
  /* Made again although it existed: Redis lost its data. Say so loudly;
   * "connected again" alone hid 72 lost jobs of 120. */
  if (r->type != REDIS_REPLY_ERROR && w->group_seen)
    fprintf(stderr, "capsid worker: %s: DATA LOSS: the consumer group "
            "\"%s\" of stream \"%s\" was gone and has been made again: "
            "Redis lost its data (restarted without persistence?) or the "
            "stream was deleted; jobs queued before, their pending list "
            "and results are gone: resubmit them\n", w->consumer, w->group,
            w->stream);
  w->group_seen = 1;
  w->group_ready = 1;
  read_more(w);
}


/* The group starts at the beginning of the stream ("0"), so jobs
 * submitted before the first worker came up are run too. MKSTREAM lets
 * workers start before anything was submitted. */
static void create_group(worker_t* w) {
  const char* argv[6];

  argv[0] = "XGROUP";
  argv[1] = "CREATE";
  argv[2] = w->stream;
  argv[3] = w->group;
  argv[4] = "0";
  argv[5] = "MKSTREAM";
  if (scale_redis_conn_send(w->rconn, on_group, w, 6, argv, NULL) == 0)
    w->read_inflight = 1;
}


/* [[stream, [[id, fields], ...]]] or nil after BLOCK ms. */
static void on_read(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;
  const redisReply* entries;
  size_t i;

  (void)ac;
  w->read_inflight = 0;
  if (r == NULL) {
    /* Connection lost (or dropped for an entry too large to hold): what
     * the read delivered is ours in Redis but not here; fetch it back. */
    if (w->orphans_since_ms == 0)
      w->orphans_since_ms = w->read_sent_ms;
    return; /* on_ready resumes */
  }
  if (r->type == REDIS_REPLY_ERROR) {
    if (strncmp(r->str, "NOGROUP", 7) == 0) {
      /* The stream or the group was deleted (or Redis lost its data):
       * make them again, as at start. */
      w->group_ready = 0;
      create_group(w);
    } else {
      char what[512];
      snprintf(what, sizeof(what), "XREADGROUP on \"%s\" failed: %s",
               w->stream, r->str);
      read_failed(w, what, r->str);
    }
    return;
  }
  scale_redis_backoff_ok(&w->read_backoff, "capsid worker",
                         "redis answers again");
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
      r->element[0]->type == REDIS_REPLY_ARRAY &&
      r->element[0]->elements == 2) {
    entries = r->element[0]->element[1];
    capsid__log_stage("XREADGROUP (entries read)", w->log_ns, 0);
    for (i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements;
         i++) {
      worker_entry_t e;
      if (worker_entry_parse(entries->element[i], &e) == 0)
        worker_entry_take(w, &e, 1);
    }
  }
  pump(w);
}


static void read_more(worker_t* w) {
  const char* argv[11];
  char count[32], block[32];
  uint64_t block_ms = w->command_timeout_ms / 2;
  unsigned free_slots = worker_free_slots(w);

  /* Not before the cancel set is known, so nothing named there runs. */
  if (w->stopping || w->closing || w->read_inflight || !w->group_ready ||
      !w->cancel_known ||
      free_slots == 0 || !scale_redis_conn_is_ready(w->rconn) ||
      worker_now_ms() < w->read_retry_at)
    return;
  snprintf(count, sizeof(count), "%u", free_slots);
  if (block_ms > READ_BLOCK_MS)
    block_ms = READ_BLOCK_MS;
  /* BLOCK 0 would wait for ever. */
  snprintf(block, sizeof(block), "%llu",
           (unsigned long long)(block_ms ? block_ms : 1));
  argv[0] = "XREADGROUP";
  argv[1] = "GROUP";
  argv[2] = w->group;
  argv[3] = w->consumer;
  argv[4] = "COUNT";
  argv[5] = count;
  argv[6] = "BLOCK";
  argv[7] = block;
  argv[8] = "STREAMS";
  argv[9] = w->stream;
  /* Only entries never delivered; claims bring back the others. */
  argv[10] = ">";
  if (scale_redis_conn_send(w->rconn, on_read, w, 11, argv, NULL) == 0) {
    w->read_inflight = 1;
    w->read_sent_ms = worker_now_ms();
  }
  w->log_ns = capsid__hrtime();
}


static void on_conn_closed(void* data) {
  worker_t* w = data;
  w->conns_open--;
}


static void finish(worker_t* w) {
  if (w->closing)
    return;
  w->closing = 1;
  uv_close((uv_handle_t*)&w->tick, NULL);
  uv_close((uv_handle_t*)&w->drain, NULL);
  uv_close((uv_handle_t*)&w->sigterm, NULL);
  uv_close((uv_handle_t*)&w->sigint, NULL);
  /* Everything owed was written when we get here normally; after the
   * give-up deadline nothing more is waited for. */
  scale_redis_conn_close(w->rconn, 0, on_conn_closed, w);
  scale_redis_conn_close(w->wconn, w->held_count == 0, on_conn_closed, w);
  capsid_runtime_close(w->rt, NULL, NULL);
  w->rt = NULL;
}


/* worker_pump, for the files below (worker-state.h). */
static void pump(worker_t* w) {
  if (w->closing)
    return;
  read_more(w);
  if (w->stopping && w->held_count == 0 && !w->read_inflight &&
      !w->claim_inflight && !w->retain_inflight && !w->cancel_inflight &&
      !w->orphans_inflight) {
    fprintf(stderr, "capsid worker: %s: stopped; %ld results written\n",
            w->consumer, w->results_written);
    finish(w);
  }
}


static void on_ready(scale_redis_conn_t* c, void* data) {
  worker_t* w = data;

  capsid__log_stage(c == w->rconn ? "redis connect (reads)"
                                  : "redis connect (writes)", w->log_ns, 0);
  if (c == w->rconn) {
    w->group_ready = 0;
    create_group(w);
  } else {
    /* Back after an outage, every job pending in the group looks idle
     * for as long as Redis was away, also those of workers that are
     * alive and still running them. Their owners show them alive again
     * (the heartbeat below, sent as soon as each owner reconnects, at
     * most one backoff step after Redis is back); until that step and a
     * whole --claim-idle have passed, so has every live owner's
     * heartbeat, no claim pass runs here. */
    if (w->wconn_seen)
      w->claim_fence_ms = worker_now_ms() + CLI_REDIS_BACKOFF_MAX_MS +
                          w->claim_idle_ms;
    w->wconn_seen = 1;
    worker_cancel_poll(w);
    worker_output_flush(w);
    worker_heartbeat(w);
    worker_claim_pass(w);
  }
}


static void on_down(scale_redis_conn_t* c, void* data, const char* why) {
  worker_t* w = data;

  (void)why;
  scale_metrics_redis_down();
  if (c == w->rconn)
    w->group_ready = 0;
}


static void on_fatal(scale_redis_conn_t* c, void* data, const char* why) {
  worker_t* w = data;

  (void)c;
  w->group_ready = 0;
  fatal(w, why);
}


static void on_tick(uv_timer_t* t) {
  worker_t* w = t->data;
  uint64_t now = worker_now_ms();
  uint64_t claim_every = w->claim_idle_ms / 4;

  if (claim_every < 100)
    claim_every = 100;
  if (claim_every > 5000)
    claim_every = 5000;
  /* A scan not yet at its end goes on at once. */
  if (now - w->last_claim_ms >= claim_every ||
      strcmp(w->claim_cursor, "0-0") != 0)
    worker_claim_pass(w);
  if (now - w->last_beat_ms >= w->claim_idle_ms / 3)
    worker_heartbeat(w);
  if (!w->group_ready && scale_redis_conn_is_ready(w->rconn) &&
      !w->read_inflight && !w->stopping && now >= w->read_retry_at)
    create_group(w);
  worker_claim_orphans(w);
  worker_entry_retry_due(w);
  worker_retention_pass(w);
  worker_cancel_poll(w);
  worker_output_flush(w);
  pump(w);
}


static void on_give_up(uv_timer_t* t) {
  worker_t* w = t->data;

  fprintf(stderr, "capsid worker: %s: %u jobs could not be written or "
          "handed back in time; they stay pending and another worker runs "
          "them after --claim-idle\n", w->consumer, w->held_count);
  w->exit_code = 1;
  finish(w);
}


/* Past the drain deadline (or on a second signal): kill what still runs;
 * the exit callbacks hand those jobs back. */
static void kill_now(worker_t* w) {
  worker_job_t* j;

  if (w->killing)
    return;
  w->killing = 1;
  if (w->running > 0)
    fprintf(stderr, "capsid worker: %s: killing %u jobs and handing them "
            "back\n", w->consumer, w->running);
  for (j = w->held.next; j != &w->held; j = j->next)
    if (j->state == WJ_RUNNING && j->job != NULL && !j->kill_sent) {
      j->kill_sent = 1;
      capsid_job_kill(j->job);
    }
  uv_timer_start(&w->drain, on_give_up, GIVE_UP_MS, 0);
  pump(w);
}


static void on_drain(uv_timer_t* t) {
  kill_now(t->data);
}


static void on_signal(uv_signal_t* handle, int signum) {
  worker_t* w = handle->data;

  if (w->closing)
    return;
  if (w->stopping) {
    kill_now(w);
    return;
  }
  w->stopping = 1;
  fprintf(stderr, "capsid worker: %s: %s: no new jobs; %u running may "
          "finish within %llu ms\n", w->consumer, strsignal(signum),
          w->running, (unsigned long long)w->drain_ms);
  worker_entry_retry_due(w); /* hands back the jobs waiting to retry */
  uv_timer_start(&w->drain, on_drain, w->drain_ms, 0);
  pump(w);
}


void scale_worker_config_init(scale_worker_config_t* cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->group = "capsid";
  cfg->claim_idle_ms = 30000;
  cfg->max_deliveries = 5;
  cfg->drain_ms = 30000;
  cfg->command_timeout_ms = 15000;
  cfg->max_result_bytes = SCALE_WORKER_DEFAULT_RESULT_BYTES;
  cfg->retry_backoff_ms = 1000;
  cfg->results_ttl_ms = 7u * 24u * 3600u * 1000u;
}


/* A stream, group or consumer name goes into commands as one argument and
 * into messages in quotes: no spaces, no control characters. */
static int check_name(const char* opt, const char* v, char* err,
                      size_t err_size) {
  size_t i;

  if (v[0] == '\0') {
    snprintf(err, err_size, "%s: the name is empty", opt);
    return CAPSID_EINVAL;
  }
  for (i = 0; v[i] != '\0'; i++)
    if ((unsigned char)v[i] < 0x20 || v[i] == ' ') {
      snprintf(err, err_size, "%s: \"%s\" holds a space or a control "
               "character", opt, v);
      return CAPSID_EINVAL;
    }
  return 0;
}


static int check_duration(const char* opt, uint64_t ms, char* err,
                          size_t err_size) {
  if (ms == 0 || ms > SCALE_WORKER_MAX_DURATION_MS) {
    snprintf(err, err_size, "%s: %llu ms is not a duration from 1ms to 24h",
             opt, (unsigned long long)ms);
    return CAPSID_EINVAL;
  }
  return 0;
}


int scale_worker_check(const scale_worker_config_t* cfg, char* err,
                       size_t err_size) {
  scale_redis_url_t url;
  char url_err[512];
  const char* group = cfg->group ? cfg->group : "capsid";

  if (cfg->redis == NULL || cfg->stream == NULL) {
    snprintf(err, err_size, "--redis URL and --stream NAME are required");
    return CAPSID_EINVAL;
  }
  if (cfg->jobs > SCALE_WORKER_MAX_JOBS) {
    snprintf(err, err_size, "-j: %u is not a number of jobs from 1 to %u",
             cfg->jobs, SCALE_WORKER_MAX_JOBS);
    return CAPSID_EINVAL;
  }
  if (cfg->max_deliveries < 1 ||
      cfg->max_deliveries > SCALE_WORKER_MAX_DELIVERIES) {
    snprintf(err, err_size, "--max-deliveries: %ld is not a number from 1 "
             "to %ld", cfg->max_deliveries, SCALE_WORKER_MAX_DELIVERIES);
    return CAPSID_EINVAL;
  }
  if (cfg->max_result_bytes < SCALE_WORKER_MIN_RESULT_BYTES ||
      cfg->max_result_bytes > SCALE_WORKER_MAX_RESULT_BYTES) {
    snprintf(err, err_size, "--max-result-bytes: %llu is not a size from "
             "64k to 256m", (unsigned long long)cfg->max_result_bytes);
    return CAPSID_EINVAL;
  }
  if (cfg->retries > SCALE_WORKER_MAX_RETRIES) {
    snprintf(err, err_size, "--retries: %u is not a number from 0 to %u",
             cfg->retries, SCALE_WORKER_MAX_RETRIES);
    return CAPSID_EINVAL;
  }
  if (cfg->command_timeout_ms < 100) {
    snprintf(err, err_size, "--command-timeout: %llu ms is less than "
             "100ms", (unsigned long long)cfg->command_timeout_ms);
    return CAPSID_EINVAL;
  }
  if (check_duration("--claim-idle", cfg->claim_idle_ms, err, err_size) ||
      check_duration("--command-timeout", cfg->command_timeout_ms, err,
                     err_size) ||
      check_duration("--retry-backoff", cfg->retry_backoff_ms, err,
                     err_size) ||
      check_duration("--drain-timeout", cfg->drain_ms, err, err_size) ||
      check_name("--stream", cfg->stream, err, err_size) ||
      check_name("--group", group, err, err_size) ||
      (cfg->results &&
       check_name("--results", cfg->results, err, err_size)) ||
      (cfg->dead_letter &&
       check_name("--dead-letter", cfg->dead_letter, err, err_size)) ||
      (cfg->consumer &&
       check_name("--consumer", cfg->consumer, err, err_size)))
    return CAPSID_EINVAL;
  if (scale_redis_url_parse(cfg->redis, &url, url_err, sizeof(url_err)) != 0) {
    snprintf(err, err_size, "--redis: %s", url_err);
    return CAPSID_EINVAL;
  }
  scale_redis_url_free(&url);
  /* The defaults ("STREAM-results", "STREAM-dead") never equal STREAM. */
  if ((cfg->results && strcmp(cfg->results, cfg->stream) == 0) ||
      (cfg->dead_letter && strcmp(cfg->dead_letter, cfg->stream) == 0)) {
    snprintf(err, err_size, "the results and dead-letter streams must "
             "differ from the job stream \"%s\"", cfg->stream);
    return CAPSID_EINVAL;
  }
  return 0;
}


/* The worker's names and bounds from cfg (checked). */
static int worker_init(worker_t* w, const scale_worker_config_t* cfg) {
  char host[256];

  memset(w, 0, sizeof(*w));
  w->log_ns = capsid__hrtime();
  w->stream = cfg->stream;
  w->group = cfg->group ? cfg->group : "capsid";
  w->jobs = cfg->jobs;
  w->claim_idle_ms = cfg->claim_idle_ms;
  w->max_deliveries = cfg->max_deliveries;
  w->drain_ms = cfg->drain_ms;
  w->command_timeout_ms = cfg->command_timeout_ms;
  w->max_result_bytes = cfg->max_result_bytes;
  w->retries = cfg->retries;
  w->retry_backoff_ms = cfg->retry_backoff_ms;
  w->results_ttl_ms = cfg->results_ttl_ms;
  w->pump_hook = pump;
  w->fatal_hook = fatal;
  w->unwritable_hook = worker_entry_unwritable;
  if (cfg->consumer == NULL) {
    if (gethostname(host, sizeof(host)) != 0)
      snprintf(host, sizeof(host), "worker");
    host[sizeof(host) - 1] = '\0';
    w->consumer = capsid__sprintf("%s-%ld", host, (long)getpid());
  } else {
    w->consumer = capsid__strdup(cfg->consumer);
  }
  w->results = cfg->results ? capsid__strdup(cfg->results)
                            : capsid__sprintf("%s-results", w->stream);
  w->dead = cfg->dead_letter ? capsid__strdup(cfg->dead_letter)
                             : capsid__sprintf("%s-dead", w->stream);
  w->cancel_key = capsid__sprintf("%s-cancel", w->stream);
  if (w->consumer == NULL || w->results == NULL || w->dead == NULL ||
      w->cancel_key == NULL)
    return CAPSID_ENOMEM;
  snprintf(w->claim_cursor, sizeof(w->claim_cursor), "0-0");
  w->held.next = w->held.prev = &w->held;
  return 0;
}


static void worker_free(worker_t* w) {
  capsid__free(w->consumer);
  capsid__free(w->results);
  capsid__free(w->dead);
  worker_cancel_free(w);
}


int scale_worker_run(const scale_worker_config_t* cfg) {
  capsid_runtime_options_t opts;
  scale_redis_conn_cbs_t cbs;
  scale_redis_url_t url;
  worker_t w;
  char err[600];
  int rc;

  if (scale_worker_check(cfg, err, sizeof(err)) != 0) {
    fprintf(stderr, "capsid worker: %s\n", err);
    return 2;
  }
  if (worker_init(&w, cfg) != 0 ||
      scale_redis_url_parse(cfg->redis, &url, err, sizeof(err)) != 0) {
    fprintf(stderr, "capsid worker: out of memory\n");
    worker_free(&w);
    return 1;
  }
  if (cfg->metrics != NULL &&
      (rc = scale_metrics_start(cfg->metrics, cfg->redis, w.stream, w.group,
                                w.consumer, err, sizeof(err))) != 0) {
    fprintf(stderr, "capsid worker: %s\n", err);
    scale_redis_url_free(&url);
    worker_free(&w);
    return rc == CAPSID_EINVAL ? 2 : 1;
  }

  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  opts.max_concurrency = w.jobs;
  opts.loop = &w.loop;
  rc = uv_loop_init(&w.loop);
  if (rc == 0)
    rc = capsid_runtime_new(&opts, &w.rt);
  if (rc != 0) {
    fprintf(stderr, "capsid worker: cannot start: %s\n", capsid_strerror(rc));
    scale_redis_url_free(&url);
    worker_free(&w);
    return 1;
  }
  w.jobs = w.jobs ? w.jobs : uv_available_parallelism();

  uv_timer_init(&w.loop, &w.tick);
  uv_timer_init(&w.loop, &w.drain);
  w.tick.data = w.drain.data = &w;
  uv_timer_start(&w.tick, on_tick, TICK_MS, TICK_MS);
  uv_signal_init(&w.loop, &w.sigterm);
  uv_signal_init(&w.loop, &w.sigint);
  w.sigterm.data = w.sigint.data = &w;
  uv_signal_start(&w.sigterm, on_signal, SIGTERM);
  uv_signal_start(&w.sigint, on_signal, SIGINT);

  memset(&cbs, 0, sizeof(cbs));
  cbs.on_ready = on_ready;
  cbs.on_down = on_down;
  cbs.on_fatal = on_fatal;
  cbs.data = &w;
  rc = scale_redis_conn_new(&w.loop, &url, "capsid worker", &cbs, &w.rconn);
  if (rc == 0)
    rc = scale_redis_conn_new(&w.loop, &url, "capsid worker", &cbs, &w.wconn);
  scale_redis_url_free(&url);
  if (rc != 0) {
    fprintf(stderr, "capsid worker: out of memory\n");
    return 1;
  }
  scale_redis_conn_set_deadline(w.rconn, (unsigned)w.command_timeout_ms);
  scale_redis_conn_set_deadline(w.wconn, (unsigned)w.command_timeout_ms);
  /* Each entry of a read at depth 3: [[stream, [[id, fields], ...]]]. A
   * larger one drops the read; worker_claim_orphans then fetches it
   * back measured, and it is dead-lettered unread. */
  scale_redis_conn_limit_replies(w.rconn, WORKER_MAX_ENTRY + 4096, 3);
  w.conns_open = 2;
  fprintf(stderr, "capsid worker: %s: taking jobs from \"%s\" (group "
          "\"%s\"), %u at a time; results to \"%s\"\n", w.consumer,
          w.stream, w.group, w.jobs, w.results);

  uv_run(&w.loop, UV_RUN_DEFAULT);
  /* Whatever is still held after a give-up stays pending in Redis. */
  while (w.held.next != &w.held)
    worker_job_free(w.held.next);
  uv_run(&w.loop, UV_RUN_DEFAULT);
  uv_loop_close(&w.loop);
  worker_free(&w);
  return w.exit_code;
}
