/* The protocol's requests (docs/protocol.md): run, stdin, cancel, status,
 * ping, shutdown; and the events of a job: accepted, started, output,
 * exit. */
#include "serve-int.h"

#include "job-submit.h"
#include "json-util.h"
#include "resultline.h"

#include <stdio.h>
#include <string.h>

static const char* const request_fields[] = {
    "v", "type", "tag", "job", "stream", "stdin_stream", "line",
    "stdin_b64", "data", "data_b64", "eof", "signal", "grace_ms", NULL};


static void job_link(serve_t* srv, serve_job_t* sj) {
  sj->next = srv->jobs;
  if (srv->jobs != NULL)
    srv->jobs->prev = sj;
  srv->jobs = sj;
}


/* The client's held stdin, when it was this job's, is no longer
 * needed: take its requests again. */
static void stdin_unhold(serve_client_t* c, serve_job_t* sj) {
  if (c == NULL || c->stdin_job != sj)
    return;
  c->stdin_job = NULL;
  c->stdin_hold.len = 0;
  c->stdin_hold_eof = 0;
  serve__client_resume(c);
}


static void job_free(serve_job_t* sj) {
  serve_t* srv = sj->srv;

  stdin_unhold(sj->client, sj);
  if (sj->prev != NULL)
    sj->prev->next = sj->next;
  else if (srv->jobs == sj)
    srv->jobs = sj->next;
  if (sj->next != NULL)
    sj->next->prev = sj->prev;
  if (sj->client != NULL) {
    sj->client->n_jobs--;
    if (sj->client->deferred) {
      sj->client->deferred = 0;
      serve__client_resume(sj->client); /* the waiting run goes first */
    }
  }
  serve__client_settle(sj->client);
  scale_jobline_free(&sj->jl);
  capsid__free(sj);
  serve__maybe_finish(srv);
}


/* {"v":1,"event":"exit","job":N,"result":RESULT}: always this prefix, so
 * a thin client can pass RESULT on byte for byte as a batch line. */
static void send_exit(serve_job_t* sj, const capsid_result_t* r) {
  capsid__buf_t b = {0};
  char head[96];
  int n;

  if (sj->client == NULL)
    return;
  n = snprintf(head, sizeof(head), "{\"v\":%d,\"event\":\"exit\",\"job\":%llu,"
               "\"result\":",
               SERVE_PROTOCOL_VERSION, (unsigned long long)sj->id);
  if (capsid__buf_append(&b, head, (size_t)n) != 0 ||
      scale_result_format(&b, sj->jl.id, sj->line, r, NULL) != 0 ||
      capsid__buf_append(&b, "}", 1) != 0) {
    capsid__buf_free(&b);
    serve__error(sj->client, NULL, "result", "out of memory formatting "
                 "the result of job %llu", (unsigned long long)sj->id);
    return;
  }
  serve__send(sj->client, b.data, b.len, 0);
  capsid__buf_free(&b);
}


/* The job ends without running: its exit event carries err. */
static void finish_error(serve_job_t* sj, capsid_error_t* err) {
  capsid_result_t r;

  scale_result_of_error(&r, err);
  send_exit(sj, &r);
  capsid_result_free(&r);
  job_free(sj);
}


/* Output a slow client missed: said before the exit event, which always
 * goes out (the result holds the output, capped, all the same). */
static void send_dropped(serve_job_t* sj) {
  int s;

  for (s = 0; s < 2 && sj->client != NULL; s++) {
    json_t* ev;
    if (sj->dropped[s] == 0)
      continue;
    ev = json_object();
    json_object_set_new(ev, "job", json_integer((json_int_t)sj->id));
    json_object_set_new(ev, "stream", json_string(s == 0 ? "stdout"
                                                         : "stderr"));
    json_object_set_new(ev, "data", json_string(""));
    json_object_set_new(ev, "dropped",
                        json_integer((json_int_t)sj->dropped[s]));
    serve__event(sj->client, "output", ev);
  }
}


