/* The walker's view of an NTFS tree: directories reached only through
 * directory handles, one component at a time, never through a reparse
 * point (symbolic link, junction, mount point), never onto another volume;
 * and the state files (record, lock) written crash-safely.
 *
 * A child is opened relative to its parent's handle (NtCreateFile with a
 * RootDirectory: Windows' openat) with FILE_OPEN_REPARSE_POINT, so a
 * reparse point swapped in between the listing and the open is opened
 * itself, seen, and refused, never followed. What Linux reads from statx
 * comes from GetFileInformationByHandle(Ex): the volume serial number is
 * both dev and mnt (a volume mounted inside the tree is another serial),
 * the 64-bit file index is ino, ChangeTime is ctime (NTFS updates a
 * directory's when an entry is added, removed or renamed). */
#include "acl-int.h"

#include "fault.h"
#include "file.h"
#include "win-fs.h"
#include "win-util.h"

#include <windows.h>
#include <winternl.h>

#include <stdio.h>
#include <string.h>

#define DIR_ACCESS                                                           \
  (FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES |              \
   READ_CONTROL | SYNCHRONIZE)
#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)


static int win_fail(DWORD e, int* os_error) {
  *os_error = (int)e;
  return capsid__translate_os_error((int)e);
}


int capsid__win_stat(HANDLE h, capsid__acl_stat_t* st, DWORD* attrs) {
  BY_HANDLE_FILE_INFORMATION bi;
  FILE_BASIC_INFO basic;
  uint64_t t;

  if (!GetFileInformationByHandle(h, &bi) ||
      !GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof(basic)))
    return -1;
  memset(st, 0, sizeof(*st));
  st->dev = bi.dwVolumeSerialNumber;
  st->mnt = bi.dwVolumeSerialNumber;
  st->ino = (uint64_t)bi.nFileIndexHigh << 32 | bi.nFileIndexLow;
  st->nlink = bi.nNumberOfLinks;
  t = (uint64_t)basic.ChangeTime.QuadPart;
  st->ctime_sec = (int64_t)(t / 10000000u);
  st->ctime_nsec = (uint32_t)(t % 10000000u) * 100u;
  st->type = (bi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
                 ? CAPSID__ACL_FT_LNK
             : (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                 ? CAPSID__ACL_FT_DIR
                 : CAPSID__ACL_FT_REG;
  if (attrs != NULL)
    *attrs = bi.dwFileAttributes;
  return 0;
}


DWORD capsid__win_open_at(HANDLE parent, const char* name, ACCESS_MASK access,
                          ULONG options, HANDLE* out) {
  OBJECT_ATTRIBUTES oa;
  IO_STATUS_BLOCK io;
  UNICODE_STRING us;
  WCHAR* w;
  NTSTATUS st;
  size_t n;

  *out = INVALID_HANDLE_VALUE;
  w = capsid__utf16(name);
  if (w == NULL)
    return ERROR_NOT_ENOUGH_MEMORY;
  n = wcslen(w) * sizeof(WCHAR);
  if (n == 0 || n > 0xfffe || wcspbrk(w, L"/\\") != NULL) {
    capsid__free(w);
    return ERROR_INVALID_NAME;
  }
  us.Buffer = w;
  us.Length = (USHORT)n;
  us.MaximumLength = (USHORT)n;
  InitializeObjectAttributes(&oa, &us, OBJ_CASE_INSENSITIVE, parent, NULL);
  /* FILE_OPEN_REPARSE_POINT: a link is opened as itself, not followed. */
  st = NtCreateFile(out, access | SYNCHRONIZE, &oa, &io, NULL, 0, SHARE_ALL,
                    FILE_OPEN,
                    options | FILE_OPEN_REPARSE_POINT |
                        FILE_SYNCHRONOUS_IO_NONALERT,
                    NULL, 0);
  capsid__free(w);
  if (st < 0) {
    *out = INVALID_HANDLE_VALUE;
    return RtlNtStatusToDosError(st);
  }
  return 0;
}


/* Opens a directory handle and checks what it is: a directory, not a
 * reparse point, on the given volume (0: any). */
static int finish_dir(HANDLE h, uint64_t volume, capsid__acl_dir_t* out,
                      capsid__acl_stat_t* st, int* os_error) {
  capsid__acl_stat_t tmp;
  capsid__acl_stat_t* s = st != NULL ? st : &tmp;

  if (capsid__win_stat(h, s, NULL) != 0) {
    DWORD e = GetLastError();
    CloseHandle(h);
    return win_fail(e, os_error);
  }
  if (s->type == CAPSID__ACL_FT_LNK) {
    /* A junction or directory symlink: never walked into. */
    CloseHandle(h);
    *os_error = ERROR_CANT_ACCESS_FILE;
    return CAPSID_ELOOP;
  }
  if (s->type != CAPSID__ACL_FT_DIR) {
    CloseHandle(h);
    *os_error = ERROR_DIRECTORY;
    return CAPSID_ENOTDIR;
  }
  if (volume != 0 && s->mnt != volume) {
    CloseHandle(h);
    *os_error = ERROR_NOT_SAME_DEVICE;
    return CAPSID_EXDEV;
  }
  *out = (capsid__acl_dir_t)h;
  return 0;
}


int capsid__acl_fs_open_child(capsid__acl_dir_t parent, const char* name,
                              capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                              int* os_error) {
  HANDLE h;
  DWORD e;
  int f;

  *out = CAPSID__ACL_NO_DIR;
  if ((f = capsid__fault("acl.open")) != 0)
    return win_fail((DWORD)f, os_error);
  /* WRITE_DAC when it is granted, so the walker can set the directory's
   * own DACL through this handle; a status walk manages without. */
  e = capsid__win_open_at((HANDLE)parent, name, DIR_ACCESS | WRITE_DAC,
                          FILE_DIRECTORY_FILE, &h);
  if (e == ERROR_ACCESS_DENIED)
    e = capsid__win_open_at((HANDLE)parent, name, DIR_ACCESS,
                            FILE_DIRECTORY_FILE, &h);
  if (e == ERROR_DIRECTORY || e == ERROR_INVALID_PARAMETER) {
    /* Not a directory (STATUS_NOT_A_DIRECTORY), or a reparse point the
     * directory-only open refused. */
    *os_error = (int)e;
    return CAPSID_ENOTDIR;
  }
  if (e != 0)
    return win_fail(e, os_error);
  return finish_dir(h, 0, out, st, os_error);
}


/* Length of the root of a canonical '/'-path: "C:/" or
 * "//server/share/". */
static size_t root_len(const char* p) {
  const char* c;
  int seps = 0;

  if (p[0] != '/' || p[1] != '/')
    return p[0] != '\0' && p[1] == ':' && p[2] == '/' ? 3 : 0;
  for (c = p + 2; *c != '\0'; c++)
    if (*c == '/' && ++seps == 2)
      return (size_t)(c - p) + 1;
  return 0;
}


/* Walks the '/'-separated components of rel beneath d (which it takes
 * over), each opened as a directory that is no reparse point and, when
 * same_volume, on d's volume. */
static int walk_components(HANDLE d, const char* rel, int same_volume,
                           capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                           int* os_error) {
  capsid__acl_stat_t s0;
  capsid__acl_dir_t next;
  char name[256];
  const char* p = rel;
  size_t n;
  int rc;

  if (capsid__win_stat(d, &s0, NULL) != 0) {
    DWORD e = GetLastError();
    CloseHandle(d);
    return win_fail(e, os_error);
  }
  for (;;) {
    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    n = strcspn(p, "/");
    if (n >= sizeof(name) || (n == 2 && p[0] == '.' && p[1] == '.') ||
        (n == 1 && p[0] == '.')) {
      CloseHandle(d);
      *os_error = ERROR_INVALID_NAME;
      return CAPSID_EXDEV;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    p += n;
    rc = capsid__acl_fs_open_child((capsid__acl_dir_t)d, name, &next, NULL,
                                   os_error);
    CloseHandle(d);
    if (rc != 0)
      return rc;
    d = (HANDLE)next;
    if (same_volume) {
      capsid__acl_stat_t s1;
      if (capsid__win_stat(d, &s1, NULL) != 0 || s1.mnt != s0.mnt) {
        CloseHandle(d);
        *os_error = ERROR_NOT_SAME_DEVICE;
        return CAPSID_EXDEV;
      }
    }
  }
  return finish_dir(d, 0, out, st, os_error);
}


int capsid__acl_fs_open_root(const char* path, capsid__acl_dir_t* out,
                             capsid__acl_stat_t* st, int* os_error) {
  size_t n = root_len(path);
  char* top;
  WCHAR* w;
  HANDLE h;
  int f;

  *out = CAPSID__ACL_NO_DIR;
  if ((f = capsid__fault("acl.open")) != 0)
    return win_fail((DWORD)f, os_error);
  if (n == 0) {
    *os_error = ERROR_BAD_PATHNAME;
    return CAPSID_EINVAL;
  }
  /* The volume's root, then every component without following a reparse
   * point: the path is canonical, so none may be one now either. */
  top = capsid__strndup(path, n);
  w = top ? capsid__utf16(top) : NULL;
  capsid__free(top);
  if (w == NULL)
    return CAPSID_ENOMEM;
  h = CreateFileW(w, DIR_ACCESS | WRITE_DAC, SHARE_ALL, NULL, OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                  NULL);
  if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED)
    h = CreateFileW(w, DIR_ACCESS, SHARE_ALL, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                    NULL);
  capsid__free(w);
  if (h == INVALID_HANDLE_VALUE)
    return win_fail(GetLastError(), os_error);
  return walk_components(h, path + n, 0, out, st, os_error);
}


int capsid__acl_fs_open_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                            int* os_error) {
  HANDLE d;
  int f;

  *out = CAPSID__ACL_NO_DIR;
  if ((f = capsid__fault("acl.open")) != 0)
    return win_fail((DWORD)f, os_error);
  if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)root,
                       GetCurrentProcess(), &d, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return win_fail(GetLastError(), os_error);
  return walk_components(d, rel, 1, out, st, os_error);
}


