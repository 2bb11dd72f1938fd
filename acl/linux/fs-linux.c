/* The walker's view of a Linux filesystem: directories reached only
 * through directory fds, never through a symlink, never onto another
 * filesystem; and the state files (record, lock) written crash-safely. */
#include "acl-int.h"
#include "fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static atomic_int have_openat2 = 1;


static int fail(int* os_error) {
  *os_error = errno;
  return capsid__translate_os_error(errno);
}


/* statx for the mount id: a bind mount of the same filesystem has the
 * same st_dev, and only the mount id tells it apart. */
static int xstat(int d, const char* name, capsid__acl_stat_t* st) {
  struct statx s;

  if (statx(d, name, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH),
            STATX_BASIC_STATS | STATX_MNT_ID, &s) != 0)
    return -1;
  st->dev = (uint64_t)makedev(s.stx_dev_major, s.stx_dev_minor);
  st->ino = s.stx_ino;
  st->ctime_sec = s.stx_ctime.tv_sec;
  st->ctime_nsec = s.stx_ctime.tv_nsec;
  st->mode = s.stx_mode;
  st->uid = s.stx_uid;
  st->gid = s.stx_gid;
  st->nlink = s.stx_nlink;
  st->mnt = (s.stx_mask & STATX_MNT_ID) ? s.stx_mnt_id : st->dev;
  st->type = S_ISDIR(s.stx_mode)   ? CAPSID__ACL_FT_DIR
             : S_ISREG(s.stx_mode) ? CAPSID__ACL_FT_REG
             : S_ISLNK(s.stx_mode) ? CAPSID__ACL_FT_LNK
                                   : CAPSID__ACL_FT_OTHER;
  return 0;
}


