#include "capture.h"

#include <fcntl.h>

void capsid__pipe_tune(uv_file fd) {
  /* An unprivileged user past pipe-user-pages-soft gets EPERM here; the
   * default 64 KiB buffer then still works, only with more wake-ups. */
  (void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}
