/* capsid batch: one JSON job per input line, one JSON result per output
 * line, in completion order. */
#include "cli.h"

#include "args.h"
#include "batch.h"
#include "cli-log.h"
#include "client.h"
#include "jobline.h"
#include "linereader.h"
#include "resultline.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

typedef struct batch_s {
  uv_loop_t loop; /* borrowed by the runtime, so a signal can close it */
  capsid_runtime_t* rt;
  cli_linereader_t* reader;
  cli_progress_t progress;
  uv_timer_t tick;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  unsigned jobs;
  unsigned max_queued;  /* stop pulling lines past this many queued jobs */
  long outstanding;     /* started, result not yet written */
  struct batch_job_s* started; /* every started job, for a stop signal */
  uint64_t grace_ms;
  int input_done;
  int interrupted;      /* the first stop signal: SIGINT or SIGTERM */
  int killed_all;       /* a second signal: no more grace */
  int failed_lines;     /* invalid lines and capsid errors */
  int write_failed;
  int closed;
  cli_batch_opts_t opt; /* the options of issue 18 */
  cli_joblog_t joblog;
  char halted[64];      /* the --halt that stopped the batch, or "" */
  cli_batch_counts_t counts;
} batch_t;

typedef struct batch_job_s {
  struct batch_job_s* prev; /* in batch_t.started until its result */
  struct batch_job_s* next;
  batch_t* batch;
  capsid_job_t* job;
  scale_jobline_t jl;
  unsigned attempt;     /* 1 for the first run */
  int spawned;          /* its process started (the stage hook said so) */
  int dropped;          /* --halt took it off before it started */
} batch_job_t;


static void started_add(batch_t* b, batch_job_t* bj) {
  bj->prev = NULL;
  bj->next = b->started;
  if (b->started != NULL)
    b->started->prev = bj;
  b->started = bj;
}


static void started_remove(batch_t* b, batch_job_t* bj) {
  if (bj->prev != NULL)
    bj->prev->next = bj->next;
  else
    b->started = bj->next;
  if (bj->next != NULL)
    bj->next->prev = bj->prev;
}


static void write_result(batch_t* b, json_t* id, long line,
                         const capsid_result_t* r, unsigned attempt) {
  json_t* extra = NULL;

  /* With --retries, which attempt this result is. */
  if (b->opt.retries > 1 && attempt > 0)
    extra = json_pack("{sI}", "attempt", (json_int_t)attempt);
  if (scale_result_write_ex(stdout, id, line, r, extra) != 0)
    b->write_failed = 1;
  json_decref(extra);
  cli_batch_count(&b->counts, r);
}


static void maybe_finish(batch_t* b) {
  if (b->closed || !b->input_done || b->outstanding > 0)
    return;
  b->closed = 1;
  uv_close((uv_handle_t*)&b->tick, NULL);
  uv_close((uv_handle_t*)&b->sigint, NULL);
  uv_close((uv_handle_t*)&b->sigterm, NULL);
  /* Closing the watchers gave the signals their default action back: a
   * late second ^C must not turn the exit status of a stopped batch,
   * whose results are all out, into death by SIGINT. */
  if (b->interrupted) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
  }
  cli_linereader_close(b->reader);
}


static void pull_lines(batch_t* b);
static void on_job_exit(capsid_job_t* job, capsid_result_t* result,
                        void* data);


/* "job \"a1\"" for the log, or "job of line 7" for a line without id. */
static const char* job_name(const batch_job_t* bj, char* buf, size_t size) {
  char key[480];

  if (bj->jl.id == NULL)
    snprintf(buf, size, "job of line %ld", bj->jl.line);
  else
    snprintf(buf, size, "job %s",
             cli_job_key(bj->jl.id, bj->jl.line, key, sizeof(key)));
  return buf;
}


/* The runtime's stages of each job: which jobs have started (for --halt
 * soon), and the log of --verbose / CAPSID_LOG. */
static void on_stage(const capsid__stage_event_t* ev, void* data) {
  batch_job_t* bj = ev->job_data;
  char who[512];

  (void)data;
  if (ev->stage == CAPSID__STAGE_SPAWN && ev->status == 0)
    bj->spawned = 1;
  if (capsid__log_enabled(CAPSID__LOG_INFO))
    cli_log_stage("capsid batch", job_name(bj, who, sizeof(who)), ev);
}


