/* Helpers shared by the cmocka suites. */
#ifndef CAPSID_TEST_COMMON_H
#define CAPSID_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capsid-common.h"

/* A fresh directory under $TMPDIR (or /tmp); returns its path (static
 * storage per call site is not needed: caller frees with free()). */
char* test_mkdtemp(void);
/* rm -rf of a test directory. */
void test_rmtree(const char* path);
/* Writes a whole file; returns 0 or -1. */
int test_write_file(const char* path, const char* data, size_t len);
/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
char* test_read_file(const char* path, size_t* len);
/* Runs a shell command and returns its exit status (or -1). */
int test_system(const char* fmt, ...);

#endif
