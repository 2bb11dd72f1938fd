/* GetLastError() -> CAPSID_E*, and error text, for Windows. */
#include "capsid-common.h"

#include <windows.h>

#include <stdio.h>
#include <string.h>

int capsid__translate_os_error(int os_error) {
  switch ((DWORD)os_error) {
  case ERROR_SUCCESS:
    return 0;
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_INVALID_FLAGS:
    return CAPSID_EINVAL;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_COMMITMENT_LIMIT:
    return CAPSID_ENOMEM;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_NETPATH:
  case ERROR_BAD_NET_NAME:
    return CAPSID_ENOENT;
  case ERROR_ACCESS_DENIED:
  case ERROR_SHARING_VIOLATION:
  case ERROR_LOCK_VIOLATION:
    return CAPSID_EACCES;
  case ERROR_DIRECTORY:
    return CAPSID_ENOTDIR;
  case ERROR_BAD_EXE_FORMAT:
  case ERROR_EXE_MACHINE_TYPE_MISMATCH:
    return CAPSID_ENOEXEC;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
    return CAPSID_ENOTSUP;
  case ERROR_OPERATION_ABORTED:
  case ERROR_CANCELLED:
    return CAPSID_ECANCELED;
  case ERROR_BUSY:
  case ERROR_PIPE_BUSY:
    return CAPSID_EBUSY;
  case ERROR_PRIVILEGE_NOT_HELD:
  case ERROR_NOT_ALL_ASSIGNED:
    return CAPSID_EPERM;
  case ERROR_FILE_EXISTS:
  case ERROR_ALREADY_EXISTS:
    return CAPSID_EEXIST;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
    return CAPSID_ENOSPC;
  case ERROR_TOO_MANY_OPEN_FILES:
  case ERROR_NO_SYSTEM_RESOURCES:
    return CAPSID_EMFILE;
  case ERROR_TIMEOUT:
  case WAIT_TIMEOUT:
    return CAPSID_ETIMEDOUT;
  case ERROR_NOT_SAME_DEVICE:
    return CAPSID_EXDEV;
  case ERROR_CANT_RESOLVE_FILENAME:
    return CAPSID_ELOOP;
  case ERROR_FILENAME_EXCED_RANGE:
  case ERROR_BUFFER_OVERFLOW:
  case ERROR_INSUFFICIENT_BUFFER:
    return CAPSID_ETOOLONG;
  case ERROR_ARITHMETIC_OVERFLOW:
    return CAPSID_ERANGE;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_CRC:
  case ERROR_IO_DEVICE:
    return CAPSID_EIO;
  default:
    return CAPSID_EUNKNOWN;
  }
}


const char* capsid__os_strerror(int os_error, char* buf, size_t size) {
  DWORD n;

  if (size == 0)
    return buf;
  n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                     NULL, (DWORD)os_error, 0, buf, (DWORD)size, NULL);
  if (n == 0) {
    snprintf(buf, size, "Windows error %d", os_error);
    return buf;
  }
  /* FormatMessage ends its text with ".\r\n"; messages add their own. */
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
                   buf[n - 1] == ' ' || buf[n - 1] == '.'))
    buf[--n] = '\0';
  return buf;
}


uint64_t capsid__hrtime(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;

  /* The frequency is fixed at boot; racing threads store the same value. */
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (uint64_t)(now.QuadPart / freq.QuadPart) * 1000000000u +
         (uint64_t)(now.QuadPart % freq.QuadPart) * 1000000000u /
             (uint64_t)freq.QuadPart;
}
