/* Placeholders (placeholder-win.c): the missing protected paths of a
 * sandbox, which the grants (grant-win.h) created as empty directories,
 * and its existing protected directories, held open without
 * FILE_SHARE_DELETE for the job's life; release closes them and removes
 * each placeholder that is empty and held by no other job. */
#ifndef CAPSID_PLACEHOLDER_WIN_H
#define CAPSID_PLACEHOLDER_WIN_H

#include "policy.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

/* sb must outlive the hold. */
typedef struct capsid__win_placeholders_s {
  const capsid__sandbox_t* sb;
  HANDLE h[64];
  size_t n;
} capsid__win_placeholders_t;

int capsid__win_placeholders_hold(capsid__win_placeholders_t* ph,
                                  const capsid__sandbox_t* sb,
                                  capsid_error_t* err);
void capsid__win_placeholders_release(capsid__win_placeholders_t* ph);

#endif