static void on_job_exit(capsid_job_t* job, capsid_result_t* result,
                        void* data) {
  serve_job_t* sj = data;

  (void)job;
  send_dropped(sj);
  send_exit(sj, result);
  job_free(sj);
}


static void on_job_output(capsid_job_t* job, int stream, const char* bytes,
                          size_t len, void* data) {
  serve_job_t* sj = data;
  int s = stream == CAPSID_STDOUT ? 0 : 1;
  json_t* ev;
  char* text;
  int rc = -1;

  (void)job;
  if (sj->client == NULL || !sj->stream)
    return;
  if (sj->client->queued >= SERVE_CLIENT_QUEUE_LIMIT) {
    sj->dropped[s] += len;
    return;
  }
  ev = json_object();
  json_object_set_new(ev, "v", json_integer(SERVE_PROTOCOL_VERSION));
  json_object_set_new(ev, "event", json_string("output"));
  json_object_set_new(ev, "job", json_integer((json_int_t)sj->id));
  json_object_set_new(ev, "stream", json_string(s == 0 ? "stdout" : "stderr"));
  if (scale_utf8_valid(bytes, len)) {
    json_object_set_new(ev, "data", json_stringn(bytes, len));
  } else {
    char* b64 = scale_base64(bytes, len);
    json_object_set_new(ev, "data_b64", b64 ? json_string(b64) : json_null());
    capsid__free(b64);
  }
  if (sj->dropped[s] > 0)
    json_object_set_new(ev, "dropped", json_integer((json_int_t)sj->dropped[s]));
  text = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  if (text != NULL)
    rc = serve__send(sj->client, text, strlen(text), 1);
  free(text);
  if (rc == 0)
    sj->dropped[s] = 0;
  else
    sj->dropped[s] += len;
}


/* The job's process is up: its host pid and the mode it runs in. */
static void on_job_spawned(capsid_job_t* job, int64_t pid,
                           capsid_mode_t mode, void* data) {
  serve_job_t* sj = data;
  json_t* ev;

  (void)job;
  sj->spawned = 1;
  if (sj->client == NULL)
    return;
  ev = json_object();
  json_object_set_new(ev, "job", json_integer((json_int_t)sj->id));
  json_object_set_new(ev, "pid", json_integer((json_int_t)pid));
  json_object_set_new(ev, "mode", json_string(capsid_mode_name(mode)));
  serve__event(sj->client, "started", ev);
}


static void job_start(serve_job_t* sj) {
  capsid_error_t err;
  int rc;

  memset(&err, 0, sizeof(err));
  sj->jl.spec.on_output = sj->stream ? on_job_output : NULL;
  sj->jl.spec.stdin_stream = sj->stdin_stream;
  rc = scale_jobline_start(sj->srv->rt, &sj->jl, on_job_exit, sj, &sj->job);
  if (rc != 0) {
    capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      "cannot start the job: %s", capsid_strerror(rc));
    finish_error(sj, &err);
    return;
  }
  /* At once when the runtime started it already, else when it starts. */
  capsid__job_on_spawn(sj->job, on_job_spawned);
}


static int b64_value(int ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+')
    return 62;
  if (ch == '/')
    return 63;
  return -1;
}


int serve_b64_decode(const char* s, capsid__buf_t* b) {
  unsigned acc = 0;
  int bits = 0, v;
  char byte;

  for (; *s != '\0' && *s != '='; s++) {
    if ((v = b64_value((unsigned char)*s)) < 0)
      return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      byte = (char)((acc >> bits) & 0xff);
      if (capsid__buf_append(b, &byte, 1) != 0)
        return -1;
    }
  }
  return 0;
}


