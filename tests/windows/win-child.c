/* The program the Windows suites run as a job: one action per run, results
 * through the exit status and stdout/stderr.
 *   exit N | echo TEXT | err TEXT | args A... | cat | bytes N | sleep MS
 *   tree PIDFILE   start a grandchild that sleeps, write its pid, sleep
 *   write PATH     create PATH; exit 0 if created, 1 if refused
 *   env NAME       print the variable's value, exit 1 if unset
 *   cwd            print the working directory */
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int do_tree(const char* pidfile) {
  WCHAR self[MAX_PATH], cmd[MAX_PATH + 32];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  FILE* f;

  GetModuleFileNameW(NULL, self, MAX_PATH);
  _snwprintf(cmd, MAX_PATH + 32, L"\"%ls\" sleep 60000", self);
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
    return 3;
  f = fopen(pidfile, "w");
  if (f == NULL)
    return 4;
  fprintf(f, "%lu\n", pi.dwProcessId);
  fclose(f);
  printf("started %lu\n", pi.dwProcessId);
  fflush(stdout);
  Sleep(60000);
  return 0;
}


int main(int argc, char** argv) {
  int i;

  _setmode(0, _O_BINARY);
  _setmode(1, _O_BINARY);
  if (argc < 2)
    return 100;
  if (strcmp(argv[1], "exit") == 0 && argc == 3)
    return atoi(argv[2]);
  if (strcmp(argv[1], "echo") == 0 && argc == 3) {
    printf("%s\n", argv[2]);
    return 0;
  }
  if (strcmp(argv[1], "err") == 0 && argc == 3) {
    fprintf(stderr, "%s\n", argv[2]);
    return 0;
  }
  if (strcmp(argv[1], "args") == 0) {
    for (i = 2; i < argc; i++)
      printf("[%s]\n", argv[i]);
    return 0;
  }
  if (strcmp(argv[1], "cat") == 0) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
      fwrite(buf, 1, n, stdout);
    return 0;
  }
  if (strcmp(argv[1], "bytes") == 0 && argc == 3) {
    static char buf[65536];
    long left = atol(argv[2]);
    memset(buf, 'x', sizeof(buf));
    while (left > 0) {
      size_t n = left < (long)sizeof(buf) ? (size_t)left : sizeof(buf);
      fwrite(buf, 1, n, stdout);
      left -= (long)n;
    }
    return 0;
  }
  if (strcmp(argv[1], "sleep") == 0 && argc == 3) {
    Sleep((DWORD)atol(argv[2]));
    return 0;
  }
  /* Says it runs, then sleeps: a test can act once the job has started. */
  if (strcmp(argv[1], "started-sleep") == 0 && argc == 3) {
    printf("started\n");
    fflush(stdout);
    Sleep((DWORD)atol(argv[2]));
    return 0;
  }
  if (strcmp(argv[1], "tree") == 0 && argc == 3)
    return do_tree(argv[2]);
  if (strcmp(argv[1], "write") == 0 && argc == 3) {
    HANDLE h = CreateFileA(argv[2], GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
      printf("refused %lu\n", GetLastError());
      return 1;
    }
    CloseHandle(h);
    printf("created\n");
    return 0;
  }
  if (strcmp(argv[1], "env") == 0 && argc == 3) {
    const char* v = getenv(argv[2]);
    if (v == NULL)
      return 1;
    printf("%s\n", v);
    return 0;
  }
  if (strcmp(argv[1], "cwd") == 0) {
    char buf[MAX_PATH];
    GetCurrentDirectoryA(MAX_PATH, buf);
    printf("%s\n", buf);
    return 0;
  }
  return 100;
}
