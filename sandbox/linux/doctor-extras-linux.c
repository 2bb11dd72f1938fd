/* What `capsid audit` and `capsid doctor --probe` ask of the system, on
 * Linux (sandbox/system.h): the audit's own default places (acl/audit.c)
 * are Linux's already and a finding is reported, not denied; the probe
 * matrix is Windows's (the smoke suites prove the same here). */
#include "system.h"

#include <string.h>

int capsid__system_audit_places(const char* cwd, capsid__strv_t* out) {
  (void)cwd;
  (void)out;
  return 0;
}


int capsid__system_audit_denied(const char* path) {
  (void)path;
  return -1;
}


int capsid__probe_make(capsid__probe_t* p, capsid_error_t* err) {
  memset(p, 0, sizeof(*p));
  return capsid__error_set(err, CAPSID_ENOTSUP, CAPSID_STAGE_NONE, 0, NULL,
                           NULL, "doctor --probe is for Windows; on Linux "
                           "the smoke suites (tests/smoke) prove the same");
}


const char* capsid__probe_variant(const capsid__probe_t* p, int i) {
  (void)p;
  (void)i;
  return "none";
}


void capsid__probe_free(capsid__probe_t* p) {
  memset(p, 0, sizeof(*p));
}