int capsid__acl_fs_stat_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_stat_t* st, int* os_error) {
  const char* slash = strrchr(rel, '/');
  capsid__acl_dir_t parent;
  char* dir;
  HANDLE h;
  DWORD e;
  int rc;

  if (rel[0] == '\0')
    return capsid__acl_fs_stat_dir(root, st, os_error);
  dir = capsid__strndup(rel, slash ? (size_t)(slash - rel) : 0);
  if (dir == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__acl_fs_open_rel(root, dir, &parent, NULL, os_error);
  capsid__free(dir);
  if (rc != 0)
    return rc;
  e = capsid__win_open_at((HANDLE)parent, slash ? slash + 1 : rel,
                          FILE_READ_ATTRIBUTES, 0, &h);
  CloseHandle((HANDLE)parent);
  if (e != 0)
    return win_fail(e, os_error);
  rc = capsid__win_stat(h, st, NULL) == 0 ? 0
                                          : win_fail(GetLastError(), os_error);
  CloseHandle(h);
  return rc;
}


int capsid__acl_fs_stat_dir(capsid__acl_dir_t d, capsid__acl_stat_t* st,
                            int* os_error) {
  if (capsid__win_stat((HANDLE)d, st, NULL) != 0)
    return win_fail(GetLastError(), os_error);
  return 0;
}


void capsid__acl_fs_close(capsid__acl_dir_t d) {
  if (d != CAPSID__ACL_NO_DIR)
    CloseHandle((HANDLE)d);
}


int capsid__acl_fs_list(capsid__acl_dir_t d, capsid__acl_list_cb cb,
                        void* arg, int* os_error) {
  /* FILE_FULL_DIR_INFO records straight from the directory handle: no
   * path, no FindFirstFile (which would reopen the directory by name). */
  union {
    FILE_FULL_DIR_INFO first;
    BYTE bytes[65536];
  }* buf = capsid__malloc(sizeof(*buf));
  FILE_INFO_BY_HANDLE_CLASS cls = FileFullDirectoryRestartInfo;
  FILE_FULL_DIR_INFO* e;
  char* name;
  int rc = 0, type;

  if (buf == NULL)
    return CAPSID_ENOMEM;
  while (rc == 0) {
    if (!GetFileInformationByHandleEx((HANDLE)d, cls, buf, sizeof(*buf))) {
      DWORD err = GetLastError();
      if (err != ERROR_NO_MORE_FILES)
        rc = win_fail(err, os_error);
      break;
    }
    cls = FileFullDirectoryInfo;
    for (e = &buf->first; rc == 0;
         e = (FILE_FULL_DIR_INFO*)((BYTE*)e + e->NextEntryOffset)) {
      WCHAR save = e->FileName[e->FileNameLength / sizeof(WCHAR)];
      int dot = (e->FileNameLength == 2 && e->FileName[0] == L'.') ||
                (e->FileNameLength == 4 && e->FileName[0] == L'.' &&
                 e->FileName[1] == L'.');
      if (!dot) {
        e->FileName[e->FileNameLength / sizeof(WCHAR)] = 0;
        name = capsid__utf8(e->FileName);
        e->FileName[e->FileNameLength / sizeof(WCHAR)] = save;
        type = (e->FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
                   ? CAPSID__ACL_FT_LNK
               : (e->FileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                   ? CAPSID__ACL_FT_DIR
                   : CAPSID__ACL_FT_REG;
        rc = name == NULL ? CAPSID_ENOMEM : cb(arg, name, type);
        capsid__free(name);
      }
      if (e->NextEntryOffset == 0)
        break;
    }
  }
  capsid__free(buf);
  return rc;
}


int capsid__acl_fs_mkdirs(const char* path, int* os_error) {
  return capsid__mkdirs(path, os_error);
}


int capsid__acl_fs_lock(const char* path, int no_wait, capsid__acl_dir_t* out,
                        int* os_error) {
  OVERLAPPED ov;
  WCHAR* w = capsid__utf16(path);
  HANDLE h;
  DWORD e;

  *out = CAPSID__ACL_NO_DIR;
  if (w == NULL)
    return CAPSID_ENOMEM;
  h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, SHARE_ALL, NULL,
                  OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  capsid__free(w);
  if (h == INVALID_HANDLE_VALUE)
    return win_fail(GetLastError(), os_error);
  /* Locks belong to the handle, as flock's belong to the open file: two
   * ops of one process on one workspace exclude each other too. */
  memset(&ov, 0, sizeof(ov));
  if (!LockFileEx(h,
                  LOCKFILE_EXCLUSIVE_LOCK |
                      (no_wait ? LOCKFILE_FAIL_IMMEDIATELY : 0),
                  0, 1, 0, &ov)) {
    e = GetLastError();
    CloseHandle(h);
    *os_error = (int)e;
    return e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING
               ? CAPSID_EBUSY
               : capsid__translate_os_error((int)e);
  }
  *out = (capsid__acl_dir_t)h;
  return 0;
}


void capsid__acl_fs_unlock(capsid__acl_dir_t lock) {
  if (lock != CAPSID__ACL_NO_DIR)
    CloseHandle((HANDLE)lock); /* releases the lock */
}


int capsid__acl_fs_write_atomic(const char* path, const void* data,
                                size_t len, int* os_error) {
  return capsid__file_write_atomic(path, data, len, 0600, os_error);
}


int capsid__acl_fs_read_file(const char* path, capsid__buf_t* out,
                             int* os_error) {
  char* data = NULL;
  size_t len = 0;
  int rc = capsid__file_read(path, (size_t)1 << 30, &data, &len, os_error);

  if (rc == 0 && capsid__buf_append(out, data, len) != 0)
    rc = CAPSID_ENOMEM;
  capsid__free(data);
  return rc;
}


int capsid__acl_fs_unlink(const char* path, int* os_error) {
  WCHAR* w = capsid__utf16(path);
  DWORD e;

  if (w == NULL)
    return CAPSID_ENOMEM;
  e = DeleteFileW(w) ? 0 : GetLastError();
  capsid__free(w);
  if (e != 0 && e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND)
    return win_fail(e, os_error);
  return 0;
}


void capsid__acl_fs_rmdir(const char* path) {
  WCHAR* w = capsid__utf16(path);

  if (w != NULL)
    RemoveDirectoryW(w);
  capsid__free(w);
}


int capsid__acl_fs_list_names(const char* dir, const char* suffix,
                              capsid__strv_t* out, int* os_error) {
  WIN32_FIND_DATAW fd;
  char* pattern = capsid__sprintf("%s/*%s", dir, suffix);
  WCHAR* w = pattern ? capsid__utf16(pattern) : NULL;
  size_t sl = strlen(suffix);
  HANDLE h;
  DWORD e;
  int rc = 0;

  capsid__free(pattern);
  if (w == NULL)
    return CAPSID_ENOMEM;
  h = FindFirstFileW(w, &fd);
  capsid__free(w);
  if (h == INVALID_HANDLE_VALUE) {
    e = GetLastError();
    return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND
               ? 0
               : win_fail(e, os_error);
  }
  do {
    char* name = capsid__utf8(fd.cFileName);
    size_t nl = name ? strlen(name) : 0;
    /* FindFirstFile also matches 8.3 names: check the long one. */
    if (name != NULL && nl > sl && strcmp(name + nl - sl, suffix) == 0)
      rc = capsid__strv_push(out, name);
    capsid__free(name);
  } while (rc == 0 && FindNextFileW(h, &fd));
  FindClose(h);
  return rc;
}
