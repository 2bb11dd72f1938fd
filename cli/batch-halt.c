/* --halt, as GNU parallel reads it: WHEN,COND=X with WHEN now (kill the
 * running jobs) or soon (let them finish, start no more), COND fail,
 * success or done, and X a count or a percentage. parallel's short forms
 * are accepted too: "never", and 1 or 2 for soon,fail=1 and now,fail=1. */
#include "batch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A percentage means little over one or two jobs: as parallel does, it
 * is judged once this many have finished. */
#define HALT_MIN_FOR_PERCENT 3

static int halt_usage(const char* value) {
  fprintf(stderr, "capsid batch: --halt: \"%s\" is not one of never, "
          "now|soon,fail=N, now|soon,fail=P%%, now|soon,success=N|P%%, "
          "now|soon,done=N|P%% (examples: now,fail=1, soon,fail=10%%)\n",
          value);
  return -1;
}


int cli_halt_parse(const char* value, cli_halt_t* h) {
  const char* comma = strchr(value, ',');
  const char* cond;
  char* end = NULL;
  double x;

  memset(h, 0, sizeof(*h));
  if (strcmp(value, "never") == 0 || strcmp(value, "0") == 0)
    return 0;
  if (strcmp(value, "1") == 0 || strcmp(value, "2") == 0) {
    h->when = value[0] == '1' ? HALT_SOON : HALT_NOW;
    h->count = 1;
    return 0;
  }
  if (comma == NULL)
    return halt_usage(value);
  if ((size_t)(comma - value) == 3 && strncmp(value, "now", 3) == 0)
    h->when = HALT_NOW;
  else if ((size_t)(comma - value) == 4 && strncmp(value, "soon", 4) == 0)
    h->when = HALT_SOON;
  else
    return halt_usage(value);
  cond = comma + 1;
  if (strncmp(cond, "fail=", 5) == 0)
    h->on = HALT_FAIL, cond += 5;
  else if (strncmp(cond, "success=", 8) == 0)
    h->on = HALT_SUCCESS, cond += 8;
  else if (strncmp(cond, "done=", 5) == 0)
    h->on = HALT_DONE, cond += 5;
  else
    return halt_usage(value);
  if (*cond < '0' || *cond > '9')
    return halt_usage(value);
  x = strtod(cond, &end);
  if (end != NULL && *end == '%' && end[1] == '\0') {
    if (!(x > 0) || x > 100)
      return halt_usage(value);
    h->percent = x;
    return 0;
  }
  if (end == NULL || *end != '\0' || x < 1 || x > 1e9 || x != (long)x)
    return halt_usage(value);
  h->count = (long)x;
  return 0;
}


int cli_halt_reached(const cli_halt_t* h, long done, long ok, long failed) {
  long n;

  if (h->when == HALT_NEVER)
    return 0;
  n = h->on == HALT_FAIL ? failed : h->on == HALT_SUCCESS ? ok : done;
  if (h->percent > 0)
    return done >= HALT_MIN_FOR_PERCENT &&
           (double)n * 100.0 >= h->percent * (double)done;
  return n >= h->count;
}


void cli_halt_format(const cli_halt_t* h, char* buf, size_t size) {
  static const char* const on[] = {"fail", "success", "done"};

  if (h->percent > 0)
    snprintf(buf, size, "%s,%s=%g%%", h->when == HALT_NOW ? "now" : "soon",
             on[h->on], h->percent);
  else
    snprintf(buf, size, "%s,%s=%ld", h->when == HALT_NOW ? "now" : "soon",
             on[h->on], h->count);
}


int cli_batch_signal(int signum, uint64_t grace_ms, int* interrupted,
                     int* killed_all) {
  const char* name = signum == SIGINT ? "SIGINT" : "SIGTERM";

  if (*interrupted && *killed_all)
    return -1;
  if (*interrupted)
    *killed_all = 1;
  else
    *interrupted = signum;
  if (*killed_all)
    fprintf(stderr, "\ncapsid batch: %s again; killing the running jobs\n",
            name);
  else
    fprintf(stderr, "\ncapsid batch: %s; stopping: running jobs get "
            "SIGTERM and %llu ms to end (signal again to kill them now)\n",
            name, (unsigned long long)grace_ms);
  return 0;
}
