/* `capsid batch --server ADDR`: each job line goes to a `capsid serve` as a
 * run request; each result line comes back as the server wrote it and is
 * printed as a local batch prints it, in completion order. Lines that
 * cannot be jobs get their error result here, like a local batch. */
#include "cli.h"

#include "batch.h"
#include "client.h"
#include "client-pipe.h"
#include "jobline.h"
#include "linereader.h"
#include "resultline.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct batch_client_s {
  uv_loop_t loop;
  cli_client_t c;
  cli_linereader_t* reader;
  const char* addr;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  unsigned max_outstanding;
  long outstanding;   /* sent, result not yet printed */
  capsid__buf_t jobs; /* the server's numbers of accepted jobs (long long) */
  uint64_t grace_ms;
  const cli_batch_opts_t* opt;
  cli_batch_counts_t counts;
  int input_done;
  int interrupted;
  int killed_all;
  int failed_lines;
  int write_failed;
  int lost;
  int closed;
} batch_client_t;


static void write_line(batch_client_t* b, const char* text, size_t len) {
  if (fwrite(text, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
      fflush(stdout) != 0)
    b->write_failed = 1;
}


static void line_error(batch_client_t* b, json_t* id, long line,
                       capsid_error_t* err) {
  capsid_result_t r;

  scale_result_of_error(&r, err);
  if (scale_result_write(stdout, id, line, &r) != 0)
    b->write_failed = 1;
  cli_batch_count(&b->counts, &r);
  capsid_result_free(&r);
  b->failed_lines++;
}


static void maybe_finish(batch_client_t* b) {
  if (b->closed || (!b->lost && (!b->input_done || b->outstanding > 0)))
    return;
  b->closed = 1;
  uv_close((uv_handle_t*)&b->sigint, NULL);
  uv_close((uv_handle_t*)&b->sigterm, NULL);
  if (b->interrupted) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
  }
  cli_linereader_close(b->reader);
  cli_client_close(&b->c);
}


/* One line: an error result here, or a run request to the server. */
static void send_line(batch_client_t* b, cli_line_t* line) {
  capsid_error_t err;
  scale_jobline_t jl;
  char* with_defaults = NULL;
  json_t* obj;
  const char* text;
  size_t len, with_len = 0;
  int rc;

  memset(&err, 0, sizeof(err));
  if (cli_line_unreadable(line, &err)) {
    line_error(b, NULL, line->number, &err);
    return;
  }
  /* The batch's own options (-C, -p, -t...) as a local batch applies
   * them: defaults the line does not set. */
  text = line->text;
  len = line->len;
  if (cli_batch_apply_defaults(b->opt->defaults, line->text, line->len,
                               &with_defaults, &with_len) != 0) {
    capsid__error_set(&err, CAPSID_ENOMEM, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      NULL);
    line_error(b, NULL, line->number, &err);
    return;
  }
  if (with_defaults != NULL) {
    text = with_defaults;
    len = with_len;
  }
  rc = scale_jobline_parse(text, len, line->number, &jl, &err);
  /* The policy goes as the line wrote it; the parsed one stays here. */
  obj = rc == 0 ? json_loadb(text, len, 0, NULL) : NULL;
  capsid__free(with_defaults);
  if (rc != 0) {
    line_error(b, jl.id, line->number, &err);
    scale_jobline_free(&jl);
    return;
  }
  cli_warn_shared_tmp_parsed(&jl.spec, &jl.policy, &jl.policy_error);
  if (cli_client_send(&b->c, cli_client_run_request(
                                 &jl.spec, jl.id,
                                 json_object_get(obj, "policy"),
                                 line->number, 0)) == 0)
    b->outstanding++;
  else
    b->lost = 1; /* the connection's end says why */
  json_decref(obj);
  scale_jobline_free(&jl);
}


static void pull_lines(batch_client_t* b) {
  cli_line_t* line;
  int eof = 0;

  while (!b->input_done && !b->interrupted && !b->lost &&
         b->outstanding < (long)b->max_outstanding) {
    line = cli_linereader_take(b->reader, &eof);
    if (line == NULL) {
      if (eof)
        b->input_done = 1;
      break;
    }
    send_line(b, line);
    capsid__free(line);
  }
}


static void on_lines(cli_linereader_t* r, void* data) {
  batch_client_t* b = data;

  (void)r;
  pull_lines(b);
  maybe_finish(b);
}


static void job_done(batch_client_t* b, long long n) {
  long long* ids = (long long*)b->jobs.data;
  size_t i, count = b->jobs.len / sizeof(long long);

  for (i = 0; i < count; i++)
    if (ids[i] == n) {
      ids[i] = ids[count - 1];
      b->jobs.len -= sizeof(long long);
      break;
    }
  b->outstanding--;
}