static serve_job_t* find_job(serve_client_t* c, json_t* req, json_t* tag) {
  json_t* v = json_object_get(req, "job");
  serve_job_t* sj;

  if (!json_is_integer(v)) {
    serve__error(c, tag, "job", "\"job\" must be the job number from the "
                 "accepted event");
    return NULL;
  }
  for (sj = c->srv->jobs; sj != NULL; sj = sj->next)
    /* Another user's job is as invisible as one that does not exist. */
    if (sj->id == (uint64_t)json_integer_value(v) && sj->uid == c->peer.uid)
      return sj;
  serve__error(c, tag, "job", "no job %lld of yours is waiting or running",
               (long long)json_integer_value(v));
  return NULL;
}


static int get_flag(serve_client_t* c, json_t* req, json_t* tag,
                    const char* key, int* out) {
  json_t* v = json_object_get(req, key);

  *out = 0;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_boolean(v)) {
    serve__error(c, tag, key, "\"%s\" must be true or false", key);
    return -1;
  }
  *out = json_is_true(v);
  return 0;
}


static void do_run(serve_client_t* c, json_t* req, json_t* tag) {
  serve_t* srv = c->srv;
  json_t* job = json_object_get(req, "job");
  json_t* v;
  json_t* ev;
  serve_job_t* sj;
  capsid_error_t err;
  char* text;
  int stream, stdin_stream, rc;
  long line = 0;

  memset(&err, 0, sizeof(err));
  if (!json_is_object(job)) {
    serve__error(c, tag, "job", "\"job\" must be a job object (the format "
                 "of a batch line)");
    return;
  }
  if (get_flag(c, req, tag, "stream", &stream) != 0 ||
      get_flag(c, req, tag, "stdin_stream", &stdin_stream) != 0)
    return;
  v = json_object_get(req, "line");
  if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
    serve__error(c, tag, "line", "\"line\" must be a non-negative integer");
    return;
  }
  line = v ? (long)json_integer_value(v) : 0;
  v = json_object_get(req, "stdin_b64");
  if (v != NULL && !json_is_string(v)) {
    serve__error(c, tag, "stdin_b64", "\"stdin_b64\" must be a base64 string");
    return;
  }
  if (srv->stopping) {
    serve__error(c, tag, "type", "the server is shutting down");
    return;
  }
  if (c->n_jobs >= SERVE_CLIENT_MAX_JOBS) {
    /* A file of requests is a batch: its next run waits for a slot, as
     * capsid batch's lines do, and so do the requests after it. */
    if (c->split) {
      c->deferred = 1;
      serve__client_pause(c);
      return;
    }
    serve__error(c, tag, "job", "this connection has %u jobs waiting or "
                 "running already", c->n_jobs);
    return;
  }
  sj = capsid__calloc(1, sizeof(*sj));
  if (sj == NULL) {
    serve__error(c, tag, NULL, "out of memory");
    return;
  }
  sj->srv = srv;
  sj->client = c;
  sj->id = ++srv->next_job;
  sj->uid = c->peer.uid;
  sj->line = line;
  sj->stream = stream;
  sj->stdin_stream = stdin_stream;
  c->n_jobs++;
  job_link(srv, sj);
  ev = json_object();
  json_object_set_new(ev, "job", json_integer((json_int_t)sj->id));
  if (tag != NULL)
    json_object_set(ev, "tag", tag);
  serve__event(c, "accepted", ev);

  text = json_dumps(job, JSON_COMPACT);
  rc = text ? scale_jobline_parse(text, strlen(text), line > 0 ? line : 1,
                                  &sj->jl, &err)
            : CAPSID_ENOMEM;
  free(text);
  if (rc == 0 && v != NULL) {
    capsid__buf_t in = {0};
    if (serve_b64_decode(json_string_value(v), &in) != 0) {
      capsid__buf_free(&in);
      rc = capsid__error_set(&err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                             "stdin_b64", "\"stdin_b64\" is not valid "
                             "base64");
    } else {
      capsid__free(sj->jl.stdin_data);
      sj->jl.stdin_data = in.data;
      sj->jl.stdin_len = in.len;
      sj->jl.spec.stdin_data = in.data;
      sj->jl.spec.stdin_len = in.len;
    }
  }
  if (rc == 0)
    rc = serve__authorize(srv, &c->peer, &sj->jl, &err);
  if (rc != 0) {
    if (err.code == 0)
      capsid__error_set(&err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL, NULL);
    finish_error(sj, &err);
    return;
  }
  job_start(sj);
}


