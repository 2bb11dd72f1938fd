/* `capsid audit`'s system half on Linux (sandbox/system.h): the audit's
 * own default places (acl/audit.c) are Linux's already, and a finding is
 * reported, not denied. */
#include "system.h"

int capsid__system_audit_places(const char* cwd, capsid__strv_t* out) {
  (void)cwd;
  (void)out;
  return 0;
}


int capsid__system_audit_denied(const char* path) {
  (void)path;
  return -1;
}
