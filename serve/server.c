/* capsid serve: the listener, the connections, and the writes to them
 * with their bounded queues. Requests are request.c's. */
#include "serve-int.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* One write of a client's events: every event line queued for it in one
 * turn of the loop. */
typedef struct serve_write_s {
  uv_write_t req;
  uv_fs_t fs;             /* stdio to a file: the write instead of req */
  serve_client_t* client;
  size_t len;
  char* data;
} serve_write_t;


void serve__log(serve_t* srv, const char* fmt, ...) {
  va_list ap;

  if (srv->opt.quiet)
    return;
  va_start(ap, fmt);
  fputs("capsid serve: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n", stderr);
  va_end(ap);
}


static void client_unlink(serve_client_t* c) {
  serve_t* srv = c->srv;

  if (c->prev != NULL)
    c->prev->next = c->next;
  else if (srv->clients == c)
    srv->clients = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
}


/* One of the things a closing client waits for is over (a handle closed,
 * a file write done); the last frees it. */
static void client_release(serve_client_t* c) {
  serve_t* srv = c->srv;

  if (--c->pending_closes > 0)
    return;
  serve__peer_release(&c->peer);
  capsid__buf_free(&c->in);
  capsid__buf_free(&c->stdin_hold);
  capsid__buf_free(&c->pending);
  capsid__free(c);
  serve__maybe_finish(srv);
}


static void on_client_closed(uv_handle_t* h) {
  client_release(h->data);
}


static int client_flush(serve_client_t* c);
static void client_drain_buffer(serve_client_t* c);
static int client_wants_bytes(const serve_client_t* c);
static void client_read(serve_client_t* c);


static void client_close(serve_client_t* c) {
  if (c->closing)
    return;
  /* An error said just before closing still goes out (if it cannot, the
   * connection is closing anyway). */
  (void)client_flush(c);
  c->closing = 1;
  serve__client_gone(c);
  client_unlink(c);
  c->pending_closes = (c->split ? 2 : 1) + (c->file_in ? 1 : 0) +
                      (c->fs_writing ? 1 : 0);
  uv_close((uv_handle_t*)&c->pipe, on_client_closed);
  if (c->split)
    uv_close((uv_handle_t*)&c->out, on_client_closed);
  if (c->file_in)
    uv_close((uv_handle_t*)&c->file_kick, on_client_closed);
}


static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  static char slab[65536];

  (void)h;
  (void)suggested;
  /* One connection's read completes before the next one starts, and
   * the bytes are copied out at once. */
  buf->base = slab;
  buf->len = sizeof(slab);
}


/* stdio's input ended: what was asked is still answered. A last line
 * without its newline is a request too (a file may end that way). The
 * client closes, and the server with it, once the jobs' events are out
 * (serve__client_settle). A socket client that hangs up has its jobs
 * killed instead: nobody reads their events. */
static void input_ended(serve_client_t* c) {
  c->input_ended = 1;
  client_read(c);
  if (c->tail > 0 && c->tail <= SERVE_MAX_REQUEST &&
      capsid__buf_append(&c->in, "\n", 1) == 0) {
    c->tail = 0;
    client_drain_buffer(c);
  }
  if (c->closing)
    return;
  serve__client_input_ended(c);
  serve__client_settle(c);
}


void serve__client_settle(serve_client_t* c) {
  if (c != NULL && c->input_ended && !c->closing && c->n_jobs == 0 &&
      c->pending.len == 0 && c->queued == 0)
    client_close(c);
}


/* Splits what arrived into request lines. A line that grows past the
 * limit ends the connection: there is no way to skip to its end without
 * reading it all. */