static int finish_open(int fd, capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                       int* os_error) {
  capsid__acl_stat_t tmp;

  if (xstat(fd, "", st != NULL ? st : &tmp) != 0) {
    int rc = fail(os_error);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}


static int fault_open(int* os_error) {
  int e = capsid__fault("acl.open");

  if (e == 0)
    return 0;
  errno = e;
  return fail(os_error);
}


/* Without openat2 (kernels before 5.6, valgrind): one component at a
 * time, each O_NOFOLLOW, each checked to be on the same mount. */
static int open_by_components(int root, const char* rel,
                              capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                              int* os_error) {
  capsid__acl_stat_t s0, s1;
  char name[256];
  const char* p = rel;
  size_t n;
  int fd, next;

  fd = openat(root, rel[0] == '/' ? "/" : ".",
              O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail(os_error);
  if (xstat(fd, "", &s0) != 0) {
    close(fd);
    return fail(os_error);
  }
  for (;;) {
    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    n = strcspn(p, "/");
    if (n >= sizeof(name) || (n == 2 && p[0] == '.' && p[1] == '.')) {
      close(fd);
      *os_error = EXDEV;
      return CAPSID_EXDEV;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    p += n;
    next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    if (next < 0)
      return fail(os_error);
    fd = next;
    if (root != AT_FDCWD) {
      if (xstat(fd, "", &s1) != 0) {
        close(fd);
        return fail(os_error);
      }
      if (s1.mnt != s0.mnt) {
        close(fd);
        *os_error = EXDEV;
        return CAPSID_EXDEV;
      }
    }
  }
  return finish_open(fd, out, st, os_error);
}


int capsid__acl_fs_open_root(const char* path, capsid__acl_dir_t* out,
                             capsid__acl_stat_t* st, int* os_error) {
  /* The path is canonical: no component may be a symlink now either. */
  return capsid__acl_fs_open_rel(AT_FDCWD, path, out, st, os_error);
}


int capsid__acl_fs_open_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                            int* os_error) {
  struct open_how how;
  int fd, rc;

  *out = CAPSID__ACL_NO_DIR;
  if ((rc = fault_open(os_error)) != 0)
    return rc;
  if (!atomic_load_explicit(&have_openat2, memory_order_relaxed))
    return open_by_components((int)root, rel, out, st, os_error);
  memset(&how, 0, sizeof(how));
  how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  if ((int)root != AT_FDCWD)
    how.resolve |= RESOLVE_BENEATH | RESOLVE_NO_XDEV;
  fd = (int)syscall(SYS_openat2, (int)root, rel[0] ? rel : ".", &how,
                    sizeof(how));
  if (fd < 0) {
    if (errno == ENOSYS) {
      atomic_store(&have_openat2, 0);
      return open_by_components((int)root, rel, out, st, os_error);
    }
    return fail(os_error);
  }
  return finish_open(fd, out, st, os_error);
}


int capsid__acl_fs_open_child(capsid__acl_dir_t parent, const char* name,
                              capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                              int* os_error) {
  int fd, rc;

  *out = CAPSID__ACL_NO_DIR;
  if ((rc = fault_open(os_error)) != 0)
    return rc;
  fd = openat((int)parent, name,
              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail(os_error);
  return finish_open(fd, out, st, os_error);
}


int capsid__acl_fs_stat_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_stat_t* st, int* os_error) {
  if (xstat((int)root, rel, st) != 0)
    return fail(os_error);
  return 0;
}


int capsid__acl_fs_stat_dir(capsid__acl_dir_t d, capsid__acl_stat_t* st,
                            int* os_error) {
  if (xstat((int)d, "", st) != 0)
    return fail(os_error);
  return 0;
}


void capsid__acl_fs_close(capsid__acl_dir_t d) {
  if (d != CAPSID__ACL_NO_DIR)
    close((int)d);
}


struct linux_dirent64_k {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};


int capsid__acl_fs_list(capsid__acl_dir_t d, capsid__acl_list_cb cb,
                        void* arg, int* os_error) {
  /* getdents64 straight into a buffer: no DIR* (which would take the fd
   * over) and no allocation per directory. */
  char buf[32768];
  struct linux_dirent64_k* e;
  long n, off;
  int type, rc;

  /* d was just opened: its position is at the start. */
  if ((rc = capsid__fault("acl.list")) != 0) {
    *os_error = rc; /* e.g. ENOENT: removed since it was opened */
    return capsid__translate_os_error(rc);
  }
  for (;;) {
    n = syscall(SYS_getdents64, (int)d, buf, sizeof(buf));
    if (n < 0)
      return fail(os_error);
    if (n == 0)
      return 0;
    for (off = 0; off < n; off += e->d_reclen) {
      e = (struct linux_dirent64_k*)(buf + off);
      if (e->d_name[0] == '.' &&
          (e->d_name[1] == '\0' ||
           (e->d_name[1] == '.' && e->d_name[2] == '\0')))
        continue;
      switch (e->d_type) {
      case DT_DIR: type = CAPSID__ACL_FT_DIR; break;
      case DT_REG: type = CAPSID__ACL_FT_REG; break;
      case DT_LNK: type = CAPSID__ACL_FT_LNK; break;
      case DT_UNKNOWN: type = CAPSID__ACL_FT_UNKNOWN; break;
      default: type = CAPSID__ACL_FT_OTHER; break;
      }
      if ((rc = cb(arg, e->d_name, type)) != 0)
        return rc;
    }
  }
}


int capsid__acl_fs_mkdirs(const char* path, int* os_error) {
  char buf[4096];
  char* p;

  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    *os_error = ENAMETOOLONG;
    return CAPSID_ETOOLONG;
  }
  for (p = buf + 1; *p != '\0'; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return fail(os_error);
    *p = '/';
  }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST)
    return fail(os_error);
  return 0;
}


