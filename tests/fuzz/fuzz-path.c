/* libFuzzer: the lax path canonicaliser. A result must be absolute, must
 * not contain "." or ".." components, and must stay beneath the base when
 * the input is relative and has no "..". */
#include "capsid-common.h"
#include "policy.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

/* A private base with no symlinks in it, so "beneath the base" is a fact
 * of the canonicaliser and not of whatever else lives in /tmp. */
static char base[64] = "/tmp/capsid-fuzz-path-XXXXXX";


int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  if (mkdtemp(base) == NULL)
    abort();
  return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char* path;
  char* out = NULL;
  const char* c;
  int os_error = 0;

  if (size > 512 || memchr(data, '\0', size) != NULL)
    return 0;
  path = malloc(size + 1);
  memcpy(path, data, size);
  path[size] = '\0';
  if (capsid__path_canonical_lax(base, path, &out, &os_error) == 0) {
    if (out[0] != '/')
      abort();
    for (c = out; (c = strstr(c, "/.")) != NULL; c++)
      if (c[2] == '\0' || c[2] == '/' ||
          (c[2] == '.' && (c[3] == '\0' || c[3] == '/')))
        abort();
    if (path[0] != '/' && strstr(path, "..") == NULL &&
        !capsid__path_is_within(out, base))
      abort();
    capsid__free(out);
  }
  free(path);
  return 0;
}
