/* The server's objects, shared by server.c (listener, connections,
 * writes), request.c (the protocol's requests), authorize.c (what a
 * client may ask for) and serve/<os>/peer-<os>.c (who the client is). */
#ifndef CAPSID_SERVE_INT_H
#define CAPSID_SERVE_INT_H

#include "serve.h"

#include "jobline.h"

#include <jansson.h>
#include <uv.h>

#define SERVE_MAX_GROUPS 256

/* Who is on the other end of a connection, from the socket itself. */
typedef struct serve_peer_s {
  uint32_t uid;
  uint32_t gid;
  int pid;
  uint32_t groups[SERVE_MAX_GROUPS]; /* supplementary groups */
  int n_groups;
  void* token;   /* Windows: the client's impersonation token, which
                    serve__check_paths checks with; NULL on Linux */
} serve_peer_t;

typedef struct serve_s serve_t;
typedef struct serve_client_s serve_client_t;
typedef struct serve_job_s serve_job_t;

struct serve_s {
  uv_loop_t loop;
  capsid_runtime_t* rt;
  serve_options_t opt;
  uint32_t self_uid;       /* the server's effective uid */
  uv_pipe_t listener;
  int listening;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_prepare_t flush;      /* writes the events of a loop turn */
  serve_client_t* clients;
  serve_job_t* jobs;       /* every job not yet finished */
  uint64_t next_job;
  uint64_t next_client;
  int stopping;            /* shutdown asked: no new jobs, no new clients */
  int finished;            /* everything closed */
  char* socket_path;       /* ours to unlink at exit, or NULL */
};

struct serve_client_s {
  serve_client_t* prev;
  serve_client_t* next;
  serve_t* srv;
  uint64_t id;
  uv_pipe_t pipe;          /* the connection (the stdin end for stdio) */
  uv_pipe_t out;           /* stdio: stdout; else unused */
  int split;               /* reads from pipe, writes to out */
  /* stdio from a regular file (or a device such as /dev/null), which
   * cannot be polled: read in chunks, one per turn of the loop, started
   * by file_kick (server.c); pipe is then never opened. */
  int file_in;
  uv_timer_t file_kick;
  /* stdio to a file: events go out as file writes on the thread pool,
   * one in flight at a time (server.c). */
  int file_out;
  int fs_writing;
  serve_peer_t peer;
  int owner;               /* the server's own user or root */
  capsid__buf_t in;        /* request lines not yet handled */
  size_t tail;             /* bytes of `in` after its last newline */
  capsid__buf_t pending;   /* event lines of this loop turn, not yet
                              handed to uv_write */
  size_t queued;           /* event bytes pending or written, not sent */
  /* Requests are not taken in order: the event queue is full, or they
   * wait on a job (deferred, stdin_job). Reading goes on only in the
   * second case (server.c, client_wants_bytes). */
  int paused;
  int reading;             /* a socket or pipe: uv_read_start is on */
  size_t scanned;          /* bytes of `in` looked at for cancels */
  int closing;
  int pending_closes;
  unsigned n_jobs;         /* this client's unfinished jobs */
  /* stdio: the input ended (no more requests); the client is closed,
   * ending the server, once its jobs ended and their events are out. */
  int input_ended;
  /* stdio: the run request at the head of `in` waits for one of the
   * client's jobs to end (SERVE_CLIENT_MAX_JOBS); the client is paused. */
  int deferred;
  /* Streamed stdin the job's queue had no room for: the client's
   * requests wait (paused) until the job takes it (or ends); only
   * cancels pass. */
  serve_job_t* stdin_job;
  capsid__buf_t stdin_hold;
  int stdin_hold_eof;
};

struct serve_job_s {
  serve_job_t* prev;
  serve_job_t* next;
  serve_t* srv;
  serve_client_t* client;  /* NULL once the client went away */
  uint64_t id;
  uint32_t uid;            /* whose job it is */
  int spawned;             /* its process started ("started" was sent) */
  int stdin_stream;        /* stdin is fed by stdin requests */
  int stdin_eof;           /* ... and they ended it */
  capsid_job_t* job;
  scale_jobline_t jl;
  long line;               /* "line" of the request, for the result */
  int stream;              /* send output events */
  uint64_t dropped[2];     /* streamed bytes not sent (back-pressure) */
};

