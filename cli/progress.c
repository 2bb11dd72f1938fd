#include "cli.h"

#include "acl.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cli_progress_init(cli_progress_t* p, int requested, long total) {
  memset(p, 0, sizeof(*p));
  /* A bar is for a person: never draw into a file or a pipe. */
  p->enabled = requested && isatty(2);
  p->total = total;
  p->start_ns = capsid__hrtime();
}


/* Counted from the jobs in flight, not asked of the runtime: the runtime
 * starts the next queued job on the loop's next turn, so between two jobs
 * its count is one short, and it stayed so on the bar until the next job
 * ended. */
void cli_progress_in_flight(cli_progress_t* p, long in_flight) {
  p->running = p->slots > 0 && in_flight > p->slots ? p->slots : in_flight;
}


static void format_eta(double seconds, char* buf, size_t size) {
  if (seconds < 0 || seconds > 360000)
    snprintf(buf, size, "--");
  else if (seconds >= 3600)
    snprintf(buf, size, "%dh%02dm", (int)seconds / 3600,
             (int)seconds % 3600 / 60);
  else if (seconds >= 60)
    snprintf(buf, size, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
  else
    snprintf(buf, size, "%.0fs", seconds);
}


void cli_progress_draw(cli_progress_t* p, int force) {
  uint64_t now = capsid__hrtime();
  double elapsed, rate;
  char eta[32], bar[32];
  int width = 24, filled, i;

  if (!p->enabled)
    return;
  /* Ten redraws a second are plenty and cost nothing measurable. */
  if (!force && now - p->last_draw_ns < 100000000u)
    return;
  p->last_draw_ns = now;
  elapsed = (double)(now - p->start_ns) / 1e9;
  rate = elapsed > 0 ? (double)p->done / elapsed : 0;
  if (p->total > 0) {
    filled = (int)((double)p->done / (double)p->total * width);
    if (filled > width)
      filled = width;
    for (i = 0; i < width; i++)
      bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    format_eta(rate > 0 ? (double)(p->total - p->done) / rate : -1, eta,
               sizeof(eta));
    fprintf(stderr,
            "\r[%s] %ld/%ld done, %ld running, %ld failed, %.1f jobs/s, "
            "ETA %s  ",
            bar, p->done, p->total, p->running, p->failed, rate, eta);
  } else {
    fprintf(stderr, "\r%ld done, %ld running, %ld failed, %.1f jobs/s  ",
            p->done, p->running, p->failed, rate);
  }
  fflush(stderr);
}


void cli_progress_end(cli_progress_t* p) {
  if (!p->enabled)
    return;
  cli_progress_draw(p, 1);
  fputc('\n', stderr);
}


void cli_progress_tree(const cli_progress_t* bar, const char* label,
                       const char* counted, const capsid__acl_stats_t* s) {
  if (!bar->enabled)
    return;
  fprintf(stderr, "\r%s: %llu dirs, %llu files, %llu %s, %llu unchanged "
          "dirs  ",
          label, (unsigned long long)s->dirs, (unsigned long long)s->files,
          (unsigned long long)s->changed, counted,
          (unsigned long long)s->unchanged_dirs);
  if (s->phase == CAPSID__ACL_PHASE_DONE)
    fputc('\n', stderr);
  fflush(stderr);
}
