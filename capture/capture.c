#include "capture.h"

#include "fault.h"

#include <string.h>

static void handle_closed(uv_handle_t* handle) {
  capsid__capture_t* cap = handle->data;

  if (--cap->open_handles == 0 && cap->on_closed != NULL)
    cap->on_closed(cap);
}


static void close_handle(capsid__capture_t* cap, uv_handle_t* handle) {
  (void)cap;
  if (handle->data != NULL && !uv_is_closing(handle))
    uv_close(handle, handle_closed);
}


static void alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  capsid__capture_t* cap = handle->data;

  (void)suggested;
  buf->base = cap->read_buf;
  buf->len = cap->read_buf_size;
}


static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  capsid__capture_t* cap = stream->data;
  int which = stream == (uv_stream_t*)&cap->out ? CAPSID_STDOUT
                                                : CAPSID_STDERR;
  capsid__outbuf_t* ob = which == CAPSID_STDOUT ? &cap->out_buf
                                                : &cap->err_buf;

  if (nread > 0) {
    capsid__outbuf_write(ob, buf->base, (size_t)nread);
    if (cap->on_data != NULL)
      cap->on_data(cap, which, buf->base, (size_t)nread);
    return;
  }
  if (nread == 0)
    return;
  /* EOF or an error both end the stream; an error is remembered. */
  if (nread != UV_EOF && cap->read_error == 0)
    cap->read_error = (int)nread;
  uv_read_stop(stream);
  if (which == CAPSID_STDOUT)
    cap->eof_out = 1;
  else
    cap->eof_err = 1;
  if (cap->eof_out && cap->eof_err && cap->on_eof != NULL)
    cap->on_eof(cap);
}


/* Every stdin write ends here: the first one (stdin_data) and the
 * streamed ones. */
static void write_cb(uv_write_t* req, int status) {
  capsid__capture_t* cap = req->handle->data;

  cap->stdin_inflight--;
  if (req == &cap->write_req)
    cap->stdin_data = NULL;
  /* EPIPE just means the job did not read all its input: not an error of
   * capsid's, and the job's exit status tells the story. The pipe closes
   * then (what is still queued comes back canceled), or when its last
   * byte is written and no more will come. */
  if (status != 0 ||
      ((!cap->stdin_open || cap->stdin_ended) && cap->stdin_inflight == 0))
    close_handle(cap, (uv_handle_t*)&cap->in);
  if (req != &cap->write_req && cap->on_stdin_written != NULL)
    cap->on_stdin_written(cap, req, status);
}


static int stdin_closed(const capsid__capture_t* cap) {
  return cap->in.data == NULL || uv_is_closing((const uv_handle_t*)&cap->in);
}


int capsid__capture_stdin_write(capsid__capture_t* cap, uv_write_t* req,
                                const char* bytes, size_t len) {
  uv_buf_t buf = uv_buf_init((char*)bytes, (unsigned)len);

  if (!cap->started || stdin_closed(cap) || cap->stdin_ended)
    return UV_EPIPE;
  if (uv_write(req, (uv_stream_t*)&cap->in, &buf, 1, write_cb) != 0) {
    close_handle(cap, (uv_handle_t*)&cap->in);
    return UV_EPIPE;
  }
  cap->stdin_inflight++;
  return 0;
}


void capsid__capture_stdin_end(capsid__capture_t* cap) {
  cap->stdin_ended = 1;
  if (cap->started && cap->stdin_inflight == 0)
    close_handle(cap, (uv_handle_t*)&cap->in);
}


