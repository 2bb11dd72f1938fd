/* The report lines of doctor, setup and uninstall: every layer that sets
 * something up (the sandbox, the network rules, the ACL helper) says what
 * it did through one callback. */
#ifndef CAPSID_REPORT_H
#define CAPSID_REPORT_H

#include "capsid-common.h"

/* One line of a report: a feature (or an action of setup/uninstall),
 * whether it is available (or succeeded), and a human detail. */
typedef void (*capsid__report_cb)(void* data, const char* feature, int ok,
                                  const char* detail);
/* Formats a detail and hands the line to cb (nothing when cb is NULL). */
void capsid__say(capsid__report_cb cb, void* data, const char* feature,
                 int ok, const char* fmt, ...) CAPSID__PRINTF(5, 6);

#endif
