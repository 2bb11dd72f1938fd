#include "test-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

char* test_mkdtemp(void) {
  const char* base = getenv("TMPDIR");
  char* path;

  if (base == NULL || *base == '\0')
    base = "/tmp";
  path = malloc(strlen(base) + 32);
  if (path == NULL)
    return NULL;
  sprintf(path, "%s/capsid-test-XXXXXX", base);
  if (mkdtemp(path) == NULL) {
    free(path);
    return NULL;
  }
  return path;
}


int test_system(const char* fmt, ...) {
  char cmd[4096];
  va_list ap;
  int status;

  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  status = system(cmd);
  if (status < 0 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}


void test_rmtree(const char* path) {
  if (path != NULL && strncmp(path, "/", 1) == 0 && strstr(path, "capsid-test-"))
    test_system("rm -rf '%s'", path);
}


int test_write_file(const char* path, const char* data, size_t len) {
  FILE* f = fopen(path, "wb");
  int rc = 0;

  if (f == NULL)
    return -1;
  if (len > 0 && fwrite(data, 1, len, f) != len)
    rc = -1;
  if (fclose(f) != 0)
    rc = -1;
  return rc;
}


char* test_read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  char* buf = NULL;
  size_t cap = 0, n = 0, r;

  if (f == NULL)
    return NULL;
  for (;;) {
    if (n + 4097 > cap) {
      char* grown;
      cap = cap ? cap * 2 : 8192;
      grown = realloc(buf, cap);
      if (grown == NULL) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = grown;
    }
    r = fread(buf + n, 1, 4096, f);
    if (r == 0)
      break;
    n += r;
  }
  fclose(f);
  buf[n] = '\0';
  if (len != NULL)
    *len = n;
  return buf;
}
