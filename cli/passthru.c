#include "passthru.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static size_t take(cli_passthru_t* p, int stream, size_t len) {
  int i = stream == CAPSID_STDOUT ? 0 : 1;
  size_t keep = len;

  /* The head is shown as it comes, like a terminal would; the tail cannot
   * be without holding the output back, so past the limit it is cut. */
  if (p->limit > 0) {
    uint64_t room = p->shown[i] < p->limit ? p->limit - p->shown[i] : 0;
    if (keep > room)
      keep = (size_t)room;
    p->cut[i] += len - keep;
  }
  p->shown[i] += keep;
  return keep;
}


void cli_passthru_write(cli_passthru_t* p, int stream, const char* bytes,
                        size_t len) {
  int fd = stream == CAPSID_STDOUT ? 1 : 2;
  ssize_t n;

  len = take(p, stream, len);
  while (len > 0) {
    n = write(fd, bytes, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return; /* our reader went away; the job's result still counts */
    }
    bytes += n;
    len -= (size_t)n;
  }
}


void cli_passthru_report(const cli_passthru_t* p) {
  static const char* const names[] = {"stdout", "stderr"};
  int i;

  for (i = 0; i < 2; i++)
    if (p->cut[i] > 0)
      fprintf(stderr, "\ncapsid: %s passed --output-limit (%llu bytes): the "
              "last %llu bytes were not shown\n", names[i],
              (unsigned long long)p->limit,
              (unsigned long long)p->cut[i]);
}