static void take_bytes(serve_client_t* c, const char* bytes, size_t n) {
  size_t i;

  if (n == 0 || c->closing)
    return;
  if (capsid__buf_append(&c->in, bytes, n) != 0) {
    client_close(c);
    return;
  }
  /* Only the new bytes are looked at: a long line comes in many reads. */
  for (i = n; i > 0 && bytes[i - 1] != '\n'; i--)
    ;
  c->tail = i > 0 ? n - i : c->tail + n;
  client_drain_buffer(c);
  if (c->closing)
    return;
  /* Whole lines may wait here (a paused client); the last, unfinished
   * one is what must stay under the limit. */
  if (c->tail > SERVE_MAX_REQUEST) {
    serve__error(c, NULL, "request", "a request line is longer than %zu "
                 "bytes; closing the connection",
                 (size_t)SERVE_MAX_REQUEST);
    client_close(c);
    return;
  }
  client_read(c); /* a paused client reads ahead only so far */
}


static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  serve_client_t* c = s->data;

  if (n < 0) {
    if (n == UV_EOF && c->split && !c->closing)
      input_ended(c);
    else
      client_close(c);
    return;
  }
  take_bytes(c, buf->base, (size_t)n);
}


/* stdio from a file: one chunk per turn, so that events go out between
 * chunks; a local file does not keep the loop waiting long. Stops when
 * client_wants_bytes says so (client_read starts it again). */
static void file_pump(uv_timer_t* t) {
  serve_client_t* c = t->data;
  uv_buf_t b;
  uv_fs_t req;
  int n;

  if (!client_wants_bytes(c))
    return;
  on_alloc((uv_handle_t*)t, 0, &b); /* the connections' read slab */
  n = uv_fs_read(t->loop, &req, 0, &b, 1, -1, NULL);
  uv_fs_req_cleanup(&req);
  if (n < 0) {
    serve__log(c->srv, "--stdio: reading the input: %s", uv_strerror(n));
    client_close(c);
  } else if (n == 0) {
    input_ended(c);
  } else {
    take_bytes(c, b.base, (size_t)n);
    if (client_wants_bytes(c))
      uv_timer_start(t, file_pump, 0, 0);
  }
}


/* Whether the client's requests wait on one of its jobs: a stdin held
 * for a job that does not read, or a run deferred for a slot. */
static int client_waits_on_job(const serve_client_t* c) {
  return c->stdin_job != NULL || c->deferred;
}


/* Whether to read more of the client's bytes. Not when its event queue
 * is full: it must read its events first. While its requests wait on one
 * of its jobs (a held stdin, a deferred run), reading goes on up to the
 * request limit so that a cancel further on can end that job
 * (client_take_cancels). */
static int client_wants_bytes(const serve_client_t* c) {
  if (c->closing || c->input_ended || c->queued > SERVE_CLIENT_QUEUE_LIMIT)
    return 0;
  if (c->srv->stopping && c->srv->jobs == NULL)
    return 0; /* finishing: the last events go out, nothing comes in */
  if (!c->paused)
    return 1;
  return client_waits_on_job(c) && c->in.len <= SERVE_MAX_REQUEST;
}


/* Starts or stops reading the client's bytes, as client_wants_bytes
 * says. */
static void client_read(serve_client_t* c) {
  int want = client_wants_bytes(c);

  if (c->file_in) {
    if (want) /* file_pump asks again before each chunk */
      uv_timer_start(&c->file_kick, file_pump, 0, 0);
    return;
  }
  if (want == c->reading)
    return;
  c->reading = want;
  if (want)
    uv_read_start((uv_stream_t*)&c->pipe, on_alloc, on_read);
  else
    uv_read_stop((uv_stream_t*)&c->pipe);
}


/* While the client's requests wait on one of its jobs, the cancels among
 * the whole lines after them are handled at once and taken out; the
 * other lines keep their place and order. Each line is looked at once
 * (c->scanned), and the unfinished last one not at all (c->tail). A
 * cancel may end the job waited on and so let the buffer drain in
 * between: the position is read back after each. */
