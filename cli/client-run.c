/* `capsid run --server ADDR`: the parsed job goes to a `capsid serve`; its
 * output streams back and is passed through, or its result printed with
 * --json, exactly as a local run prints them, with the same exit status.
 * Signals become cancel requests with the same grace. */
#include "cli.h"

#include "client.h"
#include "client-pipe.h"
#include "passthru.h"
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct run_client_s {
  uv_loop_t loop;
  cli_client_t c;
  const char* addr;
  const capsid_job_spec_t* spec;
  cli_passthru_t* pass;
  int json;
  uint64_t grace_ms;
  long long job;     /* the server's number, once accepted */
  int signals;
  int status;
  int done;
  uv_signal_t sig[3];
} run_client_t;


static void finish(run_client_t* rc, int status) {
  int i;

  if (rc->done)
    return;
  rc->done = 1;
  rc->status = status;
  for (i = 0; i < 3; i++)
    uv_close((uv_handle_t*)&rc->sig[i], NULL);
  if (rc->signals > 0) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
  }
  cli_client_close(&rc->c);
}


static void on_output(run_client_t* rc, json_t* ev) {
  json_t* stream = json_object_get(ev, "stream");
  json_t* data = json_object_get(ev, "data");
  json_t* b64 = json_object_get(ev, "data_b64");
  int s = json_is_string(stream) &&
                  strcmp(json_string_value(stream), "stderr") == 0
              ? CAPSID_STDERR
              : CAPSID_STDOUT;
  capsid__buf_t b = {0};

  if (json_is_string(data)) {
    cli_passthru_write(rc->pass, s, json_string_value(data),
                       json_string_length(data));
  } else if (json_is_string(b64) &&
             serve_b64_decode(json_string_value(b64), &b) == 0) {
    cli_passthru_write(rc->pass, s, b.data, b.len);
  }
  capsid__buf_free(&b);
}


/* What a local run prints after its job, from the result object. */
static void on_exit_event(run_client_t* rc, const char* text, size_t len) {
  const char* raw;
  size_t n;
  json_t* obj;
  capsid_result_t r;

  if (cli_client_exit_result(text, len, &raw, &n) != 0 ||
      (obj = json_loadb(raw, n, JSON_ALLOW_NUL, NULL)) == NULL) {
    fprintf(stderr, "capsid run: the server sent a result that cannot be "
            "read\n");
    finish(rc, CLI_EXIT_CAPSID);
    return;
  }
  cli_client_result_of(obj, &r);
  json_decref(obj);
  cli_note_mode(rc->spec->mode, &r);
  if (rc->json) {
    fwrite(raw, 1, n, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  } else if (r.error.code != 0) {
    fprintf(stderr, "capsid: %s\n", r.error.message);
  } else if (r.timed_out) {
    fprintf(stderr, "capsid: timed out after %llu ms; the job's processes "
            "were killed\n", (unsigned long long)rc->spec->timeout_ms);
  } else if (r.oom) {
    fprintf(stderr, "capsid: the job went over its memory limit (%llu "
            "bytes) and was killed\n",
            (unsigned long long)rc->spec->memory_limit);
  } else if (r.interrupted && rc->signals == 0) {
    /* Not this command's signal: the server's own stop reached the job,
     * which a local run cannot meet; without this line only the exit
     * status (143) would tell. */
    fprintf(stderr, "capsid: the server at %s is stopping: it signalled "
            "the job to end\n", rc->addr);
  }
  cli_passthru_report(rc->pass);
  finish(rc, cli_exit_status(&r));
  capsid_result_free(&r);
}


static void on_event(cli_client_t* c, json_t* ev, const char* text,
                     size_t len) {
  run_client_t* rc = c->data;
  const char* name;

  if (ev == NULL) {
    if (!rc->done) {
      fprintf(stderr, "capsid run: %s the server at %s%s%s\n",
              c->connected ? "lost the connection to" : "cannot reach",
              rc->addr, c->err ? ": " : "", c->err ? uv_strerror(c->err) : "");
      finish(rc, CLI_EXIT_CAPSID);
    }
    return;
  }
  name = json_string_value(json_object_get(ev, "event"));
  if (name == NULL)
    return;
  if (strcmp(name, "accepted") == 0) {
    rc->job = json_integer_value(json_object_get(ev, "job"));
  } else if (strcmp(name, "output") == 0) {
    on_output(rc, ev);
  } else if (strcmp(name, "exit") == 0) {
    on_exit_event(rc, text, len);
  } else if (strcmp(name, "error") == 0) {
    fprintf(stderr, "capsid run: the server refused the request: %s\n",
            json_string_value(json_object_get(ev, "message")));
    finish(rc, CLI_EXIT_CAPSID);
  }
}


/* As a local run: the first signal asks the job to stop with the grace,
 * a second kills it. */
static void on_signal(uv_signal_t* h, int signum) {
  run_client_t* rc = h->data;
  json_t* req;

  if (rc->job <= 0 || rc->done)
    return;
  req = json_object();
  json_object_set_new(req, "type", json_string("cancel"));
  json_object_set_new(req, "job", json_integer(rc->job));
  if (rc->signals++ > 0) {
    json_object_set_new(req, "signal", json_string("SIGKILL"));
  } else {
    json_object_set_new(req, "signal",
                        json_string(signum == SIGINT   ? "SIGINT"
                                    : signum == SIGHUP ? "SIGHUP"
                                                       : "SIGTERM"));
    json_object_set_new(req, "grace_ms", json_integer((json_int_t)rc->grace_ms));
  }
  cli_client_send(&rc->c, req);
}


int cli_client_run(const char* addr, const capsid_job_spec_t* spec,
                   int json, uint64_t grace_ms, cli_passthru_t* pass) {
  static const int signums[3] = {SIGINT, SIGTERM, SIGHUP};
  run_client_t rc;
  int i, err;

  memset(&rc, 0, sizeof(rc));
  rc.addr = addr;
  rc.spec = spec;
  rc.pass = pass;
  rc.json = json;
  rc.grace_ms = grace_ms;
  rc.status = CLI_EXIT_CAPSID;
  if (uv_loop_init(&rc.loop) != 0)
    return CLI_EXIT_CAPSID;
  err = cli_client_connect(&rc.c, &rc.loop, addr, on_event, &rc);
  if (err != 0) {
    fprintf(stderr, "capsid run: --server: \"%s\" is not a server address "
            "(%s)\n", addr, cli_client_addr_form);
    uv_loop_close(&rc.loop);
    return CLI_EXIT_CAPSID;
  }
  for (i = 0; i < 3; i++) {
    uv_signal_init(&rc.loop, &rc.sig[i]);
    rc.sig[i].data = &rc;
    uv_signal_start(&rc.sig[i], on_signal, signums[i]);
  }
  cli_client_send(&rc.c, cli_client_run_request(spec, NULL, NULL, 0, !json));
  uv_run(&rc.loop, UV_RUN_DEFAULT);
  uv_loop_close(&rc.loop);
  capsid__buf_free(&rc.c.in);
  return rc.status;
}
