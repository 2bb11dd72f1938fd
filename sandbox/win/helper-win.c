/* Building blocks of the elevated mode that do not need the sandbox users:
 * the single-instance mutex of the read-ACL helper, and the junction used
 * as a job's cwd while read ACLs on the real path are still pending (a
 * process cannot start in a directory whose ancestors it cannot traverse;
 * a junction in a place it can read points at the same files). */
#include "helper-win.h"

#include "acl.h"
#include "grant-win.h"

#include "win-util.h"

#include <winioctl.h>

#include <stdio.h>
#include <string.h>

int capsid__mutex_try(const WCHAR* name, HANDLE* out, int* abandoned,
                      capsid_error_t* err) {
  HANDLE m;
  DWORD w;

  *out = NULL;
  *abandoned = 0;
  /* bInitialOwner is ignored when the mutex exists, so ownership is
   * always taken with the wait below. */
  m = CreateMutexW(NULL, FALSE, name);
  if (m == NULL)
    return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_ACL,
                             (int)GetLastError(), NULL, NULL,
                             "cannot open the helper mutex");
  w = WaitForSingleObject(m, 0);
  if (w == WAIT_OBJECT_0 || w == WAIT_ABANDONED) {
    *abandoned = w == WAIT_ABANDONED;
    *out = m;
    return 0;
  }
  CloseHandle(m);
  if (w == WAIT_TIMEOUT)
    return capsid__error_set(err, CAPSID_EBUSY, CAPSID_STAGE_ACL, 0, NULL,
                             NULL, "the ACL helper is already running");
  return capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_ACL,
                           (int)GetLastError(), NULL, NULL,
                           "cannot take the helper mutex");
}


void capsid__mutex_release(HANDLE mutex) {
  if (mutex == NULL)
    return;
  ReleaseMutex(mutex);
  CloseHandle(mutex);
}


/* The mount-point layout of REPARSE_DATA_BUFFER (ntifs.h, a driver header
 * user code does not get). */
typedef struct mount_point_s {
  ULONG tag;
  USHORT data_length;
  USHORT reserved;
  USHORT substitute_offset;
  USHORT substitute_length;
  USHORT print_offset;
  USHORT print_length;
  WCHAR path[1];
} mount_point_t;

#define MOUNT_POINT_HEADER 8 /* tag, data_length, reserved */


static int junction_fail(const char* link, WCHAR* wlink, HANDLE h, DWORD e,
                         int code, const char* what, capsid_error_t* err) {
  if (h != INVALID_HANDLE_VALUE)
    CloseHandle(h);
  if (wlink != NULL)
    RemoveDirectoryW(wlink);
  return capsid__error_set(err, code, CAPSID_STAGE_MOUNT, (int)e, link, NULL,
                           "cannot make the junction %s: %s", link, what);
}


