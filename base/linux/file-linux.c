/* Small state files on Linux: read whole, write atomically. */
#include "file.h"

#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int capsid__file_read(const char* path, size_t max, char** data, size_t* len,
                      int* os_error) {
  struct stat st;
  char* buf;
  size_t got = 0;
  ssize_t n;
  int fd;

  *data = NULL;
  *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *os_error = errno;
    return capsid__translate_os_error(errno);
  }
  if (fstat(fd, &st) != 0) {
    *os_error = errno;
    close(fd);
    return capsid__translate_os_error(*os_error);
  }
  if ((uint64_t)st.st_size > max) {
    close(fd);
    *os_error = EFBIG;
    return CAPSID_ETOOLONG;
  }
  buf = capsid__malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    close(fd);
    return CAPSID_ENOMEM;
  }
  while (got < (size_t)st.st_size) {
    n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      *os_error = errno;
      capsid__free(buf);
      close(fd);
      return capsid__translate_os_error(*os_error);
    }
    if (n == 0)
      break; /* shrank under us: what we have is what there is */
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return 0;
}


int capsid__file_write_atomic(const char* path, const void* data, size_t len,
                              unsigned mode, int* os_error) {
  char tmp[PATH_MAX], dir[PATH_MAX];
  const char* p = data;
  char* slash;
  size_t done = 0;
  ssize_t n;
  int fd, dfd;

  if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
      (int)sizeof(tmp))
    return CAPSID_ETOOLONG;
  fd = (errno = capsid__fault("state-write")) != 0
           ? -1
           : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                  mode);
  if (fd < 0) {
    *os_error = errno;
    return capsid__translate_os_error(errno);
  }
  while (done < len) {
    n = write(fd, p + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto fail;
    done += (size_t)n;
  }
  if (fsync(fd) != 0)
    goto fail;
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0)
    goto fail;
  /* The rename itself is durable only once the directory is synced. */
  snprintf(dir, sizeof(dir), "%s", path);
  slash = strrchr(dir, '/');
  if (slash != NULL) {
    if (slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  return 0;

fail:
  *os_error = errno;
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  return capsid__translate_os_error(*os_error);
}


int capsid__file_lock(const char* path, intptr_t* handle, int* os_error) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  *handle = -1;
  if (fd < 0 || flock(fd, LOCK_EX) != 0) {
    *os_error = errno;
    if (fd >= 0)
      close(fd);
    return capsid__translate_os_error(*os_error);
  }
  *handle = fd;
  return 0;
}


void capsid__file_unlock(intptr_t handle) {
  if (handle >= 0)
    close((int)handle); /* closing releases the flock */
}
