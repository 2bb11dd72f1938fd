/* Environment facts of Windows (runtime/env.h). */
#include "env.h"

#include <string.h>

/* Windows compares variable names without case: "Path" (as Windows
 * spells it) is the PATH a job means, and a job's "path=..." replaces
 * the inherited "Path" instead of standing beside it. Names are compared
 * with ASCII case folding, which is what every variable capsid looks up
 * needs; a non-ASCII name still matches only its own spelling. */
int capsid__env_name_eq(const char* a, const char* b, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'a' && x <= 'z')
      x = (unsigned char)(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z')
      y = (unsigned char)(y - 'a' + 'A');
    if (x != y)
      return 0;
  }
  return 1;
}


/* TEMP and TMP are where Windows programs (GetTempPathW) put temporary
 * files; TMPDIR is what MSYS2, Git for Windows and Python also honour. */
const char* const capsid__tmp_env_names[CAPSID__TMP_ENV_MAX] = {
    "TMP", "TEMP", "TMPDIR", NULL};
