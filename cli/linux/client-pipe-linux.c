/* Linux serves "unix:PATH" only (cli/client.c): no named pipes. */
#include "client-pipe.h"

const char cli_client_addr_form[] = "unix:/path/to.sock";


int cli_client_open_pipe(cli_client_t* c, const char* addr,
                         uv_connect_cb cb) {
  (void)c;
  (void)addr;
  (void)cb;
  return UV_EINVAL;
}
