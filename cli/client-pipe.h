/* The thin client's connection to an address that is not "unix:PATH":
 * on Windows, "pipe:NAME" (serve/win/serve-pipe.h), opened with no more
 * rights than a client needs; on Linux, nothing. And the address form
 * each OS serves, for messages. */
#ifndef CAPSID_CLI_CLIENT_PIPE_H
#define CAPSID_CLI_CLIENT_PIPE_H

#include "client.h"

/* A server address of the form this OS serves, for the hint after a bad
 * --server or CAPSID_SERVER: "unix:/path/to.sock" on Linux, "pipe:NAME"
 * on Windows, where capsid serve listens on named pipes only. */
extern const char cli_client_addr_form[];

/* Starts connecting c->pipe (not yet initialised) to addr on c->loop; cb
 * gets c->connect with c->connect.data == c, as uv_pipe_connect's would.
 * Returns 0, or UV_EINVAL for an address this OS does not serve. */
int cli_client_open_pipe(cli_client_t* c, const char* addr,
                         uv_connect_cb cb);

#endif
