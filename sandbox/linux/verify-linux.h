/* Verification (verify-linux.c): the clone child reads back each
 * restriction the confinement asked for before it execs the job, so a
 * step that silently did nothing fails the launch instead. */
#ifndef CAPSID_VERIFY_LINUX_H
#define CAPSID_VERIFY_LINUX_H

#include "confine-linux.h"

/* The restrictions verify-linux.c reads back in the child. */
enum {
  CAPSID__VERIFY_NNP = 1,
  CAPSID__VERIFY_SECCOMP,
  CAPSID__VERIFY_LANDLOCK,
  CAPSID__VERIFY_IDENTITY,
  CAPSID__VERIFY_CAPS,
  CAPSID__VERIFY_LIMITS,
  CAPSID__VERIFY_IPC,
  CAPSID__VERIFY_SCOPE
};
#define CAPSID__SKIPPED(c, check) (((c)->test_skips >> (check)) & 1)

/* Child: 0 when every restriction c asked for is in force, else the
 * CAPSID__VERIFY_* check that failed. */
int capsid__verify_child(const capsid__confine_t* c, int seccomp_applied);
/* Child: /proc/self/status into buf (NUL-terminated), the kernel's own
 * account of the process: 1, or 0 when it cannot be read. */
int capsid__status_read_child(char* buf, size_t size);
/* Child: the 16 hex digits after name ("SigCgt:\t", "CapBnd:\t") in
 * status text as a mask (bit n for signal n+1, capability n): 1 with
 * *out set, or 0 when the line is missing or malformed. */
int capsid__status_mask_child(const char* text, const char* name,
                              unsigned long long* out);
/* What a check verifies, for the error message. */
const char* capsid__verify_name(int check);
/* Parent: the restrictions the fault sites "skip.*" say to leave out, so
 * tests can show that verification catches each; 0 in release builds. */
int capsid__verify_test_skips(void);

#endif
