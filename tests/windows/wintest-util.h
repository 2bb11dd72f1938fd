/* Helpers shared by the Windows suites. */
#ifndef CAPSID_WINTEST_UTIL_H
#define CAPSID_WINTEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capsid-common.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* Path of win-child.exe, next to the running test (static storage). */
const char* wt_child(void);
/* The path of name in the running test's directory; capsid__free it. */
char* wt_beside(const char* name);
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
/* The canonical form of an existing path (capsid__path_canonical);
 * asserts it resolves. capsid__free it. */
char* wt_canonical(const char* path);

/* A group setup/teardown pair: a fresh directory in wt_state_dir, made
 * the process's CAPSID_STATE_DIR; removed afterwards. */
extern char* wt_state_dir;
int wt_state_setup(void** state);
int wt_state_teardown(void** state);

/* The job suites' group setup/teardown: wt_state_setup plus a fresh
 * workspace directory in wt_ws, and the test build's override on (Wine
 * cannot pass verification; results then say mode "none"). */
extern char* wt_ws;
int wt_jobs_setup(void** state);
int wt_jobs_teardown(void** state);
/* 1 when process pid has exited (waiting up to 10 s for it). */
int wt_process_gone(unsigned long pid);
/* Asserts r is a job of win-child's "tree PIDFILE" ended by its timeout,
 * the grandchild it started (pid in pidfile) gone too. */
void wt_expect_tree_killed(const capsid_result_t* r, const char* pidfile);
/* How many handles this process has open. */
unsigned wt_count_handles(void);

/* How a suite runs one job (its own checks of mode and error included). */
typedef void (*wt_run_fn)(const char* const* argv, capsid_job_spec_t* spec,
                          capsid_result_t* r);
/* After a warm-up job, runs `win-child echo x` rounds times through run
 * (every other one with a memory limit when vary_memory) and asserts the
 * process holds no more handles than before, give or take 5. */
void wt_expect_no_handle_leak(wt_run_fn run, int rounds, int vary_memory);

/* Appends an allow (or deny) ACE for sid to acl; asserts it worked. */
void wt_add_ace(ACL* acl, const char* sid, DWORD mask, BYTE flags, int deny);
/* 1 when path's DACL holds an explicit ACE of type (ACCESS_ALLOWED_ACE_TYPE,
 * ACCESS_DENIED_ACE_TYPE) for sid_text. */
int wt_has_ace(const char* path, const char* sid_text, BYTE type);
/* Asserts ACE i of acl is exactly (type, flags, mask, sid). */
void wt_expect_ace(ACL* acl, DWORD i, BYTE type, BYTE flags, DWORD mask,
                   const char* sid);

#endif
