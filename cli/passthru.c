#include "passthru.h"

#include <stdio.h>

size_t cli_passthru_take(cli_passthru_t* p, int stream, size_t len) {
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
