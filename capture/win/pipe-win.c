#include "capture.h"

void capsid__pipe_tune(uv_file fd) {
  /* libuv's uv_pipe() sizes the named pipe when it creates it; a Windows
   * pipe's buffer cannot be changed afterwards. */
  (void)fd;
}