/* server.c */
/* Queues one event line (text without its newline) to the client; takes
 * ownership of nothing. droppable events (output) are refused, returning
 * 1, when the client's queue is over its limit. Returns 0, 1, or -1. */
int serve__send(serve_client_t* c, const char* text, size_t len,
                int droppable);
/* Builds {"v":1,"event":NAME, ...members of extra} and sends it; steals
 * extra. */
int serve__event(serve_client_t* c, const char* name, json_t* extra);
/* An error event naming the request's field, with the request's tag. */
int serve__error(serve_client_t* c, json_t* tag, const char* field,
                 const char* fmt, ...) CAPSID__PRINTF(4, 5);
void serve__log(serve_t* srv, const char* fmt, ...) CAPSID__PRINTF(2, 3);
/* Stops taking a client's requests in order (its buffered ones wait
 * too), and takes them again once nothing holds it: its event queue is
 * half empty, no stdin waits for room and no run for a slot. Reading
 * goes on meanwhile only while they wait on a job, for the cancels
 * (server.c). */
void serve__client_pause(serve_client_t* c);
void serve__client_resume(serve_client_t* c);
/* Closes a client whose input ended once it has no job left and every
 * event is written (server.c). */
void serve__client_settle(serve_client_t* c);
/* Stops the server: no new clients or jobs, running jobs get SIGTERM
 * and the grace, then everything closes. */
void serve__stop(serve_t* srv);
/* Everything that held the loop open is gone: close what is left. */
void serve__maybe_finish(serve_t* srv);

/* request.c */
/* Handles one request line from c. */
void serve__request(serve_client_t* c, const char* text, size_t len);
/* 1 if the line is a cancel request (of at most SERVE_CANCEL_PEEK_MAX
 * bytes): such a line may pass requests that wait on a job (server.c,
 * client_take_cancels). */
#define SERVE_CANCEL_PEEK_MAX ((size_t)64 << 10)
int serve__request_is_cancel(const char* text, size_t len);
/* The client is going away: cancel its jobs, detach them from it. */
void serve__client_gone(serve_client_t* c);
/* The client sends nothing more (stdio's input ended): its jobs' streamed
 * stdin ends too, as no stdin request can follow. */
void serve__client_input_ended(serve_client_t* c);
/* Sends every running job SIGTERM with grace_ms (0: kill). */
void serve__signal_all(serve_t* srv, uint64_t grace_ms);

/* authorize.c */
/* Checks a parsed job against what the client could do itself and
 * rewrites its paths to the canonical ones that were checked. Returns 0,
 * or fills err (field named) and returns its code. */
int serve__authorize(serve_t* srv, const serve_peer_t* peer,
                     scale_jobline_t* jl, capsid_error_t* err);

/* serve/<os>/peer-<os>.c */
int serve__peer_of(uv_pipe_t* pipe, serve_peer_t* out);
/* This process as a peer (the stdio client). */
void serve__peer_self(serve_peer_t* out);
/* Releases what serve__peer_of or serve__peer_self holds (the token). */
void serve__peer_release(serve_peer_t* peer);
uint32_t serve__self_uid(void);
/* May this peer connect at all (the owner, root, or an allowed user or
 * group)? */
int serve__peer_allowed(const serve_t* srv, const serve_peer_t* peer);

/* One path a job would be given, as the client named it. */
typedef struct serve_path_s {
  const char* given;  /* absolute */
  const char* field;  /* "cwd", "writable_roots[0]" */
  int want_write;     /* 1: must be writable (a root); 0: readable (cwd) */
  int want_owner;     /* also owned by the client */
  char* canon;        /* out: the canonical path that was checked */
} serve_path_t;

/* Resolves every path and checks it with the peer's own credentials
 * (its uid, gid and groups, not the server's), so a path the client could
 * not reach or write, also through a symbolic link, is refused. Fills
 * canon of each (NULL for a path that does not exist when missing_ok).
 * Returns 0 or CAPSID_EPERM with err naming the field. */
int serve__check_paths(const serve_peer_t* peer, serve_path_t* paths,
                       size_t n, int missing_ok, capsid_error_t* err);

/* Listening: creates the socket's directory, binds, sets the mode. */
int serve__listen(serve_t* srv, const char* path, int mode);

#endif
