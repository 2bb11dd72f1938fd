/* User namespaces (userns-linux.c): whether this process can make one.
 * The map a job's own namespace gets is base/linux/idmap-linux.h. */
#ifndef CAPSID_USERNS_LINUX_H
#define CAPSID_USERNS_LINUX_H

#include "capsid-common.h"

/* 1 if this process can create a user namespace (probed once, cached;
 * thread-safe). The fault site "userns" makes it answer 0, so tests can
 * exercise the Landlock-only fallback on a host that allows them. */
int capsid__userns_available(void);
#ifdef CAPSID_FAULT_INJECTION
/* Tests: behave as if user namespaces were blocked (AppArmor). */
void capsid__userns_force_blocked(int on);
#endif

#endif