static void log_result(const batch_job_t* bj, const capsid_result_t* r) {
  char who[560], name[512];

  if (!capsid__log_enabled(CAPSID__LOG_INFO))
    return;
  job_name(bj, name, sizeof(name));
  if (bj->batch->opt.retries > 1)
    snprintf(who, sizeof(who), "%s, attempt %u of %u", name, bj->attempt,
             bj->batch->opt.retries);
  else
    snprintf(who, sizeof(who), "%s", name);
  cli_log_result("capsid batch", who, r);
}


/* --halt: the condition is met. now: the running jobs are stopped as a
 * SIGINT stops them; soon: they finish. Either way nothing new starts and
 * the jobs still waiting to start are dropped (they get no result, as in
 * parallel; --resume runs them). */
static void halt_batch(batch_t* b) {
  batch_job_t* bj;
  batch_job_t* next;
  int now = b->opt.halt.when == HALT_NOW;

  cli_halt_format(&b->opt.halt, b->halted, sizeof(b->halted));
  b->input_done = 1;
  fprintf(stderr, "capsid batch: --halt %s reached after %ld jobs: %s\n",
          b->halted, b->counts.jobs,
          now ? "stopping the running jobs"
              : "starting no more, waiting for the running ones");
  for (bj = b->started; bj != NULL; bj = next) {
    next = bj->next;
    bj->dropped = !bj->spawned;
    if (now || !bj->spawned)
      capsid_job_signal(bj->job, CAPSID_SIGTERM,
                        now && bj->spawned ? b->grace_ms : 0);
  }
}


/* After each result: a job that never ran counts as failed too. */
static void check_halt(batch_t* b) {
  if (b->halted[0] == '\0' && !b->interrupted &&
      cli_halt_reached(&b->opt.halt, b->counts.jobs, b->counts.ok,
                       b->counts.failed + b->counts.errors))
    halt_batch(b);
}


/* --retries: a failed job runs again, unless the batch is stopping. */
static int retry(batch_t* b, batch_job_t* bj, const capsid_result_t* r) {
  if (bj->attempt >= b->opt.retries || !cli_result_failed(r) ||
      r->interrupted || b->interrupted || b->halted[0] != '\0' ||
      r->error.code == CAPSID_ECANCELED)
    return 0;
  bj->attempt++;
  bj->spawned = 0;
  if (capsid_job_start(b->rt, &bj->jl.spec, on_job_exit, bj, &bj->job) != 0)
    return 0;
  b->counts.retried++;
  return 1;
}


static void on_job_exit(capsid_job_t* job, capsid_result_t* result,
                        void* data) {
  batch_job_t* bj = data;
  batch_t* b = bj->batch;

  (void)job;
  cli_note_mode(bj->jl.spec.mode, result);
  log_result(bj, result);
  if (retry(b, bj, result))
    return;
  if (bj->dropped && !bj->spawned) {
    /* As parallel, a job --halt kept from starting has no result (and
     * --resume runs it). */
    b->counts.not_started++;
    goto forget;
  }
  if (result->error.code != 0)
    b->failed_lines++;
  if (result->error.code != 0 || result->exit_code != 0)
    b->progress.failed++;
  write_result(b, bj->jl.id, bj->jl.line, result, bj->attempt);
  /* A job cut short did not finish: the log, as parallel's, lists only
   * what --resume need not run again. */
  if (!result->interrupted &&
      cli_joblog_write(&b->joblog, bj->jl.line, bj->jl.id, bj->jl.spec.argv,
                       bj->jl.spec.stdin_len, result) != 0)
    b->write_failed = 1;

forget:
  started_remove(b, bj);
  scale_jobline_free(&bj->jl);
  capsid__free(bj);
  b->outstanding--;
  b->progress.done++;
  cli_progress_in_flight(&b->progress, b->outstanding);
  cli_progress_draw(&b->progress, 0);
  check_halt(b);
  pull_lines(b);
  maybe_finish(b);
}


static void line_error(batch_t* b, scale_jobline_t* jl, long line,
                       capsid_error_t* err) {
  capsid_result_t r;

  scale_result_of_error(&r, err);
  write_result(b, jl ? jl->id : NULL, line, &r, 0);
  capsid_result_free(&r);
  b->failed_lines++;
  b->progress.failed++;
  b->progress.done++;
  check_halt(b);
}


