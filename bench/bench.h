/* Shared pieces of the benchmarks behind `capsid bench NAME`.
 *
 * Every benchmark measures capsid and a named baseline in the same run
 * (these machines are shared and noisy, so figures from another run are
 * not comparable), prints a table with the ratio, and can append the rows
 * to a CSV file. Benchmarks never assert timings: they report. */
#ifndef CAPSID_BENCH_H
#define CAPSID_BENCH_H

#include "capsid-common.h"

#include <stdio.h>

typedef struct bench_opts_s {
  long n;             /* iterations or jobs; 0: the benchmark's default */
  int jobs;           /* parallelism where it applies */
  const char* csv;    /* append rows here, or NULL */
  capsid_mode_t mode; /* confinement asked of capsid's jobs */
  int quick;          /* small N: proves the benchmark works (CI) */
} bench_opts_t;

/* Parses the common options (-n, -j, --csv, --mode, --quick, --help).
 * Returns 0, 1 after printing help, or -1 after printing an error. */
int bench_parse(const char* name, const char* help, int argc, char** argv,
                bench_opts_t* o);

typedef struct bench_stats_s {
  double median;
  double mean;
  double p90;
  double min;
} bench_stats_t;

/* Sorts samples in place and summarises them. */
void bench_stats(double* samples, size_t n, bench_stats_t* out);

/* Seconds since an arbitrary point, monotonic. */
double bench_now(void);

/* Table output: one header, rows with a value, its unit and the ratio to
 * the baseline (<= 0 prints "-"). Rows also go to the CSV when set. */
void bench_header(const char* bench, const char* what);
void bench_row(const bench_opts_t* o, const char* bench, const char* name,
               double value, const char* unit, double ratio);
void bench_note(const char* fmt, ...) CAPSID__PRINTF(1, 2);

/* Runs argv to completion (posix_spawn + waitpid) with stdout and stderr
 * sent to /dev/null unless keep_output. Returns the exit status or -1. */
int bench_spawn_wait(char* const* argv, int keep_output);

/* A synthetic tree at root: dirs directories in two levels (about
 * sqrt(dirs) top-level ones, dNNNN/sNNNN), files spread evenly over them,
 * one in ten executable (bench-acl.c). Returns 0 or -1. */
int bench_make_tree(const char* root, long files, long dirs);

/* Path of the running capsid binary. */
const char* bench_self(void);

/* Benchmarks. */
int bench_spawn_main(int argc, char** argv);
int bench_batch_main(int argc, char** argv);
int bench_capture_main(int argc, char** argv);
int bench_memory_main(int argc, char** argv);
int bench_acl_main(int argc, char** argv);
int bench_workspace_main(int argc, char** argv);
int bench_serve_main(int argc, char** argv);

#endif