/* Hands the client's held stdin to its job; what the job's queue has no
 * room for stays held, and the client's requests wait with it. */
static void stdin_feed(serve_client_t* c, serve_job_t* sj);


static void on_stdin_written(capsid_job_t* job, int status, void* data) {
  serve_job_t* sj = data;

  (void)job;
  (void)status;
  /* Room again in the job's queue, or it stopped reading. */
  if (sj->client != NULL && sj->client->stdin_job == sj)
    stdin_feed(sj->client, sj);
}


static void stdin_feed(serve_client_t* c, serve_job_t* sj) {
  int rc = capsid_job_write_stdin(sj->job, c->stdin_hold.data,
                                  c->stdin_hold.len, c->stdin_hold_eof,
                                  on_stdin_written, sj);

  if (rc == CAPSID_EAGAIN) {
    c->stdin_job = sj;
    serve__client_pause(c);
    return;
  }
  /* Taken; or the job no longer reads its stdin (EPIPE): then the bytes
   * are dropped, as a pipe drops them, and its exit tells the rest. */
  if (rc != 0 && rc != CAPSID_ECANCELED)
    serve__error(c, NULL, "data", "cannot feed job %llu: %s",
                 (unsigned long long)sj->id, capsid_strerror(rc));
  c->stdin_hold.len = 0;
  c->stdin_hold_eof = 0;
  if (c->stdin_job == sj) {
    c->stdin_job = NULL;
    serve__client_resume(c);
  }
}


static void do_stdin(serve_client_t* c, json_t* req, json_t* tag) {
  json_t* data = json_object_get(req, "data");
  json_t* b64 = json_object_get(req, "data_b64");
  capsid__buf_t* buf = &c->stdin_hold;
  serve_job_t* sj;
  int eof;

  if (get_flag(c, req, tag, "eof", &eof) != 0)
    return;
  if (data != NULL && !json_is_string(data)) {
    serve__error(c, tag, "data", "\"data\" must be a string");
    return;
  }
  if (b64 != NULL && !json_is_string(b64)) {
    serve__error(c, tag, "data_b64", "\"data_b64\" must be base64");
    return;
  }
  if ((sj = find_job(c, req, tag)) == NULL)
    return;
  if (!sj->stdin_stream) {
    serve__error(c, tag, "job", "job %llu does not read a stream (ask for "
                 "it with \"stdin_stream\":true in its run request)",
                 (unsigned long long)sj->id);
    return;
  }
  if (sj->stdin_eof) {
    serve__error(c, tag, "eof", "the stdin of job %llu has ended already",
                 (unsigned long long)sj->id);
    return;
  }
  buf->len = 0;
  if (b64 != NULL && serve_b64_decode(json_string_value(b64), buf) != 0) {
    buf->len = 0;
    serve__error(c, tag, "data_b64", "\"data_b64\" must be base64");
    return;
  }
  if (data != NULL &&
      capsid__buf_append(buf, json_string_value(data),
                         json_string_length(data)) != 0) {
    buf->len = 0;
    serve__error(c, tag, NULL, "out of memory");
    return;
  }
  sj->stdin_eof = eof;
  c->stdin_hold_eof = eof;
  stdin_feed(c, sj);
}


static int parse_signal(const char* s, int* sig) {
  if (s == NULL || strcmp(s, "SIGTERM") == 0 || strcmp(s, "TERM") == 0)
    *sig = CAPSID_SIGTERM;
  else if (strcmp(s, "SIGINT") == 0 || strcmp(s, "INT") == 0)
    *sig = CAPSID_SIGINT;
  else if (strcmp(s, "SIGHUP") == 0 || strcmp(s, "HUP") == 0)
    *sig = CAPSID_SIGHUP;
  else if (strcmp(s, "SIGKILL") == 0 || strcmp(s, "KILL") == 0)
    *sig = 0;
  else
    return -1;
  return 0;
}


