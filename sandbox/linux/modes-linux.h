/* Which confining modes this host can run (modes-linux.c), for
 * capsid__prelaunch's decision and the launch's refusals, and whether
 * the process runs under valgrind, which the launcher adapts to. */
#ifndef CAPSID_MODES_LINUX_H
#define CAPSID_MODES_LINUX_H

#include "capsid-common.h"

/* 1 when running under valgrind (the runtime tests' leak check). valgrind
 * does not know mount_setattr or Landlock's calls, cannot run a seccomp
 * filter, and exits on CLONE_VM children without CLONE_VFORK; the launcher
 * adapts so the runtime's own code can still be checked there. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CAPSID__ON_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef CAPSID__ON_VALGRIND
#define CAPSID__ON_VALGRIND() 0
#endif

/* 1 when a mode that needs Landlock must be refused: Landlock is off
 * (never under valgrind, which cannot run its calls). */
int capsid__landlock_missing(void);

/* What `auto` runs when elevated mode is not usable: unprivileged (user
 * namespaces and Landlock), else landlock-only (Landlock), else
 * CAPSID_MODE_AUTO, which the launch refuses: no mode runs half-made. */
capsid_mode_t capsid__unprivileged_auto(void);

#endif
