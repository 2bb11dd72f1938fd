/* Creating a job's process (spawn-win.c): the UTF-16 strings of a launch
 * and CreateProcessAsUserW with a restricted token inside a job object.
 * launch-win.c calls it directly, the runner (runner-win.c) as the
 * sandbox user. */
#ifndef CAPSID_SPAWN_WIN_H
#define CAPSID_SPAWN_WIN_H

#include "sandbox-int.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* Exit status given to processes capsid kills; reported as signal 9 so
 * results read the same as on Linux. */
#define CAPSID__KILL_EXIT_CODE 137

/* What CreateProcessAsUserW is given, in UTF-16, plus the UTF-8 program
 * and cwd that error messages name. */
typedef struct capsid__spawn_s {
  WCHAR* app;
  WCHAR* cmdline;
  WCHAR* env;         /* "A=1\0B=2\0\0" */
  WCHAR* cwd;
  const char* path;   /* borrowed */
  const char* cwd8;   /* borrowed */
  WCHAR* desktop;     /* borrowed; NULL: winsta0\default */
} capsid__spawn_t;

/* Builds the strings of a launch: batch files run through cmd.exe (every
 * argument quoted whole, delayed expansion off; an argument with '"', '%',
 * CR or LF is refused with CAPSID_EINVAL, as cmd.exe would interpret it),
 * the offline variables are added to an offline job's environment. 0,
 * CAPSID_EINVAL or CAPSID_ENOMEM, with err filled. */
int capsid__spawn_prepare(const capsid__launch_t* l, capsid__spawn_t* s,
                          capsid_error_t* err);
/* 1 when path names a batch file (.bat, .cmd: run through cmd.exe). */
int capsid__spawn_is_batch(const char* path);
void capsid__spawn_free(capsid__spawn_t* s);
/* Bytes of an environment block, both final NULs included. */
size_t capsid__env_block_size(const WCHAR* env);
/* An inheritable duplicate of h, or NULL. */
HANDLE capsid__inheritable(HANDLE h);
/* CreateProcessAsUserW(token), suspended, given only the three stdio
 * handles (inheritable), inside job (or, with job NULL, inside whatever
 * job the caller is in; a process in no job is refused). */
int capsid__create_process(HANDLE token, const capsid__spawn_t* s,
                           HANDLE stdio[3], HANDLE job,
                           PROCESS_INFORMATION* pi, capsid_error_t* err);

#endif