static void do_cancel(serve_client_t* c, json_t* req, json_t* tag) {
  json_t* sigv = json_object_get(req, "signal");
  json_t* gracev = json_object_get(req, "grace_ms");
  serve_job_t* sj;
  uint64_t grace = c->srv->opt.grace_ms;
  uint64_t id;
  json_t* ev;
  int sig;

  if (sigv != NULL && (!json_is_string(sigv) ||
                       parse_signal(json_string_value(sigv), &sig) != 0)) {
    serve__error(c, tag, "signal", "\"signal\" must be \"SIGTERM\", "
                 "\"SIGINT\", \"SIGHUP\" or \"SIGKILL\"");
    return;
  }
  if (sigv == NULL)
    sig = CAPSID_SIGTERM;
  if (gracev != NULL) {
    if (!json_is_integer(gracev) || json_integer_value(gracev) < 0 ||
        json_integer_value(gracev) > 3600000) {
      serve__error(c, tag, "grace_ms", "\"grace_ms\" must be an integer "
                   "from 0 to 3600000");
      return;
    }
    grace = (uint64_t)json_integer_value(gracev);
  }
  if ((sj = find_job(c, req, tag)) == NULL)
    return;
  id = sj->id;
  ev = json_object();
  json_object_set_new(ev, "request", json_string("cancel"));
  json_object_set_new(ev, "job", json_integer((json_int_t)id));
  if (tag != NULL)
    json_object_set(ev, "tag", tag);
  serve__event(c, "ok", ev);
  if (sig == 0)
    capsid_job_kill(sj->job);
  else
    capsid_job_signal(sj->job, sig, grace);
}


static void do_status(serve_client_t* c, json_t* tag) {
  serve_t* srv = c->srv;
  json_t* ev = json_object();
  json_t* jobs = json_array();
  serve_job_t* sj;
  serve_client_t* k;
  unsigned n = 0;

  for (k = srv->clients; k != NULL; k = k->next)
    n++;
  for (sj = srv->jobs; sj != NULL; sj = sj->next) {
    json_t* j;
    if (sj->uid != c->peer.uid)
      continue; /* a client sees its own user's jobs only */
    j = json_object();
    json_object_set_new(j, "job", json_integer((json_int_t)sj->id));
    json_object_set_new(j, "state", json_string(sj->spawned ? "started"
                                                            : "queued"));
    if (sj->jl.id != NULL)
      json_object_set(j, "id", sj->jl.id);
    if (sj->jl.cwd != NULL)
      json_object_set_new(j, "cwd", scale_json_path(sj->jl.cwd));
    json_array_append_new(jobs, j);
  }
  if (tag != NULL)
    json_object_set(ev, "tag", tag);
  json_object_set_new(ev, "jobs", jobs);
  json_object_set_new(ev, "running",
                      json_integer(srv->rt ? capsid_runtime_running(srv->rt) : 0));
  json_object_set_new(ev, "queued",
                      json_integer(srv->rt ? capsid_runtime_queued(srv->rt) : 0));
  json_object_set_new(ev, "clients", json_integer(n));
  json_object_set_new(ev, "uid", json_integer(c->peer.uid));
  json_object_set_new(ev, "owner", json_boolean(c->owner));
  serve__event(c, "status", ev);
}


int serve__request_is_cancel(const char* text, size_t len) {
  json_t* req;
  json_t* type;
  int yes;

  /* A cancel is a short line; longer ones (stdin data) are not parsed
   * twice. */
  if (len > SERVE_CANCEL_PEEK_MAX)
    return 0;
  req = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
  type = json_object_get(req, "type");
  yes = json_is_string(type) && strcmp(json_string_value(type), "cancel") == 0;
  json_decref(req);
  return yes;
}


