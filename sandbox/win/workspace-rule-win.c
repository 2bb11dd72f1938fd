/* What may be a workspace or a writable root, Windows half: the system
 * trees only (the drive root is refused by the portable half). Every
 * user has a %TEMP% of their own, so there is no shared tmp dir to
 * exempt, and capsid here runs as the user whose files the job gets. See
 * sandbox/workspace-rule.h. */
#include "workspace-rule.h"

#include "policy.h"

#include <stdlib.h>

/* Environment names of the trees Windows and installed programs own. */
static const char* const system_vars[] = {
    "SystemRoot", "windir", "ProgramFiles", "ProgramFiles(x86)",
    "ProgramW6432", "ProgramData", NULL};


int capsid__root_system_trees(capsid__strv_t* out) {
  const char* const* v;
  const char* dir;
  char* canon;
  int os_error = 0, rc = 0;

  for (v = system_vars; rc == 0 && *v != NULL; v++) {
    dir = getenv(*v);
    /* Canonical spelling (case, separators) so prefixes compare. */
    if (dir != NULL && *dir != '\0' &&
        capsid__path_canonical(NULL, dir, &canon, &os_error) == 0)
      rc = capsid__strv_push_owned(out, canon);
  }
  return rc;
}


int capsid__root_shared_tmp(capsid__strv_t* out) {
  (void)out;
  return 0;
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
