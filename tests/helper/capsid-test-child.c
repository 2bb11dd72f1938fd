/* capsid-test-child ACTION [ARGS]: what tests run inside a job.
 *
 *   write-bytes N BYTE     write N bytes of BYTE (a number) to stdout
 *   write-both N           N bytes 'o' to stdout and N bytes 'e' to stderr
 *   echo-stdin             copy stdin to stdout
 *   env NAME               print the value of NAME, exit 3 if unset
 *   tree PIDFILE SECONDS   start two descendants that sleep, write all
 *                          three pids to PIDFILE, then sleep
 *   exit N                 exit with status N
 *   signal N               kill itself with signal N
 *   sleep-ms N             sleep N milliseconds
 *   binary                 write bytes that are not valid UTF-8
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void write_n(FILE* f, long n, int byte) {
  char buf[65536];
  long chunk;

  memset(buf, byte, sizeof(buf));
  while (n > 0) {
    chunk = n < (long)sizeof(buf) ? n : (long)sizeof(buf);
    fwrite(buf, 1, (size_t)chunk, f);
    n -= chunk;
  }
  fflush(f);
}


static void sleep_ms(long ms) {
  struct timespec ts;

  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0)
    ;
}


int main(int argc, char** argv) {
  const char* action = argc > 1 ? argv[1] : "";

  if (strcmp(action, "write-bytes") == 0 && argc == 4) {
    write_n(stdout, atol(argv[2]), atoi(argv[3]));
    return 0;
  }
  if (strcmp(action, "write-both") == 0 && argc == 3) {
    write_n(stdout, atol(argv[2]), 'o');
    write_n(stderr, atol(argv[2]), 'e');
    return 0;
  }
  if (strcmp(action, "echo-stdin") == 0) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
      fwrite(buf, 1, n, stdout);
    return 0;
  }
  if (strcmp(action, "env") == 0 && argc == 3) {
    const char* v = getenv(argv[2]);
    if (v == NULL)
      return 3;
    printf("%s", v);
    return 0;
  }
  if (strcmp(action, "tree") == 0 && argc == 4) {
    long seconds = atol(argv[3]);
    pid_t kids[2];
    FILE* f;
    int i;
    for (i = 0; i < 2; i++) {
      kids[i] = fork();
      if (kids[i] == 0) {
        /* The grandchild detaches from its parent's lifetime. */
        if (i == 1 && fork() != 0)
          _exit(0);
        sleep_ms(seconds * 1000);
        _exit(0);
      }
    }
    /* Wait for the middle process so the pids below are final. */
    waitpid(kids[1], NULL, 0);
    f = fopen(argv[2], "w");
    if (f == NULL)
      return 2;
    /* The grandchild's pid is not known here; list the process group
     * instead, which is what a tree kill must empty. */
    fprintf(f, "%d %d\n", (int)getpid(), (int)getpgrp());
    fclose(f);
    sleep_ms(seconds * 1000);
    return 0;
  }
  if (strcmp(action, "exit") == 0 && argc == 3)
    return atoi(argv[2]);
  if (strcmp(action, "signal") == 0 && argc == 3) {
    signal(atoi(argv[2]), SIG_DFL);
    raise(atoi(argv[2]));
    return 99;
  }
  if (strcmp(action, "sleep-ms") == 0 && argc == 3) {
    sleep_ms(atol(argv[2]));
    return 0;
  }
  if (strcmp(action, "binary") == 0) {
    fwrite("ok\xff\xfe\x00z", 1, 6, stdout);
    return 0;
  }
  fprintf(stderr, "capsid-test-child: unknown action '%s'\n", action);
  return 64;
}
