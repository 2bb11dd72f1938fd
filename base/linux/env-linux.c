/* Environment facts of Linux (base/env.h). */
#include "env.h"

#include <stdlib.h>
#include <string.h>

/* POSIX variable names are case-sensitive: PATH and Path are two. */
int capsid__env_name_eq(const char* a, const char* b, size_t n) {
  return memcmp(a, b, n) == 0;
}


const char* const capsid__tmp_env_names[CAPSID__TMP_ENV_MAX] = {"TMPDIR", NULL};


const char* capsid__state_dir(void) {
  const char* d = getenv("CAPSID_STATE_DIR");
  return d != NULL && d[0] == '/' ? d : "/var/lib/capsid";
}