int capsid__junction_create(const char* link, const char* target,
                            capsid_error_t* err) {
  union {
    mount_point_t mp;
    BYTE bytes[MAXIMUM_REPARSE_DATA_BUFFER_SIZE];
  } *buf;
  WCHAR* wlink;
  WCHAR* wtarget;
  WCHAR* sub;
  HANDLE h = INVALID_HANDLE_VALUE;
  size_t tlen, i;
  DWORD got, e;
  int rc = 0;

  buf = capsid__calloc(1, sizeof(*buf));
  wlink = capsid__utf16(link);
  wtarget = capsid__utf16(target);
  if (buf == NULL || wlink == NULL || wtarget == NULL) {
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_MOUNT, 0, link,
                           NULL, NULL);
    goto out;
  }
  /* The substitute name is an NT path: \??\C:\dir, backslashes only. */
  for (i = 0; wtarget[i] != 0; i++)
    if (wtarget[i] == L'/')
      wtarget[i] = L'\\';
  tlen = wcslen(wtarget);
  if (tlen < 3 || wtarget[1] != L':' ||
      (tlen + 4 + 1) * 2 * sizeof(WCHAR) + 64 > sizeof(*buf)) {
    rc = capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_MOUNT, 0, target,
                           NULL, "a junction target must be an absolute "
                           "drive path: %s", target);
    goto out;
  }
  if (!CreateDirectoryW(wlink, NULL)) {
    e = GetLastError();
    rc = capsid__error_set(err, capsid__translate_os_error((int)e),
                           CAPSID_STAGE_MOUNT, (int)e, link, NULL,
                           "cannot create %s", link);
    goto out;
  }
  h = CreateFileW(wlink, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                  NULL);
  if (h == INVALID_HANDLE_VALUE) {
    rc = junction_fail(link, wlink, h, GetLastError(), CAPSID_EIO,
                       "cannot open it", err);
    goto out;
  }
  /* path: "\??\<target>\0<target>\0" */
  sub = buf->mp.path;
  memcpy(sub, L"\\??\\", 4 * sizeof(WCHAR));
  memcpy(sub + 4, wtarget, (tlen + 1) * sizeof(WCHAR));
  memcpy(sub + 4 + tlen + 1, wtarget, (tlen + 1) * sizeof(WCHAR));
  buf->mp.tag = IO_REPARSE_TAG_MOUNT_POINT;
  buf->mp.substitute_offset = 0;
  buf->mp.substitute_length = (USHORT)((tlen + 4) * sizeof(WCHAR));
  buf->mp.print_offset = (USHORT)((tlen + 5) * sizeof(WCHAR));
  buf->mp.print_length = (USHORT)(tlen * sizeof(WCHAR));
  buf->mp.data_length = (USHORT)(8 + (2 * tlen + 6) * sizeof(WCHAR));
  if (!DeviceIoControl(h, FSCTL_SET_REPARSE_POINT, buf,
                       MOUNT_POINT_HEADER + buf->mp.data_length, NULL, 0,
                       &got, NULL)) {
    e = GetLastError();
    rc = junction_fail(link, wlink, h, e, capsid__translate_os_error((int)e),
                       "FSCTL_SET_REPARSE_POINT failed", err);
    h = INVALID_HANDLE_VALUE;
    goto out;
  }
  /* Read back: the tag and the substitute name must be what was set
   * (Wine answers success to some of these calls and keeps nothing). */
  memset(buf, 0, sizeof(*buf));
  if (!DeviceIoControl(h, FSCTL_GET_REPARSE_POINT, NULL, 0, buf, sizeof(*buf),
                       &got, NULL) ||
      buf->mp.tag != IO_REPARSE_TAG_MOUNT_POINT ||
      buf->mp.substitute_length != (tlen + 4) * sizeof(WCHAR) ||
      memcmp(buf->mp.path + buf->mp.substitute_offset / sizeof(WCHAR) + 4,
             wtarget, tlen * sizeof(WCHAR)) != 0) {
    e = GetLastError();
    rc = junction_fail(link, wlink, h, e, CAPSID_EVERIFY,
                       "the reparse point did not take effect", err);
    h = INVALID_HANDLE_VALUE;
    goto out;
  }
  CloseHandle(h);

out:
  capsid__free(buf);
  capsid__free(wlink);
  capsid__free(wtarget);
  return rc;
}


int capsid__read_helper_run(const char* const* roots, size_t n,
                            const char* group_sid, capsid_error_t* err) {
  capsid__acl_plan_t plan;
  HANDLE mutex;
  size_t i;
  int abandoned, rc;

  rc = capsid__mutex_try(CAPSID__HELPER_MUTEX, &mutex, &abandoned, err);
  if (rc != 0)
    return rc;
  /* An abandoned mutex means a helper died half-way: the grants below are
   * idempotent (present ones are skipped), so its work is simply redone. */
  /* One read target per root, under the read helper's key (shared with
   * an elevated read-only job's grant on its cwd: acl/plan.c). */
  memset(&plan, 0, sizeof(plan));
  plan.key = capsid__strdup(CAPSID__ACL_READ_KEY);
  rc = plan.key == NULL ? CAPSID_ENOMEM : 0;
  for (i = 0; rc == 0 && i < n; i++)
    rc = capsid__acl_plan_add_sid(&plan, CAPSID__ACL_T_READ, roots[i], 1,
                                  group_sid);
  if (rc != 0) {
    capsid__acl_plan_free(&plan);
    capsid__mutex_release(mutex);
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, NULL, NULL,
                             "cannot plan the read grants: %s",
                             capsid_strerror(rc));
  }
  rc = capsid__grant_ensure(&plan, err);
  capsid__acl_plan_free(&plan);
  capsid__mutex_release(mutex);
  return rc;
}
