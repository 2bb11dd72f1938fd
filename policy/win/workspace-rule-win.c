/* What may be a workspace or a writable root, Windows half: the system
 * trees only (the drive root is refused by the portable half). Every
 * user has a %TEMP% of their own, so there is no shared tmp dir to
 * exempt, and capsid here runs as the user whose files the job gets. See
 * policy/workspace-rule.h. */
#include "workspace-rule.h"

#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

/* Environment names of the trees Windows and installed programs own. */
static const char* const system_vars[] = {
    "SystemRoot", "windir", "ProgramFiles", "ProgramFiles(x86)",
    "ProgramW6432", "ProgramData", NULL};


#define N_VARS (sizeof(system_vars) / sizeof(system_vars[0]))

/* Canonical spellings (case, separators) so prefixes compare; once. */
static INIT_ONCE trees_once = INIT_ONCE_STATIC_INIT;
static char trees_buf[N_VARS][MAX_PATH * 3];
static const char* trees[N_VARS];

static BOOL CALLBACK trees_init(PINIT_ONCE once, PVOID param, PVOID* ctx) {
  const char* const* v;
  const char* dir;
  char* canon;
  size_t n = 0;
  int os_error = 0;

  (void)once;
  (void)param;
  (void)ctx;
  for (v = system_vars; *v != NULL; v++) {
    dir = getenv(*v);
    if (dir == NULL || *dir == '\0' ||
        capsid__path_canonical(NULL, dir, &canon, &os_error) != 0)
      continue;
    snprintf(trees_buf[n], sizeof(trees_buf[n]), "%s", canon);
    capsid__free(canon);
    trees[n] = trees_buf[n];
    n++;
  }
  trees[n] = NULL;
  return TRUE;
}


const char* const* capsid__root_system_trees(void) {
  InitOnceExecuteOnce(&trees_once, trees_init, NULL, NULL);
  return trees;
}


const char* const* capsid__root_shared_tmp(void) {
  static const char* const none[] = {NULL};
  return none;
}


int capsid__root_os_check(const char* base, const char* given,
                          const char* canon, const char* field,
                          capsid_error_t* err) {
  (void)base;
  (void)given;
  (void)canon;
  (void)field;
  (void)err;
  return 0;
}
