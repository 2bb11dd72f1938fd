/* Which confining modes this host can run. */
#include "modes-linux.h"

#include "landlock-linux.h"
#include "userns-linux.h"

/* Landlock's calls answer ENOSYS under valgrind, which does not know
 * them; the valgrind step checks capsid's own memory, not confinement, so
 * there (and only there: RUNNING_ON_VALGRIND is false in any real run)
 * jobs run without Landlock, as they did before modes failed closed. */
int capsid__landlock_missing(void) {
  return capsid__landlock_abi() <= 0 && !CAPSID__ON_VALGRIND();
}


capsid_mode_t capsid__unprivileged_auto(void) {
  if (capsid__landlock_missing())
    return CAPSID_MODE_AUTO; /* nothing: the launch refuses it */
  return capsid__userns_available() ? CAPSID_MODE_UNPRIVILEGED
                                    : CAPSID_MODE_LANDLOCK_ONLY;
}