static void close_fd(uv_file fd) {
  uv_fs_t req;

  if (fd < 0)
    return;
  uv_fs_close(NULL, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}


/* Wraps fd in a pipe handle. The fd is owned by the handle on success and
 * closed here on failure; an initialised handle is always counted so that
 * capsid__capture_close closes it. */
static int open_pipe(capsid__capture_t* cap, uv_loop_t* loop, uv_pipe_t* p,
                     uv_file fd) {
  int rc = uv_pipe_init(loop, p, 0);

  if (rc != 0) {
    close_fd(fd);
    return rc;
  }
  p->data = cap;
  cap->open_handles++;
  rc = capsid__fault("pipe-open");
  rc = rc ? uv_translate_sys_error(rc) : uv_pipe_open(p, fd);
  if (rc != 0)
    close_fd(fd);
  return rc;
}


int capsid__capture_init(capsid__capture_t* cap, uv_loop_t* loop,
                         uint64_t limit, const char* stdin_data,
                         size_t stdin_len, char* read_buf,
                         size_t read_buf_size, capsid_error_t* err) {
  uv_file fds[3][2];
  int rc = 0, i, made = 0;

  memset(cap, 0, sizeof(*cap));
  for (i = 0; i < 3; i++)
    cap->child_stdio[i] = -1;
  capsid__outbuf_init(&cap->out_buf, limit);
  capsid__outbuf_init(&cap->err_buf, limit);
  cap->read_buf = read_buf;
  cap->read_buf_size = read_buf_size;
  cap->stdin_data = stdin_data;
  cap->stdin_len = stdin_len;

  /* The parent's ends are non-blocking for the loop; the child's stay
   * blocking, as programs expect of their stdio. */
  for (i = 0; i < 3; i++) {
    rc = capsid__fault("pipe");
    if (rc != 0) {
      rc = uv_translate_sys_error(rc);
      break;
    }
    rc = i == 0 ? uv_pipe(fds[i], 0, UV_NONBLOCK_PIPE)
                : uv_pipe(fds[i], UV_NONBLOCK_PIPE, 0);
    if (rc != 0)
      break;
    made++;
  }
  if (rc != 0) {
    for (i = 0; i < made; i++) {
      close_fd(fds[i][0]);
      close_fd(fds[i][1]);
    }
    return capsid__error_set(err,
                             rc == UV_EMFILE || rc == UV_ENFILE
                                 ? CAPSID_EMFILE
                                 : CAPSID_EIO,
                             CAPSID_STAGE_PIPE, -rc, NULL, NULL,
                             "cannot create pipes: %s", uv_strerror(rc));
  }
  capsid__pipe_tune(fds[1][0]);
  capsid__pipe_tune(fds[2][0]);
  cap->child_stdio[0] = fds[0][0];
  cap->child_stdio[1] = fds[1][1];
  cap->child_stdio[2] = fds[2][1];

  /* Each open_pipe owns its fd from here on, success or not. */
  rc = open_pipe(cap, loop, &cap->in, fds[0][1]);
  i = open_pipe(cap, loop, &cap->out, fds[1][0]);
  rc = rc ? rc : i;
  i = open_pipe(cap, loop, &cap->err, fds[2][0]);
  rc = rc ? rc : i;
  if (rc != 0)
    return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_PIPE, -rc, NULL,
                             NULL, "cannot watch pipes: %s",
                             uv_strerror(rc));
  return 0;
}


void capsid__capture_start(capsid__capture_t* cap) {
  uv_buf_t buf;
  int i;

  for (i = 0; i < 3; i++) {
    close_fd(cap->child_stdio[i]);
    cap->child_stdio[i] = -1;
  }
  cap->started = 1;
  uv_read_start((uv_stream_t*)&cap->out, alloc_cb, read_cb);
  uv_read_start((uv_stream_t*)&cap->err, alloc_cb, read_cb);
  if (cap->stdin_len == 0) {
    /* EOF at once: a job that reads stdin must not wait forever (unless
     * its stdin is streamed: then capsid__capture_stdin_end closes it). */
    if (!cap->stdin_open || cap->stdin_ended)
      close_handle(cap, (uv_handle_t*)&cap->in);
    return;
  }
  buf = uv_buf_init((char*)cap->stdin_data, (unsigned)cap->stdin_len);
  cap->write_req.data = cap;
  if (uv_write(&cap->write_req, (uv_stream_t*)&cap->in, &buf, 1, write_cb) !=
      0)
    close_handle(cap, (uv_handle_t*)&cap->in);
  else
    cap->stdin_inflight++;
}


void capsid__capture_close(capsid__capture_t* cap) {
  int i;

  for (i = 0; i < 3; i++) {
    close_fd(cap->child_stdio[i]);
    cap->child_stdio[i] = -1;
  }
  if (cap->open_handles == 0) {
    if (cap->on_closed != NULL)
      cap->on_closed(cap);
    return;
  }
  close_handle(cap, (uv_handle_t*)&cap->out);
  close_handle(cap, (uv_handle_t*)&cap->err);
  close_handle(cap, (uv_handle_t*)&cap->in);
}


int capsid__capture_finish(capsid__capture_t* cap, capsid_output_t* out,
                           capsid_output_t* err) {
  int rc = capsid__outbuf_finish(&cap->out_buf, out);
  int rc2 = capsid__outbuf_finish(&cap->err_buf, err);

  return rc != 0 ? rc : rc2;
}
