/* Capabilities and NO_NEW_PRIVS (caps-linux.c): calls of the clone
 * child, which return 0 or an errno value. */
#ifndef CAPSID_CAPS_LINUX_H
#define CAPSID_CAPS_LINUX_H

#include "capsid-common.h"

/* Dropping every capability, in two steps so an identity switch can sit
 * between them: bound_child empties the bounding and ambient sets and
 * locks securebits so that exec as uid 0 grants nothing (errors from calls
 * the process has no right to make, without CAP_SETPCAP, are ignored:
 * there is then nothing to drop); clear_child empties the effective,
 * permitted and inheritable sets. */
void capsid__caps_bound_child(void);
/* Parent side, before the first clone: reads the highest capability the
 * kernel knows (once per process), so bound_child stops there. */
void capsid__caps_prepare(void);
int capsid__caps_clear_child(void);
int capsid__nnp_child(void);

#endif