/* --resume: a job an earlier run finished is not run again. */
static int skip_done(batch_t* b, batch_job_t* bj) {
  char key[512];

  if (b->opt.done.keys == NULL ||
      !cli_done_set_has(&b->opt.done,
                        cli_job_key(bj->jl.id, bj->jl.line, key,
                                    sizeof(key))))
    return 0;
  b->counts.skipped++;
  json_array_append_new(b->counts.skipped_ids,
                        bj->jl.id ? json_incref(bj->jl.id)
                                  : json_pack("{sI}", "line",
                                              (json_int_t)bj->jl.line));
  b->progress.done++;
  return 1;
}


static void start_line(batch_t* b, cli_line_t* line) {
  capsid_error_t err;
  batch_job_t* bj;
  char* merged = NULL;
  size_t merged_len = 0;
  int rc;

  memset(&err, 0, sizeof(err));
  if (cli_line_unreadable(line, &err)) {
    line_error(b, NULL, line->number, &err);
    return;
  }
  bj = capsid__calloc(1, sizeof(*bj));
  if (bj == NULL) {
    capsid__error_set(&err, CAPSID_ENOMEM, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      NULL);
    line_error(b, NULL, line->number, &err);
    return;
  }
  bj->batch = b;
  bj->attempt = 1;
  rc = cli_batch_apply_defaults(b->opt.defaults, line->text, line->len, &merged,
                                &merged_len);
  if (rc == 0)
    rc = scale_jobline_parse(merged ? merged : line->text,
                             merged ? merged_len : line->len, line->number,
                             &bj->jl, &err);
  capsid__free(merged);
  if (rc == 0 && skip_done(b, bj)) {
    scale_jobline_free(&bj->jl);
    capsid__free(bj);
    return;
  }
  if (rc == 0) /* before the job, or another, can write there */
    cli_warn_shared_tmp_parsed(&bj->jl.spec, &bj->jl.policy,
                               &bj->jl.policy_error);
  if (rc != 0) {
    if (err.code == 0)
      capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL, NULL);
    line_error(b, &bj->jl, line->number, &err);
    scale_jobline_free(&bj->jl);
    capsid__free(bj);
    return;
  }
  rc = scale_jobline_start(b->rt, &bj->jl, on_job_exit, bj, &bj->job);
  if (rc != 0) {
    capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      "cannot start the job: %s", capsid_strerror(rc));
    line_error(b, &bj->jl, line->number, &err);
    scale_jobline_free(&bj->jl);
    capsid__free(bj);
    return;
  }
  started_add(b, bj);
  b->outstanding++;
}


/* Takes lines while the runtime's queue has room. The queue bound keeps
 * memory flat however long the batch is. */
static void pull_lines(batch_t* b) {
  cli_line_t* line;
  int eof = 0;

  while (!b->input_done && !b->interrupted &&
         capsid_runtime_queued(b->rt) < b->max_queued) {
    line = cli_linereader_take(b->reader, &eof);
    if (line == NULL) {
      if (eof)
        b->input_done = 1;
      break;
    }
    start_line(b, line);
    capsid__free(line);
  }
  cli_progress_in_flight(&b->progress, b->outstanding);
}


static void on_lines(cli_linereader_t* r, void* data) {
  batch_t* b = data;

  (void)r;
  pull_lines(b);
  maybe_finish(b);
}


static void on_tick(uv_timer_t* t) {
  batch_t* b = t->data;

  cli_progress_draw(&b->progress, 0);
}


/* The first SIGINT or SIGTERM stops taking lines, drops the queued jobs
 * and sends the running ones SIGTERM with --grace to end before they are
 * killed; a second signal kills them at once. Every started job still
 * gets its result line (interrupted, and killed when it had to be). The
 * runtime stays open until then: results keep coming through it. */
static void on_signal(uv_signal_t* handle, int signum) {
  batch_t* b = handle->data;
  batch_job_t* bj;
  batch_job_t* next;

  if (cli_batch_signal(signum, b->grace_ms, &b->interrupted,
                       &b->killed_all) != 0)
    return;
  b->input_done = 1;
  /* A job whose result comes during the walk leaves the list: step
   * ahead first. */
  for (bj = b->started; bj != NULL; bj = next) {
    next = bj->next;
    capsid_job_signal(bj->job, CAPSID_SIGTERM,
                      b->killed_all ? 0 : b->grace_ms);
  }
  maybe_finish(b);
}


