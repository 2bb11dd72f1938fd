/* The thin client on Windows: "pipe:NAME" opened with
 * SERVE_PIPE_CLIENT_ACCESS, not libuv's GENERIC_WRITE (which, for a pipe,
 * asks for FILE_CREATE_PIPE_INSTANCE, a right the server's DACL gives
 * only its own user), then handed to libuv. */
#include "client-pipe.h"

#include "serve-pipe.h"
#include "win-util.h"

#include <fcntl.h>
#include <io.h>
#include <string.h>

/* The thin client reaches a Windows server by its pipe only: the server
 * refuses a Unix socket path (serve/win/listen-win.c). */
const char cli_client_addr_form[] = "pipe:NAME";

/* Waiting for a free instance when every one is busy. */
#define PIPE_BUSY_WAIT_MS 10000

typedef struct opened_s {
  uv_timer_t timer;
  cli_client_t* c;
  uv_connect_cb cb;
  int status;
} opened_t;


static void on_timer_closed(uv_handle_t* h) {
  capsid__free(h->data);
}


/* The connect callback runs from the loop, as with uv_pipe_connect. */
static void on_opened(uv_timer_t* t) {
  opened_t* o = t->data;

  o->cb(&o->c->connect, o->status);
  uv_close((uv_handle_t*)t, on_timer_closed);
}


/* The pipe's handle, or INVALID_HANDLE_VALUE with *err set (a libuv
 * error). */
static HANDLE open_pipe(const char* path, int* err) {
  WCHAR* wide = capsid__utf16(path);
  HANDLE h = INVALID_HANDLE_VALUE;
  int tries;

  if (wide == NULL) {
    *err = UV_ENOMEM;
    return h;
  }
  for (tries = 0; tries < 3; tries++) {
    /* Impersonation level: the server resolves the job's paths as this
     * client, opening them with its token. */
    h = CreateFileW(wide, SERVE_PIPE_CLIENT_ACCESS, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
                        SECURITY_IMPERSONATION,
                    NULL);
    if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY ||
        !WaitNamedPipeW(wide, PIPE_BUSY_WAIT_MS))
      break;
  }
  if (h == INVALID_HANDLE_VALUE)
    *err = uv_translate_sys_error((int)GetLastError());
  capsid__free(wide);
  return h;
}


int cli_client_open_pipe(cli_client_t* c, const char* addr,
                         uv_connect_cb cb) {
  char* path;
  opened_t* o;
  HANDLE h;
  int fd, err = 0;

  if (strncmp(addr, "pipe:", 5) != 0 ||
      (path = serve_pipe_path(addr)) == NULL)
    return UV_EINVAL;
  o = capsid__calloc(1, sizeof(*o));
  if (o == NULL) {
    capsid__free(path);
    return UV_ENOMEM;
  }
  uv_pipe_init(c->loop, &c->pipe, 0);
  c->pipe.data = c;
  c->connect.data = c;
  h = open_pipe(path, &err);
  capsid__free(path);
  if (h != INVALID_HANDLE_VALUE) {
    fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
    if (fd < 0) {
      CloseHandle(h);
      err = UV_EMFILE;
    } else {
      err = uv_pipe_open(&c->pipe, fd);
      if (err != 0)
        _close(fd);
    }
  }
  o->c = c;
  o->cb = cb;
  o->status = err;
  uv_timer_init(c->loop, &o->timer);
  o->timer.data = o;
  uv_timer_start(&o->timer, on_opened, 0, 0);
  return 0;
}
