/* The verify override (verify-win.c), for the Wine tests only.
 *
 * The Wine test build (CAPSID_WIN_TEST_OVERRIDE) lets a verification
 * failure through so the plumbing can be exercised under Wine, which
 * accepts restricted tokens, job limits and DACLs but drops them. The
 * library and capsid.exe are never compiled with it. */
#ifndef CAPSID_VERIFY_WIN_H
#define CAPSID_VERIFY_WIN_H

#include "capsid-common.h"

/* Returns 1 when the failure in err is to be ignored (and clears err). */
int capsid__verify_override(capsid_error_t* err);
/* rc, or 0 (with *overridden set) when rc is a verification failure the
 * test build lets through. */
int capsid__verify_checked(int rc, capsid_error_t* err, int* overridden);
/* 1 in the Wine test build when a test asked for unverified runs: the
 * elevated mode then starts its runner as the calling user (Wine cannot
 * log a user on). Always 0 in capsid.exe and the libraries. */
int capsid__win_test_mode(void);
/* The runner's copy of the test's switch (a no-op outside the test
 * build). */
void capsid__win_test_set_unverified(int on);
#ifdef CAPSID_WIN_TEST_OVERRIDE
extern int capsid__win_test_unverified_ok; /* set by a test */
extern int capsid__win_test_overridden;    /* failures let through */
#endif

#endif