static void client_take_cancels(serve_client_t* c) {
  size_t pos, len;
  char* nl;
  char* line;

  while (!c->closing && c->paused && client_waits_on_job(c) &&
         (pos = c->scanned) < c->in.len - c->tail &&
         (nl = memchr(c->in.data + pos, '\n',
                      c->in.len - c->tail - pos)) != NULL) {
    len = (size_t)(nl - (c->in.data + pos));
    if (!serve__request_is_cancel(c->in.data + pos, len)) {
      c->scanned = pos + len + 1;
      continue;
    }
    line = capsid__malloc(len + 1);
    if (line == NULL) {
      client_close(c);
      return;
    }
    memcpy(line, c->in.data + pos, len);
    line[len] = '\0';
    memmove(c->in.data + pos, nl + 1, c->in.len - (pos + len + 1));
    c->in.len -= len + 1;
    serve__request(c, line, len);
    capsid__free(line);
  }
}


/* Handles the whole request lines in the buffer, in order, until the
 * client is paused or closed; keeps the rest (a line not yet complete,
 * or the lines after a pause) for later. */
static void client_drain_buffer(serve_client_t* c) {
  char* nl;
  size_t start = 0, line_len;

  /* Up to the last newline only: the unfinished line is not searched
   * again at each read. */
  while (!c->closing && !c->paused && c->in.len - c->tail > start &&
         (nl = memchr(c->in.data + start, '\n',
                      c->in.len - c->tail - start)) != NULL) {
    line_len = (size_t)(nl - (c->in.data + start));
    c->in.data[start + line_len] = '\0';
    if (line_len > 0)
      serve__request(c, c->in.data + start, line_len);
    if (c->deferred) {
      c->in.data[start + line_len] = '\n'; /* read again on resume */
      break;
    }
    start += line_len + 1;
    /* serve__request may have closed the connection; c stays valid
     * until its close callback, which runs later on the loop. */
  }
  if (c->closing)
    return;
  memmove(c->in.data, c->in.data + start, c->in.len - start);
  c->in.len -= start;
  c->scanned = c->scanned > start ? c->scanned - start : 0;
  client_take_cancels(c);
}


void serve__client_pause(serve_client_t* c) {
  if (c->closing)
    return;
  c->paused = 1;
  client_read(c);
}


void serve__client_resume(serve_client_t* c) {
  if (c->closing)
    return;
  if (c->paused && !client_waits_on_job(c) &&
      c->queued <= SERVE_CLIENT_QUEUE_LIMIT / 2) {
    c->paused = 0;
    client_drain_buffer(c);
  } else if (c->paused) {
    client_take_cancels(c); /* the wait may have changed */
  }
  client_read(c);
}


/* A write is over (done, failed or never started): its bytes leave the
 * client's queue. Returns the client. */
static serve_client_t* write_free(serve_write_t* w) {
  serve_client_t* c = w->client;

  c->queued -= w->len;
  capsid__free(w->data);
  capsid__free(w);
  return c;
}


/* Half empty again: take requests once more; the client may be done, and
 * the server with it. */
static void client_drained(serve_client_t* c) {
  serve__client_resume(c);
  serve__client_settle(c);
  if (c->srv->stopping && c->queued == 0)
    serve__maybe_finish(c->srv);
}


static void on_written(uv_write_t* req, int status) {
  serve_client_t* c =
      write_free(CAPSID__CONTAINER_OF(req, serve_write_t, req));

  if (status != 0 && status != UV_ECANCELED) {
    client_close(c);
    return;
  }
  client_drained(c);
}


/* stdio to a file (`> events.jsonl`): libuv cannot open a disk file as
 * a stream on Windows, so events go out as file writes on the thread
 * pool, one at a time (two in flight could land out of order). */
static void on_file_written(uv_fs_t* req) {
  serve_write_t* w = CAPSID__CONTAINER_OF(req, serve_write_t, fs);
  ssize_t result = req->result;
  int ok = result == (ssize_t)w->len;
  serve_client_t* c;

  uv_fs_req_cleanup(req);
  c = write_free(w);
  c->fs_writing = 0;
  if (c->closing) {
    client_release(c); /* client_close counted this write */
    return;
  }
  if (!ok) {
    serve__log(c->srv, "--stdio: writing the events: %s",
               result < 0 ? uv_strerror((int)result) : "short write");
    client_close(c);
    return;
  }
  if (client_flush(c) != 0) {
    client_close(c);
    return;
  }
  client_drained(c);
}


