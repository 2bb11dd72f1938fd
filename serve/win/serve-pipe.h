/* The named pipe a Windows `capsid serve` listens on, as its clients
 * (the thin client of run and batch) name and open it. */
#ifndef CAPSID_SERVE_PIPE_H
#define CAPSID_SERVE_PIPE_H

#include <windows.h>

/* What a client other than the server's own user may do with the pipe:
 * read, write its requests, set its end to byte mode. Not GENERIC_WRITE:
 * for a pipe that includes FILE_APPEND_DATA, which is
 * FILE_CREATE_PIPE_INSTANCE, the right to add an instance of its own
 * under the server's name and receive other clients' requests. The thin
 * client connects with exactly these rights. */
#define SERVE_PIPE_CLIENT_ACCESS \
  (FILE_GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES)

/* The pipe path of a --socket or --server address: "pipe:NAME",
 * "\\.\pipe\NAME" or a bare NAME without separators. NULL when addr is
 * none of those (a Unix socket path, say). Caller frees. */
char* serve_pipe_path(const char* addr);

#endif
