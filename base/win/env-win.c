/* Environment facts of Windows (base/env.h). */
#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

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


static char default_state_dir[MAX_PATH * 3];
static INIT_ONCE state_dir_once = INIT_ONCE_STATIC_INIT;


static BOOL CALLBACK state_dir_init(INIT_ONCE* once, void* param,
                                    void** ctx) {
  const char* base = getenv("LOCALAPPDATA");
  char* c;

  (void)once;
  (void)param;
  (void)ctx;
  /* Per user, like the jobs of unprivileged mode; a process with no
   * profile (a service) falls back to the machine's ProgramData. */
  if (base == NULL || *base == '\0')
    base = getenv("ProgramData");
  snprintf(default_state_dir, sizeof(default_state_dir), "%s/capsid",
           base != NULL && *base != '\0' ? base : "C:/ProgramData");
  for (c = default_state_dir; *c != '\0'; c++)
    if (*c == '\\')
      *c = '/';
  return TRUE;
}


const char* capsid__state_dir(void) {
  const char* d = getenv("CAPSID_STATE_DIR");

  if (d != NULL && *d != '\0')
    return d;
  InitOnceExecuteOnce(&state_dir_once, state_dir_init, NULL, NULL);
  return default_state_dir;
}
