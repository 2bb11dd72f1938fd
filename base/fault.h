/* Failure injection for tests.
 *
 * A call site asks capsid__fault("site") just before the real call, and
 * fails as if the OS had returned the errno it answers. Sites and counts
 * come from capsid__fault_set("pipe=2:EMFILE,clone=1:EAGAIN") or, on first
 * use, from the CAPSID_FAULTS environment variable: the Nth use of the
 * site fails, once; N = 0 fails every use (a feature the host lacks, such
 * as "userns=0:EPERM" or "landlock=0:EPERM", for a whole process). Without CAPSID_FAULT_INJECTION (release builds) every
 * call compiles to 0, so nothing of this reaches production. */
#ifndef CAPSID_FAULT_H
#define CAPSID_FAULT_H

#ifdef CAPSID_FAULT_INJECTION
int capsid__fault(const char* site);
/* Replaces the configuration and resets every counter. NULL clears. */
int capsid__fault_set(const char* spec);
#else
/* Functions, not macros: a call whose value is unused (the usual
 * capsid__fault_set(NULL)) must compile without a warning. */
static inline int capsid__fault(const char* site) {
  (void)site;
  return 0;
}
static inline int capsid__fault_set(const char* spec) {
  (void)spec;
  return -1;
}
#endif

#endif