/* Hands the events queued for c to one write. Returns 0, or -1 when
 * they cannot be written: the caller closes the connection. */
static int client_flush(serve_client_t* c) {
  serve_write_t* w;
  uv_buf_t buf;
  uv_stream_t* s;

  if (c->closing || c->pending.len == 0 || c->fs_writing)
    return 0; /* a file write in flight writes the rest when done */
  w = capsid__malloc(sizeof(*w));
  if (w == NULL)
    return -1;
  w->client = c;
  w->data = c->pending.data;
  w->len = c->pending.len;
  memset(&c->pending, 0, sizeof(c->pending));
  buf = uv_buf_init(w->data, (unsigned)w->len);
  if (c->file_out) {
    if (uv_fs_write(&c->srv->loop, &w->fs, 1, &buf, 1, -1,
                    on_file_written) == 0) {
      c->fs_writing = 1;
      return 0;
    }
  } else {
    s = (uv_stream_t*)(c->split ? &c->out : &c->pipe);
    if (uv_write(&w->req, s, &buf, 1, on_written) == 0)
      return 0;
  }
  write_free(w);
  return -1;
}


/* Before the loop waits again: every client's events of this turn go
 * out, one write each (accepted and started of a job, say, in one). */
static void on_flush(uv_prepare_t* h) {
  serve_t* srv = h->data;
  serve_client_t* c;
  serve_client_t* next;

  uv_prepare_stop(h);
  for (c = srv->clients; c != NULL; c = next) {
    next = c->next;
    if (client_flush(c) != 0)
      client_close(c);
  }
}


int serve__send(serve_client_t* c, const char* text, size_t len,
                int droppable) {
  serve_t* srv;

  if (c == NULL || c->closing)
    return -1;
  if (droppable && c->queued >= SERVE_CLIENT_QUEUE_LIMIT)
    return 1;
  if (capsid__buf_append(&c->pending, text, len) != 0 ||
      capsid__buf_append(&c->pending, "\n", 1) != 0) {
    client_close(c);
    return -1;
  }
  c->queued += len + 1;
  srv = c->srv;
  if (!uv_is_active((uv_handle_t*)&srv->flush))
    uv_prepare_start(&srv->flush, on_flush);
  /* A client that does not read its events must not make the server
   * hold without bound: stop taking its requests until it catches up. */
  if (c->queued > SERVE_CLIENT_QUEUE_LIMIT)
    serve__client_pause(c);
  return 0;
}


int serve__event(serve_client_t* c, const char* name, json_t* extra) {
  json_t* obj = json_object();
  char* text;
  int rc;

  json_object_set_new(obj, "v", json_integer(SERVE_PROTOCOL_VERSION));
  json_object_set_new(obj, "event", json_string(name));
  if (extra != NULL) {
    json_object_update(obj, extra);
    json_decref(extra);
  }
  text = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (text == NULL)
    return -1;
  rc = serve__send(c, text, strlen(text), 0);
  free(text);
  return rc;
}