int capsid__acl_fs_lock(const char* path, int no_wait, capsid__acl_dir_t* out,
                        int* os_error) {
  int fd, rc;

  *out = CAPSID__ACL_NO_DIR;
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return fail(os_error);
  /* flock, not fcntl locks: two ops of one process on one workspace must
   * exclude each other too, and flock locks belong to the open file. */
  while ((rc = flock(fd, LOCK_EX | (no_wait ? LOCK_NB : 0))) != 0 &&
         errno == EINTR)
    ;
  if (rc != 0) {
    rc = errno == EWOULDBLOCK ? CAPSID_EBUSY : fail(os_error);
    *os_error = errno;
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}


void capsid__acl_fs_unlock(capsid__acl_dir_t lock) {
  if (lock != CAPSID__ACL_NO_DIR)
    close((int)lock); /* releases the flock */
}


int capsid__acl_fs_write_atomic(const char* path, const void* data,
                                size_t len, int* os_error) {
  char tmp[4200], dir[4200];
  const char* p = data;
  char* slash;
  ssize_t n;
  int fd, e, rc = 0;

  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return fail(os_error);
  while (len > 0) {
    if ((e = capsid__fault("acl.record.write")) != 0) {
      errno = e;
      n = -1;
    } else {
      n = write(fd, p, len);
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = fail(os_error);
      break;
    }
    p += n;
    len -= (size_t)n;
  }
  if (rc == 0 && fsync(fd) != 0)
    rc = fail(os_error);
  close(fd);
  if (rc == 0 && (e = capsid__fault("acl.record.rename")) != 0) {
    errno = e;
    rc = fail(os_error);
  }
  if (rc == 0 && rename(tmp, path) != 0)
    rc = fail(os_error);
  if (rc != 0) {
    e = errno;
    unlink(tmp);
    errno = e;
    return rc;
  }
  snprintf(dir, sizeof(dir), "%s", path);
  slash = strrchr(dir, '/');
  if (slash != NULL) {
    *slash = '\0';
    fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }
  return 0;
}


int capsid__acl_fs_read_file(const char* path, capsid__buf_t* out,
                             int* os_error) {
  char buf[65536];
  ssize_t n;
  int fd, rc = 0;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return fail(os_error);
  for (;;) {
    n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = fail(os_error);
      break;
    }
    if (n == 0)
      break;
    if (capsid__buf_append(out, buf, (size_t)n) != 0) {
      rc = CAPSID_ENOMEM;
      break;
    }
  }
  close(fd);
  return rc;
}


int capsid__acl_fs_unlink(const char* path, int* os_error) {
  if (unlink(path) != 0 && errno != ENOENT)
    return fail(os_error);
  return 0;
}


void capsid__acl_fs_rmdir(const char* path) {
  rmdir(path);
}


int capsid__acl_fs_list_names(const char* dir, const char* suffix,
                              capsid__strv_t* out, int* os_error) {
  size_t sl = strlen(suffix), nl;
  struct dirent* e;
  DIR* d;
  int rc = 0;

  d = opendir(dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : fail(os_error);
  while (rc == 0 && (e = readdir(d)) != NULL) {
    nl = strlen(e->d_name);
    if (nl > sl && strcmp(e->d_name + nl - sl, suffix) == 0)
      rc = capsid__strv_push(out, e->d_name);
  }
  closedir(d);
  return rc;
}


/* The ACL grants write to "other"? A POSIX ACL has no entry for other
 * beyond the mode bits, so the mode answers that; a named group entry
 * answers for the groups a job holds (limited by the mask). */
const char* capsid__acl_fs_audit_entry(capsid__acl_dir_t d, const char* name,
                                       const uint32_t* gids, size_t n_gids,
                                       int* is_dir) {
  unsigned char b[4 + 8 * 256];
  unsigned mask = 7, tag, perm;
  struct stat st;
  ssize_t len;
  size_t i, j;
  uint32_t id;

  *is_dir = 0;
  if (fstatat((int)d, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return NULL;
  if (S_ISLNK(st.st_mode))
    return NULL;
  *is_dir = S_ISDIR(st.st_mode);
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    return NULL;
  if (st.st_mode & S_IWOTH)
    return (st.st_mode & S_ISVTX) ? "mode o+w (sticky)" : "mode o+w";
  for (i = 0; i < n_gids; i++)
    if (st.st_gid == gids[i] && (st.st_mode & S_IWGRP))
      return "owning group writable";
  if (n_gids == 0)
    return NULL;
  {
    char path[64 + 256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", (int)d, name);
    len = lgetxattr(path, "system.posix_acl_access", b, sizeof(b));
  }
  if (len < 4 || (len - 4) % 8 != 0)
    return NULL;
  for (i = 4; i + 8 <= (size_t)len; i += 8)
    if ((b[i] | b[i + 1] << 8) == 0x10)
      mask = b[i + 2] & 7;
  for (i = 4; i + 8 <= (size_t)len; i += 8) {
    tag = (unsigned)(b[i] | b[i + 1] << 8);
    perm = b[i + 2] & 7;
    id = (uint32_t)b[i + 4] | (uint32_t)b[i + 5] << 8 |
         (uint32_t)b[i + 6] << 16 | (uint32_t)b[i + 7] << 24;
    if (tag != 0x08 || !(perm & mask & 2))
      continue;
    for (j = 0; j < n_gids; j++)
      if (gids[j] == id)
        return "ACL grants write to a group the job holds";
  }
  return NULL;
}
