/* errno -> CAPSID_E*, and error text, for Linux. */
#include "capsid-common.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int capsid__translate_os_error(int os_error) {
  switch (os_error) {
  case 0:
    return 0;
  case EINVAL:
    return CAPSID_EINVAL;
  case ENOMEM:
    return CAPSID_ENOMEM;
  case ENOENT:
    return CAPSID_ENOENT;
  case EACCES:
    return CAPSID_EACCES;
  case ENOTDIR:
    return CAPSID_ENOTDIR;
  case ENOEXEC:
    return CAPSID_ENOEXEC;
  case EOPNOTSUPP:
  case ENOSYS:
    return CAPSID_ENOTSUP;
  case ECANCELED:
    return CAPSID_ECANCELED;
  case EBUSY:
    return CAPSID_EBUSY;
  case EIO:
    return CAPSID_EIO;
  case EPERM:
    return CAPSID_EPERM;
  case EEXIST:
    return CAPSID_EEXIST;
  case EAGAIN:
    return CAPSID_EAGAIN;
  case ENOSPC:
    return CAPSID_ENOSPC;
  case EMFILE:
  case ENFILE:
    return CAPSID_EMFILE;
  case ETIMEDOUT:
    return CAPSID_ETIMEDOUT;
  case EXDEV:
    return CAPSID_EXDEV;
  case ELOOP:
    return CAPSID_ELOOP;
  case ENAMETOOLONG:
  case E2BIG:
    return CAPSID_ETOOLONG;
  case ERANGE:
  case EOVERFLOW:
    return CAPSID_ERANGE;
  default:
    return CAPSID_EUNKNOWN;
  }
}


const char* capsid__os_strerror(int os_error, char* buf, size_t size) {
  /* strerror_r has two incompatible signatures; strerror is fine on glibc,
   * whose table is read-only, as long as we copy the text out. */
  const char* text = strerror(os_error);
  size_t n = strlen(text);

  if (size == 0)
    return buf;
  if (n >= size)
    n = size - 1;
  memcpy(buf, text, n);
  buf[n] = '\0';
  return buf;
}


uint64_t capsid__hrtime(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
