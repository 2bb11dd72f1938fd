/* Helpers shared by the Windows suites. */
#ifndef CAPSID_WINTEST_UTIL_H
#define CAPSID_WINTEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capsid-common.h"

/* Path of win-child.exe, next to the running test (static storage). */
const char* wt_child(void);
/* A fresh directory under %TEMP%, '/'-separated; capsid__free it. */
char* wt_mkdtemp(void);
/* Removes a directory tree made by wt_mkdtemp. */
void wt_rmtree(const char* path);
/* 1 when this Windows really applies restricting SIDs (a real Windows),
 * 0 when it accepts and drops them (Wine). Decided once, by building a
 * restricted token and reading it back. */
int wt_enforcing(void);
/* A fresh random capability SID (a random domain, id 1000) into out, which
 * holds CAPSID__SID_MAX bytes. Returns 0. */
int wt_random_sid(char* out);

#endif