int serve__error(serve_client_t* c, json_t* tag, const char* field,
                 const char* fmt, ...) {
  json_t* extra = json_object();
  char msg[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (tag != NULL)
    json_object_set(extra, "tag", tag);
  if (field != NULL)
    json_object_set_new(extra, "field", json_string(field));
  json_object_set_new(extra, "message", json_string(msg));
  return serve__event(c, "error", extra);
}


static serve_client_t* client_new(serve_t* srv) {
  serve_client_t* c = capsid__calloc(1, sizeof(*c));

  if (c == NULL)
    return NULL;
  c->srv = srv;
  c->id = ++srv->next_client;
  c->pipe.data = c;
  c->out.data = c;
  return c;
}


static void client_add(serve_t* srv, serve_client_t* c) {
  c->next = srv->clients;
  if (srv->clients != NULL)
    srv->clients->prev = c;
  srv->clients = c;
}


static void on_connection(uv_stream_t* server, int status) {
  serve_t* srv = server->data;
  serve_client_t* c;

  if (status != 0 || srv->stopping)
    return;
  c = client_new(srv);
  if (c == NULL)
    return;
  uv_pipe_init(&srv->loop, &c->pipe, 0);
  if (uv_accept(server, (uv_stream_t*)&c->pipe) != 0) {
    c->pending_closes = 1;
    c->closing = 1;
    uv_close((uv_handle_t*)&c->pipe, on_client_closed);
    return;
  }
  client_add(srv, c);
  if (serve__peer_of(&c->pipe, &c->peer) != 0) {
    serve__log(srv, "cannot read the credentials of a connection; closed");
    client_close(c);
    return;
  }
  if (!serve__peer_allowed(srv, &c->peer)) {
    serve__log(srv, "uid %u (pid %d) is not allowed to connect",
               c->peer.uid, c->peer.pid);
    serve__error(c, NULL, NULL, "uid %u may not use this server (see "
                 "--allow-user and --allow-group)", c->peer.uid);
    client_close(c);
    return;
  }
  c->owner = c->peer.uid == srv->self_uid || c->peer.uid == 0;
  client_read(c);
}


static void on_signal(uv_signal_t* h, int signum) {
  serve_t* srv = h->data;

  if (srv->stopping) {
    serve__log(srv, "signal %d again: killing the running jobs", signum);
    serve__signal_all(srv, 0);
    return;
  }
  serve__log(srv, "signal %d: stopping", signum);
  serve__stop(srv);
}


void serve__stop(serve_t* srv) {
  if (srv->stopping)
    return;
  srv->stopping = 1;
  if (srv->listening) {
    srv->listening = 0;
    uv_close((uv_handle_t*)&srv->listener, NULL);
  }
  serve__signal_all(srv, srv->opt.grace_ms);
  serve__maybe_finish(srv);
}


static void on_runtime_closed(void* data) {
  (void)data;
}


/* Once stopping and every job has its result, close the connections
 * (after their queued events are written) and the runtime. */
void serve__maybe_finish(serve_t* srv) {
  serve_client_t* c;
  serve_client_t* next;

  if (!srv->stopping || srv->jobs != NULL || srv->finished)
    return;
  for (c = srv->clients; c != NULL; c = next) {
    next = c->next;
    if (c->queued == 0)
      client_close(c);
    else
      client_read(c); /* stops it */
  }
  if (srv->clients != NULL)
    return; /* on_written of the last write closes them */
  srv->finished = 1;
  uv_close((uv_handle_t*)&srv->sigint, NULL);
  uv_close((uv_handle_t*)&srv->sigterm, NULL);
  uv_close((uv_handle_t*)&srv->flush, NULL);
  if (srv->rt != NULL) {
    capsid_runtime_close(srv->rt, on_runtime_closed, NULL);
    srv->rt = NULL;
  }
}


static int start_stdio(serve_t* srv) {
  serve_client_t* c = client_new(srv);
  int rc;

  if (c == NULL)
    return CAPSID_ENOMEM;
  c->split = 1;
  uv_pipe_init(&srv->loop, &c->pipe, 0);
  uv_pipe_init(&srv->loop, &c->out, 0);
  /* `capsid serve --stdio < requests.jsonl`: a file cannot be polled
   * (libuv aborts on one opened as a pipe). */
  c->file_in = uv_guess_handle(0) == UV_FILE;
  c->file_out = uv_guess_handle(1) == UV_FILE;
  if (c->file_in) {
    uv_timer_init(&srv->loop, &c->file_kick);
    c->file_kick.data = c;
    rc = 0;
  } else {
    rc = uv_pipe_open(&c->pipe, 0);
  }
  if (rc == 0 && !c->file_out)
    rc = uv_pipe_open(&c->out, 1);
  client_add(srv, c);
  if (rc != 0) {
    fprintf(stderr, "capsid serve: --stdio: %s\n", uv_strerror(rc));
    client_close(c);
    return CAPSID_EIO;
  }
  serve__peer_self(&c->peer);
  c->owner = 1;
  client_read(c);
  return 0;
}


static int start_listening(serve_t* srv) {
  int rc;

  uv_pipe_init(&srv->loop, &srv->listener, 0);
  srv->listener.data = srv;
  if (srv->opt.listen_fd >= 0) {
    rc = uv_pipe_open(&srv->listener, srv->opt.listen_fd);
    if (rc != 0) {
      fprintf(stderr, "capsid serve: the inherited socket (fd %d): %s\n",
              srv->opt.listen_fd, uv_strerror(rc));
      uv_close((uv_handle_t*)&srv->listener, NULL);
      return CAPSID_EIO;
    }
  } else {
    rc = serve__listen(srv, srv->opt.socket_path, srv->opt.socket_mode);
    if (rc != 0) {
      uv_close((uv_handle_t*)&srv->listener, NULL);
      return rc;
    }
  }
  rc = uv_listen((uv_stream_t*)&srv->listener, 128, on_connection);
  if (rc != 0) {
    fprintf(stderr, "capsid serve: cannot listen: %s\n", uv_strerror(rc));
    uv_close((uv_handle_t*)&srv->listener, NULL);
    return CAPSID_EIO;
  }
  srv->listening = 1;
  return 0;
}


int serve_run(const serve_options_t* opt) {
  capsid_runtime_options_t ropt;
  serve_t* srv;
  int rc;

  srv = capsid__calloc(1, sizeof(*srv));
  if (srv == NULL)
    return CAPSID_ENOMEM;
  srv->opt = *opt;
  srv->self_uid = serve__self_uid();
  rc = uv_loop_init(&srv->loop);
  if (rc != 0) {
    capsid__free(srv);
    return CAPSID_EIO;
  }
  uv_prepare_init(&srv->loop, &srv->flush);
  srv->flush.data = srv;
  ropt = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ropt.loop = &srv->loop;
  ropt.max_concurrency = opt->jobs;
  rc = capsid_runtime_new(&ropt, &srv->rt);
  if (rc != 0)
    fprintf(stderr, "capsid serve: cannot start the runtime: %s\n",
            capsid_strerror(rc));
  if (rc == 0)
    rc = opt->stdio ? start_stdio(srv) : start_listening(srv);
  if (rc != 0) {
    if (srv->rt != NULL)
      capsid_runtime_close(srv->rt, NULL, NULL);
    uv_close((uv_handle_t*)&srv->flush, NULL);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    uv_loop_close(&srv->loop);
    capsid__free(srv->socket_path);
    capsid__free(srv);
    return rc;
  }
  uv_signal_init(&srv->loop, &srv->sigint);
  uv_signal_init(&srv->loop, &srv->sigterm);
  srv->sigint.data = srv->sigterm.data = srv;
  uv_signal_start(&srv->sigint, on_signal, SIGINT);
  uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
  if (opt->stdio)
    uv_unref((uv_handle_t*)&srv->sigint), uv_unref((uv_handle_t*)&srv->sigterm);
  else
    serve__log(srv, "listening on %s (protocol %d)",
               srv->socket_path ? srv->socket_path : "an inherited socket",
               SERVE_PROTOCOL_VERSION);
  uv_run(&srv->loop, UV_RUN_DEFAULT);
  /* stdio: the client hung up; stop like a shutdown. */
  if (!srv->finished) {
    serve__stop(srv);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
  }
  if (!srv->finished) {
    srv->finished = 1;
    uv_close((uv_handle_t*)&srv->sigint, NULL);
    uv_close((uv_handle_t*)&srv->sigterm, NULL);
    uv_close((uv_handle_t*)&srv->flush, NULL);
    if (srv->rt != NULL)
      capsid_runtime_close(srv->rt, NULL, NULL);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&srv->loop);
  if (srv->socket_path != NULL)
    remove(srv->socket_path);
  capsid__free(srv->socket_path);
  capsid__free(srv);
  return 0;
}