static void on_event(cli_client_t* c, json_t* ev, const char* text,
                     size_t len) {
  batch_client_t* b = c->data;
  const char* name;
  const char* raw;
  size_t n;
  json_t* res;
  long long job;

  if (ev == NULL) {
    /* The end we asked for, after every result, is not news (nor a
     * connect cut short because the input was empty). */
    if (!b->closed || b->lost) {
      fprintf(stderr, "capsid batch: %s the server at %s%s%s\n",
              c->connected ? "lost the connection to" : "cannot reach",
              b->addr, c->err ? ": " : "", c->err ? uv_strerror(c->err) : "");
      b->lost = 1;
      maybe_finish(b);
    }
    return;
  }
  name = json_string_value(json_object_get(ev, "event"));
  job = json_integer_value(json_object_get(ev, "job"));
  if (name == NULL)
    return;
  if (strcmp(name, "accepted") == 0) {
    capsid__buf_append(&b->jobs, &job, sizeof(job));
  } else if (strcmp(name, "exit") == 0) {
    if (cli_client_exit_result(text, len, &raw, &n) == 0) {
      capsid_result_t r;
      write_line(b, raw, n);
      res = json_loadb(raw, n, JSON_ALLOW_NUL, NULL);
      if (res == NULL || !json_is_null(json_object_get(res, "error")))
        b->failed_lines++;
      cli_client_result_of(res, &r);
      cli_batch_count(&b->counts, &r);
      capsid_result_free(&r);
      json_decref(res);
    } else {
      b->failed_lines++;
    }
    job_done(b, job);
    pull_lines(b);
    maybe_finish(b);
  } else if (strcmp(name, "error") == 0 &&
             !json_is_string(json_object_get(ev, "tag"))) {
    /* A run request refused before it became a job (a cancel, tagged,
     * may come after its job ended: nothing to count). */
    fprintf(stderr, "capsid batch: the server refused a request: %s\n",
            json_string_value(json_object_get(ev, "message")));
    b->failed_lines++;
    b->outstanding--;
    pull_lines(b);
    maybe_finish(b);
  }
}


/* As a local batch: the first signal stops taking lines and asks the
 * running jobs to stop with the grace; a second kills them. */
static void on_signal(uv_signal_t* h, int signum) {
  batch_client_t* b = h->data;
  long long* ids = (long long*)b->jobs.data;
  size_t i, count = b->jobs.len / sizeof(long long);

  if (cli_batch_signal(signum, b->grace_ms, &b->interrupted,
                       &b->killed_all) != 0)
    return;
  b->input_done = 1;
  for (i = 0; i < count; i++) {
    json_t* req = json_object();
    json_object_set_new(req, "type", json_string("cancel"));
    json_object_set_new(req, "tag", json_string("cancel"));
    json_object_set_new(req, "job", json_integer(ids[i]));
    json_object_set_new(req, "signal",
                        json_string(b->killed_all ? "SIGKILL" : "SIGTERM"));
    json_object_set_new(req, "grace_ms", json_integer((json_int_t)b->grace_ms));
    cli_client_send(&b->c, req);
  }
  maybe_finish(b);
}


/* What the thin client does not do yet: said, not ignored. */
static const char* unsupported(const cli_batch_opts_t* o) {
  if (o->joblog != NULL)
    return "--joblog";
  if (o->done.keys != NULL)
    return "--resume";
  if (o->retries > 1)
    return "--retries";
  if (o->halt.when != HALT_NEVER)
    return "--halt";
  return NULL;
}


int cli_client_batch(const char* addr, int fd, const cli_batch_opts_t* opt) {
  uint64_t t0 = capsid__hrtime();
  const char* no = unsupported(opt);
  batch_client_t b;
  int status;

  if (no != NULL) {
    fprintf(stderr, "capsid batch: %s does not work through a server yet "
            "(--server/CAPSID_SERVER)\n", no);
    return 2;
  }
  memset(&b, 0, sizeof(b));
  b.addr = addr;
  b.opt = opt;
  b.grace_ms = opt->grace_ms;
  b.counts.skipped_ids = json_array();
  /* -j means here what it means locally: at most that many of this
   * batch's jobs run at once (the server may run other clients' jobs
   * beside them). */
  b.max_outstanding = opt->jobs ? opt->jobs : uv_available_parallelism();
  if (uv_loop_init(&b.loop) != 0)
    return 1;
  if (cli_client_connect(&b.c, &b.loop, addr, on_event, &b) != 0) {
    fprintf(stderr, "capsid batch: --server: \"%s\" is not a server "
            "address (%s)\n", addr, cli_client_addr_form);
    uv_loop_close(&b.loop);
    return 2;
  }
  uv_signal_init(&b.loop, &b.sigint);
  uv_signal_init(&b.loop, &b.sigterm);
  b.sigint.data = b.sigterm.data = &b;
  uv_signal_start(&b.sigint, on_signal, SIGINT);
  uv_signal_start(&b.sigterm, on_signal, SIGTERM);
  uv_unref((uv_handle_t*)&b.sigint);
  uv_unref((uv_handle_t*)&b.sigterm);
  cli_linereader_start(&b.loop, fd, 256, on_lines, &b, &b.reader);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
  capsid__buf_free(&b.jobs);
  capsid__buf_free(&b.c.in);
  if (cli_batch_summary(&b.counts, (double)(capsid__hrtime() - t0) / 1e6,
                        NULL, opt->summary) != 0)
    b.write_failed = 1;
  json_decref(b.counts.skipped_ids);
  if (b.interrupted)
    status = 128 + b.interrupted;
  else
    status = b.failed_lines > 0 || b.write_failed || b.lost ? 1 : 0;
  return status;
}
