/* The one switch that lets a failed verification through, compiled only
 * into the Wine test build (CAPSID_WIN_TEST_OVERRIDE, set by
 * tests/windows/CMakeLists.txt on its own copy of the library). Wine
 * accepts restricted tokens, job limits and DACLs and then drops them, so
 * without this switch nothing past verification could be exercised there.
 * capsid.exe and the installed libraries do not contain it: a real run
 * under Wine is refused (exit 125). */
#include "verify-win.h"

#include <string.h>

#ifdef CAPSID_WIN_TEST_OVERRIDE
int capsid__win_test_unverified_ok;
int capsid__win_test_overridden;

int capsid__verify_override(capsid_error_t* err) {
  if (!capsid__win_test_unverified_ok || err->code != CAPSID_EVERIFY)
    return 0;
  capsid__win_test_overridden++;
  capsid__error_free(err);
  memset(err, 0, sizeof(*err));
  return 1;
}

int capsid__win_test_mode(void) {
  return capsid__win_test_unverified_ok;
}

void capsid__win_test_set_unverified(int on) {
  capsid__win_test_unverified_ok = on;
}
#else
int capsid__verify_override(capsid_error_t* err) {
  (void)err;
  return 0;
}

int capsid__win_test_mode(void) {
  return 0;
}

void capsid__win_test_set_unverified(int on) {
  (void)on;
}
#endif


int capsid__verify_checked(int rc, capsid_error_t* err, int* overridden) {
  if (rc == CAPSID_EVERIFY && capsid__verify_override(err)) {
    *overridden = 1;
    return 0;
  }
  return rc;
}