void serve__request(serve_client_t* c, const char* text, size_t len) {
  json_error_t jerr;
  json_t* req;
  json_t* tag;
  json_t* v;
  const char* type;
  capsid_error_t err;

  req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (req == NULL) {
    serve__error(c, NULL, "request", "the request is not valid JSON: %s "
                 "(column %d)", jerr.text, jerr.column);
    return;
  }
  tag = json_object_get(req, "tag");
  memset(&err, 0, sizeof(err));
  if (!json_is_object(req)) {
    serve__error(c, NULL, "request", "a request must be a JSON object");
  } else if (capsid__json_check_fields(req, request_fields, "", CAPSID_ESPEC,
                                       CAPSID_STAGE_SPEC, &err) != 0) {
    serve__error(c, tag, err.field, "%s", err.message ? err.message : "");
  } else if (!json_is_integer(v = json_object_get(req, "v")) ||
             json_integer_value(v) != SERVE_PROTOCOL_VERSION) {
    serve__error(c, tag, "v", "\"v\" must be %d, the protocol version this "
                 "server speaks", SERVE_PROTOCOL_VERSION);
  } else if (!json_is_string(v = json_object_get(req, "type"))) {
    serve__error(c, tag, "type", "\"type\" must be one of run, stdin, "
                 "cancel, status, ping, shutdown");
  } else if (strcmp(type = json_string_value(v), "run") == 0) {
    do_run(c, req, tag);
  } else if (strcmp(type, "stdin") == 0) {
    do_stdin(c, req, tag);
  } else if (strcmp(type, "cancel") == 0) {
    do_cancel(c, req, tag);
  } else if (strcmp(type, "status") == 0) {
    do_status(c, tag);
  } else if (strcmp(type, "ping") == 0) {
    json_t* ev = json_object();
    if (tag != NULL)
      json_object_set(ev, "tag", tag);
    json_object_set_new(ev, "version", json_string(capsid_version_string()));
    serve__event(c, "pong", ev);
  } else if (strcmp(type, "shutdown") == 0) {
    if (!c->owner) {
      serve__error(c, tag, "type", "only the server's own user or root may "
                   "shut it down");
    } else {
      json_t* ev = json_object();
      json_object_set_new(ev, "request", json_string("shutdown"));
      if (tag != NULL)
        json_object_set(ev, "tag", tag);
      serve__event(c, "ok", ev);
      serve__log(c->srv, "shutdown asked by uid %u", c->peer.uid);
      serve__stop(c->srv);
    }
  } else {
    serve__error(c, tag, "type", "unknown request type \"%s\" (run, stdin, "
                 "cancel, status, ping, shutdown)", type);
  }
  capsid__error_free(&err);
  json_decref(req);
}


void serve__client_gone(serve_client_t* c) {
  serve_job_t* sj;
  serve_job_t* next;

  /* Nobody will read these jobs' results: end them. A job's callback
   * may come during the walk and unlink it; step ahead first. */
  for (sj = c->srv->jobs; sj != NULL; sj = next) {
    next = sj->next;
    if (sj->client != c)
      continue;
    stdin_unhold(c, sj);
    sj->client = NULL;
    c->n_jobs--;
    capsid_job_kill(sj->job);
  }
}


void serve__client_input_ended(serve_client_t* c) {
  serve_job_t* sj;

  for (sj = c->srv->jobs; sj != NULL; sj = sj->next)
    if (sj->client == c && sj->stdin_stream && !sj->stdin_eof) {
      sj->stdin_eof = 1;
      /* Refused only when its stdin is closed already: nothing to end. */
      (void)capsid_job_write_stdin(sj->job, "", 0, 1, NULL, NULL);
    }
}


void serve__signal_all(serve_t* srv, uint64_t grace_ms) {
  serve_job_t* sj;
  serve_job_t* next;

  for (sj = srv->jobs; sj != NULL; sj = next) {
    next = sj->next;
    if (grace_ms == 0)
      capsid_job_kill(sj->job);
    else
      capsid_job_signal(sj->job, CAPSID_SIGTERM, grace_ms);
  }
}
