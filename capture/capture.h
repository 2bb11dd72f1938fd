/* Output capture and stdin delivery for one job, on the loop.
 *
 * Life cycle: capsid__capture_init creates three pipes; the launcher hands
 * child_stdio to the child; capsid__capture_start closes the child's ends
 * in the parent, starts reading stdout and stderr and writing stdin;
 * on_eof fires once both output streams have ended; capsid__capture_close
 * closes every handle and calls on_closed. The capture never stops reading
 * because of the cap: bytes past it are counted and dropped, so a child is
 * never blocked on a full pipe. */
#ifndef CAPSID_CAPTURE_H
#define CAPSID_CAPTURE_H

#include "capsid-common.h"
#include "outbuf.h"

#include <uv.h>

typedef struct capsid__capture_s capsid__capture_t;

typedef void (*capsid__capture_data_cb)(capsid__capture_t* cap, int stream,
                                        const char* bytes, size_t len);
typedef void (*capsid__capture_cb)(capsid__capture_t* cap);
/* A write of capsid__capture_stdin_write is done: status 0 (in the pipe)
 * or a libuv error (the reader went away, or the pipe was closed first). */
typedef void (*capsid__capture_write_cb)(capsid__capture_t* cap,
                                         uv_write_t* req, int status);

struct capsid__capture_s {
  uv_pipe_t out;
  uv_pipe_t err;
  uv_pipe_t in;
  uv_write_t write_req;
  capsid__outbuf_t out_buf;
  capsid__outbuf_t err_buf;
  uv_file child_stdio[3];
  const char* stdin_data; /* borrowed from the job until written */
  size_t stdin_len;
  char* read_buf;         /* shared by all jobs of a runtime */
  size_t read_buf_size;
  int open_handles;
  int eof_out;
  int eof_err;
  int read_error;         /* first read error (libuv code), or 0 */
  int started;
  /* Streamed stdin: set before capsid__capture_start to keep the pipe
   * open after stdin_data, for capsid__capture_stdin_write, until
   * capsid__capture_stdin_end. */
  int stdin_open;
  int stdin_ended;
  unsigned stdin_inflight; /* writes handed to libuv, not yet done */
  capsid__capture_write_cb on_stdin_written;
  capsid__capture_data_cb on_data;
  capsid__capture_cb on_eof;
  capsid__capture_cb on_closed;
  void* data;
};

/* Creates the pipes. read_buf (read_buf_size bytes) is used for every read;
 * it may be shared by captures on one loop because libuv hands each read
 * to its callback before the next read starts. */
int capsid__capture_init(capsid__capture_t* cap, uv_loop_t* loop,
                         uint64_t limit, const char* stdin_data,
                         size_t stdin_len, char* read_buf,
                         size_t read_buf_size, capsid_error_t* err);
/* After the child started: the parent closes the child's ends. */
void capsid__capture_start(capsid__capture_t* cap);
/* Streamed stdin (stdin_open), after capsid__capture_start: queues len
 * bytes, which stay the caller's until on_stdin_written reports req done
 * (also when the pipe closes first: then with UV_ECANCELED, before
 * on_closed). Returns 0, or UV_EPIPE when the job's stdin is closed
 * already (on_stdin_written will not be called). */
int capsid__capture_stdin_write(capsid__capture_t* cap, uv_write_t* req,
                                const char* bytes, size_t len);
/* No more stdin: the pipe closes once the writes queued are done, and
 * the job reads EOF. */
void capsid__capture_stdin_end(capsid__capture_t* cap);
/* Closes everything; on_closed runs when the last handle is closed. Also
 * valid when capsid__capture_start was never called. */
void capsid__capture_close(capsid__capture_t* cap);
/* Moves the captured output into the result (after on_closed). */
int capsid__capture_finish(capsid__capture_t* cap, capsid_output_t* out,
                           capsid_output_t* err);

/* Per OS: enlarges the kernel buffer of a pipe where possible (Linux:
 * 1 MiB, which cuts reader wake-ups 30-50x). Failure is harmless. */
void capsid__pipe_tune(uv_file fd);

#endif
