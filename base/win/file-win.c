/* Small state files on Windows: read whole, write atomically, lock.
 *
 * The atomic write is the Windows form of write-fsync-rename: a temporary
 * file beside the target, FlushFileBuffers, then MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH, which replaces the
 * target in one step and returns only once the rename is on disk (the
 * directory fsync of the POSIX version). ReplaceFileW is not used: it
 * fails when the target does not exist yet and merges the old file's
 * attributes and DACL into the new one, which a state file does not want.
 *
 * Readers open with FILE_SHARE_DELETE so that a concurrent replace is not
 * refused while they read; a replace that still meets a sharing violation
 * (an anti-virus scanner holding the file, typically) is retried briefly. */
#include "file.h"

#include "fault.h"
#include "win-util.h"

#include <stdio.h>
#include <string.h>

#define REPLACE_TRIES 5


int capsid__file_read(const char* path, size_t max, char** data, size_t* len,
                      int* os_error) {
  LARGE_INTEGER size;
  WCHAR* wpath = capsid__utf16(path);
  HANDLE h;
  char* buf;
  size_t got = 0;
  DWORD n;

  *data = NULL;
  *len = 0;
  if (wpath == NULL) {
    *os_error = (int)GetLastError();
    return CAPSID_EINVAL;
  }
  h = CreateFileW(wpath, GENERIC_READ,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  capsid__free(wpath);
  if (h == INVALID_HANDLE_VALUE) {
    *os_error = (int)GetLastError();
    return capsid__translate_os_error(*os_error);
  }
  if (!GetFileSizeEx(h, &size)) {
    *os_error = (int)GetLastError();
    CloseHandle(h);
    return capsid__translate_os_error(*os_error);
  }
  if ((uint64_t)size.QuadPart > max) {
    CloseHandle(h);
    *os_error = ERROR_FILE_TOO_LARGE;
    return CAPSID_ETOOLONG;
  }
  buf = capsid__malloc((size_t)size.QuadPart + 1);
  if (buf == NULL) {
    CloseHandle(h);
    return CAPSID_ENOMEM;
  }
  while (got < (size_t)size.QuadPart) {
    if (!ReadFile(h, buf + got, (DWORD)((size_t)size.QuadPart - got), &n,
                  NULL)) {
      *os_error = (int)GetLastError();
      capsid__free(buf);
      CloseHandle(h);
      return capsid__translate_os_error(*os_error);
    }
    if (n == 0)
      break; /* shrank under us: what we have is what there is */
    got += n;
  }
  CloseHandle(h);
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return 0;
}


static int replace(const WCHAR* tmp, const WCHAR* path) {
  DWORD e;
  int i;

  for (i = 0; i < REPLACE_TRIES; i++) {
    if (MoveFileExW(tmp, path,
                    MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
      return 0;
    e = GetLastError();
    if (e != ERROR_SHARING_VIOLATION && e != ERROR_ACCESS_DENIED)
      return (int)e;
    Sleep(10u << i);
  }
  return (int)GetLastError();
}


int capsid__file_write_atomic(const char* path, const void* data, size_t len,
                              unsigned mode, int* os_error) {
  const char* p = data;
  char* tmp8 = capsid__sprintf("%s.tmp.%lu", path, GetCurrentProcessId());
  WCHAR* wtmp = tmp8 ? capsid__utf16(tmp8) : NULL;
  WCHAR* wpath = capsid__utf16(path);
  HANDLE h = INVALID_HANDLE_VALUE;
  size_t done = 0;
  DWORD n = 0, e = 0;
  int fault;

  /* The file inherits its directory's DACL; there are no mode bits. */
  (void)mode;
  capsid__free(tmp8);
  if (wtmp == NULL || wpath == NULL) {
    capsid__free(wtmp);
    capsid__free(wpath);
    return CAPSID_ENOMEM;
  }
  fault = capsid__fault("state-write");
  if (fault == 0)
    h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    e = fault ? (DWORD)fault : GetLastError();
    goto out;
  }
  while (done < len) {
    DWORD chunk = len - done > 0x40000000u ? 0x40000000u
                                           : (DWORD)(len - done);
    if (!WriteFile(h, p + done, chunk, &n, NULL) || n == 0) {
      e = n == 0 ? ERROR_WRITE_FAULT : GetLastError();
      goto out;
    }
    done += n;
  }
  if (!FlushFileBuffers(h)) {
    e = GetLastError();
    goto out;
  }
  CloseHandle(h);
  h = INVALID_HANDLE_VALUE;
  e = (DWORD)replace(wtmp, wpath);

out:
  if (h != INVALID_HANDLE_VALUE)
    CloseHandle(h);
  if (e != 0)
    DeleteFileW(wtmp);
  capsid__free(wtmp);
  capsid__free(wpath);
  if (e == 0)
    return 0;
  *os_error = (int)e;
  return capsid__translate_os_error((int)e);
}


int capsid__file_lock(const char* path, intptr_t* handle, int* os_error) {
  OVERLAPPED ov;
  WCHAR* wpath = capsid__utf16(path);
  HANDLE h;

  *handle = -1;
  if (wpath == NULL) {
    *os_error = (int)GetLastError();
    return CAPSID_EINVAL;
  }
  h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  capsid__free(wpath);
  if (h == INVALID_HANDLE_VALUE) {
    *os_error = (int)GetLastError();
    return capsid__translate_os_error(*os_error);
  }
  /* One byte at offset 0, exclusive, waiting: the flock(LOCK_EX) of
   * Linux. The lock goes with the handle when it is closed. */
  memset(&ov, 0, sizeof(ov));
  if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov)) {
    *os_error = (int)GetLastError();
    CloseHandle(h);
    return capsid__translate_os_error(*os_error);
  }
  *handle = (intptr_t)h;
  return 0;
}


void capsid__file_unlock(intptr_t handle) {
  OVERLAPPED ov;

  if (handle == -1)
    return;
  memset(&ov, 0, sizeof(ov));
  UnlockFileEx((HANDLE)handle, 0, 1, 0, &ov);
  CloseHandle((HANDLE)handle);
}
