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

/* Running processes (zombies aside) with an argument containing arg;
 * waits up to 2 s for them to go and returns how many are left. */
int test_wait_gone(const char* arg);

/* Descriptors this process has open, or -1. */
int test_count_fds(void);
/* How many of them are links to target ("anon_inode:[fanotify]"). */
int test_count_fds_to(const char* target);

/* Exit status of a test binary that skipped as a whole; CMake tells ctest
 * (SKIP_RETURN_CODE) so a skip is reported as "Not Run", never as passed. */
#define TEST_SKIPPED 77
/* Reports why a test cannot run here ("skipped: ..."). Returns 1 when the
 * caller should skip, 0 when CAPSID_NO_SKIP=1 (set by scripts/test.sh as
 * root, as in CI, where every test must run) and the caller must fail. */
int test_may_skip(const char* fmt, ...);

#endif
