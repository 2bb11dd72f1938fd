/* capsid batch: one JSON job per input line, one JSON result per output
 * line, in completion order. */
#include "cli.h"

#include "args.h"
#include "client.h"
#include "jobline.h"
#include "linereader.h"
#include "resultline.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

enum { OPT_JOBS = 1, OPT_PROGRESS, OPT_HELP, OPT_GRACE, OPT_SERVER };

static const capsid__option_t batch_options[] = {
    {'j', "jobs", 1, OPT_JOBS},
    {0, "progress", 0, OPT_PROGRESS},
    {0, "grace", 1, OPT_GRACE},
    {0, "server", 1, OPT_SERVER},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

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
} batch_t;

typedef struct batch_job_s {
  struct batch_job_s* prev; /* in batch_t.started until its result */
  struct batch_job_s* next;
  batch_t* batch;
  capsid_job_t* job;
  cli_jobline_t jl;
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
                         const capsid_result_t* r) {
  if (cli_result_write(stdout, id, line, r) != 0)
    b->write_failed = 1;
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
                        void* data) {
  batch_job_t* bj = data;
  batch_t* b = bj->batch;

  (void)job;
  if (result->error.code != 0)
    b->failed_lines++;
  if (result->error.code != 0 || result->exit_code != 0)
    b->progress.failed++;
  cli_note_mode(bj->jl.spec.mode, result);
  write_result(b, bj->jl.id, bj->jl.line, result);
  started_remove(b, bj);
  cli_jobline_free(&bj->jl);
  capsid__free(bj);
  b->outstanding--;
  b->progress.done++;
  cli_progress_in_flight(&b->progress, b->outstanding);
  cli_progress_draw(&b->progress, 0);
  pull_lines(b);
  maybe_finish(b);
}


static void line_error(batch_t* b, cli_jobline_t* jl, long line,
                       capsid_error_t* err) {
  capsid_result_t r;

  cli_result_of_error(&r, err);
  write_result(b, jl ? jl->id : NULL, line, &r);
  capsid_result_free(&r);
  b->failed_lines++;
  b->progress.failed++;
  b->progress.done++;
}


static void start_line(batch_t* b, cli_line_t* line) {
  capsid_error_t err;
  batch_job_t* bj;
  int rc;

  memset(&err, 0, sizeof(err));
  if (line->read_error != 0) {
    capsid__error_set(&err, CAPSID_EIO, CAPSID_STAGE_SPEC, line->read_error,
                      NULL, NULL, "reading the input failed at line %ld",
                      line->number);
    line_error(b, NULL, line->number, &err);
    return;
  }
  if (line->too_long) {
    capsid__error_set(&err, CAPSID_ETOOLONG, CAPSID_STAGE_SPEC, 0, NULL,
                      NULL, "line %ld is longer than %zu bytes and was "
                      "skipped",
                      line->number, CLI_MAX_LINE);
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
  rc = cli_jobline_parse(line->text, line->len, line->number, &bj->jl, &err);
  if (rc == 0) /* before the job, or another, can write there */
    cli_warn_shared_tmp(&bj->jl.spec);
  if (rc != 0) {
    line_error(b, &bj->jl, line->number, &err);
    cli_jobline_free(&bj->jl);
    capsid__free(bj);
    return;
  }
  rc = capsid_job_start(b->rt, &bj->jl.spec, on_job_exit, bj, &bj->job);
  if (rc != 0) {
    capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      "cannot start the job: %s", capsid_strerror(rc));
    line_error(b, &bj->jl, line->number, &err);
    cli_jobline_free(&bj->jl);
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

  if (b->interrupted && b->killed_all)
    return;
  if (b->interrupted)
    b->killed_all = 1;
  else
    b->interrupted = signum;
  b->input_done = 1;
  if (b->killed_all)
    fprintf(stderr, "\ncapsid batch: %s again; killing the running jobs\n",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
  else
    fprintf(stderr, "\ncapsid batch: %s; stopping: running jobs get "
            "SIGTERM and %llu ms to end (signal again to kill them now)\n",
            signum == SIGINT ? "SIGINT" : "SIGTERM",
            (unsigned long long)b->grace_ms);
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
  uint64_t n;
  const char* server = cli_client_env_addr();
  int opt, fd = 0, progress = 0, rc;

  memset(&b, 0, sizeof(b));
  b.jobs = 0;
  b.grace_ms = CLI_DEFAULT_GRACE_MS;
  capsid__args_init(&a, "capsid batch", argc, argv);
  while ((opt = capsid__args_next(&a, batch_options)) > 0) {
    switch (opt) {
    case OPT_JOBS:
      if (capsid_parse_size(a.value, &n) != 0 || n == 0 || n > 4096) {
        fprintf(stderr, "capsid batch: -j: \"%s\" is not a number of jobs "
                "from 1 to 4096\n", a.value);
        return 2;
      }
      b.jobs = (unsigned)n;
      break;
    case OPT_PROGRESS:
      progress = 1;
      break;
    case OPT_GRACE:
      if (cli_parse_grace("capsid batch", a.value, &b.grace_ms) != 0)
        return 2;
      break;
    case OPT_SERVER:
      server = a.value;
      break;
    case OPT_HELP:
      cli_help_batch();
      return 0;
    }
  }
  if (opt < 0)
    return 2;
  if ((fd = cli_input_open(&a)) < 0)
    return 2;
  if (server != NULL) /* thin client: the jobs run in `capsid serve` */
    return cli_client_batch(server, fd, b.jobs, b.grace_ms);

  memset(&opts, 0, sizeof(opts));
  opts.max_concurrency = b.jobs;
  opts.loop = &b.loop;
  rc = uv_loop_init(&b.loop);
  if (rc == 0)
    rc = capsid_runtime_new(&opts, &b.rt);
  if (rc != 0) {
    fprintf(stderr, "capsid batch: cannot start: %s\n", capsid_strerror(rc));
    return 1;
  }
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
  cli_progress_end(&b.progress);
  if (fd != 0)
    close(fd);
  if (b.interrupted)
    return 128 + b.interrupted; /* 130 for SIGINT, 143 for SIGTERM */
  return b.failed_lines > 0 || b.write_failed ? 1 : 0;
}