/* Counts the job lines of a regular file, for the progress bar's total. */
static long count_lines(int fd) {
  struct stat st;
  char buf[65536];
  long lines = 0;
  ssize_t n;
  int last = '\n';
  off_t size;

  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  size = lseek(fd, 0, SEEK_CUR);
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    ssize_t i;
    for (i = 0; i < n; i++)
      if (buf[i] == '\n')
        lines++;
    last = buf[n - 1];
  }
  if (last != '\n')
    lines++;
  lseek(fd, size, SEEK_SET);
  return lines;
}


int cli_cmd_batch(int argc, char** argv) {
  capsid_runtime_options_t opts;
  batch_t b;
  capsid__args_t a;
  uint64_t t0 = capsid__hrtime();
  const char* server;
  int fd = -1, progress = 0, rc, status;

  memset(&b, 0, sizeof(b));
  b.counts.skipped_ids = json_array();
  capsid__args_init(&a, "capsid batch", argc, argv);
  status = cli_batch_parse_options(&b.opt, &a);
  if (status >= 0)
    goto done;
  b.jobs = b.opt.jobs;
  b.grace_ms = b.opt.grace_ms;
  progress = b.opt.progress;
  status = 2;
  if ((fd = cli_input_open(&a)) < 0)
    goto done;
  server = b.opt.server ? b.opt.server : cli_client_env_addr();
  if (server != NULL) { /* thin client: the jobs run in `capsid serve` */
    status = cli_client_batch(server, fd, &b.opt);
    goto done;
  }
  if (b.opt.joblog != NULL &&
      cli_joblog_open(&b.joblog, b.opt.joblog, b.opt.done.keys != NULL) != 0)
    goto done;

  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  opts.max_concurrency = b.jobs;
  opts.loop = &b.loop;
  rc = uv_loop_init(&b.loop);
  if (rc == 0)
    rc = capsid_runtime_new(&opts, &b.rt);
  if (rc != 0) {
    fprintf(stderr, "capsid batch: cannot start: %s\n", capsid_strerror(rc));
    status = 1;
    goto done;
  }
  capsid__stage_hook_set(on_stage, &b);
  b.jobs = b.jobs ? b.jobs : uv_available_parallelism();
  b.max_queued = b.jobs * 4 < 1024 ? 1024 : b.jobs * 4;
  cli_progress_init(&b.progress, progress, progress ? count_lines(fd) : -1);
  b.progress.slots = (long)b.jobs;

  uv_timer_init(&b.loop, &b.tick);
  b.tick.data = &b;
  if (b.progress.enabled)
    uv_timer_start(&b.tick, on_tick, 200, 200);
  uv_signal_init(&b.loop, &b.sigint);
  uv_signal_init(&b.loop, &b.sigterm);
  b.sigint.data = b.sigterm.data = &b;
  uv_signal_start(&b.sigint, on_signal, SIGINT);
  uv_signal_start(&b.sigterm, on_signal, SIGTERM);
  /* Signal watchers must not keep the loop alive once the work is done. */
  uv_unref((uv_handle_t*)&b.sigint);
  uv_unref((uv_handle_t*)&b.sigterm);
  uv_unref((uv_handle_t*)&b.tick);

  cli_linereader_start(&b.loop, fd, 256, on_lines, &b, &b.reader);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  if (b.rt != NULL)
    capsid_runtime_close(b.rt, NULL, NULL);
  /* Let every closing handle finish before the loop goes. */
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
  capsid__stage_hook_set(NULL, NULL);
  cli_progress_end(&b.progress);
  cli_batch_report_skipped(&b.counts);
  if (cli_joblog_close(&b.joblog) != 0)
    b.write_failed = 1;
  if (cli_batch_summary(&b.counts, (double)(capsid__hrtime() - t0) / 1e6,
                        b.halted[0] ? b.halted : NULL, b.opt.summary) != 0)
    b.write_failed = 1;
  if (b.interrupted)
    status = 128 + b.interrupted; /* 130 for SIGINT, 143 for SIGTERM */
  else if (b.failed_lines > 0 || b.write_failed ||
           (b.halted[0] != '\0' && b.opt.halt.on == HALT_FAIL))
    status = 1;
  else
    status = 0;

done:
  if (fd > 0)
    close(fd);
  cli_joblog_close(&b.joblog);
  cli_batch_opts_free(&b.opt);
  json_decref(b.counts.skipped_ids);
  return status;
}
